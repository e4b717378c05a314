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
