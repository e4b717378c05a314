"""``corpus --mentions FILE``: one JSONL row per counted mention, the audit trail behind every
count.

Each row: the fact ``id`` and ``relation``; ``subject`` and ``object`` normalised (the object as
counted: an ISO date for dates) and ``subject_found`` / ``object_found`` as they appear in the
text the extractor read (the normalised text for a reference table, which is matched on it;
the document's own text for pattern packs and regexes); the document's ``doc_id`` (``--id-field``,
else ``source:line``), ``source`` and ``line``; ``span``, the character offsets ``[start, end)``
of the sentence in that same text, and ``sentence``, its text (at most ``MAX_SENTENCE``
characters, then "..."). Rows come in input order, and within a document in the order the
counts were made, whatever ``--workers``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import IO, Any

import orjson

from audit.extract import FactMatcher, Matches, sentence_starts
from audit.normalize import normalize
from audit.records import Document, Mention

MAX_SENTENCE = 500


def _where(doc: Document) -> tuple[str, str, int]:
    location = f"{doc.source}:{doc.line}" if doc.line else doc.source
    return (doc.id if doc.id is not None else location), doc.source, doc.line


def _sentence(text: str, lo: int, hi: int) -> str:
    s = text[lo:hi]
    return s if len(s) <= MAX_SENTENCE else s[:MAX_SENTENCE] + "..."


class MentionWriter:
    """Writes mention rows to a binary stream, one batch of documents at a time."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.rows = 0

    def _write(self, rows: list[bytes]) -> None:
        if rows:
            self.out.write(b"".join(rows))
            self.rows += len(rows)

    def reference(self, matcher: FactMatcher, batch: list[Document], m: Matches) -> None:
        """The mentions ``matcher.match(..., hits=True)`` found in ``batch``."""
        facts, dumps, rows = matcher.facts, orjson.dumps, []
        for d, fi, s0, s1, o0, o1, lo, hi in matcher.mention_details(m):
            text, fact = m.texts[d], facts[fi]
            doc_id, source, line = _where(batch[d])
            subject, obj = text[s0:s1], text[o0:o1]
            rows.append(dumps({
                "id": fact.id, "relation": fact.relation, "subject": normalize(subject), "object": normalize(obj),
                "subject_found": subject, "object_found": obj, "doc_id": doc_id, "source": source, "line": line,
                "span": [lo, hi], "sentence": _sentence(text, lo, hi),
            }) + b"\n")  # fmt: skip
        self._write(rows)

    def patterns(self, doc: Document, mentions: Iterable[Mention]) -> None:
        """The mentions a pattern extractor found in ``doc`` (positions into ``doc.text``)."""
        text = doc.text
        low = text.lower()
        # the sentence splitter reads lowercased text; where lowercasing changes the length
        # (rare letters), it reads the text as it is
        starts: list[int] | None = None
        doc_id, source, line = _where(doc)
        rows: list[bytes] = []
        for mention in mentions:
            if starts is None:
                starts = [0, *sentence_starts(low if len(low) == len(text) else text)]
            si = bisect_right(starts, mention.position) - 1
            lo, hi = starts[si], (starts[si + 1] if si + 1 < len(starts) else len(text))
            sentence = text[lo:hi]
            lo += len(sentence) - len(sentence.lstrip())
            hi = lo + len(sentence.strip())
            rows.append(orjson.dumps({
                "id": mention.fact, "relation": mention.relation, "subject": normalize(mention.subject_found),
                "object": mention.obj, "subject_found": mention.subject_found, "object_found": mention.object_found,
                "doc_id": doc_id, "source": source, "line": line, "span": [lo, hi], "sentence": _sentence(text, lo, hi),
            }) + b"\n")  # fmt: skip
        self._write(rows)


def copy_rows(src: Any, out: IO[bytes]) -> None:
    """Append a worker's rows (a file path, or the bytes themselves) to ``out``."""
    import os
    import shutil

    if isinstance(src, bytes):
        out.write(src)
        return
    with open(src, "rb") as fh:
        shutil.copyfileobj(fh, out, 1 << 20)
    os.unlink(src)
