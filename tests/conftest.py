"""Shared test helpers: run the real CLI and read its JSON."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from audit.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Matchers built by the tests (and the CLI processes they start) are kept in a folder of the
# test run's own, never in the user's cache (audit.cache).
_CACHE = tempfile.mkdtemp(prefix="hallu-test-cache-")
os.environ["HALLU_AUDIT_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


@pytest.fixture
def cli():
    """``cli(*args, input=None)`` -> click Result, stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None):  # noqa: A002 - click's name
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


#: The matcher's engines: the compiled scanner (``audit/_scan.c``), and the two automata used
#: where it was not built (daachorse; pyahocorasick for the largest tables). All give the same hits.
ENGINES = ("compiled", "daachorse", "pyahocorasick")


def use_engine(monkeypatch, engine: str) -> None:
    """Make the matchers built from here on use ``engine``; the compiled scanner must have been
    built wherever CI runs (a skip elsewhere: a machine without a C compiler)."""
    from audit import extract

    if engine == "compiled":
        if extract.compiled_scanner() is None:
            if os.environ.get("CI"):
                pytest.fail("the compiled scanner was not built (audit/_scan.c): is a C compiler installed?")
            pytest.skip("the compiled scanner was not built")
        monkeypatch.delenv("HALLU_AUDIT_SCANNER", raising=False)
        return
    monkeypatch.setenv("HALLU_AUDIT_SCANNER", "library")
    if engine == "pyahocorasick":
        monkeypatch.setattr(extract, "COMPACT_KEYS", 0)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def read_per_fact(path: Path) -> list[dict]:
    """The fact rows of a ``corpus --per-fact`` file, after checking its header line."""
    rows = read_jsonl(path)
    assert rows and rows[0]["kind"] == "hallu-audit/per-fact" and rows[0]["schema"] == 1, rows[:1]
    return rows[1:]
