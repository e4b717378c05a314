"""Words and names: stop words, tokens, runs of capitalised words, whole-word hits."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable

from audit.normalize import normalize


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
    version release edition
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


#: A word: letters and digits ([^\W_] is str.isalnum), with in-word apostrophes ("Pape'ete",
#: "Hawai'i", "Sana'a", "O'Brien") kept inside it; an English clitic ("France's", "don't",
#: "it's", "we'll") is not in-word, and stays a break.
_TOKEN = re.compile(r"[^\W_]+(?:['’ʻ`](?!(?:s|t|d|m|ll|re|ve)\b)[^\W\d_]+)*")
#: In-word apostrophes: a word's letters are compared without them ("Pape'ete" = "Papeete").
_APOSTROPHES = str.maketrans("", "", "'’ʻ`")
#: Whether a text has an in-word apostrophe (where ``_TOKEN`` and ``_ASCII_TOKEN`` differ).
_IN_WORD_APOSTROPHE = re.compile(r"[^\W_]['’ʻ`](?!(?:s|t|d|m|ll|re|ve)\b)[^\W\d_]")


def _ascii_in_word_apostrophe(text: str) -> bool:
    """``_IN_WORD_APOSTROPHE.search`` of an ASCII text, where only ' and ` can be one: the regex
    (which tries every position) runs only when one is there."""
    return ("'" in text or "`" in text) and _IN_WORD_APOSTROPHE.search(text) is not None
_OUTER_PUNCT = " \t.!?,;:\"'`*_()[]{}<>“”‘’«»-–—"


#: In an ASCII string, ``_TOKEN`` is this; the split form keeps the gaps between tokens.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")
_ASCII_SPLIT = re.compile(r"([A-Za-z0-9]+)")


#: Capitalised words that never start a candidate of their own: particles (trimmed from a
#: range's ends) and stop words that are not place nouns (which could make "Belize City").
_INERT = _PARTICLES | (STOP_WORDS - _PLACE_NOUNS)


def _lo(token: str) -> str:
    lo = token.lower() if token.isascii() else normalize(token)
    return lo if lo.isalnum() else lo.translate(_APOSTROPHES)


def loose(text: str) -> str:
    """Lowercased, accent-free words of ``text`` joined by single spaces; punctuation is a break.

    >>> loose("Washington, D.C.")
    'washington d c'
    """
    if text.isascii() and not _ascii_in_word_apostrophe(text):
        return " ".join(_TOKEN.findall(text.lower()))
    return " ".join(_lo(t) for t in _TOKEN.findall(text))


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
