"""The watch view for a terminal: a Rich live table, bounded refresh, a final frame that stays."""

from __future__ import annotations

import time
from collections.abc import Sequence

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


def watch_table(ops: Sequence[Tracked], now: float, max_rows: int, last_event: str | None) -> RenderableType:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("Operation", overflow="ellipsis", no_wrap=True, max_width=28)
    table.add_column("Status", no_wrap=True)
    table.add_column("Progress", no_wrap=True)
    table.add_column("Rows", justify="right", no_wrap=True)
    table.add_column("%", justify="right", no_wrap=True)
    table.add_column("Rate", justify="right", no_wrap=True)
    table.add_column("ETA", justify="right", no_wrap=True)
    table.add_column("OK/Err", justify="right", no_wrap=True)
    table.add_column("Elapsed", justify="right", no_wrap=True)
    shown = _pick_rows(ops, max_rows)
    for t in shown:
        s = state(t)
        op = t.op
        ok_err = (
            f"{fmt.count(op.success_count)}/{fmt.count(op.error_count)}" if op is not None and op.counts_known else "-"
        )
        table.add_row(
            Text(label(t)),
            Text(s, style=STATE_STYLE.get(s, "")),
            bar(t),
            Text(rows_text(t)),
            Text(percent_text(t)),
            Text(fmt.rate(t.speed()) if op is not None and op.counts_known and not op.finished else "-"),
            Text(eta_text(t, now)),
            Text(ok_err, style="red" if op is not None and op.error_count else ""),
            Text(fmt.duration(elapsed_seconds(t, now))),
        )
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
        parts.append(Text(status_counts(ops) + (f"  (+{hidden:,} more not shown)" if hidden else ""), style="dim"))
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
        return watch_table(self._ops, now, self._max_rows(), self._last_event)

    def _draw(self, now: float, force: bool = False) -> None:
        if self.live is None:
            return
        wall = time.monotonic()
        if force or wall - self._last_draw >= MIN_REFRESH:
            self._last_draw = wall
            self.live.update(self._render(now), refresh=True)

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
