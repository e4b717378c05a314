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
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter, not_
from typing import Any

import orjson

from audit.errors import ConfigError
from audit.facts import Fact, no_cycle_collection
from audit.normalize import normalize, normalize_texts
from audit.records import Document, Mention

SCOPES = ("sentence", "window", "doc")
#: Names of up to this many words also match with any gap written as punctuation plus a space.
MAX_GAP_WORDS = 4
#: Tables with more name keys than this are matched with the automaton that is cheaper to build.
COMPACT_KEYS = 600_000

MATCHER_MAGIC = b"HAMATCH\x00"
MATCHER_VERSION = 1
MATCHER_LAYOUT = """A built ``FactMatcher`` as bytes (``to_bytes``; ``audit.cache`` keeps one per table).

Integers little-endian, in the frame of ``audit.sealed``::

    offset  size  field
    0       8     magic b"HAMATCH\\x00"
    8       2     format version (uint16), currently 1
    10      4     length K of the table key (uint32)
    14      K     the table key, UTF-8 (``audit.cache.table_key``: the table's digest, the order of
                  its facts, this format and the normaliser's name, hashed)
    then, in order, each as a uint64 length followed by that many bytes:
                  header: orjson object with exactly the keys ``facts``, ``keys``, ``groups``,
                  ``subject_pairs``, ``object_pairs`` (counts) and ``automaton`` (``scan``
                  for the compiled scanner, ``daachorse``, ``pyahocorasick`` or ``none`` for a
                  table without names)
                  fact groups: int64 per fact, its object group (< groups)
                  subject offsets: int64 per key + 1, into the subject facts (0 first, rising,
                  subject_pairs last)
                  subject facts: int64 per (key, fact) pair, the facts the key is a subject
                  name of, rising within a key (< facts)
                  object offsets, object groups: the same for the object groups of each key
                  automaton: daachorse's own serialisation of its byte-wise automaton (it checks
                  what it reads), or for the compiled scanner and pyahocorasick the keys in id
                  order joined by newlines, UTF-8 (the scanner's table or the trie is built again
                  from them: a key holds no newline)
    last    4     CRC-32 of everything before it

Key ids are positions in the list of distinct keys: sorted for an automaton (it builds faster
from sorted keys), in the order first met for the compiled scanner.
"""

# Bytes that separate words in the ASCII fast path: everything but letters and digits. Non-ASCII
# characters are kept (they are letters in practice after normalisation).
_WORD_TABLE = bytes(c if (chr(c).isalnum() or c >= 128) else 32 for c in range(256))
# The space is left out: it stays a space, and it is most of the non-word characters, so the
# substitution has a fifth of the matches (it ran at 18 MB/s on prose with typographic quotes).
_NON_WORD = re.compile(r"[^\w ]|_")


def word_view(text: str) -> str:
    """``text`` with every non-word character replaced by a space, length preserved.

    Padding keys and text with spaces then makes Aho-Corasick hits whole-word hits.
    """
    if text.isascii():
        return text.encode("ascii").translate(_WORD_TABLE).decode("ascii")
    return _NON_WORD.sub(" ", text)


# The same for documents joined by " \n ": the newlines between them stay (no key holds one).
_JOINED_TABLE = _WORD_TABLE[:10] + b"\n" + _WORD_TABLE[11:]
_BMP_WORD: Any = None  # is each code point below 0x10000 a word character: made when first needed


def batch_view(text: str) -> tuple[bytes, Any]:
    """For ``text``, documents joined by " \\n ": the UTF-8 bytes of its word view with the
    newlines kept (what the automaton reads), and a ``uint8`` array of its characters, each the
    character where it is ASCII and 0 where it is not (the sentence test looks for ``.!?``). A
    batch's view is made in one pass: ``word_view`` per document ran at 18 MB/s on prose with
    typographic quotes, the table lookup below at several hundred, the compiled scanner's
    ``word_view`` at about a thousand."""
    import numpy as np

    global _BMP_WORD
    if text.isascii():
        raw = text.encode("ascii")
        return raw.translate(_JOINED_TABLE), np.frombuffer(raw, dtype=np.uint8)
    scanner = compiled_scanner()
    if scanner is not None:
        view, ascii = scanner.word_view(text)
        return view, np.frombuffer(ascii, dtype=np.uint8)
    if _BMP_WORD is None:
        _BMP_WORD = np.array([chr(c).isalnum() for c in range(0x10000)], dtype=bool)
        _BMP_WORD[10] = True
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    keep = _BMP_WORD[np.minimum(cps, 0xFFFF)]
    astral = np.flatnonzero(cps > 0xFFFF)
    if len(astral):
        keep[astral] = [chr(c).isalnum() for c in cps[astral].tolist()]
    view = np.where(keep, cps, np.uint32(32)).astype(np.uint32)
    return view.tobytes().decode("utf-32-le").encode("utf-8"), np.where(cps < 128, cps, 0).astype(np.uint8)


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


_HIT = [("start", "<i8"), ("end", "<i8"), ("key", "<i8")]

#: For a name of n words (2 <= n <= ``MAX_GAP_WORDS``): every way to write its n - 1 gaps.
_GAPS = {n: list(itertools.product((" ", "  "), repeat=n - 1)) for n in range(2, MAX_GAP_WORDS + 1)}


def name_keys(name: str) -> list[str]:
    """The automaton keys of one name: its normalised word view and, for names of up to
    ``MAX_GAP_WORDS`` words, every gap written as one or two spaces (the view's own gaps and
    a single-space join for longer names). Distinct keys; their order carries no meaning.

    The word view keeps offsets, so "Washington, D.C." reads "washington  d c": a punctuation
    mark before a space leaves two spaces. The key as written matches the same punctuation in
    the text; the gap variants let "Washington D.C." in the table match "Washington, D.C." in
    the text and "St. Louis" match "St Louis".
    """
    if name.isascii() and name.replace(" ", "").isalnum() and "  " not in name and name.strip() == name:
        view = name.lower()  # letters, digits and single spaces: normalised, it is its own view
    else:
        view = word_view(normalize(name)).strip()
    return view_keys(view)


def name_views(names: list[str], normalized: dict[str, str] | None = None) -> list[str]:
    """The stripped word view of each name (``normalized``: their ``normalize``, when known),
    made for all of them in one pass."""
    return [v.strip() for v in _joined_views(names, normalized).decode().split("\n")] if names else []


def _joined_views(names: list[str], normalized: dict[str, str] | None = None) -> bytes:
    """The word views of ``names`` joined by newlines, UTF-8, unstripped (a view holds no
    newline: a normalised name holds none)."""
    norms = [normalized[n] for n in names] if normalized is not None else [normalize(n) for n in names]
    return batch_view("\n".join(norms))[0]


def view_keys(view: str) -> list[str]:
    """``name_keys`` of the name whose stripped word view is ``view``."""
    words = view.split()
    n = len(words)
    if n <= 1:
        return words
    if n == 2:  # most names
        a, b = words
        one, two = f"{a} {b}", f"{a}  {b}"
        return [one, two] if view in (one, two) else [view, one, two]
    if n > MAX_GAP_WORDS:
        joined = " ".join(words)
        return [view] if view == joined else [view, joined]
    first, rest = words[0], words[1:]
    variants = {first + "".join([g + w for g, w in zip(gaps, rest, strict=True)]) for gaps in _GAPS[n]}
    variants.add(view)
    return list(variants)


def compiled_scanner() -> Any:
    """The compiled scanner module (``audit/_scan.c``, built by the install where a C compiler
    is at hand), or None: not built, or turned off with ``HALLU_AUDIT_SCANNER=library`` (the
    matcher then uses daachorse, or pyahocorasick for the largest tables; the same hits)."""
    import os

    if os.environ.get("HALLU_AUDIT_SCANNER", "").strip().lower() == "library":
        return None
    import importlib

    try:
        return importlib.import_module("audit._scan")
    except ImportError:
        return None


def _expand(offsets: Any, rows: Any) -> tuple[Any, Any]:
    """Compressed-row lookup: for each ``rows[i]``, the entries ``offsets[r]:offsets[r + 1]``;
    returns (i of each entry, entry index), concatenated."""
    import numpy as np

    scanner = compiled_scanner()
    if scanner is not None and offsets.dtype == np.int64 and rows.dtype == np.int64:
        owner, flat = scanner.expand(np.ascontiguousarray(offsets), np.ascontiguousarray(rows))
        return np.frombuffer(owner, dtype=np.int64), np.frombuffer(flat, dtype=np.int64)
    lo = offsets[rows]
    counts = offsets[rows + 1] - lo
    owner = np.repeat(np.arange(len(rows)), counts)
    flat = np.arange(int(counts.sum())) + np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return owner, flat


def _order(doc: Any, fact: Any, position: Any, n_facts: int) -> Any:
    """The permutation that sorts mentions by (document, fact, position): one sort of a packed
    key where the three fit in 63 bits (a fifteenth of ``np.lexsort``'s time at a batch's
    sizes), else ``np.lexsort``."""
    import numpy as np

    if not len(doc):
        return np.zeros(0, dtype=np.int64)
    span = int(position.max()) + 1
    docs = int(doc.max()) + 1
    if docs * n_facts * span < 1 << 63:
        return np.argsort((doc * n_facts + fact) * span + position, kind="stable")
    return np.lexsort((position, fact, doc))


def _member(values: Any, among: Any) -> Any:
    """``values`` in ``among``, elementwise. (Sorting ``among`` costs a sixth of ``np.unique``'s
    hash table at a batch's sizes, and repeats do not change a binary search's answer.)"""
    import numpy as np

    if not len(among):
        return np.zeros(len(values), dtype=bool)
    among = np.sort(among)
    at = np.searchsorted(among, values)
    at[at == len(among)] = 0
    return among[at] == values


@dataclass(slots=True)
class Matches:
    """The mentions of a reference table in a batch of documents, as arrays sorted by
    (document, fact, position): one row per mention."""

    doc: Any  # index of the document in the batch
    fact: Any  # index of the fact in the table
    position: Any  # offset of the subject into the document's normalised text
    texts: list[str]  # the normalised texts of the batch
    # with ``match(..., hits=True)``: every automaton hit as (document, start, end, key) arrays,
    # offsets into the document's normalised text (for ``--mentions``)
    hits: tuple[Any, Any, Any, Any] | None = None


class FactMatcher(Extractor):
    """Co-occurrence of a reference fact's subject and object within a scope.

    Built once per table: every distinct name key goes into the compiled scanner
    (``audit/_scan.c``: a hash table of the keys' word sequences) or, where that was not built,
    one byte-wise double-array Aho-Corasick automaton (daachorse); either gives the key's
    index for each hit, and the two give the same hits. Integer tables map a key
    to the facts it is the subject of and to the object groups it belongs to (one group per
    distinct set of object keys, so facts that share an object share its group). A batch of
    documents is matched in one automaton pass over their joined word views, and the hits are
    turned into mentions with array operations, so the cost per hit is a few machine words.
    """

    def __init__(self, facts: list[Fact], scope: str = "sentence", window: int = 0, keep_keys: bool = False,
                 normalized: dict[str, str] | None = None) -> None:  # fmt: skip
        """Build the matcher of ``facts``; ``keep_keys`` keeps what ``to_bytes`` needs of a
        table matched with pyahocorasick (its keys), until ``to_bytes``; ``normalized``: the
        ``normalize`` of the table's names, when the caller has it.

        The build works on distinct names, not facts (a table of people shares its subjects
        between relations and its places between people), and turns them into arrays at once."""
        import numpy as np

        self._setup(facts, scope, window)
        # The build makes millions of small objects and no cycles (a second of a 100k-fact
        # build went to the cycle collector)
        with no_cycle_collection():
            n_facts = len(facts)
            # columns of the facts, taken by C-level maps (a loop over the facts costs more)
            subjects = list(map(attrgetter("subject"), facts))
            objects = list(map(attrgetter("object"), facts))
            has_aliases = list(map(attrgetter("aliases"), facts))  # tuples: empty is false
            has_subject_aliases = list(map(attrgetter("subject_aliases"), facts))
            names = list(dict.fromkeys(itertools.chain(
                subjects, objects, *itertools.compress(has_subject_aliases, has_subject_aliases),
                *itertools.compress(has_aliases, has_aliases))))  # fmt: skip
            index = dict(zip(names, itertools.count()))
            scanner = compiled_scanner()
            patterns: list[str] | bytes
            if scanner is not None and names:
                # each name's keys (``view_keys``), numbered as first met, made in C: the same
                # keys in a fraction of the time
                patterns, raw_key, raw_off = scanner.name_keys(_joined_views(names, normalized), MAX_GAP_WORDS)
                name_key, name_off = np.frombuffer(raw_key, dtype=np.int64), np.frombuffer(raw_off, dtype=np.int64)
            else:
                keys_of = [view_keys(v) for v in name_views(names, normalized)]
                flat = list(itertools.chain.from_iterable(keys_of))
                patterns = sorted(set(flat))  # an automaton builds a third faster from sorted keys
                key_id = {k: i for i, k in enumerate(patterns)}
                name_key = np.fromiter(map(key_id.__getitem__, flat), dtype=np.int64, count=len(flat))
                name_off = np.zeros(len(keys_of) + 1, dtype=np.int64)
                np.cumsum(np.fromiter(map(len, keys_of), dtype=np.int64, count=len(keys_of)), out=name_off[1:])
                del key_id, flat, keys_of
            del names
            # (fact, subject name) pairs, then the subject keys of each fact
            pair_fact = array("q", range(n_facts))
            pair_name = array("q", map(index.__getitem__, subjects))
            for i in itertools.compress(range(n_facts), has_subject_aliases):
                aliases = facts[i].subject_aliases
                pair_fact.extend([i] * len(aliases))
                pair_name.extend(map(index.__getitem__, aliases))
            owner, at = _expand(name_off, np.frombuffer(pair_name, dtype=np.int64))
            subject_key, subject_fact = name_key[at], np.frombuffer(pair_fact, dtype=np.int64)[owner]
            # one object group per distinct set of object keys: first those of the facts without
            # object aliases, in the order of the facts, worked out once per distinct object name
            group_of_set: dict[tuple[int, ...], int] = {}
            object_name = np.fromiter(map(index.__getitem__, objects), dtype=np.int64, count=n_facts)
            no_aliases = np.fromiter(map(not_, has_aliases), dtype=bool, count=n_facts)
            at_fact = np.flatnonzero(no_aliases)
            distinct, first = np.unique(object_name[at_fact], return_index=True)
            # the keys of those names only, as one list (not every name's: a third of them)
            flat = _expand(name_off, distinct)[1]
            keys = name_key[flat].tolist()
            key_off = np.zeros(len(distinct) + 1, dtype=np.int64)
            np.cumsum(name_off[distinct + 1] - name_off[distinct], out=key_off[1:])
            group_of_name = np.full(len(index), -1, dtype=np.int64)
            bounds = key_off.tolist()
            for i, fi, a, b in zip(distinct.tolist(), at_fact[first].tolist(), bounds[:-1], bounds[1:], strict=True):
                obj = tuple(sorted(set(keys[a:b])))
                if not obj:
                    raise ConfigError(f"fact {facts[fi].id!r} has an object that normalises to nothing")
                group_of_name[i] = group_of_set.setdefault(obj, len(group_of_set))
            del keys, flat, bounds
            fact_group = group_of_name[object_name]
            kids, offs = (name_key.tolist(), name_off.tolist()) if any(has_aliases) else ([], [])
            for fi in itertools.compress(range(n_facts), has_aliases):  # then those with aliases
                ids = [index[name] for name in facts[fi].object_names]
                obj = tuple(sorted({k for i in ids for k in kids[offs[i] : offs[i + 1]]}))
                if not obj:
                    raise ConfigError(f"fact {facts[fi].id!r} has an object that normalises to nothing")
                fact_group[fi] = group_of_set.setdefault(obj, len(group_of_set))
            del index, kids, offs, group_of_name, subjects, objects, has_aliases, has_subject_aliases
            group_keys = list(group_of_set)
            del group_of_set
        n_keys = len(patterns)  # a list is emptied by the build
        self._build_automaton(patterns, keep_keys)
        if self._compiled:
            n_keys = self._automaton.n_keys()
        self.n_keys = n_keys
        self.n_groups = len(group_keys)
        self._fact_group = fact_group
        self._subject_off, self._subject_fact = self._csr(subject_key, subject_fact, n_keys, n_facts)
        g_key = np.fromiter((k for ks in group_keys for k in ks), dtype=np.int64)
        g_id = np.repeat(np.arange(len(group_keys), dtype=np.int64), [len(ks) for ks in group_keys])
        self._object_off, self._object_group = self._csr(g_key, g_id, n_keys, len(group_keys))

    def _build_automaton(self, patterns: list[str] | bytes, keep_keys: bool = False) -> None:
        """The automaton over ``patterns`` (the keys in id order; a list emptied unless
        ``keep_keys``; for the compiled scanner also the keys joined by newlines, UTF-8), and the
        scan's state."""
        import numpy as np

        self._automaton: Any = None
        self._key_length: Any = None
        self._patterns: list[str] | None = None  # kept for ``to_bytes`` where it needs them
        self._compiled = False
        scanner = compiled_scanner()
        if isinstance(patterns, bytes):  # joined keys: made for the compiled scanner
            if patterns:
                if scanner is None:
                    raise ValueError("keys joined for the compiled scanner, which this install lacks")
                self._automaton = scanner.Scanner(patterns)
                self._compiled = True
        elif patterns and scanner is not None:
            # a word at a time (``audit/_scan.c``): the same hits, built in a tenth of daachorse's
            # time, scanned at about twice its speed on name-dense text, in a fraction of the memory
            self._automaton = scanner.Scanner(patterns)
            self._compiled = True
        elif len(patterns) > COMPACT_KEYS:
            # pyahocorasick's trie takes about a third of daachorse's memory to build (170 vs 530
            # bytes a key), which keeps a million-fact table in bounds; it scans at about half
            # the speed
            import ahocorasick

            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            for kid, key in enumerate(patterns):
                automaton.add_word(f" {key} ", kid)
            self._key_length = np.fromiter(map(len, patterns), dtype=np.int64, count=len(patterns))
            if keep_keys:
                self._patterns = patterns
            else:
                patterns.clear()  # the caller's list too: the keys are not needed any more
            automaton.make_automaton()
            self._automaton = automaton
        elif patterns:
            import daachorse

            # byte-wise: about twice the speed of the character-wise automaton on the same text
            self._automaton = daachorse.DoubleArrayAhoCorasick([f" {k} ".encode() for k in patterns])
        self._hits: tuple[Any, Any, Any, Any] | None = None
        self._fact_keys: dict[int, set[int]] | None = None
        self._group_keys: dict[int, set[int]] | None = None

    def _setup(self, facts: list[Fact], scope: str, window: int) -> None:
        if scope not in SCOPES:
            raise ConfigError(f"unknown scope {scope!r} (choose from {', '.join(SCOPES)})")
        if scope == "window" and window <= 0:
            raise ConfigError("--scope window needs --window N with N >= 1 (words)")
        self.facts = facts
        self.scope = scope
        self.window = window

    # -- the built matcher as bytes (``audit.cache`` keeps it between runs) ---------------------
    def to_bytes(self, key: str) -> bytes:
        """The built matcher in the format of ``MATCHER_LAYOUT``, for the table named by ``key``.
        A pyahocorasick matcher must have been built with ``keep_keys``; it lets them go here."""
        from audit.sealed import seal

        kind = ("scan" if self._compiled else "pyahocorasick" if self._key_length is not None
                else "daachorse" if self._automaton else "none")  # fmt: skip
        header = orjson.dumps({"facts": len(self.facts), "keys": self.n_keys, "groups": self.n_groups,
                               "subject_pairs": len(self._subject_fact), "object_pairs": len(self._object_group),
                               "automaton": kind})  # fmt: skip
        if kind == "scan":
            automaton = self._automaton.joined()
        elif kind == "pyahocorasick":
            if self._patterns is None:
                raise ValueError("to_bytes needs a matcher built with keep_keys")
            automaton = "\n".join(self._patterns).encode()
            self._patterns = None
        else:
            automaton = self._automaton.serialize() if self._automaton is not None else b""
        parts = [struct.pack("<I", len(key.encode())), key.encode(), struct.pack("<Q", len(header)), header]
        for a in (self._fact_group, self._subject_off, self._subject_fact, self._object_off, self._object_group):
            raw = a.astype("<i8", copy=False).tobytes()
            parts += [struct.pack("<Q", len(raw)), raw]
        parts += [struct.pack("<Q", len(automaton)), automaton]
        return seal(MATCHER_MAGIC, MATCHER_VERSION, *parts)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, facts: list[Fact], key: str, scope: str = "sentence",
                   window: int = 0, source: str = "<bytes>") -> FactMatcher:  # fmt: skip
        """The matcher ``to_bytes`` wrote for ``facts`` under ``key``; ``FormatError`` for bytes
        that are not one (another format or version, damage, another table, a bad field)."""
        import numpy as np

        from audit.sealed import open_sealed

        r = open_sealed(data, MATCHER_MAGIC, MATCHER_VERSION, "matcher cache", source, "it is built again")
        if r.text("table key") != key:
            r.fail("made for another table")
        h = r.dict_(r.json(r.blob("header"), "header"), "header",
                    {"facts", "keys", "groups", "subject_pairs", "object_pairs", "automaton"})  # fmt: skip
        n_facts = r.int_(h["facts"], "facts")
        if n_facts != len(facts):
            r.fail(f"made for {n_facts:,} facts, the table has {len(facts):,}")
        n_keys, n_groups = r.int_(h["keys"], "keys", 0, 1 << 40), r.int_(h["groups"], "groups", 0, 1 << 40)
        kind = h["automaton"]
        if kind not in ("scan", "daachorse", "pyahocorasick", "none") or (kind == "none") != (n_keys == 0):
            r.fail(f"unknown automaton {kind!r}")

        def ints(field: str, n: int, hi: int) -> Any:
            raw = r.blob(field)
            if len(raw) != 8 * n:
                r.fail(f"{field} holds {len(raw):,} bytes, expected {8 * n:,}")
            a = np.frombuffer(raw, dtype="<i8").astype(np.int64, copy=False)
            if n and (a.min() < 0 or a.max() > hi):
                r.fail(f"{field} out of range")
            return a

        def offsets(field: str, n_values: int) -> Any:
            off = ints(field, n_keys + 1, n_values)
            if off[0] != 0 or off[-1] != n_values or (np.diff(off) < 0).any():
                r.fail(f"{field} are not offsets into {n_values:,} values")
            return off

        n_subject = r.int_(h["subject_pairs"], "subject_pairs", 0, 1 << 40)
        n_object = r.int_(h["object_pairs"], "object_pairs", 0, 1 << 40)
        fact_group = ints("fact groups", n_facts, n_groups - 1)
        subject_off = offsets("subject offsets", n_subject)
        subject_fact = ints("subject facts", n_subject, n_facts - 1)
        object_off = offsets("object offsets", n_object)
        object_group = ints("object groups", n_object, n_groups - 1)
        automaton = r.blob("automaton")
        r.end()
        self = cls.__new__(cls)
        self._setup(facts, scope, window)
        self.n_keys, self.n_groups = n_keys, n_groups
        self._fact_group, self._subject_off, self._subject_fact = fact_group, subject_off, subject_fact
        self._object_off, self._object_group = object_off, object_group
        if kind == "scan" and compiled_scanner() is None:
            r.fail("made with the compiled scanner, which this install lacks")
        if kind == "scan":
            try:  # the keys as they were written, joined by newlines: the scanner splits them
                self._build_automaton(bytes(automaton))
            except ValueError as exc:  # the scanner refuses a key it cannot hold
                r.fail(f"keys: {exc}")
            if not self._compiled or self._automaton.n_keys() != n_keys:
                r.fail(f"{self._automaton.n_keys() if self._compiled else 0:,} keys, expected {n_keys:,}")
        elif kind == "pyahocorasick":
            try:
                patterns = bytes(automaton).decode().split("\n")
            except UnicodeDecodeError:
                r.fail("keys are not UTF-8")
            if len(patterns) != n_keys:
                r.fail(f"{len(patterns):,} keys, expected {n_keys:,}")
            try:
                self._build_automaton(patterns)
            except ValueError as exc:  # the scanner refuses a key it cannot hold
                r.fail(f"keys: {exc}")
        else:
            self._build_automaton([])
            if kind == "daachorse":
                import daachorse

                try:  # daachorse checks the automaton it reads
                    self._automaton = daachorse.DoubleArrayAhoCorasick.deserialize(bytes(automaton))
                except ValueError as exc:
                    r.fail(f"automaton: {exc}")
        return self

    @staticmethod
    def _csr(key: Any, value: Any, n_keys: int, n_values: int) -> tuple[Any, Any]:
        """Offsets and values of the distinct (key, value) pairs, grouped by key."""
        import numpy as np

        order = np.lexsort((value, key))  # by key, then rising values
        key, value = key[order], value[order]
        if len(key):
            distinct = np.ones(len(key), dtype=bool)
            distinct[1:] = (key[1:] != key[:-1]) | (value[1:] != value[:-1])
            key, value = key[distinct], value[distinct]
        offsets = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=n_keys), out=offsets[1:])
        return offsets, value

    def describe(self) -> dict:
        return {"facts": len(self.facts), "names": self.n_keys, "scope": self.scope, "window": self.window}

    def mentions(self, doc: Document) -> Iterator[Mention]:
        m = self.match([doc.text])
        for fi, pos in zip(m.fact.tolist(), m.position.tolist(), strict=True):
            f = self.facts[fi]
            yield Mention(f.id, f.relation, f.object, doc.id, pos)

    def match(self, texts: list[str], hits: bool = False) -> Matches:
        """Every mention in a batch of document texts (see ``Matches``); with ``hits``, also
        every name found, for ``mention_details``."""
        m = self._match(texts, hits)
        if hits:
            m.hits = self._hits
        self._hits = None
        return m

    def _match(self, texts: list[str], hits_wanted: bool = False) -> Matches:
        import numpy as np

        self._hits = None

        norm = normalize_texts(texts)
        none = np.zeros(0, dtype=np.int64)
        empty = Matches(none, none, none, norm)
        if self._automaton is None or not texts:
            return empty
        lengths = np.fromiter(map(len, norm), dtype=np.int64, count=len(norm))
        # Documents joined by " \n ": no key holds a newline, so none spans two documents.
        bases = np.empty(len(norm), dtype=np.int64)
        bases[0] = 1
        np.cumsum(lengths[:-1] + 3, out=bases[1:])
        bases[1:] += 1
        text = " " + " \n ".join(norm) + " "
        data, chars = batch_view(text)
        if self._key_length is not None:  # pyahocorasick: (index of the last character, key)
            hits = list(self._automaton.iter(data.decode()))
            if not hits:
                return empty
            h = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=2 * len(hits)).reshape(-1, 2)
            kid, end = h[:, 1], h[:, 0]  # end: the space after the key
            pos = end - self._key_length[kid]
        else:
            if self._compiled:
                h = np.frombuffer(self._automaton.find(data), dtype="<i8").reshape(-1, 3)
                if not len(h):
                    return empty
            else:
                hits = self._automaton.find_overlapping(data)
                if not hits:
                    return empty
                # a structured row per hit: a quarter less time than a flat chain of its numbers
                h = np.fromiter(hits, dtype=_HIT, count=len(hits)).view(np.int64).reshape(-1, 3)
                del hits
            pos, kid = h[:, 0] + 1, h[:, 2]  # pos: the key's first byte (after its space)
            end = h[:, 1] - 1  # the byte after the key
            if len(data) != len(text):  # UTF-8 byte offsets -> character offsets
                char_of = np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80) - 1
                pos, end = char_of[pos], char_of[end]
        hit_doc = np.searchsorted(bases, pos, "right") - 1
        if hits_wanted:
            self._hits = (hit_doc, pos - bases[hit_doc], end - bases[hit_doc], kid)
        s_owner, s_flat = _expand(self._subject_off, kid)
        o_owner, o_flat = _expand(self._object_off, kid)
        if not len(s_owner) or not len(o_owner):
            return empty
        s_fact, s_pos, s_doc = self._subject_fact[s_flat], pos[s_owner], hit_doc[s_owner]
        o_group, o_pos, o_doc = self._object_group[o_flat], pos[o_owner], hit_doc[o_owner]
        # Candidates: a fact whose subject and one of whose object names occur in the same doc.
        n_groups = self.n_groups
        s_code = s_doc * n_groups + self._fact_group[s_fact]
        o_code = o_doc * n_groups + o_group
        keep = _member(s_code, o_code)
        if not keep.any():
            return empty
        s_fact, s_pos, s_doc, s_code = s_fact[keep], s_pos[keep], s_doc[keep], s_code[keep]
        keep = _member(o_code, s_code)
        o_group, o_pos, o_doc = o_group[keep], o_pos[keep], o_doc[keep]
        if self.scope == "window":
            fact, position, doc = self._window(norm, bases, s_fact, s_pos, s_doc, o_group, o_pos, o_doc)
        elif self.scope == "doc":
            keep = _member(s_doc * n_groups + self._fact_group[s_fact], o_doc * n_groups + o_group)
            fact, position, doc = s_fact[keep], s_pos[keep], s_doc[keep]
            order = _order(doc, fact, position, len(self.facts))
            fact, position, doc = fact[order], position[order], doc[order]
            first = np.ones(len(fact), dtype=bool)
            first[1:] = (fact[1:] != fact[:-1]) | (doc[1:] != doc[:-1])
            fact, position, doc = fact[first], position[first], doc[first]
        else:
            fact, position, doc = self._sentences(text, chars, bases, s_fact, s_pos, s_doc, o_group, o_pos)
        return Matches(doc, fact, position - bases[doc], norm)

    def _sentences(self, text, chars, bases, s_fact, s_pos, s_doc, o_group, o_pos) -> tuple[Any, Any, Any]:
        """One mention per (fact, sentence) holding both a subject and an object name of the fact,
        at the sentence's first subject hit.

        Only the text between two hits can tell them apart, so the sentence-end regex runs only
        on such gaps, and only on those holding a ``.``, ``!`` or ``?``: between a subject hit and
        the nearest object hit of its fact on either side (a farther one is in the same sentence
        only if the nearest is), and between consecutive subject hits that have an object in
        their sentence. A boundary never falls inside a name, so the regex finds the same
        sentence ends in a gap as over the whole text.
        """
        import numpy as np

        stops = np.flatnonzero((chars == 46) | (chars == 33) | (chars == 63))
        search = _SENT_END.search

        def boundary(lo: Any, hi: Any) -> Any:
            """A sentence starts in (lo, hi], elementwise (lo <= hi, both at a name's start)."""
            out = np.searchsorted(stops, hi) > np.searchsorted(stops, lo)
            idx = np.flatnonzero(out)
            if len(idx):
                pairs = zip(lo[idx].tolist(), hi[idx].tolist(), strict=True)
                out[idx] = [search(text, x, y + 1) is not None for x, y in pairs]
            return out

        span = len(text) + 1
        s_group = self._fact_group[s_fact]
        objects = np.sort(o_group * span + o_pos)
        at = np.searchsorted(objects, s_group * span + s_pos)
        doc_lo = bases[s_doc]
        ok = np.zeros(len(s_pos), dtype=bool)
        # the nearest object hit of the fact at or after the subject, in the same document
        right = objects[np.minimum(at, len(objects) - 1)] - s_group * span
        has = (at < len(objects)) & (right >= s_pos) & (right < span)
        has &= np.searchsorted(bases, np.where(has, right, 0), "right") - 1 == s_doc
        ok[has] = ~boundary(s_pos[has], right[has])
        # and the nearest one before it
        left = objects[np.maximum(at - 1, 0)] - s_group * span
        has = ~ok & (at > 0) & (left >= doc_lo) & (left <= s_pos)
        ok[has] = ~boundary(left[has], s_pos[has])
        fact, position, doc = s_fact[ok], s_pos[ok], s_doc[ok]
        order = _order(doc, fact, position, len(self.facts))
        fact, position, doc = fact[order], position[order], doc[order]
        first = np.ones(len(fact), dtype=bool)
        idx = np.flatnonzero((fact[1:] == fact[:-1]) & (doc[1:] == doc[:-1]))
        first[1:][idx] = boundary(position[idx], position[idx + 1])
        return fact[first], position[first], doc[first]

    def _window(self, norm, bases, s_fact, s_pos, s_doc, o_group, o_pos, o_doc) -> tuple[Any, Any, Any]:
        """One mention per subject occurrence with an object name within ``window`` words."""
        import numpy as np

        starts: list[int] = []
        for d in np.unique(s_doc).tolist():
            b = int(bases[d])
            starts += [m.start() + b for m in re.finditer(r"\S+", norm[d])]
        word_starts = np.asarray(starts, dtype=np.int64)
        s_word = np.searchsorted(word_starts, s_pos, "right")
        o_word = np.searchsorted(word_starts, o_pos, "right")
        n, span = self.n_groups, len(word_starts) + 2
        objects = np.sort((o_doc * n + o_group) * span + o_word)
        block = (s_doc * n + self._fact_group[s_fact]) * span
        lo = block + np.maximum(s_word - self.window, 0)
        hi = block + np.minimum(s_word + self.window, span - 1)
        keep = np.searchsorted(objects, hi, "right") > np.searchsorted(objects, lo, "left")
        fact, position, doc = s_fact[keep], s_pos[keep], s_doc[keep]
        order = _order(doc, fact, position, len(self.facts))
        fact, position, doc = fact[order], position[order], doc[order]
        first = np.ones(len(fact), dtype=bool)
        first[1:] = (fact[1:] != fact[:-1]) | (position[1:] != position[:-1]) | (doc[1:] != doc[:-1])
        return fact[first], position[first], doc[first]

    def mention_details(self, m: Matches) -> Iterator[tuple[int, int, int, int, int, int, int, int]]:
        """For each mention of ``m`` (from ``match(..., hits=True)``), in order: (document, fact,
        subject start, subject end, object start, object end, sentence start, sentence end),
        offsets into the document's normalised text. The subject is the longest name of the
        fact found at the mention's position; the object, the first object name of the fact in
        the mention's sentence (``doc`` scope: in the document; ``window``: within the window).
        """
        import numpy as np

        if not len(m.fact):
            return
        assert m.hits is not None
        if self._fact_keys is None:  # the inverse tables, made the first time they are needed
            self._fact_keys, self._group_keys = {}, {}
            for table, off, values in ((self._fact_keys, self._subject_off, self._subject_fact),
                                       (self._group_keys, self._object_off, self._object_group)):  # fmt: skip
                keys = np.repeat(np.arange(len(off) - 1), np.diff(off))
                for k, v in zip(keys.tolist(), values.tolist(), strict=True):
                    table.setdefault(v, set()).add(k)
        fact_keys, group_keys = self._fact_keys, self._group_keys
        assert group_keys is not None
        h_doc, h_start, h_end, h_kid = (a.tolist() for a in m.hits)
        by_doc: dict[int, list[tuple[int, int, int]]] = {}
        for d, a, b, k in zip(h_doc, h_start, h_end, h_kid, strict=True):
            by_doc.setdefault(d, []).append((a, b, k))
        starts: dict[int, list[int]] = {}
        words: dict[int, list[int]] = {}
        at: dict[int, list[int]] = {}  # each document's hit starts, sorted: its hits are found by bisection
        first: dict[tuple[int, int], tuple[int, int]] = {}  # ``doc`` scope: (document, group) -> object
        for d, fi, p in zip(m.doc.tolist(), m.fact.tolist(), m.position.tolist(), strict=True):
            text = m.texts[d]
            if d not in starts:
                starts[d] = [0, *sentence_starts(text)]
                by_doc[d].sort()
                at[d] = [a for a, _, _ in by_doc[d]]
            st, hits, hit_at = starts[d], by_doc[d], at[d]
            si = bisect_right(st, p) - 1
            lo, hi = st[si], (st[si + 1] if si + 1 < len(st) else len(text))
            group = int(self._fact_group[fi])
            subject_keys, object_keys = fact_keys[fi], group_keys[group]
            s_end = max(b for _, b, k in hits[bisect_left(hit_at, p) : bisect_right(hit_at, p)] if k in subject_keys)
            # the first hit (in (start, end, key) order) of an object key where the scope allows
            if self.scope == "sentence":
                i, j = bisect_left(hit_at, lo), bisect_left(hit_at, hi)
            elif self.scope == "window":
                if d not in words:
                    words[d] = [w.start() for w in re.finditer(r"\S+", text)]
                ws, w = words[d], bisect_right(words[d], p)
                # a hit's word index (bisect_right(ws, a)) grows with its start: the starts within
                # the window are one range, [ws[w - window - 1], ws[w + window])
                low_w, high_w = w - self.window - 1, w + self.window
                i = bisect_left(hit_at, ws[low_w]) if low_w >= 0 else 0
                j = bisect_left(hit_at, ws[high_w]) if high_w < len(ws) else len(hits)
            else:
                i, j = 0, len(hits)
            if self.scope == "doc" and (d, group) in first:
                o_start, o_end = first[d, group]
            else:
                o_start, o_end = next((hits[x][0], hits[x][1]) for x in range(i, j) if hits[x][2] in object_keys)
                if self.scope == "doc":
                    first[d, group] = (o_start, o_end)
            sentence = text[lo:hi]
            lo += len(sentence) - len(sentence.lstrip())
            yield d, fi, p, s_end, o_start, o_end, lo, lo + len(sentence.strip())
