"""Near-duplicate documents: vectorised MinHash signatures and a bounded-memory LSH Bloom index.

``--dedup exact`` marks a document whose normalised text was seen before (``ExactDeduper``);
``--dedup minhash`` marks one whose word-shingle Jaccard similarity to an earlier document is
likely above the threshold (``MinHashDeduper``). Both answer, per document in stream order,
"does this duplicate an earlier document?" (``seen`` / ``filter_batch``); the pipeline counts
facts of every document in the raw counts and only of non-duplicates in the distinct-source
counts.

How a signature is made, all in numpy over a whole batch of documents at once
-------------------------------------------------------------------------------
(The loops over bytes, words, bins and Bloom bits run in C where ``audit/_minhash.c`` was
built: the word hashes, shingles and bins, densification and the index; the same numbers,
without a numpy pass per operation.)

1. Documents are lowercased, joined with newlines and encoded once; ``np.frombuffer`` gives the
   bytes. A word is a maximal run of ASCII letters/digits or non-ASCII bytes.
2. Word hashes without a Python loop: with ``S[i] = sum_{j<i} b_j P**j (mod 2**64)`` (one
   ``cumsum``), the polynomial hash of the word ``[s, e)`` is ``(S[e] - S[s]) * P**-s`` (P odd,
   so invertible mod 2**64), finished with the murmur3 ``fmix64`` mixer.
3. Shingles: ``w`` consecutive word hashes of one document combined linearly with fixed odd
   constants, mixed again (a document shorter than ``w`` words gives one shingle).
4. One permutation hashing with optimal densification (A. Shrivastava, "Optimal Densification
   for Fast and Accurate Minwise Hashing", ICML 2017): each shingle hash is used once, its top
   32 bits choosing one of ``num_perm`` bins and its low 32 bits the value; a bin keeps its
   minimum (``np.minimum.at``). An empty bin i borrows the value of bin ``j = h(i, attempt)``
   for attempt 1, 2, ... until a non-empty bin is found (2-universal in i and attempt). The
   collision probability of bin i between two documents equals their Jaccard similarity, as
   with ``num_perm`` independent permutations, at one hash per shingle instead of ``num_perm``.

Signatures are ``uint32`` rows; ``to_datasketch`` wraps one as a ``datasketch.MinHash``
(``hashvalues=``), so ``MinHash.jaccard`` and datasketch's LSH indexes accept them.

The index
---------
``MinHashLSHBloom`` from datasketch needs ``pybloomfilter``; ``BloomLSH`` is the same design in
numpy: the bands and rows ``(b, r)`` come from datasketch's own optimiser for the threshold, a
band's key is datasketch's LSHBloom band hash (the sum of its ``r`` values mod 2**61-1), and each
band has one Bloom filter. A document is a near-duplicate when all Bloom bits of some band key
were set by earlier documents. Memory is fixed when the index is made: ``capacity`` documents at a
false-duplicate rate ``fp`` per document (each band filter gets ``fp / b``); past capacity the
false-duplicate rate grows, and ``BloomLSH.fill`` reports it.

Batching never changes answers: within a batch, the first document to set each Bloom bit is
recorded, so a document sees exactly the bits set by documents before it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from audit.errors import ConfigError
from audit.normalize import normalize

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_P = 0x100000001B3 * 2 + 1  # odd base of the polynomial word hash
_PINV = pow(_P, -1, 1 << 64)
_MERSENNE = np.uint64((1 << 61) - 1)
_EMPTY = np.uint64(1 << 32)  # above every bin value: marks an empty bin
_LOW32 = np.uint64(0xFFFFFFFF)
_WORD = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _WORD[_c] = True
_WORD[128:] = True
_WORD8 = _WORD.view(np.int8)

#: Bytes of text per signature batch: big enough for numpy to win, small enough for the cache.
CHUNK_BYTES = 1 << 21


def fmix64(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place on a uint64 array (and returned)."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def _consts(seed: int, n: int, tag: int) -> np.ndarray:
    """``n`` odd uint64 constants derived from ``seed`` (stable across machines)."""
    d = b"".join(
        hashlib.blake2b(f"{tag}:{seed}:{i}".encode(), digest_size=64).digest()
        for i in range((n + 7) // 8)
    )
    return np.frombuffer(d[: 8 * n], dtype="<u8").astype(np.uint64) | np.uint64(1)


class _Powers:
    """P**j and P**-j mod 2**64 for j < size, grown on demand (cumprod wraps mod 2**64)."""

    def __init__(self) -> None:
        self.pw = np.ones(1, dtype=np.uint64)
        self.ipw = np.ones(1, dtype=np.uint64)

    def get(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size > len(self.pw):
            size = max(size, 2 * len(self.pw))
            self.pw = np.empty(size, dtype=np.uint64)
            self.pw[0] = 1
            self.pw[1:] = np.cumprod(np.full(size - 1, _P, dtype=np.uint64))
            self.ipw = np.empty(size, dtype=np.uint64)
            self.ipw[0] = 1
            self.ipw[1:] = np.cumprod(np.full(size - 1, _PINV, dtype=np.uint64))
        return self.pw, self.ipw


_POWERS = _Powers()


def _compiled() -> Any:
    """The byte loops in C (``audit/_minhash.c``, built by the install where a C compiler is at
    hand), or None: the numpy formulas then give the same numbers."""
    import importlib

    try:
        return importlib.import_module("audit._minhash")
    except ImportError:
        return None


_C: Any = _compiled()


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the words of each text (lowercased), and the text index of each word."""
    low = [t.lower() for t in texts]
    lens = np.fromiter(
        (len(t) if t.isascii() else len(t.encode("utf-8", "surrogatepass")) for t in low),
        dtype=np.int64,
        count=len(low),
    )
    # a newline before each text and after the last: every word starts and ends inside data
    data = ("\n" + "\n".join(low) + "\n").encode("utf-8", "surrogatepass")
    starts_doc = np.cumsum(lens + 1) - lens  # byte offset of each text in data
    if _C is not None:
        h, st = _C.word_hashes(data)
        wh, s = np.frombuffer(h, dtype=np.uint64), np.frombuffer(st, dtype=np.int64)
    else:
        wh, s = _word_hashes_numpy(np.frombuffer(data, dtype=np.uint8))
    # text i's words are first[i]:first[i + 1]
    first = np.searchsorted(s, starts_doc)
    doc = np.repeat(np.arange(len(low)), np.diff(first, append=len(s)))
    return wh, doc


def _word_hashes_numpy(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hash and first byte offset of each word of ``buf`` (which starts and ends with a
    non-word byte): the module docstring's formula, ``audit/_minhash.c``'s loop."""
    isword = np.take(_WORD8, buf)
    # word starts and ends alternate: the changes of isword are s0, e0, s1, e1, ...
    edges = np.flatnonzero(isword[1:] != isword[:-1]) + 1
    s = edges[0::2]
    e = edges[1::2]
    pw, ipw = _POWERS.get(len(buf) + 1)
    cs = np.multiply(buf, pw[: len(buf)], dtype=np.uint64)
    np.cumsum(cs, out=cs)  # cs[i] = S[i + 1]; s >= 1 because buf starts with a newline
    wh = cs[e - 1] - cs[s - 1]
    wh *= ipw[s]
    wh ^= (e - s).astype(np.uint64) * _M2
    return fmix64(wh), s


def shingle_hashes(
    wh: np.ndarray, doc: np.ndarray, n_docs: int, width: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the ``width``-word shingles of each document, and their document index."""
    c = _consts(seed, width + 1, 1)
    nw = len(wh)
    parts_h, parts_d = [], []
    if nw >= width:
        m = nw - width + 1
        acc = wh[:m] * c[0]
        for t in range(1, width):
            acc += wh[t : t + m] * c[t]
        ok = doc[:m] == doc[width - 1 : width - 1 + m]
        parts_h.append(acc[ok])
        parts_d.append(doc[:m][ok])
    counts = np.bincount(doc, minlength=n_docs)
    short = np.flatnonzero((counts > 0) & (counts < width))
    if len(short):
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])[short]
        cnt = counts[short]
        acc = np.zeros(len(short), dtype=np.uint64)
        for t in range(width - 1):
            has = cnt > t
            acc[has] += wh[first[has] + t] * c[t]
        acc ^= cnt.astype(np.uint64) * c[width]
        parts_h.append(acc)
        parts_d.append(short)
    if not parts_h:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return fmix64(np.concatenate(parts_h)), np.concatenate(parts_d).astype(np.int64)


def signatures(
    texts: Sequence[str], num_perm: int = 128, shingle: int = 5, seed: int = 1
) -> np.ndarray:
    """MinHash signatures, shape ``(len(texts), num_perm)``, dtype uint32 as uint64 values.

    A text without any word gets a row of ``2**32`` (empty): it never matches anything.
    """
    n = len(texts)
    wh, doc = word_hashes(texts)
    salt = _consts(seed, 1, 2)[0]
    if _C is not None:
        first = np.searchsorted(doc, np.arange(n + 1))  # text i's words: first[i]:first[i + 1]
        c = _consts(seed, shingle + 1, 1)
        flat = _C.min_bins(wh, first.astype(np.int64), c, int(salt), num_perm)
        sig = np.frombuffer(flat, dtype=np.uint64).reshape(n, num_perm)
        _densify(sig, seed)
        return sig
    sh, sdoc = shingle_hashes(wh, doc, n, shingle, seed)
    sh ^= salt
    fmix64(sh)
    k = np.uint64(num_perm)
    bins = ((sh >> np.uint64(32)) * k) >> np.uint64(32)
    flat = np.full(n * num_perm, _EMPTY, dtype=np.uint64)
    np.minimum.at(flat, sdoc.astype(np.uint64) * k + bins, sh & _LOW32)
    sig = flat.reshape(n, num_perm)
    _densify(sig, seed)
    return sig


def _densify(sig: np.ndarray, seed: int) -> None:
    """Fill empty bins from non-empty ones (Shrivastava 2017, optimal densification)."""
    base = _consts(seed, 2, 3)
    if _C is not None and sig.dtype == np.uint64 and sig.flags.c_contiguous and sig.flags.writeable:
        _C.densify(sig, sig.shape[1], int(base[0]), int(base[1]))
        return
    empty = sig == _EMPTY
    if not empty.any():
        return
    n, k = sig.shape
    nonempty_docs = ~empty.all(axis=1)
    holes = np.flatnonzero((empty & nonempty_docs[:, None]).ravel())
    rows = holes - holes % k  # the flat offset of each hole's row, then its column
    cols = holes - rows
    flat = sig.reshape(-1)
    empty_flat = empty.reshape(-1)
    every_col = np.arange(k, dtype=np.uint64) * base[0]
    attempt = np.uint64(0)
    while len(rows):
        attempt += np.uint64(1)
        # the bin tried depends on the column and the attempt only: k hashes an attempt
        h = every_col + base[1:2] * attempt  # a 1-element array: wraps mod 2**64 without a warning
        to = ((fmix64(h) >> np.uint64(32)) * np.uint64(k) >> np.uint64(32)).astype(np.int64)
        src = rows + to[cols]
        found = ~empty_flat[src]
        flat[rows[found] + cols[found]] = flat[src[found]]
        rows, cols = rows[~found], cols[~found]


def to_datasketch(row: np.ndarray, seed: int = 1):
    """One signature row as a ``datasketch.MinHash`` with 32-bit values (scheme ``affine32``,
    whose empty value 2**32-1 stands for our empty bins), for ``jaccard``, ``merge`` or
    datasketch's LSH indexes. Compare such objects with each other only: datasketch's own
    ``MinHash.update`` uses a different hash family."""
    from datasketch import MinHash

    vals = np.minimum(np.asarray(row, dtype=np.uint64), _LOW32).astype(np.uint32)
    return MinHash(num_perm=len(row), seed=seed, hashvalues=vals, scheme="affine32")


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signature rows."""
    return float(np.mean(a == b))


# lsh_params for the usual settings, made by datasketch 2.0.0's ``_optimal_param`` (a test checks
# each against it): importing datasketch.lsh imports scipy.integrate, 0.3 CPU s of every run.
_LSH_PARAMS = {
    (t, k): br
    for k, row in (
        (64, ((14, 4), (10, 6), (8, 8), (7, 9), (5, 11), (4, 15), (3, 21), (2, 32))),
        (128, ((25, 5), (18, 7), (14, 9), (11, 11), (9, 13), (8, 16), (5, 25), (3, 42))),
        (256, ((42, 6), (32, 8), (25, 10), (21, 12), (17, 15), (13, 19), (9, 28), (5, 51))),
    )
    for t, br in zip((0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95), row, strict=True)
}


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives at ``threshold``: datasketch's
    own optimiser, so the banding is the one ``MinHashLSH`` / ``MinHashLSHBloom`` would use."""
    if (threshold, num_perm) in _LSH_PARAMS:
        return _LSH_PARAMS[threshold, num_perm]
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


class BloomLSH:
    """Banded Bloom-filter LSH index of bounded memory (see the module docstring)."""

    def __init__(
        self,
        threshold: float,
        num_perm: int,
        capacity: int = 1_000_000,
        fp: float = 1e-4,
        seed: int = 1,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"MinHash threshold must be in (0, 1], got {threshold}")
        if not 0.0 < fp < 1.0 or capacity < 1:
            raise ConfigError("dedup capacity must be positive and fp in (0, 1)")
        self.b, self.r = lsh_params(threshold, num_perm)
        per_band = fp / self.b
        self.m = max(64, math.ceil(-capacity * math.log(per_band) / math.log(2) ** 2 / 8) * 8)
        self.k = max(1, round(self.m / capacity * math.log(2)))
        self.capacity = capacity
        self._bits: np.ndarray | None = None  # allocated on first use: keys-only users skip it
        self.inserted = 0
        self._salt = _consts(seed, self.b, 4)

    @property
    def bits(self) -> np.ndarray:
        if self._bits is None:
            self._bits = np.zeros(self.b * self.m // 8, dtype=np.uint8)
        return self._bits

    @property
    def nbytes(self) -> int:
        """Memory of the Bloom filters (allocated on first use)."""
        return self.b * self.m // 8

    def fill(self) -> float:
        """Estimated false-duplicate rate per document now (grows past capacity)."""
        frac = np.unpackbits(self.bits).mean() if self.inserted else 0.0
        return float(min(1.0, self.b * frac**self.k))

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """datasketch LSHBloom band hashes, shape ``(n, b)``."""
        n = len(sig)
        bands = sig[:, : self.b * self.r].reshape(n, self.b, self.r)
        return bands.sum(axis=2, dtype=np.uint64) % _MERSENNE

    def check_and_insert(self, keys: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """For band keys ``(n, b)`` in stream order: which rows duplicate an earlier one (this
        batch or before); then insert all valid rows. Rows with ``valid`` False are skipped."""
        n = len(keys)
        if valid is not None:
            idx = np.flatnonzero(valid)
            keys = keys[idx]
        else:
            idx = np.arange(n)
        out = np.zeros(n, dtype=bool)
        if not len(idx):
            return out
        if _C is not None:
            keys = np.ascontiguousarray(keys, dtype=np.uint64)
            hit = _C.bloom_check_insert(self.bits, keys, self._salt, self.m, self.k)
            out[idx] = np.frombuffer(hit, dtype=bool)
        else:
            seen = self._seen_before(self._positions(keys), self.b * self.k)
            out[idx] = np.all(seen.reshape(len(idx), self.b, self.k), axis=2).any(axis=1)
        self.inserted += len(idx)
        return out

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        """The ``k`` Bloom bits of each band key, as indexes into all bands' bits, row-major."""
        g1 = fmix64(keys ^ self._salt[None, :])
        g2 = fmix64(g1 ^ _M1) | np.uint64(1)
        t = np.arange(self.k, dtype=np.uint64)
        pos = (g1[:, :, None] + t * g2[:, :, None]) % np.uint64(self.m)
        pos += (np.arange(self.b, dtype=np.uint64) * np.uint64(self.m))[None, :, None]
        return pos.astype(np.int64).ravel()

    def _seen_before(self, gi: np.ndarray, per_row: int) -> np.ndarray:
        """For each bit index of ``gi`` (``per_row`` to a document, in stream order): was it set
        by an earlier batch or by an earlier document of this one? Then set them all.

        One sort does it: bit index and position packed in one int64 (distinct, so the order is
        exact without a stable sort), which groups equal bits with the earliest document first;
        the bits are then read and OR-ed in address order, one write per byte.
        """
        size = len(gi)
        shift = max(1, (size - 1).bit_length())
        if (self.b * self.m - 1).bit_length() + shift > 63:  # pragma: no cover - beyond any real index
            order = np.argsort(gi, kind="stable")
            sg = gi[order]
        else:
            packed = gi << shift
            packed |= np.arange(size, dtype=np.int64)
            packed.sort()
            order = packed & ((1 << shift) - 1)
            sg = packed >> shift
        bits = self.bits
        byte = sg >> 3
        bit = (sg & 7).astype(np.uint8)
        seen = ((bits[byte] >> bit) & 1).astype(bool)
        new = np.empty(size, dtype=bool)
        new[0] = True
        np.not_equal(sg[1:], sg[:-1], out=new[1:])
        if not new.all():
            # a repeated bit: set by an earlier document when its first occurrence (the
            # earliest position, sorted first) is in an earlier row
            start = np.maximum.accumulate(np.where(new, np.arange(size), 0))
            row = order // per_row
            seen |= row[start] < row
        mask = np.left_shift(1, bit, dtype=np.uint8)
        byte = byte[new]
        mask = mask[new]
        head = np.empty(len(byte), dtype=bool)
        head[0] = True
        np.not_equal(byte[1:], byte[:-1], out=head[1:])
        if not head.all():
            at = np.flatnonzero(head)
            mask = np.bitwise_or.reduceat(mask, at)
            byte = byte[at]
        bits[byte] |= mask
        out = np.empty(size, dtype=bool)
        out[order] = seen
        return out


class Deduper(Protocol):
    """Answers, per document in stream order, whether it duplicates an earlier document.

    ``filter_batch`` = ``check_keys(*keys(texts))``: ``keys`` is per document and may run in
    any process; ``check_keys`` must see every document once, in stream order.
    """

    name: str
    docs: int
    duplicates: int

    def seen(self, text: str) -> bool: ...
    def filter_batch(self, texts: Sequence[str]) -> list[bool]: ...
    def keys(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...
    def check_keys(self, keys: np.ndarray, valid: np.ndarray) -> list[bool]: ...


class ExactDeduper:
    """Exact duplicates: a set of 64-bit BLAKE2b hashes of the normalised text (about 70 bytes
    a document)."""

    name = "exact"

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.docs = 0
        self.duplicates = 0

    def keys(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        out = np.fromiter(
            (
                int.from_bytes(
                    hashlib.blake2b(
                        normalize(t).encode("utf-8", "surrogatepass"), digest_size=8
                    ).digest(),
                    "little",
                )
                for t in texts
            ),
            dtype=np.uint64,
            count=len(texts),
        )
        return out, np.ones(len(texts), dtype=bool)

    def check_keys(self, keys: np.ndarray, valid: np.ndarray) -> list[bool]:
        out = []
        seen = self._seen
        for k in keys.tolist():
            dup = k in seen
            seen.add(k)
            out.append(dup)
        self.docs += len(out)
        self.duplicates += sum(out)
        return out

    def seen(self, text: str) -> bool:
        return self.filter_batch([text])[0]

    def filter_batch(self, texts: Sequence[str]) -> list[bool]:
        return self.check_keys(*self.keys(texts))


@dataclass(frozen=True)
class MinHashParams:
    """num_perm, shingle width (words), Jaccard threshold, and the index's memory bound."""

    num_perm: int = 128
    shingle: int = 5
    threshold: float = 0.8
    capacity: int = 1_000_000
    fp: float = 1e-4
    seed: int = 1

    def __post_init__(self) -> None:
        if self.num_perm < 2 or self.shingle < 1:
            raise ConfigError("MinHash needs num_perm >= 2 and shingle >= 1")


class MinHashDeduper:
    """Near-duplicates by MinHash + LSH Bloom index; batches of texts are hashed together."""

    name = "minhash"

    def __init__(self, params: MinHashParams | None = None) -> None:
        self.params = params or MinHashParams()
        p = self.params
        self.index = BloomLSH(p.threshold, p.num_perm, p.capacity, p.fp, p.seed)
        self.docs = 0
        self.duplicates = 0

    def seen(self, text: str) -> bool:
        return self.filter_batch([text])[0]

    def keys(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Band keys ``(n, b)`` and a mask of texts that have words: the parallel part."""
        p = self.params
        sig = signatures(texts, p.num_perm, p.shingle, p.seed)
        return self.index.band_keys(sig), sig[:, 0] != _EMPTY

    def check_keys(self, keys: np.ndarray, valid: np.ndarray) -> list[bool]:
        """The sequential part: look keys up and insert them, in stream order."""
        dup = self.index.check_and_insert(keys, valid)
        self.docs += len(keys)
        self.duplicates += int(dup.sum())
        return dup.tolist()

    def filter_batch(self, texts: Sequence[str]) -> list[bool]:
        out: list[bool] = []
        start, size = 0, 0
        for i, t in enumerate(texts):
            size += len(t)
            if size >= CHUNK_BYTES:
                out += self.check_keys(*self.keys(texts[start : i + 1]))
                start, size = i + 1, 0
        if start < len(texts):
            out += self.check_keys(*self.keys(texts[start:]))
        return out


def make_deduper(
    mode: str,
    minhash: tuple[int, int, float] = (128, 5, 0.8),
    seed: int = 1,
    capacity: int = 1_000_000,
) -> Deduper | None:
    """The deduper for ``CorpusConfig.dedup`` (``off`` gives None)."""
    if mode == "off":
        return None
    if mode == "exact":
        return ExactDeduper()
    if mode == "minhash":
        num_perm, shingle, threshold = minhash
        return MinHashDeduper(MinHashParams(num_perm, shingle, threshold, capacity, seed=seed))
    raise ConfigError(f"unknown --dedup {mode!r} (expected off, exact or minhash)")

