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

import errno
import fnmatch
import io
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
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
    "truncated_stream", "too_long", "corrupt_row_group",
)  # fmt: skip
#: Default of ``--max-record-bytes``: a longer record is counted bad (``too_long``) and skipped.
MAX_RECORD_BYTES = 64 << 20
_BOM = b"\xef\xbb\xbf"
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

    def add_bad(self, reason: str, where: str, count: int = 1) -> None:
        tally = self.bad.setdefault(reason, BadTally())
        tally.count += count
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
    max_record_bytes: int = MAX_RECORD_BYTES


@dataclass(frozen=True)
class Source:
    """One input: a path (or ``-`` for stdin) and, for parallel runs, a byte range of it."""

    path: str
    start: int = 0
    end: int | None = None  # exclusive; None = to the end
    line_offset: int = 0  # lines before ``start`` (set by the shard planner), for line numbers

    @property
    def size(self) -> int | None:
        """Bytes to read; None for a stream (stdin, a FIFO, ``<(...)``), which cannot be split."""
        if self.path == "-":
            return None
        if self.end is not None:
            return self.end - self.start
        st = os.stat(self.path)
        if not stat.S_ISREG(st.st_mode):
            return None
        return st.st_size - self.start


# -- discovering inputs ------------------------------------------------------------------------
@dataclass
class Inputs:
    """What ``discover_inputs`` found: the sources to read, in order, and what it set aside."""

    sources: list[Source] = field(default_factory=list)
    bad_sources: list[tuple[str, str]] = field(default_factory=list)  # (path, why) skipped
    repeated: list[str] = field(default_factory=list)  # given more than once: read once
    #: folders in which no file matched the globs: (folder, files left out, one of their names)
    unmatched: list[tuple[str, int, str | None]] = field(default_factory=list)
    globs: tuple[str, ...] = ()

    def nothing_found(self) -> str:
        """Why no input file was found, naming the folders and what in them did not match."""
        if not self.unmatched:
            return "no input files found (check the paths and --glob)"
        shown = ", ".join(self.globs[:6]) + (", ..." if len(self.globs) > 6 else "")
        parts = [
            f"{folder} holds {n:,} file{'s' if n != 1 else ''}, none matching {shown} "
            f"(e.g. {os.path.basename(e or '')}); choose with --glob" if n else f"{folder} holds no file"
            for folder, n, e in self.unmatched[:3]
        ]
        return "no input files found: " + "; ".join(parts)

    def warnings(self) -> list[str]:
        """One line each, for stderr."""
        out = [f"{path}: skipped ({why})" for path, why in self.bad_sources]
        out += [f"{path}: given more than once, read once" for path in self.repeated]
        return out

    def report_fields(self) -> dict[str, Any]:
        """``inputs.bad_sources`` for the corpus report, when a source was skipped."""
        if not self.bad_sources:
            return {}
        return {
            "bad_sources": {
                "count": len(self.bad_sources),
                "examples": [f"{p}: {why}" for p, why in self.bad_sources[:MAX_EXAMPLES]],
            }
        }


def discover_inputs(paths: Iterable[str], globs: Iterable[str] | None = None) -> Inputs:
    """Expand files, directories (recursively, sorted, filtered by ``globs``), streams (``-``,
    FIFOs, ``<(...)``, ``/dev/stdin``) into sources.

    Every path given is checked up front, so a typo fails before any work is done. Inside a
    folder, an entry that cannot be read (a dangling symlink, a symlink loop) is set aside in
    ``bad_sources``; a file met twice (the same path, a symlink or hard link to it) is read once.
    """
    patterns = tuple(globs) if globs else DEFAULT_GLOBS
    out = Inputs(globs=patterns)
    seen: set[tuple[int, int]] = set()

    def add(path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode) and key in seen:
            out.repeated.append(path)
            return
        seen.add(key)
        out.sources.append(Source(path))

    for p in paths:
        if p == "-":
            if any(s.path == "-" for s in out.sources):
                out.repeated.append(p)
            else:
                out.sources.append(Source("-"))
            continue
        try:
            st = os.stat(p)
        except OSError as exc:
            why = "no such file or directory" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc))
            raise InputError(why, path=p) from None
        if stat.S_ISDIR(st.st_mode):
            found = []
            others, example = 0, None
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    if any(fnmatch.fnmatch(name, g) for g in patterns):
                        found.append(os.path.join(root, name))
                    else:
                        others += 1
                        example = example or os.path.join(root, name)
            if not found:
                out.unmatched.append((p, others, example))
            for f in sorted(found):
                try:
                    fst = os.stat(f)
                except OSError as exc:
                    out.bad_sources.append((f, _unreadable(f, exc)))
                    continue
                if not os.access(f, os.R_OK):
                    out.bad_sources.append((f, "permission denied"))
                    continue
                add(f, fst)
        else:
            if not os.access(p, os.R_OK):
                raise InputError("cannot open input: permission denied", path=p)
            add(p, st)
    return out


def _unreadable(path: str, exc: OSError) -> str:
    if os.path.islink(path):
        if isinstance(exc, FileNotFoundError):
            return f"dangling symlink to {os.readlink(path)!r}"
        if exc.errno == errno.ELOOP:
            return "symlink loop"
    return exc.strerror or str(exc)


def expand_paths(paths: Iterable[str], globs: Iterable[str] | None = None) -> list[Source]:
    """The sources of ``discover_inputs`` (what it set aside is dropped)."""
    return discover_inputs(paths, globs).sources


def same_content(sources: Iterable[Source], options: ReadOptions, head: int = 1 << 20) -> list[list[str]]:
    """Groups of input files that hold the same corpus, however compressed (``x.jsonl``,
    ``x.jsonl.gz``, ``x.jsonl.zst``): the same digest of their first ``head`` decompressed bytes
    and the same decompressed size where it is known without reading the file (plain files;
    gzip's size trailer). Streams are left out. Costs one ``head`` read a file, far less than
    scanning it; meant for a warning, not to drop anything."""
    import hashlib

    skippable: tuple[type[BaseException], ...] = (InputError, OSError, *_truncation_errors())
    by_digest: dict[bytes, list[tuple[str, int | None]]] = {}
    for src in sources:
        if src.path == "-" or src.start or src.end is not None or src.size is None:
            continue
        try:
            with _open_raw(src.path) as raw:
                magic = _peek(raw, 4)
                fmt, compression = _detect(src.path, magic, options.format)
                fh = _decompressed(raw, None if fmt == "parquet" else compression)
                data = fh.read(head)
            size: int | None = None
            if len(data) < head:
                size = len(data)  # the whole content
            elif compression is None or fmt == "parquet":
                size = os.path.getsize(src.path)
            elif compression == "gzip":
                with open(src.path, "rb") as f:
                    f.seek(-4, os.SEEK_END)
                    size = int.from_bytes(f.read(4), "little")  # ISIZE: the size mod 2^32
        except skippable:
            continue
        if size is not None:
            size &= 0xFFFFFFFF  # comparable with gzip's trailer
        by_digest.setdefault(hashlib.blake2b(data, digest_size=16).digest(), []).append((src.path, size))
    groups = []
    for members in by_digest.values():
        if len(members) < 2:
            continue
        sized = {sz for _, sz in members if sz is not None}
        if len(sized) <= 1:
            groups.append([p for p, _ in members])
        else:  # same head, different sizes: group by size
            for sz in sorted(sized):
                same = [p for p, z in members if z == sz or z is None]
                if len(same) > 1:
                    groups.append(same)
    return groups


def check_documents(
    stats: ReadStats, sources: Sequence[Source], options: ReadOptions, *, allow_empty: bool = False
) -> None:
    """A run that read no document counted nothing: ``InputError``. When records were read but
    every one was bad, it names the reasons (and, for a missing text field, the fields the first
    records do have). ``allow_empty`` lets inputs that hold no record at all through (an empty
    shard of a sharded run is still a part to merge)."""
    if stats.documents:
        return
    if not stats.bad_total:
        if allow_empty:
            return
        names = ", ".join(s.path for s in sources[:3]) + (", ..." if len(sources) > 3 else "")
        raise InputError(f"the inputs hold no document ({names}), nothing was counted")
    reasons = ", ".join(f"{r} {t.count:,}" for r, t in sorted(stats.bad.items()))
    first = next(iter(t.examples[0] for t in stats.bad.values() if t.examples), "")
    message = f"every record was bad ({reasons}; first: {first}), nothing was counted"
    if "missing_text" in stats.bad:
        fields = _first_fields(sources, options)
        has = f"; the first records have: {', '.join(fields)}" if fields else ""
        message = f"no record has a {options.text_field!r} field (--text-field){has}; {message}"
    raise InputError(message)


def _first_fields(sources: Sequence[Source], options: ReadOptions, records: int = 5) -> list[str]:
    """The keys of the first few JSON objects of the first file that is not a stream."""
    fields: dict[str, None] = {}
    skippable: tuple[type[BaseException], ...] = (InputError, OSError, *_truncation_errors())
    for src in sources:
        if src.size is None or src.start:
            continue
        try:
            with _open_raw(src.path) as raw:
                fmt, compression = _detect(src.path, _peek(raw, 4), options.format)
                if fmt != "jsonl":
                    continue
                fh = _decompressed(raw, compression)
                seen = 0
                for _, line, _ in _lines(fh, Source(src.path), options.max_record_bytes):
                    if line is None or not line.strip():
                        continue
                    try:
                        row = orjson.loads(line.removeprefix(_BOM))
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(row, dict):
                        fields.update(dict.fromkeys(map(str, row)))
                    seen += 1
                    if seen >= records:
                        break
        except skippable:
            continue
        if fields:
            break
    return list(fields)


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
    for name, lines, rows in json_row_blocks(path, what):
        for line_no, row in zip(lines, rows, strict=True):
            yield name, line_no, row


def json_row_blocks(path: str, what: str, size: int = 1 << 14) -> Iterator[tuple[str, Sequence[int], list[Any]]]:
    """``json_rows`` a block of up to ``size`` lines at a time: (name, line numbers, decoded
    values) of the block's non-blank lines. A block without blank lines is decoded by one
    ``map`` (a sixth of a 100k-fact table's load went to the per-line loop); one with a blank
    or invalid line goes line by line, which names the line that is not JSON."""
    import itertools

    fh, name = open_lines(path)
    try:
        done = 0
        while raw := list(itertools.islice(fh, size)):
            try:
                rows = list(map(orjson.loads, raw))
            except orjson.JSONDecodeError:  # a blank line or one that is not JSON
                rows = None
            if rows is not None:
                yield name, range(done + 1, done + len(raw) + 1), rows
            else:
                lines, rows = [], []
                for line_no, line in enumerate(raw, done + 1):
                    if not line.strip():
                        continue
                    try:
                        rows.append(orjson.loads(line))
                    except orjson.JSONDecodeError as exc:
                        raise InputError(f"{what}: invalid JSON ({exc.msg})", path=name, line=line_no) from None
                    lines.append(line_no)
                yield name, lines, rows
            done += len(raw)
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


def _lines(fh: IO[bytes], source: Source, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, raw line, bytes) for the part of the file this source covers; the line is
    None when it is longer than ``limit`` bytes (it is skipped to the next newline, reading at
    most ``limit`` bytes at a time, so memory stays bounded however long it is).

    A range owns every line that starts in ``[start, end)``: one starting inside a line skips to
    the next line (the file is positioned at ``start - 1``, so a ``start`` that is a line start
    skips nothing). Line numbers count from ``source.line_offset``, which the shard planner sets
    to the lines before ``start``, so they match a whole-file read.
    """
    line_no = source.line_offset
    pos = source.start
    cap = limit + 1  # a record of exactly ``limit`` bytes plus its newline is fine
    readline = fh.readline
    if source.start:
        pos = source.start - 1 + _skip_line(readline, cap)  # rest of the line holding byte start-1
    end = source.end
    while True:
        line = readline(cap)
        if not line:
            return
        line_no += 1
        if end is not None and pos >= end:
            return
        n = len(line)
        if n == cap and line[-1:] != b"\n":
            del line  # before reading on: the skip then holds 1 MB, not the cap as well
            n += _skip_line(readline, cap)
            pos += n
            yield line_no, None, n
            continue
        pos += n
        yield line_no, line, n


def _skip_line(readline: Callable[[int], bytes], cap: int) -> int:
    """Read to the end of the current line in pieces of at most 1 MB, each dropped at once, so
    skipping holds no more than that; the bytes read."""
    n = 0
    step = min(cap, 1 << 20)
    while True:
        piece = readline(step)
        n += len(piece)
        if not piece or piece[-1:] == b"\n":
            return n


def _records(fh, name, source, options, stats, progress) -> Iterator[tuple[int, bytes]]:
    """``_lines`` with the bytes tallied, a line over ``--max-record-bytes`` counted as bad
    (``too_long``), a UTF-8 byte order mark at the start of the file dropped, and a truncated
    compressed stream recorded as a bad record at the line it cut (what came before is kept)."""
    truncation = _truncation_errors()
    limit = options.max_record_bytes
    it = _lines(fh, source, limit)
    line_no = source.line_offset
    first = source.start == 0
    while True:
        try:
            line_no, line, nbytes = next(it)
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
        stats.bytes += nbytes
        if progress is not None:
            progress(nbytes)
        if line is None:
            detail = f"record is longer than --max-record-bytes ({limit:,} bytes)"
            _bad(stats, options, "too_long", name, line_no, detail)
            first = False
            continue
        if first:
            first = False
            if line.startswith(_BOM):
                line = line[3:]
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
    limit = options.max_record_bytes
    try:
        data = fh.read(limit + 1)
    except _truncation_errors() as exc:
        _bad(stats, options, "truncated_stream", name, 1, f"compressed stream is truncated or corrupt ({exc})")
        return
    stats.bytes += len(data)
    if progress is not None:
        progress(len(data))
    if len(data) > limit:
        _bad(stats, options, "too_long", name, 1, f"file is longer than --max-record-bytes ({limit:,} bytes)")
        return
    if data.startswith(_BOM):
        data = data[3:]
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
        pf.schema_arrow  # noqa: B018 - decoding the schema is where a corrupt footer shows
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
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
    limit = options.max_record_bytes
    meta = pf.metadata
    row_no = 0  # rows before the current row group, then the current row
    for group in range(pf.num_row_groups):
        group_rows = meta.row_group(group).num_rows
        first_row, done = row_no, 0
        try:
            for batch in pf.iter_batches(batch_size=options.parquet_batch_rows, columns=columns, row_groups=[group]):
                texts = batch.column(text_top).to_pylist()
                ids = batch.column(id_top).to_pylist() if id_top in batch.schema.names else None
                for i, value in enumerate(texts):
                    row_no += 1
                    done += 1
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
                    if nbytes > limit:
                        detail = f"row is longer than --max-record-bytes ({limit:,} bytes)"
                        _bad(stats, options, "too_long", path, row_no, detail)
                        continue
                    doc_id = None
                    if ids is not None:
                        v = ids[i] if id_top == options.id_field else get_path({id_top: ids[i]}, options.id_field or "")
                        doc_id = None if v is None else str(v)
                    stats.documents += 1
                    yield Document(value, doc_id, path, row_no, nbytes)
        except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
            # one corrupt row group loses its (remaining) rows, not the file: count them, go on
            lost = max(1, group_rows - done)
            detail = f"Parquet row group {group} is truncated or corrupt ({exc}): {lost:,} rows lost"
            if options.strict:
                raise BadRecordError(detail, path=path) from None
            stats.add_bad("corrupt_row_group", f"{path}:row-group {group}", lost)
        row_no = first_row + group_rows


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
