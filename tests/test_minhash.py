"""Near-duplicate detection: signature accuracy, exact and near copies at the threshold, batch
independence, datasketch compatibility."""

from __future__ import annotations

import os
import random
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import minhash as M
from audit.errors import ConfigError

RNG = random.Random(7)
VOCAB = [
    "".join(RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(RNG.randint(2, 9)))
    for _ in range(5000)
]


def words(n: int, rng: random.Random) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def mutate(ws: list[str], frac: float, rng: random.Random) -> list[str]:
    return [rng.choice(VOCAB) if rng.random() < frac else w for w in ws]


def true_jaccard(a: list[str], b: list[str], w: int = 5) -> float:
    sa = {tuple(a[i : i + w]) for i in range(len(a) - w + 1)}
    sb = {tuple(b[i : i + w]) for i in range(len(b) - w + 1)}
    return len(sa & sb) / len(sa | sb)


def test_signature_estimates_jaccard() -> None:
    rng = random.Random(1)
    errs = []
    for frac in (0.01, 0.03, 0.05, 0.1, 0.2):
        for _ in range(4):
            a = words(400, rng)
            b = mutate(a, frac, rng)
            sig = M.signatures([" ".join(a), " ".join(b)], num_perm=256)
            errs.append(M.jaccard(sig[0], sig[1]) - true_jaccard(a, b))
    # SE of a 256-bin estimate is at most 0.031; the mean error is ~0 (unbiased)
    assert max(abs(e) for e in errs) < 0.12
    assert abs(float(np.mean(errs))) < 0.03


def test_words_are_case_and_punctuation_insensitive() -> None:
    a = M.signatures(["The cat, sat on the MAT today!"])[0]
    b = M.signatures(["the cat sat on the mat today"])[0]
    assert (a == b).all()


def test_hashes_are_stable() -> None:
    # Pinned: signatures must agree across processes, machines and versions.
    wh, doc = M.word_hashes(["Hello world", "hello"])
    assert doc.tolist() == [0, 0, 1] and wh[0] == wh[2]
    assert int(wh[0]) == 2508467529872962837


def test_to_datasketch() -> None:
    sig = M.signatures(["a b c d e f g h", "a b c d e f g x"], num_perm=64)
    m0, m1 = M.to_datasketch(sig[0]), M.to_datasketch(sig[1])
    assert m0.jaccard(m1) == pytest.approx(M.jaccard(sig[0], sig[1]))


def test_short_and_empty_documents() -> None:
    sig = M.signatures(["", "  ..  ", "two words", "two words", "one"], num_perm=16)
    assert (sig[0] == M._EMPTY).all() and (sig[1] == M._EMPTY).all()
    assert (sig[2] == sig[3]).all() and not (sig[2] == sig[4]).all()
    d = M.MinHashDeduper(M.MinHashParams(num_perm=16, threshold=0.5))
    assert d.filter_batch(["", "", "two words", "two words"]) == [False, False, False, True]


def test_near_and_exact_copies_detected_at_threshold() -> None:
    rng = random.Random(3)
    base = [words(300, rng) for _ in range(40)]
    near = [mutate(b, 0.005, rng) for b in base[:10]]  # J ~ 0.95
    far = [mutate(b, 0.2, rng) for b in base[10:20]]  # J ~ 0.2
    stream = [" ".join(b) for b in base] + [" ".join(b) for b in base[:5]]
    stream += [" ".join(b) for b in near] + [" ".join(f) for f in far]
    d = M.MinHashDeduper(M.MinHashParams(threshold=0.8))
    got = d.filter_batch(stream)
    assert got == [False] * 40 + [True] * 15 + [False] * 10
    assert d.duplicates == 15 and d.docs == len(stream)


def test_exact_deduper() -> None:
    d = M.ExactDeduper()
    assert d.filter_batch(["Hello  World", "hello world", "hello world!", "HELLO WORLD "]) == [
        False,
        True,
        False,
        True,
    ]
    assert d.seen("Hello World") and d.duplicates == 3 and d.docs == 5


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=40), st.integers(1, 40))
def test_batching_never_changes_answers(picks: list[int], cut: int) -> None:
    rng = random.Random(11)
    pool = [" ".join(words(rng.randint(0, 30), rng)) for _ in range(8)]
    texts = [pool[i] for i in picks]
    whole = M.MinHashDeduper(M.MinHashParams(num_perm=32, threshold=0.5)).filter_batch(texts)
    d = M.MinHashDeduper(M.MinHashParams(num_perm=32, threshold=0.5))
    parts = d.filter_batch(texts[:cut]) + d.filter_batch(texts[cut:])
    one = M.MinHashDeduper(M.MinHashParams(num_perm=32, threshold=0.5))
    assert whole == parts == [one.seen(t) for t in texts]
    # a repeated non-empty text is always a duplicate
    seen: set[str] = set()
    for t, dup in zip(texts, whole, strict=True):
        if t in seen and t.strip():
            assert dup
        seen.add(t)


def test_index_memory_is_bounded() -> None:
    small = M.BloomLSH(0.8, 128, capacity=1000, fp=1e-3)
    big = M.BloomLSH(0.8, 128, capacity=100_000, fp=1e-3)
    assert big.nbytes == pytest.approx(100 * small.nbytes, rel=0.01)
    assert (small.b, small.r) == M.lsh_params(0.8, 128)
    rng = random.Random(5)
    d = M.MinHashDeduper(M.MinHashParams(capacity=200, fp=1e-3))
    d.filter_batch([" ".join(words(50, rng)) for _ in range(200)])
    assert d.index.nbytes == M.BloomLSH(0.8, 128, 200, 1e-3).nbytes
    assert 0 < d.index.fill() <= 2e-3


def test_lsh_params_table_is_datasketchs() -> None:
    from datasketch.lsh import _optimal_param

    for (threshold, num_perm), br in M._LSH_PARAMS.items():
        assert br == _optimal_param(threshold, num_perm, 0.5, 0.5)
    assert M.lsh_params(0.8, 128) == (9, 13) and M.lsh_params(0.42, 100) == _optimal_param(0.42, 100, 0.5, 0.5)


def test_make_deduper() -> None:
    assert M.make_deduper("off") is None
    assert isinstance(M.make_deduper("exact"), M.ExactDeduper)
    d = M.make_deduper("minhash", (64, 3, 0.7), seed=2)
    assert isinstance(d, M.MinHashDeduper) and d.params.num_perm == 64
    with pytest.raises(ConfigError):
        M.make_deduper("fuzzy")
    with pytest.raises(ConfigError):
        M.MinHashParams(num_perm=1)


# -- counts over distinct sources, through the real CLI, on a hand-made fixture ------------------
FILLER = (
    "the river runs past old mills and quiet farms where travellers rest under tall trees "
    "before walking on to the market town with its stone bridge and narrow lanes full of "
    "shops selling bread cheese wool and candles to everyone who passes through in summer"
)


def test_counts_over_distinct_sources(cli, tmp_path) -> None:
    import orjson

    page = f"Paris is the capital of France. {FILLER} and winter alike"
    rows = [
        page,  # counted
        page,  # exact copy
        page.upper().replace(" ", "  "),  # same normalised text: exact copy
        page.replace("alike", "too"),  # near copy: last word changed (J ~ 0.96)
        "Berlin is the capital of Germany.",  # another fact
        "Paris is the capital of France.",  # same fact, a different (short) source
    ]
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b"".join(orjson.dumps({"text": t}) + b"\n" for t in rows))
    refs = Path(__file__).resolve().parent.parent / "fixtures" / "refs" / "capitals.jsonl"
    want = {"off": (None, None), "exact": (2, 3), "minhash": (3, 2)}
    for mode, (dups, france) in want.items():
        r = cli("corpus", corpus, "-f", refs, "--dedup", mode, "--json", "-q")
        assert r.exit_code == 0, r.stderr
        rep = orjson.loads(r.stdout)
        assert rep["relations"]["capital"]["N"] == 6  # raw: every copy counts
        if mode == "off":
            assert "distinct_sources" not in rep
            continue
        ds = rep["distinct_sources"]
        assert ds["duplicate_documents"] == dups
        assert ds["distinct_documents"] == 6 - dups
        assert ds["overall"]["N"] == france + 1
        assert ds["overall"]["N1"] == 1  # Germany; France is seen `france` times
        assert ds["overall"]["distinct_facts"] == 2


def _reference_check_and_insert(index: M.BloomLSH, bits: np.ndarray, keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The index's first formula (np.unique, np.minimum.at, np.bitwise_or.at), kept to check the
    faster one against."""
    idx = np.flatnonzero(valid)
    keys = keys[idx]
    out = np.zeros(len(valid), dtype=bool)
    if not len(idx):
        return out
    g1 = M.fmix64(keys ^ index._salt[None, :])
    g2 = M.fmix64(g1 ^ M._M1) | np.uint64(1)
    t = np.arange(index.k, dtype=np.uint64)
    pos = (g1[:, :, None] + t * g2[:, :, None]) % np.uint64(index.m)
    gi = pos + (np.arange(index.b, dtype=np.uint64) * np.uint64(index.m))[None, :, None]
    gi = gi.astype(np.int64).ravel()
    before = ((bits[gi >> 3] >> (gi & 7).astype(np.uint8)) & 1).astype(bool)
    uniq, inv = np.unique(gi, return_inverse=True)
    first = np.full(len(uniq), len(idx), dtype=np.int64)
    row = np.repeat(np.arange(len(idx)), index.b * index.k)
    np.minimum.at(first, inv, row)
    set_by_earlier = before | (first[inv] < row)
    out[idx] = set_by_earlier.reshape(len(idx), index.b, index.k).all(axis=2).any(axis=1)
    np.bitwise_or.at(bits, uniq >> 3, (1 << (uniq & 7)).astype(np.uint8))
    return out


@pytest.fixture(params=["compiled", "numpy"])
def engine(request, monkeypatch) -> str:
    """The byte loops in C (``audit/_minhash.c``, which CI must have built) or numpy's formulas."""
    if request.param == "compiled" and M._C is None:
        if os.environ.get("CI"):
            pytest.fail("audit/_minhash.c was not built: is a C compiler installed?")
        pytest.skip("audit/_minhash.c was not built")
    if request.param == "numpy":
        monkeypatch.setattr(M, "_C", None)
    return request.param


@pytest.mark.parametrize("capacity", [3, 40, 1000])
def test_index_answers_as_its_first_formula(capacity: int, engine: str) -> None:
    # small filters and a small pool of keys: bits shared within and across batches and bytes
    rng = np.random.default_rng(capacity)
    index = M.BloomLSH(0.8, 64, capacity=capacity, fp=1e-2)
    bits = np.zeros(index.nbytes, dtype=np.uint8)
    pool = rng.integers(0, 1 << 61, size=(30, index.b), dtype=np.uint64)
    for _ in range(40):
        n = int(rng.integers(0, 60))
        keys = pool[rng.integers(0, len(pool), size=n)]
        fresh = rng.random(keys.shape) < 0.3  # some bands of a row new, some repeated
        keys[fresh] = rng.integers(0, 1 << 61, size=int(fresh.sum()), dtype=np.uint64)
        valid = rng.random(n) < 0.9
        want = _reference_check_and_insert(index, bits, keys, valid)
        assert index.check_and_insert(keys, valid).tolist() == want.tolist()
        assert (index.bits == bits).all()
    assert index.check_and_insert(pool[:0]).tolist() == []


def _reference_word_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """word_hashes as first written (np.diff edges, searchsorted documents)."""
    low = [t.lower() for t in texts]
    lens = np.array([len(t.encode("utf-8", "surrogatepass")) for t in low], dtype=np.int64)
    buf = np.frombuffer(("\n" + "\n".join(low)).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts_doc = np.cumsum(lens + 1) - lens
    edges = np.diff(M._WORD[buf].view(np.int8), prepend=np.int8(0), append=np.int8(0))
    s = np.flatnonzero(edges == 1)
    e = np.flatnonzero(edges == -1)
    pw, ipw = M._POWERS.get(len(buf))
    cs = np.cumsum(buf.astype(np.uint64) * pw[: len(buf)])
    wh = (cs[e - 1] - cs[s - 1]) * ipw[s]
    wh ^= (e - s).astype(np.uint64) * M._M2
    doc = np.searchsorted(starts_doc, s, side="right") - 1
    return M.fmix64(wh), doc


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab Z9 .\n-é\u00e9\u2014\ud800İ"), max_size=30), max_size=12))
def test_word_hashes_as_first_written(texts: list[str]) -> None:
    want_wh, want_doc = _reference_word_hashes(texts)
    for c in (M._C, None):  # the compiled loop (where built), then the numpy formula
        with mock.patch.object(M, "_C", c):
            wh, doc = M.word_hashes(texts)
        assert wh.tolist() == want_wh.tolist() and doc.tolist() == want_doc.tolist()

def test_long_words_hash_as_first_written(engine: str) -> None:
    # words past the compiled loop's table of 64 powers, and a word at the very end
    rng = random.Random(2)
    texts = ["x" * n + " " + "".join(rng.choice("ab9é") for _ in range(n)) for n in (1, 63, 64, 65, 130, 1000)]
    texts += ["", "end" * 40]
    wh, doc = M.word_hashes(texts)
    want_wh, want_doc = _reference_word_hashes(texts)
    assert wh.tolist() == want_wh.tolist() and doc.tolist() == want_doc.tolist()
    assert wh.flags.writeable


def _reference_densify(sig: np.ndarray, seed: int) -> None:
    """_densify as first written (a hash per hole and attempt)."""
    empty = sig == M._EMPTY
    n, k = sig.shape
    rows, cols = np.nonzero(empty & ~empty.all(axis=1)[:, None])
    base = M._consts(seed, 2, 3)
    attempt = np.uint64(0)
    while len(rows):
        attempt += np.uint64(1)
        h = cols.astype(np.uint64) * base[0]
        h += base[1:2] * attempt
        ji = ((M.fmix64(h) >> np.uint64(32)) * np.uint64(k) >> np.uint64(32)).astype(np.int64)
        found = ~empty[rows, ji]
        sig[rows[found], cols[found]] = sig[rows[found], ji[found]]
        rows, cols = rows[~found], cols[~found]


@pytest.mark.parametrize("k", [2, 16, 128])
def test_densify_as_first_written(k: int, engine: str) -> None:
    rng = np.random.default_rng(k)
    sig = rng.integers(0, 1 << 32, size=(50, k), dtype=np.uint64)
    sig[rng.random(sig.shape) < rng.random((50, 1))] = M._EMPTY  # rows from full to empty
    want = sig.copy()
    _reference_densify(want, 3)
    M._densify(sig, 3)
    assert (sig == want).all() and (sig == M._EMPTY).all(axis=1).any()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 12), max_size=10),
    st.integers(1, 7),
    st.sampled_from([2, 16, 128, 300]),
    st.integers(0, 3),
)
def test_compiled_signatures_are_numpys(lengths: list[int], width: int, num_perm: int, seed: int) -> None:
    if M._C is None:
        pytest.skip("audit/_minhash.c was not built")
    rng = random.Random(sum(lengths) + width)
    texts = [" ".join(rng.choice(VOCAB[:30]) for _ in range(n)) for n in lengths]
    got = M.signatures(texts, num_perm, width, seed)
    with mock.patch.object(M, "_C", None):
        want = M.signatures(texts, num_perm, width, seed)
    assert got.tolist() == want.tolist()
