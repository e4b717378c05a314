"""Finding fact mentions in documents.

An extractor implements one method, ``mentions(doc)``, that yields ``Mention`` records; counting,
batching and the report live elsewhere. Two extractors:

- ``FactMatcher``: a reference table. A fact is mentioned once per sentence (``scope``) in which
  its subject (or a subject alias) and its object (or an object alias) both occur as whole-word
  sequences of the normalised text. All names of all facts go into one Aho-Corasick automaton,
  so a document costs one pass whatever the table size (100k+ facts).
- ``PatternExtractor`` (``audit.patterns``): open extraction with regexes.
"""

from __future__ import annotations

import abc
import itertools
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from audit.errors import ConfigError
from audit.facts import Fact
from audit.normalize import normalize
from audit.records import Document, Mention

SCOPES = ("sentence", "window", "doc")
#: Names of up to this many words also match with any gap written as punctuation plus a space.
MAX_GAP_WORDS = 4

# Bytes that separate words in the ASCII fast path: everything but letters and digits. Non-ASCII
# characters are kept (they are letters in practice after normalisation).
_WORD_TABLE = bytes(c if (chr(c).isalnum() or c >= 128) else 32 for c in range(256))
_NON_WORD = re.compile(r"[^\w]|_")


def word_view(text: str) -> str:
    """``text`` with every non-word character replaced by a space, length preserved.

    Padding keys and text with spaces then makes Aho-Corasick hits whole-word hits.
    """
    if text.isascii():
        return text.encode("ascii").translate(_WORD_TABLE).decode("ascii")
    return _NON_WORD.sub(" ", text)


# -- sentences ---------------------------------------------------------------------------------
#: Lowercase tokens that end with a period without ending a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st mt ft jr sr sen rep gen col capt lt sgt rev hon gov pres no vol pp ed "
    "eds fig vs etc al approx ca co corp inc ltd jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _sentence_end_regex() -> re.Pattern[str]:
    """One regex for sentence ends, so splitting runs in C: ``[.!?]`` (plus closing quotes or
    brackets) before whitespace, not after an abbreviation, an initial or a dotted abbreviation.

    Python lookbehinds need a fixed width, so abbreviations are grouped by length.
    """
    by_len: dict[int, list[str]] = {}
    for a in sorted(ABBREVIATIONS):
        by_len.setdefault(len(a), []).append(a)
    guards = "".join(rf"(?<!\b(?:{'|'.join(words)})\.)" for _, words in sorted(by_len.items()))
    # The lookbehinds sit after the period, so the engine only evaluates them at periods.
    # (?<!\b[a-z]\.) : "j. smith"; (?<!\.[a-z]\.) : "u.s. army", "d.c. is"
    return re.compile(rf"(?:[!?]|\.(?<!\b[a-z]\.)(?<!\.[a-z]\.){guards})[.!?]*[\"')\]]*(?=\s|$)")


_SENT_END = _sentence_end_regex()


def sentence_starts(text: str, lo: int = 0, hi: int | None = None) -> list[int]:
    """Offsets at which a new sentence starts, between ``lo`` and ``hi``.

    A sentence ends at ``.``, ``!`` or ``?`` (and closing quotes or brackets) before whitespace,
    except after a known abbreviation, a single-letter initial ("J. Smith") or a dotted
    abbreviation ("U.S."). Works on normalised (lowercased) text, so it cannot rely on case.
    Only boundaries between ``lo`` and ``hi`` matter for telling hits apart, so only that span
    is scanned.
    """
    return [m.end() for m in _SENT_END.finditer(text, lo, len(text) if hi is None else hi)]


# -- the extractor interface -------------------------------------------------------------------
class Extractor(abc.ABC):
    """Finds mentions in a document. Subclasses implement ``mentions`` only."""

    #: Distinct normalised objects per relation known before reading (reference tables).
    reference_objects: dict[str, int] = {}

    @abc.abstractmethod
    def mentions(self, doc: Document) -> Iterator[Mention]:
        """Yield every mention of a fact in ``doc``."""

    def describe(self) -> dict:
        return {}


@dataclass(slots=True)
class _Key:
    text: str
    subject_of: list[int]  # fact indices whose subject (or alias) this is
    is_object: bool


class FactMatcher(Extractor):
    """Co-occurrence of a reference fact's subject and object within a scope."""

    def __init__(self, facts: list[Fact], scope: str = "sentence", window: int = 0) -> None:
        import ahocorasick

        if scope not in SCOPES:
            raise ConfigError(f"unknown scope {scope!r} (choose from {', '.join(SCOPES)})")
        if scope == "window" and window <= 0:
            raise ConfigError("--scope window needs --window N with N >= 1 (words)")
        self.facts = facts
        self.scope = scope
        self.window = window
        keys: dict[str, int] = {}
        self._keys: list[_Key] = []
        self._objects: list[frozenset[int]] = []

        def key_ids(name: str) -> list[int]:
            # The word view keeps offsets, so "Washington, D.C." reads "washington  d c": a
            # punctuation mark before a space leaves two spaces. The key as written matches the
            # same punctuation in the text; for names of up to MAX_GAP_WORDS words, every gap
            # may also be one or two spaces, so "Washington D.C." in the table matches
            # "Washington, D.C." in the text and "St. Louis" matches "St Louis".
            view = word_view(normalize(name)).strip()
            words = view.split()
            variants = [view]
            if len(words) <= MAX_GAP_WORDS:
                for gaps in itertools.product((" ", "  "), repeat=max(0, len(words) - 1)):
                    variants.append(words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True)) if words else "")
            else:
                variants.append(" ".join(words))
            ids = []
            for text in dict.fromkeys(variants):
                if not text:
                    continue
                if text not in keys:
                    keys[text] = len(self._keys)
                    self._keys.append(_Key(text, [], False))
                ids.append(keys[text])
            return ids

        objects_by_relation: dict[str, set[str]] = {}
        for i, fact in enumerate(facts):
            for name in fact.subject_names:
                for kid in key_ids(name):
                    if not self._keys[kid].subject_of or self._keys[kid].subject_of[-1] != i:
                        self._keys[kid].subject_of.append(i)
            obj_ids = set()
            for name in fact.object_names:
                for kid in key_ids(name):
                    self._keys[kid].is_object = True
                    obj_ids.add(kid)
            if not obj_ids:
                raise ConfigError(f"fact {fact.id!r} has an object that normalises to nothing")
            self._objects.append(frozenset(obj_ids))
            objects_by_relation.setdefault(fact.relation, set()).add(normalize(fact.object))
        self.reference_objects = {r: len(o) for r, o in objects_by_relation.items()}
        automaton = ahocorasick.Automaton()
        for kid, key in enumerate(self._keys):
            automaton.add_word(f" {key.text} ", kid)
        if self._keys:
            automaton.make_automaton()
        self._automaton = automaton

    def describe(self) -> dict:
        return {"facts": len(self.facts), "names": len(self._keys), "scope": self.scope, "window": self.window}

    def mentions(self, doc: Document) -> Iterator[Mention]:
        if not self._keys:
            return
        text = normalize(doc.text)
        padded = f" {word_view(text)} "
        keys = self._keys
        subject_hits: list[tuple[int, int]] = []  # (position, key id)
        object_hits: dict[int, list[int]] = {}  # key id -> positions
        for end, kid in self._automaton.iter(padded):
            key = keys[kid]
            pos = end - len(key.text) - 1  # offset into ``text`` (padding removed)
            if key.subject_of:
                subject_hits.append((pos, kid))
            if key.is_object:
                object_hits.setdefault(kid, []).append(pos)
        if not subject_hits or not object_hits:
            return
        # Candidate facts: subject seen, and one of its object names seen, anywhere in the doc.
        candidates: dict[int, list[int]] = {}  # fact index -> subject positions
        for pos, kid in subject_hits:
            for fi in keys[kid].subject_of:
                if not self._objects[fi].isdisjoint(object_hits):
                    candidates.setdefault(fi, []).append(pos)
        if not candidates:
            return
        yield from self._scoped(doc, text, candidates, object_hits)

    def _scoped(self, doc, text, candidates, object_hits) -> Iterator[Mention]:
        facts = self.facts
        if self.scope == "doc":
            for fi, subj_pos in sorted(candidates.items()):
                f = facts[fi]
                yield Mention(f.id, f.relation, f.object, doc.id, min(subj_pos))
            return
        if self.scope == "sentence":
            span = [p for ps in candidates.values() for p in ps]
            span += [p for fi in candidates for kid in self._objects[fi] for p in object_hits.get(kid, ())]
            starts = sentence_starts(text, min(span), max(span) + 1)
            for fi, subj_pos in sorted(candidates.items()):
                subj_sent = {bisect_right(starts, p): p for p in sorted(subj_pos, reverse=True)}
                obj_sent = {bisect_right(starts, p) for kid in self._objects[fi] for p in object_hits.get(kid, ())}
                f = facts[fi]
                for sent in sorted(subj_sent.keys() & obj_sent):
                    yield Mention(f.id, f.relation, f.object, doc.id, subj_sent[sent])
            return
        # window: one mention per subject occurrence with an object name within N words.
        word_starts = [m.start() for m in re.finditer(r"\S+", text)]
        for fi, subj_pos in sorted(candidates.items()):
            obj_words = sorted(
                bisect_right(word_starts, p) for kid in self._objects[fi] for p in object_hits.get(kid, ())
            )
            f = facts[fi]
            for p in sorted(set(subj_pos)):
                w = bisect_right(word_starts, p)
                j = bisect_right(obj_words, w + self.window)
                if j and obj_words[j - 1] >= w - self.window:
                    yield Mention(f.id, f.relation, f.object, doc.id, p)
