"""Facts and lines about a watched operation that every watch view shows the same way (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bulkop.models import Status
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.sanitize import clean
from bulkop.verdict import Kind, error_count, explain

if TYPE_CHECKING:
    from bulkop.watch.engine import Tracked

STATUS_ORDER = (
    "processing",
    "queued",
    "not finished",
    "retrying",
    "completed",
    "finished",
    "failed",
    "error",
    "waiting",
)


# A log has no width: names are cut only when absurdly long, and ids never (full_id).
NAME_CAP = 200


def label(t: Tracked) -> str:
    """The operation's name, or its id when the API gives no name."""
    if t.op is not None and t.op.name:
        return clean(t.op.name, max_len=NAME_CAP)
    return clean(t.label)


def who(t: Tracked) -> str:
    """Which operation a line is about: its name and whole id, or what it was asked as
    (`PROFILE:ID`, the id) while no name is known. Every line about one operation starts so:
    a name alone is not unique (many imports share one)."""
    if t.op is not None and t.op.name:
        return f"{label(t)} {full_id(t)}"
    return clean(t.label)


def state(t: Tracked) -> str:
    """One word: the API's status, or what the watcher is doing about it."""
    if t.error is not None:
        return "error"
    if t.op is None:
        return "retrying" if t.failures else "waiting"
    if t.failures and not t.done:
        return "retrying"
    return t.op.status_word


def percent_text(t: Tracked) -> str:
    if t.op is None or not t.op.counts_known:
        return "-"
    return fmt.percent(fraction(t.op))


def rows_text(t: Tracked) -> str:
    op = t.op
    if op is None or not op.counts_known:
        return "-"
    return f"{fmt.count(op.processed_rows)}/{fmt.count(op.estimated_total_rows)}"


def in_trouble(t: Tracked) -> bool:
    """Its last poll failed: what was measured before (rate, ETA) is stale."""
    return t.error is not None or (t.failures > 0 and not t.done)


def eta_text(t: Tracked, now: float) -> str:
    if t.op is None or t.op.finished or not t.op.counts_known or in_trouble(t):
        return "-"
    return fmt.duration(t.eta(now))


def rate_text(t: Tracked) -> str:
    op = t.op
    speed = t.speed()
    if op is None or not op.counts_known or op.finished or speed is None or in_trouble(t):
        return "-"
    return fmt.rate(speed)


def elapsed_seconds(t: Tracked, now: float) -> float | None:
    """How long the operation has run, by the server's own timestamps when it sent them
    (start to end; while it runs, start to its last update plus the time since that answer:
    never our wall clock against the server's, which may disagree); else the time watched."""
    op = t.op
    if op is not None and op.started_at is not None:
        end = op.completed_at or op.failed_at or op.updated_at
        try:
            took = (end - op.started_at).total_seconds() if end is not None else None
        except (OverflowError, ValueError):  # timestamps at the ends of the calendar
            took = None
        if took is not None and took >= 0:
            if not op.finished and t.answered_at is not None:
                took += max(0.0, now - t.answered_at)
            return took
    if t.first_seen is None:
        return None
    return max(0.0, (t.ended_at if t.ended_at is not None else now) - t.first_seen)


# What became of an operation, in the words of a summary: never "completed" for one that
# failed the watch (over --max-errors), so no count reads "all fine" on a non-zero exit.
VERDICT_WORDS = {
    Kind.TOO_MANY_ERRORS: "over --max-errors",
    Kind.ERRORS_UNKNOWN: "error count unknown",
    Kind.TIMED_OUT: "timed out",
    Kind.STOPPED: "stopped",
    Kind.UNAVAILABLE: "could not be fetched",
    Kind.UNTIL_MET: "until met",
    Kind.FAIL_IF_MET: "fail-if met",
}


def outcome(t: Tracked) -> str:
    """One word: the verdict where it differs from the API's status, else `state`."""
    v = t.verdict
    if v is not None and v.kind in VERDICT_WORDS:
        return VERDICT_WORDS[v.kind]
    return state(t)


def status_counts(ops: Sequence[Tracked]) -> str:
    counts = Counter(outcome(t) for t in ops)
    order = [*STATUS_ORDER, *VERDICT_WORDS.values()]
    order += sorted(set(counts) - set(order))
    return " · ".join(f"{counts[s]} {s}" for s in order if counts[s])


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over the operations that report each number, and how many do: what no operation
    reports is None (unknown), never 0 (an API without success counts has not 0 ok rows)."""

    counted: int  # operations with row counts (the rows' sums are over these)
    processed: int | None
    estimated: int | None  # None when one of those has no estimate: no total, no percentage
    ok: int | None
    ok_from: int  # operations whose success count is in `ok`
    errors: int | None
    errors_from: int
    rate: float | None


def totals(ops: Sequence[Tracked]) -> Totals:
    """processed, estimated, succeeded, errors over the operations that report each; summed rate."""
    processed = estimated = ok = errors = 0
    counted = ok_from = errors_from = 0
    all_estimated = True
    rate_sum, any_rate = 0.0, False
    for t in ops:
        op = t.op
        if op is None or not op.counts_known:
            continue
        counted += 1
        processed += op.processed_rows or 0
        if op.estimated_total_rows is None:
            all_estimated = False
        elif op.status is Status.COMPLETED:
            estimated += max(op.estimated_total_rows, op.processed_rows or 0)
        else:
            estimated += op.estimated_total_rows
        if op.success_count is not None:
            ok += op.success_count
            ok_from += 1
        if (n := error_count(op)) is not None:
            errors += n
            errors_from += 1
        r = t.speed()
        if r is not None and not op.finished:
            rate_sum += r
            any_rate = True
    return Totals(
        counted=counted,
        processed=processed if counted else None,
        estimated=estimated if counted and all_estimated else None,
        ok=ok if ok_from else None,
        ok_from=ok_from,
        errors=errors if errors_from else None,
        errors_from=errors_from,
        rate=rate_sum if any_rate else None,
    )


def full_id(t: Tracked) -> str:
    """The operation's whole id: what a user must paste into the next command."""
    if t.op is not None:
        return clean(str(t.op.id))
    return clean(t.op_id or t.label)


def verdict_line(t: Tracked, *, errors: bool = True) -> str | None:
    """Why this operation makes the watch fail, and what to run next; None when it does not
    (nor, with `errors=False`, when it could not be fetched: that error is reported itself)."""
    v = t.verdict
    if v is None or (t.error is not None and not errors):
        return None
    # Abandoned by --fail-fast, or ended by --until: say so (the status alone would not tell).
    if not v.needs_action and v.kind not in (Kind.STOPPED, Kind.UNTIL_MET):
        return None
    name = clean(t.op.name, max_len=NAME_CAP) if t.op is not None and t.op.name else None
    line = explain(v, full_id(t), name, t.hint_profile, next_step=t.next_step)
    if v.kind is Kind.TIMED_OUT and t.op is not None:
        seen = f"{t.op.status_word} {percent_text(t)}" if t.op.counts_known else t.op.status_word
        line = line.replace("; next:", f" (last known state: {seen}); next:", 1)
    return clean(line)


def operation_line(t: Tracked, now: float) -> str:
    """`users.identify 123e4567-e89b-… processing 42% 420/1,000 130 rows/s eta 4s errors 0`."""
    parts = [who(t), state(t)]
    op = t.op
    if op is not None and op.counts_known:
        parts += [percent_text(t), rows_text(t)]
        if not op.finished and not in_trouble(t):  # a row in error has no rate or ETA to trust
            speed, left = t.speed(), t.eta(now)
            parts += [
                fmt.rate(speed) if speed is not None else "",
                f"eta {fmt.duration(left)}" if left is not None else "",
            ]
        parts.append(f"errors {fmt.count(error_count(op))}")
    elif op is not None and not op.finished:  # a final line says how long it took
        parts.append(f"elapsed {fmt.duration(elapsed_seconds(t, now))}")
    return " ".join(p for p in parts if p)
