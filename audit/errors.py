"""Typed errors raised by the library, and the exit codes the CLI maps them to.

Every expected failure raises a subclass of ``AuditError`` with a one-line message that names the
file (and line, when there is one) and the problem. ``audit.cli`` is the only place that turns
them into exit codes; nothing else calls ``sys.exit``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of every ``hallu-audit`` command (documented in the README)."""

    OK = 0
    GATE_FAILED = 1  # a CI gate of `outputs` failed
    USAGE = 2  # click's own usage errors: unknown option, missing argument
    BAD_INPUT = 3  # unreadable file, malformed data, mixed configs
    WORKER_DIED = 4  # a --workers process died (killed, out of memory): nothing was written


class Terminated(BaseException):  # noqa: N818 - named for the signal, like KeyboardInterrupt
    """SIGTERM reached the process (a BaseException: nothing may swallow it). Raised where the
    process was, so that every open output removes its temporary file on the way out; the CLI
    then ends the process by the same signal (status 143)."""


class AuditError(Exception):
    """Base of all expected failures; the message is shown to the user as one line."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        # one line, whatever a library below said (pyarrow's messages end in newlines)
        message = " ".join(part.strip() for part in message.splitlines() if part.strip())
        self.path = path
        self.line = line
        self.reason = message
        where = path if path is not None else ""
        if path is not None and line is not None:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class InputError(AuditError):
    """An input file cannot be opened, decoded or parsed."""


class BadRecordError(InputError):
    """One record of a corpus or outputs file is malformed (fatal only under --strict)."""


class UsageError(AuditError):
    """Options that contradict each other (exit 2, like click's own usage errors)."""

    exit_code = ExitCode.USAGE


class OptionError(UsageError):
    """An option's value is malformed or out of range (exit 2; cli.py words it as click does)."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")
        self.reason = message


class ConfigError(AuditError):
    """Options or a reference table describe something the tool cannot do."""


class MergeError(AuditError):
    """Sketches or reports made with different configs cannot be combined."""


class FormatError(AuditError):
    """A serialized sketch or report is truncated, corrupt or of an unknown version."""


class WorkerError(AuditError):
    """A worker process of a parallel run died (killed, or out of memory): exit 4."""

    exit_code = ExitCode.WORKER_DIED
