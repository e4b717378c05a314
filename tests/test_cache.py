"""The matcher cache (``audit.cache``) and the matcher's sealed bytes: a matcher read back finds
what the built one finds; damaged, foreign or mismatched bytes are refused and built again; a
table in another order is another table; the cache can be turned off."""

from __future__ import annotations

import random

import pytest

from audit import cache
from audit.errors import FormatError
from audit.extract import FactMatcher
from audit.facts import Fact, ReferenceTable, digest
from tests.conftest import ENGINES, FIXTURES, use_engine
from tests.test_matcher import GLUE, NAMES


def _table(seed: int, n: int = 30) -> ReferenceTable:
    rng = random.Random(seed)
    facts = [Fact(f"f{i}", rng.choice(NAMES), "r", rng.choice(NAMES), tuple(rng.sample(NAMES, rng.randint(0, 2))),
                  tuple(rng.sample(NAMES, rng.randint(0, 1))))  # fmt: skip
             for i in range(n)]  # fmt: skip
    return ReferenceTable("t.jsonl", facts, digest(facts))


def _texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(x for _ in range(rng.randint(0, 40)) for x in (rng.choice([*NAMES, "foo"]), rng.choice(GLUE)))
            for _ in range(20)]  # fmt: skip


def _found(m: FactMatcher, texts: list[str]) -> tuple:
    got = m.match(texts, hits=True)
    return got.doc.tolist(), got.fact.tolist(), got.position.tolist(), list(m.mention_details(got))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scope", ["sentence", "window", "doc"])
def test_bytes_round_trip_find_the_same_mentions(monkeypatch, engine, scope):
    use_engine(monkeypatch, engine)
    for seed in range(5):
        table, texts = _table(seed), _texts(seed)
        window = 3 if scope == "window" else 0
        built = FactMatcher(table.facts, scope, window, keep_keys=True)
        data = built.to_bytes("k")
        back = FactMatcher.from_bytes(data, table.facts, "k", scope, window)
        assert (back.n_keys, back.n_groups) == (built.n_keys, built.n_groups)
        expected = _found(FactMatcher(table.facts, scope, window), texts)
        assert expected[1], "the texts mention facts"
        assert _found(back, texts) == expected


def test_damaged_foreign_and_mismatched_bytes_are_refused():
    table = _table(1)
    data = FactMatcher(table.facts).to_bytes("k")
    FactMatcher.from_bytes(data, table.facts, "k")  # intact
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    fewer = FactMatcher(table.facts[:29]).to_bytes("k")
    for raw, key, problem in (
        (bytes(flipped), "k", "checksum mismatch"),
        (data[:40], "k", "checksum mismatch"),
        (data[:11], "k", "truncated"),
        (b"HAPART\x00\x00" + data[8:], "k", "bad magic"),
        (data, "other", "made for another table"),
        (fewer, "k", "made for 29 facts, the table has 30"),
    ):
        with pytest.raises(FormatError, match=problem):
            FactMatcher.from_bytes(raw, table.facts, key)


def test_the_cache_keeps_reads_back_and_rebuilds_a_damaged_file(monkeypatch, tmp_path):
    monkeypatch.setattr(cache, "MIN_FACTS", 1)
    monkeypatch.setenv("HALLU_AUDIT_CACHE", str(tmp_path))
    table, texts = _table(2), _texts(2)
    expected = _found(FactMatcher(table.facts), texts)
    first = cache.matcher(table, "sentence", 0)
    (path,) = tmp_path.glob("matcher-*.bin")
    assert path.name == f"matcher-{cache.table_key(table)}.bin"
    again = cache.matcher(table, "sentence", 0)
    assert _found(first, texts) == _found(again, texts) == expected
    path.write_bytes(path.read_bytes()[:-5])  # damaged: built again, and the file replaced
    assert _found(cache.matcher(table, "sentence", 0), texts) == expected
    FactMatcher.from_bytes(path.read_bytes(), table.facts, cache.table_key(table))


def test_another_order_is_another_table_and_off_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(cache, "MIN_FACTS", 1)
    monkeypatch.setenv("HALLU_AUDIT_CACHE", str(tmp_path))
    table, texts = _table(3), _texts(3)
    turned = ReferenceTable("t.jsonl", table.facts[::-1], table.digest)  # same digest: order is not in it
    assert cache.table_key(turned) != cache.table_key(table)
    cache.matcher(table, "sentence", 0)
    assert _found(cache.matcher(turned, "sentence", 0), texts) == _found(FactMatcher(turned.facts), texts)
    assert len(list(tmp_path.glob("matcher-*.bin"))) == 2
    for off in ("off", ""):
        monkeypatch.setenv("HALLU_AUDIT_CACHE", off)
        assert cache.cache_folder() is None
    monkeypatch.setenv("HALLU_AUDIT_CACHE", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("not a folder")
    assert _found(cache.matcher(table, "sentence", 0), texts) == _found(FactMatcher(table.facts), texts)


def test_a_table_read_back_is_the_table_read(monkeypatch, tmp_path):
    """Every field of every fact (aliases, subject aliases, questions, answer types, given and
    made ids), the digest and the objects per relation; another file's bytes are another key."""
    from audit.facts import load_table

    monkeypatch.setattr(cache, "MIN_FACTS", 1)
    monkeypatch.setattr(cache, "MIN_TABLE_BYTES", 0)
    monkeypatch.setenv("HALLU_AUDIT_CACHE", str(tmp_path / "cache"))
    rows = (FIXTURES / "refs" / "capitals.jsonl").read_bytes() + (FIXTURES / "refs" / "elements.jsonl").read_bytes()
    rows += b'{"question": "Who wrote Hamlet?", "answer": "Shakespeare", "answer_type": "Person"}\n'
    rows += b'{"subject": "Ka Lomi", "relation": "born", "object": "Tuve"}\n'
    path = tmp_path / "refs.jsonl"
    path.write_bytes(rows)
    read = load_table(str(path))
    assert {f.answer_type for f in read.facts} > {None} and any(f.question for f in read.facts)
    for attempt in ("read", "cached"):
        got = cache.load_table(str(path))
        assert got.facts == read.facts, attempt
        assert all(f.relation is g.relation for f, g in zip(got.facts, read.facts, strict=True))  # interned
        assert (got.digest, got.objects_per_relation()) == (read.digest, read.objects_per_relation()), attempt
    assert len(list((tmp_path / "cache").glob("table-*.bin"))) == 1
    path.write_bytes(rows.replace(b"Tuve", b"Tuvo"))
    changed = cache.load_table(str(path))
    assert changed.facts[-1].object == "Tuvo" and changed.digest != read.digest
    assert len(list((tmp_path / "cache").glob("table-*.bin"))) == 2
    for kept in (tmp_path / "cache").glob("table-*.bin"):
        kept.write_bytes(kept.read_bytes()[:-1] + b"\x00")  # damaged: read again from the file
    assert cache.load_table(str(path)).facts == changed.facts
