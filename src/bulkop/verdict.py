"""The verdict on one operation: one typed value that every display and every exit code read.

`watch`, `status` and `get --exit-status` all decide here whether an operation passed, and say
why in one sentence, so no view can disagree with the exit code. A missing or impossible value
is never a pass: an error count that cannot be known fails a `--max-errors` gate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bulkop.errors import BulkopError, ExitCode
from bulkop.models import BulkOperation, Status
from bulkop.sanitize import plural

if TYPE_CHECKING:
    from bulkop.conditions import Condition, Conditions


class Kind(str, enum.Enum):
    COMPLETED = "completed"
    FINISHED = "finished"  # an API that says only "finished" (e.g. SAYMON): ended, success unknown
    FAILED = "failed"
    TOO_MANY_ERRORS = "too_many_errors"
    ERRORS_UNKNOWN = "errors_unknown"  # completed, but --max-errors cannot be checked
    NOT_FINISHED = "not_finished"  # status/get: queued or processing
    TIMED_OUT = "timed_out"  # watch --timeout struck first
    STOPPED = "stopped"  # watch --fail-fast stopped before it ended
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    UNAVAILABLE = "unavailable"  # could not be fetched (auth, not found, API down, invalid answer)
    UNTIL_MET = "until_met"  # --until was true: done and successful, whatever the provider's status
    FAIL_IF_MET = "fail_if_met"  # --fail-if was true: failed, whatever the provider's status


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    code: int  # the exit code this operation alone calls for
    reason: str  # one sentence, for people
    errors: int | None = None  # the operation's known error count (None: unknown or unfetched)
    hint: str | None = None  # what to do next, when the cause says it (an error's own hint)
    condition: Condition | None = None  # the --until / --fail-if that ended the operation, if one did

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


def of_operation(op: BulkOperation, max_errors: int | None = None, conditions: Conditions | None = None) -> Verdict:
    """The verdict on an operation as fetched: by --until, then --fail-if (the first that is
    true ends it), then by its status; and a success by the --max-errors gate."""
    if conditions is not None and (met := conditions.first_true(op)) is not None:
        return of_condition(op, met, max_errors)
    word = op.status_word  # e.g. "finished" or "not finished" when that is all an API says
    if op.status is Status.FAILED:
        n = error_count(op)
        errors = f" with {plural(n, 'error')}" if n else ""
        return Verdict(Kind.FAILED, ExitCode.FAILED, f"the operation failed{errors}", n)
    if op.status is not Status.COMPLETED:
        state = f"still {op.status.value}" if word == op.status.value else word
        return Verdict(Kind.NOT_FINISHED, ExitCode.NOT_FINISHED, f"the operation is {state}")
    n = error_count(op)
    # One wording per case, whether or not a --max-errors gate was asked for.
    done = f"completed with {plural(n, 'error')}" if n is not None else f"the operation {word}"
    if max_errors is not None and n is None:
        return _errors_unknown(op, word, max_errors)
    if max_errors is not None and n is not None and n > max_errors:
        return Verdict(Kind.TOO_MANY_ERRORS, ExitCode.FAILED, f"{done}, over --max-errors {max_errors}", n)
    kind = Kind.COMPLETED if word == Status.COMPLETED.value else Kind.FINISHED
    return Verdict(kind, ExitCode.OK, done, n)


def ended(op: BulkOperation, max_errors: int | None = None, conditions: Conditions | None = None) -> Verdict | None:
    """The verdict at a poll of `watch`: None while the operation goes on (no condition true,
    not finished by its status), else why it ended."""
    if conditions is None and not op.finished:  # the usual poll: nothing to evaluate
        return None
    verdict = of_operation(op, max_errors, conditions)
    return None if verdict.kind is Kind.NOT_FINISHED else verdict


def of_condition(op: BulkOperation, condition: Condition, max_errors: int | None = None) -> Verdict:
    """An operation ended by a condition of the user's. --fail-if fails it. --until passes it,
    but a --max-errors gate still applies to its error count (as to a completed operation):
    the user asked for both, and a success must not slip past a gate given explicitly."""
    from bulkop.conditions import FAIL_IF

    n = error_count(op)
    said = condition.describe()
    # The condition decides over the provider's status (it is checked first, at every poll,
    # the first too); where the two disagree, every view says both, so a line that shows
    # "failed" next to exit 0 (or "completed" next to exit 1) is never left to be guessed at.
    contrary = Status.COMPLETED if condition.option == FAIL_IF else Status.FAILED
    if op.status is contrary:
        errors = f": {plural(n, 'error')}" if n else ""
        said = f"{said} is true (the operation itself reports {op.status_word}{errors})"
    if condition.option == FAIL_IF:
        return Verdict(Kind.FAIL_IF_MET, ExitCode.FAILED, said, n, condition=condition)
    if max_errors is not None and n is None:
        return _errors_unknown(op, said, max_errors, condition)
    if max_errors is not None and n is not None and n > max_errors:
        errors = plural(n, "error")
        return Verdict(
            Kind.TOO_MANY_ERRORS,
            ExitCode.FAILED,
            f"{said}, with {errors}, over --max-errors {max_errors}",
            n,
            condition=condition,
        )
    return Verdict(Kind.UNTIL_MET, ExitCode.OK, said, n, condition=condition)


def _errors_unknown(op: BulkOperation, said: str, max_errors: int, condition: Condition | None = None) -> Verdict:
    """A --max-errors gate over an operation whose error count is unknown: never a pass."""
    why = "" if op.reporting.reports_errors else f" ({_title(op)} reports no error counts)"
    return Verdict(
        Kind.ERRORS_UNKNOWN,
        ExitCode.FAILED,
        f"{said}, but its error count is unknown{why}, so --max-errors {max_errors} cannot be checked",
        hint=None if op.reporting.reports_errors else f"drop --max-errors for {_title(op)} operations",
        condition=condition,
    )


def _title(op: BulkOperation) -> str:
    return op.reporting.title or op.provider


def of_error(err: BulkopError) -> Verdict:
    """An operation that could not be fetched: the error's own exit code, its message."""
    return Verdict(Kind.UNAVAILABLE, int(err.exit_code), f"could not be fetched: {err.message}", hint=err.hint)


def timed_out(timeout: float | None, *, seen: bool = True) -> Verdict:
    after = f" after {timeout:g}s" if timeout else ""
    what = "still running" if seen else "no answer yet"
    return Verdict(Kind.TIMED_OUT, ExitCode.TIMEOUT, f"{what} when --timeout struck{after}")


def stopped(*, seen: bool = True) -> Verdict:
    # Not a failure of its own: --fail-fast stopped the watch because another one failed.
    if not seen:  # no answer ever came: nobody knows whether it had finished
        return Verdict(Kind.STOPPED, ExitCode.OK, "not checked (--fail-fast stopped the watch)")
    return Verdict(Kind.STOPPED, ExitCode.OK, "not finished, no longer watched: --fail-fast stopped the watch")


def title(verdict: Verdict) -> str:
    """A short human title for a verdict (a GitHub annotation's): no internal token."""
    if verdict.kind is Kind.UNAVAILABLE:
        by_code: dict[int, str] = {
            ExitCode.NOT_FOUND: "bulkop: operation not found",
            ExitCode.AUTH: "bulkop: not authorized",
            ExitCode.CONFIG: "bulkop: configuration problem",
        }
        return by_code.get(verdict.code, "bulkop: operation could not be fetched")
    return TITLES.get(verdict.kind, "bulkop: operation did not pass")


TITLES = {
    Kind.FAILED: "bulkop: operation failed",
    Kind.FAIL_IF_MET: "bulkop: --fail-if was true",
    Kind.UNTIL_MET: "bulkop: --until was true",
    Kind.TOO_MANY_ERRORS: "bulkop: over --max-errors",
    Kind.ERRORS_UNKNOWN: "bulkop: error count unknown",
    Kind.TIMED_OUT: "bulkop: timed out",
    Kind.STOPPED: "bulkop: stopped by --fail-fast",
    Kind.INTERRUPTED: "bulkop: interrupted",
    Kind.NOT_FINISHED: "bulkop: not finished",
}


def interrupted(terminated: bool = False) -> Verdict:
    if terminated:
        return Verdict(Kind.INTERRUPTED, ExitCode.TERMINATED, "not finished: the watch was terminated (SIGTERM)")
    return Verdict(Kind.INTERRUPTED, ExitCode.INTERRUPTED, "not finished: the watch was interrupted (Ctrl-C)")


def next_command(verdict: Verdict, op_id: str, profile: str | None = None) -> str:
    """What to do next that works: the errors of a failed operation that has some, the
    cause's own advice (a credential to check, a gate that cannot be checked), else the state.

    `profile` is given only when the user chose it explicitly (-p, BULKOP_PROFILE,
    PROFILE:ID): `-p` turns off the provider's own variables (KNOCK_API_KEY…), so adding
    the config's default profile would send other credentials than the ones that worked.
    """
    if verdict.hint and verdict.kind in (Kind.UNAVAILABLE, Kind.ERRORS_UNKNOWN):
        return verdict.hint
    if verdict.kind is Kind.UNTIL_MET:  # what the user waited for: nothing left to do
        return ""
    where = f"-p {profile} " if profile else ""
    if verdict.kind in (Kind.FAILED, Kind.TOO_MANY_ERRORS, Kind.FAIL_IF_MET) and verdict.errors:
        return f"bulkop {where}get {op_id} --errors"
    if verdict.kind in (Kind.FAILED, Kind.UNAVAILABLE, Kind.ERRORS_UNKNOWN, Kind.FAIL_IF_MET):
        return f"bulkop {where}get {op_id}" + (" --debug" if verdict.kind is Kind.UNAVAILABLE else "")
    return f"bulkop {where}watch {op_id}"


def explain(
    verdict: Verdict,
    op_id: str,
    name: str | None = None,
    profile: str | None = None,
    *,
    next_step: str | None = None,
) -> str:
    """One line for people: which operation (name and full id), why, and what to run next.

    `users.identify 123e4567-…: completed with 100 errors, over --max-errors 0; next: bulkop get 123e4567-… --errors`

    `next_step` replaces the next command where the usual one cannot work (`bulkop demo`:
    its simulator is gone); "" leaves the next step out.
    """
    who = f"{name} {op_id}" if name and name != op_id else op_id
    step = next_command(verdict, op_id, profile) if next_step is None else next_step
    return f"{who}: {verdict.reason}" + (f"; next: {step}" if step else "")
