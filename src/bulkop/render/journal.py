"""Views of the journal: the `list` table and text, and the throughput sparkline of `get`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bulkop.journal import Entry
from bulkop.models import Status
from bulkop.render import fmt
from bulkop.sanitize import clean, plural

if TYPE_CHECKING:  # Rich only for the terminal views: piped `list` does not pay for importing it
    from rich.console import RenderableType
    from rich.text import Text

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 32


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _status_text(e: Entry) -> Text:
    from rich.text import Text

    try:
        style = fmt.STATUS_STYLE[Status(e.status).value]
    except ValueError:
        style = ""
    return Text(e.status_word or "-", style=style)


# The list table's layouts, most complete first; the first that fits the width is used (as
# render/table.py does for several ids). Whole columns go and the name shrinks (the only cell
# that may end in "…"; it takes what the other columns leave, up to 28, down to the layout's
# "name") so that no status, percentage, id or time is ever cut. The full id is what a user
# copies, so it outlasts the provider, the duration and most of the name; the short id
# (`demo:e3e70682…`) is the last resort before Progress and Last seen go.
_FULL = {"name": 14, "id": True, "api": True, "progress": True, "duration": True, "seen": True}
_LAYOUTS: tuple[dict[str, Any], ...] = (
    _FULL,
    {**_FULL, "api": False},
    {**_FULL, "api": False, "duration": False, "name": 8},
    {**_FULL, "api": False, "duration": False, "id": False, "name": 14},
    {**_FULL, "api": False, "duration": False, "id": False, "name": 8},
    {**_FULL, "api": False, "duration": False, "id": False, "name": 6, "progress": False},
    {**_FULL, "api": False, "duration": False, "id": False, "name": 4, "progress": False, "seen": False},
)
NAME_MAX = 28


def entries_table(entries: Sequence[Entry], now: datetime, width: int = 80) -> RenderableType:
    """`bulkop list` in a terminal: a row per operation, newest first, fitted to `width` by
    dropping whole columns (never cutting a status, number, id or time)."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    wall = now.timestamp()
    names = [clean(e.name) if e.name else "-" for e in entries]
    refs = [f"{clean(e.profile)}:{clean(e.id)}" if e.profile else clean(e.id) for e in entries]
    shorts = [f"{clean(e.profile)}:{fmt.short_id(e.id)}" if e.profile else fmt.short_id(e.id) for e in entries]
    apis = [clean(e.provider) for e in entries]
    statuses = [_status_text(e) for e in entries]
    progress = [_percent(e) for e in entries]
    durations = [fmt.duration(e.duration(wall)) for e in entries]
    seen = [fmt.relative(_when(e.last_seen), now) for e in entries]

    def widest(header: str, cells: Sequence[str]) -> int:
        return max([cell_len(header), *(cell_len(c) for c in cells)])

    name_widest = min(NAME_MAX, widest("Name", names))

    def columns(lay: dict[str, Any]) -> list[tuple[str, list[str], int]]:
        """The columns of a layout with their widths; the name's fills what is left."""
        ids = refs if lay["id"] else shorts
        cols = [("ID", ids, widest("ID", ids))]
        if lay["api"]:
            cols.append(("API", apis, widest("API", apis)))
        cols.append(("Status", [t.plain for t in statuses], widest("Status", [t.plain for t in statuses])))
        if lay["progress"]:
            cols.append(("Progress", progress, widest("Progress", progress)))
        if lay["duration"]:
            cols.append(("Duration", durations, widest("Duration", durations)))
        if lay["seen"]:
            cols.append(("Last seen", seen, widest("Last seen", seen)))
        rest = sum(w for _, _, w in cols) + len(cols)
        return [("Name", names, max(4, min(name_widest, width - rest))), *cols]

    def fits(lay: dict[str, Any]) -> bool:
        cols = columns(lay)
        total = sum(w for _, _, w in cols) + len(cols) - 1
        return total <= width and cols[0][2] >= min(lay["name"], name_widest)

    layout = next((lay for lay in _LAYOUTS if fits(lay)), _LAYOUTS[-1])
    chosen = columns(layout)
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0), expand=False)
    for header, _, w in chosen:
        right = header in ("Progress", "Duration")
        if header == "Name":
            table.add_column(header, overflow="ellipsis", no_wrap=True, width=w)
        else:
            table.add_column(header, no_wrap=True, min_width=w, justify="right" if right else "left")
    for i in range(len(entries)):
        table.add_row(*(statuses[i] if header == "Status" else Text(cells[i]) for header, cells, _ in chosen))
    return table


def _percent(e: Entry) -> str:
    """The percentage only when the counts say it: never a fake 100% (some APIs send no counts)."""
    if not e.counts_known or not e.estimated_total_rows:
        return "-" if e.finished else fmt.UNKNOWN
    assert e.processed_rows is not None
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
                    e.status_word or "-",
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


def throughput_view(series: Sequence[tuple[float, int]], samples: int | None = None) -> Text | None:
    """`Throughput  ▁▃▅█▇▅  avg 1,234 rows/s over 5m 03s (12 samples)`, or None without a span.

    `series` is the operation's running interval (journal.running_series); `samples`, how many
    of its points the journal sampled (all of them when not given)."""
    rates = throughput(series)
    if not rates:
        return None
    from rich.text import Text

    (t0, r0), (t1, r1) = series[0], series[-1]
    average = max(0.0, (r1 - r0) / (t1 - t0))
    n = len(series) if samples is None else samples
    text = Text("Throughput  ", style="bold")
    text.append(sparkline(rates), style="cyan")
    text.append(f"  avg {fmt.rate(average)} over {fmt.duration(t1 - t0)} ({plural(n, 'sample')})")
    return text
