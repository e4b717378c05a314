"""The compiled scanner (``audit/_scan.c``) against daachorse's overlapping search for the same
keys padded with a space: the same hits on random texts made of the keys' own words, other
words that share their prefixes, runs of spaces, newlines and non-ASCII letters."""

from __future__ import annotations

import itertools
import random
from array import array
from collections import Counter

import daachorse
import pytest

from audit import extract

scan = extract.compiled_scanner()
pytestmark = pytest.mark.skipif(scan is None, reason="the compiled scanner was not built")

WORDS = ["a", "ab", "abc", "abcdefgh", "abcdefghi", "abcdefghijklmnopq", "zé", "zürich", "東京", "1900", "b", "\n",
         "x\ny", "ann", "anne", "lee"]  # fmt: skip


def _keys(rng: random.Random, n: int) -> list[str]:
    keys: set[str] = set()
    while len(keys) < n:
        words = rng.choices(WORDS[:-2] if rng.random() < 0.5 else WORDS, k=rng.randint(1, 5))
        words = [w for w in words if "\n" not in w] or ["a"]
        gaps = rng.choices([" ", " ", "  ", "   "], k=len(words) - 1)
        keys.add(words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True)))
    return sorted(keys)


def _text(rng: random.Random, keys: list[str]) -> bytes:
    parts = []
    for _ in range(rng.randint(0, 60)):
        parts.append(rng.choice(keys) if rng.random() < 0.4 else rng.choice(WORDS))
        parts.append(rng.choice([" ", " ", "  ", "   ", "", "\n", " \n ", " " * rng.randint(4, 20)]))
    text = "".join(parts)
    if rng.random() < 0.7:
        text = f" {text} "
    return text.encode()


def _daachorse(keys: list[str], data: bytes) -> list[tuple[int, int, int]]:
    automaton = daachorse.DoubleArrayAhoCorasick([f" {k} ".encode() for k in keys])
    return sorted(automaton.find_overlapping(data))


def _scanned(scanner, data: bytes) -> list[tuple[int, int, int]]:
    raw = scanner.find(data)
    assert len(raw) % 24 == 0
    ints = [int.from_bytes(raw[i : i + 8], "little", signed=True) for i in range(0, len(raw), 8)]
    return sorted(zip(ints[0::3], ints[1::3], ints[2::3], strict=True))


@pytest.mark.parametrize("seed", range(30))
def test_the_same_hits_as_daachorse(seed):
    rng = random.Random(seed)
    keys = _keys(rng, rng.randint(1, 40))
    rng.shuffle(keys)  # ids are list positions, whatever their order
    scanner = scan.Scanner(keys)
    assert scanner.n_keys() == len(keys)
    assert scanner.joined() == "\n".join(keys).encode()
    for _ in range(30):
        data = _text(rng, keys)
        assert _scanned(scanner, data) == _daachorse(keys, data), data


def test_many_keys_and_bytes_keys():
    """A table that grows several times while it is filled, built from bytes as from str."""
    rng = random.Random(7)
    syllables = ["ka", "lo", "mi", "ra", "tu", "ve", "shi", "no", "zé"]
    keys = sorted({" ".join("".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 3)))
                   for _ in range(20_000)})  # fmt: skip
    data = " ".join(rng.choice(keys) for _ in range(5_000)).encode()
    data = b" " + data + b" "
    expected = _daachorse(keys, data)
    assert len(expected) > 5_000
    assert _scanned(scan.Scanner(keys), data) == expected
    assert _scanned(scan.Scanner([k.encode() for k in keys]), data) == expected


def test_a_text_without_padding_and_empty_texts():
    scanner = scan.Scanner(["a", "a b"])
    assert _scanned(scanner, b"a b") == []  # no space before "a", none after "b"
    assert _scanned(scanner, b"") == []
    assert _scanned(scanner, b"   ") == []
    assert _scanned(scanner, b"a b a ") == [(3, 6, 0)]
    assert _scanned(scan.Scanner([]), b" a ") == []


@pytest.mark.parametrize("bad", [[""], [" a"], ["a "], ["a\nb"], [1], ["ok", None], b"a\n\nb", b"a\n b", b"a \nb"])
def test_keys_it_cannot_hold_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        scan.Scanner(bad)


@pytest.mark.parametrize("seed", range(10))
def test_keys_joined_by_newlines_build_the_same_scanner(seed):
    rng = random.Random(seed)
    keys = _keys(rng, rng.randint(1, 40))
    joined = "\n".join(keys).encode()
    scanner = scan.Scanner(joined)
    assert scanner.n_keys() == len(keys)
    assert scanner.joined() == joined
    for _ in range(20):
        data = _text(rng, keys)
        assert _scanned(scanner, data) == _daachorse(keys, data), data
    assert scan.Scanner(b"").n_keys() == 0


def _views(rng: random.Random, n: int) -> list[str]:
    """Word views as the matcher makes them: words, runs of spaces between them, sometimes
    spaces around; words repeat across views, so keys repeat across names."""
    words = [w for w in WORDS if "\n" not in w and w.strip()]
    views = []
    for _ in range(n):
        k = rng.choice([0, 1, 1, 2, 2, 2, 3, 4, 5, 6, 9])
        parts = rng.choices(words, k=k)
        gaps = rng.choices([" ", " ", "  ", "   "], k=max(k - 1, 0))
        view = parts[0] + "".join(g + w for g, w in zip(gaps, parts[1:], strict=True)) if parts else ""
        views.append(rng.choice(["", "", " ", "  "]) + view + rng.choice(["", "", " "]))
    return views


@pytest.mark.parametrize("max_gap_words", [2, 3, 4, 6])
@pytest.mark.parametrize("seed", range(6))
def test_name_keys_are_view_keys_numbered_as_first_met(monkeypatch, seed, max_gap_words):
    """``name_keys`` against ``view_keys`` name by name (the same keys, each once), each key
    once in all, and numbered in the order first met."""
    monkeypatch.setattr(extract, "MAX_GAP_WORDS", max_gap_words)
    monkeypatch.setattr(extract, "_GAPS", {n: list(itertools.product((" ", "  "), repeat=n - 1))
                                           for n in range(2, max_gap_words + 1)})  # fmt: skip
    rng = random.Random(seed)
    views = _views(rng, rng.randint(1, 300))
    joined, raw_key, raw_off = scan.name_keys("\n".join(views).encode(), max_gap_words)
    keys = joined.decode().split("\n") if joined else []
    ids = array("q", raw_key).tolist()
    offs = array("q", raw_off).tolist()
    assert len(offs) == len(views) + 1 and offs[0] == 0 and offs[-1] == len(ids)
    assert len(keys) == len(set(keys))
    for i, view in enumerate(views):
        got = ids[offs[i] : offs[i + 1]]
        assert len(got) == len(set(got)), view
        assert sorted(keys[k] for k in got) == sorted(extract.view_keys(view.strip())), view
    assert list(dict.fromkeys(ids)) == list(range(len(keys)))


def test_name_keys_of_no_names_and_of_names_without_words():
    assert scan.name_keys(b"", 4) == (b"", b"", bytes(16))
    keys, raw_key, raw_off = scan.name_keys(b"  \n\nann  lee\n ", 4)
    assert keys.decode().split("\n") == ["ann  lee", "ann lee"]
    assert array("q", raw_key).tolist() == [0, 1]
    assert array("q", raw_off).tolist() == [0, 0, 0, 2, 2]
    with pytest.raises(ValueError):
        scan.name_keys(b"a", 1)


@pytest.mark.parametrize("seed", range(10))
def test_expand_is_the_compressed_row_lookup(seed):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, size=rng.integers(1, 60))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = rng.integers(0, len(counts), size=rng.integers(0, 200)).astype(np.int64)
    owner, flat = scan.expand(offsets, rows)
    pairs = [(i, k) for i, r in enumerate(rows.tolist()) for k in range(offsets[r], offsets[r + 1])]
    assert list(zip(array("q", owner), array("q", flat), strict=True)) == pairs
    with pytest.raises(ValueError):
        scan.expand(offsets, np.array([len(counts)], dtype=np.int64))
    with pytest.raises(ValueError):
        scan.expand(offsets[:0], rows)


@pytest.mark.parametrize("seed", range(10))
def test_word_counts_are_the_pieces_of_str_split(seed):
    rng = random.Random(seed)
    alphabet = list("ab Zz19.,'\n\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f") + ["  ", "abcdefghij"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
    assert scan.word_counts(text.encode()) == dict(Counter(text.split()))
    with pytest.raises(ValueError):
        scan.word_counts("a é".encode())


def test_text_word_counts_is_a_counter_of_str_split():
    rng = random.Random(5)
    alphabet = list("ab Zé中🙂\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2002\u2028\u3000\u200b.") + ["  "]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert scan.text_word_counts(text) == Counter(text.split()), repr(text)
    many = " ".join(f"w{i}é" for i in range(50_000))  # the table grows
    assert scan.text_word_counts(many + " " + many) == {f"w{i}é": 2 for i in range(50_000)}


def test_split_counts_cuts_documents_at_the_separator():
    rng = random.Random(6)
    alphabet = list("ab Zé中🙂\n\t\x00.") + ["  ", "\u3000"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        docs = text.split("\x00")
        got = scan.split_counts(text, " ", "\x00", "\t\n\u3000")
        runs = any("  " in d or "\t " in d or "\n " in d or "\u3000 " in d for d in docs)
        if runs:
            assert got is None, repr(text)
            continue
        first, rest, others = got
        assert first == Counter(d.split(" ")[0] for d in docs), repr(text)
        assert rest == Counter(p for d in docs for p in d.split(" ")[1:]), repr(text)
        assert others == "".join(sorted({c for c in text if ord(c) >= 128}))
