"""Joins that cannot match: per-fact counts and predictions name the reference table they were
made from, and ``outputs`` refuses another table's; files that name none (pattern mode, hand-made,
older) are warned about when less than half the graded answers join."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from audit.facts import digest, load_references
from tests.conftest import FIXTURES, read_jsonl

SAMPLE = FIXTURES / "corpus" / "sample.jsonl"
CAPITALS = FIXTURES / "refs" / "capitals.jsonl"
ELEMENTS = FIXTURES / "refs" / "elements.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Per-fact counts and predictions from the capitals table, from that table less one fact
    (another digest, the same relation), from the elements table, and from pattern mode."""
    from typer.testing import CliRunner

    from audit.cli import app

    d = tmp_path_factory.mktemp("joins")
    fewer = d / "capitals-less-one.jsonl"
    fewer.write_bytes(b"".join(CAPITALS.read_bytes().splitlines(keepends=True)[1:]))
    runner = CliRunner()
    out: dict[str, Path] = {"fewer": fewer}
    for name, facts in [("capitals", ["-f", CAPITALS]), ("fewer", ["-f", fewer]), ("elements", ["-f", ELEMENTS]),
                        ("patterns", ["-p", "capital"])]:  # fmt: skip
        pf, rep, pred = d / f"{name}.counts.jsonl", d / f"{name}.report.json", d / f"{name}.prediction.json"
        r = runner.invoke(app, ["corpus", str(SAMPLE), *map(str, facts), "--per-fact", str(pf), "-o", str(rep), "-q"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["predict", str(rep), "-a", "200", "-o", str(pred), "-q"])
        assert r.exit_code == 0, r.output
        out[f"{name}.counts"], out[f"{name}.prediction"] = pf, pred
    return out


def _strip_header(src: Path, dst: Path) -> Path:
    dst.write_bytes(b"".join(src.read_bytes().splitlines(keepends=True)[1:]))
    return dst


def _strip_digest(src: Path, dst: Path) -> Path:
    doc = orjson.loads(src.read_bytes())
    del doc["facts_digest"]
    dst.write_bytes(orjson.dumps(doc))
    return dst


def _outputs(cli, *args):
    return cli("outputs", ANSWERS, "-r", CAPITALS, "--json", "-q", *args)


def _one_line_exit_3(r, *needles: str) -> None:
    assert r.exit_code == 3, (r.exit_code, r.stderr)
    assert r.stderr.startswith("hallu-audit: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert not r.stdout
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def test_files_name_their_reference_table(made) -> None:
    table = digest(load_references(str(CAPITALS)))
    head = read_jsonl(made["capitals.counts"])[0]
    assert head == {"kind": "hallu-audit/per-fact", "schema": 1, "mode": "facts", "facts_digest": table,
                    "relations": ["capital"], "config_id": head["config_id"]}  # fmt: skip
    assert head["config_id"] == orjson.loads(made["capitals.prediction"].read_bytes())["config_id"]
    assert orjson.loads(made["capitals.prediction"].read_bytes())["facts_digest"] == table
    assert read_jsonl(made["patterns.counts"])[0]["mode"] == "patterns"
    assert orjson.loads(made["patterns.prediction"].read_bytes())["facts_digest"] is None


def test_matching_files_join_without_a_word(cli, made) -> None:
    r = _outputs(cli, "--per-fact", made["capitals.counts"], "--predicted", made["capitals.prediction"])
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    doc = orjson.loads(r.stdout)
    graded = doc["rows"]["graded"]
    assert graded > 0 and doc["per_fact"]["buckets"]["unknown"]["n"] == 0  # every answer has a count
    assert doc["predicted"]["overall"]["n"] == graded


@pytest.mark.parametrize("other", ["fewer", "elements"])
def test_counts_of_another_table_are_refused(cli, made, other) -> None:
    pf = made[f"{other}.counts"]
    _one_line_exit_3(_outputs(cli, "--per-fact", pf), str(pf), "another reference table")


def test_counts_made_by_patterns_join_by_subject_and_warn_when_few_do(cli, made, tmp_path) -> None:
    """Pattern mode names no table; its prompts join the table's facts by relation and subject."""
    r = _outputs(cli, "--per-fact", made["patterns.counts"])
    assert r.exit_code == 0, r.stderr
    doc = orjson.loads(r.stdout)
    graded, unknown = doc["rows"]["graded"], doc["per_fact"]["buckets"]["unknown"]["n"]
    if unknown > graded / 2:
        assert "graded answers have a corpus count" in r.stderr
    else:
        assert r.stderr == ""
    # counts of two prompts only: most answers cannot join, and the warning says so
    rows = read_jsonl(made["patterns.counts"])
    few = tmp_path / "few.jsonl"
    few.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in rows[:3]))
    r = _outputs(cli, "--per-fact", few)
    assert r.exit_code == 0
    joined = graded - orjson.loads(r.stdout)["per_fact"]["buckets"]["unknown"]["n"]
    assert joined <= 2 and r.stderr == (
        f"hallu-audit: warning: {few}: only {joined} of {graded} graded answers have a corpus count; the file "
        "names no reference table (pattern mode, by hand, or an older hallu-audit): was it counted from this one?\n"
    )


@pytest.mark.parametrize("other", ["fewer", "elements"])
def test_a_prediction_of_another_table_is_refused(cli, made, other) -> None:
    pred = made[f"{other}.prediction"]
    _one_line_exit_3(_outputs(cli, "--predicted", pred), str(pred), "another reference table")


def test_files_without_the_digest_warn_when_less_than_half_join(cli, made, tmp_path) -> None:
    # elements counts and an elements prediction, stripped of what names their table: no
    # graded answer (all capitals) joins
    pf = _strip_header(made["elements.counts"], tmp_path / "old-counts.jsonl")
    pred = _strip_digest(made["elements.prediction"], tmp_path / "old-prediction.json")
    r = _outputs(cli, "--per-fact", pf, "--predicted", pred)
    assert r.exit_code == 0, r.stderr
    graded = orjson.loads(r.stdout)["rows"]["graded"]
    lines = r.stderr.splitlines()
    assert lines == [
        f"hallu-audit: warning: {pf}: only 0 of {graded} graded answers have a corpus count; the file names "
        "no reference table (pattern mode, by hand, or an older hallu-audit): was it counted from this one?",
        f"hallu-audit: warning: {pred}: only 0 of {graded} graded answers are of a relation the prediction "
        "covers (symbol); it names no reference table",
    ]
    # the same table's files without the digest join fully: no warning
    pf = _strip_header(made["capitals.counts"], tmp_path / "old-capitals.jsonl")
    pred = _strip_digest(made["capitals.prediction"], tmp_path / "old-capitals.json")
    r = _outputs(cli, "--per-fact", pf, "--predicted", pred)
    assert r.exit_code == 0 and r.stderr == "", r.stderr


def test_a_pattern_mode_prediction_joins_by_relation(cli, made) -> None:
    """Pattern mode names no table; its relation (capital) is the answers' one: no warning."""
    r = _outputs(cli, "--predicted", made["patterns.prediction"])
    assert r.exit_code == 0 and r.stderr == "", r.stderr
