"""Grades, the grader's configuration, and the items an answer is scanned into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

CORRECT, INCORRECT, ABSTAINED = "correct", "incorrect", "abstained"
GRADES: tuple[str, ...] = (CORRECT, INCORRECT, ABSTAINED)

#: Default ``fuzzy`` threshold: "Canbera"/"Canberra" 93.3 and "Pariss"/"Paris" 90.9 pass,
#: "Austria"/"Australia" (87.5) and "Rome"/"Roma" (75) do not.
DEFAULT_FUZZY = 90.0


# Item status while grading one answer.
_HIT, _PARTIAL, _OTHER = 0, 1, 2


_FLAG = (ABSTAINED, "flag", None)
_EMPTY = (ABSTAINED, "empty", None)
_NO_CANDIDATE = (ABSTAINED, "no-candidate", None)
_MISSING: Any = object()
_NO_INDICES: frozenset[int] = frozenset()


Date = tuple[int | None, int | None, int | None]


@dataclass(slots=True, frozen=True)
class Grade:
    """One answer's grade (one of ``GRADES``), the rule that fired, the text it fired on."""

    grade: str
    reason: str
    matched: str | None = None


#: The version of the grading rules, part of ``GraderConfig.id``. Raise it with any change that
#: can change a grade, so that two reports with the same id were graded alike and a CI baseline
#: graded by other rules is pointed out (``outputs --baseline``). 2: regions of a continent, codes,
#: restated contradictions, spoken years, the user's abstain patterns deciding first. 3: numeric
#: aliases and units, unit definitions, organisations, regions and non-codes as the wrong type,
#: hyphen fragments, an echo needs the question's word in the slot, the question said twice.
RULES = "grader/3"


@dataclass(frozen=True)
class GraderConfig:
    """Everything that changes a grade. ``id`` goes into every report.

    ``fuzzy``: rapidfuzz ratio (0-100) above which a misspelled name counts as the reference;
    0 disables fuzzy matching. ``abstain_patterns``: extra regexes (Python syntax, matched with
    ``re.search`` on the normalised answer) that mark an abstention, like ``ABSTAIN_PHRASES``.
    """

    fuzzy: float = DEFAULT_FUZZY
    abstain_patterns: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        blob = repr((RULES, float(self.fuzzy), self.abstain_patterns)).encode()
        return "grader-" + hashlib.sha256(blob).hexdigest()[:12]

    def describe(self) -> dict:
        return {
            "id": self.id,
            "rules": RULES,
            "fuzzy": float(self.fuzzy),
            "abstain_patterns": list(self.abstain_patterns),
        }


@dataclass(slots=True)
class _Item:
    start: int
    end: int
    status: int
    text: str
    how: str = "match"
    readings: tuple[Date, ...] = ()


def _start(it: _Item) -> int:
    return it.start
