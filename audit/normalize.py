"""Text normalisation shared by fact matching, pattern extraction and answer grading.

``normalize`` = NFKC, lowercase (``str.lower``), accents stripped, runs of whitespace collapsed to
one space. It was chosen by measurement: per call, the ``tokenizers`` normalizers ran at about
9 MB/s on mostly-ASCII text, while ``unicodedata`` plus ``str.lower`` with an ASCII fast path runs
at several hundred MB/s (``bench/corpus_bench.py`` prints the figure for this machine).

Offsets reported for mentions are offsets into the normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

NAME = "nfkc-lower-noaccents-ws/2"

# Characters that NFKD splits into a base letter plus combining marks.
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def normalize(text: str) -> str:
    """Return ``text`` NFKC-normalised, lowercased, accent-free, with whitespace collapsed.

    >>> normalize("  Zürich\\u00a0 is  in ＳＷＩＴＺＥＲＬＡＮＤ ")
    'zurich is in switzerland'
    """
    low = text.lower() if text.isascii() else _fold(text)
    # str.split/join is ~60 MB/s and a regex ~20 MB/s: only pay when there is something to collapse.
    if "  " in low or low[:1] == " " or low[-1:] == " " or _ascii_space(low):
        return " ".join(low.split())
    if not low.isascii() and _OTHER_SPACE.search(low):
        return " ".join(low.split())  # unicode spaces (NBSP, ideographic) are whitespace too
    return low


def _fold(text: str) -> str:
    """NFKC, lowercase, accents stripped: ``normalize`` before the whitespace collapse."""
    return _fold_nfkc(unicodedata.normalize("NFKC", text))


def _fold_nfkc(nfkc: str) -> str:
    """``_fold`` of a text already in NFKC."""
    low = nfkc.lower()
    # Stripping accents (decompose, drop the marks, compose) changes nothing in a text that is
    # in both normal forms and has no mark, such as one whose only non-ASCII characters are
    # typographic quotes and dashes: the two quick checks cost a tenth of the three passes.
    if not low.isascii() and (
        not unicodedata.is_normalized("NFD", low) or not unicodedata.is_normalized("NFC", low)
        or _COMBINING.search(low)
    ):  # fmt: skip
        low = unicodedata.normalize("NFC", _COMBINING.sub("", unicodedata.normalize("NFD", low)))
    return low


def _ascii_space(low: str) -> bool:
    """Whether ``low`` holds ASCII whitespace other than the space (nine ``in`` tests, each a
    ``memchr``: a tenth of ``str.isprintable``)."""
    return ("\n" in low or "\t" in low or "\r" in low or "\x0b" in low or "\x0c" in low
            or "\x1c" in low or "\x1d" in low or "\x1e" in low or "\x1f" in low)  # fmt: skip


def _segment(run: str) -> str | None:
    """``_fold`` of a piece of a text (``normalize_texts``), or None where the piece holds a capital
    sigma after NFKC: its lowercase depends on the letters around it."""
    nfkc = unicodedata.normalize("NFKC", run)
    return None if "Σ" in nfkc else _fold_nfkc(nfkc)


#: ``_segment`` of the short pieces met so far (``audit/_scan.c`` keeps those of up to 32
#: characters, and clears it at 65,536 entries).
_SEGMENTS: dict[str, str | None] = {}


def normalize_texts(texts: list[str]) -> list[str]:
    """``normalize`` of each text, by the compiled scanner where there is one
    (``audit.extract.compiled_scanner``): ``fold_texts`` in ``audit/_scan.c``, the same texts 5x
    as fast on text with accents and typographic quotes, 2x on ASCII."""
    from audit.extract import compiled_scanner  # (audit.extract imports this module)

    scanner = compiled_scanner()
    if scanner is None:
        return [normalize(t) for t in texts]
    return scanner.fold_texts(texts, _segment, normalize, _SEGMENTS)


#: What ``str.split`` takes for whitespace besides the space, the tab, the newline and the carriage
#: return (which ``normalize`` tests with ``in``); a test checks the list against ``str.isspace``.
_OTHER_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def normalize_many(texts: Iterable[str], into: dict[str, str] | None = None) -> dict[str, str]:
    """``normalize`` of each distinct text, as a dict (names of a reference table, which repeat);
    with ``into``, added to that dict (texts it holds are not normalised again) and returned.

    ASCII texts with nothing to collapse normalise to their lowercase: those are lowercased
    together, a block at a time (one ``str.lower`` over the block joined by newlines, whose
    pieces then are the texts' own lowercases); a block in which a text has ASCII whitespace
    other than the space, two spaces in a row or a space at either end goes text by text.
    """
    out: dict[str, str] = {} if into is None else into
    # (not ``keys() - out.keys()``: that walks all of ``out``, each block of a growing table)
    distinct = [t for t in dict.fromkeys(texts) if t not in out] if out else list(dict.fromkeys(texts))
    plain = []
    for t in distinct:
        if t.isascii():
            plain.append(t)
        else:
            out[t] = normalize(t)
    for start in range(0, len(plain), 4096):
        block = plain[start : start + 4096]
        joined = "\n".join(block)
        if (
            joined.count("\n") == len(block) - 1
            and not any(s in joined for s in _COLLAPSE)
            and joined[:1] != " "
            and joined[-1:] != " "
        ):
            out.update(zip(block, joined.lower().split("\n"), strict=True))
        else:
            out.update((t, normalize(t)) for t in block)
    return out


#: What makes ``normalize`` collapse whitespace in an ASCII text, as seen in texts joined by "\n".
_COLLAPSE = ("  ", "\t", "\r", " \n", "\n ", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
