"""`hallu-audit refs`: reference tables from SimpleQA-, PopQA-shaped files, column mappings and
pattern-mode runs, validated and byte-reproducible."""

from __future__ import annotations

import json

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import read_jsonl, read_per_fact, write_jsonl

# SimpleQA's test set is a CSV with columns metadata, problem, answer; metadata is a Python-literal
# dict with topic, answer_type and urls (as in its documentation).
SIMPLEQA = '''metadata,problem,answer
"{'topic': 'Science and technology', 'answer_type': 'Person', 'urls': ['https://en.wikipedia.org/wiki/IEEE_Frank_Rosenblatt_Award']}",Who received the IEEE Frank Rosenblatt Award in 2010?,Michio Sugeno
"{'topic': 'Geography', 'answer_type': 'Place', 'urls': []}","What is the capital of the Canadian province of Alberta, as of 2020?",Edmonton
"{'topic': 'Art', 'answer_type': 'Date', 'urls': []}",On what day was the painter born?,"March 14, 1879"
'''

# PopQA's TSV columns (its documentation): id, subj, prop, obj, subj_id, prop_id, obj_id,
# s_aliases, o_aliases, s_uri, o_uri, s_wiki_title, o_wiki_title, s_pop, o_pop,
# possible_answers, question; the alias and answer columns are JSON-encoded lists.
POPQA_HEADER = ("id subj prop obj subj_id prop_id obj_id s_aliases o_aliases s_uri o_uri s_wiki_title "
                "o_wiki_title s_pop o_pop possible_answers question").split()  # fmt: skip
POPQA_ROWS = [
    ["4222362", "George Rankin", "occupation", "politician", "1", "22", "2834605", '["George James Rankin"]',
     '["political leader", "political figure", "polit.", "pol"]', "", "", "George Rankin", "Politician", "142",
     "25692", '["politician", "political leader", "political figure", "polit.", "pol"]',
     "What is George Rankin's occupation?"],
    ["1", "Kenya", "capital", "Nairobi", "2", "36", "3", "[]", '["Nairobi City"]', "", "", "Kenya", "Nairobi", "9",
     "9", '["Nairobi", "Nairobi City"]', "What is the capital of Kenya?"],
]  # fmt: skip


def _tsv(rows):
    return "".join("\t".join(r) + "\n" for r in [POPQA_HEADER, *rows])


def test_simpleqa_layout_is_recognised(cli, tmp_path):
    src = tmp_path / "simple_qa_test_set.csv"
    src.write_text(SIMPLEQA)
    out = tmp_path / "refs.jsonl"
    result = cli("refs", src, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "3 facts from 3 rows" in result.stderr and "layout simpleqa" in result.stderr
    rows = read_jsonl(out)
    assert [r["relation"] for r in rows] == ["Art", "Geography", "Science and technology"]  # sorted by id
    assert rows[2] == {
        "id": "Science and technology/who received the ieee frank rosenblatt award in 2010?",
        "relation": "Science and technology", "object": "Michio Sugeno",
        "question": "Who received the IEEE Frank Rosenblatt Award in 2010?", "answer_type": "person",
    }  # fmt: skip
    assert rows[0]["answer_type"] == "date" and rows[0]["object"] == "March 14, 1879"
    again = tmp_path / "again.jsonl"
    assert cli("refs", src, "-o", again, "-q").exit_code == 0
    assert again.read_bytes() == out.read_bytes()  # byte-reproducible
    assert cli("refs", src, "-q").stdout.encode() == out.read_bytes()  # stdout is the same table
    # the question-only table grades a model by id
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"id": r["id"], "answer": a}) + "\n" for r, a in zip(
        rows, ["14 March 1879", "Calgary", "Michio Sugeno"], strict=True)))  # fmt: skip
    graded = cli("outputs", answers, "-r", out, "--json", "-q", "--bootstrap", "0")
    assert graded.exit_code == 0, graded.stderr
    doc = orjson.loads(graded.stdout)
    assert doc["overall"]["n"] == 3 and doc["overall"]["accuracy"] == pytest.approx(2 / 3)


def test_popqa_layout_reads_json_list_columns(cli, tmp_path):
    src = tmp_path / "popqa.tsv"
    src.write_text(_tsv(POPQA_ROWS))
    out = tmp_path / "refs.jsonl"
    result = cli("refs", src, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(out)
    assert rows == [
        {"id": "capital/kenya", "subject": "Kenya", "relation": "capital", "object": "Nairobi",
         "aliases": ["Nairobi City"], "question": "What is the capital of Kenya?"},
        {"id": "occupation/george rankin", "subject": "George Rankin", "relation": "occupation", "object": "politician",
         "aliases": ["political leader", "political figure", "polit.", "pol"],
         "subject_aliases": ["George James Rankin"], "question": "What is George Rankin's occupation?"},
    ]  # fmt: skip
    # the table is one `corpus --facts` reads: Kenya's capital is counted through its alias
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": "Nairobi City is the capital of Kenya."}) + "\n")
    pf = tmp_path / "pf.jsonl"
    assert cli("corpus", corpus, "-f", out, "--per-fact", pf, "-q").exit_code == 0
    assert {r["id"]: r["count"] for r in read_per_fact(pf)} == {"capital/kenya": 1, "occupation/george rankin": 0}


def test_parquet_with_a_column_mapping(cli, tmp_path):
    src = tmp_path / "kb.parquet"
    pq.write_table(pa.table({"country": ["Peru", "Chile"], "city": ["Lima", "Santiago"],
                             "other": [["Ciudad de los Reyes"], []]}), src)  # fmt: skip
    result = cli("refs", src, "--map", "subject=country", "--map", "object=city", "--map", "aliases=other",
                 "--relation", "capital", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [orjson.loads(x) for x in result.stdout.splitlines()] == [
        {"id": "capital/chile", "subject": "Chile", "relation": "capital", "object": "Santiago"},
        {"id": "capital/peru", "subject": "Peru", "relation": "capital", "object": "Lima", "aliases": ["Ciudad de los Reyes"]},
    ]  # fmt: skip
    unmapped = cli("refs", src, "-q")
    assert unmapped.exit_code == 3 and "--map" in unmapped.stderr and unmapped.stderr.count("\n") == 1
    assert cli("refs", src, "--map", "colour=city").exit_code == 2


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"subject": "France", "relation": "capital", "object": ""}, "empty object"),
        ({"subject": "", "relation": "capital", "object": "Paris"}, "empty subject and no question"),
        ({"subject": "France", "relation": "capital", "object": "?!"}, "normalises to nothing"),
        ({"subject": "France", "relation": "", "object": "Paris"}, "empty relation"),
        ({"subject": "Peru", "relation": "capital", "object": "Lima", "answer_type": "City"}, "answer_type 'city' is not one of"),
        ({"subject": "france", "relation": "capital", "object": "Paris"}, "duplicate id 'capital/france' (also"),
    ],
)
def test_validation_names_file_and_line(cli, tmp_path, row, problem):
    src = tmp_path / "facts.jsonl"
    good = {"subject": "France", "relation": "capital", "object": "Paris"}
    src.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n")
    result = cli("refs", src, "-o", out)
    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"hallu-audit: error: {src}:2: ") and problem in result.stderr
    assert out.read_text() == "keep me\n"  # nothing at the output path destroyed
    dropped = cli("refs", src, "--drop-invalid")
    assert dropped.exit_code == 0 and len(dropped.stdout.splitlines()) == 1
    assert f"first: {src}:2:" in dropped.stderr


@pytest.mark.parametrize(
    ("row", "warning"),
    [
        ({"subject": "Monaco", "relation": "capital", "object": "Monaco"}, "subject equals object"),
        ({"subject": "Panama", "relation": "capital", "object": "Panama City"}, "lies inside its object"),
    ],
)
def test_subject_in_object_is_kept_with_a_warning(cli, tmp_path, row, warning):
    # a real fact, sound to grade a model on, unsound to count in a corpus: kept, warned about
    src = tmp_path / "facts.jsonl"
    src.write_text(json.dumps({"subject": "France", "relation": "capital", "object": "Paris"}) + "\n" + json.dumps(row) + "\n")
    result = cli("refs", src)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    assert f"hallu-audit: warning: {src}:2: " in result.stderr and warning in result.stderr
    assert "1 kept with a warning" in result.stderr
    strict = cli("refs", src, "--strict")
    assert strict.exit_code == 3 and f"{src}:2: " in strict.stderr and warning in strict.stderr


def test_csv_lines_count_quoted_newlines(cli, tmp_path):
    src = tmp_path / "facts.csv"
    src.write_text('subject,relation,object\n"Cote\nd\'Ivoire",capital,Yamoussoukro\nChad,capital,Chad\n')
    result = cli("refs", src, "--strict")
    assert result.exit_code == 3 and f"{src}:4: subject equals object" in result.stderr


def test_pattern_run_to_reference_table_to_graded_model(cli, tmp_path):
    """The worked loop: facts from a corpus -> a reference table -> a model graded on it."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in [
        "Paris is the capital of France. Lyon is the capital of France.",
        "Paris, the capital of France, is large.",
        "Ottawa is the capital of Canada.",
        "Canberra is the capital of Australia. Sydney is the capital of Australia.",  # a tie
    ]))  # fmt: skip
    found = tmp_path / "found.jsonl"
    assert cli("corpus", corpus, "-p", "capital", "--per-fact", found, "-q").exit_code == 0
    refs = tmp_path / "refs.jsonl"
    flagged = cli("refs", found, "-o", refs)
    assert flagged.exit_code == 0 and "2 conflicting prompts flagged" in flagged.stderr
    by_id = {r["id"]: r for r in read_jsonl(refs)}
    assert by_id["capital/france"]["object"] == "paris" and by_id["capital/france"]["conflict"] is True
    assert by_id["capital/france"]["objects"] == [{"object": "paris", "count": 2}, {"object": "lyon", "count": 1}]
    assert by_id["capital/canada"] == {"id": "capital/canada", "relation": "capital", "subject": "canada",
                                       "object": "ottawa", "count": 1}  # fmt: skip
    clean = tmp_path / "clean.jsonl"
    dropped = cli("refs", found, "--conflicts", "drop", "-o", clean)
    assert dropped.exit_code == 0 and [r["id"] for r in read_jsonl(clean)] == ["capital/canada"]
    answers = tmp_path / "answers.jsonl"
    write_jsonl(answers, [
        {"id": "capital/france", "answer": "Paris"},
        {"id": "capital/canada", "answer": "Toronto"},
        {"id": "capital/australia", "answer": "Canberra"},
    ])  # fmt: skip
    graded = cli("outputs", answers, "-r", refs, "--per-fact", found, "--json", "-q", "--bootstrap", "0")
    assert graded.exit_code == 0, graded.stderr
    doc = orjson.loads(graded.stdout)
    assert doc["overall"]["n"] == 3 and doc["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert doc["per_fact"]["facts_with_counts"] == 3
    assert doc["per_fact"]["buckets"]["1"]["n"] == 1 and doc["per_fact"]["buckets"]["1"]["accuracy"] == 0.0


def test_a_mapped_column_that_is_not_there_is_named(cli, tmp_path):
    # A misspelt --map column used to be reported as "empty subject" with advice to drop the
    # rows; the error names the column that is not there and the columns that are.
    src = tmp_path / "kb.csv"
    src.write_text("country,capital\nKenya,Nairobi\nPeru,Lima\n")
    out = tmp_path / "refs.jsonl"
    out.write_text("keep me\n")
    result = cli("refs", src, "--map", "subject=nation", "--map", "object=capital", "--relation", "capital", "-o", out)
    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"hallu-audit: error: {src}:2: empty subject")
    assert "no column 'nation' (--map subject=nation) in this row, which has: capital, country" in result.stderr
    assert "--drop-invalid" not in result.stderr
    assert out.read_text() == "keep me\n"
    # a column that is there but empty in one row is still that row's problem
    src.write_text("country,capital\nKenya,Nairobi\n,Lima\n")
    empty = cli("refs", src, "--map", "subject=country", "--map", "object=capital", "--relation", "capital")
    assert empty.exit_code == 3 and f"{src}:3: empty subject" in empty.stderr and "no column" not in empty.stderr


def test_list_sep_splits_alias_cells_that_are_not_json_lists(cli, tmp_path):
    kb = tmp_path / "kb.tsv"
    kb.write_text("country\tcurrency\tcurrency_names\nJapan\tyen\tJapanese yen| JPY |yen\nPeru\tsol\t\n")
    args = ["refs", kb, "--map", "subject=country", "--map", "object=currency", "--map", "aliases=currency_names",
            "--relation", "currency", "-q"]  # fmt: skip
    split = [orjson.loads(line) for line in cli(*args, "--list-sep", "|").stdout.splitlines()]
    # each part stripped; the object itself is not its own alias
    assert split[0]["aliases"] == ["Japanese yen", "JPY"] and "aliases" not in split[1]
    whole = [orjson.loads(line) for line in cli(*args).stdout.splitlines()]
    assert whole[0]["aliases"] == ["Japanese yen| JPY |yen"]
