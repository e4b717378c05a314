"""Parallel and distributed ``corpus`` runs, and the partial-result file they exchange.

Local processes (``--workers N``) and Dask (``--engine dask``) both cut the inputs into tasks
(whole files, or line-aligned byte ranges of large uncompressed JSONL/text files), scan each task
into a ``CorpusPartial`` and merge the partials in input order. Counters are monoids and every
tally is a sum, so the result is the one ``--workers 1`` gives, byte for byte.

Deduplication needs the stream order across tasks: "duplicates an earlier document" reaches
back into earlier tasks. So a parallel run with ``--dedup`` makes two passes: tasks first compute
each document's dedup keys (the MinHash signatures, the costly part), the parent checks them in
input order (cheap, vectorised), and the tasks then count with those duplicate flags.

Across machines, each shard writes its partial with ``--sketch-out`` and ``hallu-audit merge``
combines the files into the same report. Dedup then runs within each shard only (a document that
repeats one from another shard is counted in both shards' distinct-source counts).

Partial file layout (all integers little-endian):

======== ======== ============================================================================
offset   size     field
======== ======== ============================================================================
0        8        magic ``b"HAPART\\x00\\x00"``
8        2        format version (uint16), currently 1
10       4        length L of the config id (uint32)
14       L        config id, UTF-8
14+L     8        length H of the header (uint64)
22+L     H        header: orjson object with ``config`` (``CorpusConfig.describe()``),
                  ``sources``, ``documents``, ``bytes``, ``bad`` (reason -> [count, examples]),
                  ``tokens``, ``duplicates``, ``objects`` (prompt -> sorted objects),
                  ``reference_facts``, ``reference_objects``, ``tokenizer``
22+L+H   8        length C of the counter (uint64)
30+L+H   C        the counter: ``ExactCounter`` or ``SampleCounter`` bytes (their own formats)
30+L+H+C 8        length D of the distinct-source counter (uint64), 0 without ``--dedup``
38+L+H+C D        the distinct-source counter, same format as the counter
======== ======== ============================================================================
"""

from __future__ import annotations

import itertools
import os
import struct
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from audit.corpus import CorpusJob, CorpusPartial, scan
from audit.errors import ConfigError, FormatError, InputError, MergeError
from audit.reading import BadTally, ReadStats, Source, batched, iter_documents
from audit.records import CorpusConfig

if TYPE_CHECKING:
    from audit.report import CorpusReport

MAGIC = b"HAPART\x00\x00"
VERSION = 1
#: Byte ranges are cut near this size (smaller runs stay in one process).
MIN_TASK_BYTES = 8 << 20
MAX_TASK_BYTES = 256 << 20
#: Below this many input bytes a run stays in one process: starting workers costs more.
MIN_PARALLEL_BYTES = 16 << 20


# -- the partial-result file ---------------------------------------------------------------------
@dataclass
class PartialFile:
    """A ``CorpusPartial`` with what ``merge`` needs to write the report without the inputs."""

    config: CorpusConfig
    partial: CorpusPartial
    sources: list[str] = field(default_factory=list)
    reference_facts: dict[str, int] | None = None
    reference_objects: dict[str, int] | None = None
    tokenizer: str | None = None

    def report(self, confidence: float, elapsed_s: float | None = None) -> CorpusReport:
        """The corpus report of this (possibly merged) result."""
        from audit.report import build_report

        return build_report(
            self.partial, self.config, confidence=confidence, sources=self.sources,
            reference_objects=self.reference_objects, reference_facts=self.reference_facts,
            tokenizer=self.tokenizer, elapsed_s=elapsed_s,
        )

    def merge(self, other: PartialFile) -> None:
        if other.config.id != self.config.id:
            raise MergeError(f"cannot merge results of different configs ({self.config.id} vs {other.config.id})")
        self.partial.merge(other.partial)
        self.sources += other.sources
        if self.reference_facts is None:
            self.reference_facts = other.reference_facts
            self.reference_objects = other.reference_objects

    def to_bytes(self) -> bytes:
        p = self.partial
        header = orjson.dumps(
            {
                "config": self.config.describe(),
                "sources": self.sources,
                "documents": p.read.documents,
                "bytes": p.read.bytes,
                "bad": {r: [t.count, t.examples] for r, t in sorted(p.read.bad.items())},
                "tokens": p.tokens,
                "duplicates": p.duplicates,
                "objects": {k: sorted(v) for k, v in sorted(p.objects.items())},
                "reference_facts": self.reference_facts,
                "reference_objects": self.reference_objects,
                "tokenizer": self.tokenizer,
            }
        )
        cid = self.config.id.encode()
        counter = p.counter.to_bytes()
        distinct = p.distinct.to_bytes() if p.distinct is not None else b""
        return b"".join(
            [
                MAGIC,
                struct.pack("<HI", VERSION, len(cid)),
                cid,
                struct.pack("<Q", len(header)),
                header,
                struct.pack("<Q", len(counter)),
                counter,
                struct.pack("<Q", len(distinct)),
                distinct,
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> PartialFile:
        from audit.sketch import counter_from_bytes

        try:
            if data[:8] != MAGIC:
                raise FormatError("not a hallu-audit partial result (bad magic)", path=source)
            version, n = struct.unpack_from("<HI", data, 8)
            if version != VERSION:
                raise FormatError(f"unsupported partial-result version {version}", path=source)
            cid = data[14 : 14 + n].decode()
            off = 14 + n
            parts = []
            for _ in range(3):
                (m,) = struct.unpack_from("<Q", data, off)
                parts.append(data[off + 8 : off + 8 + m])
                if len(parts[-1]) != m:
                    raise FormatError("truncated partial result", path=source)
                off += 8 + m
            h = orjson.loads(parts[0])
            cfg = dict(h["config"])
            cfg.pop("id", None)
            cfg["patterns"] = tuple(cfg["patterns"])
            cfg["minhash"] = tuple(cfg["minhash"])
            config = CorpusConfig(**cfg)
            read = ReadStats(int(h["documents"]), int(h["bytes"]))
            for reason, (count, examples) in h["bad"].items():
                read.bad[reason] = BadTally(int(count), [str(e) for e in examples])
            partial = CorpusPartial(
                cid,
                counter_from_bytes(parts[1], source),
                read,
                h["tokens"],
                {k: set(v) for k, v in h["objects"].items()},
                counter_from_bytes(parts[2], source) if parts[2] else None,
                int(h["duplicates"]),
            )
        except FormatError:
            raise
        except (struct.error, UnicodeDecodeError, orjson.JSONDecodeError, KeyError, TypeError,
                ValueError) as exc:  # fmt: skip
            raise FormatError(f"corrupt partial result ({exc})", path=source) from None
        if config.id != cid or partial.counter.config_id not in (cid, ""):
            raise FormatError(f"partial result made by another version or edited (config id {cid})", path=source)
        return cls(config, partial, list(h["sources"]), h["reference_facts"],
                   h["reference_objects"], h["tokenizer"])  # fmt: skip


def read_partial_files(paths: Sequence[str]) -> PartialFile:
    """Read and merge ``--sketch-out`` files, in the order given."""
    if not paths:
        raise InputError("no partial-result files given")
    merged: PartialFile | None = None
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InputError(f"cannot open input: {exc.strerror or exc}", path=path) from None
        part = PartialFile.from_bytes(data, path)
        if merged is None:
            merged = part
        else:
            try:
                merged.merge(part)
            except MergeError as exc:
                raise MergeError(exc.reason, path=path) from None
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
    fh.seek(start)
    n, left = 0, end - start
    while left:
        block = fh.read(min(left, 8 << 20))
        if not block:
            break
        n += block.count(b"\n")
        left -= len(block)
    return n


def _cut(path: str, size: int, piece: int) -> list[Source]:
    """Line-aligned byte ranges of about ``piece`` bytes, each with the lines before it."""
    bounds = [0]
    with open(path, "rb") as fh:
        while bounds[-1] + piece < size:
            fh.seek(bounds[-1] + piece)
            fh.readline()
            end = fh.tell()
            if end >= size:
                break
            bounds.append(end)
        out, lines = [], 0
        for i, start in enumerate(bounds):
            stop = bounds[i + 1] if i + 1 < len(bounds) else None
            out.append(Source(path, start, stop, lines))
            if stop is not None:
                lines += _count_newlines(fh, start, stop)
    return out


def plan_tasks(sources: Sequence[Source], job: CorpusJob, workers: int) -> list[list[Source]]:
    """Cut the inputs into ordered tasks of similar size (about 4 per worker)."""
    sizes = [s.size or 0 for s in sources]
    total = sum(sizes)
    piece = min(MAX_TASK_BYTES, max(MIN_TASK_BYTES, total // max(1, 4 * workers)))
    tasks: list[list[Source]] = []
    current: list[Source] = []
    current_bytes = 0
    for src, size in zip(sources, sizes, strict=True):
        ranges = [src]
        if size > piece and _splittable(src, job):
            ranges = _cut(src.path, size, piece)
        for r in ranges:
            current.append(r)
            current_bytes += r.size or 0
            if current_bytes >= piece:
                tasks.append(current)
                current, current_bytes = [], 0
    if current:
        tasks.append(current)
    return tasks


# -- task bodies (top-level functions: they run in other processes) -----------------------------
_EXTRACTOR: dict[tuple[str, str | None, tuple[str, ...]], Any] = {}


def _extractor(job: CorpusJob) -> Any:
    """One extractor per worker process (building the automaton of a big table takes seconds)."""
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


def _scan_task(job: CorpusJob, sources: list[Source], dups: bytes | None) -> bytes:
    """Scan one task; the partial goes back as bytes in the documented format (not pickled)."""
    flags = None if dups is None else np.frombuffer(dups, dtype=bool).tolist()
    partial = scan(job, sources, extractor=_extractor(job), duplicates=flags)
    return PartialFile(job.config, partial).to_bytes()


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
) -> CorpusPartial:
    """Scan ``sources`` with ``workers`` processes (or on a Dask cluster) and merge the results.

    Small inputs and stdin stay in this process. The result equals ``scan(job, sources)``.
    """
    if engine not in ("local", "dask"):
        raise ConfigError(f"unknown --engine {engine!r} (expected local or dask)")
    if engine == "dask" and not scheduler:
        raise ConfigError("--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    stdin = any(s.path == "-" for s in sources)
    total = 0 if stdin else sum(s.size or 0 for s in sources)
    if engine == "local" and (workers == 1 or stdin or total < MIN_PARALLEL_BYTES):
        return scan(job, sources, progress)
    if stdin:
        raise ConfigError("--engine dask cannot read stdin; pass file paths")
    tasks = plan_tasks(sources, job, workers)
    pool = _dask_pool(scheduler) if engine == "dask" else _LocalPool(min(workers, len(tasks)))
    merged = CorpusPartial.empty(job.config)
    scans: deque[Any] = deque()
    done = 0

    def merge_ready(wait: bool) -> None:
        # merge finished tasks in input order, dropping each result as soon as it is merged
        nonlocal done
        while scans and (wait or scans[0].done()):
            merged.merge(PartialFile.from_bytes(scans.popleft().result(), f"<task {done}>").partial)
            if progress is not None:
                progress(sum(s.size or 0 for s in tasks[done]))
            done += 1

    with pool:
        if job.config.dedup == "off":
            scans.extend(pool.submit(_scan_task, job, t, None) for t in tasks)
        else:
            # Pass 1 (keys) runs at most 2 tasks per worker ahead; each task's pass 2 is queued
            # as soon as the keys of all tasks up to it are checked in order. The parent holds
            # one flag a document and a window of keys, whatever the input size.
            from audit.minhash import make_deduper

            deduper = make_deduper(job.config.dedup, job.config.minhash, job.config.seed)
            keyed: deque[Any] = deque()
            ahead = iter(tasks)
            for t in itertools.islice(ahead, 2 * workers):
                keyed.append(pool.submit(_keys_task, job, t))
            for t in tasks:
                keys = keyed.popleft().result()
                for nxt in itertools.islice(ahead, 1):
                    keyed.append(pool.submit(_keys_task, job, nxt))
                scans.append(pool.submit(_scan_task, job, t, _check(deduper, keys)))
                merge_ready(wait=False)
        merge_ready(wait=True)
    return merged


def run_corpus(
    job: CorpusJob,
    sources: Sequence[Source],
    *,
    workers: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> PartialFile:
    """The whole ``hallu-audit corpus`` job: scan (in parallel where asked) and keep, beside the
    merged counts, what the report needs: the reference table's facts and objects per relation."""
    partial = run(job, sources, workers=workers, engine=engine, scheduler=scheduler, progress=progress)
    reference_facts = reference_objects = None
    if job.facts_path is not None:
        from audit.facts import load_references
        from audit.normalize import normalize

        facts = load_references(job.facts_path)
        reference_facts = dict(sorted(Counter(f.relation for f in facts).items()))
        objects: dict[str, set[str]] = {}
        for f in facts:
            objects.setdefault(f.relation, set()).add(normalize(f.object))
        reference_objects = {r: len(o) for r, o in sorted(objects.items())}
    tokenizer = os.path.basename(job.tokenizer_path) if job.tokenizer_path else None
    return PartialFile(job.config, partial, [s.path for s in sources], reference_facts, reference_objects, tokenizer)


class _LocalPool:
    """``concurrent.futures`` processes, as a context manager with ``submit``."""

    def __init__(self, workers: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=max(1, workers))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._pool.submit(fn, *args)

    def __enter__(self) -> _LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(cancel_futures=True)


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

    def __exit__(self, *exc: object) -> None:
        self._client.close()
