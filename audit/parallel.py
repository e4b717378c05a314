"""Parallel and distributed ``corpus`` runs, and the partial-result file they exchange.

Local processes (``--workers N``) and Dask (``--engine dask``) both cut the inputs into tasks
(whole files, or line-aligned byte ranges of large uncompressed JSONL/text files), scan each task
into a ``CorpusPartial`` and merge the partials in input order. Counters are monoids and every
tally is a sum, so the result is the one ``--workers 1`` gives, byte for byte. A task hands its
partial back in the file format below, except that exact counts of a reference table travel as
int64 arrays by fact position beside it (its counters in the file stay empty): the parent adds
the arrays and fills the counters once, at the end, in table order, as one process does.

Deduplication needs the stream order across tasks: "duplicates an earlier document" reaches
back into earlier tasks. So a parallel run with ``--dedup`` makes two passes: tasks first compute
each document's dedup keys (the MinHash signatures, the costly part), the parent checks them in
input order (cheap, vectorised), and the tasks then count with those duplicate flags.

Across machines, each shard writes its partial with ``--sketch-out`` and ``hallu-audit merge``
combines the files into the same report. Dedup then runs within each shard only (a document that
repeats one from another shard is counted in both shards' distinct-source counts).

Partial file layout (all integers little-endian; the frame of ``audit.sealed``):

======== ======== ============================================================================
offset   size     field
======== ======== ============================================================================
0        8        magic ``b"HAPART\\x00\\x00"``
8        2        format version (uint16), currently 3
10       4        length L of the config id (uint32)
14       L        config id, UTF-8 (``CorpusConfig.id``: ``cfg-`` and 16 hex digits)
14+L     8        length H of the header (uint64)
22+L     H        header: orjson object with exactly these keys: ``config``
                  (``CorpusConfig.describe()``, whose id must be the one above), ``inputs``
                  (``[[input id, path], ...]``: what was counted, see ``input_id``),
                  ``sources`` (paths), ``documents``, ``bytes``, ``bad`` (reason -> [count,
                  examples]), ``tokens`` (null or >= 0), ``duplicates`` (<= documents),
                  ``objects`` (prompt -> ``[[object, mentions >= 1, first source:line],
                  ...]`` sorted by object, pattern mode only),
                  ``reference_facts``, ``reference_objects`` (relation -> count, or null),
                  ``tokenizer`` (null or a file name); counts are integers >= 0
22+L+H   8        length C of the counter (uint64)
30+L+H   C        the counter: ``ExactCounter`` or ``SampleCounter`` bytes (their own sealed
                  formats), the kind, capacity and seed the config names, with its config id
30+L+H+C 8        length D of the distinct-source counter (uint64), 0 exactly without ``--dedup``
38+L+H+C D        the distinct-source counter, same format as the counter
38+L+H+C+D 4      CRC-32 (uint32, ``zlib.crc32``) of every byte before it
======== ======== ============================================================================

Version 1 files (no checksum, no input ids) and version 2 files (objects without counts) are
refused with a message saying so: make them again with ``corpus --sketch-out``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import struct
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import orjson

from audit.corpus import CorpusJob, CorpusPartial, scan
from audit.errors import ConfigError, InputError, MergeError, Terminated, WorkerError
from audit.io.files import read_whole
from audit.reading import BadTally, ReadStats, Source, batched, iter_documents
from audit.records import CorpusConfig

if TYPE_CHECKING:
    from audit.report import CorpusReport
    from audit.sealed import Reader

MAGIC = b"HAPART\x00\x00"
VERSION = 3
#: The smallest and the largest task (``iter_tasks``): a task costs a few milliseconds beside
#: its scan (about 60 ms a MB), the last tasks are the smallest.
MIN_TASK_BYTES = 2 << 20
MAX_TASK_BYTES = 256 << 20
#: Below this many input bytes a run stays in one process: starting workers costs more.
MIN_PARALLEL_BYTES = 16 << 20


# -- the partial-result file ---------------------------------------------------------------------
#: Bytes read from each end of an input for its ``input_id``.
ID_BYTES = 64 << 10


def input_id(source: Source) -> str | None:
    """What identifies one input's content, so that ``merge`` can refuse to count it twice:
    BLAKE2b-128 of its size and its first and last 64 KiB (all of it when smaller), as 32 hex
    digits. The same file under another name or on another machine has the same id. ``None``
    for what cannot be read twice (stdin, a pipe): ``run_corpus`` then names the content
    counted instead (``content_id``)."""
    import hashlib
    import stat

    try:
        st = os.stat(source.path) if source.path != "-" else None
    except OSError:
        return None
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    end = source.end if source.end is not None else st.st_size
    h = hashlib.blake2b(f"{source.start}:{end - source.start}:".encode(), digest_size=16)
    try:
        with open(source.path, "rb") as fh:
            fh.seek(source.start)
            h.update(fh.read(min(ID_BYTES, end - source.start)))
            tail = max(source.start + ID_BYTES, end - ID_BYTES)
            if tail < end:
                fh.seek(tail)
                h.update(fh.read(end - tail))
    except OSError:
        return None
    return h.hexdigest()


def content_id(partial: CorpusPartial) -> str:
    """An id of what a stream was counted to (its counter and read tallies): the same stream
    counted twice gets the same id."""
    import hashlib

    h = hashlib.blake2b(partial.counter.to_bytes(), digest_size=16)
    h.update(f"{partial.read.documents}:{partial.read.bytes}".encode())
    return "stream-" + h.hexdigest()


@dataclass
class PartialFile:
    """A ``CorpusPartial`` with what ``merge`` needs to write the report without the inputs.

    ``inputs`` names what was counted (``[input id, path]`` per input, see ``input_id``):
    merging two results that counted the same input is refused."""

    config: CorpusConfig
    partial: CorpusPartial
    sources: list[str] = field(default_factory=list)
    reference_facts: dict[str, int] | None = None
    reference_objects: dict[str, int] | None = None
    tokenizer: str | None = None
    inputs: list[list[str]] = field(default_factory=list)

    def report(self, confidence: float, elapsed_s: float | None = None, conflict_examples: int = 10) -> CorpusReport:
        """The corpus report of this (possibly merged) result."""
        from audit.report import build_report

        return build_report(
            self.partial, self.config, confidence=confidence, sources=self.sources,
            reference_objects=self.reference_objects, reference_facts=self.reference_facts,
            tokenizer=self.tokenizer, elapsed_s=elapsed_s, conflict_examples=conflict_examples,
        )

    def overlap(self, other: PartialFile) -> list[str] | None:
        """``[input id, path here, path there]`` of an input both counted, or None."""
        mine = {i: path for i, path in self.inputs}
        for i, path in other.inputs:
            if i in mine:
                return [i, mine[i], path]
        return None

    def merge(self, other: PartialFile) -> None:
        if other.config.id != self.config.id:
            raise MergeError(f"cannot merge results of different configs ({self.config.id} vs {other.config.id})")
        both = self.overlap(other)
        if both is not None:
            same = both[1] if both[1] == both[2] else f"{both[1]} and {both[2]} (the same content)"
            raise MergeError(f"both results count {same}: merging would count it twice")
        self.partial.merge(other.partial)
        self.sources += other.sources
        self.inputs += other.inputs
        if self.reference_facts is None:
            self.reference_facts = other.reference_facts
            self.reference_objects = other.reference_objects

    def to_bytes(self) -> bytes:
        from audit.sealed import seal

        p = self.partial
        header = orjson.dumps(
            {
                "config": self.config.describe(),
                "inputs": self.inputs,
                "sources": self.sources,
                "documents": p.read.documents,
                "bytes": p.read.bytes,
                "bad": {r: [t.count, t.examples] for r, t in sorted(p.read.bad.items())},
                "tokens": p.tokens,
                "duplicates": p.duplicates,
                "objects": {k: [[o, n, w] for o, (n, w) in sorted(v.items())] for k, v in sorted(p.objects.items())},
                "reference_facts": self.reference_facts,
                "reference_objects": self.reference_objects,
                "tokenizer": self.tokenizer,
            }
        )
        cid = self.config.id.encode()
        counter = p.counter.to_bytes()
        distinct = p.distinct.to_bytes() if p.distinct is not None else b""
        return seal(
            MAGIC,
            VERSION,
            struct.pack("<I", len(cid)),
            cid,
            struct.pack("<Q", len(header)),
            header,
            struct.pack("<Q", len(counter)),
            counter,
            struct.pack("<Q", len(distinct)),
            distinct,
        )

    @classmethod
    def from_bytes(cls, data: bytes | memoryview, source: str = "<bytes>") -> PartialFile:
        """Read ``to_bytes`` output; anything else is a ``FormatError`` naming ``source`` and
        the first problem found (never another exception)."""
        from audit.sealed import open_sealed

        r = open_sealed(data, MAGIC, VERSION, "partial result", source,
                        "write it again with corpus --sketch-out")  # fmt: skip
        cid = r.text("config id")
        h = r.dict_(r.json(r.blob("header"), "header"), "header", _HEADER_KEYS)
        counter_raw = r.blob("counter")
        distinct_raw = r.blob("distinct-source counter")
        r.end()
        config = _read_config(r, h["config"], cid)
        inputs = []
        for i, item in enumerate(r.list_(h["inputs"], "inputs")):
            r.list_(item, f"input {i}", 2)
            inputs.append([r.str_(item[0], f"input {i} id"), r.str_(item[1], f"input {i} path")])
        sources = [r.str_(x, "source") for x in r.list_(h["sources"], "sources")]
        if len(inputs) != len(sources):
            r.fail(f"{len(inputs)} input ids for {len(sources)} sources")
        for i, (iid, _) in enumerate(inputs):
            if not _INPUT_ID.fullmatch(iid):
                r.fail(f"input {i} id {iid[:40]!r} is not an input id")
        read = ReadStats(r.int_(h["documents"], "documents"), r.int_(h["bytes"], "bytes"))
        for reason, tally in r.dict_(h["bad"], "bad").items():
            count, examples = r.list_(tally, f"bad {reason!r}", 2)
            examples = [r.str_(e, "bad record example") for e in r.list_(examples, "examples")]
            read.bad[reason] = BadTally(r.int_(count, f"bad {reason!r} count", lo=1), examples)
            if len(examples) > count:
                r.fail(f"bad {reason!r}: more examples than records")
        tokens = r.optional(h["tokens"], r.int_, "tokens")
        duplicates = r.int_(h["duplicates"], "duplicates", hi=read.documents)
        objects: dict[str, dict[str, tuple[int, str]]] = {}
        for prompt, objs in r.dict_(h["objects"], "objects").items():
            tallies = objects[prompt] = {}
            for item in r.list_(objs, f"objects of {prompt!r}"):
                o, n, w = r.list_(item, f"object of {prompt!r}", 3)
                tallies[r.str_(o, f"object of {prompt!r}")] = (
                    r.int_(n, f"mentions of an object of {prompt!r}", lo=1), r.str_(w, f"location of {prompt!r}"))
        if objects and config.mode != "patterns":
            r.fail("objects in a reference-table run")
        refs = {}
        for key in ("reference_facts", "reference_objects"):
            table = r.optional(h[key], r.dict_, key)
            refs[key] = None if table is None else {k: r.int_(v, f"{key} {k!r}") for k, v in table.items()}
            if table is not None and config.mode != "facts":
                r.fail(f"{key} in a pattern run")
        tokenizer = r.optional(h["tokenizer"], r.str_, "tokenizer")
        counter = _read_counter(r, counter_raw, config, "counter")
        distinct = None
        if config.dedup != "off":
            distinct = _read_counter(r, distinct_raw, config, "distinct-source counter")
        elif len(distinct_raw):
            r.fail("a distinct-source counter without --dedup")
        elif duplicates:
            r.fail("duplicates counted without --dedup")
        partial = CorpusPartial(cid, counter, read, tokens, objects, distinct, duplicates)
        return cls(config, partial, sources, refs["reference_facts"], refs["reference_objects"], tokenizer, inputs)


#: ``input_id`` (32 hex digits) or ``content_id`` ("stream-" and 32 hex digits).
_INPUT_ID = re.compile(r"(?:stream-)?[0-9a-f]{32}")

_HEADER_KEYS = {
    "config", "inputs", "sources", "documents", "bytes", "bad", "tokens", "duplicates", "objects",
    "reference_facts", "reference_objects", "tokenizer",
}  # fmt: skip


def _read_config(r: Reader, raw: Any, cid: str) -> CorpusConfig:
    """The ``CorpusConfig`` of a header, every field checked; its id must be ``cid``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(CorpusConfig)}
    cfg = dict(r.dict_(raw, "config", names | {"id"}))
    if cfg.pop("id") != cid:
        r.fail("config id of the header and of the file differ")
    for name in ("mode", "facts_digest", "scope", "normalizer", "dedup", "counter", "version"):
        r.str_(cfg[name], f"config {name}")
    if cfg["mode"] not in ("facts", "patterns"):
        r.fail(f"config mode {cfg['mode']!r}")
    if cfg["dedup"] not in ("off", "exact", "minhash"):
        r.fail(f"config dedup {cfg['dedup']!r}")
    kind, _, k = cfg["counter"].partition(":")
    if cfg["counter"] != "exact" and not (kind == "sample" and k.isdigit() and int(k) > 0):
        r.fail(f"config counter {cfg['counter']!r}")
    r.int_(cfg["window"], "config window")
    r.int_(cfg["seed"], "config seed", lo=-(1 << 63))
    cfg["patterns"] = tuple(r.str_(x, "config pattern") for x in r.list_(cfg["patterns"], "config patterns"))
    perm, shingle, threshold = r.list_(cfg["minhash"], "config minhash", 3)
    r.int_(perm, "config minhash permutations")
    r.int_(shingle, "config minhash shingle")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        r.fail("config minhash threshold must be a number in [0, 1]")
    cfg["minhash"] = (perm, shingle, float(threshold))
    config = CorpusConfig(**cfg)
    if config.id != cid:
        r.fail(f"config does not match its id {cid} (made by another version, or edited)")
    return config


def _read_counter(r: Reader, raw: Any, config: CorpusConfig, what: str) -> Any:
    """A counter of the kind, capacity and seed ``config`` names, made under its id."""
    from audit.counting import ExactCounter
    from audit.sketch import SampleCounter

    if config.counter == "exact":
        counter: Any = ExactCounter.from_bytes(raw, r.source)
    else:
        counter = SampleCounter.from_bytes(raw, r.source)
        k = int(config.counter.partition(":")[2])
        if counter.capacity != k or counter.seed != config.seed % (1 << 64):
            r.fail(f"{what} has capacity {counter.capacity} and seed {counter.seed}, the config {k} and {config.seed}")
    if counter.config_id != config.id:
        r.fail(f"{what} was made under config {counter.config_id!r}, not {config.id}")
    return counter


def read_partial_files(paths: Sequence[str]) -> PartialFile:
    """Read and merge ``--sketch-out`` files, in the order given. Two files that counted the
    same input (the same file twice, or a merged result and one of its parts) are refused,
    naming both."""
    if not paths:
        raise InputError("no partial-result files given")
    merged: PartialFile | None = None
    owner: dict[str, str] = {}
    for path in paths:
        data = read_whole(path, "cannot open input")
        part = PartialFile.from_bytes(data, path)
        if merged is None:
            merged = part
        else:
            if part.config.id != merged.config.id:
                # before the overlap check: the same file counted under other options is a
                # config mismatch first (the fix is other options, not another file)
                raise MergeError(
                    f"cannot merge results of different configs ({merged.config.id} in {paths[0]}, "
                    f"{part.config.id} here): make every part with the same corpus options",
                    path=path,
                )
            both = merged.overlap(part)
            if both is not None:
                there = "" if both[1] == both[2] else f" as {both[1]} (the same content)"
                raise MergeError(
                    f"counts {both[2]} again, already counted in {owner[both[0]]}{there}: "
                    "merging would count it twice",
                    path=path,
                )
            try:
                merged.merge(part)
            except MergeError as exc:
                raise MergeError(exc.reason, path=path) from None
        for i, _ in part.inputs:
            owner.setdefault(i, path)
    assert merged is not None
    return merged


# -- planning ------------------------------------------------------------------------------------
def _splittable(source: Source, job: CorpusJob) -> bool:
    from audit.reading import _detect

    if source.path == "-" or job.read.doc_per_file:
        return False
    with open(source.path, "rb") as fh:
        head = fh.read(4)
    fmt, compression = _detect(source.path, head, job.read.format)
    return fmt in ("jsonl", "text") and compression is None


def _count_newlines(fh: Any, start: int, end: int) -> int:
    """The lines of ``fh`` between two offsets. The parent counts them while its workers scan,
    so the compiled count (memchr, the lock let go) is used where it was built: ``bytes.count``
    takes a quarter of a core's second per 400 MB from the workers on a two-core machine."""
    from audit.extract import compiled_scanner

    scanner = compiled_scanner()
    fh.seek(start)
    n, left = 0, end - start
    block = bytearray(min(left, 1 << 20))  # one buffer, read into: no allocation per block
    view = memoryview(block)
    while left:
        got = fh.readinto(view[: min(left, len(block))])
        if not got:
            break
        n += scanner.count_lines(view[:got]) if scanner is not None else block.count(b"\n", 0, got)
        left -= got
    return n


def _cut(path: str, size: int, piece: int | Callable[[], int]) -> Iterator[Source]:
    """Line-aligned byte ranges of about ``piece`` bytes (``piece()`` asked before each cut),
    each with the lines before it. A generator: the lines of a range are counted only when the
    next one is asked for."""
    with open(path, "rb") as fh:
        start = lines = 0
        while True:
            want = piece if isinstance(piece, int) else piece()
            end = size
            if start + want < size:
                fh.seek(start + want)
                fh.readline()
                end = fh.tell()
            if end >= size:
                yield Source(path, start, None, lines)
                return
            yield Source(path, start, end, lines)
            lines += _count_newlines(fh, start, end)
            start = end


def iter_tasks(sources: Sequence[Source], job: CorpusJob, workers: int) -> Iterator[list[Source]]:
    """Cut the inputs into ordered tasks (whole files grouped, large uncompressed JSONL or text
    files cut into line-aligned byte ranges) that shrink towards the end: each is about the
    bytes not yet planned over ``2 * workers``, within ``MIN_TASK_BYTES`` and
    ``MAX_TASK_BYTES``. The first tasks are big (few tasks), the last ones small, so the workers
    finish close together. A generator: the first task is out before the rest is cut."""
    sizes = [s.size or 0 for s in sources]
    left = sum(sizes)

    def piece() -> int:
        return min(MAX_TASK_BYTES, max(MIN_TASK_BYTES, left // max(1, 2 * workers)))

    current: list[Source] = []
    current_bytes = 0
    for src, size in zip(sources, sizes, strict=True):
        ranges: Iterable[Source] = [src]
        if size > piece() and _splittable(src, job):
            ranges = _cut(src.path, size, piece)
        for r in ranges:
            current.append(r)
            n = r.size or 0
            current_bytes += n
            left -= n
            if current_bytes >= piece():
                yield current
                current, current_bytes = [], 0
    if current:
        yield current


def plan_tasks(sources: Sequence[Source], job: CorpusJob, workers: int) -> list[list[Source]]:
    """``iter_tasks``, as a list."""
    return list(iter_tasks(sources, job, workers))


# -- task bodies (top-level functions: they run in other processes) -----------------------------
_EXTRACTOR: dict[tuple[str, str | None, tuple[str, ...]], Any] = {}


def _extractor(job: CorpusJob) -> Any:
    """The extractor of ``job``, built once per process (the automaton of a big table takes
    seconds and hundreds of MB). ``run`` builds it in the parent before the local pool forks, so
    local workers share the parent's copy; other processes (Dask) build their own."""
    key = (job.config.id, job.facts_path, job.patterns)
    if key not in _EXTRACTOR:
        _EXTRACTOR.clear()
        _EXTRACTOR[key] = job.extractor()
    return _EXTRACTOR[key]


def _keys_task(job: CorpusJob, sources: list[Source]) -> tuple[bytes, bytes, int]:
    """Pass 1 of a deduplicating run: every document's dedup keys, in order."""
    from audit.minhash import make_deduper

    cfg = job.config
    deduper = make_deduper(cfg.dedup, cfg.minhash, cfg.seed)
    assert deduper is not None
    keys, valid = [], []
    stats = ReadStats()
    for batch in batched(iter_documents(sources, job.read, stats), 512):
        k, v = deduper.keys([d.text for d in batch])
        keys.append(k.reshape(len(batch), -1))
        valid.append(v)
    if not keys:
        return b"", b"", 0
    kk = np.concatenate(keys)
    return kk.tobytes(), np.concatenate(valid).tobytes(), kk.shape[1]


def _scan_task(job: CorpusJob, sources: list[Source], dups: bytes | None, rows_to: str | None = None) -> Any:
    """Scan one task; the partial goes back as ``_pack`` makes it (bytes, no pickled objects).

    With ``rows_to`` (``--mentions``) the result is (partial, rows): the mention rows written to
    a file in the folder ``rows_to`` (its path), or as bytes when ``rows_to`` is "" (Dask)."""
    import io
    import tempfile

    from audit.mentions import MentionWriter

    flags = None if dups is None else np.frombuffer(dups, dtype=bool).tolist()
    counts: list[Any] = []
    common = {"extractor": _extractor(job), "duplicates": flags, "zeros": False, "by_index": counts,
              "objects_cap": None}  # fmt: skip
    if rows_to is None:
        return _pack(job, scan(job, sources, **common), counts)
    if rows_to == "":
        buffer = io.BytesIO()
        partial = scan(job, sources, **common, mentions=MentionWriter(buffer))
        return _pack(job, partial, counts), buffer.getvalue()
    fd, path = tempfile.mkstemp(dir=rows_to, suffix=".jsonl")
    with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
        partial = scan(job, sources, **common, mentions=MentionWriter(fh))
    return _pack(job, partial, counts), path


#: Exact counts by fact position, as a task hands them back: (positions, counts), int64 bytes.
Sparse = tuple[bytes, bytes]


def _pack(job: CorpusJob, partial: CorpusPartial, counts: list[Any]) -> tuple[bytes, list[Sparse | None], bytes]:
    """What a task hands back: the partial in the documented file format, the exact counts of a
    reference-table scan by fact position (``scan``'s ``by_index``; their counters in the file
    stay empty), one entry per counter, None where the counter (a sketch) is in the file; and
    open extraction's objects, every one the task saw, in the order first seen (orjson:
    ``[[prompt, [[object, mentions, where], ...]], ...]``; the file's objects stay empty).
    Counters keyed by fact id would cost each task a conversion, a sort and a JSON dump, and the
    parent a parse and a merge by dict; these cost the parent one addition, and it makes the
    counters once, at the end (``_Totals``). The objects are not capped in the task: a prompt's
    first ``MAX_OBJECTS_PER_PROMPT`` objects in input order, and their counts over the whole
    input, are known only once the earlier tasks' are merged (``_merge_objects``)."""
    out: list[Sparse | None] = []
    for c in counts:
        if c is None:
            out.append(None)
        else:
            at = np.flatnonzero(c)
            out.append((at.astype(np.int64, copy=False).tobytes(), c[at].astype(np.int64, copy=False).tobytes()))
    objects = orjson.dumps([[k, [[o, n, w] for o, (n, w) in v.items()]] for k, v in partial.objects.items()])
    partial.objects = {}
    return PartialFile(job.config, partial).to_bytes(), out, objects


def _merge_objects(merged: CorpusPartial, data: bytes) -> None:
    """Add one task's objects (``_pack``) to ``merged``, which holds the earlier tasks': what one
    process scanning the inputs in order keeps (``audit.corpus.merge_objects``)."""
    from audit.corpus import merge_objects

    for prompt, objs in orjson.loads(data):
        merge_objects(merged.objects.setdefault(prompt, {}), {o: (n, w) for o, n, w in objs})


class _Totals:
    """The parent's sums of the tasks' counts by fact position (``_pack``), made into the merged
    partial's counters once every task is in: zero rows and counts in table order, as ``scan``
    makes them."""

    def __init__(self, job: CorpusJob) -> None:
        self.job = job
        self.sums: list[np.ndarray | None] = []

    def add(self, counts: list[Sparse | None]) -> None:
        if not self.sums and counts:
            n = len(self.job.reference_table().facts)
            self.sums = [None if c is None else np.zeros(n, dtype=np.int64) for c in counts]
        for total, c in zip(self.sums, counts, strict=True):
            if total is not None and c is not None:
                # positions within one task are distinct: a fancy-indexed += adds each once
                total[np.frombuffer(c[0], dtype=np.int64)] += np.frombuffer(c[1], dtype=np.int64)

    def fill(self, partial: CorpusPartial) -> None:
        """Put the table's facts, with these counts, into the (empty) exact counters of
        ``partial``; a sketch is left as it is (its tasks' counters came in the files)."""
        from audit.corpus import add_reference_zeros
        from audit.counting import ExactCounter

        facts = self.job.reference_table().facts
        if all(total is None for total in self.sums):
            add_reference_zeros(partial, facts)
            return
        ids, relations = [f.id for f in facts], [f.relation for f in facts]
        for name, total in zip(("counter", "distinct"), self.sums, strict=False):
            if total is None:
                continue
            made = ExactCounter.of_counts(self.job.config.id, ids, relations, total.tolist())
            made.merge(getattr(partial, name))  # empty: the tasks' counters stayed empty
            setattr(partial, name, made)


def _check(deduper: Any, keyed: tuple[bytes, bytes, int]) -> bytes:
    """Check one task's keys (after all earlier tasks'): one flag per document."""
    kb, vb, width = keyed
    if not kb:
        return b""
    keys = np.frombuffer(kb, dtype=np.uint64).reshape(-1, width)
    if width == 1:
        keys = keys[:, 0]
    valid = np.frombuffer(vb, dtype=bool)
    flags: list[bool] = []
    step = 4096  # the Bloom check holds ~1 KB of temporaries a document
    for i in range(0, len(valid), step):
        flags += deduper.check_keys(keys[i : i + step], valid[i : i + step])
    return np.asarray(flags, dtype=bool).tobytes()


# -- running -------------------------------------------------------------------------------------
def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run(
    job: CorpusJob,
    sources: Sequence[Source],
    *,
    workers: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    mentions: IO[bytes] | None = None,
) -> CorpusPartial:
    """Scan ``sources`` with ``workers`` processes (or on a Dask cluster) and merge the results.

    Small inputs and stdin stay in this process. The result equals ``scan(job, sources)``;
    ``mentions`` gets the mention rows in input order (``audit.mentions``).
    """
    from audit.mentions import MentionWriter, copy_rows

    if engine not in ("local", "dask"):
        raise ConfigError(f"unknown --engine {engine!r} (expected local or dask)")
    if engine == "dask" and not scheduler:
        raise ConfigError("--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    stdin = any(s.size is None for s in sources)  # stdin, FIFOs, <(...): one pass, here
    total = 0 if stdin else sum(s.size or 0 for s in sources)
    if engine == "local" and (workers == 1 or stdin or total < MIN_PARALLEL_BYTES):
        return scan(job, sources, progress, mentions=MentionWriter(mentions) if mentions is not None else None)
    if stdin:
        raise ConfigError("--engine dask cannot read stdin; pass file paths")
    if engine == "local":
        _extractor(job)  # before the workers fork: they inherit it instead of rebuilding it
    # every task but the last has at least MIN_TASK_BYTES: no more workers than that allows
    pool = _dask_pool(scheduler) if engine == "dask" else _LocalPool(min(workers, total // MIN_TASK_BYTES + 1))
    tasks: list[list[Source]] = []  # planned so far (``iter_tasks`` cuts them as they are sent)

    def planned() -> Iterator[list[Source]]:
        for t in iter_tasks(sources, job, workers):
            tasks.append(t)
            yield t

    merged = CorpusPartial.empty(job.config)
    totals = _Totals(job)
    scans: deque[Any] = deque()
    done = 0

    def merge_ready(wait: bool) -> None:
        # merge finished tasks in input order, dropping each result as soon as it is merged
        nonlocal done
        while scans and (wait or scans[0].done()):
            result = scans.popleft().result()
            if mentions is not None:
                result, rows = result
                copy_rows(rows, mentions)
            data, counts, objects = result
            merged.merge(PartialFile.from_bytes(data, f"<task {done}>").partial)
            _merge_objects(merged, objects)
            totals.add(counts)
            if progress is not None:
                progress(sum(s.size or 0 for s in tasks[done]))
            done += 1

    rows_folder = None
    if mentions is not None and engine == "local":  # workers write their rows to files here
        import tempfile

        rows_folder = tempfile.TemporaryDirectory(prefix="hallu-mentions-")
    rows_to = None if mentions is None else (rows_folder.name if rows_folder is not None else "")
    with pool, rows_folder or contextlib.nullcontext():
        if job.config.dedup == "off":
            scans.extend(pool.submit(_scan_task, job, t, None, rows_to) for t in planned())
        else:
            # Pass 1 (keys) runs at most 2 tasks per worker ahead; each task's pass 2 is queued
            # as soon as the keys of all tasks up to it are checked in order. The parent holds
            # one flag a document and a window of keys, whatever the input size.
            from audit.minhash import make_deduper

            deduper = make_deduper(job.config.dedup, job.config.minhash, job.config.seed)
            keyed: deque[Any] = deque()  # the keys of tasks[i], tasks[i + 1], ...
            ahead = planned()
            for t in itertools.islice(ahead, 2 * workers):
                keyed.append(pool.submit(_keys_task, job, t))
            i = 0
            while keyed:
                keys = keyed.popleft().result()
                for nxt in itertools.islice(ahead, 1):
                    keyed.append(pool.submit(_keys_task, job, nxt))
                scans.append(pool.submit(_scan_task, job, tasks[i], _check(deduper, keys), rows_to))
                i += 1
                merge_ready(wait=False)
        merge_ready(wait=True)
    if job.facts_path is not None:  # the tasks leave the table's zero rows to this process
        totals.fill(merged)
    return merged


def run_corpus(
    job: CorpusJob,
    sources: Sequence[Source],
    *,
    workers: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    mentions_path: str | None = None,
    allow_empty: bool = False,
) -> PartialFile:
    """The whole ``hallu-audit corpus`` job: scan (in parallel where asked) and keep, beside the
    merged counts, what the report needs: the reference table's facts and objects per relation.

    A run that read no document raises ``InputError`` (``reading.check_documents``; inputs with
    no record at all pass with ``allow_empty``), before the ``--mentions`` file is committed, so
    a run that counted nothing leaves what was at that path as it was."""
    from audit.reading import check_documents

    ids = [input_id(s) for s in sources]
    if mentions_path is None:
        partial = run(job, sources, workers=workers, engine=engine, scheduler=scheduler, progress=progress)
        check_documents(partial.read, sources, job.read, allow_empty=allow_empty)
    else:
        from audit.io.writing import open_output

        with open_output(mentions_path, "mentions") as out:
            partial = run(job, sources, workers=workers, engine=engine, scheduler=scheduler, progress=progress,
                          mentions=out)  # fmt: skip
            check_documents(partial.read, sources, job.read, allow_empty=allow_empty)
    if None in ids:
        stream = content_id(partial)
        ids = [i or stream for i in ids]
    inputs = [[i, s.path] for i, s in zip(ids, sources, strict=True) if i is not None]
    reference_facts = reference_objects = None
    if job.facts_path is not None:
        table = job.reference_table()
        reference_facts, reference_objects = table.relation_counts(), table.objects_per_relation()
    tokenizer = os.path.basename(job.tokenizer_path) if job.tokenizer_path else None
    return PartialFile(job.config, partial, [s.path for s in sources], reference_facts, reference_objects, tokenizer,
                       inputs)


#: The signals that stop a parallel run (the parent stops its workers first).
_STOP_SIGNALS = {2, 15}  # SIGINT, SIGTERM (numbered so that importing stays cheap)


class _Stop(BaseException):
    """SIGTERM or SIGINT reached the parent while workers ran (a BaseException: nothing may
    swallow it)."""


def _worker_init(parent: int) -> None:
    """Set up one worker process. Ctrl-C (SIGINT goes to the whole process group) and SIGTERM
    are the parent's to handle: it stops every worker. The worker lets go of stdout, so that
    ``hallu-audit ... | cat`` never waits on it, and dies with the parent, even a killed one."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent's submit while it forked
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _death(procs: Sequence[Any]) -> str:
    """How the first dead worker died, for the message."""
    import signal

    for p in procs:
        code = p.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            why = " (the out-of-memory killer, or kill -9)" if -code == signal.SIGKILL else ""
            return f"killed by {name}{why}"
        if code:
            return f"exited with status {code}"
    return "ended abruptly"


class _LocalPool:
    """``concurrent.futures`` processes, as a context manager with ``submit``.

    Leaving it by an exception stops every worker. A worker that dies becomes one
    ``WorkerError`` (exit 4); SIGTERM to the parent stops the workers, then ends the parent by
    the same signal (exit status 143); SIGINT (Ctrl-C) stops the workers and goes on as
    ``KeyboardInterrupt`` (the CLI says "interrupted", exit 130).
    """

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork where there is one: the workers inherit the parent's matcher (``_extractor``)
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork") if "fork" in methods else None
        self._pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context,
                                         initializer=_worker_init, initargs=(os.getpid(),))  # fmt: skip
        self._procs: dict[int, Any] = {}
        self._handlers: dict[int, Any] = {}
        self._signal = 0

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signal = signum
        raise _Stop(signum)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        import gc
        import signal

        # submit may fork a worker. SIGINT and SIGTERM wait until it has: Python ignores what a
        # handler raises inside its fork hooks, and a new worker must not run the parent's
        # handler before its own are set (it unblocks them then, in _worker_init)
        block = hasattr(signal, "pthread_sigmask")
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if block else None
        first = not self._procs
        thaw = first and not gc.get_freeze_count()  # what a caller froze stays frozen
        try:
            if first:  # the workers fork now: their collector leaves the parent's objects alone
                gc.freeze()
            future = self._pool.submit(fn, *args)
            # remember the processes: a broken pool forgets them, and their exit codes say why
            self._procs.update(getattr(self._pool, "_processes", None) or {})
        finally:
            if thaw:
                gc.unfreeze()
            if old is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a signal that came is raised here
        if self._signal:
            raise _Stop(self._signal)
        return future

    def __enter__(self) -> _LocalPool:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored (nohup, `&`): it stays so
                    self._handlers[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        import signal
        from concurrent.futures.process import BrokenProcessPool

        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        if exc is None and self._signal:
            exc = _Stop(self._signal)
        if exc is None:
            self._pool.shutdown()
            return
        procs = list(self._procs.values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(5)
        if isinstance(exc, BrokenProcessPool):
            raise WorkerError(
                f"a worker process died, {_death(procs)}; nothing was written "
                "(run again, with fewer --workers or a --max-memory)"
            ) from None
        if isinstance(exc, _Stop):
            if int(exc.args[0]) == signal.SIGINT:
                raise KeyboardInterrupt from None
            raise Terminated from None  # the outputs clean up on the way out, then the CLI dies by it


class _dask_pool:  # noqa: N801 - reads as a function at the call site
    """A Dask ``Client`` with the same ``submit`` (tasks are not cached: ``pure=False``)."""

    def __init__(self, scheduler: str | None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--engine dask needs dask.distributed: pip install 'hallu-audit[dask]'") from None
        try:
            self._client = Client(scheduler, set_as_default=False, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler ({exc})", path=scheduler) from None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def __enter__(self) -> _dask_pool:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._client.close()
        if exc is not None and type(exc).__name__ == "KilledWorker":
            raise WorkerError(f"a Dask worker died running a task ({str(exc).splitlines()[0]})") from None
