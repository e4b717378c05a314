"""Grading one model answer against one reference fact: correct, incorrect or abstained.

The three grades are SimpleQA's (OpenAI 2024): correct / incorrect / not attempted; here "not
attempted" is called *abstained*. Every grade carries the rule that fired (``reason``) and the
text of the answer it fired on (``matched``), so a surprising grade can be traced.

What kind of answer a fact expects is read from its object (``kind_of``):

- ``date``: a full date ("March 1, 1974", "1 March 1974", "1974-03-01") or a month and year;
- ``year``: a plain year 1000-2100, or a year with an era ("476 AD", "44 BC");
- ``number``: a number with an optional scale word and unit ("1,000", "8,849 m", "1.5 million");
- ``name``: everything else.

The rules, in the order they are tried:

1. ``abstained/flag``: the row says ``"abstain": true``. ``abstained/empty``: nothing but blanks
   and punctuation.
2. ``correct/exact``: the whole answer, normalised (``audit.normalize``) and stripped of outer
   punctuation, is the object or an alias.
3. The answer is scanned for *candidates* of the fact's kind, each classified as a hit (it is the
   reference value), a partial hit or another value:

   - names: the object or an alias occurring as whole words after normalisation (punctuation is a
     word break, so "Washington D.C." = "Washington, D.C."); other candidates are runs of
     capitalised words in the raw answer ("Lyon", "Bay of Bengal", "Apollo 13"), leaving out
     the subject's words, the question's words and a list of stop words (``STOP_WORDS``: function
     words, hedges, months, "AI"-style boilerplate). In an answer with no capital letter at all,
     runs of non-stop words are candidates instead. A hit inside a longer name ("Paris Hilton"
     for "Paris") is not a hit. A candidate made of the reference name's last words ("Einstein"
     for "Albert Einstein") is a hit (``surname``); one made of other words of it ("Albert") is
     a partial hit. With ``fuzzy`` > 0, a candidate whose ``rapidfuzz.fuzz.ratio`` with the object
     or an alias is >= ``fuzzy`` is a hit (``fuzzy``): "Canbera" for "Canberra" scores 93.3.
   - numbers: every number in the answer ("1,000" = "1000" = "one thousand" is not parsed, but
     "1 thousand", "twelve" and "twenty-one" are), compared as numbers; numbers that occur in
     the question or subject, and years after "in", "as of", "since" and the like, are not
     candidates.
   - dates and years: every date, month-and-year, day-and-month and year, compared as dates;
     "03/01/1974" matches if either the US or the European reading does. A year-only reference
     matches any date in that year; for a full-date reference, a consistent year (or month and
     year, or day and month) alone is a partial hit, and a year plus a day-and-month together
     is a hit.

   A candidate preceded by a negation ("not Lyon", "rather than 1880", "isn't Paris") or followed
   by "is not" is ignored; if the only hits are negated the answer is ``incorrect/negated``.
4. ``incorrect/contradiction``: a hit and another value joined as alternatives: "or", "nor",
   "/", "maybe", "perhaps", "possibly", "vs", a range ("1879-1880", "between 1000 and 2000",
   "1879 to 1880"), or a comma list containing one of them ("Paris, Lyon or Marseille").
   Other values that are not alternatives ("Paris, on the Seine"; "born 1879, died 1955")
   do not contradict.
5. ``correct/<how>``: a hit; ``how`` is ``match``, ``surname``, ``fuzzy``, ``number`` or ``date``
   (suffixed ``+hedged`` when an abstention phrase also fired: "I'm not sure, but Paris").
6. ``incorrect/wrong-value``: another value of the fact's kind, and no hit.
7. ``abstained/incomplete``: only partial hits (a year for a full date, "Albert" for "Albert
   Einstein"): the answer states part of the reference and nothing contradicting it, which is
   SimpleQA's "not attempted".
8. ``abstained/phrase:<label>``: a refusal or "I don't know"-style phrase (``ABSTAIN_PHRASES``,
   extended with ``GraderConfig.abstain_patterns``, reported as ``pattern:<i>``).
9. ``abstained/no-candidate``: the answer states no candidate of the fact's kind at all: it
   restates the question or describes the subject ("France is a country in Western Europe" has
   the candidate "Western Europe", so it is *incorrect*; "The capital of France is a beautiful
   city" has none).

Known limits, by design: a wrong answer that also mentions the right value without an
alternative connector ("The capital is Lyon. Paris is the largest city") is graded correct;
proper nouns that merely describe the subject count as candidates of a name.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from audit.errors import ConfigError
from audit.facts import Fact
from audit.normalize import normalize

CORRECT, INCORRECT, ABSTAINED = "correct", "incorrect", "abstained"
GRADES: tuple[str, ...] = (CORRECT, INCORRECT, ABSTAINED)

#: Default ``fuzzy`` threshold: "Canbera"/"Canberra" 93.3 and "Pariss"/"Paris" 90.9 pass,
#: "Austria"/"Australia" (87.5) and "Rome"/"Roma" (75) do not.
DEFAULT_FUZZY = 90.0

#: Refusal and "I don't know" phrases, matched on the normalised answer. Label -> regex.
ABSTAIN_PHRASES: dict[str, str] = {
    "dont-know": r"\b(?:i (?:do not|don['’]?t|dont) know|idk|do not know|don['’]?t know|no idea)\b",
    "not-sure": r"\b(?:not|n['’]t) (?:\w+ )?(?:sure|certain)\b|\bunsure\b",
    "cannot": (
        r"\b(?:can ?not|can['’]?t|unable to|not able to|won['’]?t|will not|could ?n['’]?t"
        r"|could not) (?:answer|say|determine|provide|tell|confirm|verify|find|know|help|recall"
        r"|remember|locate|be determined|be sure|be certain)\b"
    ),
    "no-information": (
        r"\b(?:no|not enough|insufficient|(?:don['’]?t|do not|does not|doesn['’]?t) have"
        r"(?: any| enough| reliable| specific| access to| that| this| the| such)?)"
        r" (?:information|data|knowledge|details"
        r"|records?|reliable information|real-time)\b"
    ),
    "as-an-ai": r"\bas an? (?:ai|language model|assistant)\b",
    "unknown": (
        r"^(?:unknown|n/?a|none|no answer|no comment|pass|abstain|skip|unanswerable)\W*$"
        r"|\b(?:is|are|was|were|remains?) (?:unknown|not known|unclear|uncertain|not documented"
        r"|not (?:publicly )?available)\b"
    ),
    "apology": r"^(?:i['’]?m sorry|i am sorry|sorry|i apologi[sz]e)\b",
    "decline": r"\bi (?:abstain|decline|pass|refuse)\b|\bprefer not to\b",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words never counted as a candidate name (compared lowercased, accent-free).
STOP_WORDS: frozenset[str] = _words(
    """
    a an the this that these those there here it its it's i me my we our you your he him his she
    her they them their one ones who whom whose what which when where why how whether
    is are was were be been being am do does did done has have had having will would shall should
    can could may might must not no nor or and but if then than so because as of in on at to from
    by with without about into over under between through during before after above below up
    down out off again further once also too very just only even still yet ever never always
    however although though while both either neither each every all any some such other another
    same own more most less least many much few several

    yes ok okay well sure certainly indeed actually basically essentially honestly clearly note
    answer answers question questions final response correct incorrect true false
    probably possibly perhaps maybe likely unlikely presumably apparently think thought believe
    believed guess guessed assume suppose seems seem seemed appear appears unsure uncertain known
    unknown idk sorry apologize apologies unfortunately hello hi dear thanks thank please consult
    check refer according based located situated called named considered regarded widely
    generally commonly officially formerly currently today now

    capital city cities country countries nation state states province region town village
    place river lake sea ocean mountain island continent world capital's population people
    person year years date day month number name title author founder president king queen
    language currency official largest biggest smallest oldest famous best first last

    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday

    ai assistant chatbot model language llm gpt chatgpt openai google wikipedia britannica
    information knowledge data cutoff training update
    """
)

#: Lowercase words that may join capitalised words into one name ("Bay of Bengal").
_PARTICLES = _words(
    "of the de da del della di do dos das du la le les von van der den y al el ibn bin"
)
#: Capitalised nouns that make a new place name out of a subject's name ("Belize City").
_PLACE_NOUNS = _words("city town port bay island islands cape fort lake river")
#: Short tokens followed by "." that do not end a sentence ("St. Petersburg", "D.C.").
_ABBREV = _words("st mt ft dr jr sr mr mrs ms prof gen col lt sgt rev fr")

_TOKEN = re.compile(r"[^\W_]+")  # [^\W_] is str.isalnum
_OUTER_PUNCT = " \t.!?,;:\"'`*_()[]{}<>“”‘’«»-–—"
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
#: In an ASCII answer, every text the two negation regexes match contains one of these.
_NEG_KEY = re.compile(r"n[oe']|rather|instead|other|mistaken|confused|contrary")
#: In an ASCII string, ``_TOKEN`` is this; the split form keeps the gaps between tokens.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")
_ASCII_SPLIT = re.compile(r"([A-Za-z0-9]+)")

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
}
_ORD = r"(?:st|nd|rd|th)?"
_ERA = r"(?:\s*(?P<{}>B\.?C\.?E?\.?|A\.?D\.?|C\.?E\.?)(?![\w]))?"
#: The lookahead first: every branch starts with a digit or a month's first letter, and sre
#: tries each position of a search against the whole alternation otherwise.
_DATE = re.compile(
    rf"""(?=[\dadfjmnos])(?<!\w)(?<![^\W\d_]-)(?:
      (?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})(?!\d)
    | (?P<sa>\d{{1,2}})[/.](?P<sb>\d{{1,2}})[/.](?P<sy>\d{{4}})(?!\d)
    | (?P<m1>{_MON})\.?\s+(?P<d1>\d{{1,2}}){_ORD},?\s+(?P<y1>\d{{1,4}})(?![\d:]){_ERA.format("e1")}
    | (?P<d2>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m2>{_MON})\.?,?\s+(?P<y2>\d{{1,4}})(?![\d:])
      {_ERA.format("e2")}
    | (?P<m3>{_MON})\.?,?\s+(?:of\s+)?(?P<y3>\d{{4}})(?!\d)
    | (?P<m4>{_MON})\.?\s+(?P<d4>\d{{1,2}}){_ORD}(?![\d:\w])
    | (?P<d5>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m5>{_MON})(?![\w])
    | (?P<y6>\d{{1,4}})\s*(?P<e6>B\.?C\.?E?\.?|A\.?D\.?|C\.?E\.?)(?![\w])
    | (?P<y7>1\d{{3}}|20\d{{2}}|2100)(?![\w]|[.,]\d)
    )""",
    re.I | re.X,
)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"(?=\d)(?<![\w.,])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?:st|nd|rd|th)?"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion)\b)?(?![\w]|[.,]\d)",
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
_NUMBER_WORD = re.compile(
    rf"\b(?P<w>{'|'.join(_TENS + _UNITS[::-1])})(?:[- ](?P<u>{'|'.join(_UNITS[9:0:-1])}))?"
    r"(?:\s+(?P<scale>hundred|thousand|million|billion)\b)?\b(?!\s+of\b)",
    re.I,
)
_YEAR_CONTEXT = re.compile(
    r"\b(?:in|as of|since|by|until|from|during|circa|c\.|around|of)\s*$", re.I
)
_REF_NUMBER = re.compile(
    r"^[\s$€£¥~≈]*(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion)\b)?(?P<rest>[^\d]*)$",
    re.I,
)

# Item status while grading one answer.
_HIT, _PARTIAL, _OTHER = 0, 1, 2

#: Capitalised words that never start a candidate of their own: particles (trimmed from a
#: range's ends) and stop words that are not place nouns (which could make "Belize City").
_INERT = _PARTICLES | (STOP_WORDS - _PLACE_NOUNS)
_INFO_CACHE = 4096  # facts whose set-up a Grader keeps
_FLAG = (ABSTAINED, "flag", None)
_EMPTY = (ABSTAINED, "empty", None)
_NO_CANDIDATE = (ABSTAINED, "no-candidate", None)
_MISSING: Any = object()
_NO_INDICES: frozenset[int] = frozenset()


@dataclass(slots=True, frozen=True)
class Grade:
    """One answer's grade (one of ``GRADES``), the rule that fired, the text it fired on."""

    grade: str
    reason: str
    matched: str | None = None


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
        blob = repr(("grader/1", float(self.fuzzy), self.abstain_patterns)).encode()
        return "grader-" + hashlib.sha256(blob).hexdigest()[:12]

    def describe(self) -> dict:
        return {
            "id": self.id,
            "fuzzy": float(self.fuzzy),
            "abstain_patterns": list(self.abstain_patterns),
        }


def _lo(token: str) -> str:
    return token.lower() if token.isascii() else normalize(token)


def loose(text: str) -> str:
    """Lowercased, accent-free words of ``text`` joined by single spaces; punctuation is a break.

    >>> loose("Washington, D.C.")
    'washington d c'
    """
    if text.isascii():
        return " ".join(_TOKEN.findall(text.lower()))
    return " ".join(_lo(t) for t in _TOKEN.findall(text))


def _int_value(m: re.Match[str]) -> float:
    value = float(m.group("int").replace(",", "") + (m.group("frac") or ""))
    scale = m.group("scale")
    return value * _SCALE[scale.lower()] if scale else value


def _same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


Date = tuple[int | None, int | None, int | None]


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
    European one.
    """
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


def _dates_fast(text: str) -> list[tuple[int, int, tuple[Date, ...]]]:
    """``list(iter_dates(text))``: one ``groups()`` tuple a match instead of named lookups, and
    the validity test only where a month or day was read from digits."""
    out = []
    for m in _DATE.finditer(text):
        iy, im, id_, sa, sb, sy, m1, d1, y1, e1, d2, m2, y2, e2, m3, y3, m4, d4, d5, m5, y6, e6, y7 = (
            m.groups()
        )
        readings: tuple[Date, ...]
        if y7:
            readings = ((int(y7), None, None),)
        elif iy:
            mo, d = int(im), int(id_)
            if not (1 <= mo <= 12 and 1 <= d <= 31):
                continue
            readings = ((int(iy), mo, d),)
        elif sy:
            a, b, y = int(sa), int(sb), int(sy)
            readings = tuple(
                r for r in dict.fromkeys(((y, a, b), (y, b, a))) if _valid(r)
            )
            if not readings:
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


def iter_numbers(text: str) -> Iterable[tuple[int, int, float]]:
    """(start, end, value) of every number in ``text``: digits with optional thousands commas,
    decimals and a scale word ("1.5 million"), and number words up to ninety-nine."""
    for m in _NUMBER.finditer(text):
        s = m.start()
        if s >= 2 and text[s - 1] == "-" and text[s - 2].isalpha():
            continue  # "COVID-19", "F-16": part of a name
        yield s, m.end(), _int_value(m)
    if text.isascii() and not any(c in text for c in "tTfFeEsSnNzZ"):
        return  # every number word contains one of these letters
    for m in _NUMBER_WORD.finditer(text):
        value = float(_WORD_VALUES[m.group("w").lower()])
        if m.group("u"):
            value += _WORD_VALUES[m.group("u").lower()]
        scale = m.group("scale")
        if scale:
            value *= 100.0 if scale.lower() == "hundred" else _SCALE[scale.lower()]
        yield m.start(), m.end(), value


def kind_of(fact: Fact) -> tuple[str, Any]:
    """The kind of answer a fact expects and its parsed value: ``("date", (y, m, d))``,
    ``("year", (y, None, None))``, ``("number", float)`` or ``("name", None)``."""
    obj = fact.object.strip()
    if not _DIGIT.search(obj):
        return "name", None
    if obj.isdigit():
        y = int(obj)
        if len(obj) == 4 and 1000 <= y <= 2100:
            return "year", (y, None, None)
        return "number", float(y)
    dates = list(iter_dates(obj))
    if len(dates) == 1 and dates[0][0] == 0 and dates[0][1] == len(obj) and len(dates[0][2]) == 1:
        d = dates[0][2][0]
        if d[0] is not None:
            return ("year" if d[1] is None else "date"), d
    m = _REF_NUMBER.match(obj)
    if m and len(m.group("rest").split()) <= 3:
        return "number", _int_value(m)
    return "name", None


def _kind_fast(fact: Fact) -> tuple[str, Any]:
    """``kind_of``, without the date regex for references like "12,345" and "March 1, 1974"."""
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
    if _DIGIT.search(text):
        for m in _NUMBER.finditer(text):
            s = m.start()
            if s >= 2 and text[s - 1] == "-" and text[s - 2].isalpha():
                continue
            out.append((s, m.end(), _int_value(m)))
    if text.isascii() and not _NUMBER_WORD_KEY.search(text.lower()):
        return out  # re.I on ASCII text: a number word is in the lowercased text
    for m in _NUMBER_WORD.finditer(text):
        value = float(_WORD_VALUES[m.group("w").lower()])
        if m.group("u"):
            value += _WORD_VALUES[m.group("u").lower()]
        scale = m.group("scale")
        if scale:
            value *= 100.0 if scale.lower() == "hundred" else _SCALE[scale.lower()]
        out.append((m.start(), m.end(), value))
    return out


#: Every built-in phrase contains one of these: a cheap test before the (slow) phrase regex.
_PHRASE_KEYS = (
    "know", "idk", "idea", "sure", "certain", "can", "able", "won", "will not", "could", "info",
    "data", "detail", "record", "real-time", "as a", "n/a", "none", "answer", "pass", "abstain",
    "skip", "unclear", "not ", "sorry", "apolog", "decline", "refuse", "prefer", "comment",
)  # fmt: skip


_PHRASE_KEY = re.compile("|".join(re.escape(k) for k in _PHRASE_KEYS))
#: For each built-in phrase, strings one of which every text it matches contains: the fast
#: path searches only the phrases whose strings occur (same alternatives, same order, so the
#: same leftmost match).
_PHRASE_LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "dont-know": ("know", "idk", "idea"),
    "not-sure": ("sure", "certain"),
    "cannot": ("can", "able", "won", "will not", "could"),
    "no-information": ("information", "data", "knowledge", "details", "record", "real-time"),
    "as-an-ai": ("as a",),
    "unknown": (
        "unknown", "n/a", "na", "none", "no answer", "no comment", "pass", "abstain", "skip",
        "unanswerable", "not known", "unclear", "uncertain", "not documented", "not available",
        "not publicly available",
    ),
    "apology": ("sorry", "apologi"),
    "decline": ("abstain", "decline", "pass", "refuse", "prefer not to"),
}  # fmt: skip
_PHRASE_LABEL_KEYS_T = tuple(_PHRASE_LABEL_KEYS.values())
_PHRASE_LABEL_RX = tuple(re.compile("|".join(map(re.escape, k))) for k in _PHRASE_LABEL_KEYS.values())
#: Every number word (``_NUMBER_WORD``) contains one of these.
_NUMBER_WORD_KEY = re.compile("zero|one|two|thr|four|fi|six|seven|eight|nine|ten|eleven|twe|thirt|forty")
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


def _compile_phrases(extra: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The built-in phrases as one regex, and the user's patterns as another (or None)."""
    parts = [f"(?P<p{i}>{rx})" for i, rx in enumerate(ABSTAIN_PHRASES.values())]
    user = []
    for i, rx in enumerate(extra):
        try:
            re.compile(rx)
        except re.error as exc:
            raise ConfigError(f"invalid --abstain-pattern {rx!r}: {exc}") from None
        user.append(f"(?P<u{i + 1}>(?:{rx}))")
    return re.compile("|".join(parts)), re.compile("|".join(user)) if user else None


class Grader:
    """Grades answers against facts under one ``GraderConfig``.

    >>> from audit.facts import Fact
    >>> g = Grader()
    >>> paris = Fact("capital/france", "France", "capital", "Paris")
    >>> g.grade(paris, "The capital of France is Paris.")
    Grade(grade='correct', reason='match', matched='Paris')
    >>> g.grade(paris, "Paris or Lyon").reason
    'contradiction'
    """

    def __init__(self, config: GraderConfig | None = None, *, fast: bool = True) -> None:
        self.config = config or GraderConfig()
        self.fast = fast
        self._phrases, self._user = _compile_phrases(self.config.abstain_patterns)
        self._labels = {f"p{i}": f"phrase:{k}" for i, k in enumerate(ABSTAIN_PHRASES)}
        self._labels |= {
            f"u{i + 1}": f"pattern:{i + 1}" for i in range(len(self.config.abstain_patterns))
        }
        self._fuzzy = float(self.config.fuzzy)
        self._ratio = None
        if self._fuzzy > 0:
            from rapidfuzz import fuzz

            self._ratio = fuzz.ratio
        self._infos: dict[str, _MatchInfo] = {}
        self._phrase_subsets: dict[tuple[int, ...], re.Pattern[str] | None] = {}

    def _phrase_search(self, norm: str) -> re.Match[str] | None:
        """``self._phrases.search(norm)``, compiled from only the phrases that can match."""
        mask = tuple(i for i, rx in enumerate(_PHRASE_LABEL_RX) if rx.search(norm))
        return self._phrase_subset(mask, norm)

    def _phrase_subset(self, mask: tuple[int, ...], norm: str) -> re.Match[str] | None:
        """The search of the phrases numbered in ``mask``, compiled once a mask."""
        rx = self._phrase_subsets.get(mask, _MISSING)
        if rx is _MISSING:
            phrases = list(ABSTAIN_PHRASES.values())
            rx = re.compile("|".join(f"(?P<p{i}>{phrases[i]})" for i in mask)) if mask else None
            self._phrase_subsets[mask] = rx
        return rx.search(norm) if rx is not None else None

    def _info(self, fact: Fact) -> _MatchInfo:
        info = self._infos.get(fact.id)
        if info is None or info.fact is not fact:
            if len(self._infos) >= _INFO_CACHE:
                self._infos.clear()
            info = self._infos[fact.id] = _MatchInfo(fact, self.fast)
        return info

    # -- entry points --------------------------------------------------------------------------
    def grade(self, fact: Fact, answer: str, *, abstain: bool = False) -> Grade:
        """Grade one answer (see the module docstring for the rules, in order)."""
        if not self.fast:
            return self._grade_reference(fact, answer, abstain)
        return Grade(*self.grade_fields(fact, answer, abstain))

    def grade_fields(
        self, fact: Fact, answer: str, abstain: bool = False
    ) -> tuple[str, str, str | None]:
        """``grade`` as a plain (grade, reason, matched) tuple, for loops over many answers."""
        if not self.fast:
            g = self._grade_reference(fact, answer, abstain)
            return g.grade, g.reason, g.matched
        if abstain:
            return _FLAG
        norm = normalize(answer)
        key = norm.strip(_OUTER_PUNCT)
        if not key or not (key[0].isalnum() or _TOKEN.search(key)):
            return _EMPTY
        obj = fact.object
        if key == obj.lower() and obj.isascii():
            # The answer is just the object: for an ASCII object, normalize(obj) is then
            # obj.lower() (key has nothing for it to collapse), so key is in m.exact.
            return CORRECT, "exact", answer.strip().strip(_OUTER_PUNCT)
        m = self._info(fact)
        if key in m.exact:
            return CORRECT, "exact", answer.strip().strip(_OUTER_PUNCT)
        kind = m.kind
        items: list[_Item] | None
        if kind == "name":
            items = self._name_items_fast(m, answer) if answer.isascii() else None
            if items is None:
                items = self._name_items(m, answer)
        elif kind == "number":
            items = self._number_items_fast(m, answer)
        elif _DIGIT.search(answer):
            items = self._date_items_fast(m, answer)
        else:
            items = []  # every date, day-month and year has a digit
        return self._decide_fast(m, answer, norm, items)

    def _grade_reference(self, fact: Fact, answer: str, abstain: bool) -> Grade:
        """The rules with no fast path: what every fast path must agree with."""
        if abstain:
            return Grade(ABSTAINED, "flag")
        norm = normalize(answer)
        key = norm.strip(_OUTER_PUNCT)
        if not key or not any(c.isalnum() for c in key):
            return Grade(ABSTAINED, "empty")
        m = self._info(fact)
        if key in m.exact:
            return Grade(CORRECT, "exact", answer.strip().strip(_OUTER_PUNCT))
        if m.kind == "name":
            items = self._name_items(m, answer)
        elif m.kind == "number":
            items = self._number_items(m, answer)
        else:
            items = self._date_items(m, answer)
        return self._decide(m, answer, norm, items)

    def _decide_fast(
        self, m: _MatchInfo, answer: str, norm: str, items: list[_Item]
    ) -> tuple[str, str, str | None]:
        """``_decide``, skipping the negation regexes when no negation word can be present."""
        live: list[_Item]
        negated_hit: _Item | None = None
        # for an ASCII answer norm is answer.lower() with blanks collapsed: _NEG_KEY has no blank
        if not items or answer.isascii() and not _NEG_KEY.search(norm):
            live = items
        else:
            live = []
            for it in items:
                if _negated_fast(answer, it.start, it.end):
                    if it.status == _HIT and negated_hit is None:
                        negated_hit = it
                    continue
                live.append(it)
        hit: _Item | None = None
        other: _Item | None = None
        partial: _Item | None = None
        for it in live:
            st = it.status
            if st == _HIT:
                if hit is None:
                    hit = it
            elif st == _OTHER:
                if other is None:
                    other = it
            elif partial is None:
                partial = it
        # The phrase only suffixes a hit or decides an answer with no candidate: searched then.
        if hit is not None:
            if other is not None:
                clash = _alternatives(answer, live)
                if clash is not None:
                    return INCORRECT, "contradiction", clash
            if self._phrase_match(norm) is not None:
                return CORRECT, hit.how + "+hedged", hit.text
            return CORRECT, hit.how, hit.text
        if m.kind == "date" and other is None and partial is not None:
            joined = _join_partials(m.value, [it for it in live if it.status == _PARTIAL])
            if joined is not None:
                hedged = self._phrase_match(norm) is not None
                return CORRECT, "date+hedged" if hedged else "date", joined
        if negated_hit is not None and other is None:
            return INCORRECT, "negated", negated_hit.text
        if other is not None:
            return INCORRECT, "wrong-value", other.text
        if partial is not None:
            return ABSTAINED, "incomplete", partial.text
        pm = self._phrase_match(norm)
        if pm is not None:
            return ABSTAINED, self._labels[pm.lastgroup or ""], pm.group(0)
        return _NO_CANDIDATE

    def _phrase_match(self, norm: str) -> re.Match[str] | None:
        """The user's pattern or else the built-in phrase that fires on ``norm``, or None."""
        pm = self._user.search(norm) if self._user is not None else None
        if pm is not None:
            return pm
        # Substring tests (``in``) stand for the literal-alternation regexes, which sre scans
        # position by position: the _PHRASE_KEY gate first (most answers stop there), then the
        # label mask.
        for k in _PHRASE_KEYS:
            if k in norm:
                break
        else:
            return None
        mask = []
        for i, keys in enumerate(_PHRASE_LABEL_KEYS_T):
            for k in keys:
                if k in norm:
                    mask.append(i)
                    break
        return self._phrase_subset(tuple(mask), norm)

    def _name_items_fast(self, m: _MatchInfo, answer: str) -> list[_Item] | None:
        """``_name_items`` for an ASCII answer with a capital letter in which every capitalised
        word that is not part of a hit is either inert (a particle, an excluded word or a stop
        word that is no place noun) or a one-word name run of its own; None (use ``_name_items``)
        otherwise.

        Why that is enough: ``_name_items`` makes items only from ranges of non-excluded,
        non-stop words inside runs of capitalised words. A run made of inert words, hits and
        particles gives no range outside the hits and no place name (no place noun in it), so
        no item; a one-word run gives at most the word itself, classified as in
        ``_classify_name``. Digits are what else joins a run ("Apollo 13"): any short number
        sends the answer to the full scan.
        """
        low = answer.lower()
        if low == answer:
            return None  # no capital letter: every non-stop word is a candidate
        if m.placey:
            return None  # a hit that is a place noun may make a place name ("X City")
        parts = _ASCII_SPLIT.split(answer)
        toks = parts[1::2]
        los = _ASCII_TOKEN.findall(low)
        n = len(los)
        if _DIGIT.search(answer):
            for t in los:
                if len(t) <= 3 and t.isdigit():
                    return None
        single = m._single
        covered: set[int] | frozenset[int]
        if single is not None:
            if len(single) == 1 and next(iter(single)) not in low:
                hit_ranges, covered = [], _NO_INDICES  # not even a substring: no token is it
            else:
                hit_ranges = [(i, i + 1) for i, w in enumerate(los) if w in single]
                covered = {a for a, _ in hit_ranges}
        else:
            hit_ranges = _hit_ranges(m.names, los)
            covered = {i for a, b in hit_ranges for i in range(a, b)}
        singles: list[int] = []
        for i, t in enumerate(toks):
            c = t[0]
            if not ("A" <= c <= "Z"):
                continue
            lo = los[i]
            if lo in _INERT or i in covered:
                continue
            if m.excludes(lo):
                continue  # never in a range, nor the place noun of a place name
            # not inert: it must be a run of its own
            if i > 0 and _joinable(parts, los, i):
                if "A" <= toks[i - 1][0] <= "Z":
                    return None
                if los[i - 1] in _PARTICLES and i > 1 and "A" <= toks[i - 2][0] <= "Z":
                    return None
            if i + 1 < n and _joinable(parts, los, i + 1):
                if "A" <= toks[i + 1][0] <= "Z":
                    return None
                if (
                    los[i + 1] in _PARTICLES
                    and i + 2 < n
                    and "A" <= toks[i + 2][0] <= "Z"
                    and parts[2 * i + 4] == " "
                ):
                    return None
            if lo in STOP_WORDS:
                continue  # a lone place noun ("City"): no candidate
            if len(lo) == 1 and not m.short:
                continue  # an initial
            singles.append(i)
        if not hit_ranges and not singles:
            return []
        ends = list(accumulate(map(len, parts)))
        items: list[_Item] = []
        for a, b in hit_ranges:
            s, e = ends[2 * a], ends[2 * b - 1]
            items.append(_Item(s, e, _HIT, answer[s:e], "match"))
        for i in singles:
            s, e = ends[2 * i], ends[2 * i + 1]
            items.append(self._classify_word(m, los[i], s, e, answer[s:e]))
        if hit_ranges and singles:
            items.sort(key=_start)
        return items

    def _classify_word(self, m: _MatchInfo, cand: str, start: int, end: int, text: str) -> _Item:
        """``_classify_name`` for a one-word candidate."""
        for ref in m.name_tokens:
            n = len(ref)
            if n > 1 and cand in ref:
                significant = [t for t in ref if t not in _PARTICLES and len(t) > 1]
                if all(t == cand for t in significant):
                    return _Item(start, end, _HIT, text, "match")
                # the first place it occurs, as _classify_name's window scan finds it
                if ref.index(cand) == n - 1 and len(significant) >= 2 and len(cand) >= 3:
                    return _Item(start, end, _HIT, text, "surname")
                return _Item(start, end, _PARTIAL, text)
        if self._ratio is not None:
            for name in m.fuzzy_names():
                if self._ratio(cand, name) >= self._fuzzy:
                    return _Item(start, end, _HIT, text, "fuzzy")
        return _Item(start, end, _OTHER, text)

    # -- decision ------------------------------------------------------------------------------
    def _decide(self, m: _MatchInfo, answer: str, norm: str, items: list[_Item]) -> Grade:
        live: list[_Item] = []
        negated_hit: _Item | None = None
        for it in items:
            if _negated(answer, it.start, it.end):
                if it.status == _HIT and negated_hit is None:
                    negated_hit = it
                continue
            live.append(it)
        hits = [it for it in live if it.status == _HIT]
        others = [it for it in live if it.status == _OTHER]
        phrase: str | None = None
        pm = self._user.search(norm) if self._user is not None else None
        if pm is None and _PHRASE_KEY.search(norm):
            pm = self._phrases.search(norm)
        if pm is not None:
            phrase = self._labels[pm.lastgroup or ""]
        if hits:
            if others:
                clash = _alternatives(answer, live)
                if clash is not None:
                    return Grade(INCORRECT, "contradiction", clash)
            how = hits[0].how
            return Grade(CORRECT, how + ("+hedged" if phrase else ""), hits[0].text)
        if m.kind == "date" and not others:
            joined = _join_partials(m.value, [it for it in live if it.status == _PARTIAL])
            if joined is not None:
                return Grade(CORRECT, "date" + ("+hedged" if phrase else ""), joined)
        if negated_hit is not None and not others:
            return Grade(INCORRECT, "negated", negated_hit.text)
        if others:
            return Grade(INCORRECT, "wrong-value", others[0].text)
        partials = [it for it in live if it.status == _PARTIAL]
        if partials:
            return Grade(ABSTAINED, "incomplete", partials[0].text)
        if phrase:
            return Grade(ABSTAINED, phrase, pm.group(0) if pm else None)
        return Grade(ABSTAINED, "no-candidate")

    # -- names ---------------------------------------------------------------------------------
    def _name_items(self, m: _MatchInfo, answer: str) -> list[_Item]:
        toks = [(t.group(), t.start(), t.end()) for t in _TOKEN.finditer(answer)]
        if answer.isascii():
            low = answer.lower()
            los = [low[s:e] for _, s, e in toks]
        else:
            los = [_lo(t[0]) for t in toks]
        # Hits: the object or an alias as whole words, as token ranges; the longest kept where
        # hits overlap ("Paris, France" over "Paris").
        hit_ranges = _hit_ranges(m.names, los)
        covered: set[int] = set()
        for a, b in hit_ranges:
            covered.update(range(a, b))

        excluded = m.excluded()
        lower_mode = not any(c.isupper() for c in answer)
        runs = _name_runs(answer, toks, los, lower_mode)
        items: list[_Item] = []
        embedded: set[tuple[int, int]] = set()
        for run in runs:
            ranges = list(_subruns(run, los, excluded))
            if not lower_mode and not ranges:
                whole = _place_name(run, los, excluded, m.subject_names())
                if whole is not None:
                    ranges = [whole]
            for a, b in ranges:
                if all(len(los[j]) == 1 for j in range(a, b)) and (b - a > 1 or not m.short):
                    continue  # initials ("D.C.", "N/A"), unless the answer is a code like "H"
                if any(i in covered for i in range(a, b)):
                    extra = [
                        i for i in range(a, b) if i not in covered and los[i] not in _PARTICLES
                    ]
                    if extra:
                        # a longer name around a hit; "Washington DC" ~ "Washington, D.C." (same
                        # letters, other spacing) is still the reference
                        status = _HIT if "".join(los[a:b]) in m.squashed else _OTHER
                        embedded.update(r for r in hit_ranges if r[0] < b and a < r[1])
                        start, end = toks[a][1], toks[b - 1][2]
                        items.append(_Item(start, end, status, answer[start:end]))
                    continue
                items.append(self._classify_name(m, answer, toks, los, a, b))
        for r in hit_ranges:
            if r in embedded:
                continue
            a, b = r
            items.append(
                _Item(
                    toks[a][1], toks[b - 1][2], _HIT, answer[toks[a][1] : toks[b - 1][2]], "match"
                )
            )
        items.sort(key=lambda it: it.start)
        return items

    def _classify_name(
        self, m: _MatchInfo, answer: str, toks: list, los: list[str], a: int, b: int
    ) -> _Item:
        start, end = toks[a][1], toks[b - 1][2]
        text = answer[start:end]
        cand = " ".join(los[a:b])
        for ref in m.name_tokens:
            n = len(ref)
            k = b - a
            if k < n:
                for off in range(n - k + 1):
                    if ref[off : off + k] == los[a:b]:
                        significant = [t for t in ref if t not in _PARTICLES and len(t) > 1]
                        if all(t in los[a:b] for t in significant):
                            return _Item(
                                start, end, _HIT, text, "match"
                            )  # "Washington" ~ "Washington, D.C."
                        if off + k == n and len(significant) >= 2 and len(los[b - 1]) >= 3:
                            return _Item(start, end, _HIT, text, "surname")
                        return _Item(start, end, _PARTIAL, text)
        if self._ratio is not None:
            for name in m.fuzzy_names():
                if self._ratio(cand, name) >= self._fuzzy:
                    return _Item(start, end, _HIT, text, "fuzzy")
        return _Item(start, end, _OTHER, text)

    # -- numbers -------------------------------------------------------------------------------
    def _number_items(self, m: _MatchInfo, answer: str) -> list[_Item]:
        ref = m.value
        skip: tuple[float, ...] | None = None
        items = []
        for s, e, v in iter_numbers(answer):
            if not _same_number(v, ref):
                if skip is None:
                    skip = m.excluded_numbers()
                if any(_same_number(v, x) for x in skip):
                    continue
            is_year = 1000 <= v <= 2100 and v.is_integer() and _YEAR_CONTEXT.search(answer, 0, s)
            if is_year and not _same_number(v, ref):
                continue  # "as of 2020": a date, not a candidate count
            status = _HIT if _same_number(v, ref) else _OTHER
            items.append(_Item(s, e, status, answer[s:e], "number"))
        items.sort(key=lambda it: it.start)
        return items

    def _number_items_fast(self, m: _MatchInfo, answer: str) -> list[_Item]:
        """``_number_items`` with ``_numbers_fast``."""
        ref = m.value
        skip: tuple[float, ...] | None = None
        items = []
        for s, e, v in _numbers_fast(answer):
            same = abs(v - ref) <= 1e-12 * max(1.0, abs(ref))  # _same_number(v, ref)
            if not same:
                if skip is None:
                    skip = m.excluded_numbers()
                if skip and any(_same_number(v, x) for x in skip):
                    continue
                if 1000 <= v <= 2100 and v.is_integer() and _YEAR_CONTEXT.search(answer, 0, s):
                    continue  # "as of 2020": a date, not a candidate count
            items.append(_Item(s, e, _HIT if same else _OTHER, answer[s:e], "number"))
        if len(items) > 1:
            items.sort(key=_start)
        return items

    # -- dates ---------------------------------------------------------------------------------
    def _date_items_fast(self, m: _MatchInfo, answer: str) -> list[_Item]:
        """``_date_items`` with ``_dates_fast``."""
        ref: Date = m.value
        skip: frozenset[Date] | None = None
        items = []
        year_only = m.kind == "year"
        how = "year" if year_only else "date"
        for s, e, readings in _dates_fast(answer):
            if ref not in readings:
                if skip is None:
                    skip = m.excluded_dates()
                if skip and any(r in skip for r in readings):
                    continue
            if len(readings) == 1:
                status = _date_status(ref, readings[0], year_only)
            else:
                status = min(_date_status(ref, r, year_only) for r in readings)
            if status > _OTHER:
                continue
            items.append(_Item(s, e, status, answer[s:e], how, readings))
        return items

    def _date_items(self, m: _MatchInfo, answer: str) -> list[_Item]:
        ref: Date = m.value
        skip: frozenset[Date] | None = None
        items = []
        year_only = m.kind == "year"
        for s, e, readings in iter_dates(answer):
            if ref not in readings:
                if skip is None:
                    skip = m.excluded_dates()
                if any(r in skip for r in readings):
                    continue
            status = min(_date_status(ref, r, year_only) for r in readings)
            if status > _OTHER:
                continue
            items.append(
                _Item(s, e, status, answer[s:e], "date" if not year_only else "year", readings)
            )
        return items


def _start(it: _Item) -> int:
    return it.start


def _joinable(parts: list[str], los: list[str], i: int) -> bool:
    """``_name_runs``'s ``joinable`` on ``_ASCII_SPLIT`` parts: token i is parts[2 * i + 1] and
    the gap before it parts[2 * i]."""
    gap = parts[2 * i]
    if gap in (" ", "-", "'", "’"):
        return True
    if gap.strip() == "." and (len(los[i - 1]) == 1 or los[i - 1] in _ABBREV):
        return True
    return gap.isspace() and "\n" not in gap


def _hit_ranges(names: tuple[str, ...], los: list[str]) -> list[tuple[int, int]]:
    """Token ranges of the names as whole words, the longest kept where they overlap."""
    text = " " + " ".join(los) + " "
    offsets: list[int] = []
    pos = 1
    for lo in los:
        offsets.append(pos)
        pos += len(lo) + 1
    hit_ranges: list[tuple[int, int]] = []
    for name in names:
        if not name:
            continue
        needle = " " + name + " "
        start = text.find(needle)
        n_tok = name.count(" ") + 1
        while start >= 0:
            i = bisect_right(offsets, start + 1) - 1
            hit_ranges.append((i, i + n_tok))
            start = text.find(needle, start + 1)
    hit_ranges.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    kept: list[tuple[int, int]] = []
    for r in hit_ranges:
        if kept and r[0] < kept[-1][1]:
            continue
        kept.append(r)
    return kept


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


def _negated(answer: str, start: int, end: int) -> bool:
    before = answer[max(0, start - 30) : start]
    if _NEGATION_BEFORE.search(before):
        return True
    return bool(_NEGATION_AFTER.match(answer, end, min(len(answer), end + 20)))


def _negated_fast(answer: str, start: int, end: int) -> bool:
    """``_negated``; in ASCII text, the (unanchored, slow) search before the item runs only
    where ``_NEG_KEY`` finds a negation word there."""
    before = answer[max(0, start - 30) : start]
    if (not before.isascii() or _NEG_KEY.search(before.lower())) and _NEGATION_BEFORE.search(before):
        return True
    return bool(_NEGATION_AFTER.match(answer, end, min(len(answer), end + 20)))


def _alternatives(answer: str, items: list[_Item]) -> str | None:
    """The text of a hit and another value joined as alternatives, or None.

    Neighbouring items are linked by an "or"-like connector, a range, or a comma; a chain of
    links is a set of alternatives when at least one link is "or"-like or a range.
    """
    groups: list[list[_Item]] = [[items[0]]]
    strong = [False]
    for prev, it in zip(items, items[1:], strict=False):
        gap = answer[prev.end : it.start]
        between_and = gap.strip().lower() == "and" and _BETWEEN.search(answer, 0, prev.start)
        if _LINK_OR.match(gap) or _LINK_RANGE.match(gap) or between_and:
            groups[-1].append(it)
            strong[-1] = True
        elif _LINK_COMMA.match(gap):
            groups[-1].append(it)
        else:
            groups.append([it])
            strong.append(False)
    for group, is_alt in zip(groups, strong, strict=True):
        if not is_alt:
            continue
        hit = next((it for it in group if it.status == _HIT), None)
        other = next((it for it in group if it.status == _OTHER), None)
        if hit is not None and other is not None:
            return f"{hit.text} | {other.text}"
    return None


def _name_runs(answer: str, toks: list, los: list[str], lower_mode: bool) -> list[list[int]]:
    """Token indices of maximal runs of name-like tokens (capitalised ones, or in an all-lowercase
    answer non-stop words), joined across particles ("Bay of Bengal") and abbreviations."""
    runs: list[list[int]] = []
    cur: list[int] = []
    n = len(toks)

    def name_like(i: int) -> bool:
        tok = toks[i][0]
        if lower_mode:
            return los[i] not in STOP_WORDS and not tok.isdigit()
        return tok[0].isupper()

    def joinable(i: int) -> bool:
        gap = answer[toks[i - 1][2] : toks[i][1]]
        if gap in (" ", "-", "'", "’"):
            return True
        if gap.strip() == "." and (len(toks[i - 1][0]) == 1 or los[i - 1] in _ABBREV):
            return True
        return gap.isspace() and "\n" not in gap

    i = 0
    while i < n:
        tok = toks[i][0]
        if cur and joinable(i):
            if name_like(i) or (tok.isdigit() and len(tok) <= 3 and not lower_mode):
                cur.append(i)
                i += 1
                continue
            if (
                los[i] in _PARTICLES
                and i + 1 < n
                and name_like(i + 1)
                and answer[toks[i][2] : toks[i + 1][1]] == " "
            ):
                cur.extend((i, i + 1))
                i += 2
                continue
        if cur:
            runs.append(cur)
            cur = []
        if name_like(i):
            cur = [i]
        i += 1
    if cur:
        runs.append(cur)
    return runs


def _place_name(
    run: list[int], los: list[str], excluded: frozenset[str], subjects: frozenset[str]
) -> tuple[int, int] | None:
    """A capitalised run built from subject words and a place noun ("Belize City" for Belize,
    "Panama City"), which names something other than the subject; else None."""
    a, b = run[0], run[-1] + 1
    while a < b and los[a] in _PARTICLES:
        a += 1
    words = los[a:b]
    if (
        len(words) >= 2
        and any(w in _PLACE_NOUNS and w not in excluded for w in words)
        and any(w in excluded for w in words)
        and " ".join(words) not in subjects
    ):
        return a, b
    return None


def _subruns(run: list[int], los: list[str], excluded: frozenset[str]) -> Iterable[tuple[int, int]]:
    """Maximal (start, end) token ranges of a run with no excluded word, particles trimmed."""
    a: int | None = None
    prev = -1
    for i in [*run, None]:
        bad = i is None or (
            (los[i] in excluded or los[i] in STOP_WORDS) and los[i] not in _PARTICLES
        )
        if bad:
            if a is not None:
                b = prev + 1
                while a < b and los[a] in _PARTICLES:
                    a += 1
                while b > a and los[b - 1] in _PARTICLES:
                    b -= 1
                if a < b:
                    yield a, b
                a = None
        elif a is None:
            a = i
        if i is not None:
            prev = i


@dataclass(slots=True)
class _Item:
    start: int
    end: int
    status: int
    text: str
    how: str = "match"
    readings: tuple[Date, ...] = ()


class _MatchInfo:
    """What grading needs to know about one fact, computed once per fact and on first use.

    ``fast``: built for the fast paths (cheap set-up for the common shapes, and the extra
    fields they read); False builds it exactly as the reference machinery always has.
    """

    __slots__ = (
        "fact",
        "fast",
        "kind",
        "value",
        "exact",
        "names",
        "name_tokens",
        "squashed",
        "short",
        "_excluded",
        "_ctx_low",
        "_subjects",
        "_xnum",
        "_xdate",
        "_fuzzy_names",
        "_single",
        "placey",
    )

    def __init__(self, fact: Fact, fast: bool = False) -> None:
        self.fact = fact
        self.fast = fast
        self._excluded: frozenset[str] | None = None
        self._ctx_low: str | None = None
        self._subjects: frozenset[str] | None = None
        self._xnum: tuple[float, ...] | None = None
        self._xdate: frozenset[Date] | None = None
        self._fuzzy_names: tuple[str, ...] | None = None
        self._single: frozenset[str] | None = None
        self.kind: str
        self.value: Any
        self.exact: frozenset[str]
        self.names: tuple[str, ...]
        self.name_tokens: tuple[list[str], ...]
        self.squashed: frozenset[str]
        self.short: bool
        self.placey: bool
        obj = fact.object
        if fast and not fact.aliases and obj.isascii() and obj.isalnum():
            # One ASCII word ("Paris", "1879"): normalize() and loose() are both lower().
            lo = obj.lower()
            self.kind, self.value = ("name", None) if obj.isalpha() else kind_of(fact)
            self.exact = frozenset((lo,))
            self.names = (lo,)
            self.name_tokens = ([lo],)
            self.squashed = self.exact
            self.short = len(lo) <= 2
            self._single = self.exact
            self._fuzzy_names = self.names  # fuzzy_names() of one one-word name
            self.placey = lo in _PLACE_NOUNS
            return
        if fast:
            self.kind, self.value = _kind_fast(fact)
            if self.kind != "name" and not fact.aliases and obj.isascii():
                n = normalize(obj).strip(_OUTER_PUNCT)
                if "the" not in n:  # the loop below, for one ASCII name without "the"
                    self.exact = frozenset((n,)) if n else frozenset()
                    self.names, self.name_tokens = (), ()
                    self.squashed, self.short, self.placey = frozenset(), False, False
                    return
            if self.kind != "name":
                # Numbers and dates are found by value: only the exact answers are needed.
                exact = set()
                for name in fact.object_names:
                    n = normalize(name).strip(_OUTER_PUNCT)
                    exact.add(n)
                    if "the" in n or not name.isascii():  # else loose(name) has no "the "
                        lo = loose(name)
                        if lo.startswith("the ") and len(lo) > 4:
                            exact.add(n[4:])
                exact.discard("")
                self.exact = frozenset(exact)
                self.names, self.name_tokens = (), ()
                self.squashed, self.short, self.placey = frozenset(), False, False
                return
        else:
            self.kind, self.value = kind_of(fact)
        exact = set()
        names = []
        for name in fact.object_names:
            n = normalize(name).strip(_OUTER_PUNCT)
            exact.add(n)
            lo = loose(name)
            names.append(lo)
            if lo.startswith("the ") and len(lo) > 4:
                names.append(lo[4:])
                exact.add(n[4:])
        exact.discard("")
        self.exact = frozenset(exact)
        self.names = tuple(dict.fromkeys(n for n in names if n))
        self.name_tokens = tuple(n.split() for n in self.names)
        self.squashed = frozenset(n.replace(" ", "") for n in self.names)
        self.short = any(len(n) <= 2 for n in self.names)
        if self.names and all(len(t) == 1 for t in self.name_tokens):
            self._single = frozenset(self.names)
        self.placey = any(t in _PLACE_NOUNS for ref in self.name_tokens for t in ref)

    def _context(self) -> str:
        f = self.fact
        return " ".join((*f.subject_names, f.question or "", f.relation.replace("_", " ")))

    def subject_names(self) -> frozenset[str]:
        if self._subjects is None:
            self._subjects = frozenset(loose(n) for n in self.fact.subject_names)
        return self._subjects

    def fuzzy_names(self) -> tuple[str, ...]:
        """The names a misspelling is compared with: each name, and the last word of names of
        two or more words ("einstein" for "albert einstein")."""
        if self._fuzzy_names is not None:
            return self._fuzzy_names
        out = list(self.names)
        for toks in self.name_tokens:
            if len(toks) >= 2 and len(toks[-1]) >= 4:
                out.append(toks[-1])
        found = tuple(dict.fromkeys(out))
        if self.fast:
            self._fuzzy_names = found
        return found

    def excluded(self) -> frozenset[str]:
        """Words that name the subject, or come from the question or relation: never part of a
        candidate (the reference itself is still found, by ``names``)."""
        if self._excluded is None:
            ctx = self._context()
            if self.fast and ctx.isascii():
                # loose(ctx).split() without the join: ASCII tokens of the lowercased text
                self._excluded = frozenset(_ASCII_TOKEN.findall(ctx.lower()))
            else:
                self._excluded = frozenset(loose(ctx).split())
        return self._excluded

    def excludes(self, word: str) -> bool:
        """``word in self.excluded()`` for a lowercase ASCII token, found in the lowercased
        context (when ASCII) as a substring bounded by non-alphanumerics, without the set."""
        if self._excluded is not None:
            return word in self._excluded
        ctx = self._ctx_low
        if ctx is None:
            f = self.fact
            # _context(), "_" kept in the relation: for the bounds below it is a blank too
            raw = f"{f.subject} {f.question or ''} {f.relation}" if not f.subject_aliases else self._context()
            if not raw.isascii():
                return word in self.excluded()
            ctx = self._ctx_low = raw.lower()
        i = ctx.find(word)
        n = len(word)
        while i >= 0:
            j = i + n
            if (i == 0 or not ctx[i - 1].isalnum()) and (j == len(ctx) or not ctx[j].isalnum()):
                return True
            i = ctx.find(word, j)
        return False

    def excluded_numbers(self) -> tuple[float, ...]:
        if self._xnum is None:
            found = _numbers_fast(self._context()) if self.fast else iter_numbers(self._context())
            self._xnum = tuple(v for _, _, v in found if not _same_number(v, self.value))
        return self._xnum

    def excluded_dates(self) -> frozenset[Date]:
        if self._xdate is None:
            ctx = self._context()
            if self.fast and not _DIGIT.search(ctx):
                self._xdate = frozenset()  # every date, day-month and year has a digit
                return self._xdate
            found = {r for _, _, rs in iter_dates(ctx) for r in rs}
            found.discard(self.value)
            self._xdate = frozenset(found)
        return self._xdate
