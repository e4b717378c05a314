"""Open extraction (`corpus -p`): user regexes in linear time, the built-in packs' rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson
import pytest

from tests.conftest import ROOT


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
    rows = {r["id"]: r["count"] for r in map(orjson.loads, pf.read_bytes().splitlines())}
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
    rows = {r["id"]: r for r in map(orjson.loads, outs["1"][0].splitlines())}
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
