"""What grading needs to know about one reference fact, computed once per fact."""

from __future__ import annotations

import re
from typing import Any

from audit.facts import Fact
from audit.grading.core import Date
from audit.grading.names import _ASCII_TOKEN, _OUTER_PUNCT, _PARTICLES, _PLACE_NOUNS, _ascii_in_word_apostrophe, loose
from audit.grading.numbers import (
    _DIGIT,
    _kind_fast,
    _numbers_fast,
    _same_number,
    iter_dates,
    iter_numbers,
    kind_of,
    may_speak_year,
    number_refs,
)
from audit.grading.slot import organisation, region_words, semantic_type
from audit.normalize import normalize

#: Two or more element symbols run together with a lower-case letter among them ("NaCl",
#: "HCl"): a formula without digits.
_SYMBOLS_RUN = re.compile(r"(?=.*[a-z])(?:[A-Z][a-z]?){2,}")


def _coded(name: str) -> bool:
    """``_MatchInfo.coded`` for one name."""
    if not name or " " in name or name.isalpha() and name[1:].islower():
        return False  # "Paris", "Buenos Aires": most names stop here
    if _DIGIT.search(name) or not name.isascii() and any(c.isdigit() for c in name):  # "H2O", "H₂O"
        return not name.isdigit() and any(c.isalpha() for c in name) and not any(c.isspace() for c in name)
    return _SYMBOLS_RUN.fullmatch(name) is not None


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
        "_semantic",
        "_subject_words",
        "_ref_in_ctx",
        "_shape",
        "_percent",
        "_regions",
        "_obj_region",
        "_numrefs",
        "_coded",
        "_org",
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
        self._semantic: str | None = None
        self._subject_words: frozenset[str] | None = None
        self._ref_in_ctx: bool | None = None
        self._shape: re.Pattern[str] | None | bool = False  # False: not computed yet
        self._percent: bool | None = None
        self._regions: tuple[list[str], ...] | None = None
        self._obj_region: tuple[str, ...] | None | bool = False  # False: not computed yet
        self._numrefs: tuple[tuple[float, str | None], ...] | None = None
        self._coded: bool | None = None
        self._org: bool | None = None
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
            if obj.isalpha():
                self.kind, self.value = "name", None
            elif obj.isdigit() and fact.answer_type is None:
                # kind_of's reading of ASCII digits: a year 1000-2100 written with four, else a number
                y = int(obj)
                if len(obj) == 4 and 1000 <= y <= 2100:
                    self.kind, self.value = "year", (y, None, None)
                else:
                    self.kind, self.value = "number", float(y)
            else:
                self.kind, self.value = kind_of(fact)
            self.exact = frozenset((lo,))
            self.names = (lo,)
            self.name_tokens = ([lo],)
            self.squashed = self.exact
            self.short = len(lo) <= 2
            self._single = self.exact
            self._fuzzy_names = self.names  # fuzzy_names() of one one-word name
            if obj.isalpha():
                self._shape = None  # shape(): no digit, no code
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
            if self.fast and ctx.isascii() and not _ascii_in_word_apostrophe(ctx):
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
            if not raw.isascii() or _ascii_in_word_apostrophe(raw):
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

    def number_refs(self) -> tuple[tuple[float, str | None], ...]:
        """The values of a number fact: the object's and each alias's that reads as a number,
        with its unit or None (``audit.grading.numbers.number_refs``): "8,849 m" with aliases
        "8848 m" and "29,032 feet" -> ((8849.0, "m"), (8848.0, "m"), (29032.0, "ft"))."""
        if self._numrefs is None:
            f = self.fact
            if not f.aliases and not any(c.isalpha() for c in f.object):
                self._numrefs = ((self.value, None),)  # one number with no unit ("12,345")
            else:
                self._numrefs = number_refs(f.object_names, self.value)
        return self._numrefs

    def excluded_numbers(self) -> tuple[float, ...]:
        if self._xnum is None:
            found = _numbers_fast(self._context()) if self.fast else iter_numbers(self._context())
            refs = self.number_refs()
            self._xnum = tuple(v for _, _, v in found if not any(_same_number(v, r) for r, _ in refs))
        return self._xnum

    def excluded_dates(self) -> frozenset[Date]:
        if self._xdate is None:
            ctx = self._context()
            if self.fast and not _DIGIT.search(ctx) and not may_speak_year(ctx):
                self._xdate = frozenset()  # every date, day-month and year has a digit
                return self._xdate
            found = {r for _, _, rs in iter_dates(ctx) for r in rs}
            found.discard(self.value)
            self._xdate = frozenset(found)
        return self._xdate

    def semantic(self) -> str:
        """``region``, ``person``, ``place`` or ``other`` (``audit.grading.slot.semantic_type``)."""
        if self._semantic is None:
            f = self.fact
            obj = f.object if self.kind == "name" and self._obj_region is not None else None
            # (an object whose region_words region() found None reads as no object there)
            self._semantic = semantic_type(f.answer_type, f.question, f.relation, obj)
        return self._semantic

    def region(self) -> bool:
        """``self.semantic() == "region"``, without the question's regexes for an object that
        names no continent (most)."""
        if self._semantic is None:
            if self._obj_region is False:
                self._obj_region = region_words(self.fact.object)
            if self._obj_region is None:
                return False  # (for an ASCII object, a few substring tests)
        return self.semantic() == "region"

    def code(self) -> bool:
        """Whether every reference name is one word of at most three letters or digits ("Nb",
        "H", "4A"): a code or symbol, which an answer may write in any case."""
        return bool(self.name_tokens) and all(len(t) == 1 and len(t[0]) <= 3 for t in self.name_tokens)

    def coded(self) -> bool:
        """Whether every reference name is written like a formula or a code with structure: one
        word with letters and a digit ("H2O", "MP-22", "4A", "H₂O"), or element symbols run
        together ("NaCl", "HCl"; not "Nur-Sultan", "NASA"). An answer's value for it is written
        like a code too (``code_like``): "Sulfic acid" or "a gas" is no formula."""
        if self._coded is None:
            f = self.fact
            if f.aliases:
                self._coded = self.kind == "name" and all(_coded(n.strip()) for n in f.object_names)
            else:
                self._coded = self.kind == "name" and _coded(f.object.strip())
        return self._coded

    def organisation(self) -> bool:
        """Whether a reference name is an organisation (``slot.organisation``): then one in an
        answer is a value."""
        if self._org is None:
            self._org = any(organisation(n) for n in self.fact.object_names)
        return self._org

    def region_names(self) -> tuple[list[str], ...]:
        """The reference names that are continents or regions of one, as their words with
        adjectives read as the continent and particles left out ("central america")."""
        if self._regions is None:
            found = []
            for name in self.fact.object_names:
                words = region_words(name)
                if words is not None:
                    found.append([w for w in words if w not in _PARTICLES])
            self._regions = tuple(found)
        return self._regions

    def subject_words(self) -> frozenset[str]:
        """Words an echo may be made of: the subject's names', or for a question-only fact
        the question's."""
        if self._subject_words is None:
            f = self.fact
            text = " ".join(f.subject_names if f.subject.strip() else (f.question or "",))
            if text.isascii() and not _ascii_in_word_apostrophe(text):
                self._subject_words = frozenset(_ASCII_TOKEN.findall(text.lower()))  # = loose's
            else:
                self._subject_words = frozenset(loose(text).split())
        return self._subject_words

    def ref_in_context(self) -> bool:
        """Whether a reference name occurs in the subject, question or relation (then a copy of
        the question in the answer holds it without answering)."""
        if self._ref_in_ctx is None:
            # every word of a name in the context is a context word: the cheap test first
            found = False
            for n in self.names:
                if all(self.excludes(w) for w in n.split()) if " " in n else self.excludes(n):
                    found = True
                    break
            if found:
                ctx = " " + loose(self._context()) + " "
                found = any(" " + n + " " in ctx for n in self.names)
            self._ref_in_ctx = found
        return self._ref_in_ctx

    def shape(self) -> re.Pattern[str] | None:
        """For a name with digits (a code or version: "MP-22", "1.2.1", "Apollo 11"), a regex
        of strings written the same way: letters for letters, digits for digits."""
        if self._shape is False:
            obj = self.fact.object
            rx = None
            if self.kind == "name" and _DIGIT.search(obj) and len(obj) <= 40:
                obj = obj.strip().strip(_OUTER_PUNCT)
                body = "".join(
                    r"\d+" if part[0].isdigit() else r"[^\W\d_]+" if part[0].isalpha() else re.escape(part)
                    for part in re.findall(r"\d+|[^\W\d_]+|[\W_]+", obj)
                )
                rx = re.compile(rf"(?<![\w.-]){body}(?![\w]|[.-]\w)")
            self._shape = rx
        return self._shape  # type: ignore[return-value]

    def percent(self) -> bool:
        """Whether the reference is a share ("45%"): then a share in an answer is a candidate."""
        if self._percent is None:
            self._percent = any("%" in n or "percent" in n.lower() for n in self.fact.object_names)
        return self._percent
