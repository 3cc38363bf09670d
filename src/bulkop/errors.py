"""Typed errors: each carries its exit code and a hint; `cli.main` turns them into exits."""

from __future__ import annotations

import errno
from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes (README, --help, man pages are generated from this table)."""

    OK = 0
    FAILED = 1  # an operation failed (or exceeded --max-errors, or its --fail-if was true)
    USAGE = 2  # bad flag, bad argument, malformed id
    NOT_FINISHED = 3  # `status`: queued or processing
    AUTH = 4  # 401/403
    NOT_FOUND = 5  # 404
    UNAVAILABLE = 6  # API unavailable or invalid response, after retries
    CONFIG = 7  # configuration problem
    TIMEOUT = 124  # `watch --timeout` elapsed
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    INTERNAL = 70  # a bug in bulkop (EX_SOFTWARE)
    OUTPUT = 74  # stdout or stderr refused a write (EX_IOERR): a full disk, a failing device
    PIPE = 141  # the reader of stdout went away (`| head`)
    TERMINATED = 143  # SIGTERM


EXIT_CODE_NAMES: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.FAILED: "failed",
    ExitCode.USAGE: "usage",
    ExitCode.NOT_FINISHED: "not finished",
    ExitCode.AUTH: "auth",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.UNAVAILABLE: "unavailable",
    ExitCode.CONFIG: "config",
    ExitCode.TIMEOUT: "timeout",
    ExitCode.INTERNAL: "internal error",
    ExitCode.OUTPUT: "output error",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.PIPE: "broken pipe",
    ExitCode.TERMINATED: "terminated",
}

EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success: every operation fetched (get), completed or its --until true (status, watch)",
    ExitCode.FAILED: "an operation failed or its --fail-if was true, or it had more errors than --max-errors allows",
    ExitCode.USAGE: "usage error: bad option or argument, malformed operation id, a bad --until/--fail-if "
    "expression, a bad value given to config set/add",
    ExitCode.NOT_FINISHED: "status: the operation is queued or still processing",
    ExitCode.AUTH: "authentication or permission refused (HTTP 401/403)",
    ExitCode.NOT_FOUND: "operation not found (HTTP 404)",
    ExitCode.UNAVAILABLE: "API unavailable, or its response was invalid, after retries",
    ExitCode.CONFIG: "configuration error (config file, profile, missing credentials; a bad value found there)",
    ExitCode.TIMEOUT: "watch: --timeout elapsed before every operation ended",
    ExitCode.INTERNAL: "internal error: a bug in bulkop (rerun with --debug and report it)",
    ExitCode.OUTPUT: "stdout or stderr could not be written (a full disk, a failing device); "
    "said on stderr if it can be",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C (SIGINT); watch prints each operation's last known state "
    "and the command that resumes",
    ExitCode.PIPE: "the reader of stdout or stderr went away (e.g. `| head`, `2>&1 | head`); nothing more is printed",
    ExitCode.TERMINATED: "terminated by SIGTERM; watch prints each operation's last known state and the command "
    "that resumes",
}


class BulkopError(Exception):
    """Base of every error bulkop reports: a one-line message, a hint, an exit code."""

    exit_code: ExitCode = ExitCode.UNAVAILABLE
    kind: str = "error"
    # True when asking again gets the same answer (a redirect, a 400): a watch does not retry
    # it as it retries a network fault or a 5xx, which may pass.
    lasting: bool = False

    def __init__(self, message: str, *, hint: str | None = None, lasting: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if lasting is not None:
            self.lasting = lasting

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(BulkopError):
    exit_code = ExitCode.USAGE
    kind = "usage"


class ConfigError(BulkopError):
    exit_code = ExitCode.CONFIG
    kind = "config"


class AuthError(BulkopError):
    exit_code = ExitCode.AUTH
    kind = "auth"


class NotFoundError(BulkopError):
    exit_code = ExitCode.NOT_FOUND
    kind = "not_found"


class ApiUnavailable(BulkopError):
    """The API could not be reached or kept failing (connection, timeout, 5xx, 429) after retries."""

    exit_code = ExitCode.UNAVAILABLE
    kind = "unavailable"
    retry_after: float | None = None  # what the server asked for (Retry-After), if anything


class InvalidResponse(BulkopError):
    """The server answered something that is not what the contract says (non-JSON, wrong shape)."""

    exit_code = ExitCode.UNAVAILABLE
    kind = "invalid_response"


class WatchTimeout(BulkopError):
    exit_code = ExitCode.TIMEOUT
    kind = "timeout"


class OutputError(BulkopError):
    """stdout or stderr refused a write (ENOSPC, EIO, ...): not a bug, not the API's doing."""

    exit_code = ExitCode.OUTPUT
    kind = "output"


# The errors of a write that the device refused (a closed pipe, EPIPE, is ExitCode.PIPE).
OUTPUT_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EIO", "EBADF", "EFBIG", "ENOSPC", "EDQUOT") if hasattr(errno, name)
)


def is_output_error(e: BaseException) -> bool:
    """Whether `e` is a refused write to a standard stream (an OSError with no file name)."""
    return isinstance(e, OSError) and e.errno in OUTPUT_ERRNOS and e.filename is None


class InternalError(BulkopError):
    """A bug in bulkop: reported in one line, with the traceback only under --debug."""

    exit_code = ExitCode.INTERNAL
    kind = "internal"


class Terminated(BaseException):
    """Raised from the SIGTERM handler; a BaseException so that no `except Exception` eats it."""


def most_severe(codes: list[int]) -> int:
    """Pick the exit code to report when several operations ended differently.

    Errors about the tool or the API outrank operation outcomes; among outcomes, failed (1)
    outranks not finished (3), which outranks ok (0).
    """
    if not codes:
        return ExitCode.OK
    order = [143, 141, 130, 70, 74, 124, 7, 4, 6, 5, 2, 1, 3, 0]
    return min(codes, key=lambda c: order.index(c) if c in order else 0)


def did_you_mean(word: str, choices: Iterable[str], form: str = "; did you mean {!r}?") -> str:
    """`form` filled with the choice closest to a mistyped `word`, or "" when none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return form.format(close[0]) if close else ""
