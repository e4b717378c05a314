"""Property tests: random bytes and random mutations of valid files, fed to the corpus readers
and the reference loader. The only outcomes are a result or a typed error (exit 2 or 3): never
another exception, never a hang."""

from __future__ import annotations

import gzip
import io
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.errors import AuditError, ExitCode
from audit.facts import load_references
from audit.reading import ReadOptions, ReadStats, Source, iter_documents
from tests.conftest import FIXTURES

SAMPLE = b"".join((FIXTURES / "corpus" / "sample.jsonl").read_bytes().splitlines(keepends=True)[:20])
REFS = b"".join((FIXTURES / "refs" / "capitals.jsonl").read_bytes().splitlines(keepends=True)[:20])


def _parquet(data: bytes) -> bytes:
    texts = [line.decode("utf-8", "replace") for line in data.splitlines()]
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": texts}), buf, row_group_size=5)
    return buf.getvalue()


VALID = {
    "c.jsonl": SAMPLE,
    "c.txt": SAMPLE,
    "c.jsonl.gz": gzip.compress(SAMPLE, mtime=0),
    "c.jsonl.zst": zstandard.ZstdCompressor().compress(SAMPLE),
    "c.parquet": _parquet(SAMPLE),
    "c.bin": SAMPLE,  # no telling extension: detected from the bytes
}

#: HALLU_FUZZ_EXAMPLES=2000 for a deeper run than CI's
EXAMPLES = int(os.environ.get("HALLU_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextmanager
def no_hang(seconds: float = 20.0):
    """Fail (instead of waiting forever) when one example takes longer than ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


mutation = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
                     st.floats(0, 1, allow_nan=False), st.integers(0, 255))  # fmt: skip


def mutate(data: bytes, ops: list[tuple[str, float, int]]) -> bytes:
    buf = bytearray(data)
    for op, where, value in ops:
        if not buf:
            buf.append(value)
            continue
        i = min(int(where * len(buf)), len(buf) - 1)
        if op == "flip":
            buf[i] ^= 1 << (value % 8)
        elif op == "set":
            buf[i] = value
        elif op == "insert":
            buf[i:i] = bytes([value]) * (1 + value % 7)
        elif op == "delete":
            del buf[i : i + 1 + value % 7]
        else:
            del buf[i:]
    return bytes(buf)


def read_all(path: Path, strict: bool, fmt: str = "auto") -> int:
    """Read the file as the corpus command does; the documents read, or a typed error."""
    stats = ReadStats()
    opts = ReadOptions(strict=strict, format=fmt, max_record_bytes=1 << 16)
    n = sum(1 for _ in iter_documents([Source(str(path))], opts, stats))
    assert n == stats.documents
    return n


def check_typed(exc: BaseException) -> None:
    assert isinstance(exc, AuditError), f"{type(exc).__name__}: {exc}"
    assert exc.exit_code in (ExitCode.USAGE, ExitCode.BAD_INPUT)
    assert "\n" not in str(exc)


@pytest.mark.parametrize("name", sorted(VALID))
@SETTINGS
@given(ops=st.lists(mutation, min_size=1, max_size=6), strict=st.booleans())
def test_mutated_corpus_files_give_a_result_or_a_typed_error(tmp_path, name, ops, strict):
    path = tmp_path / name
    path.write_bytes(mutate(VALID[name], ops))
    with no_hang():
        try:
            read_all(path, strict)
        except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
            check_typed(exc)
            # without --strict a bad record is counted, never raised; only the file can fail
            assert strict or type(exc).__name__ in ("InputError", "FormatError"), exc


@pytest.mark.parametrize("fmt", ["auto", "jsonl", "text", "parquet"])
@SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_a_corpus(tmp_path, fmt, data):
    path = tmp_path / "random.input"
    path.write_bytes(data)
    with no_hang():
        try:
            read_all(path, strict=False, fmt=fmt)
        except Exception as exc:  # noqa: BLE001
            check_typed(exc)


@SETTINGS
@given(ops=st.lists(mutation, min_size=1, max_size=6), gz=st.booleans())
def test_mutated_reference_tables_load_or_fail_typed(tmp_path, ops, gz):
    data = mutate(REFS, ops)
    path = tmp_path / ("refs.jsonl.gz" if gz else "refs.jsonl")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    with no_hang():
        try:
            facts = load_references(str(path))
        except Exception as exc:  # noqa: BLE001
            check_typed(exc)
        else:
            assert facts and len({f.id for f in facts}) == len(facts)


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_a_reference_table(tmp_path, data):
    path = tmp_path / "refs.jsonl"
    path.write_bytes(data)
    with no_hang():
        try:
            load_references(str(path))
        except Exception as exc:  # noqa: BLE001
            check_typed(exc)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(mutation, min_size=1, max_size=4), name=st.sampled_from(sorted(VALID)))
def test_mutated_inputs_through_the_cli_exit_0_or_3(cli, tmp_path, ops, name):
    path = tmp_path / name
    path.write_bytes(mutate(VALID[name], ops))
    refs = tmp_path / "refs.jsonl"
    refs.write_bytes(mutate(REFS, ops[:1]))
    with no_hang(60):
        result = cli("corpus", path, "-f", refs, "-q", "--json", "-j", "1")
    assert result.exit_code in (0, 3), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code == 3:
        assert len(result.stderr.strip().splitlines()) == 1
