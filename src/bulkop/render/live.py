"""The watch view for a terminal: a Rich live table, bounded refresh, a final frame that stays."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bulkop.errors import BulkopError
from bulkop.models import Status
from bulkop.progress import fraction_of
from bulkop.render import fmt
from bulkop.render.watch_common import (
    elapsed_seconds,
    eta_text,
    label,
    percent_text,
    rows_text,
    state,
    status_counts,
    totals,
)
from bulkop.sanitize import clean
from bulkop.watcher import Tracked

MIN_REFRESH = 0.1  # seconds between redraws: at most 10 per second
STATE_STYLE = {
    "queued": "yellow",
    "processing": "cyan",
    "completed": "green",
    "failed": "bold red",
    "error": "bold red",
    "retrying": "magenta",
    "waiting": "dim",
}
# Which rows to show first when there are more operations than lines.
_PRIORITY = {"error": 0, "retrying": 1, "failed": 2, "processing": 3, "queued": 4, "waiting": 5, "completed": 6}


def bar(t: Tracked, width: int = 20) -> RenderableType:
    op = t.op
    if op is None or not op.counts_known:
        # SAYMON reports only finished or not: an indeterminate bar, never a fake percentage.
        if op is not None and op.finished:
            return ProgressBar(total=1, completed=1, width=width, finished_style="green")
        return ProgressBar(total=None, width=width, pulse=True, animation_time=time.monotonic())
    if op.status is Status.COMPLETED:
        return ProgressBar(total=1, completed=1, width=width, finished_style="green")
    f = fraction_of(op.processed_rows or 0, op.estimated_total_rows or 0)
    if f.value is None:
        return ProgressBar(total=None, width=width, pulse=True, animation_time=time.monotonic())
    style = "red" if op.status is Status.FAILED else "cyan"
    return ProgressBar(total=1, completed=f.value, width=width, complete_style=style)


def _short_rate(t: Tracked) -> str:
    op = t.op
    speed = t.speed()
    if op is None or not op.counts_known or op.finished or speed is None:
        return "-"
    return f"{speed:,.0f}/s" if speed >= 10 else f"{speed:.1f}/s"


def _ok_err(t: Tracked) -> Text:
    op = t.op
    if op is None or not op.counts_known:
        return Text("-")
    return Text(f"{fmt.count(op.success_count)}/{fmt.count(op.error_count)}", style="red" if op.error_count else "")


# (header, priority: lower is dropped last, minimum width, justify, cell)
_COLUMNS: list[tuple[str, int, int, str, Callable[[Tracked, float], RenderableType]]] = [
    ("Operation", 0, 14, "left", lambda t, now: Text(label(t))),
    ("Status", 0, 10, "left", lambda t, now: Text(state(t), style=STATE_STYLE.get(state(t), ""))),
    ("Progress", 3, 10, "left", lambda t, now: bar(t)),
    ("%", 1, 4, "right", lambda t, now: Text(percent_text(t).replace(" (overrun)", "+"))),
    ("Rows", 4, 13, "right", lambda t, now: Text(rows_text(t))),
    ("Rate", 5, 8, "right", lambda t, now: Text(_short_rate(t))),
    ("ETA", 2, 6, "right", lambda t, now: Text(eta_text(t, now))),
    ("OK/Err", 6, 11, "right", lambda t, now: _ok_err(t)),
    ("Elapsed", 2, 7, "right", lambda t, now: Text(fmt.duration(elapsed_seconds(t, now)))),
]


def _fit_columns(width: int) -> tuple[list[int], int]:
    """Which columns fit the terminal (dropping the least useful first), and the bar's width."""
    keep = list(range(len(_COLUMNS)))
    by_priority = sorted(keep, key=lambda i: -_COLUMNS[i][1])

    def need(cols: list[int]) -> int:
        return sum(_COLUMNS[i][2] for i in cols) + (len(cols) - 1) + 14  # gaps; Operation grows to ~28

    for i in by_priority:
        if need(keep) <= width or _COLUMNS[i][1] == 0:
            break
        keep.remove(i)
    spare = width - need(keep)
    return keep, max(10, min(24, 10 + spare))


def watch_table(
    ops: Sequence[Tracked], now: float, max_rows: int, last_event: str | None, width: int = 80
) -> RenderableType:
    columns, bar_width = _fit_columns(width)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold", padding=(0, 1, 0, 0))
    for i in columns:
        header, _, minimum, justify, _cell = _COLUMNS[i]
        if header == "Operation":
            table.add_column(header, overflow="ellipsis", no_wrap=True, min_width=minimum, max_width=28, ratio=1)
        else:
            table.add_column(header, justify=justify, no_wrap=True, min_width=minimum)  # type: ignore[arg-type]
    shown = _pick_rows(ops, max_rows)
    for t in shown:
        cells = []
        for i in columns:
            cell = _COLUMNS[i][4](t, now)
            if _COLUMNS[i][0] == "Progress":
                cell = bar(t, bar_width)
            cells.append(cell)
        table.add_row(*cells)
    parts: list[RenderableType] = [table]
    hidden = len(ops) - len(shown)
    if len(ops) > 1:
        processed, estimated, ok, errors, rate = totals(ops)
        agg = fraction_of(processed, estimated)
        summary = Text.assemble(
            ("All ", "bold"),
            f"{len(ops):,} operations  ",
            f"{fmt.count(processed)}/{fmt.count(estimated)} rows  ",
            f"{fmt.percent(agg)}  " if agg.value is not None else "",
            f"{fmt.rate(rate)}  " if rate is not None else "",
            (f"{ok:,} ok ", "green"),
            (f"{errors:,} errors", "red" if errors else ""),
        )
        parts.append(summary)
        more = f"  (+{hidden:,} more not shown)" if hidden else ""
        parts.append(Text(status_counts(ops) + more, style="dim"))
    if last_event:
        parts.append(Text(last_event, style="magenta"))
    return Group(*parts)


def _pick_rows(ops: Sequence[Tracked], max_rows: int) -> list[Tracked]:
    """All rows if they fit; otherwise the most important and most recently active ones."""
    if len(ops) <= max_rows:
        return list(ops)
    ranked = sorted(ops, key=lambda t: (_PRIORITY.get(state(t), 9), -(t.changed_at or 0.0)))
    keep = set(id(t) for t in ranked[: max(1, max_rows)])
    return [t for t in ops if id(t) in keep]


class LiveDisplay:
    """Redraws at most 10 times a second; the last frame stays on screen when it ends."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self._ops: Sequence[Tracked] = ()
        self._last_draw = 0.0
        self._last_event: str | None = None

    def _max_rows(self) -> int:
        return max(3, self.console.size.height - 6)

    def _render(self, now: float) -> RenderableType:
        return watch_table(self._ops, now, self._max_rows(), self._last_event, self.console.size.width)

    def _draw(self, now: float, force: bool = False) -> None:
        if self.live is None:
            return
        wall = time.monotonic()
        # Redraws cost more with many rows, and polls of many operations land continuously.
        every = MIN_REFRESH if len(self._ops) <= 100 else 0.5
        if force or wall - self._last_draw >= every:
            self._last_draw = wall
            self.live.update(self._render(now), refresh=True)

    def log(self, line: str) -> None:
        """A line above the live table (for --debug), without tearing the frame."""
        if self.live is not None:
            self.live.console.print(Text(clean(line)))
        else:
            self.console.print(Text(clean(line)))

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        self._ops = ops
        self.live = Live(
            self._render(now),
            console=self.console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
        )
        self.live.start()

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        if changed or t.done:
            self._draw(now)

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        when = f", retrying in {retry_in:.1f}s" if retry_in is not None else ""
        self._last_event = clean(f"{label(t)}: {err.message}{when}", max_len=200)
        self._draw(now)

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        self._draw(now)

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        if self.live is None:
            return
        if outcome not in ("done", "fail-fast"):
            self._last_event = f"{outcome}: last known state shown"
        elif not any(t.failures and not t.done for t in ops):
            self._last_event = None
        try:
            self.live.update(self._render(now), refresh=True)
        finally:
            self.live.stop()
            self.live = None
