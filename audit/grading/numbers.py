"""Numbers, dates and years in text, and the kind of answer a reference object asks for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from audit.facts import Fact
from audit.grading.core import _HIT, _OTHER, _PARTIAL, Date, _Item

_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    # the month regexes are case-insensitive, and re.I matches the long s with s: "ſep" is
    # September ("ſep 5, 1900" raised KeyError here)
    "ſep": 9,
}
_ORD = r"(?:st|nd|rd|th)?"
_ERA = r"(?:\s*(?P<{}>B\.?C\.?E?\.?|A\.?D\.?|C\.?E\.?)(?![\w]))?"
_DATE_START = r"(?<!\w)(?<![^\W\d_]-)"
# The branches without a month: a year-month-day, a slash date, a year with an era, a year.
_ISO_DATE = r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?!\d)"
_SLASH_DATE = r"(?P<sa>\d{1,2})[/.](?P<sb>\d{1,2})[/.](?P<sy>\d{4})(?!\d)"
_ERA_YEAR = r"(?P<y6>\d{1,4})\s*(?P<e6>B\.?C\.?E?\.?|A\.?D\.?|C\.?E\.?)(?![\w])"
_PLAIN_YEAR = r"(?P<y7>1\d{3}|20\d{2}|2100)(?![\w]|[.,]\d)"
#: The lookahead first: every branch starts with a digit or a month's first letter, and sre
#: tries each position of a search against the whole alternation otherwise.
_DATE = re.compile(
    rf"""(?=[\dadfjmnos]){_DATE_START}(?:
      {_ISO_DATE}
    | {_SLASH_DATE}
    | (?P<m1>{_MON})\.?\s+(?P<d1>\d{{1,2}}){_ORD},?\s+(?P<y1>\d{{1,4}})(?![\d:]){_ERA.format("e1")}
    | (?P<d2>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m2>{_MON})\.?,?\s+(?P<y2>\d{{1,4}})(?![\d:])
      {_ERA.format("e2")}
    | (?P<m3>{_MON})\.?,?\s+(?:of\s+)?(?P<y3>\d{{4}})(?!\d)
    | (?P<m4>{_MON})\.?\s+(?P<d4>\d{{1,2}}){_ORD}(?![\d:\w])
    | (?P<d5>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m5>{_MON})(?![\w])
    | {_ERA_YEAR}
    | {_PLAIN_YEAR}
    )""",
    re.I | re.X,
)
#: ``_DATE`` without its month branches, for a text with no month in it (``_may_name_month``):
#: at each position the branches left are tried in the same order, so it finds the same
#: matches, and it tries only positions with a digit.
_DATE_NO_MONTH = re.compile(
    rf"(?=\d){_DATE_START}(?:{_ISO_DATE}|{_SLASH_DATE}|{_ERA_YEAR}|{_PLAIN_YEAR})", re.I
)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
#: Digits: thousands groups ("1,000"), a decimal point, or a decimal comma where it cannot be a
#: group ("3,14", "1,5 million": one, two or four-plus digits after it, and no group before).
_NUMBER = re.compile(
    r"(?=\d)(?<![\w.,])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+|,(?:\d{1,2}|\d{4,})(?!\d))?"
    r"(?:st|nd|rd|th)?(?:\s*(?P<scale>thousand|million|billion|trillion)\b)?(?![\w]|[.,]\d)",
    re.I,
)
_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNITS = _UNIT_WORDS.split()
_TENS = _TEN_WORDS.split()
_WORD_VALUES = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SCALE_WORDS = "thousand|million|billion|trillion"


def _alt(words: list[str]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"


# The grammar of written numbers: 0-99 ("twenty-one"), then hundreds ("two hundred and five"),
# then scale words ("one million two hundred thousand"); "a hundred", "a thousand".
_SMALL = rf"(?:{_alt(_TENS)}(?:[- ]{_alt(_UNITS[1:10])})?|{_alt(_UNITS)})"
_HUNDREDS = rf"(?:(?:{_SMALL}|a)\s+hundred\b(?:\s+(?:and\s+)?{_SMALL})?|{_SMALL})"
_NUMBER_WORD = re.compile(
    rf"\b(?:{_HUNDREDS}|a(?=\s+(?:{_SCALE_WORDS})\b))"
    rf"(?:\s+(?:{_SCALE_WORDS})\b(?:,?\s+(?:and\s+)?{_HUNDREDS})?)*(?!\s+of\b)",
    re.I,
)
#: A year said as words: "nineteen eighty-four", "sixteen thirty-six", "twenty twenty",
#: "nineteen oh five", "eighteen hundred (and twelve)", "two thousand and five" (1000-2099).
_SPOKEN_YEAR = re.compile(
    rf"\b(?:(?P<c>{_alt(_UNITS[10:20] + ['twenty'])})[\s-]+(?:"
    rf"(?P<h>hundred)\b(?:\s+(?:and\s+)?(?P<hy>{_SMALL}))?"
    rf"|o(?:h)?[\s-]+(?P<o>{_alt(_UNITS[1:10])})"
    rf"|(?P<y>{_alt(_TENS)}(?:[- ]{_alt(_UNITS[1:10])})?|{_alt(_UNITS[10:20])}))"
    rf"|two[\s-]+thousand\b(?:,?\s+(?:and\s+)?(?P<t>{_SMALL}))?)",
    re.I,
)
#: Every text ``_SPOKEN_YEAR`` matches contains one of these.
_SPOKEN_KEY = re.compile("teen|ten|eleven|twelve|twenty|thousand", re.I)


def may_speak_year(text: str) -> bool:
    """``_SPOKEN_KEY.search(text)``; for ASCII text (where re.I is lower()) substring tests."""
    if not text.isascii():
        return _SPOKEN_KEY.search(text) is not None
    lo = text.lower()
    return "ten" in lo or "teen" in lo or "eleven" in lo or "twelve" in lo or "twenty" in lo or "thousand" in lo


def iter_spoken_years(text: str) -> list[tuple[int, int, tuple[Date, ...]]]:
    """(start, end, readings) of every year said as words (``_SPOKEN_YEAR``)."""
    if not may_speak_year(text):
        return []
    out: list[tuple[int, int, tuple[Date, ...]]] = []
    for m in _SPOKEN_YEAR.finditer(text):
        if m.group("c"):
            rest = m.group("hy") if m.group("h") else m.group("o") or m.group("y")
            year = int(_words_value(m.group("c"))) * 100 + (int(_words_value(rest)) if rest else 0)
        else:
            year = 2000 + (int(_words_value(m.group("t"))) if m.group("t") else 0)
        out.append((m.start(), m.end(), ((year, None, None),)))
    return out


#: Words before a year that make it a point in time, not a count ("as of 2020"). "of" is not
#: one: "a population of 1,500" and "a total of 2000" are counts.
_YEAR_CONTEXT = re.compile(r"\b(?:in|as of|since|by|until|from|during|circa|c\.|around)\s*$", re.I)
#: Decades and centuries ("the 1940s", "the 19th century", "5th century BC"): a range of years.
_YEAR_RANGE = re.compile(
    r"(?<![\w'’])(?:(?P<dec>1\d{2}0|20\d0)['’]?s\b"
    r"|(?P<cent>\d{1,2})(?:st|nd|rd|th)[\s-]+century\b(?:\s*(?P<era>B\.?C\.?E?\.?|A\.?D\.?|C\.?E\.?)(?!\w))?)",
    re.I,
)
#: Every text ``_YEAR_RANGE`` matches has one of these.
_YEAR_RANGE_KEY = re.compile(r"\d['’]?s\b|centur", re.I)
#: Its first branch for an ASCII text (\d is [0-9], re.I on "s" is [sS]): a pattern that opens
#: with a character set, which sre skips to, where the alternation tries every position.
_ASCII_DECADE_KEY = re.compile(r"[0-9]['’]?[sS]\b")


def may_hold_year_range(text: str) -> bool:
    """``_YEAR_RANGE_KEY.search(text)``, for an ASCII text by a substring test and
    ``_ASCII_DECADE_KEY``."""
    if text.isascii():
        return "centur" in text.lower() or _ASCII_DECADE_KEY.search(text) is not None
    return _YEAR_RANGE_KEY.search(text) is not None
#: "45%", "45 percent": a share, never a count.
_PERCENT_AFTER = re.compile(r"\s*(?:%|per\s?cent\b)", re.I)
_REF_NUMBER = re.compile(
    r"^[\s$€£¥~≈]*(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion)\b)?(?P<rest>[^\d]*)$",
    re.I,
)


def _int_value(m: re.Match[str]) -> float:
    value = float(m.group("int").replace(",", "") + (m.group("frac") or "").replace(",", "."))
    scale = m.group("scale")
    return value * _SCALE[scale.lower()] if scale else value


def _same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def _era_year(year: str, era: str | None) -> int:
    y = int(year)
    return -y if era and era.upper().startswith("B") else y


def _month(text: str) -> int:
    return _MONTHS[text[:3].lower()]


def _valid(d: Date) -> bool:
    _, m, day = d
    return (m is None or 1 <= m <= 12) and (day is None or 1 <= day <= 31)


def iter_dates(text: str) -> Iterable[tuple[int, int, tuple[Date, ...]]]:
    """(start, end, readings) of every date, day-month, month-year and year in ``text``.

    A date has one reading, except slash dates ("03/01/1974"), which have the US and the
    European one. Years said as words ("sixteen thirty-six") are years too.
    """
    spoken = iter_spoken_years(text)
    if spoken:
        yield from sorted([*_digit_dates(text), *spoken])
    else:
        yield from _digit_dates(text)


def _digit_dates(text: str) -> Iterable[tuple[int, int, tuple[Date, ...]]]:
    for m in _DATE.finditer(text):
        g = m.group
        readings: tuple[Date, ...]
        if g("iy"):
            readings = ((int(g("iy")), int(g("im")), int(g("id"))),)
        elif g("sy"):
            a, b, y = int(g("sa")), int(g("sb")), int(g("sy"))
            readings = tuple(dict.fromkeys([(y, a, b), (y, b, a)]))
        elif g("m1"):
            readings = ((_era_year(g("y1"), g("e1")), _month(g("m1")), int(g("d1"))),)
        elif g("m2"):
            readings = ((_era_year(g("y2"), g("e2")), _month(g("m2")), int(g("d2"))),)
        elif g("m3"):
            readings = ((int(g("y3")), _month(g("m3")), None),)
        elif g("m4"):
            readings = ((None, _month(g("m4")), int(g("d4"))),)
        elif g("m5"):
            readings = ((None, _month(g("m5")), int(g("d5"))),)
        elif g("y6"):
            readings = ((_era_year(g("y6"), g("e6")), None, None),)
        else:
            readings = ((int(g("y7")), None, None),)
        readings = tuple(r for r in readings if _valid(r))
        if readings:
            yield m.start(), m.end(), readings


def _may_name_month(text: str) -> bool:
    """Whether an ASCII text holds the first three letters of a month (every match of ``_MON``
    starts with them; re.I on ASCII text is lower())."""
    lo = text.lower()
    return (
        "jan" in lo or "feb" in lo or "mar" in lo or "apr" in lo or "may" in lo or "jun" in lo
        or "jul" in lo or "aug" in lo or "sep" in lo or "oct" in lo or "nov" in lo or "dec" in lo
    )  # fmt: skip


def _dates_fast(text: str) -> list[tuple[int, int, tuple[Date, ...]]]:
    """``list(iter_dates(text))``: one ``groups()`` tuple a match instead of named lookups, the
    validity test only where a month or day was read from digits, and ``_DATE_NO_MONTH`` for
    an ASCII text with no month in it."""
    if text.isascii() and not _may_name_month(text):
        return _dates_no_month(text)
    out = []
    for m in _DATE.finditer(text):
        iy, im, id_, sa, sb, sy, m1, d1, y1, e1, d2, m2, y2, e2, m3, y3, m4, d4, d5, m5, y6, e6, y7 = (
            m.groups()
        )
        readings: tuple[Date, ...] | None
        if y7 or iy or sy:
            readings = _numeric_date(iy, im, id_, sa, sb, sy, y7)
            if readings is None:
                continue
        elif m1:
            d = int(d1)
            if not 1 <= d <= 31:
                continue
            readings = ((_era_year(y1, e1), _MONTHS[m1[:3].lower()], d),)
        elif m2:
            d = int(d2)
            if not 1 <= d <= 31:
                continue
            readings = ((_era_year(y2, e2), _MONTHS[m2[:3].lower()], d),)
        elif m3:
            readings = ((int(y3), _MONTHS[m3[:3].lower()], None),)
        elif m4:
            d = int(d4)
            if not 1 <= d <= 31:
                continue
            readings = ((None, _MONTHS[m4[:3].lower()], d),)
        elif m5:
            d = int(d5)
            if not 1 <= d <= 31:
                continue
            readings = ((None, _MONTHS[m5[:3].lower()], d),)
        else:
            readings = ((_era_year(y6, e6), None, None),)
        out.append((m.start(), m.end(), readings))
    return out


def _dates_no_month(text: str) -> list[tuple[int, int, tuple[Date, ...]]]:
    """``_dates_fast`` of a text where no month branch of ``_DATE`` can match."""
    out = []
    for m in _DATE_NO_MONTH.finditer(text):
        iy, im, id_, sa, sb, sy, y6, e6, y7 = m.groups()
        readings: tuple[Date, ...] | None
        if y7 or iy or sy:
            readings = _numeric_date(iy, im, id_, sa, sb, sy, y7)
            if readings is None:
                continue
        else:
            readings = ((_era_year(y6, e6), None, None),)
        out.append((m.start(), m.end(), readings))
    return out


def _numeric_date(iy: str | None, im: str | None, id_: str | None, sa: str | None, sb: str | None,
                  sy: str | None, y7: str | None) -> tuple[Date, ...] | None:  # fmt: skip
    """The readings of a date ``_DATE`` matched in digits only (its groups ``y7``, the ISO
    ``iy-im-id_``, the slashed ``sa/sb/sy``), or None for one that is no valid date."""
    if y7:
        return ((int(y7), None, None),)
    if iy:
        mo, d = int(im or 0), int(id_ or 0)
        return ((int(iy), mo, d),) if 1 <= mo <= 12 and 1 <= d <= 31 else None
    a, b, y = int(sa or 0), int(sb or 0), int(sy or 0)
    return tuple(r for r in dict.fromkeys(((y, a, b), (y, b, a))) if _valid(r)) or None


def dates_and_spoken(text: str) -> list[tuple[int, int, tuple[Date, ...]]]:
    """``list(iter_dates(text))`` by ``_dates_fast``: the dates, and the years said as words."""
    found = _dates_fast(text) if (_ASCII_DIGIT if text.isascii() else _DIGIT).search(text) else []
    spoken = iter_spoken_years(text)
    return sorted([*found, *spoken]) if spoken else found


def iter_numbers(text: str) -> Iterable[tuple[int, int, float]]:
    """(start, end, value) of every number in ``text``: digits with optional thousands commas,
    a decimal point or an unambiguous decimal comma and a scale word ("1.5 million", "3,14"),
    and written numbers ("twenty-one", "two hundred and five", "one million")."""
    for m in _NUMBER.finditer(text):
        s = m.start()
        if s >= 2 and text[s - 1] == "-" and text[s - 2].isalpha():
            continue  # "COVID-19", "F-16": part of a name
        yield s, m.end(), _int_value(m)
    for m in _NUMBER_WORD.finditer(text):
        yield m.start(), m.end(), _words_value(m.group())


def _words_value(text: str) -> float:
    """The value of a written number that ``_NUMBER_WORD`` matched ("two hundred and five")."""
    total = current = 0.0
    for w in re.split(r"[\s,-]+", text.lower()):
        if w in _WORD_VALUES:
            current += _WORD_VALUES[w]
        elif w == "hundred":
            current = (current or 1.0) * 100
        elif w in _SCALE:
            total += (current or 1.0) * _SCALE[w]
            current = 0.0
    return total + current


def iter_year_ranges(text: str) -> Iterable[tuple[int, int, int, int]]:
    """(start, end, first year, last year) of every decade and century in ``text``.

    "the 1940s" is 1940-1949; a round hundred ("the 1800s") is read as the century 1800-1899;
    "the 19th century" covers both ways of counting it, 1800-1900.
    """
    for m in _YEAR_RANGE.finditer(text):
        if m.group("dec"):
            lo = int(m.group("dec"))
            hi = lo + (99 if lo % 100 == 0 else 9)
        else:
            n = int(m.group("cent"))
            if n == 0:
                continue
            lo, hi = (n - 1) * 100, n * 100
            era = m.group("era")
            if era and era.upper().startswith("B"):
                lo, hi = -hi, -lo
        yield m.start(), m.end(), lo, hi


def is_percent(text: str, end: int) -> bool:
    """Whether the number ending at ``end`` is a share ("45%", "45 per cent")."""
    return bool(_PERCENT_AFTER.match(text, end))


#: What may follow a reference number directly ("8849m", "21st"); other letters make a code.
_UNIT_SUFFIXES = frozenset("st nd rd th m km cm mm kg g mg t l ml s h k mi ft yd lb oz".split())
#: Outer marks that do not change what a reference object is ("1946." is a year).
_REF_TRAILING = " \t.,;:!?"
#: A trailing parenthetical remark of a reference ("1879 (Ulm)").
_REF_REMARK = re.compile(r"\s*\([^()]*\)$")


#: Units of measurement by their symbol: a number followed by one of these is a measurement in
#: that unit, and "8,849 feet" is not "8,849 m". ("in" for inches is left out: it is a
#: preposition far more often.)
_UNIT_NAMES = {
    "m": "m metre metres meter meters", "km": "km kilometre kilometres kilometer kilometers",
    "cm": "cm centimetre centimetres centimeter centimeters",
    "mm": "mm millimetre millimetres millimeter millimeters", "ft": "ft feet foot",
    "mi": "mi mile miles", "yd": "yd yard yards", "kg": "kg kilogram kilograms kilogramme kilogrammes",
    "g": "g gram grams gramme grammes", "lb": "lb lbs pound pounds", "oz": "oz ounce ounces",
    "l": "l litre litres liter liters", "ml": "ml millilitre millilitres milliliter milliliters",
    "s": "s sec second seconds", "min": "min minute minutes", "h": "h hr hrs hour hours",
    "c": "celsius centigrade", "f": "fahrenheit", "k": "kelvin",
}  # fmt: skip
UNITS: dict[str, str] = {w: sym for sym, names in _UNIT_NAMES.items() for w in names.split()}
_UNIT_AFTER = re.compile(r"\s*(?:°\s*)?([^\W\d_]+)\b")


def unit_at(text: str, end: int) -> str | None:
    """The unit (its symbol in ``UNITS``) of the number that ends at ``end``: the word right
    after it ("8,849 m", "29,032 feet", "8849m"), or None."""
    m = _UNIT_AFTER.match(text, end)
    return UNITS.get(m.group(1).lower()) if m else None


#: A unit's definition: one of a unit is so many of another ("1 meter (m) is equal to 3.28
#: feet", "one mile = 1.6 km"). Neither number is a measurement of anything asked about.
_CONVERSION = re.compile(
    r"(?<![\w.,])(?:1|one)\s*(?P<u1>[^\W\d_]+)\b(?:\s*\([^()]{1,16}\))?\s*"
    r"(?:=|equals|(?:is|are)\s+(?:equal|equivalent)\s+to|(?:is|are)\s+(?:about|approximately|roughly|around)|is)"
    r"\s*(?:about\s+|approximately\s+|roughly\s+|around\s+)?(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<u2>[^\W\d_]+)\b",
    re.I,
)


def conversions(text: str) -> list[tuple[int, int]]:
    """Spans of the unit definitions in ``text`` (``_CONVERSION``): "1 meter (m) is equal to
    3.6 feet", two different units of ``UNITS``."""
    out = []
    for m in _CONVERSION.finditer(text):
        u1, u2 = UNITS.get(m.group("u1").lower()), UNITS.get(m.group("u2").lower())
        if u1 is not None and u2 is not None and u1 != u2:
            out.append(m.span())
    return out


def number_refs(names: Iterable[str], value: float | None = None) -> tuple[tuple[float, str | None], ...]:
    """Each reference name that reads as a number (``_kind_of_text``: a number, or a plain
    year read as one), with its unit (``unit_at``): ("8,849 m", "29,032 feet") ->
    ((8849.0, "m"), (29032.0, "ft")). ``value``: the object's value as ``kind_of`` read it
    (first, whatever its text), or None."""
    out: list[tuple[float, str | None]] = []
    for i, name in enumerate(names):
        kind, v = _kind_of_text(name)
        if i == 0 and value is not None:
            kind, v = "number", value
        if kind == "year":
            kind, v = "number", float(v[0])
        if kind != "number":
            continue
        m = _REF_NUMBER.match(name.strip())
        unit = None
        if m is not None:
            end = m.end("scale") if m.group("scale") else m.end("frac") if m.group("frac") else m.end("int")
            unit = unit_at(name.strip(), end)
        if (v, unit) not in out:
            out.append((v, unit))
    return tuple(out)


def kind_of(fact: Fact) -> tuple[str, Any]:
    """The kind of answer a fact expects and its parsed value: ``("date", (y, m, d))``,
    ``("year", (y, None, None))``, ``("number", float)`` or ``("name", None)``.

    An ``answer_type`` of person, place, name or other makes it a name whatever the object
    looks like; number, date and year are taken when the object parses as one (a year read as
    a number for ``number``, a plain number read as a year for ``year`` and ``date``), else it
    is a name, compared as text. Without ``answer_type`` the object decides, after trailing
    punctuation and a trailing parenthetical remark are set aside; codes and versions ("MP-22",
    "4A", "1.2.1") and objects holding several values ("1914-1918") are names.
    """
    t = fact.answer_type
    if t in ("person", "place", "name", "other"):
        return "name", None
    kind, value = _kind_of_text(fact.object)
    if t is None or kind == t or (t == "date" and kind == "year"):
        return kind, value
    if t == "number" and kind == "year":
        return "number", float(value[0])
    if t in ("date", "year") and kind == "number" and value.is_integer() and abs(value) <= 9999:
        return "year", (int(value), None, None)
    return "name", None


def _kind_of_text(text: str) -> tuple[str, Any]:
    obj = text.strip()
    if not _DIGIT.search(obj):
        return "name", None
    core = obj if obj.isdigit() else _REF_REMARK.sub("", obj).strip(_REF_TRAILING) or obj
    if core.isdigit():
        y = int(core)
        if len(core) == 4 and 1000 <= y <= 2100:
            return "year", (y, None, None)
        return "number", float(y)
    dates = list(iter_dates(core))
    if len(dates) == 1 and dates[0][0] == 0 and dates[0][1] == len(core) and len(dates[0][2]) == 1:
        d = dates[0][2][0]
        if d[0] is not None:
            return ("year" if d[1] is None else "date"), d
    m = _REF_NUMBER.match(core)
    if m and len(m.group("rest").split()) <= 3:
        rest = m.group("rest")
        attached = rest[:1].isalpha() and rest.split()[0].lower() not in _UNIT_SUFFIXES
        if not attached:
            return "number", _int_value(m)
    return "name", None


def _kind_fast(fact: Fact) -> tuple[str, Any]:
    """``kind_of``, without the date regex for references like "12,345" and "March 1, 1974"."""
    if fact.answer_type is not None:
        return kind_of(fact)
    obj = fact.object.strip()
    if _REF_GROUPED.fullmatch(obj):
        return "number", float(obj.replace(",", ""))
    mdy = _REF_MDY.fullmatch(obj)
    if mdy:
        return "date", (int(mdy[3]), _MONTH_NUMBER[mdy[1]], int(mdy[2]))
    return kind_of(fact)


def _numbers_fast(text: str) -> list[tuple[int, int, float]]:
    """``list(iter_numbers(text))``, skipping each regex where it cannot match."""
    out = []
    if (_ASCII_DIGIT if text.isascii() else _DIGIT).search(text):
        for m in _NUMBER.finditer(text):
            s = m.start()
            if s >= 2 and text[s - 1] == "-" and text[s - 2].isalpha():
                continue
            out.append((s, m.end(), _int_value(m)))
    if text.isascii() and not _NUMBER_WORD_KEY.search(text.lower()):
        return out  # re.I on ASCII text: a number word is in the lowercased text
    for m in _NUMBER_WORD.finditer(text):
        out.append((m.start(), m.end(), _words_value(m.group())))
    return out


#: Every written number (``_NUMBER_WORD``) contains one of these: each word of its grammar
#: does. Narrow ones ("twel", "twen", not "twe"), so that "between" or "first" send no answer
#: through the number-word regex.
_NUMBER_WORD_KEY = re.compile(
    "zero|one|two|thr|four|five|fift|six|seven|eight|nine|ten|eleven|twel|twen|thirt|forty|hundred|thousand|illion"
)
#: A reference like "12,345" (``kind_of``: a number) and like "March 1, 1974" (a date).
_REF_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")
_REF_MDY = re.compile(
    r"(January|February|March|April|May|June|July|August|September|October|November|December)"
    r" ([1-9]|[12]\d|3[01]), ([12]\d{3})"
)
_MONTH_NUMBER = {
    name: _MONTHS[name[:3].lower()]
    for name in ("January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December")
}  # fmt: skip
_DIGIT = re.compile(r"\d")
#: ``_DIGIT`` for an ASCII text, where ``\d`` is [0-9]: a range, which sre tests faster than
#: the Unicode digit category.
_ASCII_DIGIT = re.compile(r"[0-9]")


def _date_status(ref: Date, cand: Date, year_only: bool) -> int:
    ry, rm, rd = ref
    cy, cm, cd = cand
    if year_only:
        if cy is None:
            return 3  # a day and month says nothing about a year: not a candidate
        return _HIT if cy == ry else _OTHER
    if cy is not None and cy != ry:
        return _OTHER
    if cm is not None and cm != rm:
        return _OTHER
    if cd is not None and rd is not None and cd != rd:
        return _OTHER
    # consistent with the reference at every stated part
    if cy is not None and cm is not None and (cd is not None or rd is None):
        return _HIT
    return _PARTIAL


def _join_partials(ref: Date, partials: list[_Item]) -> str | None:
    """A year (or month and year) and a day and month, each consistent, make the full date."""
    has_year = has_day = False
    for it in partials:
        for y, mo, d in it.readings:
            has_year |= y is not None
            has_day |= d is not None and mo is not None
    if has_year and has_day:
        return " ... ".join(it.text for it in partials)
    return None
