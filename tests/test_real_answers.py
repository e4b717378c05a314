"""Grading real model answers against hand labels, through the CLI.

fixtures/realdata/ holds 582 answers of SmolLM2-135M-Instruct to three relations, each labelled
correct / incorrect / abstained by reading it against its reference (provenance and labelling
rules: fixtures/README.md). Rows flagged disputable are left out. These sets are easy next to
answers of other models and free-form questions: the thresholds are a floor, not the goal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES, read_jsonl

REAL = FIXTURES / "realdata"
SETS = ("capitals", "elements", "births")


def _graded(cli, name: str, tmp: Path) -> tuple[list[dict], dict[str, str]]:
    grades = tmp / f"{name}.grades.jsonl"
    res = cli(
        "outputs", REAL / f"answers__smollm2__{name}.jsonl", "-r", REAL / f"refs__{name}.jsonl",
        "--grades", grades, "-q",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    labels = [r for r in read_jsonl(REAL / f"labels__smollm2__{name}.jsonl") if r.get("flag") != "disputable"]
    return labels, {g["id"]: g["grade"] for g in read_jsonl(grades)}


@pytest.mark.parametrize("name", SETS)
def test_hallucination_rate_matches_the_labels(cli, tmp_path: Path, name: str) -> None:
    labels, got = _graded(cli, name, tmp_path)
    assert len(got) == len(read_jsonl(REAL / f"answers__smollm2__{name}.jsonl"))
    n = len(labels)
    labelled = sum(r["label"] == "incorrect" for r in labels) / n
    graded = sum(got[r["id"]] == "incorrect" for r in labels) / n
    assert abs(graded - labelled) <= 0.01, (name, graded, labelled)


def test_agreement_with_the_labels(cli, tmp_path: Path) -> None:
    agree = total = 0
    misses = []
    for name in SETS:
        labels, got = _graded(cli, name, tmp_path)
        for r in labels:
            total += 1
            if got[r["id"]] == r["label"]:
                agree += 1
            else:
                misses.append((r["id"], r["label"], got[r["id"]]))
    assert total == 574  # 582 answers, 8 disputable
    assert agree / total >= 0.99, misses
