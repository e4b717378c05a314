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

NAME = "nfkc-lower-noaccents-ws/1"

# Characters that NFKD splits into a base letter plus combining marks.
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def normalize(text: str) -> str:
    """Return ``text`` NFKC-normalised, lowercased, accent-free, with whitespace collapsed.

    >>> normalize("  Zürich\\u00a0 is  in ＳＷＩＴＺＥＲＬＡＮＤ ")
    'zurich is in switzerland'
    """
    if text.isascii():
        low = text.lower()
    else:
        low = unicodedata.normalize("NFKC", text).lower()
        if not low.isascii():
            low = unicodedata.normalize("NFC", _COMBINING.sub("", unicodedata.normalize("NFD", low)))
    # str.split/join is ~60 MB/s and a regex ~20 MB/s: only pay when there is something to collapse.
    if "  " in low or "\n" in low or "\t" in low or "\r" in low or low[:1] == " " or low[-1:] == " ":
        return " ".join(low.split())
    if not low.isascii():
        return " ".join(low.split())  # unicode spaces (NBSP, ideographic) are whitespace too
    return low
