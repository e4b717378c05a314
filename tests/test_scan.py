"""The compiled scanner (``audit/_scan.c``) against daachorse's overlapping search for the same
keys padded with a space: the same hits on random texts made of the keys' own words, other
words that share their prefixes, runs of spaces, newlines and non-ASCII letters."""

from __future__ import annotations

import random

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
        parts.append(rng.choice([" ", " ", "  ", "   ", "", "\n", " \n "]))
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


@pytest.mark.parametrize("bad", [[""], [" a"], ["a "], [1], ["ok", None]])
def test_keys_it_cannot_hold_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        scan.Scanner(bad)
