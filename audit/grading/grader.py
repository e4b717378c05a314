"""The grader: candidates of an answer, then the decision (rules in ``audit.grading``)."""

from __future__ import annotations

import re
from itertools import accumulate

from audit.facts import Fact
from audit.grading.core import (
    _EMPTY,
    _FLAG,
    _HIT,
    _MISSING,
    _NO_CANDIDATE,
    _NO_INDICES,
    _OTHER,
    _PARTIAL,
    ABSTAINED,
    CORRECT,
    INCORRECT,
    Date,
    Grade,
    GraderConfig,
    _Item,
    _start,
)
from audit.grading.links import _alternatives, _may_negate, _negated, _negated_fast
from audit.grading.names import (
    _APOSTROPHES,
    _ASCII_SPLIT,
    _IN_WORD_APOSTROPHE,
    _INERT,
    _OUTER_PUNCT,
    _PARTICLES,
    _TOKEN,
    STOP_WORDS,
    _ascii_in_word_apostrophe,
    _hit_ranges,
    _joinable,
    _lo,
    _name_runs,
    _place_name,
    _subruns,
    loose,
)
from audit.grading.numbers import (
    _ASCII_DIGIT,
    _DIGIT,
    _YEAR_CONTEXT,
    _date_status,
    _join_partials,
    _numbers_fast,
    _same_number,
    conversions,
    dates_and_spoken,
    is_percent,
    iter_dates,
    iter_numbers,
    iter_year_ranges,
    may_hold_year_range,
    may_speak_year,
    unit_at,
)
from audit.grading.phrases import (
    _PHRASE_KEY,
    _PHRASE_LABEL_KEYS_T,
    ABSTAIN_PHRASES,
    _compile_phrases,
    _has_phrase_key,
)
from audit.grading.reference import _MatchInfo
from audit.grading.slot import (
    SHORT_TOKENS,
    YEAR_POSITION,
    Slot,
    code_like,
    code_word,
    continent_region,
    echo,
    find_slot,
    noun_phrase,
    organisation,
    region_words,
    restated_slots,
    restates,
    value_phrase,
    wrong_type,
)
from audit.normalize import normalize


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
        self._last: _MatchInfo | None = None
        #: the answer last split by ``_name_items_fast``, its ``_ASCII_SPLIT`` parts and lowercase
        #: tokens: ``_without_value`` makes ``slot.tokens`` of them
        self._split: tuple[str, list[str], list[str]] | None = None
        self._phrase_subsets: dict[tuple[int, ...], re.Pattern[str] | None] = {}
        self._phrase = self._phrase_match if fast else self._phrase_reference

    def _phrase_subset(self, mask: tuple[int, ...], norm: str) -> re.Match[str] | None:
        """The search of the phrases numbered in ``mask``, compiled once a mask."""
        rx = self._phrase_subsets.get(mask, _MISSING)
        if rx is _MISSING:
            phrases = list(ABSTAIN_PHRASES.values())
            rx = re.compile("|".join(f"(?P<p{i}>{phrases[i]})" for i in mask)) if mask else None
            self._phrase_subsets[mask] = rx
        return rx.search(norm) if rx is not None else None

    def _info(self, fact: Fact) -> _MatchInfo:
        """The set-up of ``fact``, kept for the next answer to the same fact only: a run over an
        outputs file grades each fact once (a second answer is a duplicate), so a larger cache
        would cost a dict update and, every few thousand facts, freeing them all."""
        info = self._last
        if info is None or info.fact is not fact:
            info = self._last = _MatchInfo(fact, self.fast)
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
        if self._user is not None:
            um = self._user.search(norm)
            if um is not None:  # the user's own abstention pattern decides before any value
                return ABSTAINED, self._labels[um.lastgroup or ""], um.group(0)
        obj = fact.object
        if key == obj.lower() and obj.isascii():
            # The answer is just the object: for an ASCII object, normalize(obj) is then
            # obj.lower() (key has nothing for it to collapse), so key is in m.exact.
            return CORRECT, "exact", answer.strip().strip(_OUTER_PUNCT)
        m = self._last  # self._info(fact), inline: it runs for nearly every row
        if m is None or m.fact is not fact:
            m = self._last = _MatchInfo(fact, True)
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
        elif (_ASCII_DIGIT if answer.isascii() else _DIGIT).search(answer) or may_speak_year(answer):
            items = self._date_items_fast(m, answer)
        else:
            items = []  # every date, day-month and year has a digit or a number word
        if items:
            items = self._refine(m, answer, items)
        return self._decide(m, answer, norm, items)

    def _grade_reference(self, fact: Fact, answer: str, abstain: bool) -> Grade:
        """The rules with no fast path: what every fast path must agree with."""
        if abstain:
            return Grade(ABSTAINED, "flag")
        norm = normalize(answer)
        key = norm.strip(_OUTER_PUNCT)
        if not key or not any(c.isalnum() for c in key):
            return Grade(ABSTAINED, "empty")
        um = self._user.search(norm) if self._user is not None else None
        if um is not None:
            return Grade(ABSTAINED, self._labels[um.lastgroup or ""], um.group(0))
        m = self._info(fact)
        if key in m.exact:
            return Grade(CORRECT, "exact", answer.strip().strip(_OUTER_PUNCT))
        if m.kind == "name":
            items = self._name_items(m, answer)
        elif m.kind == "number":
            items = self._number_items(m, answer)
        else:
            items = self._date_items(m, answer)
        return Grade(*self._decide(m, answer, norm, self._refine(m, answer, items)))

    # -- decision ------------------------------------------------------------------------------
    def _decide(
        self, m: _MatchInfo, answer: str, norm: str, items: list[_Item]
    ) -> tuple[str, str, str | None]:
        """Rules 3-12 on the candidates ``items``. The fast grader skips the negation regexes
        when no negation word can be present and searches the phrases by ``_phrase_match``;
        the reference runs them all."""
        live: list[_Item]
        negated_hit: _Item | None = None
        # for an ASCII answer norm is answer.lower() with blanks collapsed: _may_negate's
        # strings have no blank
        if not items or self.fast and answer.isascii() and not _may_negate(norm):
            live = items
        else:
            live = []
            negated = _negated_fast if self.fast else _negated
            for it in items:
                if negated(answer, it.start, it.end):
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
                clash = _alternatives(answer, live) or _restated_clash(m, answer, live)
                if clash is not None:
                    return INCORRECT, "contradiction", clash
            if self._phrase(norm) is not None:
                return CORRECT, hit.how + "+hedged", hit.text
            return CORRECT, hit.how, hit.text
        if m.kind == "date" and other is None and partial is not None:
            joined = _join_partials(m.value, [it for it in live if it.status == _PARTIAL])
            if joined is not None:
                hedged = self._phrase(norm) is not None
                return CORRECT, "date+hedged" if hedged else "date", joined
        if negated_hit is not None and other is None:
            return INCORRECT, "negated", negated_hit.text
        if other is not None:
            return INCORRECT, "wrong-value", other.text
        if partial is not None:
            return ABSTAINED, "incomplete", partial.text
        return self._without_value(m, answer, norm, self._phrase(norm))

    def _refine(self, m: _MatchInfo, answer: str, items: list[_Item]) -> list[_Item]:
        """Candidates that the scans find but that are no value of the fact: a name of the wrong
        type (a region or nationality for a place or a person), a share for a count, the numbers
        of a unit's definition ("1 meter is equal to 3.28 feet"), and a reference value that
        stands only in a restated copy of the question."""
        kind = m.kind
        if kind == "name":
            if m.region():
                items = [_region_item(m, it) for it in items]
            statuses = {it.status for it in items}
            if _OTHER in statuses:
                semantic = m.semantic()
                if semantic != "other":
                    items = [
                        it
                        for it in items
                        if it.status != _OTHER or not wrong_type(it.text, answer[it.end : it.end + 30], semantic)
                    ]
                # a formula's value is written like a code, but in an answer with no capital
                # letter nothing tells a code's case
                codes = m.coded() and any(c.isupper() for c in answer)
                # _foreign is False for a one-word candidate but for a name of type other or a code
                foreign = [
                    it
                    for it in items
                    if it.status == _OTHER
                    and (codes or semantic == "other" or " " in it.text)
                    and _foreign(m, it.text, semantic, codes)
                ]
                if foreign:
                    # and their abbreviations: "the European Union (EU)"
                    initials = {"".join(w[0] for w in it.text.split() if w[0].isupper()) for it in foreign}
                    items = [
                        it
                        for it in items
                        if it.status != _OTHER or not (it in foreign or it.text.isupper() and it.text in initials)
                    ]
                statuses = {it.status for it in items}
            if _HIT in statuses and m.ref_in_context():
                slot = find_slot(answer, m.excludes)
                if slot is not None and slot.restated_end and not restates(answer, slot, m.excludes):
                    a, b = slot.restated_start, slot.restated_end
                    items = [it for it in items if it.status != _HIT or not (a <= it.start < b)]
        elif kind == "number":
            # the share filter drops only other values: none to drop where the answer has none
            if any(it.status == _OTHER for it in items) and not m.percent():
                items = [it for it in items if it.status != _OTHER or not is_percent(answer, it.end)]
            if any(it.text == "1" or it.text.lower() == "one" for it in items):
                spans = conversions(answer)  # "1 meter is equal to 3.28 feet": a unit's definition
                items = [it for it in items if not any(a <= it.start and it.end <= b for a, b in spans)]
        return items

    def _without_value(
        self, m: _MatchInfo, answer: str, norm: str, pm: re.Match[str] | None
    ) -> tuple[str, str, str | None]:
        """The decision for an answer with no candidate of the fact's kind: an echo, a number
        in the slot of a year or date question, an abstention phrase, a noun phrase in the
        slot, or nothing (``audit.grading`` rules 9-12)."""
        # An echo needs a subject word (each is a substring of the normalised answer, but for
        # in-word apostrophes) or a digit; a noun phrase counts only for a name without phrase.
        can_echo = (
            (_ASCII_DIGIT if answer.isascii() else _DIGIT).search(answer) is not None
            or any(w in norm for w in m.subject_words())
            or ("'" in norm and _IN_WORD_APOSTROPHE.search(norm) is not None)
        )
        if not can_echo and (pm is not None or m.kind != "name"):
            return (ABSTAINED, self._labels[pm.lastgroup or ""], pm.group(0)) if pm else _NO_CANDIDATE
        every = None
        split = self._split
        if split is not None and split[0] is answer and "'" not in answer and "`" not in answer:
            # slot.tokens(answer), for an ASCII answer without apostrophes: the words that
            # _ASCII_SPLIT found, lowercased, at the offsets of the parts
            ends = list(accumulate(map(len, split[1])))
            every = list(zip(split[2], ends[:-1:2], ends[1::2], strict=True))
        slot = find_slot(answer, m.excludes, every)
        if slot is not None and can_echo:
            copied = self._copied_values(m, answer, slot)
            echoed = echo(answer, slot, m.subject_words(), m.excludes, copied)
            if echoed is not None:
                return INCORRECT, "echo", echoed
            if m.kind in ("year", "date") and slot.restated_end:
                found = self._slot_number(answer, slot, copied)
                if found is not None:
                    return INCORRECT, "wrong-value", found
        if pm is not None:
            return ABSTAINED, self._labels[pm.lastgroup or ""], pm.group(0)
        if slot is not None and m.kind == "name":
            short = len(slot.toks) <= SHORT_TOKENS
            # a code answers a code ("is ni" for "Nb"); a common noun ("a bear") answers a
            # question of another kind, never one for a person, a place or a continent, which
            # are named by proper names
            coded = m.code() or m.coded()
            span = code_word(answer, slot, m.excludes, m.coded()) if coded else None
            if span is None and not coded and m.semantic() == "other":
                span = noun_phrase(answer, slot, m.excludes, short)
            s, e = span or (0, 0)
            if span is not None:
                toks = [(t.group(), t.start(), t.end()) for t in _TOKEN.finditer(answer, span[0], span[1])]
                los = [_lo(t[0]) for t in toks]
                it = self._classify_name(m, answer, toks, los, 0, len(toks))
                if it.status == _HIT:
                    return CORRECT, it.how, it.text
                if it.status == _PARTIAL:
                    return ABSTAINED, "incomplete", it.text
                return INCORRECT, "wrong-value", it.text
        return _NO_CANDIDATE

    def _slot_number(self, answer: str, slot: Slot, copied: list[tuple[int, int]]) -> str | None:
        """A number standing where the year of a year or date question stands ("Copernicus was
        born in 19.69"): right after the copula, or after "in", "around" and the like; not one
        copied from the question, nor the day of a day and month ("on the 3rd of March")."""
        s, e = value_phrase(answer, slot)
        text = answer[s:e]
        if not _DIGIT.search(text):
            return None
        in_dates = [(a, b) for a, b, _ in iter_dates(text)]
        for ns, ne, _ in iter_numbers(text):
            if any(a <= s + ns and s + ne <= b for a, b in copied) or any(a < ne and ns < b for a, b in in_dates):
                continue
            before = text[:ns].split()
            if _DURATION.match(text, ne):
                continue  # "born 3 years before Luther": a span of time, not a year
            if not before or before[-1].lower().strip(".,") in YEAR_POSITION:
                return answer[s + ns : s + ne]
        return None

    def _copied_values(self, m: _MatchInfo, answer: str, slot: Slot) -> list[tuple[int, int]]:
        """Spans of the numbers (or dates) in the slot that the question or subject holds."""
        s, e = slot.start, slot.end
        text = answer[s:e]
        if not _DIGIT.search(text):
            return []
        if m.kind in ("date", "year"):
            skip_d = m.excluded_dates()
            return [(s + a, s + b) for a, b, rs in iter_dates(text) if any(r in skip_d for r in rs)]
        skip = m.excluded_numbers() if m.kind == "number" else self._context_numbers(m)
        return [(s + a, s + b) for a, b, v in iter_numbers(text) if any(_same_number(v, x) for x in skip)]

    def _context_numbers(self, m: _MatchInfo) -> tuple[float, ...]:
        return tuple(v for _, _, v in iter_numbers(m._context()))

    def _phrase_reference(self, norm: str) -> re.Match[str] | None:
        """The user's pattern or else the built-in phrase that fires on ``norm``, or None: the
        regexes with no gate in front, what ``_phrase_match`` must agree with."""
        pm = self._user.search(norm) if self._user is not None else None
        if pm is None and _PHRASE_KEY.search(norm):
            pm = self._phrases.search(norm)
        return pm

    def _phrase_match(self, norm: str) -> re.Match[str] | None:
        """The user's pattern or else the built-in phrase that fires on ``norm``, or None."""
        pm = self._user.search(norm) if self._user is not None else None
        if pm is not None:
            return pm
        # Substring tests (``in``) stand for the literal-alternation regexes, which sre scans
        # position by position: the _PHRASE_KEY gate first (most answers stop there), then the
        # label mask.
        if not _has_phrase_key(norm):
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
        if m.placey or (m.shape() if m._shape is False else m._shape) is not None:
            return None  # a place noun may make a place name ("X City"); a code needs its scan
        if ("'" in answer or "`" in answer) and _ascii_in_word_apostrophe(answer):
            return None  # "Pape'ete" is one word there, two here
        parts = _ASCII_SPLIT.split(answer)
        toks = parts[1::2]
        # the tokens hold no blank: their lowercase forms in one lower() (= findall on low)
        los = " ".join(toks).lower().split(" ") if toks else []
        self._split = (answer, parts, los)
        n = len(los)
        if _ASCII_DIGIT.search(answer):
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
        if cand in m.squashed:
            return _Item(start, end, _HIT, text, "match")  # "Papeete" for "Pape ete"
        if self._ratio is not None:
            n = len(cand)
            for name in m.fuzzy_names():
                # ratio is 200 * LCS / (n + k) <= 200 * min(n, k) / (n + k): when that bound is
                # under the threshold (by more than rounding), the ratio is too
                k = len(name)
                if 200 * min(n, k) < (self._fuzzy - 1e-6) * (n + k):
                    continue
                if self._ratio(cand, name) >= self._fuzzy:
                    return _Item(start, end, _HIT, text, "fuzzy")
        return _Item(start, end, _OTHER, text)

    # -- names ---------------------------------------------------------------------------------
    def _name_items(self, m: _MatchInfo, answer: str) -> list[_Item]:
        toks = [(t.group(), t.start(), t.end()) for t in _TOKEN.finditer(answer)]
        if answer.isascii():
            low = answer.lower()
            los = [t if t.isalnum() else t.translate(_APOSTROPHES) for t in (low[s:e] for _, s, e in toks)]
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
                        first_hit = min(i for i in range(a, b) if i in covered)
                        if _same_settlement(m, los, extra, first_hit) or all(
                            _context_adjective(m, los[i]) for i in extra
                        ):
                            status = _HIT
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
        shape = m.shape()
        if shape is not None:
            # codes and versions written like the reference ("MP-24", "1.2.2" for "1.2.1")
            for sm in shape.finditer(answer):
                s, e = sm.span()
                if not any(it.start < e and s < it.end for it in items):
                    lo = loose(sm.group())
                    if lo in m.names:
                        items.append(_Item(s, e, _HIT, sm.group()))
                    elif not all(m.excludes(w) for w in lo.split()):  # "M1" of "M1 Abrams"
                        items.append(_Item(s, e, _OTHER, sm.group()))
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
        if "".join(los[a:b]) in m.squashed:
            return _Item(start, end, _HIT, text, "match")  # "Ouaga-Dougou" for "Ouagadougou"
        if self._ratio is not None:
            for name in m.fuzzy_names():
                if self._ratio(cand, name) >= self._fuzzy:
                    return _Item(start, end, _HIT, text, "fuzzy")
        return _Item(start, end, _OTHER, text)

    # -- numbers -------------------------------------------------------------------------------
    def _number_items(self, m: _MatchInfo, answer: str) -> list[_Item]:
        refs = m.number_refs()
        skip: tuple[float, ...] | None = None
        items = []
        for s, e, v in iter_numbers(answer):
            hit = _number_hit(refs, answer, e, v)
            if not hit:
                if skip is None:
                    skip = m.excluded_numbers()
                if any(_same_number(v, x) for x in skip):
                    continue
            is_year = _year_like(answer, s, e, v)
            if is_year and not hit:
                continue  # "as of 2020": a date, not a candidate count
            items.append(_Item(s, e, _HIT if hit else _OTHER, answer[s:e], "number"))
        items.sort(key=lambda it: it.start)
        return items

    def _number_items_fast(self, m: _MatchInfo, answer: str) -> list[_Item]:
        """``_number_items`` with ``_numbers_fast``, and the comparison inline for a reference
        of one value with no unit (most)."""
        refs = m.number_refs()
        ref, unit = refs[0]
        plain = len(refs) == 1 and unit is None
        skip: tuple[float, ...] | None = None
        items = []
        for s, e, v in _numbers_fast(answer):
            if plain:
                same = abs(v - ref) <= 1e-12 * max(1.0, abs(ref))  # _same_number(v, ref)
            else:
                same = _number_hit(refs, answer, e, v)
            if not same:
                if skip is None:
                    skip = m.excluded_numbers()
                if skip and any(_same_number(v, x) for x in skip):
                    continue
                if _year_like(answer, s, e, v):
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
        for s, e, readings in dates_and_spoken(answer):
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
        return _with_year_ranges(m, answer, items)

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
        return _with_year_ranges(m, answer, items)


def _restated_clash(m: _MatchInfo, answer: str, items: list[_Item]) -> str | None:
    """"hit | other" when two sentences restate the question and the first value of one slot
    is a hit, of another another value: "The highest mountain is Everest. However, the highest
    mountain is Kilimanjaro." The answer contradicts itself; else None."""
    firsts = []
    for slot in restated_slots(answer, m.excludes):
        s, e = value_phrase(answer, slot)
        first = next((it for it in items if s <= it.start and it.end <= e), None)
        if first is not None:
            firsts.append(first)
    hit = next((it for it in firsts if it.status == _HIT), None)
    other = next((it for it in firsts if it.status == _OTHER), None)
    return f"{hit.text} | {other.text}" if hit is not None and other is not None else None


def _foreign(m: _MatchInfo, text: str, semantic: str, codes: bool) -> bool:
    """Whether a candidate name is of a type no value of the fact can have: an organisation
    ("the European Union") unless the reference is one or the question names its kind of body
    ("Harvard University" for "Which university ...?"); a continent or its region ("East
    Asia") where a name that is no place is asked (a currency, a language); with ``codes`` (a
    formula or code, ``_MatchInfo.coded``, in an answer with a capital letter: in one without,
    every word is a candidate, "12 carbon and 12 hydrogen", and nothing tells a code's case) a
    name not written like a code ("Sulfic", "Hydrogen")."""
    if (
        " " in text
        and organisation(text)
        and not m.organisation()
        and not m.excludes(text.split()[-1].lower().strip(".,;:()"))  # "Which university ...?"
    ):
        return True
    if semantic == "other" and continent_region(text):
        return True
    return codes and not code_like(text)


def _region_item(m: _MatchInfo, it: _Item) -> _Item:
    """A candidate for a continent reference, read as a region: one that holds a reference
    continent with compass words ("Southeast Asia", "North African", "the Americas of South
    America") is a hit at a finer grain (``region``); one that a reference continent holds
    ("America" or "the Americas" for "South America", "Eurasia" for "Asia": no surname, no
    misspelling) is a partial hit; a region of another continent is another value. Anything
    else stays as it was (an exact hit; a misspelling; a non-region, for the type filter)."""
    if it.status == _PARTIAL or it.how == "match" and it.status == _HIT:
        return it
    cand = region_words(it.text)
    if cand is None:
        return it
    core = [w for w in cand if w not in _PARTICLES]
    for ref in m.region_names():
        n = len(ref)
        if any(core[i : i + n] == ref for i in range(len(core) - n + 1)):
            return _Item(it.start, it.end, _HIT, it.text, "region")
        if (len(core) < n and all(w in ref for w in core)) or any(ref[-1] in _WIDER.get(w, ()) for w in core):
            return _Item(it.start, it.end, _PARTIAL, it.text)
    return _Item(it.start, it.end, _OTHER, it.text)


#: Continents that hold others: "Eurasia" answers "Asia" at a coarser grain.
_WIDER = {"eurasia": ("europe", "asia")}


_CITY_QUESTION = re.compile(r"capital|city", re.I)
_DURATION = re.compile(r"\s*(?:years?|months?|weeks?|days?|decades?|centur(?:y|ies)|hours?)\b", re.I)


def _same_settlement(m: _MatchInfo, los: list[str], extra: list[int], first_hit: int) -> bool:
    """Whether the words around a hit only restate that it is a settlement: "Port Stanley" for
    "Stanley"; "Kuwait City" for "Kuwait" when the question asks for a city or capital (where
    the question asks for a country, "Panama City" is not "Panama")."""
    if all(los[i] == "port" and i < first_hit for i in extra):
        return True
    f = m.fact
    asks_city = _CITY_QUESTION.search(f.relation) or (f.question and _CITY_QUESTION.search(f.question))
    return bool(asks_city) and all(los[i] == "city" and i > first_hit for i in extra)


_ADJECTIVE_ENDING = re.compile(r"(?:an|ese|ish|i)$")


def _context_adjective(m: _MatchInfo, word: str) -> bool:
    """Whether ``word`` is the adjective of a word of the question or subject ("Japanese" for
    Japan, "Swedish" for Sweden: that word but its last two letters, at least four, and an
    adjective's ending): "the Japanese yen" for "yen" restates the question's country, and
    names nothing else ("Austrian" is not of Australia)."""
    if not _ADJECTIVE_ENDING.search(word) or len(word) < 5:
        return False
    return any(
        len(w) >= 4 and w != word and word[: max(4, len(w) - 2)] == w[: max(4, len(w) - 2)]
        for w in m.excluded()
    )


def _number_hit(refs: tuple[tuple[float, str | None], ...], answer: str, end: int, value: float) -> bool:
    """Whether a number of the answer (ending at ``end``) is one of the reference values: the
    same number, and where both carry a unit, the same unit ("29,032 ft" for "29,032 feet";
    "8,849 feet" is not "8,849 m"; a bare "8848" is "8848 m")."""
    unit: str | None | bool = False  # False: not read yet
    for ref, ref_unit in refs:
        if _same_number(value, ref):
            if ref_unit is None:
                return True
            if unit is False:
                unit = unit_at(answer, end)
            if unit is None or unit == ref_unit:
                return True
    return False


def _year_like(answer: str, start: int, end: int, value: float) -> bool:
    """Whether a number is a year in a time phrase ("as of 2020"), not a count; a number
    written with thousands groups ("1,500") is never a year."""
    return (
        1000 <= value <= 2100
        and value.is_integer()
        and "," not in answer[start:end]
        and _YEAR_CONTEXT.search(answer, 0, start) is not None
    )


def _with_year_ranges(m: _MatchInfo, answer: str, items: list[_Item]) -> list[_Item]:
    """``items`` and the decades and centuries of the answer: one that holds the reference
    year is a partial hit ("the 1900s" for 1905), any other another value ("the 1940s")."""
    if not may_hold_year_range(answer):
        return items
    year = m.value[0]
    found = [
        _Item(s, e, _PARTIAL if lo <= year <= hi else _OTHER, answer[s:e], "year")
        for s, e, lo, hi in iter_year_ranges(answer)
        if not any(it.start < e and s < it.end for it in items)
    ]
    return sorted(items + found, key=_start) if found else items
