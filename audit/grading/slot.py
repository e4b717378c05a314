"""The slot of an answer (the part that answers the question), echoes, and the kind of a name.

An answer's *slot* is where its value stands: the whole answer when it is short
(``SHORT_TOKENS`` words or fewer), else what follows the copula of the first sentence that
restates the question or names the subject before it ("The capital of Chad is ___",
"Greta Garbo was born in ___", "It is ___"; the copula of a relative clause that only restates
the question is skipped: "The metal that is liquid at room temperature is ___"). Answers that
lead with their value ("Paris is the capital") have no slot, and need none: the value is a
candidate wherever it stands.

The slot decides three things the candidate scan cannot:

- an *echo*: the slot holds only the subject (or a subject alias, or part of one), or a number
  copied from the question, and not the reference value: "Chad" for the capital of Chad, "The
  capital of Cabo Verde is Cabo." The answer attempts the question and is wrong;
- a *restated copy* of the question: a reference value inside it ("The capital of Djibouti is
  a port city") is the question's word, not the answer's;
- a *noun phrase* answer in lower case ("The animal was a bear."): the phrase after a
  determiner is the candidate when nothing else is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from audit.grading.names import _APOSTROPHES, _ASCII_TOKEN, _PARTICLES, _TOKEN, STOP_WORDS, _lo, _words

#: An answer of at most this many words is all slot ("Chad.", "It's Brunei.").
SHORT_TOKENS = 4
_COPULAS = _words("is are was were remains")
#: "s" after one of these is a copula ("It's Chad"); after another word, a possessive
#: ("Chad's capital"), which may stand in a restated question.
_CLITIC_HOSTS = _words("it that this there here what which who")
#: Words after which a copula is a relative clause's ("The metal that is liquid ... is").
_RELATIVES = _words("that which who")
#: Ends of a sentence: . ! ? before a blank or the end (not "St. Louis" or "D.C." inside a name:
#: a one-letter word or an abbreviation before the dot is skipped), or a line break.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_ABBREV_END = re.compile(r"(?:(?<!\w)\w|(?<!\w)(?:st|mt|ft|dr|jr|sr|mr|mrs|ms|prof|gen|col|lt|sgt|rev|fr))$", re.I)
#: Where the value phrase of a slot ends: a clause or a remark begins.
_PHRASE_END = re.compile(r"[,;:()\[\]]|\s[-–—]\s|\s(?:which|who|where|that|and is|but)\s")
#: Words a value phrase may open with ("is a bear", "is simply Paris").
_DETERMINERS = _words("a an the")
_OPENERS = _DETERMINERS | _words("just simply called named known as also still probably likely actually")

#: Nouns that name the kind of thing asked for, or a non-answer: a phrase holding one describes
#: ("a beautiful city", "the largest country", "a mystery") rather than names a value.
_CATEGORY = _words(
    """
    capital city cities country countries nation state states province region town village
    place river lake sea ocean mountain island continent world population people person year
    years date day month number name title author founder president king queen language
    currency official largest biggest smallest oldest famous best first last answer question
    thing things one mystery secret debate dispute controversy matter subject topic kingdom
    republic empire territory colony sultanate monarchy emirate principality
    """
)
_FUNCTION = STOP_WORDS - _CATEGORY
#: Nouns that classify what follows "of": "a type of sweet potato" names a sweet potato.
_CLASSIFIERS = _words("type kind sort form variety species breed brand class family genus style")

#: Words of regions and continents: a run of them (with compass words) names a region, never
#: a city or a person ("North Africa", "Western Europe", "the Middle East").
_REGION_WORDS = _words(
    """
    africa europe asia america americas oceania antarctica arctic caribbean mediterranean
    pacific atlantic balkans scandinavia sahara sahel levant maghreb polynesia melanesia
    micronesia indochina eurasia subcontinent siberia
    """
)
_COMPASS = _words(
    """
    north south east west northern southern eastern western central northeast northwest
    southeast southwest northeastern northwestern southeastern southwestern middle sub saharan
    latin far near the of
    """
)
#: The continents, and their adjectives (read as the continent: "North African" is "north
#: africa"). A continent is general knowledge and a short list; a region made of compass words
#: and one of these ("Southeast Asia", "Sub-Saharan Africa") is that continent at a finer grain.
CONTINENTS: dict[str, str] = {
    "africa": "africa", "african": "africa", "europe": "europe", "european": "europe",
    "asia": "asia", "asian": "asia", "america": "america", "american": "america",
    "americas": "america", "oceania": "oceania", "oceanian": "oceania",
    "antarctica": "antarctica", "antarctic": "antarctica", "australasia": "australasia",
    "australasian": "australasia", "eurasia": "eurasia", "eurasian": "eurasia",
}  # fmt: skip
#: Nationality and language adjectives that do not end like one ("Greek", "French").
_DEMONYMS = _words(
    """
    greek french dutch swiss thai irish scottish welsh english british american mexican cuban
    moroccan german spanish italian russian chinese japanese korean indian arab arabic persian
    turkish polish swedish danish finnish norwegian czech slovak serb croat bosnian hungarian
    romanian bulgarian ukrainian belgian austrian portuguese brazilian argentine argentinian
    chilean peruvian colombian venezuelan canadian australian egyptian african european asian
    latin celtic roman byzantine ottoman soviet slavic nordic basque catalan jewish muslim
    catholic buddhist hindu kurdish filipino vietnamese malay indonesian iranian
    iraqi israeli saudi afghan pakistani bangladeshi nepali tibetan mongolian kazakh uzbek
    """
)
_DEMONYM_ENDING = re.compile(r"(?:ian|ean|ese|ish)$")
#: Nouns of what a person is, after which a nationality adjective stands ("an Italian painter").
_ROLES = _words(
    """
    painter artist writer poet novelist composer musician singer actor actress scientist
    physicist chemist biologist mathematician philosopher politician leader general explorer
    architect engineer inventor ruler emperor monarch saint scholar author citizen national
    """
)
#: Words before a number that put it where a year stands ("born in 19.69", "was 14.73").
YEAR_POSITION = _words("in on around circa about approximately c year born is was")
#: A question or relation that asks for a place, or for a person (when there is no answer_type).
_PLACE_WORDS = re.compile(
    r"\b(?:capital|city|cities|town|village|country|birthplace|place|location|headquarters"
    r"|located|where)\b",
    re.I,
)
_REGION_QUESTION = re.compile(r"\b(?:continents?|continental|regions?|subcontinent|part of the world)\b", re.I)
_PERSON_QUESTION = re.compile(r"^\W*(?:who|whom|whose)\b", re.I)


#: Last words of the name of an organisation ("European Union", "United Nations", "African
#: Union Mission"): a body, never a currency, a language, a place or a person.
_ORG_HEADS = _words(
    """
    union community nations organization organisation association council committee commission
    league alliance federation confederation bank fund institute institution university college
    academy society agency corporation company court assembly parliament congress senate
    ministry bureau authority mission coalition
    """
)
#: The continents as nouns ("Asia", not "Asian"): with compass words a region, a place.
_CONTINENT_NOUNS = _words("africa europe asia america americas oceania antarctica australasia eurasia")


def organisation(text: str) -> bool:
    """Whether a name of two or more words ends with the word of a body: "European Economic
    Community", "the United Nations"."""
    words = text.split()
    return len(words) >= 2 and words[-1].lower().strip(".,;:()") in _ORG_HEADS


def continent_region(text: str) -> bool:
    """Whether ``text`` names a continent or a region of one with the continent's noun ("East
    Asia", "North Africa"; not the adjective "African")."""
    words = region_words(text)
    return words is not None and any(w in _CONTINENT_NOUNS for w, _, _ in tokens(text))


def code_like(text: str) -> bool:
    """Whether ``text`` is written like a code or a formula: one word with a digit, or with a
    capital letter after its first character ("H2O", "NaCl", "HCL", "ErB1"; not "Sulfic",
    "Natural Gas")."""
    if any(c.isspace() for c in text):
        return False
    return any(c.isdigit() for c in text) or any(c.isupper() for c in text[1:])


def region_words(text: str) -> tuple[str, ...] | None:
    """The words of a continent or a region of one, adjectives read as the continent
    ("North African" -> ("north", "africa"), "the Americas" -> ("the", "america")); None when
    ``text`` is not made of compass words and a continent ("Indian", "Sudan", "Middle East")."""
    lo = text.lower()
    # every key of CONTINENTS holds one of these, and tokens() keeps an ASCII word's letters as
    # they are but for apostrophes: most names stop here
    if text.isascii() and "'" not in lo and "`" not in lo and not (
        "afric" in lo or "europ" in lo or "asia" in lo or "americ" in lo or "oceani" in lo or "antarctic" in lo
    ):
        return None
    words = [t for t, _, _ in tokens(text)]
    if not words or not any(w in CONTINENTS for w in words):
        return None
    if not all(w in CONTINENTS or w in _COMPASS for w in words):
        return None
    return tuple(CONTINENTS.get(w, w) for w in words)


def semantic_type(
    answer_type: str | None, question: str | None, relation: str, obj: str | None = None
) -> str:
    """``region``, ``person``, ``place`` or ``other``: what a name answer must be, for the type
    filter. ``region``: the reference object (a name) is a continent ("Asia"), or a region of
    one ("South America", "West Africa") where the question or relation asks for a continent
    or region (so that "South Africa", asked as a country, is a place), whatever the
    answer_type says."""
    words = region_words(obj) if obj is not None else None
    if words is not None:
        bare = len([w for w in words if w not in _PARTICLES]) == 1
        if bare or _REGION_QUESTION.search(f"{relation.replace('_', ' ')} {question or ''}"):
            return "region"
    if answer_type is not None:
        return answer_type if answer_type in ("person", "place") else "other"
    if question and _PERSON_QUESTION.search(question):
        return "person"
    if _PLACE_WORDS.search(relation.replace("_", " ")) or (question and _PLACE_WORDS.search(question)):
        return "place"
    return "other"


def wrong_type(text: str, following: str, semantic: str) -> bool:
    """Whether a candidate name cannot be a value of a place or a person: a region ("North
    Africa") or a nationality adjective ("Greek", or "Moroccan city"); nor of a continent
    (``region``): anything but a continent or a region of one ("Malaysia", "the Pacific",
    "Indian", "land")."""
    if semantic == "region":
        return region_words(text) is None
    if semantic not in ("place", "person"):
        return False
    if text.isalpha() and text.isascii():
        words = [text.lower()]  # one plain word: most candidates
    else:
        words = [t for t, _, _ in tokens(text)]
    if not words:
        return False
    # "North Africa", "the Middle East", "North African": regions and their adjectives
    if all(w in _REGION_WORDS or w in _COMPASS or w in _DEMONYMS for w in words) and any(
        w in _REGION_WORDS or w in _DEMONYMS for w in words
    ):
        return True
    if len(words) == 1:
        w = words[0]
        if w in _DEMONYMS:
            return True
        # an adjective before a noun of a place or a person: "a Moroccan city", "the Venetian
        # painter" (before any other word it may be a name: "Damian won")
        nxt = following.lstrip().split(" ", 1)[0].rstrip(".,;:!?").lower()
        if _DEMONYM_ENDING.search(w) and (nxt in _CATEGORY or nxt in _ROLES):
            return True
    return False


Token = tuple[str, int, int]  # (lowercased word, start, end)
#: Whether a (lowercased) word is one of the subject, question or relation.
InContext = Callable[[str], bool]


def tokens(text: str) -> list[Token]:
    """The words of ``text`` as ``names`` compares them, with their offsets."""
    if text.isascii():
        low = text.lower()
        if "'" not in low and "`" not in low:
            # = _TOKEN's; each word found after the last (the gaps hold no letter or digit)
            out = []
            pos = 0
            find = low.find
            for w in _ASCII_TOKEN.findall(low):
                pos = find(w, pos)
                out.append((w, pos, pos + len(w)))
                pos += len(w)
            return out
        return [
            (g if g.isalnum() else g.translate(_APOSTROPHES), m.start(), m.end())
            for m in _TOKEN.finditer(low)
            for g in (m.group(),)
        ]
    return [(_lo(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


# Not frozen (treat it as immutable): a frozen dataclass sets each field through
# object.__setattr__, and a slot is made for most answers that have no value of the fact's kind.
@dataclass(slots=True)
class Slot:
    """Where an answer's value stands: ``start``-``end``, after the restated part
    ``restated_start``-``restated_end`` (both 0 for a short answer that is all slot)."""

    restated_end: int
    start: int
    end: int
    restated_start: int
    toks: list[Token]  # every word of the answer
    #: end of the value phrase (``value_phrase``), its words, and the restated part's words
    phrase_end: int
    phrase: list[Token]
    before: list[Token]

    @classmethod
    def make(
        cls,
        answer: str,
        toks: list[Token],
        restated: tuple[int, int],
        start: int,
        end: int,
        before: list[Token],
        after: list[Token],
    ) -> Slot:
        """``before``: the words of the restated part; ``after``: the words from ``start`` to
        ``end``, of which the value phrase is the ones before its end."""
        m = _PHRASE_END.search(answer, start, end)
        pe = m.start() if m else end
        phrase = after
        if after and after[-1][2] > pe:
            k = 0
            while after[k][2] <= pe:
                k += 1
            phrase = after[:k]
        return cls(restated[1], start, end, restated[0], toks, pe, phrase, before)


def _statements(answer: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each sentence that is not a question."""
    body = answer.rstrip(" \t.!")
    if not ("." in body or "!" in body or "?" in answer or "\n" in body):
        yield 0, len(answer)  # one statement: most answers
        return
    start = 0
    for m in _SENTENCE_END.finditer(answer):
        if m.group().startswith(".") and _ABBREV_END.search(answer, max(0, m.start() - 5), m.start()):
            continue
        if answer[start : m.start()].strip() and "?" not in m.group():
            yield start, m.start()
        start = m.end()
    if answer[start:].strip():
        yield start, len(answer)


def find_slot(answer: str, context: InContext, every: list[Token] | None = None) -> Slot | None:
    """The slot of ``answer``, or None.

    ``context``: whether a word is one of the subject, the question or the relation. A restated part is
    the text before the first copula of a sentence, when every word of it is a context word
    or a stop word; the slot runs from the copula to the end of that sentence. Failing that, a
    short answer is all slot (no restated part: 0). Questions ("What is the capital of
    France?") restate the question and answer nothing: they have no slot. ``every``:
    ``tokens(answer)``, when the caller has them.
    """
    if every is None:
        every = tokens(answer)
    for s, e in _statements(answer):
        toks = every if s == 0 and e == len(answer) else [t for t in every if s <= t[1] and t[2] <= e]
        for i, (lo, _, end) in enumerate(toks):
            if lo in _COPULAS or lo == "s" and i and toks[i - 1][0] in _CLITIC_HOSTS:
                if i and all(t in STOP_WORDS or t in _PARTICLES or t == "s" or context(t) for t, _, _ in toks[:i]):
                    # "The metal that is liquid at room temperature is ___": the copula of a
                    # relative clause that only restates the question is not the answer's
                    for k in range(i + 1, len(toks)) if toks[i - 1][0] in _RELATIVES else ():
                        t = toks[k][0]
                        if t in _COPULAS:
                            i, end = k, toks[k][2]
                            break
                        if not (t in STOP_WORDS or t in _PARTICLES or context(t)):
                            break
                    return Slot.make(answer, every, (s, toks[i - 1][2]), end, e, toks[:i], toks[i + 1 :])
                break
    if len(every) <= SHORT_TOKENS and "?" not in answer:
        return Slot.make(answer, every, (0, 0), 0, len(answer), [], every)
    return None


def restated_slots(answer: str, question: InContext) -> list[Slot]:
    """The slot of every sentence that restates the question word for word before its copula:
    every word there is a question word or a function word ("However, the highest mountain on
    Earth is ___"), not a category word the question lacks ("The largest city is ___" does not
    restate "What is the capital?"). ``question``: whether a word is one of the question's (or
    the subject's). Two such sentences with different values contradict each other."""
    every = tokens(answer)
    out = []
    for s, e in _statements(answer):
        toks = [t for t in every if s <= t[1] and t[2] <= e]
        for i, (lo, _, end) in enumerate(toks):
            if lo in _COPULAS:
                before = toks[:i]
                if (
                    all(t in _FUNCTION or t in _PARTICLES or question(t) for t, _, _ in before)
                    and any(question(t) and t not in STOP_WORDS for t, _, _ in before)
                ):  # "However, there are ...": no word of the question, no restatement
                    out.append(Slot.make(answer, every, (s, toks[i - 1][2]), end, e, before, toks[i + 1 :]))
                break
    return out


def value_phrase(answer: str, slot: Slot) -> tuple[int, int]:
    """The part of the slot that can hold the value: up to the first clause or remark."""
    return slot.start, slot.phrase_end


def restates(answer: str, slot: Slot, context: InContext) -> bool:
    """Whether the slot's value phrase only restates the question ("Djibouti is the capital of
    Djibouti": the value stands before the copula, not in the slot)."""
    return all(t in STOP_WORDS or t in _PARTICLES or context(t) for t, _, _ in slot.phrase)


def echo(
    answer: str,
    slot: Slot,
    subject: frozenset[str],
    filler: InContext,
    copied: Iterable[tuple[int, int]] = (),
) -> str | None:
    """The echoed text when the slot's value phrase is the subject: it opens (after "a", "the",
    "simply" and the like) with a subject word (``subject``: words of the subject names, or of
    the question for a question-only fact) or a value copied from the question (``copied``:
    their spans), and holds nothing else but stop words and ``filler`` (other words of the
    question and relation); else None."""
    toks = slot.phrase
    spans = list(copied)
    if not spans and not any(t in subject for t, _, _ in toks):
        # what follows needs a subject word in the value phrase or a copied value
        return None
    if slot.restated_end and toks:
        said = {t for t, _, _ in slot.before}
        content = {t for t in said if t not in _FUNCTION}
        if content and content == {t for t, _, _ in toks if t not in _FUNCTION}:
            return None  # "The currency of Brazil is the currency of Brazil": the question twice
        # "El Salvador is the capital of El Salvador": the slot restates the question about the
        # subject, so what stands before the copula is the answer, and it is the subject
        before = slot.before
        while before and before[0][0] in _DETERMINERS:
            before = before[1:]
        if (
            before
            and all(t in subject or t in _PARTICLES for t, _, _ in before)
            and any(t in said and t in subject for t, _, _ in toks)
            and any(t not in said and t not in _FUNCTION and filler(t) for t, _, _ in toks)
            and restates(answer, slot, filler)
        ):
            # the slot names the subject said before the copula and a word of the question that
            # part lacks ("the capital of"): not a description of the subject ("South Africa is
            # a country in Africa") nor the question said twice ("The currency of Brazil is the
            # currency of Brazil")
            return answer[before[0][1] : before[-1][2]]
    while toks and (toks[0][0] in _OPENERS or toks[0][0] in _CLITIC_HOSTS or toks[0][0] in _COPULAS):
        toks = toks[1:]  # "a", "simply"; in a short answer "it is", "it's"
    while toks and toks[0][0] == "s":
        toks = toks[1:]
    if not toks or toks[0][0] not in subject and not any(a <= toks[0][1] < b for a, b in spans):
        return None  # "a city in Lesotho", "in France": the subject is no value there
    for lo, ts, te in toks[1:]:
        copy = any(a <= ts and te <= b for a, b in spans)
        if not (copy or lo in subject or lo in STOP_WORDS or lo in _PARTICLES or filler(lo)):
            return None
    return answer[toks[0][1] : toks[-1][2]]


def code_word(answer: str, slot: Slot, context: InContext, structured: bool = False) -> tuple[int, int] | None:
    """The span of the word a slot opens with when it is written like a code ("is ni", "is
    cCaesium": at most three letters or digits, or a capital inside the word), for a reference
    that is a code or symbol; not a function word, a word of the question, or a fragment of a
    hyphenated word ("a non-toxic gas"). ``structured``: the reference is a formula or a code
    with digits or inner capitals ("O3", "NaCl"), and the word must be written like one
    (``code_like``: "18", not "gas"). Else None."""
    toks = slot.phrase
    i = 0
    while i < len(toks) and (toks[i][0] in _OPENERS or toks[i][0] in _COPULAS or toks[i][0] == "s"):
        i += 1
    if i >= len(toks):
        return None
    lo, s, e = toks[i]
    word = answer[s:e]
    if lo in STOP_WORDS and not word.isupper() or context(lo):
        return None  # "is unknown"; but "is I" (a capital letter) is written like a code
    if answer[e : e + 1] == "-" and answer[e + 1 : e + 2].isalpha() or s and answer[s - 1] == "-":
        return None  # "non" of "a non-toxic gas": a fragment of a word, no code
    if structured:
        return (s, e) if code_like(word) else None
    if len(word) <= 3 or any(c.isupper() for c in word[1:]):
        return s, e
    return None


def noun_phrase(
    answer: str, slot: Slot, context: InContext, short: bool
) -> tuple[int, int] | None:
    """The span of the noun phrase a slot names ("a bear" -> "bear"), or None.

    The phrase must open with a determiner (or be a short answer), run over lower-case words
    that are not function words, and hold no category noun ("a beautiful city") or context
    word.
    """
    toks = slot.phrase
    i = 0
    opened = short
    while i < len(toks) and toks[i][0] in _OPENERS:
        opened |= toks[i][0] in _DETERMINERS
        i += 1
    if not opened:
        return None
    for _ in range(3):
        j = i
        while j < len(toks) and toks[j][0] not in _FUNCTION and not toks[j][0].isdigit():
            if j > i and answer[toks[j - 1][2] : toks[j][1]] not in (" ", "-"):
                break
            j += 1
        if j == i or j - i > 4:
            return None
        nxt = toks[j][0] if j + 1 < len(toks) and answer[toks[j - 1][2] : toks[j][1]] == " " else ""
        if nxt == "of":
            # "a type of sweet potato": the value follows a classifier; "a land of contrasts":
            # the head of a description, no value
            if j - i > 1 or toks[i][0] not in _CLASSIFIERS:
                return None
        elif nxt in ("called", "named") and any(context(t) for t, _, _ in toks[i:j]):
            pass  # "a metal called aluminium" where the question asks for the metal
        else:
            break
        i = j + 1
        while i < len(toks) and toks[i][0] in _DETERMINERS:
            i += 1
    else:
        return None
    if any(t in _CATEGORY for t, _, _ in toks[i:j]) or any(context(t) for t, _, _ in toks[i:j]):
        return None
    if any(not answer[s:e].islower() for _, s, e in toks[i:j]):
        return None  # capitalised words are names, found (or dropped) by the name scan
    return toks[i][1], toks[j - 1][2]
