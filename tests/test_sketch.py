"""The bounded-memory fact sketch: exactness while it fits, estimator accuracy and standard
errors on corpora with known truth, monoid merge properties, the binary format."""

from __future__ import annotations

import hashlib
import os
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.counting import ExactCounter
from audit.errors import ConfigError, FormatError, MergeError, OptionError
from audit.sketch import (
    SampleCounter,
    counter_from_bytes,
    counter_spec,
    fact_hash,
    make_counter,
    parse_memory,
)


def corpus_counts(kind: str, distinct: int, rng: np.random.Generator) -> np.ndarray:
    """Per-fact mention counts with a known truth: Zipf (a=2) or Pareto (Miao & Kearns 2025)."""
    if kind == "zipf":
        c = rng.zipf(2.0, size=distinct)
    else:
        c = np.ceil(rng.pareto(1.2, size=distinct) + 1e-9).astype(np.int64)
    return np.minimum(c, 10**6)


def feed(sk, counts: np.ndarray, rel_of=lambda i: "r" + str(i % 3)) -> None:
    for i, c in enumerate(counts.tolist()):
        sk.update(f"fact/{i}", rel_of(i), c)


def exact_of(counts: np.ndarray) -> ExactCounter:
    ex = ExactCounter("cfg")
    feed(ex, counts)
    return ex


# -- exactness -----------------------------------------------------------------------------------
def test_exact_while_it_fits() -> None:
    counts = np.array([1, 1, 2, 5, 1, 40, 7])
    sk, ex = SampleCounter("cfg", capacity=7), exact_of(counts)
    feed(sk, counts)
    assert sk.is_exact
    for rel in [None, *ex.relations()]:
        a, b = sk.stats(rel), ex.stats(rel)
        assert (a.n, a.distinct, a.n1, a.histogram) == (b.n, b.distinct, b.n1, b.histogram)
        assert a.exact
        assert a.se_singleton_rate == 0
    assert list(sk.items()) == [x for x in ex.items()]
    assert sk.relations() == ex.relations()


def test_exact_stats_by_hand_and_a_counter_made_of_counts() -> None:
    ex = ExactCounter("cfg")
    for fact, rel, n in [("a", "x", 1), ("b", "x", 1), ("c", "y", 2), ("d", "y", 4), ("e", "x", 150), ("a", "x", 1)]:
        ex.update(fact, rel, n)
    ex.add_zero("z", "y")
    st = ex.stats()
    # a: 2, b: 1, c: 2, d: 4, e: 150 (z unseen)
    assert (st.n, st.distinct, st.n1) == (159, 5, 1)
    assert st.histogram == {"1": 1, "2": 2, "3-5": 1, "6-10": 0, "11-100": 0, ">100": 1}
    y = ex.stats("y")
    assert (y.n, y.distinct, y.n1, y.histogram["2"], y.histogram["3-5"]) == (6, 2, 0, 1, 1)
    assert ex.stats("nothing").n == 0
    # of_counts: the counter add_zeros and updates make, to the byte
    facts, rels, counts = ["a", "b", "c", "d", "e", "z"], ["x", "x", "y", "y", "x", "y"], [2, 1, 2, 4, 150, 0]
    made = ExactCounter.of_counts("cfg", facts, rels, counts)
    ref = ExactCounter("cfg")
    ref.add_zeros(zip(facts, rels, strict=True))
    for f, r, n in zip(facts, rels, counts, strict=True):
        if n:
            ref.update(f, r, n)
    assert made == ref and made.to_bytes() == ref.to_bytes() and made.stats() == ref.stats()


def test_sampling_keeps_exact_counts_and_exact_n() -> None:
    rng = np.random.default_rng(0)
    counts = corpus_counts("zipf", 5000, rng)
    sk = SampleCounter("cfg", capacity=200)
    feed(sk, counts)
    assert not sk.is_exact and len(sk) <= 200
    st_ = sk.stats()
    assert st_.n == counts.sum() and not st_.exact and st_.se_singleton_rate > 0
    for fact, _, c in sk.items():
        assert c == counts[int(fact.split("/")[1])]
        assert fact_hash(fact, 1) < sk.sampling_rate * 2**64


def test_mention_by_mention_equals_aggregated() -> None:
    rng = np.random.default_rng(1)
    counts = corpus_counts("zipf", 2000, rng)
    mentions = np.repeat(np.arange(len(counts)), counts)
    rng.shuffle(mentions)
    a, b = SampleCounter("cfg", 50), SampleCounter("cfg", 50)
    a.update_batch((f"fact/{i}", "r" + str(i % 3)) for i in mentions.tolist())
    feed(b, counts)
    assert a == b


def test_hash_is_stable() -> None:
    # Pinned: the hash must never change between versions, processes or machines.
    assert fact_hash("capital/france", 1) == fact_hash("capital/france", 1)
    assert fact_hash("capital/france", 1) != fact_hash("capital/france", 2)
    assert fact_hash("capital/france", 1) == 0x839864C45BE6DB39
    digest = hashlib.blake2b(b"a", digest_size=8, salt=(1).to_bytes(16, "little")).digest()
    assert fact_hash("a", 1) == int.from_bytes(digest, "little")


# -- estimator accuracy on generated corpora with known truth ------------------------------------
def _runs(kind: str, distinct: int, frac: float, seeds: int):
    """Sketch one fixed corpus under ``seeds`` hash seeds; yield (truth, stats) per seed."""
    counts = corpus_counts(kind, distinct, np.random.default_rng(42))
    n, n1 = int(counts.sum()), int((counts == 1).sum())
    for seed in range(seeds):
        sk = SampleCounter("cfg", capacity=int(frac * distinct), seed=seed)
        feed(sk, counts)
        yield (n, n1), sk.stats()


@pytest.mark.parametrize("kind,frac", [("zipf", 0.01), ("pareto", 0.05)])
def test_estimates_within_3_se(kind: str, frac: float) -> None:
    distinct = 200_000
    for (n, n1), s in _runs(kind, distinct, frac, seeds=5):
        assert s.n == n and not s.exact
        assert abs(s.singleton_rate - n1 / n) <= 3 * s.se_singleton_rate, s
        assert abs(s.distinct - distinct) <= 3 * s.se_distinct, s
        assert abs(s.distinct_hll - distinct) <= 0.05 * distinct, s


def _se_matches_spread(kind: str, distinct: int, frac: float, seeds: int) -> None:
    est, ses, sr_true = [], [], 0.0
    for (n, n1), s in _runs(kind, distinct, frac, seeds):
        sr_true = n1 / n
        est.append(s.singleton_rate)
        ses.append(s.se_singleton_rate)
    spread, mean_se = statistics.stdev(est), statistics.fmean(ses)
    # The spread of a standard deviation over 30 seeds is ~13%, so 1.5 is a 3-sigma bound.
    assert 1 / 1.5 <= mean_se / spread <= 1.5, (mean_se, spread)
    assert abs(statistics.fmean(est) - sr_true) <= 3 * mean_se / seeds**0.5  # unbiased


@pytest.mark.parametrize("kind,frac", [("zipf", 0.02), ("pareto", 0.05)])
def test_standard_error_matches_spread_over_seeds(kind: str, frac: float) -> None:
    _se_matches_spread(kind, 50_000, frac, seeds=30)


@pytest.mark.skipif(not os.environ.get("HALLU_AUDIT_SLOW"), reason="set HALLU_AUDIT_SLOW=1")
@pytest.mark.parametrize("kind,frac", [("zipf", 0.01), ("pareto", 0.01), ("zipf", 0.05)])
def test_standard_error_matches_spread_heavy(kind: str, frac: float) -> None:
    _se_matches_spread(kind, 500_000, frac, seeds=40)


# -- merge: a monoid, equal to the whole run ------------------------------------------------------
facts_st = st.lists(
    st.tuples(st.integers(0, 60).map(lambda i: f"f{i}"), st.integers(1, 4)),
    max_size=60,
)


def _sk(items, k: int = 8) -> SampleCounter:
    sk = SampleCounter("cfg", capacity=k)
    for f, c in items:
        sk.update(f, "a" if int(f[1:]) % 2 else "b", c)
    return sk


@settings(max_examples=150, deadline=None)
@given(facts_st, facts_st, facts_st)
def test_merge_properties(x, y, z) -> None:
    a, b, c = _sk(x), _sk(y), _sk(z)
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert a + SampleCounter.empty("cfg", 8) == a == SampleCounter.empty("", 8) + a
    assert a + b + c == _sk(x + y + z)


@settings(max_examples=50, deadline=None)
@given(facts_st)
def test_round_trip(x) -> None:
    a = _sk(x)
    data = a.to_bytes()
    b = SampleCounter.from_bytes(data)
    assert a == b and b.to_bytes() == data
    assert counter_from_bytes(data) == a


def test_merge_refuses_other_configs() -> None:
    a, b = _sk([("f1", 1)]), _sk([("f2", 1)])
    b.config_id = "cfg-other"
    with pytest.raises(MergeError, match="different configs"):
        a.merge(b)
    with pytest.raises(MergeError, match="capacity or seed"):
        a.merge(SampleCounter("cfg", capacity=9))
    with pytest.raises(MergeError):
        a.merge(ExactCounter("cfg"))
    assert "\n" not in str(MergeError("x"))


def test_format_errors() -> None:
    data = _sk([(f"f{i}", 1) for i in range(30)]).to_bytes()
    with pytest.raises(FormatError, match="bad magic"):
        SampleCounter.from_bytes(b"XXXXXXXX" + data[8:])
    with pytest.raises(FormatError, match="version"):
        SampleCounter.from_bytes(data[:8] + b"\x09\x00" + data[10:])
    with pytest.raises(FormatError):
        SampleCounter.from_bytes(data[:-5])
    off = 14 + len("cfg") + 17  # the threshold field
    tampered = data[:off] + (1).to_bytes(8, "little") + data[off + 8 :]
    with pytest.raises(FormatError):
        SampleCounter.from_bytes(tampered)


def test_factories() -> None:
    assert counter_spec() == "exact"
    assert counter_spec(max_facts=1000) == "sample:1000"
    assert counter_spec(max_memory="6M").startswith("sample:")
    assert parse_memory("2G") == 2 << 30
    for bad in ("lots", "inf", "nan", "-5G", "0"):
        with pytest.raises(OptionError):
            parse_memory(bad)
    with pytest.raises(OptionError):
        counter_spec(max_facts=1, max_memory="1M")
    assert isinstance(make_counter("c", "exact"), ExactCounter)
    assert make_counter("c", "sample:10", seed=3) == SampleCounter("c", 10, 3)
    with pytest.raises(ConfigError):
        make_counter("c", "bogus")


def test_hll_registers_are_datasketchs() -> None:
    from datasketch import HyperLogLogPlusPlus

    sk = SampleCounter("cfg", capacity=10, seed=5)
    ref = HyperLogLogPlusPlus(p=14, hashfunc=lambda b: fact_hash(b.decode(), 5))
    for i in range(3000):
        sk.update(f"f{i % 1700}", "r")
        ref.update(f"f{i % 1700}".encode())
    assert np.array_equal(sk._hll, ref.reg)
    assert sk.distinct_hll() == ref.count()
