"""`hallu-audit corpus` end to end: counts checked against a brute-force reference counter."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from tests.conftest import ROOT, read_jsonl, read_per_fact

COUNTRIES = {
    "France": ["Paris"],
    "Germany": ["Berlin"],
    "Spain": ["Madrid"],
    "Italy": ["Rome", "Roma"],
    "Japan": ["Tokyo"],
    "Kenya": ["Nairobi"],
    "Peru": ["Lima"],
    "Chile": ["Santiago"],
    "Canada": ["Ottawa"],
    "Egypt": ["Cairo"],
}
TEMPLATES = [
    "{cap} is the capital of {country}",
    "the capital of {country} is {cap}",
    "{country} has its seat of government in {cap}",
    "tourists in {cap} rarely leave",  # object without subject
    "{country} exports many goods",  # subject without object
    "{country} and {other} signed a treaty in {cap2}",
    "a city named {cap}ville is not {cap} of {country}x",  # partial words must not match
]


def make_docs(seed: int, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    names = list(COUNTRIES)
    docs = []
    for _ in range(n):
        sents = []
        for _ in range(rng.randint(1, 4)):
            c, o = rng.sample(names, 2)
            sents.append(
                rng.choice(TEMPLATES).format(
                    country=c, cap=rng.choice(COUNTRIES[c]), other=o, cap2=rng.choice(COUNTRIES[o])
                )
            )
        docs.append(". ".join(s[0].upper() + s[1:] for s in sents) + ".")
    return docs


def brute_force(docs: list[str]) -> Counter:
    """Independent reference: split on '. ', search each name as a whole word with a regex."""
    counts: Counter = Counter()
    for doc in docs:
        for sentence in doc.lower().rstrip(".").split(". "):
            for country, caps in COUNTRIES.items():
                has_s = re.search(rf"\b{country.lower()}\b", sentence)
                has_o = any(re.search(rf"\b{c.lower()}\b", sentence) for c in caps)
                if has_s and has_o:
                    counts[f"capital/{country.lower()}"] += 1
    return counts


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    path = tmp_path / "refs.jsonl"
    rows = [
        {"subject": c, "relation": "capital", "object": caps[0], "aliases": caps[1:]} for c, caps in COUNTRIES.items()
    ]
    rows.append({"subject": "Atlantis", "relation": "capital", "object": "Poseidonis"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_all_formats(tmp_path: Path, docs: list[str]) -> dict[str, Path]:
    jsonl = "".join(json.dumps({"text": d, "meta": {"id": i}}) + "\n" for i, d in enumerate(docs))
    paths = {
        "jsonl": tmp_path / "c.jsonl",
        "gz": tmp_path / "c.jsonl.gz",
        "zst": tmp_path / "c.jsonl.zst",
        "parquet": tmp_path / "c.parquet",
        "text": tmp_path / "c.txt",
        "noext-zst": tmp_path / "c.data",
    }
    paths["jsonl"].write_text(jsonl)
    paths["gz"].write_bytes(gzip.compress(jsonl.encode()))
    paths["zst"].write_bytes(zstandard.ZstdCompressor().compress(jsonl.encode()))
    paths["noext-zst"].write_bytes(paths["zst"].read_bytes())
    pq.write_table(pa.table({"text": docs, "id": list(range(len(docs)))}), paths["parquet"], row_group_size=64)
    paths["text"].write_text("".join(d + "\n" for d in docs))
    return paths


def per_fact(cli, *args) -> dict[str, int]:
    out = Path(args[-1])
    result = cli("corpus", *args[:-1], "--per-fact", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    return {r["id"]: r["count"] for r in read_per_fact(out)}


@pytest.mark.parametrize("fmt", ["jsonl", "gz", "zst", "parquet", "text", "noext-zst"])
def test_every_format_matches_brute_force(cli, tmp_path, refs, fmt):
    docs = make_docs(seed=7)
    expected = brute_force(docs)
    paths = write_all_formats(tmp_path, docs)
    got = per_fact(cli, paths[fmt], "--facts", refs, tmp_path / "pf.jsonl")
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert got["capital/atlantis"] == 0  # reference facts never seen are listed with 0


def test_stdin_equals_file(cli, tmp_path, refs):
    docs = make_docs(seed=3)
    paths = write_all_formats(tmp_path, docs)
    from_file = cli("corpus", paths["jsonl"], "--facts", refs, "--json", "--quiet")
    from_stdin = cli("corpus", "-", "--facts", refs, "--json", "--quiet", input=paths["jsonl"].read_bytes())
    a, b = orjson.loads(from_file.stdout), orjson.loads(from_stdin.stdout)
    assert a["overall"] == b["overall"]
    assert b["inputs"]["sources"] == ["-"]
    # zstd on stdin is detected from its magic bytes
    zst = cli("corpus", "-", "--facts", refs, "--json", "--quiet", input=paths["zst"].read_bytes())
    assert orjson.loads(zst.stdout)["overall"] == a["overall"]


def test_report_numbers_match_brute_force(cli, tmp_path, refs):
    docs = make_docs(seed=11, n=500)
    expected = brute_force(docs)
    path = write_all_formats(tmp_path, docs)["jsonl"]
    report = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet").stdout)
    n = sum(expected.values())
    n1 = sum(1 for c in expected.values() if c == 1)
    overall = report["overall"]
    assert overall["N"] == n
    assert overall["N1"] == n1
    assert overall["distinct_facts"] == len(expected)
    assert overall["singleton_rate"] == pytest.approx(n1 / n)
    assert overall["reference_facts"] == 11
    assert overall["unseen_facts"] == 11 - len(expected)
    assert report["inputs"]["documents"] == 500
    assert report["inputs"]["bytes"] == path.stat().st_size
    hist = overall["histogram"]
    assert sum(v for k, v in hist.items() if k != "0") == len(expected)


def test_singletons_and_histogram_by_hand(cli, tmp_path, refs):
    # Hand-counted: France 3 sentences, Germany 1, Spain 2 (once via alias-free text), Italy 1
    # through its alias "Roma"; "Japan ... Tokyo" split across two sentences does not count.
    docs = [
        "Paris is the capital of France. France is proud of Paris!",
        "Berlin is in Germany. Madrid, Spain.",
        "Spain has Madrid. Roma is in Italy. Japan is an island nation. Tokyo is big.",
        "The capital of France is Paris? Yes.",
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    report = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet").stdout)
    o = report["overall"]
    assert (o["N"], o["N1"], o["distinct_facts"]) == (7, 2, 4)
    assert o["singleton_rate"] == pytest.approx(2 / 7)
    assert o["histogram"] == {"0": 7, "1": 2, "2": 1, "3-5": 1, "6-10": 0, "11-100": 0, ">100": 0}
    # Good-Turing interval of THEORY.md sec. 2: 1/N + 2.42 sqrt(ln(4/0.01)/N), clipped to [0, 1]
    hw = 1 / 7 + 2.42 * (5.991464547107982 / 7) ** 0.5
    assert o["missing_mass"]["half_width"] == pytest.approx(hw)
    assert o["missing_mass"]["low"] == 0.0


def test_scopes(cli, tmp_path, refs):
    docs = ["France is old. It has many towns. Paris is one of them, and Paris is large."]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": docs[0]}) + "\n")

    def n(*extra):
        r = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet", *extra).stdout)
        return r["overall"]["N"]

    assert n() == 0  # sentence scope: never in one sentence
    assert n("--scope", "doc") == 1
    assert n("--scope", "window", "--window", "7") == 1  # "france" is word 0, "paris" word 7
    assert n("--scope", "window", "--window", "6") == 0


def test_sentence_splitter_keeps_abbreviations(cli, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        json.dumps(
            {"subject": "United States", "relation": "capital", "object": "Washington, D.C.", "aliases": ["Washington"]}
        )
        + "\n"
    )
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps(
            {
                "text": "Washington, D.C. is the seat of the United States. "
                "Mr. Smith of the United States visited St. Louis."
            }
        )
        + "\n"
    )
    r = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet").stdout)
    assert r["overall"]["N"] == 1


def test_unicode_normalisation_matches_accents_and_width(cli, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(json.dumps({"subject": "Côte d'Ivoire", "relation": "capital", "object": "Yamoussoukro"}) + "\n")
    path = tmp_path / "c.jsonl"
    texts = ["YAMOUSSOUKRO is the capital of COTE D'IVOIRE.", "Ｙａｍｏｕｓｓｏｕｋｒｏ, Côte d’Ivoire."]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    r = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet").stdout)
    # the curly apostrophe is a word separator like the straight one: both match
    assert r["overall"]["N"] == 2


def test_bad_records_counted_with_locations(cli, tmp_path, refs):
    path = tmp_path / "c.jsonl"
    path.write_bytes(
        b'{"text": "Paris is the capital of France."}\n'
        b"{not json\n"
        b'{"text": 42}\n'
        b'{"title": "no text"}\n'
        b'{"text": "caf\xe9"}\n'
        b"[1, 2]\n"
        b"\n"
        b'{"text": "Berlin is the capital of Germany."}\n'
    )
    result = cli("corpus", path, "--facts", refs, "--json", "--quiet")
    assert result.exit_code == 0
    r = orjson.loads(result.stdout)
    bad = r["inputs"]["bad_records"]
    assert bad["total"] == 5
    assert {k: v["count"] for k, v in bad["by_reason"].items()} == {
        "invalid_json": 1,
        "non_string_text": 1,
        "missing_text": 1,
        "invalid_utf8": 1,
        "not_an_object": 1,
    }
    assert bad["by_reason"]["invalid_utf8"]["examples"] == [f"{path}:5"]
    assert r["inputs"]["documents"] == 2 and r["overall"]["N"] == 2  # reading went on

    strict = cli("corpus", path, "--facts", refs, "--strict", "--quiet")
    assert strict.exit_code == 3
    assert strict.stderr.strip() == f"hallu-audit: error: {path}:2: invalid JSON (key must be a string)" or (
        f"{path}:2: invalid JSON" in strict.stderr and len(strict.stderr.strip().splitlines()) == 1
    )
    assert "Traceback" not in strict.stderr


def test_truncated_compressed_streams_keep_what_was_read(cli, tmp_path, refs):
    body = b"".join(
        orjson.dumps({"text": f"Paris is the capital of France. Filler {i} " + "x" * 60}) + b"\n" for i in range(5000)
    )
    for name, data in (("t.jsonl.gz", gzip.compress(body)), ("t.jsonl.zst", zstandard.ZstdCompressor().compress(body))):
        path = tmp_path / name
        path.write_bytes(data[: len(data) // 2])
        r = orjson.loads(cli("corpus", path, "--facts", refs, "--json", "--quiet").stdout)
        bad = r["inputs"]["bad_records"]["by_reason"]
        assert bad["truncated_stream"]["count"] == 1, name
        docs = r["inputs"]["documents"]
        assert 0 < docs < 5000
        assert r["overall"]["N"] == docs  # every document read before the cut was counted
        assert bad["truncated_stream"]["examples"] == [f"{path}:{docs + 1}"]
        strict = cli("corpus", path, "--facts", refs, "--strict", "--quiet")
        assert strict.exit_code == 3 and "truncated" in strict.stderr


def test_text_field_dotted_and_id_field(cli, tmp_path, refs):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"doc": {"body": "Lima is the capital of Peru."}, "meta": {"id": "x1"}}) + "\n")
    r = orjson.loads(
        cli("corpus", path, "-f", refs, "--text-field", "doc.body", "--id-field", "meta.id", "--json", "-q").stdout
    )
    assert r["overall"]["N"] == 1


def test_directory_glob_and_doc_per_file(cli, tmp_path, refs):
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("Lima is the capital\nof Peru.\n")
    (d / "sub" / "b.txt").write_text("Cairo is the capital of Egypt.\n")
    (d / "skip.md").write_text("Cairo is the capital of Egypt.\n")
    per_line = orjson.loads(cli("corpus", d, "-f", refs, "--json", "-q").stdout)
    assert per_line["inputs"]["documents"] == 3 and per_line["overall"]["N"] == 1
    whole = orjson.loads(cli("corpus", d, "-f", refs, "--doc-per-file", "--json", "-q").stdout)
    assert whole["inputs"]["documents"] == 2 and whole["overall"]["N"] == 2
    only_sub = orjson.loads(cli("corpus", d, "-f", refs, "--glob", "b.*", "--json", "-q").stdout)
    assert only_sub["inputs"]["documents"] == 1


def test_output_is_byte_identical_and_atomic(cli, tmp_path, refs):
    path = write_all_formats(tmp_path, make_docs(seed=5))["jsonl"]
    out1, out2 = tmp_path / "r1.json", tmp_path / "r2.json"
    assert cli("corpus", path, "-f", refs, "-o", out1, "-q").exit_code == 0
    assert cli("corpus", path, "-f", refs, "-o", out2, "-q").exit_code == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    r = orjson.loads(out1.read_bytes())
    assert r["kind"] == "hallu-audit/corpus-report" and r["config_id"].startswith("cfg-")
    assert r["config"]["id"] == r["config_id"]


def test_pattern_mode_counts_prompts_and_conflicts(cli, tmp_path):
    texts = [
        "Albert Einstein (14 March 1879 – 18 April 1955) was a physicist.",
        "Albert Einstein was born on March 14, 1879 in Ulm.",
        "Albert Einstein was born in 1879.",  # year only: agrees with the full date
        "Marie Curie was born on 7 November 1867. Paris is the capital of France.",
        "The capital of France is Paris. Lyon is the capital of France.",  # a corpus error
        "Google was founded in 1998. Founded in 1976, Apple makes phones.",
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    pf = tmp_path / "pf.jsonl"
    result = cli(
        "corpus", path, "-p", "birth_date", "-p", "capital", "-p", "founding_year", "--json", "-q", "--per-fact", pf
    )
    r = orjson.loads(result.stdout)
    counts = {row["id"]: row["count"] for row in read_per_fact(pf)}
    assert counts == {
        "birth_date/albert einstein": 3,
        "birth_date/marie curie": 1,
        "capital/france": 3,
        "founding_year/google": 1,
        "founding_year/apple": 1,
    }
    rel = r["relations"]
    assert rel["capital"]["conflicts"] == 1 and rel["birth_date"]["conflicts"] == 0
    assert rel["capital"]["distinct_objects"] == 2  # paris, lyon
    assert r["overall"]["N"] == 9 and r["overall"]["N1"] == 3


def test_custom_regex_pattern(cli, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "Mount Everest: 8849 m. K2: 8611 m. Mount Everest: 8849 m."}) + "\n")
    r = orjson.loads(
        cli("corpus", path, "-p", r"height=(?P<subject>[A-Z][\w ]+?): (?P<object>\d+) m", "--json", "-q").stdout
    )
    assert r["relations"]["height"]["N"] == 3 and r["relations"]["height"]["N1"] == 1


def test_tokenizer_counts_tokens(cli, tmp_path, refs):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "paris": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok_path = tmp_path / "tokenizer.json"
    tok.save(str(tok_path))
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "paris is big"}) + "\n" + json.dumps({"text": "a b c d."}) + "\n")
    r = orjson.loads(cli("corpus", path, "-f", refs, "--tokenizer", tok_path, "--json", "-q").stdout)
    assert r["inputs"]["tokens"] == 3 + 5  # Whitespace splits "d." into "d" and "."
    bad = cli("corpus", path, "-f", refs, "--tokenizer", path, "-q")
    assert bad.exit_code == 3 and "cannot load tokenizer" in bad.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["corpus", "missing.jsonl", "-p", "capital"], 3, "missing.jsonl: no such file or directory"),
        (["corpus", "{c}"], 2, "give either --facts"),
        (["corpus", "{c}", "-p", "(?P<subject>x)"], 3, "needs named groups"),
        # a misspelt pack name is named as such, not as a regex without groups
        (["corpus", "{c}", "-p", "birthdate"], 3, "no built-in pack of that name (did you mean 'birth_date'?)"),
        (["corpus", "{c}", "-p", "nosuchpack"], 3, "no built-in pack of that name; the packs are birth_date, capital"),
        # the corpus given as the table: the error shows the row's fields
        (["corpus", "{c}", "-f", "{c}"], 3, "no usable 'subject' (and no question to stand for it); the row's fields are: text"),  # noqa: E501
        (["corpus", "{c}", "-p", "capital", "--confidence", "1.5"], 2, "between 0 and 1"),
        (["corpus", "{c}", "-f", "{refs}", "--scope", "paragraph"], 2, "unknown scope"),
        (["corpus", "{c}", "-f", "{refs}", "--scope", "window"], 2, "--window N"),
    ],
)
def test_errors_are_one_line_with_exit_codes(cli, tmp_path, refs, args, code, message):
    c = tmp_path / "c.jsonl"
    c.write_text(json.dumps({"text": "x"}) + "\n")
    result = cli(*[a.format(c=c, refs=refs) for a in args])
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_real_fixture_matches_hand_checked_counts(cli, tmp_path):
    """fixtures/README.md lists counts found by reading the WordNet glosses by hand."""
    from tests.conftest import FIXTURES

    pf = tmp_path / "pf.jsonl"
    result = cli(
        "corpus",
        FIXTURES / "corpus" / "sample.jsonl",
        "-f",
        FIXTURES / "refs" / "capitals.jsonl",
        "--per-fact",
        pf,
        "-q",
    )
    assert result.exit_code == 0
    counts = {r["id"]: r["count"] for r in read_per_fact(pf)}
    assert counts["capital/france"] == 8
    assert counts["capital/canada"] == 2
    assert counts["capital/australia"] == 1
    assert counts["capital/japan"] == 2
    assert len(counts) == 248


def test_capital_pack_word_orders(cli, tmp_path):
    texts = [
        "Paris is the capital and largest city of France.",
        "Paris: the capital and largest city of France",
        "Canberra, the federal capital of Australia, is small.",
        "The capital of Australia is Canberra.",
        "Australia's capital is Canberra.",
        "Milan is a capital of fashion.",  # not a fact: no capitalised country
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    pf = tmp_path / "pf.jsonl"
    assert cli("corpus", path, "-p", "capital", "--per-fact", pf, "-q").exit_code == 0
    assert {r["id"]: r["count"] for r in read_per_fact(pf)} == {"capital/france": 2, "capital/australia": 3}


def test_names_with_inner_punctuation(cli, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        json.dumps({"subject": "Albert Einstein", "relation": "birth_date", "object": "March 14, 1879"})
        + "\n"
        + json.dumps({"subject": "United States", "relation": "capital", "object": "Washington, D.C."})
        + "\n"
    )
    texts = [
        "Albert Einstein was born on March 14, 1879.",
        "Albert Einstein: March 14 1879.",  # same words, no comma
        "Albert Einstein was born in March 1879.",  # not the object
        "Washington, D.C. is the capital of the United States.",
        "Washington DC is in the United States.",  # "dc" is one word, "d c" two: no match
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    pf = tmp_path / "pf.jsonl"
    assert cli("corpus", path, "-f", refs, "--per-fact", pf, "-q").exit_code == 0
    assert {r["id"]: r["count"] for r in read_per_fact(pf)} == {
        "birth_date/albert einstein": 2,
        "capital/united states": 1,
    }


def test_punctuation_in_the_text_but_not_in_the_table(cli, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        json.dumps({"subject": "United States", "relation": "capital", "object": "Washington D.C."})
        + "\n"
        + json.dumps({"subject": "Missouri", "relation": "largest_city", "object": "St Louis"})
        + "\n"
    )
    texts = [
        "Washington, D.C. is the capital of the United States.",  # comma only in the text
        "Washington D.C. is the capital of the United States.",
        "St. Louis is the largest city of Missouri.",  # period only in the text
        "Washington (D.C.) is the capital of the United States.",  # "washington  d c": matches too
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    pf = tmp_path / "pf.jsonl"
    assert cli("corpus", path, "-f", refs, "--per-fact", pf, "-q").exit_code == 0
    assert {r["id"]: r["count"] for r in read_per_fact(pf)} == {"capital/united states": 3, "largest_city/missouri": 1}


def test_reference_table_from_stdin_or_a_pipe_is_read_once(cli, tmp_path, refs):
    path = write_all_formats(tmp_path, make_docs(seed=5))["jsonl"]
    expected = cli("corpus", path, "-f", refs, "--json", "-q")
    assert expected.exit_code == 0
    from_stdin = cli("corpus", path, "-f", "-", "--json", "-q", input=refs.read_bytes())
    assert from_stdin.exit_code == 0, from_stdin.stderr
    a, b = orjson.loads(expected.stdout), orjson.loads(from_stdin.stdout)
    assert a["overall"] == b["overall"] and a["config_id"] == b["config_id"]
    # a pipe, as `-f <(cat refs.jsonl)` gives it: it can be read only once
    import subprocess
    import sys

    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m audit.cli corpus "{path}" -f <(cat "{refs}") --json -q'],
        capture_output=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert orjson.loads(proc.stdout)["overall"] == a["overall"]


def test_corpus_and_table_cannot_both_be_stdin(cli, refs):
    result = cli("corpus", "-", "-f", "-", "--json", "-q", input=refs.read_bytes())
    assert result.exit_code == 2
    assert "cannot both be read from stdin" in result.stderr


def test_mentions_rows_are_the_counted_mentions(cli, tmp_path, refs):
    docs = make_docs(seed=13, n=200)
    path = write_all_formats(tmp_path, docs)["jsonl"]
    rows_path = tmp_path / "mentions.jsonl"
    result = cli("corpus", path, "-f", refs, "--id-field", "meta.id", "--mentions", rows_path, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(rows_path)
    assert len(rows) == orjson.loads(result.stdout)["overall"]["N"]
    assert Counter(r["id"] for r in rows) == brute_force(docs)
    norm = [d.lower() for d in docs]  # ASCII, single spaces: the normalised text is the lowercased one
    for r in rows:
        i = int(r["doc_id"])
        assert r["source"] == str(path) and r["line"] == i + 1
        lo, hi = r["span"]
        assert norm[i][lo:hi] == r["sentence"] and r["sentence"].endswith(".")
        assert re.search(rf"\b{re.escape(r['subject_found'])}\b", r["sentence"])
        assert re.search(rf"\b{re.escape(r['object_found'])}\b", r["sentence"])
        fact_subject = r["id"].split("/", 1)[1]
        assert r["subject"] == fact_subject and r["object"] in {c.lower() for cs in COUNTRIES.values() for c in cs}
    # rows come in input order
    assert [int(r["doc_id"]) for r in rows] == sorted(int(r["doc_id"]) for r in rows)


def test_mentions_in_pattern_mode_and_without_id_field(cli, tmp_path):
    text = ("Marie Curie (7 November 1867 - 4 July 1934) was a physicist. Dr. Jones said so. "
            "Paris is the capital of France.")  # fmt: skip
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": text}) + "\n" + json.dumps({"text": "Nothing at all."}) + "\n")
    rows_path = tmp_path / "m.jsonl"
    result = cli("corpus", path, "-p", "birth_date", "-p", "capital", "--mentions", rows_path, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(rows_path)
    assert len(rows) == orjson.loads(result.stdout)["overall"]["N"] == 2
    by_relation = {r["relation"]: r for r in rows}
    born = by_relation["birth_date"]
    assert born["subject_found"] == "Marie Curie" and born["subject"] == "marie curie"
    assert born["object"] == "1867-11-07" and born["object_found"] == "7 November 1867"
    assert born["sentence"] == "Marie Curie (7 November 1867 - 4 July 1934) was a physicist."
    capital = by_relation["capital"]
    lo, hi = capital["span"]
    assert text[lo:hi] == capital["sentence"] == "Paris is the capital of France."
    assert capital["doc_id"] == f"{path}:1" and capital["line"] == 1


def test_mentions_sentence_is_capped(cli, tmp_path, refs):
    long = "Paris is the capital of France and " + "a very long clause " * 60 + "ends here."
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": long}) + "\n")
    rows_path = tmp_path / "m.jsonl"
    assert cli("corpus", path, "-f", refs, "--mentions", rows_path, "-q", "--json").exit_code == 0
    (row,) = read_jsonl(rows_path)
    assert len(row["sentence"]) == 503 and row["sentence"].endswith("...")
    assert row["span"] == [0, len(long)]
