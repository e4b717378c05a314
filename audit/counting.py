"""Counting fact occurrences: the ``FactCounter`` interface and its exact implementation.

A counter maps fact id -> (relation, count). Every counter speaks the same verbs as datasketch's
sketches: ``update``, ``update_batch``, ``merge``, ``copy``, ``is_empty``, ``__eq__``,
``to_bytes`` / ``from_bytes``; and ``stats(relation)`` summarises it for the report. Counters are
monoids: ``FactCounter.empty(config_id)`` is the identity of ``merge`` (and ``+``), so shard
results combine in any order. The bounded-memory sketch in ``audit.sketch`` implements the same
interface and takes over when the distinct facts outgrow memory.
"""

from __future__ import annotations

import itertools
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from audit.errors import MergeError
from audit.sealed import U64_MAX, open_sealed, seal

#: Frequency-of-frequencies buckets (THEORY.md sec. 6, Kandpal et al. 2023): label, lo, hi.
BUCKETS: tuple[tuple[str, int, float], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-5", 3, 5),
    ("6-10", 6, 10),
    ("11-100", 11, 100),
    (">100", 101, float("inf")),
)


def bucket_of(count: int) -> str:
    """Histogram bucket label of a positive count ("0" for zero)."""
    if count <= 0:
        return "0"
    for label, lo, hi in BUCKETS:
        if lo <= count <= hi:
            return label
    raise AssertionError("unreachable")


@dataclass
class CountStats:
    """Summary of a counter (overall or one relation). Estimates carry standard errors; an exact
    counter reports them as 0."""

    n: float = 0  # N: mentions
    distinct: float = 0  # distinct facts seen
    n1: float = 0  # facts seen exactly once
    histogram: dict[str, float] = field(default_factory=lambda: {b[0]: 0 for b in BUCKETS})
    exact: bool = True
    se_distinct: float = 0.0
    se_n1: float = 0.0
    se_singleton_rate: float = 0.0

    @property
    def singleton_rate(self) -> float:
        """sr = N1 / N (THEORY.md sec. 2, the paper's Definition 2); 0 for an empty corpus."""
        return self.n1 / self.n if self.n else 0.0


class FactCounter(Protocol):
    """What ``corpus`` needs from a counter; exact and sketch counters both provide it."""

    config_id: str

    def update(self, fact: str, relation: str, n: int = 1) -> None: ...
    def update_batch(self, items: Iterable[tuple[str, str]]) -> None: ...
    def merge(self, other: FactCounter) -> None: ...
    def copy(self) -> FactCounter: ...
    def is_empty(self) -> bool: ...
    def stats(self, relation: str | None = None) -> CountStats: ...
    def relations(self) -> list[str]: ...
    def items(self) -> Iterator[tuple[str, str, int]]: ...
    def to_bytes(self) -> bytes: ...


class ExactCounter:
    """Exact counts in a dict: right while the distinct facts fit in memory.

    Serialized layout (all integers little-endian; the frame of ``audit.sealed``):

    ====== ======= ===========================================================
    offset size    field
    ====== ======= ===========================================================
    0      8       magic ``b"HAEXACT\\x00"``
    8      2       format version (uint16), currently 2
    10     4       length L of the config id (uint32)
    14     L       config id, UTF-8
    14+L   8       length M of the body (uint64)
    22+L   M       body: orjson array of ``[fact, relation, count]``, strictly sorted by
                   fact, count an integer >= 0
    22+L+M 4       CRC-32 (uint32, ``zlib.crc32``) of bytes 0 .. 22+L+M-1
    ====== ======= ===========================================================

    Version 1 (no checksum) is refused with a message saying so.
    """

    MAGIC = b"HAEXACT\x00"
    VERSION = 2

    __slots__ = ("config_id", "_counts", "_relation")

    def __init__(self, config_id: str = "") -> None:
        self.config_id = config_id
        self._counts: dict[str, int] = {}
        self._relation: dict[str, str] = {}

    @classmethod
    def empty(cls, config_id: str = "") -> ExactCounter:
        return cls(config_id)

    @classmethod
    def of_counts(
        cls, config_id: str, facts: Sequence[str], relations: Sequence[str], counts: Sequence[int]
    ) -> ExactCounter:
        """The counter of the distinct ``facts`` (of ``relations``) seen ``counts`` times, in that
        order; a count of 0 lists the fact as unseen (``add_zero``). Built in one pass: the same
        counter as ``add_zeros`` and then ``update(fact, relation, count)`` for each fact seen."""
        out = cls(config_id)
        out._relation = dict(zip(facts, relations, strict=True))
        out._counts = dict(itertools.compress(zip(facts, counts, strict=True), counts))
        return out

    # -- verbs ---------------------------------------------------------------------------------
    def update(self, fact: str, relation: str, n: int = 1) -> None:
        counts = self._counts
        if fact in counts:
            counts[fact] += n
        else:
            counts[fact] = n
            self._relation[fact] = relation

    def update_batch(self, items: Iterable[tuple[str, str]]) -> None:
        counts, rel = self._counts, self._relation
        for fact, relation in items:
            if fact in counts:
                counts[fact] += 1
            else:
                counts[fact] = 1
                rel[fact] = relation

    def add_zero(self, fact: str, relation: str) -> None:
        """Register a reference fact that may never be seen, so it is reported with count 0."""
        if fact not in self._relation:
            self._relation[fact] = relation

    def add_zeros(self, items: Iterable[tuple[str, str]]) -> None:
        """``add_zero`` for many (fact, relation) pairs at once (a whole reference table)."""
        known = self._relation
        self._relation = dict(items)
        self._relation.update(known)

    def merge(self, other: FactCounter) -> None:
        if not isinstance(other, ExactCounter):
            raise MergeError(f"cannot merge {type(other).__name__} into an exact counter")
        if other.config_id != self.config_id and not (other.is_empty() or self.is_empty()):
            raise MergeError(f"cannot merge counters of different configs ({self.config_id} vs {other.config_id})")
        if self.is_empty() and not self.config_id:
            self.config_id = other.config_id
        counts = self._counts
        for fact, relation in other._relation.items():
            self._relation.setdefault(fact, relation)
        for fact, c in other._counts.items():
            counts[fact] = counts.get(fact, 0) + c

    def __add__(self, other: ExactCounter) -> ExactCounter:
        out = self.copy()
        out.merge(other)
        return out

    def copy(self) -> ExactCounter:
        out = ExactCounter(self.config_id)
        out._counts = dict(self._counts)
        out._relation = dict(self._relation)
        return out

    def is_empty(self) -> bool:
        return not self._relation

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ExactCounter)
            and self.config_id == other.config_id
            and self._counts == other._counts
            and self._relation == other._relation
        )

    def __len__(self) -> int:
        return len(self._counts)

    # -- reading -------------------------------------------------------------------------------
    def count(self, fact: str) -> int:
        return self._counts.get(fact, 0)

    def relations(self) -> list[str]:
        return sorted(set(self._relation.values()))

    def items(self) -> Iterator[tuple[str, str, int]]:
        """(fact, relation, count) for every known fact, zeros included, sorted by fact id."""
        counts = self._counts
        for fact in sorted(self._relation):
            yield fact, self._relation[fact], counts.get(fact, 0)

    def stats(self, relation: str | None = None) -> CountStats:
        st = CountStats()
        counts: Iterable[int] = self._counts.values()
        if relation is not None:
            rel = self._relation
            counts = [c for fact, c in self._counts.items() if rel[fact] == relation]
        # by distinct count value (a few hundred, not one a fact): tallied in C
        for c, k in Counter(counts).items():
            st.n += c * k
            st.distinct += k
            st.histogram[bucket_of(c)] += k
        st.n1 = st.histogram["1"]
        return st

    # -- serialization -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        cid = self.config_id.encode()
        body = orjson.dumps([[f, r, self._counts.get(f, 0)] for f, r in sorted(self._relation.items())])
        return seal(self.MAGIC, self.VERSION, struct.pack("<I", len(cid)), cid, struct.pack("<Q", len(body)), body)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, source: str = "<bytes>") -> ExactCounter:
        """Read ``to_bytes`` output; anything else is a ``FormatError`` (never another error)."""
        r = open_sealed(data, cls.MAGIC, cls.VERSION, "exact fact counter", source,
                        "count the corpus again with this version")  # fmt: skip
        cid = r.text("config id")
        rows = r.list_(r.json(r.blob("body"), "body"), "body")
        r.end()
        out = cls(cid)
        relation, counts = out._relation, out._counts
        prev = None
        for i, row in enumerate(rows):
            if not (isinstance(row, list) and len(row) == 3):
                r.list_(row, f"fact {i}", 3)
            fact, rel, count = row
            if not (isinstance(fact, str) and isinstance(rel, str) and type(count) is int and 0 <= count <= U64_MAX):
                r.str_(fact, f"fact {i} id")
                r.str_(rel, f"fact {i} relation")
                r.int_(count, f"fact {i} count")
            if prev is not None and not prev < fact:
                r.fail(f"facts not sorted or repeated at {fact!r}")
            prev = fact
            relation[fact] = rel
            if count:
                counts[fact] = count
        return out
