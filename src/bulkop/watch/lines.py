"""The watch view for CI and pipes: plain, throttled, timestamped lines on stderr, and in GitHub
Actions its annotations and step summary."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import IO

from bulkop.errors import BulkopError
from bulkop.progress import fraction
from bulkop.render import fmt
from bulkop.render.watch_common import (
    elapsed_seconds,
    full_id,
    label,
    operation_line,
    outcome,
    rows_text,
    status_counts,
    verdict_line,
    who,
)
from bulkop.sanitize import clean, markdown_cell
from bulkop.verdict import Kind, error_count, title
from bulkop.watch.engine import Display, Tracked

HEARTBEAT = 60.0  # seconds: never silent longer than this
HEARTBEAT_DETAIL = 5  # list operations individually in a heartbeat up to this many


class LinesDisplay(Display):
    """A line when the status changes, at each 10 % step, on errors, and a heartbeat."""

    def __init__(
        self, stream: IO[str], wall: Callable[[], datetime], *, github: bool = False, step_summary: str | None = None
    ) -> None:
        self.stream = stream
        self.wall = wall
        self.github = github
        self.step_summary = step_summary
        self._last_status: dict[str, str] = {}
        self._last_step: dict[str, int] = {}
        self._last_line = 0.0
        self._pending: list[str] = []

    def _write(self, text: str, now: float) -> None:
        self._pending.append(f"{fmt.rfc3339(self.wall())} {clean(text)}\n")
        self._last_line = now

    def _flush(self) -> None:
        """The lines of one pass of the watch loop in one write: a write (and flush) per line
        handed the interpreter to the polling threads and back each time, a tenth of the CPU
        of a watch of 1,000 operations. Every pass ends with a tick, so no line waits longer
        than its pass."""
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self.stream.write(text)
            self.stream.flush()

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        self._last_line = now
        noun = "operation" if len(ops) == 1 else "operations"
        self._write(f"watching {len(ops)} {noun}", now)
        self._flush()

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        op = t.op
        assert op is not None
        status = op.status.value
        f = fraction(op)
        step = -1 if f.value is None else math.floor(f.value * 10 + 1e-9)
        if t.done:  # finished, or ended by --until / --fail-if
            self._write(self._final_line(t, now), now)
            return
        if self._last_status.get(t.key) != status or step > self._last_step.get(t.key, -1):
            self._last_status[t.key] = status
            self._last_step[t.key] = step
            self._write(operation_line(t, now), now)

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        if retry_in is None:
            self._write(f"{who(t)} error: {err.message}", now)
        elif t.failures & (t.failures - 1) == 0:  # 1st, 2nd, 4th, 8th… failure: no flood
            self._write(f"{who(t)} poll failed ({t.failures}x), retrying in {retry_in:.1f}s: {err.message}", now)

    def _final_line(self, t: Tracked, now: float) -> str:
        took = elapsed_seconds(t, now)
        how = "took" if t.op is not None and t.op.started_at is not None else "watched"
        return f"{operation_line(t, now)} ({how} {fmt.duration(took)})"

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        if now - self._last_line >= HEARTBEAT - 1.0:  # ticks come up to 1 s apart
            active = [t for t in ops if not t.done]
            if len(active) <= HEARTBEAT_DETAIL:
                for t in active:
                    self._write(operation_line(t, now), now)
            else:
                self._write(f"still watching: {status_counts(ops)}", now)
        self._flush()

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        for t in ops:
            if not t.done and outcome in ("interrupted", "terminated"):
                # The state only: the one `bulkop: interrupted` line says what happened.
                self._write(f"{operation_line(t, now)} (last known state)", now)
        if len(ops) > 1:
            self._write(f"summary: {status_counts(ops)}", now)
        for t in ops:  # one line per operation that makes the watch fail: which, why, what next
            if line := verdict_line(t):
                self._write(line, now)
        self._flush()
        if self.github:
            self._github(ops)
        if self.step_summary:
            self._write_step_summary(ops, now)
        self._flush()

    # ------------------------------------------------------------------ GitHub Actions

    def _github(self, ops: Sequence[Tracked]) -> None:
        for t in ops:
            op = t.op
            if line := verdict_line(t):
                name = title(t.verdict) if t.verdict is not None else "bulkop: error"
                level = "warning" if t.verdict is not None and t.verdict.passed else "error"  # --fail-fast's
                level = "notice" if t.verdict is not None and t.verdict.kind is Kind.UNTIL_MET else level
                self.stream.write(f"::{level} title={_gh_property(name)}::{_gh_escape(line)}\n")
            if op is not None and op.error_items:
                self.stream.write(f"::group::{_gh_escape(f'Error items of {who(t)} ({len(op.error_items):,})')}\n")
                # Item ids are the server's text: a line starting with `::` would be obeyed as a
                # workflow command. clean() leaves no line break inside an item, and the "- "
                # prefix keeps every line from starting with one.
                for item in op.error_items:
                    coll = f"{clean(item.collection)}/" if item.collection else ""
                    self.stream.write(f"- {coll}{clean(item.id)}\n")
                self.stream.write("::endgroup::\n")
        self.stream.flush()

    def _write_step_summary(self, ops: Sequence[Tracked], now: float) -> None:
        lines = [
            "### bulkop watch",
            "",
            "| Operation | ID | Status | Rows | Errors | Result |",
            "|---|---|---|---|---|---|",
        ]
        for t in ops:
            op = t.op
            errors = fmt.count(error_count(op)) if op is not None and op.counts_known else "-"
            v = t.verdict
            result = "-" if v is None else ("ok: " if v.passed else "**not ok**: ") + _md(clean(v.reason))
            lines.append(
                f"| {_md(label(t))} | {_md(full_id(t))} | {outcome(t)} | {rows_text(t)} | {errors} | {result} |"
            )
        from bulkop.files import append_regular

        try:
            append_regular(self.step_summary, "\n".join(lines) + "\n\n")  # type: ignore[arg-type]
        except OSError as e:
            self._write(f"cannot write GITHUB_STEP_SUMMARY: {e.strerror}", now)


def _gh_escape(text: str) -> str:
    """Workflow-command data escaping, so server text cannot end or forge an annotation."""
    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """A workflow command's property value: `:` and `,` escaped too (they end the value)."""
    return _gh_escape(text).replace(":", "%3A").replace(",", "%2C")


def _md(text: str) -> str:
    return markdown_cell(text)  # Markdown and HTML escaped: server text is shown, not rendered
