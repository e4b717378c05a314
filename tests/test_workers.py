"""Worker processes under faults: a worker killed with -9, SIGTERM and SIGINT to the parent, the
parent killed with -9. The real CLI runs as a subprocess on an input large enough to use
workers (``MIN_PARALLEL_BYTES``); the signals are sent once both workers exist."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit import parallel
from audit.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "corpus" / "sample.jsonl"
REFS = ROOT / "fixtures" / "refs" / "capitals.jsonl"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """About 4 x MIN_PARALLEL_BYTES of JSONL: a run that takes seconds, in two workers."""
    data = SAMPLE.read_bytes()
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    path.write_bytes(data * (4 * parallel.MIN_PARALLEL_BYTES // len(data) + 1))
    return path


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(pid)
        except OSError:
            pass
    return out


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _start(big: Path, shell_pipe: bool):
    """The CLI with -j 2 (under ``| cat`` in a shell when ``shell_pipe``), its pid, its workers."""
    cli = [sys.executable, "-m", "audit.cli", "corpus", str(big), "-f", str(REFS), "-j", "2", "-q", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if shell_pipe:
        cmd = ["bash", "-c", " ".join(cli) + ' | cat; echo "status=${PIPESTATUS[0]}" >&2']
    else:
        cmd = cli
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # in the shell, the CLI is the child whose argv is "python -m audit.cli" (a child that
        # has not yet run exec still reads "bash -c ...")
        for parent in [proc.pid] if not shell_pipe else _children(proc.pid):
            try:
                with open(f"/proc/{parent}/cmdline", "rb") as fh:
                    argv = fh.read().split(b"\0")
            except OSError:
                continue
            if argv[1:3] == [b"-m", b"audit.cli"] and len(_children(parent)) >= 2:
                return proc, parent, _children(parent)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    _kill_group(proc.pid)
    pytest.fail("the run ended (or never started) before both workers were seen")


def _finish(proc, timeout: float = 30) -> tuple[bytes, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        pytest.fail(f"still running {timeout:.0f} s after the signal")
    return out, err.decode()


def test_a_killed_worker_is_one_line_and_exit_4(big) -> None:
    proc, parent, workers = _start(big, shell_pipe=False)
    os.kill(workers[0], signal.SIGKILL)
    out, err = _finish(proc)
    assert proc.returncode == ExitCode.WORKER_DIED == 4
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("hallu-audit: error: a worker process died, killed by SIGKILL"), err
    assert out == b""
    assert _alive(workers) == []


@pytest.mark.parametrize(
    ("sig", "status", "said"), [(signal.SIGTERM, 143, ""), (signal.SIGINT, 130, "hallu-audit: interrupted\n")]
)
def test_a_signal_to_the_parent_stops_the_workers(big, sig, status, said) -> None:
    """``hallu-audit ... | cat`` ends soon after the signal: no worker keeps the pipe open."""
    proc, parent, workers = _start(big, shell_pipe=True)
    os.kill(parent, sig)
    started = time.monotonic()
    out, err = _finish(proc, timeout=20)
    assert time.monotonic() - started < 20
    assert err == f"{said}status={status}\n", err
    assert out == b""
    time.sleep(0.2)
    assert _alive(workers) == []


def test_workers_die_with_a_killed_parent(big) -> None:
    import threading

    proc, parent, workers = _start(big, shell_pipe=False)
    os.kill(parent, signal.SIGKILL)
    proc.wait(10)
    assert proc.stdout is not None and proc.stderr is not None
    reader = threading.Thread(target=proc.stdout.read, daemon=True)  # returns at EOF
    reader.start()
    reader.join(10)
    try:
        assert not reader.is_alive(), "a worker still holds stdout 10 s after the parent was killed"
        deadline = time.monotonic() + 10
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(workers) == []
    finally:
        for pid in _alive(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.stderr.close()


def test_ctrl_c_to_the_process_group_is_one_line(big) -> None:
    """A terminal's Ctrl-C sends SIGINT to every process of the group: the workers leave it to
    the parent, which stops them and says so once (no worker traceback)."""
    proc, parent, workers = _start(big, shell_pipe=False)
    os.killpg(parent, signal.SIGINT)
    out, err = _finish(proc)
    assert proc.returncode == 130 and err == "hallu-audit: interrupted\n", (proc.returncode, err)
    assert out == b""
    time.sleep(0.2)
    assert _alive(workers) == []


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)])
def test_a_stopped_run_leaves_its_outputs_as_they_were(big, tmp_path, workers, sig, status) -> None:
    """SIGTERM or SIGINT while ``--mentions`` streams into its temporary file: the files at the
    output paths keep their bytes and no temporary file is left beside them."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("m.jsonl", "r.json"):
        (out / name).write_bytes(b"SENTINEL\n")
    cli = [sys.executable, "-m", "audit.cli", "corpus", str(big), "-f", str(REFS), "-j", str(workers), "-q",
           "-o", str(out / "r.json"), "--mentions", str(out / "m.jsonl")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(out.glob(".m.jsonl.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.fail("the run ended before its mentions file was opened")
    time.sleep(0.2)  # well into the scan
    os.kill(proc.pid, sig)
    _, err = _finish(proc)
    assert proc.returncode == status, (proc.returncode, err)
    assert "Traceback" not in err and err in ("", "hallu-audit: interrupted\n"), err
    assert sorted(p.name for p in out.iterdir()) == ["m.jsonl", "r.json"]
    assert all((out / name).read_bytes() == b"SENTINEL\n" for name in ("m.jsonl", "r.json"))
