"""Reading corpora as a stream of ``Document`` records.

paths -> ``Source`` (a file, or stdin, with its detected format) -> ``Document`` generator.
Nothing is ever read whole: JSONL and text go line by line, Parquet row group by row group.

Formats: ``jsonl`` (also ``.json``/``.ndjson``), ``parquet``, ``text`` (one document per line),
each optionally gzip- or zstd-compressed (JSONL and text). The format comes from the extension,
then the magic bytes; ``--format`` overrides both.

A malformed record never stops a run: it is tallied in ``ReadStats`` under its reason with the
first few ``file:line`` examples, and reading goes on. With ``strict=True`` the first one raises
``BadRecordError`` instead.
"""

from __future__ import annotations

import fnmatch
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from audit.errors import BadRecordError, InputError
from audit.records import Document

FORMATS = ("auto", "jsonl", "parquet", "text")
#: Files a directory walk picks up when no --glob is given.
DEFAULT_GLOBS = (
    "*.jsonl", "*.jsonl.gz", "*.jsonl.zst", "*.jsonl.zstd",
    "*.json", "*.json.gz", "*.json.zst", "*.ndjson", "*.ndjson.gz", "*.ndjson.zst",
    "*.parquet", "*.txt", "*.txt.gz", "*.txt.zst",
)  # fmt: skip
BAD_REASONS = (
    "invalid_json", "invalid_utf8", "not_an_object", "missing_text", "non_string_text",
    "truncated_stream",
)  # fmt: skip
MAX_EXAMPLES = 5

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PARQUET_MAGIC = b"PAR1"


@dataclass
class BadTally:
    """How many records failed for one reason, and where the first few were."""

    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class ReadStats:
    """Documents and bytes read, and bad records by reason. A monoid: ``ReadStats()`` + ``+``."""

    documents: int = 0
    bytes: int = 0
    bad: dict[str, BadTally] = field(default_factory=dict)

    def add_bad(self, reason: str, where: str) -> None:
        tally = self.bad.setdefault(reason, BadTally())
        tally.count += 1
        if len(tally.examples) < MAX_EXAMPLES:
            tally.examples.append(where)

    @property
    def bad_total(self) -> int:
        return sum(t.count for t in self.bad.values())

    def __add__(self, other: ReadStats) -> ReadStats:
        out = ReadStats(self.documents + other.documents, self.bytes + other.bytes)
        for stats in (self, other):
            for reason, tally in stats.bad.items():
                mine = out.bad.setdefault(reason, BadTally())
                mine.count += tally.count
                room = MAX_EXAMPLES - len(mine.examples)
                mine.examples.extend(tally.examples[:room])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.bad_total,
            "by_reason": {r: {"count": t.count, "examples": t.examples} for r, t in sorted(self.bad.items())},
        }


@dataclass(frozen=True)
class ReadOptions:
    """How to turn raw records into documents."""

    text_field: str = "text"
    id_field: str | None = None
    format: str = "auto"
    doc_per_file: bool = False
    strict: bool = False
    parquet_batch_rows: int = 8192


@dataclass(frozen=True)
class Source:
    """One input: a path (or ``-`` for stdin) and, for parallel runs, a byte range of it."""

    path: str
    start: int = 0
    end: int | None = None  # exclusive; None = to the end
    line_offset: int = 0  # lines before ``start`` (set by the shard planner), for line numbers

    @property
    def size(self) -> int | None:
        if self.path == "-":
            return None
        end = self.end if self.end is not None else os.path.getsize(self.path)
        return end - self.start


# -- discovering inputs ------------------------------------------------------------------------
def expand_paths(paths: Iterable[str], globs: Iterable[str] | None = None) -> list[Source]:
    """Expand files, directories (recursively, sorted, filtered by ``globs``) and ``-``.

    Every path is checked up front, so a typo fails before any work is done.
    """
    patterns = tuple(globs) if globs else DEFAULT_GLOBS
    out: list[Source] = []
    for p in paths:
        if p == "-":
            out.append(Source("-"))
        elif os.path.isdir(p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if not name.startswith(".") and any(fnmatch.fnmatch(name, g) for g in patterns):
                        found.append(os.path.join(root, name))
            out.extend(Source(f) for f in sorted(found))
        elif os.path.isfile(p):
            if not os.access(p, os.R_OK):
                raise InputError("cannot open input: permission denied", path=p)
            out.append(Source(p))
        else:
            raise InputError("no such file or directory", path=p)
    return out


# -- opening -----------------------------------------------------------------------------------
def _peek(fh: IO[bytes], n: int) -> bytes:
    if hasattr(fh, "peek"):
        return fh.peek(n)[:n]
    pos = fh.tell()
    head = fh.read(n)
    fh.seek(pos)
    return head


def _detect(path: str, head: bytes, forced: str) -> tuple[str, str | None]:
    """(format, compression) from the name first, then the magic bytes."""
    name = path.lower()
    compression = None
    if head.startswith(_GZIP_MAGIC) or name.endswith(".gz"):
        compression = "gzip"
    elif head.startswith(_ZSTD_MAGIC) or name.endswith((".zst", ".zstd")):
        compression = "zstd"
    base = name.removesuffix(".gz").removesuffix(".zstd").removesuffix(".zst")
    if forced != "auto":
        return forced, compression
    if head.startswith(_PARQUET_MAGIC) or base.endswith(".parquet"):
        return "parquet", None
    if base.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl", compression
    if base.endswith(".txt"):
        return "text", compression
    if compression is None and head.lstrip()[:1] == b"{":
        return "jsonl", None
    if compression is not None:
        return "jsonl", compression  # compressed without a telling name: JSONL is the norm
    return "text", None


class _ZstdReader(io.RawIOBase):
    """Multi-frame zstd decompression that raises ``EOFError`` on a truncated stream.

    zstandard's ``stream_reader`` ends silently when the input stops mid-frame, which would turn a
    cut-off download into a quietly smaller corpus.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._pending = b""
        self._in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = self._raw.read(1 << 17)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended before the end of its frame")
                return 0
            while chunk:
                self._in_frame = True
                self._pending += self._obj.decompress(chunk)
                if self._obj.eof:
                    chunk = self._obj.unused_data
                    self._obj = self._dctx.decompressobj()
                    self._in_frame = False
                else:
                    chunk = b""
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _decompressed(raw: IO[bytes], compression: str | None) -> IO[bytes]:
    if compression == "gzip":
        import gzip

        # GzipFile buffers itself; a truncated member raises EOFError after the data before it.
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if compression == "zstd":
        return io.BufferedReader(_ZstdReader(raw), buffer_size=1 << 16)
    return raw


def _open_raw(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=1 << 20)
    except OSError as exc:
        raise InputError(f"cannot open input: {exc.strerror or exc}", path=path) from None


def _truncation_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [EOFError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    import gzip
    import zlib

    errors.extend([gzip.BadGzipFile, zlib.error])
    return tuple(errors)


def open_lines(path: str) -> tuple[IO[bytes], str]:
    """A binary line iterator over ``path`` (``-`` = stdin; gzip and zstd decompressed by magic
    or extension) and the name to use in messages. The caller closes it."""
    raw = _open_raw(path)
    _, compression = _detect(path, _peek(raw, 4), "jsonl")
    return _decompressed(raw, compression), "<stdin>" if path == "-" else path


def json_rows(path: str, what: str) -> Iterator[tuple[str, int, Any]]:
    """(name, line, decoded value) for each non-blank line of a small JSONL side file (reference
    table, per-fact counts). Such files skew every number after them when wrong, so a line that
    is not JSON raises ``InputError`` naming file and line; ``what`` names the file's role."""
    fh, name = open_lines(path)
    try:
        for line_no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                yield name, line_no, orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{what}: invalid JSON ({exc.msg})", path=name, line=line_no) from None
    except _truncation_errors() as exc:
        raise InputError(f"{what}: compressed stream is truncated ({exc})", path=name) from None
    finally:
        if path != "-":
            fh.close()


# -- reading -----------------------------------------------------------------------------------
def get_path(row: dict, dotted: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; a key containing the dots wins over the nested path."""
    if dotted in row:
        return row[dotted]
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def iter_documents(
    sources: Iterable[Source],
    options: ReadOptions,
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Document]:
    """Yield the documents of every source in order, tallying reads and bad records in ``stats``.

    ``progress`` is called with the raw bytes of each record (for a progress bar).
    """
    for source in sources:
        yield from iter_source(source, options, stats, progress)


def iter_source(
    source: Source,
    options: ReadOptions,
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Document]:
    raw = _open_raw(source.path)
    name = "<stdin>" if source.path == "-" else source.path
    try:
        head = _peek(raw, 4)
        fmt, compression = _detect(source.path, head, options.format)
        if fmt == "parquet":
            if source.path == "-":
                raise InputError("Parquet cannot be read from stdin; pass the file path", path=name)
            raw.close()
            yield from _parquet(source.path, options, stats, progress)
            return
        if source.start or source.end is not None:
            if compression is not None:
                raise InputError("byte ranges need an uncompressed file", path=name)
            raw.seek(max(0, source.start - 1))  # from the byte before: is start a line start?
        fh = _decompressed(raw, compression)
        if options.doc_per_file:
            yield from _whole_file(fh, name, options, stats, progress)
        elif fmt == "jsonl":
            yield from _jsonl(fh, name, source, options, stats, progress)
        else:
            yield from _text_lines(fh, name, source, options, stats, progress)
    finally:
        raw.close()


def _bad(stats: ReadStats, options: ReadOptions, reason: str, name: str, line: int, detail: str) -> None:
    if options.strict:
        raise BadRecordError(detail, path=name, line=line)
    stats.add_bad(reason, f"{name}:{line}")


def _lines(fh: IO[bytes], source: Source) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) for the part of the file this source covers.

    A range owns every line that starts in ``[start, end)``: one starting inside a line skips to
    the next line (the file is positioned at ``start - 1``, so a ``start`` that is a line start
    skips nothing). Line numbers count from ``source.line_offset``, which the shard planner sets
    to the lines before ``start``, so they match a whole-file read.
    """
    line_no = source.line_offset
    pos = source.start
    if source.start:
        pos = source.start - 1 + len(fh.readline())  # rest of the line holding byte start-1
    end = source.end
    for line in fh:
        line_no += 1
        if end is not None:
            if pos >= end:
                return
            pos += len(line)
        yield line_no, line


def _records(fh, name, source, options, stats, progress) -> Iterator[tuple[int, bytes]]:
    """``_lines`` with the bytes tallied and a truncated compressed stream recorded as a bad
    record at the line it cut (what came before it is kept)."""
    truncation = _truncation_errors()
    it = _lines(fh, source)
    line_no = source.line_offset
    while True:
        try:
            line_no, line = next(it)
        except StopIteration:
            return
        except truncation as exc:
            _bad(
                stats,
                options,
                "truncated_stream",
                name,
                line_no + 1,
                f"compressed stream is truncated or corrupt ({exc})",
            )
            return
        stats.bytes += len(line)
        if progress is not None:
            progress(len(line))
        yield line_no, line


def _jsonl(fh, name, source, options, stats, progress) -> Iterator[Document]:
    loads = orjson.loads
    text_field, id_field = options.text_field, options.id_field
    simple = "." not in text_field
    for line_no, line in _records(fh, name, source, options, stats, progress):
        nbytes = len(line)
        if not line.strip():
            continue
        try:
            row = loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                _bad(stats, options, "invalid_utf8", name, line_no, "record is not valid UTF-8")
                continue
            _bad(stats, options, "invalid_json", name, line_no, f"invalid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            _bad(stats, options, "not_an_object", name, line_no, "record is not a JSON object")
            continue
        text = row.get(text_field) if simple else get_path(row, text_field)
        if not isinstance(text, str):
            if text is None:
                _bad(stats, options, "missing_text", name, line_no, f"record has no {text_field!r} field")
            else:
                _bad(
                    stats,
                    options,
                    "non_string_text",
                    name,
                    line_no,
                    f"field {text_field!r} is {type(text).__name__}, not a string",
                )
            continue
        doc_id = None
        if id_field is not None:
            value = get_path(row, id_field)
            doc_id = None if value is None else str(value)
        stats.documents += 1
        yield Document(text, doc_id, name, line_no, nbytes)


def _text_lines(fh, name, source, options, stats, progress) -> Iterator[Document]:
    for line_no, line in _records(fh, name, source, options, stats, progress):
        nbytes = len(line)
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            _bad(stats, options, "invalid_utf8", name, line_no, "line is not valid UTF-8")
            continue
        if not text.strip():
            continue
        stats.documents += 1
        yield Document(text, None, name, line_no, nbytes)


def _whole_file(fh, name, options, stats, progress) -> Iterator[Document]:
    try:
        data = fh.read()
    except _truncation_errors() as exc:
        _bad(stats, options, "truncated_stream", name, 1, f"compressed stream is truncated or corrupt ({exc})")
        return
    stats.bytes += len(data)
    if progress is not None:
        progress(len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _bad(stats, options, "invalid_utf8", name, data.count(b"\n", 0, exc.start) + 1, "file is not valid UTF-8")
        return
    if not options.doc_per_file:  # pragma: no cover - only called for --doc-per-file
        return
    stats.documents += 1
    yield Document(text, os.path.basename(name), name, 0, len(data))


def _parquet(path, options, stats, progress) -> Iterator[Document]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", path=path) from None
    names = set(pf.schema_arrow.names)
    text_top = options.text_field if options.text_field in names else options.text_field.split(".")[0]
    if text_top not in names:
        raise InputError(
            f"Parquet file has no column {options.text_field!r} (has: {', '.join(sorted(names))})", path=path
        )
    columns = [text_top]
    id_top = None
    if options.id_field is not None:
        id_top = options.id_field if options.id_field in names else options.id_field.split(".")[0]
        if id_top in names and id_top != text_top:
            columns.append(id_top)
    row_no = 0
    try:
        for batch in pf.iter_batches(batch_size=options.parquet_batch_rows, columns=columns):
            texts = batch.column(text_top).to_pylist()
            ids = batch.column(id_top).to_pylist() if id_top in batch.schema.names else None
            for i, value in enumerate(texts):
                row_no += 1
                if text_top != options.text_field:
                    value = get_path({text_top: value}, options.text_field)
                if not isinstance(value, str):
                    reason = "missing_text" if value is None else "non_string_text"
                    _bad(stats, options, reason, path, row_no, f"row has no string {options.text_field!r}")
                    continue
                nbytes = len(value.encode("utf-8")) if not value.isascii() else len(value)
                stats.bytes += nbytes
                if progress is not None:
                    progress(nbytes)
                doc_id = None
                if ids is not None:
                    v = ids[i] if id_top == options.id_field else get_path({id_top: ids[i]}, options.id_field or "")
                    doc_id = None if v is None else str(v)
                stats.documents += 1
                yield Document(value, doc_id, path, row_no, nbytes)
    except (pa.ArrowInvalid, OSError) as exc:
        _bad(stats, options, "truncated_stream", path, row_no + 1, f"Parquet data is truncated or corrupt ({exc})")


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of up to ``size`` consecutive items (``itertools.batched`` before Python 3.12)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
