"""Reference tables as read and their built matchers, kept between runs, so that a run with a
table already seen skips the reading and the build.

Reading a large table (parsing, the digest, the objects per relation) and building its matcher
(its name variants, the automaton) are most of a run's start-up: seconds for 100k facts, tens of
seconds for a million. The table is kept in the format ``TABLE_LAYOUT`` under a hash of its
file's bytes, the matcher in the format of ``audit.extract.MATCHER_LAYOUT`` under a hash of the
table's content and order (``table_key``); both keys cover the code that made them. Later runs
read them back: a file read and checked deserialisations.

The folder is ``$HALLU_AUDIT_CACHE`` when set (``off`` or empty: no cache), else
``$XDG_CACHE_HOME/hallu-audit``, else ``~/.cache/hallu-audit``. Tables of at least ``MIN_FACTS``
facts are kept (files of at least ``MIN_TABLE_BYTES``), the ``KEEP`` files of each kind used last
stay. The cache is best effort and never changes a count: a file that cannot be read, is damaged,
of another format version or made for another table is made again and replaced; a folder that
cannot be written costs the run nothing."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson

import audit
from audit import normalize
from audit.errors import FormatError
from audit.extract import MATCHER_MAGIC, MATCHER_VERSION, FactMatcher
from audit.facts import Fact, ReferenceTable

T = TypeVar("T")

#: Smaller tables build in well under a second: not worth a file.
MIN_FACTS = 20_000
#: Table files smaller than this are read and parsed in well under a second.
MIN_TABLE_BYTES = 1 << 20
#: Files of each kind kept (the least recently used beyond these are deleted).
KEEP = 8

TABLE_MAGIC = b"HATABLE\x00"
TABLE_VERSION = 1
TABLE_LAYOUT = """A reference table as read (``audit.facts.load_table``), kept under a hash of its file.

Integers little-endian, in the frame of ``audit.sealed``::

    offset  size  field
    0       8     magic b"HATABLE\\x00"
    8       2     format version (uint16), currently 1
    10      4     length K of the key (uint32)
    14      K     the key, UTF-8: sha256 of this format, the code that reads tables
                  (``_code_id``) and the table file's bytes, 32 hex digits
    14+K    8     length H of the header (uint64)
    22+K    H     header: orjson object with exactly the keys ``facts`` (count >= 1), ``digest``
                  (the table's digest), ``objects`` (relation -> distinct normalised objects)
                  and ``relations`` (the distinct relations)
    22+K+H  8     length C of the columns (uint64)
    30+K+H  C     columns: orjson array of five arrays, one entry a fact in table order: ids,
                  subjects, relations (an index into ``relations``), objects; then the facts
                  with any other field set, each [index, aliases, subject aliases, question,
                  answer type]
    30+K+H+C 4    CRC-32 of everything before it
"""


def cache_folder() -> Path | None:
    """Where matchers are kept, or None when the cache is off."""
    chosen = os.environ.get("HALLU_AUDIT_CACHE")
    if chosen is not None:
        return None if chosen.strip() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hallu-audit"


@functools.cache
def _code_id() -> bytes:
    """The source of the modules a built matcher or a read table depends on (names to keys,
    normalisation, reading and parsing the table), hashed: a changed rule never meets what the
    old one made."""
    from audit import extract, facts, reading

    h = hashlib.sha256(audit.__version__.encode())
    for module in (extract, facts, normalize, reading):
        with contextlib.suppress(OSError):  # no source beside the code: the version alone
            h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest().encode()


def table_key(table: ReferenceTable) -> str:
    """What the built matcher depends on, hashed: the table's digest (its facts' ids, relations
    and normalised names), the order of its facts (the matcher's arrays index them), the matcher
    format, the normaliser and the code that builds it (``_code_id``)."""
    h = hashlib.sha256(b"%s|%d|%s|%s|%s|" % (MATCHER_MAGIC, MATCHER_VERSION, normalize.NAME.encode(),
                                              _code_id(), table.digest.encode()))  # fmt: skip
    h.update(orjson.dumps([f.id for f in table.facts]))
    return h.hexdigest()[:32]


def matcher(table: ReferenceTable, scope: str, window: int) -> FactMatcher:
    """The matcher of ``table``: from the cache when it holds it, else built (and kept)."""
    folder = cache_folder()
    normalized, table.normalized = table.normalized, None  # needed once, here
    if folder is None or len(table.facts) < MIN_FACTS:
        return FactMatcher(table.facts, scope, window, normalized=normalized)
    key = table_key(table)
    path = folder / f"matcher-{key}.bin"
    found = _kept(path, lambda data: FactMatcher.from_bytes(data, table.facts, key, scope, window, str(path)))
    if found is not None:
        return found
    built = FactMatcher(table.facts, scope, window, keep_keys=True, normalized=normalized)
    _store(folder, path, built.to_bytes(key))
    return built


def _kept(path: Path, parse: Callable[[bytes], T]) -> T | None:
    """What the cache file at ``path`` holds, parsed; None when it is missing, unreadable,
    damaged or of another version (the caller then builds it again and replaces the file)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        found = parse(data)
    except FormatError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used last: kept longest
    return found


def load_table(path: str) -> ReferenceTable:
    """``audit.facts.load_table`` through the cache: a table file of at least
    ``MIN_TABLE_BYTES`` whose bytes were read before is taken from the cache (no parsing, no
    digest); another one is read, and kept when it has at least ``MIN_FACTS`` facts."""
    from audit import facts

    folder = cache_folder()
    try:
        before = os.stat(path)
    except OSError:
        before = None
    if folder is None or path == "-" or before is None or not stat.S_ISREG(before.st_mode) \
            or before.st_size < MIN_TABLE_BYTES:  # fmt: skip
        return facts.load_table(path)
    h = hashlib.sha256(b"%s|%d|%s|" % (TABLE_MAGIC, TABLE_VERSION, _code_id()))
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    except OSError:
        return facts.load_table(path)  # which names the problem
    key = h.hexdigest()[:32]
    kept = folder / f"table-{key}.bin"
    found = _kept(kept, lambda data: table_from_bytes(data, key, path, str(kept)))
    if found is not None:
        return found
    table = facts.load_table(path)
    after = os.stat(path)
    if len(table.facts) >= MIN_FACTS and (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
        _store(folder, kept, table_to_bytes(table, key))
    return table


def table_to_bytes(table: ReferenceTable, key: str) -> bytes:
    """``table`` in the format of ``TABLE_LAYOUT``."""
    from audit.sealed import seal

    relations = list(dict.fromkeys(f.relation for f in table.facts))
    index = {r: i for i, r in enumerate(relations)}
    fs = table.facts
    extras = [[i, list(f.aliases), list(f.subject_aliases), f.question, f.answer_type] for i, f in enumerate(fs)
              if f.aliases or f.subject_aliases or f.question is not None or f.answer_type is not None]  # fmt: skip
    header = orjson.dumps({"facts": len(fs), "digest": table.digest, "objects": table.objects_per_relation(),
                           "relations": relations})  # fmt: skip
    columns = orjson.dumps([[f.id for f in fs], [f.subject for f in fs], [index[f.relation] for f in fs],
                            [f.object for f in fs], extras])  # fmt: skip
    k = key.encode()
    return seal(TABLE_MAGIC, TABLE_VERSION, struct.pack("<I", len(k)), k, struct.pack("<Q", len(header)), header,
                struct.pack("<Q", len(columns)), columns)  # fmt: skip


def table_from_bytes(data: bytes | memoryview, key: str, path: str, source: str = "<bytes>") -> ReferenceTable:
    """The table ``table_to_bytes`` wrote under ``key``, as read from ``path``; ``FormatError``
    for bytes that are not one."""
    from audit.sealed import open_sealed

    r = open_sealed(data, TABLE_MAGIC, TABLE_VERSION, "table cache", source, "it is read again")
    if r.text("key") != key:
        r.fail("made for another file")
    h = r.dict_(r.json(r.blob("header"), "header"), "header", {"facts", "digest", "objects", "relations"})
    n = r.int_(h["facts"], "facts", 1)
    digest = r.str_(h["digest"], "digest")
    objects = {r.str_(k, "relation"): r.int_(v, "objects") for k, v in r.dict_(h["objects"], "objects").items()}
    relations = [sys.intern(r.str_(x, "relation")) for x in r.list_(h["relations"], "relations")]
    ids, subjects, rel, objs, extras = r.list_(r.json(r.blob("columns"), "columns"), "columns", 5)
    r.end()
    for name, column, kind in (("ids", ids, str), ("subjects", subjects, str), ("relations", rel, int),
                               ("objects", objs, str)):  # fmt: skip
        if not isinstance(column, list) or len(column) != n or set(map(type, column)) != {kind}:
            r.fail(f"{name} must be {n:,} values of type {kind.__name__}")
    if min(rel) < 0 or max(rel) >= len(relations):
        r.fail("a relation index is out of range")
    facts = list(map(Fact, ids, subjects, [relations[i] for i in rel], objs))
    for extra in r.list_(extras, "extras"):
        i, aliases, subject_aliases, question, answer_type = r.list_(extra, "extra", 5)
        i = r.int_(i, "extra index", 0, n - 1)
        f = facts[i]
        names = (tuple(r.str_(a, "alias") for a in r.list_(aliases, "aliases")),
                 tuple(r.str_(a, "subject alias") for a in r.list_(subject_aliases, "subject aliases")))  # fmt: skip
        facts[i] = Fact(f.id, f.subject, f.relation, f.object, *names, r.optional(question, r.str_, "question"),
                        r.optional(answer_type, r.str_, "answer type"))  # fmt: skip
    return ReferenceTable(path, facts, digest, objects)


def _store(folder: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (another run may read it at the same time), then
    delete the least recently used files beyond ``KEEP``. Any failure leaves things as they were."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".matcher-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        kind = path.name.split("-", 1)[0]
        kept = sorted(folder.glob(f"{kind}-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink()
    except OSError:
        pass
