"""What the terminal tells a user: summaries, notes, units and labels, completions, and which
outputs can be combined in one run. Each test drives the real CLI."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys

import orjson
import pytest

from audit.bounds import PLAUSIBLE_ANSWERS
from tests.conftest import FIXTURES, ROOT

SAMPLE = FIXTURES / "corpus" / "sample.jsonl"
CAPITALS = FIXTURES / "refs" / "capitals.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"
RAW_FLOAT = re.compile(r"\d\.\d{6,}")  # an unrounded estimate such as 1,113.44786785908


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict:
    """Ten copies of the sample corpus, with --dedup exact, and one copy: the distinct-source
    counts of the first must equal the plain counts of the second."""
    from typer.testing import CliRunner

    from audit.cli import app

    d = tmp_path_factory.mktemp("copies")
    ten = d / "ten.jsonl"
    ten.write_bytes(SAMPLE.read_bytes() * 10)
    run = CliRunner().invoke
    one = run(app, ["corpus", str(SAMPLE), "-f", str(CAPITALS), "--json", "-q", "-j", "1"])
    dedup = run(app, ["corpus", str(ten), "-f", str(CAPITALS), "--dedup", "exact", "-j", "1",
                      "-o", str(d / "ten.json")])  # fmt: skip
    assert one.exit_code == 0 and dedup.exit_code == 0, dedup.stderr
    return {"one": orjson.loads(one.stdout), "summary": dedup.stderr, "report": d / "ten.json", "dir": d}


def test_dedup_summary_shows_raw_and_distinct_counts(copies) -> None:
    one = copies["one"]["overall"]
    text = copies["summary"]
    assert "over distinct sources (--dedup exact: 1,387 distinct documents, 12,483 duplicates" in text
    raw, distinct = text.split("over distinct sources", 1)
    # every fact is seen ten times in the raw counts: no singletons at all
    assert re.search(rf"overall\s+{one['N'] * 10:,}\s+{one['distinct_facts']}\s+0\s+0\.0000", raw)
    # over distinct sources, the counts of one copy
    sr = f"{one['singleton_rate']:.4f}"
    assert re.search(rf"overall\s+{one['N']}\s+{one['distinct_facts']}\s+{one['N1']}\s+{sr}", distinct)
    assert one["singleton_rate"] > 0.1


def test_predict_uses_distinct_counts_when_present_and_says_so(cli, copies) -> None:
    one = copies["one"]["overall"]
    r = cli("predict", copies["report"], "-a", "200", "--json")
    assert r.exit_code == 0, r.stderr
    doc = orjson.loads(r.stdout)
    assert (doc["counts"], doc["dedup"]) == ("distinct", "exact")
    assert (doc["overall"]["N"], doc["overall"]["N1"]) == (one["N"], one["N1"])
    assert "over distinct sources (--dedup exact" in r.stderr
    raw = cli("predict", copies["report"], "-a", "200", "--counts", "raw", "--json")
    doc = orjson.loads(raw.stdout)
    assert (doc["counts"], doc["dedup"], doc["overall"]["N"], doc["overall"]["N1"]) == ("raw", None, one["N"] * 10, 0)
    assert "every mention counted" in raw.stderr
    # a report without --dedup has no distinct counts: asking for them is an error, not raw
    plain = copies["dir"] / "one.json"
    plain.write_bytes(orjson.dumps(copies["one"]))
    bad = cli("predict", plain, "-a", "200", "--counts", "distinct")
    assert bad.exit_code == 3 and "made without --dedup" in bad.stderr
    assert orjson.loads(cli("predict", plain, "-a", "200", "--json", "-q").stdout)["counts"] == "raw"
    assert cli("predict", plain, "--counts", "unique").exit_code == 2


def test_predict_explains_n_and_the_upper_bound(cli, copies) -> None:
    r = cli("predict", copies["report"], "-a", "200")
    text = _words(r.stderr)
    assert "N = fact mentions in the corpus" in text
    assert "upper bound: the rate a calibrated memoriser reaches" in text
    assert "not a ceiling on any model" in text
    help_text = _words(cli("predict", "--help").stdout)
    assert "calibrated memoriser" in help_text and "not a ceiling on any model" in help_text
    assert "N (fact mentions" in help_text


def test_one_rule_for_plausible_answers() -> None:
    days = (datetime.date(2000, 1, 1) - datetime.date(1800, 1, 1)).days
    assert days == 73048 and "73,048" in PLAUSIBLE_ANSWERS and "365 for a birthday" in PLAUSIBLE_ANSWERS
    rule = _words(PLAUSIBLE_ANSWERS)
    assert rule in _words((ROOT / "README.md").read_text())
    help_text = subprocess.run(
        [sys.executable, "-m", "audit.cli", "predict", "--help"], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "100"}, check=True,
    ).stdout  # fmt: skip
    assert rule in _words(help_text)
    # no other number of plausible answers for a birthday anywhere a user reads
    for text in (help_text, (ROOT / "README.md").read_text()):
        assert "36525" not in text and "36,525" not in text


def test_simulate_states_the_plausible_answers_by_the_rule(cli, tmp_path) -> None:
    r = cli("simulate", tmp_path, "-n", "200", "--eval-prompts", "10")
    assert r.exit_code == 0, r.stderr
    days = (datetime.date(2000, 1, 1) - datetime.date(1800, 1, 1)).days
    assert f"plausible answers {days:,} (every day of 1800-1999" in r.stderr
    assert orjson.loads((tmp_path / "truth.json").read_bytes())["answers"] == days
    r = cli("simulate", tmp_path / "b", "-n", "200", "--eval-prompts", "10", "--years", "1900-1999")
    days = (datetime.date(2000, 1, 1) - datetime.date(1900, 1, 1)).days
    assert f"plausible answers {days:,} (every day of 1900-1999" in r.stderr


@pytest.fixture(scope="module")
def sketched(tmp_path_factory) -> dict:
    from typer.testing import CliRunner

    from audit.cli import app

    d = tmp_path_factory.mktemp("sketch")
    args = ["corpus", str(SAMPLE), "-p", "birth_date", "-p", "capital", "--max-facts", "37", "-j", "1"]
    r = CliRunner().invoke(app, [*args, "-o", str(d / "report.json")])
    assert r.exit_code == 0, r.stderr
    return {"summary": r.stderr, "report": d / "report.json", "doc": orjson.loads((d / "report.json").read_bytes())}


def test_sketch_estimates_are_rounded_with_their_standard_error(sketched) -> None:
    doc, text = sketched["doc"], sketched["summary"]
    o = doc["overall"]
    assert not o["exact"] and not float(o["N1"]).is_integer()
    se = o["standard_errors"]
    assert f"{round(o['N1']):,} ± {round(se['N1']):,}" in text
    assert f"{round(o['distinct_facts']):,} ± {round(se['distinct_facts']):,}" in text
    assert f"{o['singleton_rate']:.4f} ± {se['singleton_rate']:.4f}" in text
    assert not RAW_FLOAT.search(text), text
    assert "estimated by the bounded-memory sketch" in text


def test_predict_keeps_the_sketch_standard_errors(cli, sketched) -> None:
    doc = sketched["doc"]
    r = cli("predict", sketched["report"], "-a", "365", "--json")
    assert r.exit_code == 0, r.stderr
    pred = orjson.loads(r.stdout)
    for scope, block in [("overall", pred["overall"]), *pred["relations"].items()]:
        src = doc["overall"] if scope == "overall" else doc["relations"][scope]
        assert block["exact"] is False
        assert block["standard_errors"] == {
            "N1": src["standard_errors"]["N1"],
            "singleton_rate": src["standard_errors"]["singleton_rate"],
        }
    o = doc["overall"]
    assert f"{round(o['N1']):,} ± {round(o['standard_errors']['N1']):,}" in r.stderr
    assert "sketch estimated N1 and sr" in _words(r.stderr)
    assert not RAW_FLOAT.search(r.stderr)


def test_one_label_for_the_overall_row(cli, copies, tmp_path) -> None:
    pred = tmp_path / "prediction.json"
    p = cli("predict", copies["report"], "-a", "200", "-o", pred)
    counts = tmp_path / "counts.jsonl"
    cli("corpus", SAMPLE, "-f", CAPITALS, "--per-fact", counts, "-q", "-j", "1")
    o = cli("outputs", ANSWERS, "-r", CAPITALS, "--predicted", pred)
    for text in (copies["summary"], p.stderr, o.stderr):
        assert re.search(r"^\s*overall\s", text, re.M), text
        assert "ALL" not in text.split() and "(overall)" not in text


def test_progress_bar_counts_decimal_megabytes(cli, monkeypatch, copies) -> None:
    import audit.cli

    monkeypatch.setattr(audit.cli, "interactive", lambda: True)
    ten = copies["dir"] / "ten.jsonl"
    r = cli("corpus", ten, "-f", CAPITALS, "-j", "1")
    size = ten.stat().st_size  # 2,329,390 bytes: 2.33 MB (2.22 in MiB)
    assert f"{size / 1e6:.2f}MB/{size / 1e6:.2f}MB" in r.stderr, r.stderr[-500:]
    assert f"{size / 1e6:,.1f} MB" in r.stderr


def test_summary_goes_to_stderr_with_json_for_corpus_and_outputs_alike(cli, tmp_path) -> None:
    c = cli("corpus", SAMPLE, "-f", CAPITALS, "--json", "-j", "1")
    o = cli("outputs", ANSWERS, "-r", CAPITALS, "--json")
    assert orjson.loads(c.stdout)["kind"] == "hallu-audit/corpus-report"
    assert orjson.loads(o.stdout)["kind"] == "hallu-audit/outputs-report"
    assert "relation" in c.stderr and "graded" in o.stderr
    cq = cli("corpus", SAMPLE, "-f", CAPITALS, "--json", "-q", "-j", "1")
    oq = cli("outputs", ANSWERS, "-r", CAPITALS, "--json", "-q")
    assert cq.stderr == "" and oq.stderr == ""


def test_markdown_and_json_in_one_run(cli, tmp_path) -> None:
    counts = tmp_path / "counts.jsonl"
    cli("corpus", SAMPLE, "-f", CAPITALS, "--per-fact", counts, "-q", "-j", "1")
    md = tmp_path / "summary.md"
    a = cli("outputs", ANSWERS, "-r", CAPITALS, "--per-fact", counts, "--json", "--markdown", md, "-q")
    assert a.exit_code == 0, a.stderr
    doc = orjson.loads(a.stdout)
    text = md.read_text()
    assert text.startswith("## hallu-audit outputs")
    # the corpus-count table, row by row from the JSON
    assert "| corpus count | answers | accuracy | hallucination rate | abstention rate |" in text
    shown = 0
    for label, b in doc["per_fact"]["buckets"].items():
        if b["n"]:
            shown += 1
            assert f"| {label} | {b['n']:,} | {100 * b['accuracy']:.1f}% | " in text
    assert shown >= 2
    graded = tmp_path / "graded.json"
    b = cli("outputs", ANSWERS, "-r", CAPITALS, "--per-fact", counts, "--markdown", "-", "-o", graded, "-q")
    assert b.exit_code == 0 and b.stdout == text
    assert orjson.loads(graded.read_bytes())["overall"] == doc["overall"]
    both = cli("outputs", ANSWERS, "-r", CAPITALS, "--json", "--markdown", "-")
    assert both.exit_code == 2


def _complete(*words: str) -> list[str]:
    env = {
        **os.environ,
        "_HALLU_AUDIT_COMPLETE": "complete_bash",  # what completions/hallu-audit.bash runs
        "COMP_WORDS": " ".join(["hallu-audit", *words]),
        "COMP_CWORD": str(len(words)),
    }
    cmd = [sys.executable, "-m", "audit.cli"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("corpus", "--dedup", ""), ["off", "exact", "minhash"]),
        (("corpus", "--dedup", "m"), ["minhash"]),
        (("corpus", "--scope", ""), ["sentence", "window", "doc"]),
        (("corpus", "--format", ""), ["auto", "jsonl", "parquet", "text"]),
        (("corpus", "-p", ""), ["birth_date", "capital", "founding_year"]),
        (("corpus", "--pattern", "ca"), ["capital"]),
        (("predict", "--counts", ""), ["raw", "distinct"]),
    ],
)
def test_completion_offers_values(words: tuple[str, ...], expected: list[str]) -> None:
    assert _complete(*words) == expected


def test_report_does_not_pour_its_page_into_a_terminal(tmp_path) -> None:
    # `report X.json` without -o on a terminal used to print 5 MB of HTML into it.
    import pty

    corpus = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "audit.cli", "corpus", str(SAMPLE), "-f", str(CAPITALS),
                          "-o", str(corpus), "-q", "-j", "1"], cwd=ROOT, capture_output=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    leader, follower = pty.openpty()
    try:
        tty = subprocess.run([sys.executable, "-m", "audit.cli", "report", str(corpus)], cwd=ROOT,
                             stdout=follower, stderr=subprocess.PIPE, text=True, timeout=60)  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert tty.returncode == 2
    assert "give -o FILE" in tty.stderr and "Traceback" not in tty.stderr
    # a pipe, or -o FILE, still gets the page
    piped = subprocess.run([sys.executable, "-m", "audit.cli", "report", str(corpus), "-q"], cwd=ROOT,
                           capture_output=True, timeout=60)  # fmt: skip
    assert piped.returncode == 0 and piped.stdout.startswith(b"<!DOCTYPE html>")


def test_predict_says_where_estimated_answers_come_from(cli, tmp_path) -> None:
    # With a reference table the estimate is the table's distinct objects (Lima counts, though
    # the corpus never states it); the note used to say "distinct objects seen" in both modes.
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "Paris is the capital of France. Rome is the capital of Italy."}\n')
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps({"subject": s, "relation": "capital", "object": o}) + "\n"
                            for s, o in [("France", "Paris"), ("Italy", "Rome"), ("Peru", "Lima")]))  # fmt: skip
    modes = [(["-f", refs], 3, "of the reference table"), (["-p", "capital"], 2, "seen in the corpus")]
    for args, answers, where in modes:
        report = tmp_path / "report.json"
        assert cli("corpus", corpus, *args, "-o", report, "-q", "-j", "1").exit_code == 0
        res = cli("predict", report)
        assert res.exit_code == 0
        assert f"* answers estimated from the distinct objects {where}; pass --answers" in res.stderr
        assert re.search(rf"^capital\s+2\s+2\s+1\.0000\s+{answers}\*", res.stderr, re.M), res.stderr


def test_outputs_counts_of_one_read_in_the_singular(cli, tmp_path) -> None:
    # "graded 1 answers", "skipped 1 bad rows", "1 reference facts have no answer" before
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps({"subject": s, "relation": "capital", "object": o}) + "\n"
                            for s, o in [("France", "Paris"), ("Peru", "Lima")]))  # fmt: skip
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"id": "capital/france", "answer": "Paris"}\n{"id": "capital/mars", "answer": "x"}\n')
    res = cli("outputs", answers, "-r", refs, "--markdown", "-")
    assert res.exit_code == 0
    assert f"graded 1 answer from {answers}: 1 correct, 0 incorrect, 0 abstained\n" in res.stderr
    assert "skipped 1 bad row:\n" in res.stderr
    assert "1 reference fact has no answer (e.g. capital/peru)" in res.stderr
    assert "1 answer graded: 1 correct" in res.stdout and "1 bad row skipped; 1 fact without an answer." in res.stdout
    ids = ["capital/france", "capital/peru"]
    answers.write_text("".join(json.dumps({"id": i, "answer": "Lima"}) + "\n" for i in ids))
    res = cli("outputs", answers, "-r", refs)
    assert f"graded 2 answers from {answers}: 1 correct, 1 incorrect, 0 abstained\n" in res.stderr
