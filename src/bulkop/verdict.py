"""The verdict on one operation: one typed value that every display and every exit code read.

`watch`, `status` and `get --exit-status` all decide here whether an operation passed, and say
why in one sentence, so no view can disagree with the exit code. A missing or impossible value
is never a pass: an error count that cannot be known fails a `--max-errors` gate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bulkop.errors import BulkopError, ExitCode
from bulkop.models import BulkOperation, Status


class Kind(str, enum.Enum):
    COMPLETED = "completed"
    FINISHED = "finished"  # an API that says only "finished" (SAYMON): ended, success unknown
    FAILED = "failed"
    TOO_MANY_ERRORS = "too_many_errors"
    ERRORS_UNKNOWN = "errors_unknown"  # completed, but --max-errors cannot be checked
    NOT_FINISHED = "not_finished"  # status/get: queued or processing
    TIMED_OUT = "timed_out"  # watch --timeout struck first
    STOPPED = "stopped"  # watch --fail-fast stopped before it ended
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    UNAVAILABLE = "unavailable"  # could not be fetched (auth, not found, API down, invalid answer)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    code: int  # the exit code this operation alone calls for
    reason: str  # one sentence, for people

    @property
    def passed(self) -> bool:
        return self.code == ExitCode.OK

    @property
    def needs_action(self) -> bool:
        """Worth a line of its own: the operation is why the command did not exit 0. (Not an
        interruption: the one `bulkop: interrupted` line says that.)"""
        return not self.passed and self.kind not in (Kind.NOT_FINISHED, Kind.INTERRUPTED)


def error_count(op: BulkOperation) -> int | None:
    """How many rows failed, or None when nobody can tell: the model's one definition
    (`BulkOperation.known_error_count`; impossible counts never get that far, they are
    refused as invalid answers when the operation is parsed)."""
    return op.known_error_count


def of_operation(op: BulkOperation, max_errors: int | None = None) -> Verdict:
    """The verdict on an operation as fetched: by its status, then by the --max-errors gate."""
    word = op.status_word  # SAYMON's operations are "finished" or "not finished", never more
    if op.status is Status.FAILED:
        n = error_count(op)
        errors = f" with {n:,} error{'s' if n != 1 else ''}" if n else ""
        return Verdict(Kind.FAILED, ExitCode.FAILED, f"the operation failed{errors}")
    if op.status is not Status.COMPLETED:
        state = f"still {op.status.value}" if word == op.status.value else word
        return Verdict(Kind.NOT_FINISHED, ExitCode.NOT_FINISHED, f"the operation is {state}")
    if max_errors is None:
        kind = Kind.COMPLETED if word == Status.COMPLETED.value else Kind.FINISHED
        return Verdict(kind, ExitCode.OK, f"the operation {word}")
    n = error_count(op)
    if n is None:
        return Verdict(
            Kind.ERRORS_UNKNOWN,
            ExitCode.FAILED,
            f"{word}, but its error count is unknown, so --max-errors {max_errors} cannot be checked",
        )
    if n > max_errors:
        return Verdict(
            Kind.TOO_MANY_ERRORS,
            ExitCode.FAILED,
            f"completed with {n:,} error{'s' if n != 1 else ''}, over --max-errors {max_errors}",
        )
    return Verdict(Kind.COMPLETED, ExitCode.OK, f"completed with {n:,} error{'s' if n != 1 else ''}")


def of_error(err: BulkopError) -> Verdict:
    """An operation that could not be fetched: the error's own exit code, its message."""
    return Verdict(Kind.UNAVAILABLE, int(err.exit_code), f"could not be fetched: {err.message}")


def timed_out(timeout: float | None, *, seen: bool = True) -> Verdict:
    after = f" after {timeout:g}s" if timeout else ""
    what = "still running" if seen else "no answer yet"
    return Verdict(Kind.TIMED_OUT, ExitCode.TIMEOUT, f"{what} when --timeout struck{after}")


def stopped() -> Verdict:
    # Not a failure of its own: --fail-fast stopped the watch because another one failed.
    return Verdict(Kind.STOPPED, ExitCode.OK, "not finished: --fail-fast stopped the watch")


def interrupted(terminated: bool = False) -> Verdict:
    if terminated:
        return Verdict(Kind.INTERRUPTED, ExitCode.TERMINATED, "not finished: the watch was terminated (SIGTERM)")
    return Verdict(Kind.INTERRUPTED, ExitCode.INTERRUPTED, "not finished: the watch was interrupted (Ctrl-C)")


def next_command(verdict: Verdict, op_id: str, profile: str | None = None) -> str:
    """What to run next to see why: the errors of a failed operation, the state of another."""
    where = f"-p {profile} " if profile else ""
    if verdict.kind in (Kind.FAILED, Kind.TOO_MANY_ERRORS, Kind.ERRORS_UNKNOWN):
        return f"bulkop {where}get {op_id} --errors"
    if verdict.kind is Kind.UNAVAILABLE:
        return f"bulkop {where}get {op_id} --debug"
    return f"bulkop {where}watch {op_id}"


def explain(verdict: Verdict, op_id: str, name: str | None = None, profile: str | None = None) -> str:
    """One line for people: which operation (name and full id), why, and what to run next.

    `users.identify 123e4567-…: completed with 100 errors, over --max-errors 0; next: bulkop get 123e4567-… --errors`
    """
    who = f"{name} {op_id}" if name and name != op_id else op_id
    return f"{who}: {verdict.reason}; next: {next_command(verdict, op_id, profile)}"
