"""Rich views for a terminal: one operation in detail, or several as one table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bulkop.models import BulkOperation
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.render.text import ERROR_PREVIEW
from bulkop.sanitize import clean, plural

BAR_WIDTH = 30


def status_text(op: BulkOperation) -> Text:
    return Text(op.status_word, style=fmt.STATUS_STYLE[op.status.value])


def progress_bar(op: BulkOperation, width: int = BAR_WIDTH) -> RenderableType:
    """A bar with the percentage; operations without counts or with a 0 estimate get no fake percentage.

    A width of 0 gives the percentage alone (narrow terminals drop the bar, never the number).
    """
    f = fraction(op)
    if not op.counts_known:
        return Text("finished" if op.finished else "unknown", style="dim")
    if f.value is None:
        if op.finished:
            return Text("done" if op.status.value == "completed" else "-", style="dim")
        return Text("unknown", style="dim")
    if width <= 0:
        return Text(fmt.percent(f))
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


# Below this width the label and value columns of one operation cannot both hold a UUID
# ("Progress path" + gap + 36): each fact becomes one `Label: value` line instead.
GRID_MIN_WIDTH = 51


def operation_view(
    op: BulkOperation, now: datetime, *, all_errors: bool = False, width: int | None = None
) -> RenderableType:
    """Everything about one operation, as a two-column grid (or `Label: value` lines when narrow)."""
    rows: list[tuple[str, RenderableType]] = []
    rows.append(("Name", Text(fmt.name(op))))
    rows.append(("ID", Text(clean(str(op.id)))))
    rows.append(("Provider", Text(op.provider)))
    rows.append(("Status", status_text(op)))
    narrow = width is not None and width < GRID_MIN_WIDTH
    # The bar takes what is left after the label column, the gaps and "100% (overrun)".
    bar_width = BAR_WIDTH if width is None else max(0, min(BAR_WIDTH, width - 15 - 15))
    rows.append(("Progress", progress_bar(op, 0 if narrow or bar_width < 6 else bar_width)))
    if op.counts_known:
        rows.append(("Rows", Text(f"{fmt.count(op.processed_rows)} / {fmt.count(op.estimated_total_rows)} processed")))
        errors = op.known_error_count
        said = plural(errors, "error") if errors is not None else f"{fmt.UNKNOWN} errors"
        rows.append(
            (
                "Results",
                Text.assemble(
                    (f"{fmt.count(op.success_count)} succeeded", "green"),
                    ", ",
                    (said, "red" if errors else ""),
                ),
            )
        )
    else:
        rows.append(("Rows", Text(fmt.counts_unknown(op), style="dim")))
    for label, when in (
        ("Created", op.inserted_at),
        ("Started", op.started_at),
        ("Completed", op.completed_at),
        ("Failed", op.failed_at),
    ):
        if when is not None:
            rows.append((label, Text(fmt.local_time(when, now))))
    if op.started_at is not None:
        rows.append(("Duration", Text(fmt.duration(fmt.elapsed(op, now)))))
    if op.progress_path:
        rows.append(("Progress path", Text(clean(op.progress_path))))
    # The value column's width: a URL may break only after a '/', an id never (a half id copied
    # from a terminal is a wrong id); an id that does not fit is shown on a `Label: value` line.
    value_width = None if width is None else width - max(len(label) for label, _ in rows) - 2
    if value_width is not None and len(clean(str(op.id))) > value_width:
        narrow = True
    if op.progress_path and width is not None:
        room = width - len("Progress path: ") if narrow else value_width or 0
        rows[-1] = ("Progress path", Text(fold_at_slashes(clean(op.progress_path), room)))
    parts: list[RenderableType] = []
    if narrow:
        for label, value in rows:
            line = Text(f"{label}: ", style="bold")
            line.append_text(value if isinstance(value, Text) else Text(str(value)))
            line.overflow = "fold"
            parts.append(line)
    else:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in rows:
            grid.add_row(label, value)
        parts.append(grid)
    if op.error_items and not (all_errors and len(op.error_items) > TABLE_ITEMS_MAX):
        parts.append(error_items_table(op, all_errors=all_errors))
    return Group(*parts)


def fold_at_slashes(url: str, width: int) -> str:
    """A URL broken into lines of at most `width` characters, each break right after a '/'
    (a segment longer than the width stays whole on its own line: the terminal wraps it)."""
    if len(url) <= width or width <= 0:
        return url
    lines, line = [], ""
    for segment in re.findall(r"[^/]*/|[^/]+$", url):
        if line and len(line) + len(segment) > width:
            lines.append(line)
            line = ""
        line += segment
    lines.append(line)
    return "\n".join(lines)


# Above this many error items, `--errors` prints plain aligned lines instead of a Rich table:
# Rich measures and wraps every cell, which takes minutes and hundreds of MB for a
# hundred thousand items (bench/README.md, "Measurements behind the code").
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


# The several-id table's layouts, most complete first; the first that fits the width is used.
# Whole columns go (the bar before the percentage) and the name shrinks (the only cell that may
# end in "…") so that no number, percentage, status or id is ever cut. The full id, which a user
# must copy to act on, is worth more than the bar and the duration; the short id (`e3e70682…`)
# is the last resort before the counts go.
_FULL = {"name": 28, "bar": 6, "duration": True, "id": True, "rows": True, "errors": True, "progress": True}
_LAYOUTS: tuple[dict[str, Any], ...] = (
    _FULL,
    {**_FULL, "bar": 0},
    {**_FULL, "bar": 0, "duration": False},
    {**_FULL, "id": False},
    {**_FULL, "id": False, "bar": 0},
    {**_FULL, "id": False, "bar": 0, "duration": False},
    {**_FULL, "id": False, "bar": 0, "duration": False, "name": 14},
    {**_FULL, "id": False, "bar": 0, "duration": False, "name": 14, "rows": False},
    {**_FULL, "id": False, "bar": 0, "duration": False, "name": 8, "rows": False},
    {**_FULL, "id": False, "bar": 0, "duration": False, "name": 8, "rows": False, "errors": False},
    {**_FULL, "id": False, "bar": 0, "duration": False, "name": 8, "rows": False, "errors": False, "progress": False},
)


def operations_table(ops: list[BulkOperation], now: datetime, width: int = 80) -> RenderableType:
    """Several operations, a row each, fitted to `width` by dropping whole columns."""
    from rich.cells import cell_len

    names = [fmt.name(op) for op in ops]
    ids = [clean(str(op.id)) for op in ops]
    statuses = [status_text(op) for op in ops]
    rows = [
        f"{fmt.count(op.processed_rows)}/{fmt.count(op.estimated_total_rows)}" if op.counts_known else fmt.UNKNOWN
        for op in ops
    ]
    errors = [fmt.count(op.known_error_count) for op in ops]
    durations = [fmt.duration(fmt.elapsed(op, now)) for op in ops]
    percents = [_progress_label(op) for op in ops]

    def widest(header: str, cells: list[str]) -> int:
        return max([cell_len(header), *(cell_len(c) for c in cells)])

    def columns_for(lay: dict[str, Any]) -> list[int]:
        shown_ids = ids if lay["id"] else [fmt.short_id(i) for i in ids]
        cols = [
            min(lay["name"], max(4, widest("Name", names))),
            widest("ID", shown_ids),
            widest("Status", [t.plain for t in statuses]),
        ]
        if lay["progress"]:
            bar = lay["bar"] + 1 if lay["bar"] else 0  # only a percentage gets a bar before it
            cols.append(max(cell_len("Progress"), *(bar * ("%" in p) + cell_len(p) for p in percents)))
        if lay["rows"]:
            cols.append(widest("Rows", rows))
        if lay["errors"]:
            cols.append(widest("Errors", errors))
        if lay["duration"]:
            cols.append(widest("Duration", durations))
        return cols

    def need(lay: dict[str, Any]) -> int:
        cols = columns_for(lay)
        return sum(cols) + len(cols) - 1

    layout = next((lay for lay in _LAYOUTS if need(lay) <= width), _LAYOUTS[-1])
    # No rules and one space between columns, as `kubectl get` does.
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    name_width = columns_for(layout)[0]
    table.add_column("Name", overflow="ellipsis", no_wrap=True, width=name_width)
    table.add_column("ID", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    if layout["progress"]:
        table.add_column("Progress", no_wrap=True)
    if layout["rows"]:
        table.add_column("Rows", justify="right", no_wrap=True)
    if layout["errors"]:
        table.add_column("Errors", justify="right", no_wrap=True)
    if layout["duration"]:
        table.add_column("Duration", justify="right", no_wrap=True)
    for i, op in enumerate(ops):
        cells: list[RenderableType] = [
            Text(names[i]),
            Text(ids[i] if layout["id"] else fmt.short_id(ids[i])),
            statuses[i],
        ]
        if layout["progress"]:
            cells.append(progress_bar(op, width=layout["bar"]))
        if layout["rows"]:
            cells.append(Text(rows[i]))
        if layout["errors"]:
            cells.append(Text(errors[i]))
        if layout["duration"]:
            cells.append(Text(durations[i]))
        table.add_row(*cells)
    return table


def _progress_label(op: BulkOperation) -> str:
    """The text part of the Progress cell (without the bar), for measuring."""
    cell = progress_bar(op, width=0)
    return cell.plain if isinstance(cell, Text) else ""
