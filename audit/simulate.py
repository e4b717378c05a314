"""Synthetic biography corpora with a known singleton rate (``hallu-audit simulate``).

The generative model is the one Theorem 2 of Kalai et al. (arXiv 2509.04664, sec. 3.3) assumes:
a *population* of F invented people, each with a birth date drawn uniformly at random (so an
unseen date cannot be inferred), and a prompt distribution p over them. The corpus is N i.i.d.
draws from p; each draw is one sentence stating the person's birth date, in one of several
paraphrase templates and date formats, among filler sentences that never name a person or a
date. Fresh draws from the same p (the *evaluation prompts*) are what a model trained on the
corpus should be asked: its error on them is the hallucination rate the theorem bounds, and the
probability mass of the people the corpus never mentions is the *exact* missing mass that the
singleton rate sr = N1/N estimates (Good-Turing, THEORY.md sec. 2).

Prompt distributions (``shape`` is the knob that moves sr):

- ``zipf``: p_i proportional to i^(-shape), shape >= 0 (0 = uniform). With F = 4N, shape 0 gives
  sr ~ 0.78 and shape 1.3 gives sr ~ 0.05.
- ``pareto``: p_i proportional to w_i, w_i i.i.d. Pareto(shape) with scale 1, shape > 0
  (heavier tails, lower sr, for smaller shape). This is the Pareto fact-repetition model of
  Miao & Kearns (2025).

``shape_for_singleton_rate`` finds the shape that gives an expected sr.

Counts are multinomial, drawn in chunks of ``CHUNK`` people (a binomial split per chunk, then a
multinomial inside it), so memory stays O(seen people) and the output is the same on every
machine for the same config: it depends on the seed and the config, not on the hardware. The
corpus text is streamed to disk; only the shuffled array of mentioned person ids (4 or 8 bytes per
mention) is held in memory.

Outputs:

- corpus JSONL: ``{"id": "doc-000000001", "text": "..."}`` per document (``.gz`` / ``.zst`` by
  extension);
- reference table JSONL in the format of ``audit.facts`` (``subject``, ``relation``
  ``"birth_date"``, ``object`` "14 March 1879", ``aliases`` ["March 14, 1879", "1879-03-14"],
  ``question``) for every person the corpus or the evaluation prompts mention;
- evaluation prompts JSONL: one row per distinct person drawn, with ``weight`` (how many of the
  fresh draws asked about them) and ``train_count`` (mentions in the corpus);
- the truth JSON (``kind`` ``hallu-audit/simulation-truth``): N, N1, sr, the exact missing
  mass, the histogram of counts, the number of plausible answers, and the config.

With ``hallu-audit corpus --facts REFS`` (sentence scope) the counts come out exactly as
generated: every mention sentence holds exactly one full name and one date, names are built from
syllable inventories disjoint from every other word used, and filler sentences hold no digits.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import hashlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import numpy as np
import orjson

import audit
from audit.counting import BUCKETS, bucket_of
from audit.errors import InputError, OptionError
from audit.facts import fact_id

RELATION = "birth_date"
DISTRIBUTIONS = ("zipf", "pareto")
#: Guards against typos such as -n 10^23 (which would overflow the 64-bit draws).
MAX_MENTIONS = 10**12
DATE_FORMATS = ("dmy", "mdy", "iso")
CHUNK = 1 << 20
BLOCK = 1 << 16  # mention sentences generated per batch of random draws
TRUTH_KIND = "hallu-audit/simulation-truth"

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

# -- names -----------------------------------------------------------------------------------------
# Syllable inventories. First names and last names use different shapes (last names always end in
# a suffix from _SUFFIX and have two vowels before it), so a first name is never a last name and
# one person's full name never occurs inside another's.
_ONSET = (
    "B", "D", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "V", "Z",
    "Br", "Dr", "Gr", "Tr", "Kel",
)  # fmt: skip
_VOWEL = ("a", "e", "i", "o", "u")
_MID = ("l", "n", "r", "v", "m", "d", "s", "th", "z", "ss")
_END = ("a", "o", "in", "en", "ia", "el", "an", "is")
_MID2 = ("rv", "nd", "lk", "st", "mb", "rg", "nt", "sk", "ld", "rb")
_SUFFIX = (
    "mar",
    "wick",
    "dell",
    "ton",
    "ford",
    "vane",
    "holt",
    "rin",
    "sby",
    "quist",
    "gard",
    "low",
)

# Filler: no digits, no capitalised word except the first, no word that is a name.
_F_SUBJ = (
    "the weather", "the harvest", "the old bridge", "the village market", "the river",
    "the local school", "the railway", "the town council", "the library", "the winter",
    "a traveller", "the newspaper", "the orchestra", "the museum", "the harbour",
)  # fmt: skip
_F_VERB = (
    "was quiet", "changed slowly", "drew many visitors", "was often discussed",
    "became famous", "needed repairs", "was mentioned in letters", "grew larger",
    "remained popular", "was described as pleasant",
)  # fmt: skip
_F_TAIL = (
    "", " that year", " in those days", " according to the letters", " for a long time",
    " during the summer", " after the storm", " among the neighbours",
)  # fmt: skip
_ADJ = ("small", "quiet", "busy", "coastal", "northern", "remote", "large", "hilly")
_PLACE = ("town", "village", "city", "valley", "harbour town", "farming district")
_OCCUPATION = (
    "teacher", "painter", "carpenter", "physician", "merchant", "poet", "engineer",
    "botanist", "sailor", "clockmaker", "librarian", "surveyor",
)  # fmt: skip

#: Mention templates: every one names the person before the date (a left-to-right model can learn
#: "NAME ... DATE"), holds one name and one date, and ends in one sentence.
TEMPLATES = (
    "{name} was born on {date}.",
    "{name} was born on {date} in a {adj} {place}.",
    "The records show that {name} was born on {date}.",
    "{name}, born {date}, worked as a {occupation}.",
    "{name} (born {date}) was a {occupation}.",
)
#: Relative frequencies of the templates; the first is also the evaluation prompt's form.
TEMPLATE_WEIGHTS = (4, 2, 1, 1, 1)
PROMPT = "{name} was born on"


def filler_words() -> frozenset[str]:
    """Every lowercase word a filler sentence or a template can contain (tests check that no
    name part is among them)."""
    words: set[str] = set()
    for group in (_F_SUBJ, _F_VERB, _F_TAIL, _ADJ, _PLACE, _OCCUPATION, TEMPLATES):
        for phrase in group:
            for w in phrase.replace("{", " ").replace("}", " ").replace(",", " ").split():
                words.add(w.strip(".()").lower())
    return frozenset(words)


def _first_pool() -> list[str]:
    return [o + v + m + e for o in _ONSET for v in _VOWEL for m in _MID for e in _END]


def _last_pool() -> list[str]:
    return [
        o + v1 + m + v2 + s for o in _ONSET for v1 in _VOWEL for m in _MID2 for v2 in _VOWEL
        for s in _SUFFIX
    ]  # fmt: skip


# -- config ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimConfig:
    """Everything that changes what ``simulate`` writes; ``id`` identifies it."""

    mentions: int = 10_000  # N
    population: int = 0  # F; 0 means 4 N
    distribution: str = "zipf"
    shape: float = 1.0
    seed: int = 1
    formats: tuple[str, ...] = ("dmy", "mdy")
    filler: float = 0.5  # filler sentences per mention sentence, on average
    mentions_per_doc: int = 3  # at most; each document holds 1..this many
    eval_prompts: int = 1000
    first_year: int = 1800
    last_year: int = 1999
    version: str = field(default=audit.__version__)

    @property
    def people(self) -> int:
        return self.population or 4 * self.mentions

    @property
    def answers(self) -> int:
        """Plausible answers per prompt (|E_c| + 1): the days in [first_year, last_year]."""
        return _ordinal(self.last_year, 12, 31) - _ordinal(self.first_year, 1, 1) + 1

    @property
    def id(self) -> str:
        blob = repr(sorted(asdict(self).items())).encode()
        return "sim-" + hashlib.sha256(blob).hexdigest()[:16]

    def validate(self) -> None:
        """Every option in range, before anything is written (``OptionError``, exit 2)."""
        if self.mentions < 1:
            raise OptionError("--mentions", f"must be at least 1, got {self.mentions}")
        if self.mentions > MAX_MENTIONS:
            raise OptionError("--mentions", f"must be at most {MAX_MENTIONS:.0e}, got {self.mentions}")
        if self.population < 0 or self.population > MAX_MENTIONS * 4:
            raise OptionError("--population", f"must be between 0 and {4 * MAX_MENTIONS:.0e}, got {self.population}")
        if self.seed < 0:
            raise OptionError("--seed", f"must be >= 0, got {self.seed}")
        if self.distribution not in DISTRIBUTIONS:
            raise OptionError(
                "--distribution", f"unknown distribution {self.distribution!r} (choose from {', '.join(DISTRIBUTIONS)})"
            )
        if (
            not math.isfinite(self.shape)
            or self.shape < 0
            or (self.distribution == "pareto" and self.shape <= 0)
        ):
            raise OptionError("--shape", f"must be >= 0 (zipf) or > 0 (pareto), got {self.shape}")
        if not self.formats or any(f not in DATE_FORMATS for f in self.formats):
            raise OptionError("--formats", f"must be among {', '.join(DATE_FORMATS)}")
        if not (math.isfinite(self.filler) and 0 <= self.filler <= 100):
            raise OptionError("--filler", f"must be between 0 and 100, got {self.filler}")
        if self.mentions_per_doc < 1:
            raise OptionError("--per-doc", f"must be at least 1, got {self.mentions_per_doc}")
        if not 0 <= self.eval_prompts <= MAX_MENTIONS:
            raise OptionError("--eval-prompts", f"must be between 0 and {MAX_MENTIONS:.0e}, got {self.eval_prompts}")
        if not 1 <= self.first_year <= self.last_year <= 9999:
            raise OptionError("--years", "must satisfy 1 <= FIRST <= LAST <= 9999")
        if self.people > len(_first_pool()) * len(_last_pool()):
            raise OptionError("--population", f"population {self.people} exceeds the name inventory")


def _ordinal(y: int, m: int, d: int) -> int:
    return _dt.date(y, m, d).toordinal()


# -- deterministic per-person attributes -----------------------------------------------------------
def _mix(x: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``x`` (uint64) keyed by ``seed``: a fixed pseudo-random function."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % (1 << 64))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class People:
    """Names and birth dates of the population, as pure functions of (config, person index)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        firsts, lasts = _first_pool(), _last_pool()
        # Use as few distinct name parts as the population needs (a word-level model then has a
        # small vocabulary), at least 2 * sqrt(F) of each, shuffled by the seed.
        k1 = min(len(firsts), max(16, math.ceil(2 * math.sqrt(cfg.people))))
        k2 = min(len(lasts), max(16, math.ceil(cfg.people / k1) * 2))
        if k1 * k2 < cfg.people:
            k2 = len(lasts)
            k1 = min(len(firsts), math.ceil(cfg.people / k2) + 1)
        rng = np.random.default_rng([cfg.seed, 7])
        self.firsts = [firsts[i] for i in rng.permutation(len(firsts))[:k1]]
        self.lasts = [lasts[i] for i in rng.permutation(len(lasts))[:k2]]
        self.space = k1 * k2
        # An affine permutation of [0, k1 k2) spreads indices over the name grid.
        a = int(rng.integers(1, self.space)) | 1
        while math.gcd(a, self.space) != 1:
            a += 2
        self._a, self._b = a, int(rng.integers(0, self.space))
        self._start = _ordinal(cfg.first_year, 1, 1)
        self._days = cfg.answers

    def name(self, i: int) -> str:
        j = (self._a * i + self._b) % self.space
        k1 = len(self.firsts)
        return f"{self.firsts[j % k1]} {self.lasts[j // k1]}"

    def date_offsets(self, idx: np.ndarray) -> np.ndarray:
        return (_mix(idx, self.cfg.seed) % np.uint64(self._days)).astype(np.int64)

    def date(self, offset: int) -> _dt.date:
        return _dt.date.fromordinal(self._start + int(offset))


def format_date(d: _dt.date, fmt: str) -> str:
    """``dmy`` "14 March 1879", ``mdy`` "March 14, 1879", ``iso`` "1879-03-14"."""
    if fmt == "dmy":
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    if fmt == "mdy":
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


# -- the prompt distribution ---------------------------------------------------------------------
def _chunk_weights(cfg: SimConfig, lo: int, hi: int) -> np.ndarray:
    if cfg.distribution == "zipf":
        return np.arange(lo + 1, hi + 1, dtype=np.float64) ** (-cfg.shape)
    rng = np.random.default_rng([cfg.seed, 11, lo // CHUNK])
    return rng.pareto(cfg.shape, hi - lo) + 1.0


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, CHUNK):
        yield lo, min(n, lo + CHUNK)


def _total_weight(cfg: SimConfig) -> float:
    return math.fsum(float(_chunk_weights(cfg, lo, hi).sum()) for lo, hi in _chunks(cfg.people))


def expected_singleton_rate(cfg: SimConfig) -> float:
    """E[N1] / N for the config's prompt distribution: sum_i N p_i (1 - p_i)^(N - 1) / N."""
    cfg.validate()
    total, n = _total_weight(cfg), cfg.mentions
    acc = 0.0
    for lo, hi in _chunks(cfg.people):
        p = _chunk_weights(cfg, lo, hi) / total
        acc += float((p * np.exp((n - 1) * np.log1p(-np.minimum(p, 1 - 1e-16)))).sum())
    return acc


def shape_for_singleton_rate(target: float, cfg: SimConfig, tol: float = 1e-4) -> float:
    """The shape at which ``expected_singleton_rate`` equals ``target`` (bisection).

    sr falls as the zipf exponent grows and rises with the Pareto shape; a target outside the
    reachable range raises ``OptionError`` naming the range.
    """
    if not 0 < target < 1:
        raise OptionError("--target-sr", f"must be in (0, 1), got {target}")
    if cfg.distribution == "zipf":
        lo, hi = 0.0, 4.0
    else:
        lo, hi = 0.05, 50.0

    def sr(shape: float) -> float:
        return expected_singleton_rate(_replace(cfg, shape=shape))

    s_lo, s_hi = sr(lo), sr(hi)
    if not min(s_lo, s_hi) <= target <= max(s_lo, s_hi):
        raise OptionError(
            "--target-sr",
            f"{target} is out of reach for {cfg.distribution} with N={cfg.mentions} "
            f"and population {cfg.people}: expected sr ranges over "
            f"[{min(s_lo, s_hi):.3f}, {max(s_lo, s_hi):.3f}]; change --population"
        )
    decreasing = s_lo > s_hi
    for _ in range(60):
        mid = (lo + hi) / 2 if cfg.distribution == "zipf" else math.sqrt(lo * hi)
        s = sr(mid)
        if abs(s - target) < tol:
            return round(mid, 6)
        if (s > target) == decreasing:
            lo = mid
        else:
            hi = mid
    return round((lo + hi) / 2, 6)


def _replace(cfg: SimConfig, **kw: Any) -> SimConfig:
    return SimConfig(**{**asdict(cfg), **kw})


def _draw(cfg: SimConfig, n: int, stream: int, total: float) -> Iterator[tuple[int, np.ndarray]]:
    """Multinomial(n, p) counts, chunk by chunk: (chunk start, counts)."""
    rng = np.random.default_rng([cfg.seed, stream])
    left_n, left_p = n, 1.0
    for lo, hi in _chunks(cfg.people):
        w = _chunk_weights(cfg, lo, hi) / total
        mass = float(w.sum())
        last = hi == cfg.people or left_p <= 0
        k = left_n if last else int(rng.binomial(left_n, min(1.0, max(0.0, mass / left_p))))
        counts = rng.multinomial(k, w / mass) if k and mass > 0 else np.zeros(hi - lo, np.int64)
        left_n -= k
        left_p -= mass
        yield lo, counts


# -- the result ----------------------------------------------------------------------------------
@dataclass
class SimTruth:
    """What was generated, exactly."""

    config: SimConfig
    n: int = 0
    n1: int = 0
    distinct: int = 0
    histogram: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in BUCKETS})
    missing_mass: float = 0.0
    expected_singleton_rate: float = 0.0
    documents: int = 0
    filler_sentences: int = 0
    eval_prompts: int = 0
    eval_distinct: int = 0
    eval_unseen: int = 0  # evaluation draws whose person the corpus never mentions
    reference_facts: int = 0

    @property
    def singleton_rate(self) -> float:
        return self.n1 / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "hallu-audit/simulation-truth", "schema": 1, "version", "config_id",
        "config", "relation", "N", "N1", "singleton_rate", "distinct_facts", "histogram",
        "missing_mass", "expected_singleton_rate", "answers", "documents", "filler_sentences",
        "eval": {"prompts", "distinct", "unseen"}, "reference_facts"}``."""
        return {
            "kind": TRUTH_KIND,
            "schema": 1,
            "version": audit.__version__,
            "config_id": self.config.id,
            "config": {**asdict(self.config), "formats": list(self.config.formats)},
            "relation": RELATION,
            "N": self.n,
            "N1": self.n1,
            "singleton_rate": self.singleton_rate,
            "distinct_facts": self.distinct,
            "histogram": self.histogram,
            "missing_mass": self.missing_mass,
            "expected_singleton_rate": self.expected_singleton_rate,
            "answers": self.config.answers,
            "documents": self.documents,
            "filler_sentences": self.filler_sentences,
            "eval": {
                "prompts": self.eval_prompts,
                "distinct": self.eval_distinct,
                "unseen": self.eval_unseen,
            },
            "reference_facts": self.reference_facts,
        }

    def to_json(self) -> bytes:
        return (
            orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
        )


# -- writing -------------------------------------------------------------------------------------
class _AtomicWriter:
    """A file written through ``audit.io.writing.open_output`` (atomic for a regular file);
    ``.gz`` and ``.zst`` paths are compressed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._ctx: Any = None
        self._wrap: Any = None

    def __enter__(self) -> IO[bytes]:
        from audit.io.writing import open_output

        self._ctx = open_output(self.path)
        raw = self._ctx.__enter__()
        if self.path.endswith(".gz"):
            self._wrap = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
        elif self.path.endswith((".zst", ".zstd")):
            import zstandard

            self._wrap = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        return self._wrap if self._wrap is not None else raw

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if self._wrap is not None and exc_type is None:
            try:
                self._wrap.close()
            except BaseException as err:
                self._ctx.__exit__(type(err), err, err.__traceback__)  # drops the temporary file
                raise
        return self._ctx.__exit__(exc_type, exc, tb)


def _filler(parts: list[int]) -> str:
    """A filler sentence from random integers (the 4th, the insertion point, is unused here)."""
    s = f"{_F_SUBJ[parts[0] % len(_F_SUBJ)]} {_F_VERB[parts[1] % len(_F_VERB)]}"
    s += f"{_F_TAIL[parts[2] % len(_F_TAIL)]}."
    return s[0].upper() + s[1:]


def simulate(
    cfg: SimConfig,
    corpus_path: str,
    facts_path: str,
    truth_path: str | None = None,
    eval_path: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimTruth:
    """Write the corpus, reference table, evaluation prompts and truth; return the truth.

    ``progress`` is called with the number of mention sentences written since its last call.
    """
    cfg.validate()
    people = People(cfg)
    total = _total_weight(cfg)
    truth = SimTruth(cfg, expected_singleton_rate=expected_singleton_rate(cfg))

    # 1. Counts: training mentions (stream 1) and fresh evaluation draws (stream 2).
    seen_idx: list[np.ndarray] = []
    seen_cnt: list[np.ndarray] = []
    eval_idx: list[np.ndarray] = []
    eval_cnt: list[np.ndarray] = []
    missing = 0.0
    train = _draw(cfg, cfg.mentions, 1, total)
    evals = _draw(cfg, cfg.eval_prompts, 2, total)
    for (lo, counts), (_, ecounts) in zip(train, evals, strict=True):
        nz = np.flatnonzero(counts)
        seen_idx.append(nz + lo)
        seen_cnt.append(counts[nz])
        unseen = counts == 0
        missing += float(_chunk_weights(cfg, lo, lo + len(counts))[unseen].sum())
        enz = np.flatnonzero(ecounts)
        eval_idx.append(enz + lo)
        eval_cnt.append(ecounts[enz])
    idx_dtype = np.int32 if cfg.people < 2**31 else np.int64
    s_idx = np.concatenate(seen_idx).astype(idx_dtype)
    s_cnt = np.concatenate(seen_cnt)
    e_idx = np.concatenate(eval_idx).astype(idx_dtype)
    e_cnt = np.concatenate(eval_cnt)
    del seen_idx, seen_cnt, eval_idx, eval_cnt

    truth.n = int(s_cnt.sum())
    truth.n1 = int((s_cnt == 1).sum())
    truth.distinct = len(s_idx)
    for c, k in zip(*np.unique(s_cnt, return_counts=True), strict=True):
        truth.histogram[bucket_of(int(c))] += int(k)
    truth.missing_mass = missing / total
    truth.eval_prompts = int(e_cnt.sum())
    truth.eval_distinct = len(e_idx)
    pos = np.searchsorted(s_idx, e_idx)
    pos_c = np.minimum(pos, max(len(s_idx) - 1, 0))
    in_train = (
        (pos < len(s_idx)) & (s_idx[pos_c] == e_idx) if len(s_idx) else np.zeros(len(e_idx), bool)
    )
    truth.eval_unseen = int(e_cnt[~in_train].sum())

    # 2. Reference table: everyone mentioned or asked about, by person index.
    ref_idx = np.union1d(s_idx, e_idx)
    offsets = people.date_offsets(ref_idx.astype(np.uint64))
    truth.reference_facts = len(ref_idx)
    with _AtomicWriter(facts_path) as fh:
        for i, off in zip(ref_idx.tolist(), offsets.tolist(), strict=True):
            fh.write(_fact_line(people, i, off))

    # 3. Evaluation prompts.
    if eval_path is not None:
        train_count = np.zeros(len(e_idx), np.int64)
        train_count[in_train] = s_cnt[pos_c[in_train]]
        e_off = people.date_offsets(e_idx.astype(np.uint64))
        with _AtomicWriter(eval_path) as fh:
            for i, off, w, tc in zip(
                e_idx.tolist(), e_off.tolist(), e_cnt.tolist(), train_count.tolist(), strict=True
            ):
                name = people.name(i)
                d = people.date(off)
                row = {
                    "id": fact_id(RELATION, name),
                    "subject": name,
                    "object": format_date(d, "dmy"),
                    "iso": format_date(d, "iso"),
                    "prompt": PROMPT.format(name=name),
                    "question": f"When was {name} born?",
                    "weight": w,
                    "train_count": tc,
                }
                fh.write(orjson.dumps(row) + b"\n")

    # 4. The corpus, in a seeded random order, written in blocks of mentions whose random
    # choices are drawn as arrays (a Python call per choice would dominate the run time).
    rng = np.random.default_rng([cfg.seed, 3])
    order = np.repeat(s_idx, s_cnt)
    del s_idx, s_cnt
    rng.shuffle(order)
    tw = np.asarray(TEMPLATE_WEIGHTS, np.float64)
    tw /= tw.sum()
    fmts = cfg.formats
    dates: dict[int, tuple[str, ...]] = {}  # day offset -> the date in each format
    doc_no = 0
    with _AtomicWriter(corpus_path) as fh:
        for start in range(0, len(order), BLOCK):
            block = order[start : start + BLOCK]
            nb = len(block)
            offs = people.date_offsets(block.astype(np.uint64)).tolist()
            tmpl = rng.choice(len(TEMPLATES), size=nb, p=tw).tolist()
            fmt = rng.integers(0, len(fmts), size=nb).tolist()
            adj = rng.integers(0, len(_ADJ), size=nb).tolist()
            place = rng.integers(0, len(_PLACE), size=nb).tolist()
            occ = rng.integers(0, len(_OCCUPATION), size=nb).tolist()
            sizes = rng.integers(1, cfg.mentions_per_doc + 1, size=nb)
            ends = np.cumsum(sizes)
            ends = np.append(ends[ends < nb], nb).tolist()
            n_fill = rng.poisson(cfg.filler, size=nb)  # per mention, summed per document
            fills = int(n_fill.sum())
            f_parts = rng.integers(0, 1 << 30, size=(fills, 4)).tolist()
            fi = 0
            lo = 0
            ids = block.tolist()
            for hi in ends:
                sentences = []
                for m in range(lo, hi):
                    off = offs[m]
                    ds = dates.get(off)
                    if ds is None:
                        d = people.date(off)
                        ds = dates[off] = tuple(format_date(d, f) for f in fmts)
                    sentences.append(
                        TEMPLATES[tmpl[m]].format(
                            name=people.name(ids[m]),
                            date=ds[fmt[m]],
                            adj=_ADJ[adj[m]],
                            place=_PLACE[place[m]],
                            occupation=_OCCUPATION[occ[m]],
                        )
                    )
                k = int(n_fill[lo:hi].sum())
                for parts in f_parts[fi : fi + k]:
                    sentences.insert(parts[3] % (len(sentences) + 1), _filler(parts))
                fi += k
                truth.filler_sentences += k
                doc_no += 1
                text = " ".join(sentences)
                fh.write(orjson.dumps({"id": f"doc-{doc_no:09d}", "text": text}) + b"\n")
                lo = hi
            if progress is not None:
                progress(nb)
        truth.documents = doc_no

    if truth_path is not None:
        with _AtomicWriter(truth_path) as fh:
            fh.write(truth.to_json())
    return truth


def _fact_line(people: People, i: int, offset: int) -> bytes:
    name = people.name(i)
    d = people.date(offset)
    return (
        orjson.dumps(
            {
                "id": fact_id(RELATION, name),
                "subject": name,
                "relation": RELATION,
                "object": format_date(d, "dmy"),
                "aliases": [format_date(d, "mdy"), format_date(d, "iso")],
                "question": f"When was {name} born?",
            }
        )
        + b"\n"
    )


def load_truth(path: str) -> dict[str, Any]:
    """Read a truth JSON written by ``simulate``."""
    try:
        with open(path, "rb") as fh:
            doc = orjson.loads(fh.read())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not a JSON truth file ({exc.msg})", path=path) from None
    if not isinstance(doc, dict) or doc.get("kind") != TRUTH_KIND:
        raise InputError(f"not a simulation truth file (expected kind {TRUTH_KIND!r})", path=path)
    return doc


@dataclass(frozen=True)
class SimPaths:
    """Where ``write_simulation`` puts its four files."""

    corpus: str
    facts: str
    eval: str
    truth: str


def paths_in(out_dir: str, compress: str = "") -> SimPaths:
    """The file names used in ``out_dir``; ``compress`` is "", "gz" or "zst" (corpus only)."""
    if compress not in ("", "gz", "zst"):
        raise OptionError("--compress", f"must be gz or zst, got {compress!r}")
    suffix = f".{compress}" if compress else ""
    return SimPaths(
        corpus=os.path.join(out_dir, f"corpus.jsonl{suffix}"),
        facts=os.path.join(out_dir, "refs.jsonl"),
        eval=os.path.join(out_dir, "eval.jsonl"),
        truth=os.path.join(out_dir, "truth.json"),
    )


def write_simulation(
    cfg: SimConfig,
    out_dir: str,
    compress: str = "",
    progress: Callable[[int], None] | None = None,
) -> tuple[SimTruth, SimPaths]:
    """``simulate`` into ``out_dir`` (created if needed): corpus, refs, eval prompts, truth."""
    paths = paths_in(out_dir, compress)
    cfg.validate()
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OptionError("OUT_DIR", f"{out_dir!r} exists and is not a folder")
    created = not os.path.isdir(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create folder: {exc.strerror or exc}", path=out_dir) from None
    try:
        truth = simulate(cfg, paths.corpus, paths.facts, paths.truth, paths.eval, progress)
    except BaseException:
        if created:  # leave no empty folder behind a failed run
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)
        raise
    return truth, paths


def parse_formats(spec: str) -> tuple[str, ...]:
    """``"dmy,mdy"`` -> ("dmy", "mdy"); ``OptionError`` names an unknown format."""
    formats = tuple(f.strip() for f in spec.split(",") if f.strip())
    bad = [f for f in formats if f not in DATE_FORMATS]
    if bad or not formats:
        raise OptionError(
            "--formats", f"{spec!r}: choose one or more of {', '.join(DATE_FORMATS)}, comma-separated"
        )
    return formats


def parse_years(spec: str) -> tuple[int, int]:
    """``"1800-1999"`` -> (1800, 1999)."""
    lo, sep, hi = spec.partition("-")
    try:
        first, last = int(lo), int(hi if sep else lo)
    except ValueError:
        raise OptionError("--years", f"{spec!r}: expected FIRST-LAST, e.g. 1800-1999") from None
    if not 1 <= first <= last <= 9999:
        raise OptionError("--years", f"{spec!r}: need 1 <= FIRST <= LAST <= 9999")
    return first, last
