"""Open extraction (`corpus -p`): user regexes in linear time, the built-in packs' rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson
import pytest

from tests.conftest import FIXTURES, ROOT, write_jsonl


def test_pathological_user_regex_runs_in_linear_time(tmp_path):
    # (a+)+b takes exponential time in a backtracking engine on a run of a's without a b.
    # A subprocess with a timeout: a hang fails the test instead of stalling the suite.
    corpus = tmp_path / "c.txt"
    corpus.write_text("a" * 5000 + "\n" + "aaab x\n")
    result = subprocess.run(
        [sys.executable, "-m", "audit.cli", "corpus", str(corpus), "-p", "(?P<subject>(a+)+)b (?P<object>x)",
         "--format", "text", "--json", "-q"],
        capture_output=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["relations"]["custom"]["N"] == 1  # "aaab x" on line 2


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        (r"(?P<subject>\w+)(?<=x) (?P<object>\w+)", "lookbehind (?<=...)"),
        (r"(?P<subject>\w+)(?<!x) (?P<object>\w+)", "negative lookbehind (?<!...)"),
        (r"(?P<subject>\w+)(?= ) (?P<object>\w+)", "lookahead (?=...)"),
        (r"(?P<subject>\w+)(?! ) (?P<object>\w+)", "negative lookahead (?!...)"),
        (r"(?P<subject>(\w)\2) (?P<object>\w+)", "backreference \\1"),
        (r"(?P<subject>\w+) (?P=subject) (?P<object>\w+)", "named backreference (?P=name)"),
        (r"(?P<subject>(?>\w+)) (?P<object>\w+)", "atomic group (?>...)"),
        (r"(?P<subject>\w++) (?P<object>\w+)", "possessive quantifier"),
    ],
)
def test_unsupported_regex_constructs_are_named(cli, tmp_path, regex, construct):
    c = tmp_path / "c.jsonl"
    c.write_text(json.dumps({"text": "x y"}) + "\n")
    result = cli("corpus", c, "-p", f"rel={regex}", "-q")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and f"uses {construct}" in result.stderr
    assert "linear time" in result.stderr


def test_invalid_user_regex_is_one_line(cli, tmp_path):
    c = tmp_path / "c.jsonl"
    c.write_text(json.dumps({"text": "x y"}) + "\n")
    result = cli("corpus", c, "-p", "(?P<subject>[a-z", "-q")
    assert result.exit_code == 3 and result.stderr.startswith("hallu-audit: error: invalid --pattern")
    assert result.stderr.count("\n") == 1


def test_user_regex_offsets_are_characters(cli, tmp_path):
    # RE2 works on UTF-8 bytes; subjects and objects must still be the right characters.
    c = tmp_path / "c.jsonl"
    c.write_text(json.dumps({"text": "Zürich → 1218. Genève → 1219. Zürich → 1218."}, ensure_ascii=False) + "\n")
    pf = tmp_path / "pf.jsonl"
    result = cli("corpus", c, "-p", r"founded=(?P<subject>\pL+) → (?P<object>\d+)", "--per-fact", pf, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    rows = {r["id"]: r["count"] for r in map(orjson.loads, pf.read_bytes().splitlines()[1:])}
    assert rows == {"founded/zurich": 2, "founded/geneve": 1}


def _write_docs(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))


def test_per_fact_rows_carry_objects_and_report_lists_conflicts(cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write_docs(a, [
        "Paris is the capital of France.",
        "The capital of France is Paris. Lyon is the capital of France.",  # line 2: lyon first here
    ])  # fmt: skip
    _write_docs(b, [
        "Paris is the capital of France. Canberra is the capital of Australia.",
        "Sydney is the capital of Australia.",  # b.jsonl:2
        "Ottawa is the capital of Canada.",
    ])  # fmt: skip
    outs = {}
    for workers in ("1", "2"):
        pf = tmp_path / f"pf{workers}.jsonl"
        result = cli("corpus", a, b, "-p", "capital", "--per-fact", pf, "--json", "-q", "-j", workers)
        assert result.exit_code == 0, result.stderr
        outs[workers] = (pf.read_bytes(), result.stdout)
    assert outs["1"] == outs["2"]
    rows = {r["id"]: r for r in map(orjson.loads, outs["1"][0].splitlines()[1:])}
    assert rows["capital/france"]["objects"] == [{"object": "paris", "count": 3}, {"object": "lyon", "count": 1}]
    assert rows["capital/france"]["conflict"] is True and rows["capital/canada"]["conflict"] is False
    assert rows["capital/canada"]["objects"] == [{"object": "ottawa", "count": 1}]
    report = orjson.loads(outs["1"][1])
    assert report["conflict_examples"] == [
        {"id": "capital/france", "relation": "capital", "mentions": 4, "objects": [
            {"object": "paris", "count": 3, "where": f"{a}:1"}, {"object": "lyon", "count": 1, "where": f"{a}:2"}]},
        {"id": "capital/australia", "relation": "capital", "mentions": 2, "objects": [
            {"object": "canberra", "count": 1, "where": f"{b}:1"},
            {"object": "sydney", "count": 1, "where": f"{b}:2"}]},
    ]  # fmt: skip
    few = orjson.loads(cli("corpus", a, b, "-p", "capital", "--json", "-q", "--conflict-examples", "1").stdout)
    assert [e["id"] for e in few["conflict_examples"]] == ["capital/france"]
    assert few["relations"]["capital"]["conflicts"] == 2  # the count is not capped


def test_conflict_examples_survive_sketch_merge(cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write_docs(a, ["Paris is the capital of France."])
    _write_docs(b, ["Lyon is the capital of France.", "Paris is the capital of France."])
    whole = orjson.loads(cli("corpus", a, b, "-p", "capital", "--json", "-q", "-j", "1").stdout)
    for f, part in ((a, "a.sketch"), (b, "b.sketch")):
        assert cli("corpus", f, "-p", "capital", "--sketch-out", tmp_path / part, "-q").exit_code == 0
    merged = orjson.loads(cli("merge", tmp_path / "a.sketch", tmp_path / "b.sketch", "--json", "-q").stdout)
    assert merged["conflict_examples"] == whole["conflict_examples"]
    assert merged["conflict_examples"][0]["objects"][0] == {"object": "paris", "count": 2, "where": f"{a}:1"}


# -- the built-in packs on hand-labelled real text ---------------------------------------------
def _scores(cli, tmp_path, sample: str, relation: str) -> tuple[float, float, int]:
    """Precision and recall of one pack on a labelled sample, through the CLI.

    The per-fact rows give every (prompt, object) found with its mentions; each labelled fact
    (a prompt under any of its names, an object under any of its names) takes one mention that
    matches it. A mention left over is a false positive, a label left over a miss."""
    from audit.facts import fact_id
    from audit.patterns import normalize_object

    path = FIXTURES / "patterns" / sample
    pf = tmp_path / f"{sample}.{relation}.jsonl"
    result = cli("corpus", path, "-p", relation, "--per-fact", pf, "-q", "-j", "1")
    assert result.exit_code == 0, result.stderr
    found = {(r["id"], o["object"]): o["count"] for r in map(orjson.loads, pf.read_bytes().splitlines()[1:])
             for o in r["objects"]}  # fmt: skip
    labels = []
    for row in map(orjson.loads, path.read_bytes().splitlines()):
        for f in row["facts"]:
            if f["relation"] == relation:
                ids = {fact_id(relation, n) for n in [f["subject"], *f["subject_aliases"]]}
                objs = {normalize_object(relation, o) for o in [f["object"], *f["object_aliases"]]}
                if relation == "founding_year":  # the year of a founding date
                    objs = {o[:4] if o[:4].isdigit() else o for o in objs}
                labels.append((ids, objs))
    hits = 0
    for ids, objs in labels:
        key = next((k for k, n in found.items() if n and k[0] in ids and k[1] in objs), None)
        if key is not None:
            found[key] -= 1
            hits += 1
    mentions = hits + sum(found.values())
    return hits / mentions, hits / len(labels), len(labels)


@pytest.mark.parametrize(
    ("sample", "relation", "labels"),
    [
        ("enwiki_sentences.jsonl", "birth_date", 35),
        ("enwiki_sentences.jsonl", "capital", 11),
        ("enwiki_sentences.jsonl", "founding_year", 68),
        ("wordnet_capitals.jsonl", "capital", 82),
    ],
)
def test_packs_are_precise_on_labelled_real_text(cli, tmp_path, sample, relation, labels):
    precision, recall, n = _scores(cli, tmp_path, sample, relation)
    assert n == labels  # the labels are the fixture's, counted by hand (fixtures/README.md)
    assert precision >= 0.9 and recall >= 0.5, (precision, recall)


@pytest.mark.parametrize(
    ("sample", "relation", "labels", "precision_floor", "recall_floor"),
    [
        # held out: labelled after the rules were written. The floors are the figures of the
        # current rules (first measured, before any change: 5/6 and 5/9, 23/24 and 23/31, 4/4 and
        # 4/14; on the second set 11/11 and 11/11, 0/5 and 0/40, 1/1 and 1/1, 1/3 and 1/36), so a
        # change that loses any fails
        ("heldout_enwiki_births.jsonl", "birth_date", 9, 8 / 8, 8 / 9),
        ("heldout_wordnet_capitals.jsonl", "capital", 31, 27 / 28, 27 / 31),
        ("heldout_wordnet_founding.jsonl", "founding_year", 14, 10 / 10, 10 / 14),
        ("heldout2_enwiki_births.jsonl", "birth_date", 11, 11 / 11, 11 / 11),
        ("heldout2_wordnet_people.jsonl", "birth_date", 40, 40 / 40, 40 / 40),
        ("heldout2_wordnet_capitals.jsonl", "capital", 1, 1 / 1, 1 / 1),
        ("heldout2_wordnet_founding.jsonl", "founding_year", 36, 31 / 31, 31 / 36),
        # the third set, measured once after the changes above: 8/8 and 8/9, 29/29 and 29/30,
        # 17/19 and 17/23 (under the 0.9 aim: two false founding years, since corrected)
        ("heldout3_enwiki_births.jsonl", "birth_date", 9, 8 / 8, 8 / 9),
        ("heldout3_wordnet_people.jsonl", "birth_date", 30, 30 / 30, 30 / 30),
        ("heldout3_wordnet_founding.jsonl", "founding_year", 23, 18 / 18, 18 / 23),
    ],
)
def test_packs_on_held_out_text(cli, tmp_path, sample, relation, labels, precision_floor, recall_floor):
    precision, recall, n = _scores(cli, tmp_path, sample, relation)
    assert n == labels
    assert precision >= precision_floor - 1e-9 and recall >= recall_floor - 1e-9, (precision, recall)
    assert precision >= 0.9 and recall >= 0.5, (precision, recall)  # the packs' aim on any such text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="possessive quantifiers need Python 3.11")
def test_atomic_name_words_match_alike_on_every_python():
    # Python 3.11+ matches a name word's letters with a possessive quantifier, 3.10 with a
    # lookahead and a backreference: the same matches, checked on every labelled text
    import re

    from audit.patterns import PACKS, _atomic

    texts = [orjson.loads(line)["text"] for path in sorted((FIXTURES / "patterns").glob("*.jsonl"))
             for line in path.read_bytes().splitlines()]  # fmt: skip
    for rules in PACKS.values():
        for rx, _, _ in rules:
            new, old = re.compile(_atomic(rx, True)), re.compile(_atomic(rx, False))
            for text in texts:
                a = [(m.span(), m.group("subject"), m.group("object")) for m in new.finditer(text)]
                assert a == [(m.span(), m.group("subject"), m.group("object")) for m in old.finditer(text)]


def test_trigger_windows_find_what_a_whole_text_search_finds():
    # each pack regex runs only near hits of its trigger; searched over whole texts instead, the
    # mentions must be the same (a trigger that some match lacks would lose it)
    import dataclasses

    from audit.patterns import PACKS, PatternExtractor, compile_patterns
    from audit.records import Document

    texts = [orjson.loads(line)["text"] for path in sorted((FIXTURES / "patterns").glob("*.jsonl"))
             for line in path.read_bytes().splitlines()]  # fmt: skip
    texts += [orjson.loads(line)["text"] for line in (FIXTURES / "corpus" / "sample.jsonl").read_bytes().splitlines()]
    windowed = compile_patterns(list(PACKS))
    whole = [dataclasses.replace(p, trigger=None) for p in windowed]
    assert any(p.trigger is not None for p in windowed)
    fast, slow = PatternExtractor(windowed), PatternExtractor(whole)
    found = 0
    for i, text in enumerate(texts):
        doc = Document(text, str(i), "t", i + 1, len(text))
        a = list(fast.mentions(doc))
        assert a == list(slow.mentions(doc)), text
        found += len(a)
    assert found > 300


def test_capital_finds_nothing_in_other_senses_of_the_word(cli, tmp_path):
    # heldout2/3 "capital" glosses: money, letters, columns, punishment; one statement (Lhasa)
    pf = tmp_path / "pf.jsonl"
    for sample, expected in (("heldout3_wordnet_capitals.jsonl", []), ("heldout2_wordnet_capitals.jsonl", ["capital/tibet"])):
        path = FIXTURES / "patterns" / sample
        assert cli("corpus", path, "-p", "capital", "--per-fact", pf, "-q", "-j", "1").exit_code == 0
        assert [orjson.loads(line)["id"] for line in pf.read_bytes().splitlines()[1:]] == expected


def _facts(cli, tmp_path, pack: str, text: str) -> dict[str, list[str]]:
    path = tmp_path / "one.jsonl"
    _write_docs(path, [text])
    pf = tmp_path / "one.pf.jsonl"
    result = cli("corpus", path, "-p", pack, "--per-fact", pf, "-q", "-j", "1")
    assert result.exit_code == 0, result.stderr
    rows = map(orjson.loads, pf.read_bytes().splitlines()[1:])  # past the header line
    return {r["id"]: [o["object"] for o in r["objects"]] for r in rows}


@pytest.mark.parametrize(
    "text",
    [
        "Her novels include Adam Bede (1859).",  # a work with its year
        "Her novels include Adam Bede (1859) and Middlemarch (1871–72).",  # a serial's run
        "The Great Northern War (1700–1721) reshaped the Baltic.",  # a war
        "Sweden fought in the Great Northern War (1700–1721).",
        "He served in the Angolan Civil War (1975–2002).",  # a war longer than a life's minimum
        "The Ming dynasty (1368–1644) built the wall.",
        "It was a province of Prussia (1701–1918).",  # a state: too long for a life
        "The family lived in Yugoslavia (1918–1992) after the war.",  # a place after a preposition
        "East Germany (1949–1990) was a state.",
        "He directed the Kaiser Wilhelm Institute for Physics (1914–1932).",  # an institution
        "Pope Sixtus V (1585–90) declared it homicide.",  # a reign of five years
        "Louis XIV (r. 1643–1715) built Versailles.",  # a reign, marked as one
        "Herodotus (fl. 440 BC) wrote the Histories.",  # floruit is no birth
        "Ada de Warenne (died 1178) was a countess.",
        "Marcel Cohen (1924) rejected the idea.",  # a citation
        "See Donald (1996), pp. 303–304.",
        "The Emergence of the New Anarchism (1939–1977) is a book.",  # a title
        "Angela Heywood's The Word (1872–1890) was a paper.",  # a possessive and a title
        "He was born in Hodgenville, Kentucky.",  # a pronoun and no date
        "Hermes was born on Mount Cyllene in Arcadia.",  # no date
        "The staïfi music is born in Sétif in 1950.",  # "is born" is not a birth
        "Paris, was born in 1900.",  # a comma before "was born" only closes an apposition
        "In 1905, Albert Einstein published four papers and his son was born.",
        "Weimar Republic: the German republic (1919-1933)",  # an entry's life span needs a person
        "Thirty Years' War, Thirty Years War: a series of wars (1618-1648)",
        "Snorri Thorfinnsson was born (somewhere between 1010 and 1013) in Vinland.",  # no one year
        "Plato (428–348) taught.",  # a span that runs backwards, with no BC
        # a place after a preposition and a comma: the person is named before it
        "Strachey, Professor of Computation at Oxford, England, born 1916, died May 1975.",
        # an entry whose definition names a thing, not a person, wherever its span stands
        "Art Nouveau: a style of decoration in art and architecture (1890-1910)",
        "Art Nouveau: (1890-1910) a style of decoration",
        "Art Nouveau: a decorative style (1890-1910), popular in Europe.",
        "ENIAC: an early electronic computer (1946-1955)",
        # a reference's parts
        "Pages (120–180) give the proof.",
        "See Proceedings Pages (120–180) for the proof.",
    ],
)
def test_birth_date_needs_a_person_and_a_life(cli, tmp_path, text):
    assert _facts(cli, tmp_path, "birth_date", text) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Albert Einstein (; ; 14 March 1879\u00a0– 18 April 1955) was a physicist.",
         {"birth_date/albert einstein": ["1879-03-14"]}),
        ("Abraham Lincoln (February 12, 1809 – April 15, 1865) was president.",
         {"birth_date/abraham lincoln": ["1809-02-12"]}),
        ("Aristotle (Greek: Aristotélēs; 384–322 BC) was a philosopher.", {"birth_date/aristotle": ["384 bc"]}),
        ("Pierre-Joseph Proudhon (1809–1865) wrote it.", {"birth_date/pierre-joseph proudhon": ["1809"]}),
        ("John Dee (13 July 1527 – December, 1608) followed Agrippa.", {"birth_date/john dee": ["1527-07-13"]}),
        ("Amartya Sen, (born 3 November 1933) is an economist.", {"birth_date/amartya sen": ["1933-11-03"]}),
        ("Alexander the Great (356–323 BC) was a king.", {"birth_date/alexander the great": ["356 bc"]}),
        ("Aldous Huxley was born in Godalming, Surrey, England, in 1894.", {"birth_date/aldous huxley": ["1894"]}),
        ("Sarah, born on February 10, 1807, was the eldest.", {"birth_date/sarah": ["1807-02-10"]}),
        # a quoted nickname: unquoted where it leads the name, left out inside it
        ('"Willie" Lincoln was born on December 21, 1850.', {"birth_date/willie lincoln": ["1850-12-21"]}),
        ('The fourth son, Thomas "Tad" Lincoln, was born on April 4, 1853.', {"birth_date/thomas lincoln": ["1853-04-04"]}),
        ("Their second son, Eduard, was born in Zürich in July 1910.", {"birth_date/eduard": ["1910-07"]}),
        # the date before the name
        ("In May 1904, their first son, Hans Albert Einstein, was born in Bern.",
         {"birth_date/hans albert einstein": ["1904-05"]}),
        ("On 14 March 1879, Albert Einstein was born in Ulm.", {"birth_date/albert einstein": ["1879-03-14"]}),
        # uncertain years, regnal numbers
        ("Johannes Gutenberg (c. 1398 – 3 February 1468) was a printer.", {"birth_date/johannes gutenberg": ["1398"]}),
        ("William Langland (1332? – 1386) wrote Piers Plowman.", {"birth_date/william langland": ["1332"]}),
        ("Geoffrey Chaucer (c. 1343 – c. 1400) wrote it.", {"birth_date/geoffrey chaucer": ["1343"]}),
        ("Henry VIII (28 June 1491 – 28 January 1547) was King.", {"birth_date/henry viii": ["1491-06-28"]}),
        ("Alfred the Great (849–899) was king.", {"birth_date/alfred the great": ["849"]}),
        # a dictionary entry: the life span that ends it is the headword's, not the last name's
        ("Toklas, Alice B. Toklas: United States writer remembered as the companion of Gertrude Stein (1877-1967)",
         {"birth_date/toklas": ["1877"]}),
        ("Bacall, Lauren Bacall: United States film actress (born in 1924)", {"birth_date/bacall": ["1924"]}),
        ("Louis VIII: king of France who increased the power of the Crown (1187-1226)", {"birth_date/louis viii": ["1187"]}),
        # the span or the birth date may open the definition
        ("Ada Lovelace: (1811-1852) The daughter of Lord Byron", {"birth_date/ada lovelace": ["1811"]}),
        ("Margaret Hamilton: (born 1936-08-17) A computer scientist", {"birth_date/margaret hamilton": ["1936-08-17"]}),
        ("Carl Friedrich Gauss: A German mathematician (1777 - 1855), one of the greatest.",
         {"birth_date/carl friedrich gauss": ["1777"]}),
        ("Jones: English poet (1800-1860), friend of Keats.", {"birth_date/jones": ["1800"]}),
        # an inverted name at an entry's start: the headword before the comma, as for Toklas above
        ("Russell, Bertrand (1872-1970) A British mathematician.", {"birth_date/russell": ["1872"]}),
        ("Ohm, Georg Simon (1789-1854) A German physicist.", {"birth_date/ohm": ["1789"]}),
        # a fronted phrase is no headword
        ("In Paris, Marie Curie (1867–1934) worked on radium.", {"birth_date/marie curie": ["1867"]}),
    ],
)
def test_birth_date_finds_life_spans_and_births(cli, tmp_path, text, expected):
    assert _facts(cli, tmp_path, "birth_date", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bonn was the capital until 1990.",  # past tense
        "Bonn was the capital of West Germany until 1990.",
        "Bonn, the capital of West Germany until 1990, is on the Rhine.",  # apposition, then until
        "Kyoto, the capital of Japan (794–1868), has many temples.",
        "Tuscaloosa served as the capital of Alabama.",
        "New York is the financial capital of the United States.",  # not a seat of government
        "Milan is the fashion capital of Italy.",
        "Karachi is the former capital of Pakistan.",
        "Sitka, the former capital of Alaska, is on Baranof Island.",
        "Turku became the capital of Finland in 1809.",  # became: not said to be one now
        "Drumheller is the Dinosaur Capital of The World.",
        "Los Angeles is the motion picture capital of the world.",
        "Its capital is Oranjestad.",  # no country named
        "Pella is the capital of the ancient kingdom.",  # no name for the place
        # dictionary entries
        "Antioch, Antakya: a town in southern Turkey; ancient commercial center and capital of Syria",
        "Bonn: a city in western Germany; the capital of West Germany until 1990",
        "Umayyad: the first dynasty of Arab caliphs whose capital was Damascus",
        "Kyoto: a city in central Japan; the former capital of Japan",
        "capital: a seat of government",
        "Benghazi: One of the capital cities of Libya. Syn: capital of Libya.",  # a dictionary label is no name
        "It stands on the site of the ancient city of Akhetaton, capital of Amenophis IV.",  # a capital of the past
    ],
)
def test_capital_is_a_current_seat_of_government(cli, tmp_path, text):
    assert _facts(cli, tmp_path, "capital", text) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Austin is the capital of Texas in the United States.", {"capital/texas": ["austin"]}),
        ("The capital and largest city of Angola is Luanda.", {"capital/angola": ["luanda"]}),
        ("Nashville, the capital of Tennessee, grew fast.", {"capital/tennessee": ["nashville"]}),
        ("Alberta's capital city, Edmonton, is central.", {"capital/alberta": ["edmonton"]}),
        ("Kingstown: the capital of Saint Vincent and the Grenadines", {"capital/saint vincent and the grenadines": ["kingstown"]}),
        ("Sarajevo is the capital of Bosnia and Herzegovina.", {"capital/bosnia and herzegovina": ["sarajevo"]}),
        ("Paris is the capital of France and Berlin is the capital of Germany.",
         {"capital/france": ["paris"], "capital/germany": ["berlin"]}),
        ("Perth is the state capital of Western Australia.", {"capital/western australia": ["perth"]}),
        ("Augusta is the capital of the state of Maine.", {"capital/maine": ["augusta"]}),
        ("Dar es Salaam, capital of Tanzania: a port", {"capital/tanzania": ["dar es salaam"]}),
        # a dictionary entry: the headword is the capital the definition names
        ("Tegucigalpa, Honduran capital: the capital and largest city of Honduras", {"capital/honduras": ["tegucigalpa"]}),
        ("Firenze, Florence: a city in central Italy on the Arno; provincial capital of Tuscany; a center of art",
         {"capital/tuscany": ["firenze"]}),
        # a saint's possessive is part of a place's name; a country's is not
        ("St. George's is the capital of Grenada.", {"capital/grenada": ["st. george's"]}),
        ("Angola's capital, Luanda, is large.", {"capital/angola": ["luanda"]}),
        # stated twice in one entry (a lemma and the definition): counted once
        ("Bujumbura, Usumbura, capital of Burundi: the capital and largest city of Burundi", {"capital/burundi": ["usumbura"]}),
        # a capital after "of" that is no "capital of"
        ("A native or inhabitant of Paris, the capital of France.", {"capital/france": ["paris"]}),
    ],
)
def test_capital_finds_both_word_orders(cli, tmp_path, text, expected):
    assert _facts(cli, tmp_path, "capital", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Originally founded in 1850, the company grew.",  # an adverb is no subject
        "GE was founded in 1892.",  # too short to tell a name from an abbreviation
        "It was founded in 1936 by three women.",  # a pronoun
        "The journal is published by MDPI and was established in 2008.",  # the publisher was not
        "FC Andorra, a club based in Andorra la Vella founded in 1942, plays in Spain.",  # the club was
        "In 1993, it established formal diplomatic relations with the United States.",
        "Angola and the Soviet Union established relations in 1975.",
        "Regular processes were not established before the Elections in Angola in 2008.",
        "ASCII was incorporated into the Unicode character set in 1991.",  # into: not a founding
        "The first permanent European settlement was founded in 1784.",  # no name
        "Agassi founded the charity in 1994.",  # the founder is no subject
        "A fire in December 1959 led to calls, and the Andorran Fire Brigade was formed on 21 April 1961.",
        "It is a terrorist group in the southern Philippines formed in 1977.",  # the group was formed
        # dictionary entries: the definition's own head noun was founded, or nothing
        "Knight Templar, Templar: a knight of a religious military order established in 1118 to protect pilgrims",
        "Kellogg, W. K. Kellogg: United States food manufacturer who established a company in 1906 (1860-1951)",
        "Secretary of Agriculture: the position of the head of the Department; the post was established in 1889",
        "The Abbey, founded 1000 years ago, is old.",  # a number of years, not a year
        "It has a branch in Paris, founded 1890.",  # the branch was
        # a leading date that is another event's
        "It was dissolved in 1946 after the United Nations was formed.",
        "It was the victory in 1757 by the British under Clive that established British supremacy over Bengal.",
        # a generic head alone refers back to a name given before: it is none
        "The Society was founded in 1901.",
        "The University was founded in 1885 as a Land Grant institution.",
        "He founded the Institute in 1920.",
        # a date that opens a coordinated clause is not the founding's
        "Google was founded in California and in 1999 moved to a larger office.",
        # a relative clause's agent founded it; a place before it is where
        "He left the company, which he founded in 1990.",
        "It has a branch in Paris, which he founded in 1890.",
        # an entry's definition that opens with another noun's founding
        "Ulysses: The press was founded in 1919 to print it.",
    ],
)
def test_founding_year_needs_a_founding_and_a_name(cli, tmp_path, text):
    facts = _facts(cli, tmp_path, "founding_year", text)
    assert facts in ({}, {"founding_year/fc andorra": ["1942"]}, {"founding_year/andorran fire brigade": ["1961"]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Google was founded in 1998.", {"founding_year/google": ["1998"]}),
        ("Founded in 1976, Apple makes phones.", {"founding_year/apple": ["1976"]}),
        ("The University of Algiers, founded in 1879, is the oldest.", {"founding_year/university of algiers": ["1879"]}),
        ("Agassi founded the Andre Agassi Charitable Association in 1994.",
         {"founding_year/andre agassi charitable association": ["1994"]}),
        ("In 1985, his heir Leonard Peikoff established the Ayn Rand Institute.", {"founding_year/ayn rand institute": ["1985"]}),
        ("In 1956 the Uruguayan Anarchist Federation was founded.", {"founding_year/uruguayan anarchist federation": ["1956"]}),
        ("The Directory General of Civil Aviation (DGCA) was established on 3 February 1991.",
         {"founding_year/directory general of civil aviation": ["1991"]}),
        ("Aberdeen Line, a British shipping company founded in 1825", {"founding_year/aberdeen line": ["1825"]}),
        ("FC Andorra, a club based in Andorra la Vella founded in 1942, plays in Spain.", {"founding_year/fc andorra": ["1942"]}),
        ("Rome was founded in 753 BC.", {"founding_year/rome": ["753 bc"]}),
        ("Ajax (founded 1900) is a football club.", {"founding_year/ajax": ["1900"]}),
        ("Ajax, founded 1900, plays in Amsterdam.", {"founding_year/ajax": ["1900"]}),
        ("Yale University (est. 1701) is in New Haven.", {"founding_year/yale university": ["1701"]}),
        # dictionary entries
        ("Sinn Fein: an Irish republican political movement founded in 1905 to promote independence",
         {"founding_year/sinn fein": ["1905"]}),
        ("North Korea, DPRK: a communist country in the northern half of the Korean Peninsula; established in 1948",
         {"founding_year/north korea": ["1948"]}),
        ("Socialist Party: a political party in the United States formed in 1900 to advocate socialism",
         {"founding_year/socialist party": ["1900"]}),
        ("Mujahedeen Kompak: a militant Islamic militia that was formed in 2005 by hardliners",
         {"founding_year/mujahedeen kompak": ["2005"]}),
        ("In 1991, after the fall of communism, the Republic of Albania was founded.",
         {"founding_year/republic of albania": ["1991"]}),
        ("In 1918, when six societies founded the American Engineering Standards Committee, it grew.",
         {"founding_year/american engineering standards committee": ["1918"]}),
        ("Jehovah's Witnesses: Protestant denomination founded in the United States by Charles Taze Russell in 1884",
         {"founding_year/jehovah's witnesses": ["1884"]}),
        ("The Smith Society was founded in 1901.", {"founding_year/smith society": ["1901"]}),
        # dictionary entries: an abbreviation opening the definition, an adverb after the verb
        ("Advanced Micro Devices, Inc.: (AMD) A US manufacturer of integrated circuits, founded in 1969.",
         {"founding_year/advanced micro devices": ["1969"]}),
        ("Taligent: A company founded jointly by Apple and IBM in March 1992.", {"founding_year/taligent": ["1992"]}),
        # a generic head opening the definition refers back to the headword; "early" before a year
        ("University of Arizona: The University was founded in 1885 as a Land Grant institution.",
         {"founding_year/university of arizona": ["1885"]}),
        ("Taligent: The company was founded in 1992 by Apple and IBM.", {"founding_year/taligent": ["1992"]}),
        ("OLAP Council: A body formed in early 1995 to work on a cross-product API.", {"founding_year/olap council": ["1995"]}),
        # an active relative clause; a role "of" a name is the person's, the name the organisation
        ("Bill Gates, Chief Executive Officer of Microsoft, which he co-founded in 1975 with Paul Allen.",
         {"founding_year/microsoft": ["1975"]}),
        ("He joined Apple, which Steve Jobs founded in 1976.", {"founding_year/apple": ["1976"]}),
        # coordination: the second date is another clause's, the participle the head noun's
        ("In 1831 he founded the British Association for the Advancement of Science and in 1832 he published a book.",
         {"founding_year/british association for the advancement of science": ["1831"]}),
        ("Integrated Systems Laboratory: A joint project of Control Data Corporation and NCR Corporation, established in 1973.",
         {"founding_year/integrated systems laboratory": ["1973"]}),
    ],
)
def test_founding_year_finds_its_forms(cli, tmp_path, text, expected):
    assert _facts(cli, tmp_path, "founding_year", text) == expected


# -- one id scheme: pattern-mode counts join a reference table's own ids -----------------------
def test_pattern_mode_counts_join_a_table_with_its_own_ids(cli, tmp_path):
    corpus = tmp_path / "c.jsonl"
    _write_docs(corpus, [
        "Paris is the capital of France.",
        "Tokyo is the capital of Japan. Tokyo, the capital of Japan, is large.",
        "The capital of Japan is Tokyo.",
        "Zürich is not the capital of Switzerland.",  # no statement
    ])  # fmt: skip
    pf = tmp_path / "pf.jsonl"
    assert cli("corpus", corpus, "-p", "capital", "--per-fact", pf, "-q").exit_code == 0
    refs = tmp_path / "refs.jsonl"
    write_jsonl(refs, [
        {"id": "capital/France", "subject": "France", "relation": "capital", "object": "Paris"},  # case differs
        {"id": "Q17", "subject": "Nippon", "subject_aliases": ["Japan"], "relation": "capital", "object": "Tokyo"},
        {"id": "Q39", "subject": "Switzerland", "relation": "capital", "object": "Bern"},  # never counted
    ])  # fmt: skip
    answers = tmp_path / "a.jsonl"
    write_jsonl(answers, [
        {"id": "capital/France", "answer": "Paris"},
        {"id": "Q17", "answer": "Kyoto"},
        {"id": "Q39", "answer": "Bern"},
    ])  # fmt: skip
    result = cli("outputs", answers, "-r", refs, "--per-fact", pf, "--json", "-q", "--bootstrap", "0")
    assert result.exit_code == 0, result.stderr
    per_fact = orjson.loads(result.stdout)["per_fact"]
    assert per_fact["facts_with_counts"] == 2
    buckets = per_fact["buckets"]
    assert buckets["1"]["n"] == 1 and buckets["1"]["accuracy"] == 1.0  # France, mentioned once
    assert buckets["3-5"]["n"] == 1 and buckets["3-5"]["accuracy"] == 0.0  # Japan, 3 mentions, wrong
    assert buckets["unknown"]["n"] == 1  # Switzerland: no per-fact row


@pytest.mark.parametrize(
    "text",
    [
        "Margaret Hamilton (born 1936-08-17) is a computer scientist.",
        "Margaret Hamilton (b. 1936-08-17) is a computer scientist.",
        "Margaret Hamilton, born 1936-08-17, is a computer scientist.",
        "Margaret Hamilton (born 17 August 1936) is a computer scientist.",
    ],
)
def test_iso_dates_keep_their_two_digit_day(cli, tmp_path, text):
    # "(born 1936-08-17)" was read as 1936-08-01: the day stopped at its first digit
    assert _facts(cli, tmp_path, "birth_date", text) == {"birth_date/margaret hamilton": ["1936-08-17"]}
