"""The watch table for a terminal: one Rich renderable from the watched operations (no I/O)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bulkop.models import Status
from bulkop.progress import fraction_of
from bulkop.render import fmt
from bulkop.render.watch_common import (
    elapsed_seconds,
    eta_text,
    full_id,
    label,
    percent_text,
    rate_text,
    rows_text,
    state,
    status_counts,
    totals,
)
from bulkop.sanitize import clean
from bulkop.verdict import error_count

if TYPE_CHECKING:
    from bulkop.watch.engine import Tracked

# Which rows to show first when there are more operations than lines.
_PRIORITY = {"error": 0, "retrying": 1, "failed": 2, "processing": 3, "queued": 4, "waiting": 5, "completed": 6}


def bar(t: Tracked, width: int = 20, now: float | None = None) -> RenderableType:
    # The pulse of an unknown total moves with the watch's clock (a test's clock stands still).
    pulse_at = time.monotonic() if now is None else now
    op = t.op
    if op is None or not op.counts_known:
        # No counts (an API that says only finished or not): an indeterminate bar, never a fake percentage.
        if op is not None and op.finished:
            return ProgressBar(total=1, completed=1, width=width, finished_style="green")
        return ProgressBar(total=None, width=width, pulse=True, animation_time=pulse_at)
    if op.status is Status.COMPLETED:
        return ProgressBar(total=1, completed=1, width=width, finished_style="green")
    f = fraction_of(op.processed_rows or 0, op.estimated_total_rows or 0)
    if f.value is None:
        return ProgressBar(total=None, width=width, pulse=True, animation_time=pulse_at)
    style = "red" if op.status is Status.FAILED else "cyan"
    return ProgressBar(total=1, completed=f.value, width=width, complete_style=style)


def _ok_err(t: Tracked) -> Text:
    op = t.op
    if op is None or not op.counts_known:
        return Text("-")
    errors = error_count(op)
    return Text(f"{fmt.count(op.success_count)}/{fmt.count(errors)}", style="red" if errors else "")


def _name(t: Tracked, with_id: bool) -> str:
    """The Operation cell: the name; without a name, the id (when no ID column shows it)."""
    if t.op is not None and t.op.name:
        return label(t)
    if with_id:
        return "-"  # as `get` shows an unnamed operation; its id is in the ID column
    return full_id(t)


def _elapsed(t: Tracked, now: float, wall: datetime | None) -> Text:
    return Text(fmt.duration(elapsed_seconds(t, now)))


# (header, drop rank: the highest is dropped first when the terminal is narrow, justify, cell)
# Operation and Status are never dropped; a number, percentage, status or id is never cut:
# its whole column goes first. Only a long name is shortened (with an ellipsis).
_Cell = Callable[["Tracked", float, datetime | None], RenderableType]
_COLUMNS: list[tuple[str, int, Literal["left", "right"], _Cell]] = [
    ("Operation", 0, "left", lambda t, now, wall: Text(label(t))),
    ("ID", 5, "left", lambda t, now, wall: Text(full_id(t))),
    ("Status", 0, "left", lambda t, now, wall: Text(state(t), style=fmt.STATUS_STYLE.get(state(t), ""))),
    ("Progress", 3, "left", lambda t, now, wall: bar(t, now=now)),
    ("%", 1, "right", lambda t, now, wall: Text(percent_text(t).replace(" (overrun)", "+"))),
    ("Rows", 7, "right", lambda t, now, wall: Text(rows_text(t))),
    ("Rate", 8, "right", lambda t, now, wall: Text(rate_text(t))),
    ("ETA", 2, "right", lambda t, now, wall: Text(eta_text(t, now))),
    ("OK/Err", 9, "right", lambda t, now, wall: _ok_err(t)),
    ("Elapsed", 4, "right", _elapsed),
]
NAME_MIN, NAME_MAX = 8, 28  # the Operation column: shortened down to this, never wider than that
BAR_MIN, BAR_MAX = 10, 24
LOW_VALUE = 2  # columns ranked above this are dropped before a name is shortened


ID_RANK_ALONE = 2  # one operation: its id (what the next command needs) outranks bar and elapsed


def _fit_columns(
    widths: dict[str, int], width: int, without: frozenset[str] = frozenset(), *, alone: bool = False
) -> tuple[list[int], dict[str, int]]:
    """Which columns fit the terminal (dropping whole columns, least useful first), and the
    width of each: spare room goes to the name first, then to the bar."""
    keep = [i for i in range(len(_COLUMNS)) if _COLUMNS[i][0] not in without]

    def rank_of(i: int) -> int:
        return ID_RANK_ALONE if alone and _COLUMNS[i][0] == "ID" else _COLUMNS[i][1]

    def floor(i: int, whole_name: bool = False) -> int:
        header = _COLUMNS[i][0]
        if header == "Operation":  # a name may be shortened; an id in its place may not
            return widths[header] if whole_name else min(widths[header], max(NAME_MIN, widths["_id"]))
        if header == "Progress":
            return BAR_MIN
        return widths[header]

    def need(cols: list[int], whole_name: bool = False) -> int:
        return sum(floor(i, whole_name) for i in cols) + len(cols) - 1  # one space between columns

    for i in sorted(keep, key=lambda i: -rank_of(i)):
        rank = rank_of(i)
        # The least useful columns (counts, rate) give way to a whole name; the rest only
        # when even a shortened name leaves no room.
        if need(keep, whole_name=rank > LOW_VALUE) <= width or rank == 0:
            break
        keep.remove(i)
    sized = {_COLUMNS[i][0]: floor(i) for i in keep}
    spare = width - need(keep)
    grow = min(spare, max(0, widths["Operation"] - sized["Operation"]))
    sized["Operation"] += grow
    spare -= grow
    if "Progress" in sized:
        sized["Progress"] += max(0, min(spare, BAR_MAX - BAR_MIN))
    return keep, sized


def _plain(cell: RenderableType) -> str:
    return cell.plain if isinstance(cell, Text) else ""


def _phrases(parts: Sequence[Text], width: int, sep: str) -> list[Text]:
    """Lines of whole phrases: a footer wraps between phrases, never inside one."""
    lines: list[Text] = []
    line = Text()
    for part in parts:
        if not part.plain:
            continue
        if line.plain and len(line.plain) + len(sep) + len(part.plain) > width:
            lines.append(line)
            line = Text()
        if line.plain:
            line.append(sep)
        line.append_text(part)
    if line.plain:
        lines.append(line)
    return lines


def watch_table(
    ops: Sequence[Tracked],
    now: float,
    max_rows: int,
    last_event: tuple[str, str] | str | None,
    width: int = 80,
    wall: datetime | None = None,
) -> RenderableType:
    shown = _pick_rows(ops, max_rows)
    named = any(t.op is not None and t.op.name for t in shown)
    rows = [{header: cell(t, now, wall) for header, _, _, cell in _COLUMNS} for t in shown]

    def layout(with_id: bool) -> tuple[list[int], dict[str, int]]:
        for t, row in zip(shown, rows, strict=True):
            row["Operation"] = Text(_name(t, with_id))
        widths = {header: max([len(header), *(len(_plain(r[header])) for r in rows)]) for header, _, _, _ in _COLUMNS}
        widths["Operation"] = min(widths["Operation"], NAME_MAX if with_id else 10**6)
        unnamed = [len(_plain(r["Operation"])) for t, r in zip(shown, rows, strict=True) if not (t.op and t.op.name)]
        widths["_id"] = 0 if with_id else max(unnamed, default=0)
        without = frozenset() if with_id else frozenset({"ID"})
        return _fit_columns(widths, max(20, width), without, alone=len(shown) == 1)

    # With names, an ID column when there is room; without one (or without names), the
    # Operation column shows what has no name by its id.
    columns, sized = layout(with_id=named)
    if named and "ID" not in sized:
        columns, sized = layout(with_id=False)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold", padding=(0, 1, 0, 0))
    for i in columns:
        header, _, justify, _cell = _COLUMNS[i]
        overflow: Literal["ellipsis", "crop"] = "ellipsis" if header == "Operation" else "crop"
        table.add_column(header, justify=justify, no_wrap=True, width=sized[header], overflow=overflow)
    for t, row in zip(shown, rows, strict=True):
        cells = []
        for i in columns:
            header = _COLUMNS[i][0]
            cells.append(bar(t, sized[header], now) if header == "Progress" else row[header])
        table.add_row(*cells)
    parts: list[RenderableType] = [table]
    hidden = len(ops) - len(shown)
    if len(ops) > 1:
        sums = totals(ops)
        # The sums leave out what has no counts (an API that sends none, not yet fetched), and
        # each number the operations that do not report it: say so, never show an invented 0.
        counted = sums.counted
        if counted == 0:
            with_counts = " (none with counts yet)" if any(t.op is None for t in ops) else " (none with counts)"
        else:
            with_counts = f" ({counted:,} with counts)" if counted < len(ops) else ""
        summary = [Text.assemble(("All ", "bold"), f"{len(ops):,} operations{with_counts}")]
        if sums.processed is not None:
            if sums.estimated is not None:
                agg = fraction_of(sums.processed, sums.estimated)
                summary.append(Text(f"{fmt.count(sums.processed)}/{fmt.count(sums.estimated)} rows"))
                summary.append(Text(fmt.percent(agg) if agg.value is not None else ""))
            else:  # one has no total: a sum of totals (and a percentage) would be invented
                summary.append(Text(f"{fmt.count(sums.processed)} rows"))
        summary.append(Text(fmt.rate(sums.rate) if sums.rate is not None else ""))
        if sums.ok is not None:
            summary.append(Text(f"{sums.ok:,} ok{_of(sums.ok_from, counted)}", style="green"))
        if sums.errors is not None:
            errors = sums.errors
            summary.append(Text(f"{errors:,} errors{_of(sums.errors_from, counted)}", style="red" if errors else ""))
        parts += _phrases(summary, width, "  ")
        counts = [Text(p, style="dim") for p in status_counts(ops).split(" · ")]
        if hidden:
            counts.append(Text(f"(+{hidden:,} more not shown)", style="dim"))
        parts += _phrases(counts, width, " · ")
    if last_event:
        parts.append(notice(last_event, width))
    return Group(*parts)


def _of(reporting: int, counted: int) -> str:
    """`(2 of 3 report it)` when a sum leaves out operations that have counts but not this one."""
    return f" ({reporting:,} of {counted:,} report it)" if reporting < counted else ""


def notice(event: tuple[str, str] | str, width: int) -> Text:
    """`name id: message`: the message is shortened to the width, the id never (a notice
    too long even so wraps rather than cut it)."""
    who, message = ("", event) if isinstance(event, str) else event
    if not who:
        return Text(clean(message, max_len=max(1, width)), style="magenta", no_wrap=True)
    room = width - len(who) - 2
    if room < 12:
        return Text(f"{who}: {message}", style="magenta")
    return Text(f"{who}: {clean(message, max_len=room)}", style="magenta", no_wrap=True)


def _pick_rows(ops: Sequence[Tracked], max_rows: int) -> list[Tracked]:
    """All rows if they fit; otherwise the most important and most recently active ones."""
    if len(ops) <= max_rows:
        return list(ops)
    ranked = sorted(ops, key=lambda t: (_PRIORITY.get(state(t), 9), -(t.changed_at or 0.0)))
    keep = set(id(t) for t in ranked[: max(1, max_rows)])
    return [t for t in ops if id(t) in keep]
