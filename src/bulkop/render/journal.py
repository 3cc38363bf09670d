"""Views of the journal: the `list` table and text, and the throughput sparkline of `get`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from bulkop.journal import Entry
from bulkop.models import Status
from bulkop.render import fmt
from bulkop.sanitize import clean

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 32


def _progress(e: Entry) -> str:
    if e.processed_rows is None:
        return "finished" if e.finished else fmt.UNKNOWN
    if e.estimated_total_rows:
        pct = min(100, int(100 * max(0, e.processed_rows) / e.estimated_total_rows))
        return f"{pct}% {fmt.count(e.processed_rows)}/{fmt.count(e.estimated_total_rows)}"
    return fmt.count(e.processed_rows)


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _status_text(status: str | None) -> Text:
    try:
        style = fmt.STATUS_STYLE[Status(status)]
    except ValueError:
        style = ""
    return Text(status or "-", style=style)


def entries_table(entries: Sequence[Entry], now: datetime) -> RenderableType:
    """`bulkop list` in a terminal: one row per operation, newest first."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "PROFILE", "PROVIDER", "NAME", "STATUS", "PROGRESS", "DURATION", "LAST SEEN"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS", "LAST SEEN"))
    wall = now.timestamp()
    for e in entries:
        table.add_row(
            Text(clean(e.id)),
            Text(clean(e.profile or "-")),
            Text(clean(e.provider)),
            Text(clean(e.name) if e.name else "-"),
            _status_text(e.status),
            Text(_progress(e)),
            Text(fmt.duration(e.duration(wall))),
            Text(fmt.relative(_when(e.last_seen), now)),
        )
    return table


def entries_text(entries: Sequence[Entry], now: float) -> str:
    """`bulkop list` piped: tab-separated rows, RFC 3339 times, a header line first."""
    lines = ["id\tprofile\tprovider\tname\tstatus\tprocessed\testimated\tduration_s\tlast_seen"]
    for e in entries:
        duration = e.duration(now)
        lines.append(
            "\t".join(
                (
                    clean(e.id),
                    clean(e.profile or "-"),
                    clean(e.provider),
                    clean(e.name).replace("\t", " ") if e.name else "-",
                    e.status or "-",
                    "-" if e.processed_rows is None else str(e.processed_rows),
                    "-" if e.estimated_total_rows is None else str(e.estimated_total_rows),
                    "-" if duration is None else str(round(duration)),
                    fmt.rfc3339(_when(e.last_seen)),
                )
            )
        )
    return "\n".join(lines)


def throughput(samples: Sequence[tuple[float, int]], width: int = SPARK_WIDTH) -> list[float]:
    """Rows/s in `width` equal slices of the sampled span (each slice: the slope across it)."""
    if len(samples) < 2:
        return []
    t0, t1 = samples[0][0], samples[-1][0]
    span = t1 - t0
    if span <= 0:
        return []
    width = max(1, min(width, len(samples) - 1))
    step = span / width

    def rows_at(t: float) -> float:
        # Linear between samples: processed rows at any moment of the span.
        for (ta, ra), (tb, rb) in zip(samples, samples[1:], strict=False):
            if ta <= t <= tb:
                return ra if tb == ta else ra + (rb - ra) * (t - ta) / (tb - ta)
        return float(samples[-1][1])

    points = [rows_at(t0 + i * step) for i in range(width + 1)]
    return [max(0.0, (b - a) / step) for a, b in zip(points, points[1:], strict=False)]


def sparkline(values: Sequence[float]) -> str:
    """`▁▃▅█▇▅`: each value as a bar, scaled to the largest."""
    top = max(values, default=0.0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in values)


def throughput_view(samples: Sequence[tuple[float, int]]) -> Text | None:
    """`Throughput  ▁▃▅█▇▅  avg 1,234 rows/s over 5m 03s (12 samples)`, or None without a span."""
    rates = throughput(samples)
    if not rates:
        return None
    (t0, r0), (t1, r1) = samples[0], samples[-1]
    average = max(0.0, (r1 - r0) / (t1 - t0))
    text = Text("Throughput  ", style="bold")
    text.append(sparkline(rates), style="cyan")
    text.append(f"  avg {fmt.rate(average)} over {fmt.duration(t1 - t0)} ({len(samples)} samples)")
    return text
