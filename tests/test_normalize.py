"""``normalize`` and ``word_view`` against their definitions written out plainly: the fast
paths (skipping the accent passes, the whitespace collapse and the space in the substitution)
give the same text for any input."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from audit import normalize as normalize_module
from audit.extract import word_view
from audit.normalize import normalize

MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def by_definition(text: str) -> str:
    """The three passes whenever a character is not ASCII, the split/join whenever the text is
    not ASCII after them."""
    low = unicodedata.normalize("NFKC", text).lower()
    if not low.isascii():
        low = unicodedata.normalize("NFC", MARKS.sub("", unicodedata.normalize("NFD", low)))
    if low[:1] == " " or low[-1:] == " " or any(s in low for s in ("  ", "\n", "\t", "\r")) or not low.isascii():
        return " ".join(low.split())
    return low


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
@given(st.lists(TEXTS.map(normalize) | st.sampled_from(["\U0001d400b", "a\U0001f600b", "\U00020000"]),
                min_size=1, max_size=5))  # fmt: skip
def test_a_batch_view_is_the_documents_views_joined(docs: list[str]) -> None:
    from audit.extract import batch_view

    text = " " + " \n ".join(docs) + " "
    data, chars = batch_view(text)
    assert data.decode() == " " + " \n ".join(map(word_view, docs)) + " "
    assert "".join(map(chr, chars.tolist())) == text
