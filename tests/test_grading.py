"""The grader against a hand-made table of tricky answers (fixtures/grading_cases.jsonl).

Every expected grade and reason in the table was decided by hand from the rules in
``audit.grading``'s docstring, not by running the grader.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import ConfigError
from audit.facts import Fact, parse_fact
from audit.grading import (
    ABSTAINED,
    CORRECT,
    GRADES,
    INCORRECT,
    Grader,
    GraderConfig,
    iter_dates,
    iter_numbers,
    kind_of,
    loose,
)

CASES = Path(__file__).parent.parent / "fixtures" / "grading_cases.jsonl"


def _cases() -> list[dict]:
    return [orjson.loads(line) for line in CASES.read_bytes().splitlines() if line.strip()]


#: Every rule of the slot, type, number and spelling families has hand-decided cases (the
#: ``rule`` field), in other phrasings, relations and languages than the real answers showed.
RULES = (
    "echo", "restated-hit", "question-only", "type-filter", "noun-phrase", "number-words",
    "grouped-not-year", "of-not-year", "decimal-comma", "percent", "version", "code", "decade",
    "century", "slot-number", "apostrophe", "hyphen", "settlement", "answer-type", "kind",
    "region", "relative-clause", "restated-contradiction", "spoken-year", "alias", "range-span",
    "number-alias", "unit", "conversion", "organisation", "kind-of-name", "formula", "hyphen-fragment",
)  # fmt: skip


def test_case_table_is_big_and_balanced() -> None:
    rows = _cases()
    assert len(rows) >= 60
    assert {r["grade"] for r in rows} == set(GRADES)
    assert len({(r["fact"]["id"], r["answer"]) for r in rows}) == len(rows)
    covered = {r.get("rule") for r in rows}
    assert set(RULES) <= covered, set(RULES) - covered
    for rule in RULES:  # each rule both fires and holds back somewhere
        grades = {r["grade"] for r in rows if r.get("rule") == rule}
        assert len(grades) >= 2 or rule in ("apostrophe", "hyphen", "of-not-year", "answer-type"), rule


@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"{c['fact']['id']}|{c['answer'][:40]}")
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_grading_table(case: dict, fast: bool) -> None:
    fact = parse_fact(case["fact"], "case", 1)
    got = Grader(fast=fast).grade(fact, case["answer"])
    assert (got.grade, got.reason) == (case["grade"], case["reason"]), case["note"]


PARIS = Fact(
    "capital/france", "France", "capital", "Paris", question="What is the capital of France?"
)


def test_abstain_flag_wins() -> None:
    assert Grader().grade(PARIS, "Paris", abstain=True).reason == "flag"


def test_fuzzy_zero_disables() -> None:
    assert Grader(GraderConfig(fuzzy=0)).grade(PARIS, "Pariss").grade == INCORRECT
    assert Grader(GraderConfig(fuzzy=95)).grade(PARIS, "Pariss").grade == INCORRECT  # 90.9 < 95


def test_extra_abstain_pattern() -> None:
    g = Grader(GraderConfig(abstain_patterns=(r"\[no answer\]",)))
    got = g.grade(PARIS, "[NO ANSWER]")
    assert (got.grade, got.reason) == (ABSTAINED, "pattern:1")
    # the user's own pattern decides before any value the answer holds, on both paths
    for fast in (True, False):
        got = Grader(g.config, fast=fast).grade(PARIS, "[no answer] Paris")
        assert (got.grade, got.reason, got.matched) == (ABSTAINED, "pattern:1", "[no answer]")
        assert Grader(g.config, fast=fast).grade(PARIS, "Lyon [no answer]").reason == "pattern:1"


def test_bad_abstain_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="abstain-pattern"):
        Grader(GraderConfig(abstain_patterns=("(",)))


def test_matched_text_is_from_the_raw_answer() -> None:
    assert Grader().grade(PARIS, "It is Paris, obviously.").matched == "Paris"
    assert Grader().grade(PARIS, "Paris or Lyon").matched == "Paris | Lyon"


@pytest.mark.parametrize(
    ("obj", "kind", "value"),
    [
        ("Paris", "name", None),
        ("Apollo 11", "name", None),
        ("1,000", "number", 1000.0),
        ("8,849 m", "number", 8849.0),
        ("1.5 million", "number", 1.5e6),
        ("$2,500", "number", 2500.0),
        ("1879", "year", (1879, None, None)),
        ("44 BC", "year", (-44, None, None)),
        ("March 1974", "date", (1974, 3, None)),
        ("1 March 1974", "date", (1974, 3, 1)),
        ("1974-03-01", "date", (1974, 3, 1)),
    ],
)
def test_kind_of(obj: str, kind: str, value: object) -> None:
    assert kind_of(Fact("x", "s", "r", obj)) == (kind, value)


def test_number_and_date_scanners() -> None:
    assert [
        v for _, _, v in iter_numbers("1,000 and 1000 and 2.5 million, COVID-19, twenty-one")
    ] == [
        1000.0,
        1000.0,
        2.5e6,
        21.0,
    ]
    assert [r for _, _, r in iter_dates("March 1, 1974; 1 March 1974; 1974-03-01")] == [
        ((1974, 3, 1),)
    ] * 3
    assert [r for _, _, r in iter_dates("03/04/2001")] == [((2001, 3, 4), (2001, 4, 3))]
    assert loose("Washington, D.C.") == "washington d c"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_a_grade(answer: str) -> None:
    for fact in (PARIS, Fact("y", "X", "founded", "1879"), Fact("n", "X", "height", "1,083 ft")):
        got = Grader().grade(fact, answer)
        assert got.grade in GRADES


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_numbers_compare_as_numbers(n: int) -> None:
    fact = Fact("n", "X", "count", f"{n:,}")
    assert Grader().grade(fact, f"It is {n}.").grade == CORRECT
    assert Grader().grade(fact, f"It is {n + 1}.").grade == INCORRECT


def test_long_s_month_is_september() -> None:
    """The month regexes are case-insensitive, where re.I matches "ſ" with "s": "ſep 5, 1900" is
    a date (it raised KeyError), on the fast and the reference paths."""
    fact = Fact("d/x", "X", "birth_date", "September 5, 1900")
    for g in (Grader(), Grader(fast=False)):
        got = g.grade(fact, "ſep 5, 1900")
        assert (got.grade, got.reason, got.matched) == (CORRECT, "date", "ſep 5, 1900")
        assert g.grade(fact, "ſEPT. 6, 1900").reason == "wrong-value"
