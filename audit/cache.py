"""Built reference matchers kept between runs, so that a run with a table already seen skips the
build.

Building the matcher of a large table (its name variants, the automaton) is most of a run's
start-up: seconds for 100k facts, tens of seconds for a million. The built matcher is written in
the sealed format of ``audit.extract.MATCHER_LAYOUT`` to a file named by the table's key, and read
back by later runs of the same table: one file read and a checked deserialisation.

The folder is ``$HALLU_AUDIT_CACHE`` when set (``off`` or empty: no cache), else
``$XDG_CACHE_HOME/hallu-audit``, else ``~/.cache/hallu-audit``. Tables of at least ``MIN_FACTS``
facts are cached, the ``KEEP`` files used last are kept. The cache is best effort and never
changes a count: a file that cannot be read, is damaged, of another format version or made for
another table is built again and replaced; a folder that cannot be written costs the run nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import orjson

import audit
from audit import normalize
from audit.errors import FormatError
from audit.extract import MATCHER_MAGIC, MATCHER_VERSION, FactMatcher
from audit.facts import ReferenceTable

#: Smaller tables build in well under a second: not worth a file.
MIN_FACTS = 20_000
#: Matcher files kept (the least recently used beyond these are deleted).
KEEP = 8


def cache_folder() -> Path | None:
    """Where matchers are kept, or None when the cache is off."""
    chosen = os.environ.get("HALLU_AUDIT_CACHE")
    if chosen is not None:
        return None if chosen.strip() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hallu-audit"


def _code_id() -> bytes:
    """The source of the modules a built matcher depends on (names to keys, normalisation, the
    table's parsing), hashed: a changed rule never meets a matcher built by the old one."""
    from audit import extract, facts

    h = hashlib.sha256(audit.__version__.encode())
    for module in (extract, facts, normalize):
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
    if folder is None or len(table.facts) < MIN_FACTS:
        return FactMatcher(table.facts, scope, window)
    key = table_key(table)
    path = folder / f"matcher-{key}.bin"
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if data is not None:
        try:
            found = FactMatcher.from_bytes(data, table.facts, key, scope, window, str(path))
        except FormatError:
            pass  # built again below, and the file replaced
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # used last: kept longest
            return found
    built = FactMatcher(table.facts, scope, window, keep_keys=True)
    _store(folder, path, built.to_bytes(key))
    return built


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
        kept = sorted(folder.glob("matcher-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink()
    except OSError:
        pass
