"""Plain-text views for pipes: no colour, no box drawing, one fact per line or tab-separated rows.

Text is for machines: numbers are plain (`55800`, never `55,800`, which awk reads as 55), columns
are separated by one tab, and headers are one word each.
"""

from __future__ import annotations

from datetime import datetime

from bulkop.models import BulkOperation, Status
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.sanitize import clean, plural

ERROR_PREVIEW = 5


def operation_text(op: BulkOperation, now: datetime, *, all_errors: bool = False) -> str:
    """`key:<TAB>value` lines, like `gh pr view` piped: easy for grep, cut and awk."""
    f = fraction(op)
    rows: list[tuple[str, str]] = [
        ("id", clean(str(op.id))),
        ("provider", op.provider),
    ]
    if op.name is not None:
        rows.append(("name", fmt.name(op)))
    rows.append(("status", op.status_word))
    if op.counts_known:
        rows += [
            ("progress", fmt.percent(f)),
            ("processed", fmt.count(op.processed_rows, plain=True)),
            ("estimated", fmt.count(op.estimated_total_rows, plain=True)),
            ("succeeded", fmt.count(op.success_count, plain=True)),
            ("errors", fmt.count(op.known_error_count, plain=True)),
        ]
    else:
        rows += [("progress", fmt.UNKNOWN), ("counts", fmt.counts_unknown(op))]
    for label, when in (
        ("created", op.inserted_at),
        ("started", op.started_at),
        ("completed", op.completed_at),
        ("failed", op.failed_at),
        ("updated", op.updated_at),
    ):
        if when is not None:
            rows.append((label, fmt.rfc3339(when)))
    if op.started_at is not None:
        rows.append(("duration", fmt.duration(fmt.elapsed(op, now))))
    if op.progress_path:
        rows.append(("progress_path", clean(op.progress_path)))
    lines = [f"{k}:\t{v}" for k, v in rows]
    lines += error_item_lines(op, all_errors=all_errors)
    return "\n".join(lines)


def error_item_lines(op: BulkOperation, *, all_errors: bool) -> list[str]:
    items = op.error_items if all_errors else op.error_items[:ERROR_PREVIEW]
    lines = [f"error_item:\t{clean(i.collection) + '/' if i.collection else ''}{clean(i.id)}" for i in items]
    hidden = len(op.error_items) - len(items)
    if hidden > 0:
        lines.append(f"error_items:\tand {hidden} more (--errors lists them all)")
    return lines


OPERATIONS_HEADER = ("ID", "NAME", "STATUS", "PROGRESS", "PROCESSED", "ESTIMATED", "ERRORS")


def operations_text(ops: list[BulkOperation]) -> str:
    """One tab-separated row per operation, with a header, for several ids piped."""
    lines = ["\t".join(OPERATIONS_HEADER)]
    for op in ops:
        f = fraction(op)
        lines.append(
            "\t".join(
                [
                    clean(str(op.id)),
                    fmt.name(op),
                    op.status_word,
                    fmt.percent(f),
                    fmt.count(op.processed_rows, plain=True),
                    fmt.count(op.estimated_total_rows, plain=True),
                    fmt.count(op.known_error_count, plain=True),
                ]
            )
        )
    return "\n".join(lines)


def status_line(op: BulkOperation) -> str:
    """What `bulkop status` prints: `completed 1000/1000`, `processing 42% (420/1000)`, …"""
    if not op.counts_known:
        return op.status_word  # no counts to show: the status, in the provider's own words
    processed, estimated = fmt.count(op.processed_rows), fmt.count(op.estimated_total_rows)
    n = op.known_error_count
    if op.status is Status.COMPLETED:
        errors = ", errors unknown" if n is None else f", {plural(n, 'error')}" if n else ""
        return f"completed {processed}/{estimated}{errors}"
    if op.status is Status.FAILED:
        errors = "errors unknown" if n is None else plural(n, "error")
        return f"failed: {errors} ({processed}/{estimated} processed)"
    if op.status is Status.QUEUED:
        return f"queued (0/{estimated})" if not op.processed_rows else f"queued ({processed}/{estimated})"
    pct = fmt.percent(fraction(op))
    return f"processing {pct} ({processed}/{estimated})"
