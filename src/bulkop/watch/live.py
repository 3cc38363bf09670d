"""The watch view for a terminal: a Rich live table, bounded refresh, a final frame that stays."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from bulkop.errors import BulkopError
from bulkop.render.watch_common import verdict_line, who
from bulkop.render.watch_table import watch_table
from bulkop.sanitize import clean
from bulkop.verdict import Kind
from bulkop.watch.engine import Display, Tracked

# Seconds between redraws: as often as a person reads a changing table (polls come about once
# a second per operation), not as often as answers arrive. Ten a second cost 9 % of a core
# above lines mode at 100 operations (bench/README.md, "Measurements behind the code").
MIN_REFRESH = 0.5


class LiveDisplay(Display):
    """Redraws at most twice a second (once beyond 100 operations); the last frame stays on
    screen when it ends."""

    def __init__(self, console: Console, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.console = console
        self.wall = wall
        self.live: Live | None = None
        self._ops: Sequence[Tracked] = ()
        self._last_draw = 0.0
        self._last_event: tuple[str, str] | None = None  # (which operation, what happened)
        self._event_key: str | None = None  # whose notice it is: cleared once it answers again

    def _max_rows(self) -> int:
        return max(3, self.console.size.height - 6)

    def _render(self, now: float) -> RenderableType:
        return watch_table(self._ops, now, self._max_rows(), self._last_event, self.console.size.width, self.wall())

    def _draw(self, now: float, force: bool = False) -> None:
        if self.live is None:
            return
        wall = time.monotonic()
        # Redraws cost more with many operations (each frame sorts and sums them all), and
        # polls of many land continuously: beyond 100, a frame a second, as often as anyone
        # reads a table that size.
        every = MIN_REFRESH if len(self._ops) <= 100 else 1.0
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
        if t.key == self._event_key:  # it answered: its "failing, retrying" notice is over
            self._last_event = self._event_key = None
            self._draw(now, force=True)
            return
        if changed or t.done:
            self._draw(now)

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        when = f", retrying in {retry_in:.1f}s" if retry_in is not None else ""
        self._last_event = (who(t), clean(f"{err.message}{when}", max_len=200))
        self._event_key = t.key
        self._draw(now)

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        self._draw(now)

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        if self.live is None:
            return
        # The frame is the last known state; what ended the watch is said once, below it
        # (a verdict line per operation, or the one `bulkop: interrupted` line).
        if outcome != "done" or not any(t.failures and not t.done for t in ops):
            self._last_event = None
        try:
            self.live.update(self._render(now), refresh=True)
        finally:
            self.live.stop()
            self.live = None
        for t in ops:  # which operation failed the watch, why, and what to run next
            if line := verdict_line(t, errors=False):  # errors: one `bulkop: error:` line each
                # Wrapped between words by Rich (an id fits on a line: it is never split), not
                # cut by the terminal in the middle of a word.
                met = t.verdict is not None and t.verdict.kind is Kind.UNTIL_MET  # --until: a success
                self.console.print(Text(line, style="green" if met else "red"), overflow="fold")
