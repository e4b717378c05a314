"""What joins or cancels candidates: negations ("not Lyon") and alternatives ("Paris or Lyon")."""

from __future__ import annotations

import re

from audit.grading.core import _HIT, _OTHER, _Item

_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|\bnever|\bnor|n['’]t|\brather than|\binstead of|\bother than|\bmistaken for"
    r"|\bconfused with|\bcontrary to)\s*"
    r"(?:(?:just|simply|the|a|an|in|on|at|by|from)\s+)?[\"'“‘(]*$",
    re.I,
)
_NEGATION_AFTER = re.compile(
    r"[\"'”’)]*\s*(?:(?:is|was|are|were)\s+not\b(?!\s+only)|(?:isn['’]t|wasn['’]t)\b)", re.I
)
_PUNCT = r"[\s,;:.!?()\[\]\"'“”‘’*]*"
_LINK_OR = re.compile(
    rf"^{_PUNCT}(?:(?:or|nor|and/or|vs\.?|versus)(?:\s+(?:maybe|perhaps|possibly|probably|even|rather|else))?"
    rf"|(?:maybe|perhaps|possibly)|/|\|){_PUNCT}$",
    re.I,
)
_LINK_RANGE = re.compile(r"^\s*(?:-|–|—|to|until|through|till)\s*$", re.I)
_LINK_COMMA = re.compile(r"^\s*[,;]\s*$")
_BETWEEN = re.compile(r"\b(?:between|from)\s*$", re.I)


def _may_negate(lowered: str) -> bool:
    """Whether a lowercased ASCII text holds one of the strings that every text the two
    negation regexes match contains ("no", "ne", "n'", "rather", ...): substring tests, where
    a regex alternation would try every position."""
    s = lowered
    return (
        "no" in s or "ne" in s or "n'" in s or "rather" in s or "instead" in s or "other" in s
        or "mistaken" in s or "confused" in s or "contrary" in s
    )  # fmt: skip


def _negated(answer: str, start: int, end: int) -> bool:
    before = answer[max(0, start - 30) : start]
    if _NEGATION_BEFORE.search(before):
        return True
    return bool(_NEGATION_AFTER.match(answer, end, min(len(answer), end + 20)))


def _negated_fast(answer: str, start: int, end: int) -> bool:
    """``_negated``; in ASCII text, the (unanchored, slow) search before the item runs only
    where ``_may_negate`` finds a negation word there."""
    before = answer[max(0, start - 30) : start]
    if (not before.isascii() or _may_negate(before.lower())) and _NEGATION_BEFORE.search(before):
        return True
    return bool(_NEGATION_AFTER.match(answer, end, min(len(answer), end + 20)))


def _alternatives(answer: str, items: list[_Item]) -> str | None:
    """The text of a hit and another value joined as alternatives, or None.

    Neighbouring items are linked by an "or"-like connector, a range, or a comma; a chain of
    links is a set of alternatives when at least one link is "or"-like or a range. A chain
    linked only by a range is a span ("lasted from 1914 to 1918", "lived 1879-1955"), not
    alternatives, when the answer also states a hit outside it ("The war began in 1914").
    """
    if len(items) == 2:
        # the loops below for two items (most alternatives: "Paris or Lyon", "1879 or 1880"):
        # they are one group if linked, and then alternatives for an "or"-like link or a range
        a, b = items
        gap = answer[a.end : b.start]
        if (
            _LINK_OR.match(gap)
            or _LINK_RANGE.match(gap)
            or gap.strip().lower() == "and" and _BETWEEN.search(answer, 0, a.start)
        ):
            hit = a if a.status == _HIT else b if b.status == _HIT else None
            other = a if a.status == _OTHER else b if b.status == _OTHER else None
            if hit is not None and other is not None:
                return f"{hit.text} | {other.text}"
        return None
    groups: list[list[_Item]] = [[items[0]]]
    strong = [False]
    ranged = [False]
    for prev, it in zip(items, items[1:], strict=False):
        gap = answer[prev.end : it.start]
        between_and = gap.strip().lower() == "and" and _BETWEEN.search(answer, 0, prev.start)
        if _LINK_OR.match(gap):
            groups[-1].append(it)
            strong[-1] = True
        elif _LINK_RANGE.match(gap) or between_and:
            groups[-1].append(it)
            ranged[-1] = True
        elif _LINK_COMMA.match(gap):
            groups[-1].append(it)
        else:
            groups.append([it])
            strong.append(False)
            ranged.append(False)
    for k, (group, is_or, is_range) in enumerate(zip(groups, strong, ranged, strict=True)):
        if not (is_or or is_range):
            continue
        hit = next((it for it in group if it.status == _HIT), None)
        other = next((it for it in group if it.status == _OTHER), None)
        if hit is None or other is None:
            continue
        if not is_or and any(it.status == _HIT for j, g in enumerate(groups) if j != k for it in g):
            continue  # a span beside the stated value
        return f"{hit.text} | {other.text}"
    return None
