"""Views of the journal: the `list` table and text, and the throughput sparkline of `get`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bulkop.journal import Entry
from bulkop.models import Status
from bulkop.render import fmt
from bulkop.sanitize import clean

if TYPE_CHECKING:  # Rich only for the terminal views: piped `list` does not pay for importing it
    from rich.console import RenderableType
    from rich.text import Text

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 32


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _status_text(status: str | None) -> Text:
    from rich.text import Text

    try:
        style = fmt.STATUS_STYLE[Status(status)]
    except ValueError:
        style = ""
    return Text(status or "-", style=style)


def entries_table(entries: Sequence[Entry], now: datetime) -> RenderableType:
    """`bulkop list` in a terminal: a row per operation, newest first, in 80 columns like `get`'s
    table (short ids: `-o text` and `-o json` give them whole)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    table.add_column("Name", overflow="ellipsis", no_wrap=True, min_width=14, max_width=28)
    table.add_column("ID", no_wrap=True)
    table.add_column("API", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Progress", no_wrap=True, justify="right")
    table.add_column("Duration", no_wrap=True, justify="right")
    table.add_column("Last seen", no_wrap=True)
    wall = now.timestamp()
    for e in entries:
        ref = fmt.short_id(e.id)
        table.add_row(
            Text(clean(e.name) if e.name else "-"),
            Text(f"{clean(e.profile)}:{ref}" if e.profile else ref),
            Text(clean(e.provider)),
            _status_text(e.status),
            Text(_percent(e)),
            Text(fmt.duration(e.duration(wall))),
            Text(fmt.relative(_when(e.last_seen), now)),
        )
    return table


def _percent(e: Entry) -> str:
    if e.status == "completed":
        return "100%"
    if e.processed_rows is None or not e.estimated_total_rows:
        return fmt.UNKNOWN if not e.finished else "-"
    return f"{min(100, int(100 * max(0, e.processed_rows) / e.estimated_total_rows))}%"


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
        for (ta, ra), (tb, rb) in itertools.pairwise(samples):
            if ta <= t <= tb:
                return ra if tb == ta else ra + (rb - ra) * (t - ta) / (tb - ta)
        return float(samples[-1][1])

    points = [rows_at(t0 + i * step) for i in range(width + 1)]
    return [max(0.0, (b - a) / step) for a, b in itertools.pairwise(points)]


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
    from rich.text import Text

    (t0, r0), (t1, r1) = samples[0], samples[-1]
    average = max(0.0, (r1 - r0) / (t1 - t0))
    text = Text("Throughput  ", style="bold")
    text.append(sparkline(rates), style="cyan")
    text.append(f"  avg {fmt.rate(average)} over {fmt.duration(t1 - t0)} ({len(samples)} samples)")
    return text
