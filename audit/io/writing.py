"""Writing outputs without ever destroying what is at the target path.

Every output option of every command goes through ``open_output`` (or ``write_output``):

- ``-``, ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and ``/proc/self/fd/N`` write to that
  file descriptor, never reopening it (reopening ``/dev/stdout`` would truncate a file the shell
  opened with ``>>``);
- a regular file, or a new path, is written atomically: a temporary file in the same folder,
  fsync, rename over the target. An existing file keeps its mode (and owner, when we may); a new
  one gets the mode the umask gives, as ``open`` would. When the write fails the temporary file
  is removed and the target is untouched;
- a symlink is written through: the file it points to is replaced atomically, the link stays;
- anything else (a character device such as ``/dev/null``, a FIFO, a socket) is opened and
  written in place, never replaced.

``check_outputs`` runs before any work: a missing or read-only folder, a folder given as the
file, an output that is one of the command's inputs (same device and inode) or two outputs on the
same file are refused there, so a long scan is never lost to a typo in an output path.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO

from audit.errors import InputError, OptionError

STDOUT = "-"
_FD_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_STD_NAMES = {"/dev/stdout": 1, "/dev/stderr": 2}


class OutputPathError(OptionError):
    """An output path that cannot be written, found before any work (exit 2)."""

    def __init__(self, message: str, *, option: str, path: str) -> None:
        super().__init__(option, message)
        self.path = path


@dataclass(frozen=True)
class Target:
    """Where and how one output is written: ``kind`` is ``fd``, ``in-place`` or ``atomic``."""

    path: str  # as given
    kind: str
    fd: int | None = None  # for ``fd``
    real: str | None = None  # the file replaced, for ``atomic`` (a symlink resolved)
    mode: int | None = None  # the mode of the file replaced; None for a new file


def _fd_of(path: str) -> int | None:
    if path == STDOUT:
        return 1
    if path in _STD_NAMES:
        return _STD_NAMES[path]
    m = _FD_PATH.match(path)
    return int(m.group(1)) if m else None


def resolve(path: str) -> Target:
    """How ``path`` would be written (no side effects)."""
    fd = _fd_of(path)
    if fd is not None:
        return Target(path, "fd", fd=fd)
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        # a new path, or a dangling symlink: create what the link names
        real = os.path.realpath(path) if os.path.islink(path) else path
        return Target(path, "atomic", real=real)
    except OSError:
        return Target(path, "atomic", real=path)  # a symlink loop, a permission problem: fail at write
    if stat.S_ISREG(st.st_mode):
        return Target(path, "atomic", real=os.path.realpath(path), mode=stat.S_IMODE(st.st_mode))
    return Target(path, "in-place")


def _umask_mode() -> int:
    """The mode ``open`` gives a new file: 0666 less the umask (read without changing it where
    Linux says it, since setting it twice races with other threads creating files)."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a regular file, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def check_outputs(outputs: Mapping[str, str | None], inputs: Iterable[str] = ()) -> None:
    """Refuse, before any work, outputs that cannot be written or that would overwrite an input.

    ``outputs`` maps each option name (``--per-fact``) to its path (None when not given);
    ``inputs`` are the command's input paths. Raises ``OutputPathError`` naming the option.
    """
    ins: dict[tuple[int, int], str] = {}
    for p in inputs:
        ident = _identity(p)
        if ident is not None:
            ins.setdefault(ident, p)
    seen: dict[tuple[int, int] | str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        if path == "":
            raise OutputPathError("empty path", option=option, path=path)
        target = resolve(path)
        if target.kind == "fd":
            stream = f"fd:{target.fd}"
            if stream in seen:
                where = {"fd:1": "stdout", "fd:2": "stderr"}.get(stream, f"file descriptor {target.fd}")
                message = f"{seen[stream]} also writes to {where}: give one a FILE"
                raise OutputPathError(message, option=option, path=path)
            seen[stream] = option
            continue
        if os.path.isdir(path):
            raise OutputPathError(f"{path!r} is a folder, not a file", option=option, path=path)
        ident = _identity(path)
        if ident is not None and ident in ins:
            raise OutputPathError(
                f"{path!r} is the input {ins[ident]!r}; writing it would destroy it", option=option, path=path
            )
        key: tuple[int, int] | str = ident if ident is not None else os.path.abspath(target.real or path)
        if target.kind == "atomic" and key in seen:
            raise OutputPathError(f"{path!r} is also given to {seen[key]}", option=option, path=path)
        seen[key] = option
        if target.kind != "atomic":
            continue
        folder = os.path.dirname(os.path.abspath(target.real or path))
        if not os.path.isdir(folder):
            raise OutputPathError(f"folder {folder!r} does not exist", option=option, path=path)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputPathError(f"folder {folder!r} is not writable", option=option, path=path)


@contextmanager
def open_output(path: str, what: str = "output") -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through, committed when the block ends without error.

    ``OSError`` becomes ``InputError("cannot write {what}: ...")`` naming the path; any error
    leaves an atomic target as it was (the temporary file is removed).
    """
    target = resolve(path)
    try:
        if target.kind == "fd":
            assert target.fd is not None
            if target.fd in (1, 2):  # the process's own streams, as Python holds them
                stream = sys.stdout if target.fd == 1 else sys.stderr
                stream.flush()
                yield stream.buffer
                stream.buffer.flush()
            else:
                dup = os.fdopen(os.dup(target.fd), "wb")
                try:
                    yield dup
                    dup.flush()
                finally:
                    dup.close()
        elif target.kind == "in-place":
            with open(path, "wb") as fh:
                yield fh
        else:
            with _atomic(target) as fh:
                yield fh
    except OSError as exc:
        raise InputError(f"cannot write {what}: {exc.strerror or exc}", path=path) from None


@contextmanager
def _atomic(target: Target) -> Iterator[IO[bytes]]:
    real = target.real or target.path
    folder = os.path.dirname(os.path.abspath(real))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.tmp-", dir=folder)
    fh = os.fdopen(fd, "wb", buffering=1 << 20)
    try:
        if target.mode is not None:
            os.fchmod(fd, target.mode)
            try:
                st = os.stat(real)
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(fd, st.st_uid, st.st_gid)
            except OSError:
                pass  # not ours to give away: the new file is the writer's
        else:
            os.fchmod(fd, _umask_mode())
        with fh:
            yield fh
            fh.flush()
            os.fsync(fd)
        os.replace(tmp, real)
    except BaseException:
        fh.close()
        with suppress(OSError):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_output(path: str, data: bytes, what: str = "output") -> None:
    """Write ``data`` to ``path`` as ``open_output`` describes."""
    with open_output(path, what) as fh:
        fh.write(data)


def write_outputs(items: Iterable[tuple[str, str | None, Callable[[], bytes]]]) -> None:
    """Write every ``(what, path, make_bytes)`` whose path is given, going on past a failure;
    then, if any failed, raise one ``InputError`` naming each output that could not be written
    (the others are in place)."""
    failed: list[str] = []
    written: list[str] = []
    for what, path, make in items:
        if path is None:
            continue
        try:
            write_output(path, make(), what)
            written.append(path)
        except InputError as exc:
            failed.append(str(exc))
    if failed:
        kept = f" (written: {', '.join(written)})" if written else ""
        raise InputError("; ".join(failed) + kept)
