"""``normalize`` and ``word_view`` against their definitions written out plainly: the fast
paths (skipping the accent passes, the whitespace collapse and the space in the substitution)
give the same text for any input."""

from __future__ import annotations

import os
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import normalize as normalize_module
from audit.extract import word_view
from audit.normalize import normalize

MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def by_definition(text: str) -> str:
    """The three passes whenever a character is not ASCII, then the split/join."""
    low = unicodedata.normalize("NFKC", text).lower()
    if not low.isascii():
        low = unicodedata.normalize("NFC", MARKS.sub("", unicodedata.normalize("NFD", low)))
    return " ".join(low.split())


# Typographic punctuation, accents (precomposed and combining), Hangul jamo, compatibility forms,
# every kind of whitespace, and a few scripts.
ALPHABET = st.sampled_from(list("aZ9 .,-_'\"\t\n\r\x0b\x0c\x1f\x85\xa0\u1680\u2003\u2028\u202f\u3000")
                           + list("“”‘’—–…«»éÉñçøßİıﬁＡ①²") + ["e\u0301", "\u0301", "\u1100\u1161", "\uac00"]
                           + list("中文ひらがなабвгΣσςא"))  # fmt: skip
TEXTS = st.lists(ALPHABET, max_size=40).map("".join) | st.text(max_size=40)


@settings(max_examples=2000, deadline=None)
@given(TEXTS)
def test_normalize_is_its_definition(text: str) -> None:
    assert normalize(text) == by_definition(text)


@settings(max_examples=1000, deadline=None)
@given(TEXTS)
def test_word_view_replaces_every_non_word_character(text: str) -> None:
    for t in (text, normalize(text)):
        view = word_view(t)
        assert len(view) == len(t)
        assert view == "".join(c if c.isalnum() and c != "_" else " " for c in t)


def test_other_whitespace_is_what_split_takes_for_whitespace() -> None:
    listed = {chr(c) for c in range(0x110000) if normalize_module._OTHER_SPACE.fullmatch(chr(c))}
    assert listed == {chr(c) for c in range(0x110000) if chr(c).isspace()} - set(" \t\n\r")


@settings(max_examples=500, deadline=None)
@given(st.lists(TEXTS.map(normalize) | st.sampled_from(["\U0001d400b", "a\U0001f600b", "\U00020000", "a\udc80b"]),
                min_size=1, max_size=5))  # fmt: skip
def test_a_batch_view_is_the_documents_views_joined(docs: list[str]) -> None:
    from audit.extract import batch_view

    text = " " + " \n ".join(docs) + " "
    for engine in ("compiled", "library"):  # the compiled scanner's word_view, the numpy one
        os.environ["HALLU_AUDIT_SCANNER"] = engine
        try:
            data, chars = batch_view(text)
        finally:
            del os.environ["HALLU_AUDIT_SCANNER"]
        assert data.decode() == " " + " \n ".join(map(word_view, docs)) + " "
        assert chars.tolist() == [ord(c) if c.isascii() else 0 for c in text]


def _compiled():
    """The compiled scanner, which CI must have built (a skip elsewhere: no C compiler)."""
    from audit.extract import compiled_scanner

    scanner = compiled_scanner()
    if scanner is None:
        if os.environ.get("CI"):
            pytest.fail("the compiled scanner was not built (audit/_scan.c): is a C compiler installed?")
        pytest.skip("the compiled scanner was not built")
    return scanner


# Pieces the compiled normaliser folds on their own: marks that compose with the ASCII letter or
# sign before them, the capital sigma (final or not by its neighbours, also from NFKC of the
# mathematical one), compatibility forms that turn into ASCII, and long runs of other scripts.
PIECES = st.sampled_from(
    list("aAzZ=<> .'-\n\t\x0b\x0c\x1c\xa0\u2003\u3000") + ["\u0301", "\u0338", "\u0308\u0301", "\u0327"]
    + list("ΣσςΟΔ") + ["\U0001d6ba", "\u03f2", "\u1fbc"] + list("“”’—éÉñçßİıﬁＡ①²½") + ["\u1100\u1161\u11a8", "\uac00"]
    + ["中文", "ひらがな", "абв", "אב", "\U0001f600", "\U00020000", "\udc80"]
)  # fmt: skip
MIXED = st.lists(PIECES, max_size=30).map("".join) | TEXTS


@settings(max_examples=3000, deadline=None)
@given(st.lists(MIXED, max_size=6))
def test_the_compiled_normaliser_is_normalize(texts: list[str]) -> None:
    scanner = _compiled()
    assert normalize_module.normalize_texts(texts) == [normalize(t) for t in texts]
    # and again, every piece now from the cache
    assert scanner.fold_texts(texts, normalize_module._segment, normalize, normalize_module._SEGMENTS) == [
        by_definition(t) for t in texts]  # fmt: skip


def test_the_compiled_normaliser_folds_the_sigma_by_its_neighbours() -> None:
    texts = ["ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "aΣ", "Σa", "aΣb", "ΣΑΣ x", "\U0001d6baa", "ΌΣΟΣ’"]
    assert normalize_module.normalize_texts(texts) == [by_definition(t) for t in texts]
    assert by_definition("ΟΔΟΣ") == "οδος"


def test_only_whitespace_is_collapsed_and_the_rest_kept() -> None:
    texts = ["a\x0bb", "a \x0c b", "x\x1fy", "A\u00a0\u00a0B", " é ", "\x0b", "\u3000", "", "Ab  Cd"]
    assert normalize_module.normalize_texts(texts) == ["a b", "a b", "x y", "a b", "e", "", "", "", "ab cd"]
    assert [normalize(t) for t in texts] == ["a b", "a b", "x y", "a b", "e", "", "", "", "ab cd"]


def test_non_str_items_are_a_type_error() -> None:
    _compiled()
    with pytest.raises(TypeError):
        normalize_module.normalize_texts(["a", b"b"])  # type: ignore[list-item]


def test_the_compiled_normaliser_on_every_character() -> None:
    """Every assigned character of the first two planes, after an ASCII letter and before a
    combining mark, doubled before a letter, and before a capital sigma (the whole text then):
    the compiled pieces and the definition agree."""
    _compiled()
    chars = [chr(c) for c in range(0x80, 0x20000) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    texts = [f"A{c}\u0301 b" for c in chars] + [f"{c}{c}a" for c in chars] + [f"a {c}Σ" for c in chars]
    normalize_module._SEGMENTS.clear()
    got = normalize_module.normalize_texts(texts)
    assert got == [by_definition(t) for t in texts]


def test_long_runs_are_folded_as_they_come() -> None:
    """A run of over 32 characters that are not ASCII (a text in another script) is folded
    without being kept; the result is the same."""
    _compiled()
    texts = ["A" + "ＡＢＣ中文ﬁé—" * 10 + "\u0301 x", "x " + "Σ" + "中" * 40 + "ς", "é" * 33, "日本語のテキスト" * 20]
    normalize_module._SEGMENTS.clear()
    assert normalize_module.normalize_texts(texts) == [by_definition(t) for t in texts]
    assert not normalize_module._SEGMENTS
    assert normalize_module.normalize_texts(["x’s ", "é" * 32]) == ["x’s", "e" * 32]
    assert set(normalize_module._SEGMENTS) == {"x’", "é" * 32}
