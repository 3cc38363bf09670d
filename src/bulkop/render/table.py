"""Rich views for a terminal: one operation in detail, or several as one table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bulkop.models import BulkOperation
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.render.text import ERROR_PREVIEW
from bulkop.sanitize import clean

BAR_WIDTH = 30


def status_text(op: BulkOperation) -> Text:
    return Text(op.status.value, style=fmt.STATUS_STYLE[op.status])


def progress_bar(op: BulkOperation, width: int = BAR_WIDTH) -> RenderableType:
    """A bar with the percentage; SAYMON and 0-estimate operations get no fake percentage."""
    f = fraction(op)
    if not op.counts_known:
        return Text("finished" if op.finished else "unknown", style="dim")
    if f.value is None:
        if op.finished:
            return Text("done" if op.status.value == "completed" else "-", style="dim")
        return Text("unknown", style="dim")
    bar = ProgressBar(
        total=100,
        completed=f.value * 100,
        width=width,
        complete_style="red" if op.status.value == "failed" else "green",
        finished_style="green",
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_row(bar, Text(fmt.percent(f)))
    return grid


def operation_view(op: BulkOperation, now: datetime, *, all_errors: bool = False) -> RenderableType:
    """Everything about one operation, as a two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Name", Text(fmt.name(op)))
    grid.add_row("ID", Text(clean(str(op.id))))
    grid.add_row("Provider", Text(op.provider))
    grid.add_row("Status", status_text(op))
    grid.add_row("Progress", progress_bar(op))
    if op.counts_known:
        grid.add_row("Rows", Text(f"{fmt.count(op.processed_rows)} / {fmt.count(op.estimated_total_rows)} processed"))
        grid.add_row(
            "Results",
            Text.assemble(
                (f"{fmt.count(op.success_count)} succeeded", "green"),
                ", ",
                (f"{fmt.count(op.error_count)} errors", "red" if op.error_count else ""),
            ),
        )
    else:
        grid.add_row("Rows", Text("unknown (this API reports only finished or not)", style="dim"))
    for label, when in (
        ("Created", op.inserted_at),
        ("Started", op.started_at),
        ("Completed", op.completed_at),
        ("Failed", op.failed_at),
    ):
        if when is not None:
            grid.add_row(label, Text(fmt.local_time(when, now)))
    if op.started_at is not None:
        grid.add_row("Duration", Text(fmt.duration(fmt.elapsed(op, now))))
    if op.progress_path:
        grid.add_row("Progress path", Text(clean(op.progress_path)))
    parts: list[RenderableType] = [grid]
    if op.error_items and not (all_errors and len(op.error_items) > TABLE_ITEMS_MAX):
        parts.append(error_items_table(op, all_errors=all_errors))
    return Group(*parts)


# Above this many error items, `--errors` prints plain aligned lines instead of a Rich table:
# Rich measures and wraps every cell, which took 69 s and 442 MB for 200,000 items.
TABLE_ITEMS_MAX = 200


def error_item_lines(op: BulkOperation) -> Iterator[str]:
    """Every error item as an aligned `ID  COLLECTION` line, cheap enough for 200,000 of them."""
    ids = [clean(item.id) for item in op.error_items]
    width = max(len("ID"), *(len(i) for i in ids)) + 2
    yield f"Error items ({len(ids):,})"
    yield "ID".ljust(width) + "Collection"
    for item_id, item in zip(ids, op.error_items, strict=True):
        yield item_id.ljust(width) + (clean(item.collection) if item.collection else "-")


def error_items_table(op: BulkOperation, *, all_errors: bool) -> RenderableType:
    items = op.error_items if all_errors else op.error_items[:ERROR_PREVIEW]
    table = Table(
        title=Text(f"Error items ({len(op.error_items):,})", style="bold red"),
        title_justify="left",
        box=None,
        header_style="bold",
        pad_edge=False,
        padding=(0, 2, 0, 0),
    )
    table.add_column("ID", overflow="fold")
    table.add_column("Collection", overflow="fold")
    for item in items:
        table.add_row(Text(clean(item.id)), Text(clean(item.collection) if item.collection else "-"))
    hidden = len(op.error_items) - len(items)
    if hidden > 0:
        return Group(table, Text(f"and {hidden:,} more (--errors lists them all)", style="dim"))
    return table


def operations_table(ops: list[BulkOperation], now: datetime) -> RenderableType:
    """Several operations, a row each."""
    # No rules and one space between columns, as `kubectl get` does: a name and six columns
    # fit in 80 columns.
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    table.add_column("Name", overflow="ellipsis", no_wrap=True, min_width=14, max_width=28)
    table.add_column("ID", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Progress", no_wrap=True)
    table.add_column("Rows", justify="right", no_wrap=True)
    table.add_column("Errors", justify="right", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    for op in ops:
        rows = (
            f"{fmt.count(op.processed_rows)}/{fmt.count(op.estimated_total_rows)}" if op.counts_known else fmt.UNKNOWN
        )
        table.add_row(
            Text(fmt.name(op)),
            Text(fmt.short_id(op.id)),
            status_text(op),
            progress_bar(op, width=6),
            Text(rows),
            Text(fmt.count(op.error_count)),
            Text(fmt.duration(fmt.elapsed(op, now))),
        )
    return table
