"""Dates in the formats corpora and model answers use, reduced to ISO strings.

"14 March 1879", "March 14, 1879", "14 Mar. 1879", "1879-03-14" -> "1879-03-14"; a lone year
-> "1879". Used by open extraction (so one birth date written two ways is one object) and by
answer grading (so "March 1, 1974" = "1 March 1974" = "1974-03-01").
"""

from __future__ import annotations

import re

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1\d{3}|20\d{2}|\d{1,3}(?=\s*(?:bc|bce|ad|ce)\b))"

#: One regex that finds a date anywhere (case-insensitive); named groups tell the layout.
DATE_RE = re.compile(
    rf"\b(?:(?P<d1>{_DAY})\s+(?:of\s+)?(?P<m1>{_MONTH}),?\s+(?P<y1>{_YEAR})"
    rf"|(?P<m2>{_MONTH})\s+(?P<d2>{_DAY}),?\s+(?P<y2>{_YEAR})"
    # longest alternatives first: a regex built on this one without the final \b ("born
    # 1936-08-17)") must not stop at the day's first digit
    rf"|(?P<y3>\d{{4}})-(?P<m3>1[0-2]|0?[1-9])-(?P<d3>[12]\d|3[01]|0?[1-9])"
    rf"|(?P<m4>{_MONTH})\s+(?P<y4>{_YEAR})"
    rf"|(?P<y5>{_YEAR}))\b",
    re.IGNORECASE,
)


def _month(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def _day(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def iso_from_match(m: re.Match[str]) -> str:
    """The ISO form of one ``DATE_RE`` match: YYYY-MM-DD, YYYY-MM or YYYY."""
    g = m.groupdict()
    if g["y1"]:
        return f"{int(g['y1']):04d}-{_month(g['m1']):02d}-{_day(g['d1']):02d}"
    if g["y2"]:
        return f"{int(g['y2']):04d}-{_month(g['m2']):02d}-{_day(g['d2']):02d}"
    if g["y3"]:
        return f"{int(g['y3']):04d}-{int(g['m3']):02d}-{int(g['d3']):02d}"
    if g["y4"]:
        return f"{int(g['y4']):04d}-{_month(g['m4']):02d}"
    return f"{int(g['y5']):04d}"


def parse_date(text: str) -> str | None:
    """ISO form of ``text`` if the whole string is one date, else None.

    >>> parse_date("March 14, 1879"), parse_date("14 March 1879"), parse_date("1879")
    ('1879-03-14', '1879-03-14', '1879')
    """
    m = DATE_RE.fullmatch(text.strip().rstrip("."))
    return iso_from_match(m) if m else None


def find_dates(text: str) -> list[str]:
    """ISO forms of every date stated in ``text``, in order."""
    return [iso_from_match(m) for m in DATE_RE.finditer(text)]


def compatible(a: str, b: str) -> bool:
    """Two ISO dates agree where both are specified: "1879" agrees with "1879-03-14"."""
    return a.startswith(b) or b.startswith(a)
