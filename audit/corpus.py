"""``hallu-audit corpus``: stream documents, extract mentions, count facts.

``scan`` turns one stream of sources into a ``CorpusPartial``; partials are monoids (``+``), so
files, byte ranges, processes and machines each produce one and the results merge exactly.
``build_report`` turns the merged partial into the report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from audit.cache import load_table as cached_table
from audit.counting import ExactCounter, FactCounter
from audit.dates import compatible
from audit.errors import ConfigError, InputError, MergeError, UsageError
from audit.extract import Extractor, FactMatcher
from audit.facts import Fact, ReferenceTable
from audit.patterns import PatternExtractor, compile_patterns
from audit.reading import ReadOptions, ReadStats, Source, batched, iter_documents
from audit.records import CorpusConfig

if TYPE_CHECKING:
    from audit.mentions import MentionWriter

#: Distinct objects kept per prompt for conflict detection (beyond that a prompt is a conflict
#: anyway, and memory stays bounded).
MAX_OBJECTS_PER_PROMPT = 8

#: One object of a prompt: how often it was stated, and where first (``source:line``).
ObjectSeen = tuple[int, str]


def merge_objects(mine: dict[str, ObjectSeen], other: dict[str, ObjectSeen]) -> None:
    """Add ``other``'s tallies to ``mine`` (the earlier input: its first location stays)."""
    for obj, (count, where) in other.items():
        seen = mine.get(obj)
        if seen is not None:
            mine[obj] = (seen[0] + count, seen[1])
        elif len(mine) < MAX_OBJECTS_PER_PROMPT:
            mine[obj] = (count, where)


@dataclass
class CorpusPartial:
    """What one shard of a run produces. ``CorpusPartial.empty(cfg)`` + ``+`` form a monoid."""

    config_id: str
    counter: FactCounter
    read: ReadStats = field(default_factory=ReadStats)
    tokens: int | None = None
    # prompt -> normalised object -> (mentions, first source:line); open extraction only
    objects: dict[str, dict[str, ObjectSeen]] = field(default_factory=dict)
    # --dedup: counts over distinct sources (documents that duplicate no earlier one)
    distinct: FactCounter | None = None
    duplicates: int = 0

    @classmethod
    def empty(cls, config: CorpusConfig) -> CorpusPartial:
        from audit.sketch import make_counter

        distinct = None
        if config.dedup != "off":
            distinct = make_counter(config.id, config.counter, config.seed)
        return cls(config.id, make_counter(config.id, config.counter, config.seed), distinct=distinct)

    def merge(self, other: CorpusPartial) -> None:
        if other.config_id != self.config_id and not (other.is_empty() or self.is_empty()):
            raise MergeError(f"cannot merge results of different configs ({self.config_id} vs {other.config_id})")
        self.counter.merge(other.counter)
        if other.distinct is not None:
            if self.distinct is None:
                self.distinct = other.distinct.copy()
            else:
                self.distinct.merge(other.distinct)
        self.duplicates += other.duplicates
        self.read = self.read + other.read
        if other.tokens is not None:
            self.tokens = (self.tokens or 0) + other.tokens
        for prompt, objs in other.objects.items():
            merge_objects(self.objects.setdefault(prompt, {}), objs)

    def __add__(self, other: CorpusPartial) -> CorpusPartial:
        out = CorpusPartial(
            self.config_id,
            self.counter.copy(),
            ReadStats() + self.read,
            self.tokens,
            {k: dict(v) for k, v in self.objects.items()},
            self.distinct.copy() if self.distinct is not None else None,
            self.duplicates,
        )
        out.merge(other)
        return out

    def is_empty(self) -> bool:
        return self.read.documents == 0 and self.read.bad_total == 0 and self.counter.is_empty()


@dataclass(frozen=True)
class CorpusJob:
    """Everything ``corpus`` needs besides its inputs: built once, shipped to workers as is.

    ``table`` is the reference table as read by ``make_job``; it stays in this process (a
    pickled job leaves it out: workers share the parent's matcher, see ``audit.parallel``, or
    read the table from ``facts_path`` again, checking its digest).
    """

    config: CorpusConfig
    read: ReadOptions
    facts_path: str | None = None
    patterns: tuple[str, ...] = ()
    tokenizer_path: str | None = None
    table: ReferenceTable | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "table"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, table=None)

    def reference_table(self) -> ReferenceTable:
        """The table this job counts: the one read by ``make_job``, else read again from its
        path (another process), refused if its content changed since."""
        if self.table is not None:
            return self.table
        assert self.facts_path is not None
        if self.facts_path == "-" or not os.path.isfile(self.facts_path):
            raise ConfigError(f"the reference table {self.facts_path} cannot be read again in another process; "
                              "pass a file path")  # fmt: skip
        table = cached_table(self.facts_path)  # a Dask worker on the machine that read it: from the cache
        if table.digest != self.config.facts_digest:
            raise InputError("the reference table changed during the run", path=self.facts_path)
        return table

    def extractor(self) -> Extractor:
        if self.facts_path is not None:
            from audit.cache import matcher

            return matcher(self.reference_table(), self.config.scope, self.config.window)
        return PatternExtractor(compile_patterns(self.patterns))


def make_job(
    *,
    facts_path: str | None,
    patterns: Iterable[str],
    scope: str = "sentence",
    window: int = 0,
    read: ReadOptions | None = None,
    tokenizer_path: str | None = None,
    **config: Any,
) -> CorpusJob:
    """Validate the options and fix the config (its id covers the reference table's content)."""
    patterns = tuple(patterns)
    if (facts_path is None) == (not patterns):
        raise UsageError("give either --facts REFS.jsonl or at least one --pattern (not both)")
    table = None
    if facts_path is not None:
        table = cached_table(facts_path)  # read once, here; every later step uses this copy
        cfg = CorpusConfig(mode="facts", facts_digest=table.digest, scope=scope, window=window, **config)
    else:
        compile_patterns(patterns)  # fail early on a bad regex
        cfg = CorpusConfig(mode="patterns", patterns=patterns, scope="match", **config)
    return CorpusJob(cfg, read or ReadOptions(), facts_path, patterns, tokenizer_path, table)


def _load_tokenizer(path: str):
    try:
        from tokenizers import Tokenizer

        return Tokenizer.from_file(path)
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise InputError(f"cannot load tokenizer ({str(exc).splitlines()[0]})", path=path) from None


def scan(
    job: CorpusJob,
    sources: Iterable[Source],
    progress: Callable[[int], None] | None = None,
    extractor: Extractor | None = None,
    duplicates: Iterable[bool] | None = None,
    mentions: MentionWriter | None = None,
    zeros: bool = True,
    by_index: list[Any] | None = None,
    objects_cap: int | None = MAX_OBJECTS_PER_PROMPT,
) -> CorpusPartial:
    """Read ``sources`` and count every mention: the whole job for one process.

    With ``--dedup``, each document is also checked against the earlier ones (``audit.minhash``)
    and its mentions go into ``partial.distinct`` only when it duplicates none of them;
    ``duplicates`` (one flag per document, in order) replaces that check when a parallel run
    has already decided it across shards (``audit.parallel``). ``mentions`` gets a row per
    mention (``--mentions``); without it the scan makes none of what the rows need. ``zeros``
    registers every reference fact with count 0 (a parallel task leaves that to the parent,
    so its partial does not carry the whole table). ``by_index`` (a list) gets a reference-table
    scan's exact counts as int64 arrays by fact position (the counter's, then the distinct-source
    counter's; None for a sketch, which is updated as usual), and those counters stay empty.
    ``objects_cap`` bounds the objects kept per prompt in open extraction (None: all of them, in
    the order first seen, as a parallel task keeps them for the parent to cap in input order).
    """
    extractor = extractor or job.extractor()
    partial = CorpusPartial.empty(job.config)
    counter = partial.counter
    distinct = partial.distinct
    dup_flags = iter(duplicates) if duplicates is not None else None
    deduper = None
    if distinct is not None and dup_flags is None:
        from audit.minhash import make_deduper

        deduper = make_deduper(job.config.dedup, job.config.minhash, job.config.seed)
    objects = partial.objects if isinstance(extractor, PatternExtractor) else None
    tokens = _TokenCount(_load_tokenizer(job.tokenizer_path)) if job.tokenizer_path else None
    docs = iter_documents(sources, job.read, partial.read, progress)
    matcher = extractor if isinstance(extractor, FactMatcher) else None
    tally = _Tally(matcher, counter, distinct) if matcher is not None else None
    for batch in batched(docs, 512):
        if deduper is not None:
            dups = deduper.filter_batch([d.text for d in batch])
        elif dup_flags is not None:
            dups = [next(dup_flags) for _ in batch]
        else:
            dups = None
        if dups is not None:
            partial.duplicates += sum(map(bool, dups))
        if tally is not None:
            assert matcher is not None
            found = matcher.match([d.text for d in batch], hits=mentions is not None)
            tally.add(found, dups)
            if mentions is not None:
                mentions.reference(matcher, batch, found)
        else:
            for i, doc in enumerate(batch):
                is_dup = dups is not None and dups[i]
                in_doc = extractor.mentions(doc)
                if mentions is not None:
                    in_doc = list(in_doc)  # type: ignore[assignment]
                    mentions.patterns(doc, in_doc)
                for m in in_doc:
                    counter.update(m.fact, m.relation)
                    if distinct is not None and not is_dup:
                        distinct.update(m.fact, m.relation)
                    if objects is not None:
                        objs = objects.setdefault(m.fact, {})
                        seen = objs.get(m.obj)
                        if seen is not None:
                            objs[m.obj] = (seen[0] + 1, seen[1])
                        elif objects_cap is None or len(objs) < objects_cap:
                            objs[m.obj] = (1, f"{doc.source}:{doc.line}" if doc.line else doc.source)
        if tokens is not None:
            tokens.add([d.text for d in batch])
    if tally is not None and by_index is not None:
        by_index += tally.counts
    elif tally is not None:
        tally.flush(partial, zeros)
    if tokens is not None:
        partial.tokens = tokens.total()
    return partial


class _TokenCount:
    """The tokens of a scan's documents, counted beside it (``audit.tokens``: most documents are
    cut into pieces whose counts are remembered; the rest are encoded by the library). Each batch
    is counted in a thread while the next one is matched: the library lets go of the GIL while it
    encodes, so a second core overlaps the two."""

    def __init__(self, tokenizer: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from audit.tokens import TokenCounter

        self._count = TokenCounter(tokenizer).count
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="hallu-tokens")
        self._pending: Any = None
        self._total = 0

    def add(self, texts: list[str]) -> None:
        if self._pending is not None:
            self._total += self._pending.result()
        self._pending = self._pool.submit(self._count, texts)

    def total(self) -> int:
        try:
            if self._pending is not None:
                self._total += self._pending.result()
                self._pending = None
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
        return self._total

    def __del__(self) -> None:  # a scan that failed part way: no thread left behind
        self._pool.shutdown(wait=False, cancel_futures=True)


def add_reference_zeros(partial: CorpusPartial, facts: Iterable[Fact]) -> None:
    """List every reference fact in the exact counters, so unseen facts are reported with 0."""
    facts = list(facts)
    for c in (partial.counter, partial.distinct):
        if isinstance(c, ExactCounter):
            c.add_zeros((fact.id, fact.relation) for fact in facts)


class _Tally:
    """Reference-table counts kept by fact index and handed to the counters at the end.

    An exact counter gets one ``update(fact, relation, n)`` per fact seen; a sampling sketch
    (whose pruning depends on the order it sees facts in) gets every mention in stream order.
    """

    def __init__(self, matcher: FactMatcher, counter: FactCounter, distinct: FactCounter | None) -> None:
        import numpy as np

        self.facts = matcher.facts
        self.targets = [c for c in (counter, distinct) if c is not None]
        self.exact = [isinstance(c, ExactCounter) for c in self.targets]
        self.counts = [np.zeros(len(self.facts), dtype=np.int64) if e else None for e in self.exact]

    def add(self, matches: Any, dups: list[bool] | None) -> None:
        import numpy as np

        fact = matches.fact
        if not len(fact):
            return
        for k, target in enumerate(self.targets):
            if k == 1 and dups is not None:  # distinct sources: mentions in non-duplicates only
                fact = matches.fact[~np.asarray(dups, dtype=bool)[matches.doc]]
            counts = self.counts[k]
            if counts is not None:
                counts += np.bincount(fact, minlength=len(counts))
            else:
                facts = self.facts
                for fi in fact.tolist():
                    f = facts[fi]
                    target.update(f.id, f.relation)

    def flush(self, partial: CorpusPartial, zeros: bool) -> None:
        """Make the exact counters of ``partial`` from the counts in one pass
        (``ExactCounter.of_counts``), every fact listed when ``zeros`` (unseen ones with 0).
        Nothing else writes them: the tally is their only source."""
        import numpy as np

        facts = self.facts
        every: tuple[list[str], list[str]] | None = None  # all ids and relations, made once
        for name, target, counts in zip(("counter", "distinct"), self.targets, self.counts, strict=False):
            if counts is None:  # a sketch: updated as the mentions came
                continue
            if zeros:
                if every is None:
                    every = list(map(attrgetter("id"), facts)), list(map(attrgetter("relation"), facts))
                ids, relations = every
                values = counts.tolist()
            else:
                keep = np.flatnonzero(counts).tolist()
                ids, relations = [facts[i].id for i in keep], [facts[i].relation for i in keep]
                values = [int(counts[i]) for i in keep]
            setattr(partial, name, ExactCounter.of_counts(target.config_id, ids, relations, values))


_ISO = re.compile(r"\d{4}(?:-\d{2}){0,2}")


def _agree(a: str, b: str) -> bool:
    if a == b:
        return True
    return bool(_ISO.fullmatch(a) and _ISO.fullmatch(b) and compatible(a, b))


def is_conflict(objects: Iterable[str]) -> bool:
    """Two objects of one prompt disagree. Dates agree where both are specified ("1879" and
    "1879-03-14"), since a corpus often gives only the year."""
    objs = sorted(objects)
    return any(not _agree(a, b) for i, a in enumerate(objs) for b in objs[i + 1 :])
