"""Facts about a watched operation that every watch view shows the same way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bulkop.models import Status
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.sanitize import clean
from bulkop.watcher import Tracked

STATUS_ORDER = ("processing", "queued", "retrying", "completed", "failed", "error", "waiting")


def label(t: Tracked) -> str:
    """The operation's name, or its id when the API gives no name (SAYMON)."""
    if t.op is not None and t.op.name:
        return clean(t.op.name, max_len=40)
    return clean(t.label, max_len=40)


def state(t: Tracked) -> str:
    """One word: the API's status, or what the watcher is doing about it."""
    if t.error is not None:
        return "error"
    if t.op is None:
        return "retrying" if t.failures else "waiting"
    if t.failures and not t.done:
        return "retrying"
    return t.op.status.value


def percent_text(t: Tracked) -> str:
    if t.op is None or not t.op.counts_known:
        return "-"
    return fmt.percent(fraction(t.op))


def rows_text(t: Tracked) -> str:
    op = t.op
    if op is None or not op.counts_known:
        return "-"
    return f"{fmt.count(op.processed_rows)}/{fmt.count(op.estimated_total_rows)}"


def eta_text(t: Tracked, now: float) -> str:
    if t.op is None or t.op.finished or not t.op.counts_known:
        return "-"
    return fmt.duration(t.eta(now))


def elapsed_seconds(t: Tracked, now: float) -> float | None:
    """Time watched: from the first poll to the end (frozen once the operation ended)."""
    if t.first_seen is None:
        return None
    return max(0.0, (t.ended_at if t.ended_at is not None else now) - t.first_seen)


def status_counts(ops: Sequence[Tracked]) -> str:
    counts = Counter(state(t) for t in ops)
    return " · ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])


def totals(ops: Sequence[Tracked]) -> tuple[int, int, int, int, float | None]:
    """processed, estimated, succeeded, errors over the operations with counts; summed rate."""
    processed = estimated = ok = errors = 0
    rate_sum, any_rate = 0.0, False
    for t in ops:
        op = t.op
        if op is None or not op.counts_known:
            continue
        processed += op.processed_rows or 0
        estimated += (
            max(op.estimated_total_rows or 0, op.processed_rows or 0)
            if op.status is Status.COMPLETED
            else (op.estimated_total_rows or 0)
        )
        ok += op.success_count or 0
        errors += op.error_count or 0
        r = t.speed()
        if r is not None and not op.finished:
            rate_sum += r
            any_rate = True
    return processed, estimated, ok, errors, (rate_sum if any_rate else None)
