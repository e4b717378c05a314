"""``hallu-audit predict``: Theorem 2's bounds from a corpus report.

The oracle is the worked table of the project's theory notes (sr = 0.2, |E_c| = 364, delta = 0,
99%): N = 1e4 vacuous, 1e6 -> 0.077 / 0.212, 1e9 -> 0.189 / 0.1999.
"""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import bounds
from audit.errors import ConfigError, FormatError, InputError, OptionError
from audit.predict import (
    Stats,
    calibration_from_outputs,
    parse_answers,
    parse_corpus_report,
    predict,
    predict_one,
    render_table,
)


def summary(n: int, sr: float, distinct_objects: int | None = 365) -> dict:
    n1 = round(sr * n)
    mm = bounds.missing_mass_interval(sr, n, 0.99)
    return {
        "N": n,
        "N1": n1,
        "distinct_facts": n1,
        "singleton_rate": sr,
        "histogram": {"1": n1},
        "distinct_objects": distinct_objects,
        "unseen_facts": None,
        "missing_mass": {
            "low": mm.low,
            "high": mm.high,
            "half_width": mm.half_width,
            "confidence": 0.99,
        },
        "exact": True,
    }


def report(overall: dict, relations: dict | None = None, confidence: float = 0.99) -> dict:
    return {
        "kind": "hallu-audit/corpus-report",
        "schema": 1,
        "version": "0.1.0",
        "config_id": "cfg-test",
        "confidence": confidence,
        "inputs": {},
        "overall": overall,
        "relations": relations if relations is not None else {"birthday": overall},
    }


def as_bytes(doc: dict) -> bytes:
    return orjson.dumps(doc)


# -- the worked table ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "lower", "upper"),
    [(10**4, None, 0.329), (10**6, 0.077, 0.212), (10**9, 0.189, 0.1999)],
)
def test_worked_table_library(n: int, lower: float | None, upper: float) -> None:
    p = predict_one(Stats(n, 0.2 * n, 0.2, None), min_answers=365)
    if lower is None:
        assert p.lower_bound.vacuous and p.lower_bound.value is None and p.lower_bound.raw < 0
        assert p.lower_bound.n_needed is not None and p.lower_bound.n_needed > n
    else:
        assert not p.lower_bound.vacuous
        assert round(p.lower_bound.value, 3) == lower
    digits = 4 if n == 10**9 else 3
    assert round(p.upper_bound, digits) == upper


def test_vacuous_bound_turns_positive_at_n_needed() -> None:
    p = predict_one(Stats(10**4, 2000, 0.2, None), min_answers=365)
    needed = p.lower_bound.n_needed
    assert bounds.lower_bound(0.2, needed, 364) > 0
    assert bounds.lower_bound(0.2, needed - 2, 364) <= 0


def test_never_positive_when_sr_below_answer_floor() -> None:
    # sr <= 2/|E_c| + delta: no N makes the bound positive.
    p = predict_one(Stats(10**9, 10**7, 0.01, None), min_answers=101, delta=0.0)
    assert p.lower_bound.vacuous and p.lower_bound.n_needed is None
    assert "vacuous (never > 0)" in render_table(
        predict(parse_corpus_report(as_bytes(report(summary(10**9, 0.01)))), answers=101)
    )


def test_calibration_delta_lowers_the_bound() -> None:
    a = predict_one(Stats(10**6, 2e5, 0.2, None), min_answers=365)
    b = predict_one(Stats(10**6, 2e5, 0.2, None), min_answers=365, delta=0.05)
    assert math.isclose(a.lower_bound.raw - b.lower_bound.raw, 0.05)
    assert a.upper_bound == b.upper_bound  # the memoriser is calibrated


@given(
    n=st.integers(min_value=0, max_value=10**12),
    sr=st.floats(min_value=0, max_value=1),
    answers=st.integers(min_value=2, max_value=10**6),
    delta=st.floats(min_value=0, max_value=1),
)
@settings(deadline=None)  # a pure function: a slow machine is no failure
def test_never_a_negative_rate(n: int, sr: float, answers: int, delta: float) -> None:
    p = predict_one(Stats(n, sr * n, sr, None), min_answers=answers, delta=delta)
    d = p.to_dict()
    orjson.dumps(d)  # always serialisable (no inf / nan)
    assert (d["lower_bound"]["value"] is None) == d["lower_bound"]["vacuous"]
    if d["lower_bound"]["value"] is not None:
        assert 0 < d["lower_bound"]["value"] <= 1
    if d["upper_bound"] is not None:
        assert d["upper_bound"] <= 1


# -- answers -------------------------------------------------------------------------------------
def test_answers_estimated_from_distinct_objects() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2, distinct_objects=300))))
    pred = predict(rep)
    assert pred.relations["birthday"].answers == 300
    assert pred.relations["birthday"].answers_estimated
    assert pred.overall.answers_estimated
    assert "estimated" in render_table(pred)


def test_answers_given_overrides_estimate() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2, distinct_objects=300))))
    for pred in (predict(rep, answers=365), predict(rep, answers_per_relation={"birthday": 365})):
        p = pred.relations["birthday"]
        assert p.answers == 365 and not p.answers_estimated
        assert round(p.lower_bound.value, 3) == 0.077


def test_overall_uses_min_for_lower_and_max_for_upper() -> None:
    overall = summary(10**6, 0.2)
    rels = {"birthday": summary(5 * 10**5, 0.2), "capital": summary(5 * 10**5, 0.2)}
    rep = parse_corpus_report(as_bytes(report(overall, rels)))
    pred = predict(rep, answers_per_relation={"birthday": 365, "capital": 11})
    o = pred.overall
    assert o.answers == 11
    assert math.isclose(o.lower_bound.raw, bounds.lower_bound(0.2, 10**6, 10))
    assert math.isclose(o.upper_bound, bounds.upper_bound(0.2, 10**6, 364))
    assert "fewest answers" in render_table(pred)


def test_parse_answers() -> None:
    assert parse_answers(["365"]) == (365, {})
    assert parse_answers(["a=3", "b=c=4", "7"]) == (7, {"a": 3, "b=c": 4})
    for bad in ("x", "a=", "1", "=5", "a=1", "1e300", str(10**300)):
        with pytest.raises(OptionError):
            parse_answers([bad])


def test_unknown_relation_in_answers() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2))))
    with pytest.raises(ConfigError, match="unknown relation 'capital'"):
        predict(rep, answers_per_relation={"capital": 3})


def test_no_estimate_possible() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2, distinct_objects=None))))
    with pytest.raises(ConfigError, match="--answers birthday=N"):
        predict(rep)


def test_confidence_defaults_to_report_and_can_change() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2), confidence=0.95)))
    assert predict(rep, answers=365).confidence == 0.95
    p = predict(rep, answers=365, confidence=0.999).overall
    assert math.isclose(p.lower_bound.raw, bounds.lower_bound(0.2, 10**6, 364, 0, 0.999))
    assert p.missing_mass.confidence == 0.999


# -- input validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"not json", InputError, "not a JSON corpus report"),
        (b"[1, 2]", InputError, "not a corpus report"),
        (orjson.dumps({"kind": "hallu-audit/prediction"}), InputError, "not a corpus report"),
        (orjson.dumps({**report(summary(10, 0.2)), "schema": 9}), FormatError, "schema 9"),
        (
            orjson.dumps({k: v for k, v in report(summary(10, 0.2)).items() if k != "overall"}),
            InputError,
            "no field 'overall'",
        ),
        (
            orjson.dumps(report({k: v for k, v in summary(10, 0.2).items() if k != "N"})),
            InputError,
            "no field 'overall.N'",
        ),
        (
            orjson.dumps(
                report(summary(10, 0.2), {"b": {**summary(10, 0.2), "singleton_rate": "x"}})
            ),
            InputError,
            "relations.b.singleton_rate",
        ),
    ],
)
def test_bad_reports(data: bytes, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        parse_corpus_report(data, "r.json")
    assert "\n" not in str(info.value) and str(info.value).startswith("r.json: ")


def test_calibration_from_outputs() -> None:
    assert calibration_from_outputs(orjson.dumps({"calibration": {"delta": 0.03}})) == 0.03
    for doc in ({}, {"calibration": None}, {"calibration": {"delta": None}}):
        with pytest.raises(InputError, match="no calibration.delta"):
            calibration_from_outputs(orjson.dumps(doc))
    with pytest.raises(InputError, match="not a JSON outputs report"):
        calibration_from_outputs(b"{")


def test_json_is_deterministic_and_has_the_schema() -> None:
    rep = parse_corpus_report(as_bytes(report(summary(10**6, 0.2))))
    a, b = predict(rep, answers=365).to_json(), predict(rep, answers=365).to_json()
    assert a == b
    doc = orjson.loads(a)
    assert list(doc) == sorted(doc)
    assert set(doc) == {
        "kind",
        "schema",
        "version",
        "config_id",
        "confidence",
        "calibration_delta",
        "counts",
        "dedup",
        "facts_digest",
        "overall",
        "relations",
    }
    assert doc["kind"] == "hallu-audit/prediction" and doc["schema"] == 1
    assert set(doc["overall"]) == {
        "N",
        "N1",
        "singleton_rate",
        "exact",
        "standard_errors",
        "answers",
        "answers_estimated",
        "lower_bound",
        "upper_bound",
        "missing_mass",
    }
    assert set(doc["overall"]["lower_bound"]) == {"value", "vacuous", "raw", "n_needed"}
    assert set(doc["overall"]["missing_mass"]) == {
        "estimate",
        "low",
        "high",
        "half_width",
        "confidence",
    }


# -- through the real CLI ------------------------------------------------------------------------
def write(tmp_path, name: str, doc: dict | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    return str(path)


@pytest.mark.parametrize(
    ("n", "lower", "upper"),
    [(10**4, None, 0.329), (10**6, 0.077, 0.212), (10**9, 0.189, 0.1999)],
)
def test_worked_table_cli(cli, tmp_path, n: int, lower: float | None, upper: float) -> None:
    path = write(tmp_path, "report.json", report(summary(n, 0.2)))
    result = cli("predict", path, "--answers", "birthday=365", "--json")
    assert result.exit_code == 0, result.stderr
    doc = orjson.loads(result.stdout)
    for p in (doc["overall"], doc["relations"]["birthday"]):
        lb = p["lower_bound"]
        if lower is None:
            assert lb["vacuous"] and lb["value"] is None and lb["n_needed"] == 321636
        else:
            assert not lb["vacuous"] and round(lb["value"], 3) == lower
        assert round(p["upper_bound"], 4 if n == 10**9 else 3) == upper
        assert p["answers"] == 365 and not p["answers_estimated"]
    # The human table goes to stderr, and never shows a negative rate.
    assert "birthday" in result.stderr
    if lower is None:
        assert "vacuous (N >= 321,636)" in result.stderr
        assert "-0." not in result.stderr
    else:
        assert f"{lower:.3f}" in result.stderr


def test_cli_stdin_output_file_and_default_answers(cli, tmp_path) -> None:
    data = orjson.dumps(report(summary(10**6, 0.2)))
    out = tmp_path / "prediction.json"
    result = cli("predict", "-", "-o", str(out), input=data)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # data only where asked for
    doc = orjson.loads(out.read_bytes())
    assert doc["overall"]["answers"] == 365 and doc["overall"]["answers_estimated"]
    assert "estimated" in result.stderr
    again = cli("predict", "-", "--json", "--quiet", input=data)
    assert again.stdout.encode() == out.read_bytes() and again.stderr == ""


def test_cli_calibration(cli, tmp_path) -> None:
    path = write(tmp_path, "report.json", report(summary(10**6, 0.2)))
    graded = write(tmp_path, "graded.json", {"calibration": {"delta": 0.05}})
    a = orjson.loads(cli("predict", path, "-a", "365", "--json", "-q").stdout)
    b = orjson.loads(
        cli("predict", path, "-a", "365", "--json", "-q", "--calibration", "0.05").stdout
    )
    c = orjson.loads(
        cli("predict", path, "-a", "365", "--json", "-q", "--calibration-from", graded).stdout
    )
    assert b == c and b["calibration_delta"] == 0.05
    assert math.isclose(
        a["overall"]["lower_bound"]["raw"] - b["overall"]["lower_bound"]["raw"], 0.05
    )
    none = write(tmp_path, "none.json", {"calibration": {"delta": None}})
    bad = cli("predict", path, "--calibration-from", none)
    assert bad.exit_code == 3 and "no calibration.delta" in bad.stderr
    both = cli("predict", path, "--calibration", "0.1", "--calibration-from", graded)
    assert both.exit_code == 2
    # the corpus report given where the graded report belongs: named as what it is
    mixed = cli("predict", path, "--calibration-from", path)
    assert mixed.exit_code == 3 and mixed.stderr.count("\n") == 1
    assert f"{path}: not an outputs report (kind 'hallu-audit/corpus-report'" in mixed.stderr


def test_cli_confidence(cli, tmp_path) -> None:
    path = write(tmp_path, "report.json", report(summary(10**6, 0.2)))
    doc = orjson.loads(cli("predict", path, "-a", "365", "--json", "--confidence", "0.9").stdout)
    assert doc["confidence"] == 0.9
    assert math.isclose(
        doc["overall"]["lower_bound"]["raw"], bounds.lower_bound(0.2, 10**6, 364, 0, 0.9)
    )
    assert cli("predict", path, "--confidence", "1.5").exit_code == 2


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"not json at all", (), "not a JSON corpus report"),
        # a JSONL file (the reference table, per-fact counts) given for the report
        (b'{"id": "capital/france"}\n{"id": "capital/peru"}\n', (), "predict reads the one JSON document"),
        (orjson.dumps({"kind": "something/else"}), (), "not a corpus report"),
        (
            orjson.dumps({k: v for k, v in report(summary(10, 0.2)).items() if k != "relations"}),
            (),
            "no field 'relations'",
        ),
        (
            orjson.dumps(report({k: v for k, v in summary(10, 0.2).items() if k != "N1"})),
            (),
            "no field 'overall.N1'",
        ),
        (orjson.dumps(report(summary(10**6, 0.2))), ("-a", "capital=3"), "unknown relation"),
        (
            orjson.dumps(report(summary(10**6, 0.2, distinct_objects=None))),
            (),
            "--answers birthday=N",
        ),
    ],
)
def test_cli_bad_input_exit_3_one_line(
    cli, tmp_path, content: bytes, args: tuple, message: str
) -> None:
    path = write(tmp_path, "report.json", content)
    result = cli("predict", path, *args)
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hallu-audit: error: ") and message in lines[0]


def test_cli_missing_file(cli, tmp_path) -> None:
    result = cli("predict", str(tmp_path / "nope.json"))
    assert result.exit_code == 3 and "cannot read" in result.stderr


def test_corpus_report_feeds_predict(cli, tmp_path) -> None:
    """The real ``corpus --json`` output is a valid input, and ``-`` reads it from stdin."""
    from tests.conftest import FIXTURES

    rep = cli(
        "corpus", FIXTURES / "corpus" / "sample.jsonl", "-f", FIXTURES / "refs" / "capitals.jsonl",
        "--json", "--quiet",
    )  # fmt: skip
    assert rep.exit_code == 0, rep.stderr
    result = cli("predict", "-", "--answers", "200", "--json", input=rep.stdout)
    assert result.exit_code == 0, result.stderr
    doc = orjson.loads(result.stdout)
    assert doc["config_id"] == orjson.loads(rep.stdout)["config_id"]
    assert doc["overall"]["N"] == orjson.loads(rep.stdout)["overall"]["N"]
    assert set(doc["relations"]) == set(orjson.loads(rep.stdout)["relations"])


def test_a_corpus_with_no_mention_is_said_to_be_one(cli, tmp_path):
    # documents were read but no pattern matched: the report says N = 0 is not a rate of 0, and
    # predict names the cause instead of asking for --answers
    corpus = tmp_path / "plain.jsonl"
    corpus.write_text('{"text": "Nothing here names a capital."}\n{"text": "Nor here."}\n')
    report = tmp_path / "r.json"
    made = cli("corpus", corpus, "-p", "capital", "-q", "-o", report)
    assert made.exit_code == 0
    assert made.stderr.strip() == ("hallu-audit: warning: no pattern mention was found in 2 document(s): N = 0, "
                                   "so the singleton rate (shown as 0) is undefined")  # fmt: skip
    res = cli("predict", report)
    assert res.exit_code == 3
    assert "relation 'overall': the corpus report counted no mention of it (N = 0)" in res.stderr
    assert "--answers N gives its vacuous bound" in res.stderr
    vacuous = cli("predict", report, "--answers", "5", "--json")
    assert vacuous.exit_code == 0 and orjson.loads(vacuous.stdout)["overall"]["lower_bound"]["vacuous"] is True
