"""CI gates that bad data cannot pass: unusable confidences, duplicate answers, coverage, runs
in which nothing was graded, and skipped rows counted by reason in every rendering.

The answers are fixtures/outputs/sample_answers.jsonl, whose grades were tallied by hand
(tests/test_outputs.py::test_fixture_answers): of the 56 facts answered, 29 correct, 17
incorrect, 10 abstained; 6 later rows repeat an id; the table has 248 facts.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import FIXTURES, read_jsonl, write_jsonl

REFS = FIXTURES / "refs" / "capitals.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"
CORRECT, INCORRECT, ABSTAINED, FACTS = 29, 17, 10, 248


def _rows() -> list[dict]:
    return read_jsonl(ANSWERS)


def _first_per_id(rows: list[dict]) -> list[dict]:
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out


def _grades(cli, answers: Path, tmp: Path) -> dict[str, str]:
    out = tmp / "grades.jsonl"
    cli("outputs", answers, "-r", REFS, "--grades", out, "-q")
    return {g["id"]: g["grade"] for g in read_jsonl(out)}


def test_an_unusable_confidence_is_dropped_never_the_row(cli, tmp_path: Path) -> None:
    """The attack: confidence 1.5 (or a string, or out of range) on every wrong answer. Those
    rows are still graded, so the hallucination rate stays 17/56 and the gate fails."""
    rows = _first_per_id(_rows())
    grades = _grades(cli, write_jsonl(tmp_path / "plain.jsonl", rows), tmp_path)
    bad_values = [1.5, "high", -0.1, 7, True]
    wrong = 0
    for r in rows:
        if grades[r["id"]] == "incorrect":
            r["confidence"] = bad_values[wrong % len(bad_values)]
            wrong += 1
    assert wrong == INCORRECT
    answers = write_jsonl(tmp_path / "attack.jsonl", rows)
    res = cli("outputs", answers, "-r", REFS, "--json", "-q", "--max-hallucination", "0.05")
    assert res.exit_code == 1
    doc = orjson.loads(res.stdout)
    o = doc["overall"]
    assert (o["correct"], o["incorrect"], o["abstained"]) == (CORRECT, INCORRECT, ABSTAINED)
    assert o["hallucination_rate"] == INCORRECT / (CORRECT + INCORRECT + ABSTAINED)
    assert doc["rows"]["confidence_dropped"]["count"] == INCORRECT
    assert doc["rows"]["bad"]["total"] == 0
    # 56 rows, one without a confidence (capital/suriname), 17 dropped
    assert doc["calibration"]["rows"] == 56 - 1 - INCORRECT
    assert "gate failed: max-hallucination" in res.stderr
    # --strict refuses the data instead
    res = cli("outputs", answers, "-r", REFS, "-q", "--strict")
    assert res.exit_code == 3 and "confidence must be a number in [0, 1]" in res.stderr


def test_duplicates_count_once_and_are_reported(cli, tmp_path: Path) -> None:
    """The attack: 5 more copies of each correct row. The first answer to each fact counts, the
    copies are bad rows of reason duplicate, and accuracy stays 29/56."""
    rows = _rows()
    grades = _grades(cli, ANSWERS, tmp_path)
    firsts = _first_per_id(rows)
    copies = [r for r in firsts if grades[r["id"]] == "correct" for _ in range(5)]
    assert len(copies) == 5 * CORRECT
    answers = write_jsonl(tmp_path / "attack.jsonl", rows + copies)
    res = cli("outputs", answers, "-r", REFS, "--json", "-q", "--min-accuracy", "0.8")
    assert res.exit_code == 1
    doc = orjson.loads(res.stdout)
    assert doc["overall"]["accuracy"] == CORRECT / 56
    dup = doc["rows"]["bad"]["by_reason"]["duplicate"]
    assert dup["count"] == 6 + 5 * CORRECT
    assert dup["examples"][0] == f"{answers}:22"  # the second capital/canada row
    assert doc["rows"]["read"] == len(rows) + len(copies) and doc["rows"]["graded"] == 56
    res = cli("outputs", answers, "-r", REFS, "-q", "--strict")
    assert res.exit_code == 3 and f"{answers}:22: a second answer to 'capital/canada'" in res.stderr


def test_coverage_and_its_gate(cli, tmp_path: Path) -> None:
    res = cli("outputs", ANSWERS, "-r", REFS, "--json", "-q", "--min-coverage", "0.25")
    assert res.exit_code == 1
    doc = orjson.loads(res.stdout)
    assert doc["rows"]["coverage"] == 56 / FACTS
    gate = doc["gates"][0]
    assert gate["name"] == "min-coverage" and not gate["passed"] and gate["observed"] == 56 / FACTS
    assert "gate failed: min-coverage: coverage 0.2258 (limit 0.25)" in res.stderr
    assert cli("outputs", ANSWERS, "-r", REFS, "-q", "--min-coverage", "0.2").exit_code == 0
    table = cli("outputs", ANSWERS, "-r", REFS).stderr
    assert "coverage 22.6% of 248 reference facts" in table
    assert "duplicate: 6" in table


def test_nothing_graded_fails_every_gate_and_exits_3(cli, tmp_path: Path) -> None:
    answers = write_jsonl(tmp_path / "none.jsonl", [{"id": "capital/atlantis", "answer": "Poseidonia"}] * 3)
    # the files of an earlier run that did grade (a CI baseline, say) are left as they were
    kept = {name: tmp_path / name for name in ("report.json", "summary.md", "gates.xml", "grades.jsonl")}
    for path in kept.values():
        path.write_bytes(b"an earlier run's\n")
    res = cli(
        "outputs", answers, "-r", REFS, "-q", "--json", "-o", kept["report.json"], "--markdown", kept["summary.md"],
        "--junit", kept["gates.xml"], "--grades", kept["grades.jsonl"], "--max-hallucination", "0.5",
        "--min-accuracy", "0", "--min-score", "0.5:-1", "--min-coverage", "0",
    )  # fmt: skip
    assert res.exit_code == 3
    assert f"{answers}: no answer could be graded (3 rows read; unknown_id: 3)" in res.stderr
    doc = orjson.loads(res.stdout)  # stdout still says what happened
    names = [g["name"] for g in doc["gates"] if not g["passed"]]
    assert names == ["min-coverage", "max-hallucination", "min-accuracy", "min-score@0.5"]
    assert doc["passed"] is False
    assert all(f"gate failed: {name}" in res.stderr for name in names)
    assert {name: path.read_bytes() for name, path in kept.items()} == dict.fromkeys(kept, b"an earlier run's\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "none.jsonl"])  # no temporary file left
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    res = cli("outputs", empty, "-r", REFS, "-q")
    assert res.exit_code == 3 and "no answer could be graded (0 rows read; no rows)" in res.stderr


def test_nothing_graded_for_a_misnamed_field_names_the_fields(cli, tmp_path: Path) -> None:
    # The answers are in "text": the error says which fields were looked for and which the rows
    # have, instead of only "no_answer: 2".
    rows = [{"id": "capital/france", "text": "Paris"}, {"id": "capital/peru", "text": "Lima"}]
    answers = write_jsonl(tmp_path / "answers.jsonl", rows)
    res = cli("outputs", answers, "-r", REFS, "-q")
    assert res.exit_code == 3 and res.stderr.count("\n") == 1
    assert res.stderr == (
        f"hallu-audit: error: {answers}: no answer could be graded (2 rows read; no_answer: 2); looked for "
        "answer, response, output, prediction, completion (--answer-field), and the first such row has: id, text\n"
    )
    named = cli("outputs", answers, "-r", REFS, "-q", "--answer-field", "reply")
    assert "looked for reply (--answer-field), and the first such row has: id, text" in named.stderr
    assert cli("outputs", answers, "-r", REFS, "-q", "--answer-field", "text").exit_code == 0
    no_id = write_jsonl(tmp_path / "no_id.jsonl", [{"q": "What is the capital of France?", "answer": "Paris"}])
    res = cli("outputs", no_id, "-r", REFS, "-q")
    assert res.exit_code == 3
    looked = "looked for id, fact_id, qid, question_id, question, prompt, input (--id-field, --question-field)"
    assert looked in res.stderr
    assert res.stderr.endswith("the first such row has: answer, q\n")


def test_skipped_rows_by_reason_in_markdown_and_junit(cli, tmp_path: Path) -> None:
    rows = _rows() + [{"id": "capital/atlantis", "answer": "x"}, {"answer": "no id"}]
    answers = write_jsonl(tmp_path / "a.jsonl", rows)
    answers.write_bytes(answers.read_bytes() + b"{not json\n")
    md, xml = tmp_path / "s.md", tmp_path / "g.xml"
    res = cli("outputs", answers, "-r", REFS, "-q", "--markdown", md, "--junit", xml, "--min-coverage", "0.1")
    assert res.exit_code == 0
    text = md.read_text()
    assert "Coverage: 22.6% of 248 reference facts graded." in text
    assert "9 bad rows skipped" in text
    for reason, n in (("duplicate", 6), ("unknown_id", 1), ("no_id", 1), ("invalid_json", 1)):
        assert f"- skipped, {reason}: {n} (e.g." in text
        assert f'<property name="skipped:{reason}" value="{n}"/>' in xml.read_text()
    assert '<property name="coverage" value="0.2258"/>' in xml.read_text()


def test_a_byte_order_mark_on_the_first_row_is_no_bad_row(cli, tmp_path: Path) -> None:
    answers = tmp_path / "bom.jsonl"
    answers.write_bytes(b"\xef\xbb\xbf" + ANSWERS.read_bytes())
    doc = orjson.loads(cli("outputs", answers, "-r", REFS, "--json", "-q").stdout)
    assert doc["rows"]["graded"] == 56 and "invalid_json" not in doc["rows"]["bad"]["by_reason"]
    assert doc["overall"]["correct"] == CORRECT
