"""Bounded-memory fact counting: a consistent-hash sample of distinct facts (``SampleCounter``).

Why and how
-----------
``ExactCounter`` holds every distinct fact. Pretraining corpora can hold billions, so
``SampleCounter`` keeps at most ``capacity`` of them, chosen by a hash, and estimates the rest:

* Every fact gets a stable 64-bit hash ``h(fact)`` (``fact_hash``: BLAKE2b, 8-byte digest,
  salted with the config's seed; identical on every process and machine, unlike ``hash()``).
* The sketch keeps, with exact counts, the facts whose hash is below a threshold ``tau``.
  While the distinct facts fit, ``tau = 2**64`` and the sketch *is* an exact counter.
  Once they do not, ``tau`` becomes the (k+1)-th smallest hash of all distinct facts seen
  (k = capacity): a bottom-k sketch, i.e. adaptive threshold sampling (D. Ting, "Data sketches
  for disaggregated subset sum and frequent item estimation", SIGMOD 2018; E. Cohen and
  H. Kaplan, "Summarizing data using bottom-k sketches", PODC 2007).
* Because the hash is consistent, a sampled fact is sampled at every one of its mentions, so
  its count is exact; the sample is a sample of *distinct facts*, each kept with probability
  ``p = tau / 2**64``. The state depends only on the *set* of facts and their total counts,
  never on the order they arrived in, so merging shard sketches gives exactly the sketch of
  the whole run (a monoid; see ``merge``).
* N (mentions) is counted exactly and separately, overall and per relation.

Estimators (Horvitz-Thompson with the adaptive threshold, unbiased: Ting 2018, Thm. 3)
-------------------------------------------------------------------------------------------
For any set of facts defined by their counts (singletons, a histogram bucket, one relation),
with ``m`` of them in the sample: estimate ``X_hat = m / p``. So

    distinct_hat = m / p,   N1_hat = m1 / p,   hist_hat[b] = m_b / p,   sr_hat = N1_hat / N.

Standard errors. Treat each distinct fact as kept independently with probability ``p``
(Bernoulli sampling; conditional on tau this is exact up to the fixed-size correction
below). Then ``m1 ~ Binomial(N1, p)`` and

    Var(N1_hat) = Var(m1) / p**2 = N1 p (1 - p) / p**2 = N1 (1 - p) / p,

estimated by plugging in ``N1_hat``. Since N is exact, ``SE(sr_hat) = SE(N1_hat) / N``. The
same formula serves ``distinct_hat`` and each histogram bucket. Under bottom-k the sample size
is fixed, which makes m1 hypergeometric rather than binomial (variance smaller by a factor
``1 - N1/D``), but tau is random too, and the two effects cancel to first order:
``N1_hat = (m1/k) * (k/p)`` and the delta method gives
``D**2 q(1-q)/k + q**2 D**2/k = N1 D / k ~ N1 / p`` (q = N1/D). The formula is checked
against the spread over hash seeds in ``tests/test_sketch.py``.

HyperLogLog++ cross-check: every distinct fact also updates a HyperLogLog++ register array
(datasketch's ``HyperLogLogPlusPlus`` update rule on the same 64-bit hash, precision 14,
about 0.8% relative error), reported as ``SketchStats.distinct_hll`` for the whole counter.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import orjson

from audit.counting import BUCKETS, CountStats, ExactCounter, FactCounter, bucket_of
from audit.errors import ConfigError, FormatError, MergeError, OptionError
from audit.sealed import open_sealed, seal

TWO64 = 1 << 64
HLL_P = 14
#: Bytes of memory per kept fact at the worst moment: about 400 (three dict entries, a ~30
#: character fact id, the hash int; measured with tracemalloc) times 2 for the lazy pruning
#: buffer. ``capacity_for_memory`` uses it.
BYTES_PER_FACT = 800


def fact_hash(fact: str, seed: int = 1) -> int:
    """The stable 64-bit hash of a fact id: BLAKE2b-64 of its UTF-8, salted with ``seed``.

    >>> fact_hash("capital/france", 1) == fact_hash("capital/france", 1)
    True
    """
    return int.from_bytes(
        hashlib.blake2b(
            fact.encode(), digest_size=8, salt=(seed % TWO64).to_bytes(16, "little")
        ).digest(),
        "little",
    )


def capacity_for_memory(max_bytes: int) -> int:
    """The number of distinct facts a sketch may keep within about ``max_bytes`` of memory."""
    return max(16, int(max_bytes) // BYTES_PER_FACT)


#: The most distinct facts a bounded-memory counter may keep (about 880 TB at BYTES_PER_FACT):
#: anything above is a typo, and the sketch file stores the capacity in 64 bits.
MAX_FACTS = 1 << 40


def parse_memory(text: str, option: str = "--max-memory") -> int:
    """Parse ``"512M"``, ``"2G"``, ``"100k"`` or a plain number of bytes (positive, finite);
    ``OptionError`` names ``option``."""
    t = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    scale = 1
    if t and t[-1] in mult:
        t, scale = t[:-1], mult[t[-1]]
    try:
        value = float(t) * scale
    except ValueError:
        raise OptionError(option, f"cannot read size {text!r} (use e.g. 512M or 2G)") from None
    if not math.isfinite(value) or value < 1:
        raise OptionError(option, f"must be a positive size such as 512M or 2G, got {text!r}")
    if value > MAX_FACTS * BYTES_PER_FACT:
        raise OptionError(option, f"{text!r} is more than {MAX_FACTS * BYTES_PER_FACT >> 40}T")
    return int(value)


@dataclass
class SketchStats(CountStats):
    """``CountStats`` plus what only a sketch knows: per-bucket standard errors, the sampling
    rate, and the HyperLogLog++ cross-check of the distinct facts (whole counter only)."""

    se_histogram: dict[str, float] = field(default_factory=lambda: {b[0]: 0.0 for b in BUCKETS})
    sampling_rate: float = 1.0
    sampled_facts: int = 0
    distinct_hll: float | None = None


class SampleCounter:
    """Fact counter with bounded memory: exact until ``capacity`` distinct facts, a consistent
    bottom-k sample of distinct facts after that (see the module docstring).

    Serialized layout (all integers little-endian; the frame of ``audit.sealed``):

    ============== ======== =====================================================================
    offset         size     field
    ============== ======== =====================================================================
    0              8        magic ``b"HASKTCH\\x00"``
    8              2        format version (uint16), currently 2
    10             4        length L of the config id (uint32)
    14             L        config id, UTF-8
    14+L           8        capacity k (uint64, >= 1)
    22+L           8        hash seed (uint64)
    30+L           1        1 if sampling (threshold below 2**64), else 0 (uint8)
    31+L           8        threshold tau (uint64; >= 1 when sampling, 0 when the previous byte is 0)
    39+L           8        N, total mentions (uint64)
    47+L           1        HyperLogLog++ precision P (uint8), 14
    48+L           2**P     HyperLogLog++ registers (int8 each, 0 to 65 - P, datasketch's layout)
    48+L+2**P      8        length M of the body (uint64)
    56+L+2**P      M        body: orjson object ``{"relations": [[relation, N_rel], ...],
                            "facts": [[fact, relation, count], ...]}``, both strictly sorted by
                            their first item; N_rel >= 0 summing to N; count >= 1, every fact's
                            relation listed, the counts of a relation summing to at most its N_rel
    56+L+2**P+M    4        CRC-32 (uint32, ``zlib.crc32``) of every byte before it
    ============== ======== =====================================================================

    Hashes are not stored: ``from_bytes`` recomputes them and refuses a file whose facts do not
    all hash below its threshold, or that holds more than k facts. Version 1 (no checksum) is
    refused with a message saying so.
    """

    MAGIC = b"HASKTCH\x00"
    VERSION = 2

    __slots__ = (
        "config_id",
        "capacity",
        "seed",
        "_thr",
        "_n",
        "_n_rel",
        "_counts",
        "_relation",
        "_hash",
        "_hll",
        "_salt",
    )

    def __init__(self, config_id: str = "", capacity: int = 1_000_000, seed: int = 1) -> None:
        if capacity < 1:
            raise ConfigError(f"sketch capacity must be at least 1 fact, got {capacity}")
        self.config_id = config_id
        self.capacity = int(capacity)
        self.seed = int(seed) % TWO64
        self._salt = self.seed.to_bytes(16, "little")
        self._thr = TWO64  # keep facts with hash < _thr
        self._n = 0
        self._n_rel: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._relation: dict[str, str] = {}
        self._hash: dict[str, int] = {}
        self._hll = np.zeros(1 << HLL_P, dtype=np.int8)

    @classmethod
    def empty(cls, config_id: str = "", capacity: int = 1_000_000, seed: int = 1) -> SampleCounter:
        return cls(config_id, capacity, seed)

    # -- internals -----------------------------------------------------------------------------
    def _h(self, fact: str) -> int:
        return int.from_bytes(
            hashlib.blake2b(fact.encode(), digest_size=8, salt=self._salt).digest(), "little"
        )

    def _hll_add(self, h: int) -> None:
        # datasketch HyperLogLogPlusPlus.update: index = low P bits, rank from the rest.
        idx = h & ((1 << HLL_P) - 1)
        rank = (64 - HLL_P) - (h >> HLL_P).bit_length() + 1
        if rank > self._hll[idx]:
            self._hll[idx] = rank

    def _prune(self, limit: int) -> None:
        """Keep only the ``capacity`` smallest hashes once more than ``limit`` facts are held."""
        if len(self._counts) <= limit:
            return
        facts = list(self._hash)
        hashes = np.fromiter((self._hash[f] for f in facts), dtype=np.uint64, count=len(facts))
        kth = int(np.partition(hashes, self.capacity)[self.capacity])
        self._thr = min(self._thr, kth)
        for f, h in zip(facts, hashes.tolist(), strict=True):
            if h >= self._thr:
                del self._counts[f], self._hash[f], self._relation[f]

    def _canonical(self) -> None:
        # The state is a function of the facts seen (not of their order) once pruned to k.
        self._prune(self.capacity)

    # -- verbs ---------------------------------------------------------------------------------
    def update(self, fact: str, relation: str, n: int = 1) -> None:
        self._n += n
        self._n_rel[relation] = self._n_rel.get(relation, 0) + n
        counts = self._counts
        if fact in counts:
            counts[fact] += n
            return
        h = self._h(fact)
        self._hll_add(h)
        if h < self._thr:
            counts[fact] = n
            self._hash[fact] = h
            self._relation[fact] = relation
            if len(counts) > 2 * self.capacity:
                self._prune(self.capacity)

    def update_batch(self, items: Iterable[tuple[str, str]]) -> None:
        update = self.update
        for fact, relation in items:
            update(fact, relation)

    def add_zero(self, fact: str, relation: str) -> None:
        """Register a relation whose facts may never be seen (facts with count 0 are not kept:
        a sample of distinct *seen* facts cannot hold them)."""
        self._n_rel.setdefault(relation, 0)

    def _check_compatible(self, other: FactCounter) -> None:
        if not isinstance(other, SampleCounter):
            raise MergeError(f"cannot merge {type(other).__name__} into a sampling sketch")
        if other.capacity != self.capacity or other.seed != self.seed:
            raise MergeError(
                f"cannot merge sketches of different capacity or seed "
                f"(k={self.capacity} seed={self.seed} vs k={other.capacity} seed={other.seed})"
            )
        if other.config_id != self.config_id and not (other.is_empty() or self.is_empty()):
            raise MergeError(
                "cannot merge sketches of different configs "
                f"({self.config_id} vs {other.config_id})"
            )

    def merge(self, other: FactCounter) -> None:
        """Add ``other`` into this sketch. Exact: merging shard sketches gives the sketch of the
        whole run, in any order (a fact below both thresholds was counted exactly in both)."""
        self._check_compatible(other)
        assert isinstance(other, SampleCounter)
        if not self.config_id:
            self.config_id = other.config_id
        self._n += other._n
        for r, c in other._n_rel.items():
            self._n_rel[r] = self._n_rel.get(r, 0) + c
        np.maximum(self._hll, other._hll, out=self._hll)
        thr = min(self._thr, other._thr)
        if thr < self._thr:
            for f in [f for f, h in self._hash.items() if h >= thr]:
                del self._counts[f], self._hash[f], self._relation[f]
        self._thr = thr
        counts = self._counts
        for f, c in other._counts.items():
            h = other._hash[f]
            if h >= thr:
                continue
            if f in counts:
                counts[f] += c
            else:
                counts[f] = c
                self._hash[f] = h
                self._relation[f] = other._relation[f]
        self._prune(self.capacity)

    def union(self, other: SampleCounter) -> SampleCounter:
        out = self.copy()
        out.merge(other)
        return out

    __add__ = union

    def copy(self) -> SampleCounter:
        out = SampleCounter(self.config_id, self.capacity, self.seed)
        out._thr = self._thr
        out._n = self._n
        out._n_rel = dict(self._n_rel)
        out._counts = dict(self._counts)
        out._relation = dict(self._relation)
        out._hash = dict(self._hash)
        out._hll = self._hll.copy()
        return out

    def is_empty(self) -> bool:
        return self._n == 0 and not self._n_rel

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SampleCounter):
            return NotImplemented
        self._canonical()
        other._canonical()
        return (
            self.config_id == other.config_id
            and self.capacity == other.capacity
            and self.seed == other.seed
            and self._thr == other._thr
            and self._n == other._n
            and self._n_rel == other._n_rel
            and self._counts == other._counts
            and self._relation == other._relation
            and bool(np.array_equal(self._hll, other._hll))
        )

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        """Facts held (exact while not sampling)."""
        self._canonical()
        return len(self._counts)

    # -- reading -------------------------------------------------------------------------------
    @property
    def sampling_rate(self) -> float:
        """p = tau / 2**64: the probability a distinct fact is in the sample (1.0 while exact)."""
        self._canonical()
        return self._thr / TWO64

    @property
    def is_exact(self) -> bool:
        self._canonical()
        return self._thr == TWO64

    def count(self, fact: str) -> int | None:
        """Exact count of a fact in the sample; ``None`` when the fact is not sampled."""
        self._canonical()
        if fact in self._counts:
            return self._counts[fact]
        if self._thr == TWO64 or self._h(fact) < self._thr:
            return 0
        return None

    def relations(self) -> list[str]:
        return sorted(self._n_rel)

    def items(self) -> Iterator[tuple[str, str, int]]:
        """(fact, relation, count) of the sampled facts (all facts while exact), by fact id."""
        self._canonical()
        for fact in sorted(self._counts):
            yield fact, self._relation[fact], self._counts[fact]

    def distinct_hll(self) -> float:
        """HyperLogLog++ estimate of the distinct facts seen (datasketch's estimator)."""
        from datasketch import HyperLogLogPlusPlus

        return float(HyperLogLogPlusPlus(reg=self._hll.copy()).count())

    def stats(self, relation: str | None = None) -> SketchStats:
        """Estimates of N1, distinct facts and the histogram, with standard errors (module
        docstring); N is exact. ``exact`` is True while nothing has been sampled away."""
        self._canonical()
        p = self._thr / TWO64
        st = SketchStats()
        rel = self._relation
        m = 0
        for fact, c in self._counts.items():
            if relation is not None and rel[fact] != relation:
                continue
            m += 1
            st.histogram[bucket_of(c)] += 1
        st.n = self._n if relation is None else self._n_rel.get(relation, 0)
        st.sampled_facts = m
        st.sampling_rate = p
        if relation is None:
            st.distinct_hll = self.distinct_hll()
        if self._thr == TWO64:
            st.distinct = m
            st.n1 = st.histogram["1"]
            return st
        st.exact = False

        def se(x_hat: float) -> float:
            return (x_hat * (1.0 - p) / p) ** 0.5

        st.histogram = {b: v / p for b, v in st.histogram.items()}
        st.se_histogram = {b: se(v) for b, v in st.histogram.items()}
        st.distinct = m / p
        st.n1 = st.histogram["1"]
        st.se_distinct = se(st.distinct)
        st.se_n1 = st.se_histogram["1"]
        st.se_singleton_rate = st.se_n1 / st.n if st.n else 0.0
        return st

    # -- serialization -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        self._canonical()
        cid = self.config_id.encode()
        body = orjson.dumps(
            {
                "relations": sorted([r, c] for r, c in self._n_rel.items()),
                "facts": [[f, self._relation[f], self._counts[f]] for f in sorted(self._counts)],
            }
        )
        sampling = self._thr < TWO64
        return seal(
            self.MAGIC,
            self.VERSION,
            struct.pack("<I", len(cid)),
            cid,
            struct.pack(
                "<QQBQQB", self.capacity, self.seed, int(sampling), self._thr if sampling else 0, self._n, HLL_P
            ),
            self._hll.tobytes(),
            struct.pack("<Q", len(body)),
            body,
        )

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, source: str = "<bytes>") -> SampleCounter:
        """Read ``to_bytes`` output; anything else is a ``FormatError`` (never another error)."""
        r = open_sealed(data, cls.MAGIC, cls.VERSION, "fact-count sketch", source,
                        "count the corpus again with this version")  # fmt: skip
        cid = r.text("config id")
        k, seed, sampling, thr, total, p = r.unpack("QQBQQB", "sketch fields")
        if k < 1:
            r.fail("capacity 0")
        if sampling not in (0, 1):
            r.fail(f"sampling flag {sampling}, expected 0 or 1")
        if sampling and thr == 0:
            r.fail("sampling threshold 0 (no fact could be kept)")
        if not sampling and thr != 0:
            r.fail("a threshold without the sampling flag")
        if p != HLL_P:
            r.fail(f"HyperLogLog precision {p}, expected {HLL_P}")
        regs = np.frombuffer(r.take(1 << p, "HyperLogLog registers"), dtype=np.int8).copy()
        if (regs < 0).any() or (regs > 64 - HLL_P + 1).any():
            r.fail("HyperLogLog register out of range")
        doc = r.dict_(r.json(r.blob("body"), "body"), "body", {"relations", "facts"})
        r.end()
        out = cls(cid, k, seed)
        out._thr = thr if sampling else TWO64
        out._n = total
        out._hll = regs
        rels = r.list_(doc["relations"], "relations")
        for i, row in enumerate(rels):
            r.list_(row, f"relation {i}", 2)
            out._n_rel[r.str_(row[0], f"relation {i} name")] = r.int_(row[1], f"relation {i} N")
        r.sorted_unique([row[0] for row in rels], "relations")
        if sum(out._n_rel.values()) != total:
            r.fail(f"relation counts sum to {sum(out._n_rel.values()):,}, N is {total:,}")
        facts = r.list_(doc["facts"], "facts")
        if len(facts) > k:
            r.fail(f"{len(facts):,} facts held, capacity {k:,}")
        per_rel: dict[str, int] = {}
        prev = None
        for i, row in enumerate(facts):
            r.list_(row, f"fact {i}", 3)
            f = r.str_(row[0], f"fact {i} id")
            rel = r.str_(row[1], f"fact {i} relation")
            c = r.int_(row[2], f"fact {i} count", lo=1)
            if prev is not None and not prev < f:
                r.fail(f"facts not sorted or repeated at {f!r}")
            prev = f
            if rel not in out._n_rel:
                r.fail(f"fact {f!r} of unlisted relation {rel!r}")
            per_rel[rel] = per_rel.get(rel, 0) + c
            h = out._h(f)
            if h >= out._thr:
                r.fail(f"fact {f!r} hashes above the threshold")
            out._counts[f] = c
            out._relation[f] = rel
            out._hash[f] = h
        for rel, c in per_rel.items():
            if c > out._n_rel[rel]:
                r.fail(f"facts of relation {rel!r} count {c:,} mentions, its N is {out._n_rel[rel]:,}")
        return out


# -- choosing and loading counters -------------------------------------------------------------
def counter_spec(max_facts: int | None = None, max_memory: str | int | None = None) -> str:
    """The ``CorpusConfig.counter`` string for the CLI's ``--max-facts`` / ``--max-memory``."""
    if max_facts is not None and max_memory is not None:
        raise OptionError("--max-memory", "give --max-facts or --max-memory, not both")
    if max_memory is not None:
        nbytes = parse_memory(max_memory) if isinstance(max_memory, str) else int(max_memory)
        max_facts = capacity_for_memory(nbytes)
    if max_facts is None:
        return "exact"
    if not 1 <= max_facts <= MAX_FACTS:
        raise OptionError("--max-facts", f"must be between 1 and 2^40, got {max_facts}")
    return f"sample:{max_facts}"


def make_counter(config_id: str, counter: str = "exact", seed: int = 1) -> FactCounter:
    """An empty counter for a ``CorpusConfig``: ``counter`` is ``exact`` or ``sample:<k>``."""
    if counter == "exact":
        return ExactCounter(config_id)
    kind, _, k = counter.partition(":")
    if kind == "sample" and k.isdigit() and int(k) > 0:
        return SampleCounter(config_id, int(k), seed)
    raise ConfigError(f"unknown counter {counter!r} (expected exact or sample:<max facts>)")


def counter_from_bytes(data: bytes | memoryview, source: str = "<bytes>") -> FactCounter:
    """Load an ``ExactCounter`` or a ``SampleCounter`` by its magic."""
    magic = bytes(data[:8])
    if magic == SampleCounter.MAGIC:
        return SampleCounter.from_bytes(data, source)
    if magic == ExactCounter.MAGIC:
        return ExactCounter.from_bytes(data, source)
    raise FormatError("not a hallu-audit counter (bad magic)", path=source)
