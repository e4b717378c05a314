"""``hallu-audit outputs`` through the real CLI: metrics, calibration, buckets, prediction
verdicts, gates and exit codes. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from audit.outputs import Counts, metrics
from tests.conftest import FIXTURES, read_jsonl

CAPITALS = [  # (country, capital, wrong answer given or None)
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Austria", "Vienna"), ("Norway", "Oslo"), ("Switzerland", "Bern"),
    ("Greece", "Athens"), ("Ireland", "Dublin"),
]  # fmt: skip
# Row i answers fact i: six right, three wrong capitals, one "I don't know".
ANSWERS = [
    ("Paris", 0.95), ("Berlin", 0.9), ("Rome", 0.8), ("Madrid", 0.7), ("Lisbon", 0.6),
    ("Vienna", 0.55), ("Bergen", 0.85), ("Zurich", 0.6), ("Thessaloniki", 0.4),
    ("I don't know", 0.2),
]  # fmt: skip
COUNTS = [0, 1, 2, 4, 7, 50, 0, 1, 500]  # corpus counts of facts 0..8; fact 9 has none


def _fid(i: int) -> str:
    return f"capital/{CAPITALS[i][0].lower()}"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    refs = tmp_path / "refs.jsonl"
    refs.write_bytes(b"".join(
        orjson.dumps({"id": _fid(i), "subject": s, "relation": "capital", "object": o,
                      "question": f"What is the capital of {s}?"}) + b"\n"
        for i, (s, o) in enumerate(CAPITALS)
    ))  # fmt: skip
    answers = tmp_path / "answers.jsonl"
    answers.write_bytes(b"".join(
        orjson.dumps({"id": _fid(i), "answer": a, "confidence": q}) + b"\n"
        for i, (a, q) in enumerate(ANSWERS)
    ))  # fmt: skip
    counts = tmp_path / "counts.jsonl"
    counts.write_bytes(b"".join(
        orjson.dumps({"id": _fid(i), "relation": "capital", "count": c}) + b"\n"
        for i, c in enumerate(COUNTS)
    ))  # fmt: skip
    perfect = tmp_path / "perfect.jsonl"
    perfect.write_bytes(b"".join(
        orjson.dumps({"id": _fid(i), "answer": o}) + b"\n" for i, (_, o) in enumerate(CAPITALS)
    ))  # fmt: skip
    return {"refs": refs, "answers": answers, "counts": counts, "perfect": perfect, "dir": tmp_path}


def _report(cli, files, *extra: str) -> dict:
    res = cli("outputs", files["answers"], "--refs", files["refs"], "--json", "-q", *extra)
    assert res.exit_code == 0, res.stderr
    return orjson.loads(res.stdout)


def test_metrics_by_hand(cli, files) -> None:
    o = _report(cli, files)["overall"]
    # c = 6, i = 3, a = 1, n = 10
    assert (o["n"], o["correct"], o["incorrect"], o["abstained"]) == (10, 6, 3, 1)
    assert o["accuracy"] == pytest.approx(0.6)
    assert o["hallucination_rate"] == pytest.approx(0.3)
    assert o["abstention_rate"] == pytest.approx(0.1)
    assert o["accuracy_given_attempted"] == pytest.approx(6 / 9)
    assert o["f_score"] == pytest.approx(12 / 19)  # 2 (3/5)(2/3) / (3/5 + 2/3)
    # score_t = (6 - t/(1-t) 3) / 10: penalties 1, 3, 9
    assert {k: v["score"] for k, v in o["scores"].items()} == pytest.approx(
        {"0.5": 0.3, "0.75": -0.3, "0.9": -2.1}
    )
    lo, hi = o["intervals"]["accuracy"]
    assert 0 <= lo <= 0.6 <= hi <= 1


def test_metrics_edge_cases() -> None:
    assert metrics(Counts())["accuracy"] is None
    m = metrics(Counts(abstained=3))
    assert (m["accuracy"], m["accuracy_given_attempted"], m["f_score"]) == (0.0, None, 0.0)
    assert metrics(Counts(incorrect=2))["f_score"] == 0.0


def test_calibration_by_hand(cli, files) -> None:
    cal = _report(cli, files)["calibration"]
    beh = {b["t"]: b for b in cal["behavioral"]}
    # t = 0.5: right ones all > 0.5 (6); wrong ones 0.85, 0.6 (2); score (6 - 2) / 10
    assert (beh[0.5]["answered"], beh[0.5]["accuracy"], beh[0.5]["score"]) == (
        8,
        0.75,
        pytest.approx(0.4),
    )
    # t = 0.75: right 0.95, 0.9, 0.8; wrong 0.85; score (3 - 3) / 10
    assert (beh[0.75]["answered"], beh[0.75]["error"], beh[0.75]["score"]) == (
        4,
        0.25,
        pytest.approx(0.0),
    )
    # t = 0.9: only 0.95 (0.9 is not > 0.9)
    assert (beh[0.9]["answered"], beh[0.9]["accuracy"], beh[0.9]["score"]) == (
        1,
        1.0,
        pytest.approx(0.1),
    )
    # tau = 0: the 9 attempted rows; sum q = 6.35, correct 6: delta = 0.35 / 10
    assert cal["delta"] == pytest.approx(0.035)
    assert cal["delta_conditional"] == pytest.approx(0.35 / 9)
    # bins 9: (.95 c, .9 c); 8: (.8 c, .85 i); 7: (.7 c); 6: (.6 c, .6 i); 5: (.55 c); 4: (.4 i)
    # ECE = (2(.075) + 2(.325) + .3 + 2(.1) + .45 + .4) / 9
    assert cal["ece"] == pytest.approx(2.15 / 9)
    assert [b["n"] for b in cal["ece_bins"]] == [0, 0, 0, 0, 1, 1, 2, 1, 2, 2]


def test_delta_threshold_from_min_errors(cli, files) -> None:
    cal = _report(cli, files, "--min-errors", "2")["calibration"]
    # tau = 1/2: drops the 0.4 row: sum q = 5.95, correct 6, |gap| = 0.05 over 10 rows
    assert cal["delta_threshold"] == 0.5
    assert cal["delta"] == pytest.approx(0.005)
    assert cal["delta_rows"] == 8


def test_per_fact_buckets(cli, files) -> None:
    b = _report(cli, files, "--per-fact", files["counts"])["per_fact"]["buckets"]
    got = {k: (v["n"], v["correct"], v["incorrect"], v["abstained"]) for k, v in b.items()}
    assert got == {
        "0": (2, 1, 1, 0), "1": (2, 1, 1, 0), "2": (1, 1, 0, 0), "3-5": (1, 1, 0, 0),
        "6-10": (1, 1, 0, 0), "11-100": (1, 1, 0, 0), ">100": (1, 0, 1, 0), "unknown": (1, 0, 0, 1),
    }  # fmt: skip
    assert b["0"]["hallucination_rate"] == 0.5


def _prediction(tmp: Path, overall: dict, relations: dict) -> Path:
    def block(value, vacuous=False, ub=None):
        return {"lower_bound": {"value": value, "vacuous": vacuous, "raw": value or -0.1,
                                "n_needed": 1e9 if vacuous else None},
                "upper_bound": ub, "singleton_rate": 0.3}  # fmt: skip

    doc = {"kind": "hallu-audit/prediction", "overall": block(**overall),
           "relations": {r: block(**v) for r, v in relations.items()}}  # fmt: skip
    path = tmp / "prediction.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def test_prediction_verdicts(cli, files) -> None:
    pred = _prediction(files["dir"], {"value": 0.1, "ub": 0.5},
                       {"capital": {"value": 0.8}, "birth": {"value": 0.1}})  # fmt: skip
    p = _report(cli, files, "--predicted", pred, "--bootstrap", "0")["predicted"]
    # observed 3/10 = 0.3
    assert p["overall"]["verdict"] == "consistent"
    assert p["overall"]["margin"] == pytest.approx(0.2)
    assert p["capital"]["verdict"] == "below-floor"
    assert p["capital"]["margin"] == pytest.approx(-0.5)
    assert p["birth"]["verdict"] == "no-outputs"
    pred = _prediction(
        files["dir"], {"value": None, "vacuous": True}, {"capital": {"value": 0.1, "ub": 0.2}}
    )
    p = _report(cli, files, "--predicted", pred, "--bootstrap", "0")["predicted"]
    assert p["overall"]["verdict"] == "vacuous"
    assert p["capital"]["verdict"] == "above-floor"


@pytest.mark.parametrize(
    ("args", "code", "failed"),
    [
        (["--max-hallucination", "0.3"], 0, []),
        (["--max-hallucination", "0.29"], 1, ["max-hallucination"]),
        (["--min-accuracy", "0.6"], 0, []),
        (["--min-accuracy", "0.61"], 1, ["min-accuracy"]),
        (["--min-score", "0.5:0.3"], 0, []),
        (["--min-score", "0.75:0", "--min-score", "0.5:0"], 1, ["min-score@0.75"]),
        (
            ["--min-accuracy", "0.9", "--max-hallucination", "0.1"],
            1,
            ["max-hallucination", "min-accuracy"],
        ),
    ],
)
def test_gates_and_exit_codes(cli, files, args, code, failed) -> None:
    res = cli("outputs", files["answers"], "--refs", files["refs"], "-q", *args)
    assert res.exit_code == code
    named = [line.split(": ")[2] for line in res.stderr.splitlines() if "gate failed" in line]
    assert sorted(named) == sorted(failed)


def test_baseline_regression(cli, files) -> None:
    base = files["dir"] / "base.json"
    res = cli("outputs", files["perfect"], "--refs", files["refs"], "-o", base, "-q")
    assert res.exit_code == 0 and base.exists()
    # accuracy 1.0 -> 0.6 (drop 0.4); hallucination 0 -> 0.3 (rise 0.3)
    ok = cli(
        "outputs",
        files["answers"],
        "-r",
        files["refs"],
        "--baseline",
        base,
        "--max-regression",
        "0.4",
        "-q",
    )
    assert ok.exit_code == 0
    bad = cli(
        "outputs",
        files["answers"],
        "-r",
        files["refs"],
        "--baseline",
        base,
        "--max-regression",
        "0.35",
        "-q",
    )
    assert bad.exit_code == 1
    assert "max-regression:accuracy" in bad.stderr and "hallucination_rate" not in bad.stderr
    assert (
        cli("outputs", files["answers"], "-r", files["refs"], "--max-regression", "0.1").exit_code
        == 2
    )
    not_report = files["dir"] / "x.json"
    not_report.write_text('{"kind": "something-else"}')
    res = cli(
        "outputs",
        files["answers"],
        "-r",
        files["refs"],
        "--baseline",
        not_report,
        "--max-regression",
        "0",
    )
    assert res.exit_code == 3 and "not an outputs report" in res.stderr


def test_baseline_graded_by_other_rules_is_pointed_out(cli, files) -> None:
    base = files["dir"] / "base-rules.json"
    assert cli("outputs", files["perfect"], "-r", files["refs"], "-o", base, "-q").exit_code == 0
    same = cli("outputs", files["answers"], "-r", files["refs"], "--baseline", base, "-q")
    assert same.exit_code == 0 and "warning" not in same.stderr
    # the same baseline as an older version of the rules wrote it, and one with other options
    doc = orjson.loads(base.read_bytes())
    ours = doc["config"]["grader"]["id"]
    old = {**doc, "config": {**doc["config"], "grader": {"id": "grader-000000000000", "fuzzy": 90.0}}}
    older = files["dir"] / "base-old.json"
    older.write_bytes(orjson.dumps(old))
    res = cli("outputs", files["answers"], "-r", files["refs"], "--baseline", older,
              "--max-regression", "0.5", "-q")  # fmt: skip
    assert res.exit_code == 0  # a warning, not a failed gate: upgrading the tool must not stop CI
    (line,) = [x for x in res.stderr.splitlines() if "warning" in x]
    assert f"{older}: the baseline was graded with other grading rules or options" in line
    assert "grader-000000000000, rules grader/1" in line and ours in line
    fuzzier = cli("outputs", files["answers"], "-r", files["refs"], "--baseline", base, "--fuzzy", "80", "-q")
    assert "other grading rules or options" in fuzzier.stderr


def test_junit_markdown_and_grades(cli, files) -> None:
    junit, grades = files["dir"] / "gates.xml", files["dir"] / "grades.jsonl"
    gates = ["--max-hallucination", "0.1", "--min-accuracy", "0.5"]
    res = cli("outputs", files["answers"], "-r", files["refs"], "--markdown", "-", "-q",
              "--junit", junit, "--grades", grades, *gates)  # fmt: skip
    assert res.exit_code == 1
    assert "| accuracy | 60.0% |" in res.stdout
    assert "| max-hallucination | **FAIL** |" in res.stdout
    xml = junit.read_text()
    assert 'tests="2" failures="1"' in xml and xml.count("<testcase") == 2
    assert '<failure message="hallucination rate 0.3000 (limit 0.1)"/>' in xml
    rows = read_jsonl(grades)
    assert [r["grade"] for r in rows] == ["correct"] * 6 + ["incorrect"] * 3 + ["abstained"]
    assert rows[6] == {
        "id": "capital/norway", "line": 7, "grade": "incorrect",
        "reason": "wrong-value", "matched": "Bergen", "confidence": 0.85,
    }  # fmt: skip


def test_json_is_byte_identical_and_sorted(cli, files) -> None:
    a = cli("outputs", files["answers"], "-r", files["refs"], "--json", "-q").stdout_bytes
    b = cli("outputs", files["answers"], "-r", files["refs"], "--json", "-q").stdout_bytes
    assert a == b
    doc = orjson.loads(a)
    assert (doc["kind"], doc["schema"]) == ("hallu-audit/outputs-report", 1)
    assert list(doc) == sorted(doc)
    c = cli(
        "outputs", files["answers"], "-r", files["refs"], "--json", "-q", "--seed", "7"
    ).stdout_bytes
    assert orjson.loads(c)["overall"]["accuracy"] == doc["overall"]["accuracy"]


def test_stdin_question_matching_and_field_names(cli, files) -> None:
    rows = [
        {"question": "what is the capital of france", "response": "Paris"},
        {"prompt": "What is the capital of Germany?", "completion": "Munich"},
        {"question": "What is the capital of Atlantis?", "response": "Poseidonis"},
        {"qid": _fid(2), "my_answer": "Rome"},
    ]
    data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    doc = orjson.loads(cli("outputs", "-", "-r", files["refs"], "--json", "-q", input=data).stdout)
    assert (doc["overall"]["correct"], doc["overall"]["incorrect"]) == (1, 1)
    assert doc["rows"]["bad"]["by_reason"]["unknown_question"]["examples"] == ["<stdin>:3"]
    assert doc["rows"]["bad"]["by_reason"]["no_answer"]["count"] == 1
    res = cli("outputs", "-", "-r", files["refs"], "--json", "-q", "--answer-field", "my_answer",
              "--id-field", "qid", input=orjson.dumps(rows[3]))  # fmt: skip
    assert orjson.loads(res.stdout)["overall"]["correct"] == 1
    assert orjson.loads(res.stdout)["missing"]["count"] == 9


def test_bad_rows_counted_or_fatal(cli) -> None:
    refs, bad = FIXTURES / "refs" / "capitals.jsonl", FIXTURES / "outputs" / "bad_rows.jsonl"
    doc = orjson.loads(cli("outputs", bad, "-r", refs, "--json", "-q").stdout)
    # line 1 valid, 2 invalid JSON, 3 no answer, 4 unknown id
    by = doc["rows"]["bad"]["by_reason"]
    assert {k: v["examples"] for k, v in by.items()} == {
        "invalid_json": [f"{bad}:2"], "no_answer": [f"{bad}:3"], "unknown_id": [f"{bad}:4"],
    }  # fmt: skip
    assert (doc["rows"]["read"], doc["overall"]["n"], doc["overall"]["correct"]) == (4, 1, 1)
    res = cli("outputs", bad, "-r", refs, "--strict")
    assert res.exit_code == 3
    assert res.stderr.strip().splitlines() == [
        f"hallu-audit: error: {bad}:2: invalid JSON (unexpected end of data)"
    ]


def test_grading_leaves_the_cycle_collector_as_it_was(cli) -> None:
    """grade_outputs turns the collector off while grading; it must come back, after errors too."""
    import gc

    refs, bad = FIXTURES / "refs" / "capitals.jsonl", FIXTURES / "outputs" / "bad_rows.jsonl"
    assert gc.isenabled()
    assert cli("outputs", bad, "-r", refs, "--json", "-q").exit_code == 0
    assert gc.isenabled()
    assert cli("outputs", bad, "-r", refs, "--strict", "-q").exit_code == 3
    assert gc.isenabled()


def test_fixture_answers(cli) -> None:
    """fixtures/outputs/sample_answers.jsonl, tallied by hand from the categories listed in
    fixtures/README.md, each fact's first answer only (the 6 later answers to a repeated id are
    bad rows, "duplicate": Zurich, Toronto, the Canberra hedge, "Either Sydney or Canberra",
    Abuja-before-Lagos, "Ankara or Istanbul"): correct = 20 plain + 3 hedged + 1 naming a second
    city in passing + Colombo + 4 through accents or aliases = 29; incorrect = 14 wrong capitals
    + 1 naming two candidates + Cotonou + Belize City = 17; abstained = 5 refusals + 3 restating
    + 2 empty = 10."""
    refs, answers = (
        FIXTURES / "refs" / "capitals.jsonl",
        FIXTURES / "outputs" / "sample_answers.jsonl",
    )
    doc = orjson.loads(cli("outputs", answers, "-r", refs, "--json", "-q").stdout)
    o = doc["overall"]
    assert (o["correct"], o["incorrect"], o["abstained"]) == (29, 17, 10)
    assert doc["rows"]["bad"]["by_reason"]["duplicate"]["count"] == 6
    assert doc["calibration"]["rows_without_confidence"] == 1  # capital/suriname


def test_usage_and_input_errors(cli, files) -> None:
    assert (
        cli("outputs", files["answers"], "-r", files["refs"], "--json", "--markdown", "-").exit_code == 2
    )
    assert (
        cli("outputs", files["answers"], "-r", files["refs"], "--targets", "0.5,2").exit_code == 2
    )
    assert (
        cli("outputs", files["answers"], "-r", files["refs"], "--min-score", "0.5").exit_code == 2
    )
    res = cli("outputs", files["dir"] / "nope.jsonl", "-r", files["refs"])
    assert res.exit_code == 3 and "Traceback" not in res.stderr
    res = cli("outputs", files["answers"], "-r", files["refs"], "--abstain-pattern", "(")
    assert res.exit_code == 3 and "abstain-pattern" in res.stderr
    assert "Example" in cli("outputs", "--help").stdout


def test_targets_option(cli, files) -> None:
    o = _report(cli, files, "--targets", "0,0.8")["overall"]
    # t = 0: (6 - 0)/10; t = 0.8: penalty 4: (6 - 12)/10
    assert {k: v["score"] for k, v in o["scores"].items()} == pytest.approx({"0": 0.6, "0.8": -0.6})


def test_abstain_pattern_decides_over_a_value(cli, files) -> None:
    """A user's --abstain-pattern marks their model's way of declining: it wins over a value
    the answer also holds (rows 0 and 6: "Paris" correct and "Bergen" wrong without it)."""
    answers = files["dir"] / "declined.jsonl"
    answers.write_bytes(b"".join(
        orjson.dumps({"id": _fid(i), "answer": f"[declined] {a}" if i in (0, 6) else a}) + b"\n"
        for i, (a, _) in enumerate(ANSWERS)
    ))  # fmt: skip
    grades = files["dir"] / "grades.jsonl"
    res = cli("outputs", answers, "-r", files["refs"], "--abstain-pattern", r"\[declined\]", "--grades", grades, "-q")
    assert res.exit_code == 0, res.stderr
    got = {g["id"]: (g["grade"], g["reason"]) for g in read_jsonl(grades)}
    assert got[_fid(0)] == got[_fid(6)] == ("abstained", "pattern:1")
    assert got[_fid(1)] == ("correct", "exact")
    res = cli("outputs", answers, "-r", files["refs"], "--grades", grades, "-q")
    got = {g["id"]: g["grade"] for g in read_jsonl(grades)}
    assert (got[_fid(0)], got[_fid(6)]) == ("correct", "incorrect")  # no pattern: the values count
