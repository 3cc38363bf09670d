"""Small pure formatters shared by every view: counts, durations, times, percentages."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bulkop.models import BulkOperation
from bulkop.progress import Fraction
from bulkop.sanitize import clean

UNKNOWN = "unknown"
# The style of a status word, in every view: the API's (`Status` values, and the words of an API
# that says only finished or not) and the watch's own (what it is doing about an operation).
STATUS_STYLE = {
    "queued": "yellow",
    "processing": "cyan",
    "completed": "green",
    "finished": "green",
    "not finished": "cyan",
    "failed": "bold red",
    "error": "bold red",
    "retrying": "magenta",
    "waiting": "dim",
}


def count(n: int | None, *, plain: bool = False) -> str:
    """`1,000` for people; `1000` (plain) for pipes, where awk must read it as a number."""
    if n is None:
        return UNKNOWN
    return str(n) if plain else f"{n:,}"


def percent(f: Fraction) -> str:
    if f.value is None:
        return UNKNOWN
    return f"{f.percent}%" + (" (overrun)" if f.overrun else "")


def duration(seconds: float | None) -> str:
    """`4s`, `3m 05s`, `2h 03m`, `3d 4h`; '-' when unknown; `>999d` beyond that."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds >= MAX_DAYS * 86400:
        return f">{MAX_DAYS}d"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


MAX_DAYS = 999  # a duration or an ETA longer than this is shown as ">999d", not as 27 digits


def rate(rows_per_s: float | None) -> str:
    if rows_per_s is None or not math.isfinite(rows_per_s):
        return "-"
    if rows_per_s >= 100:
        return f"{rows_per_s:,.0f} rows/s"
    return f"{rows_per_s:.1f} rows/s"


def relative(when: datetime, now: datetime) -> str:
    delta = (now - when).total_seconds()
    if abs(delta) < 5:
        return "just now"
    text = _coarse(abs(delta))
    return f"{text} ago" if delta > 0 else f"in {text}"


def _coarse(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def local_time(when: datetime | None, now: datetime) -> str:
    """Local time with a relative hint: `2026-11-22 13:00:03 (3 min ago)`."""
    if when is None:
        return "-"
    try:
        shown = _date_time(when.astimezone())
    except (OverflowError, ValueError, OSError):
        # Year 9999 in UTC+14 or year 1 in UTC-8 is a valid answer outside the local calendar.
        shown = _date_time(when.astimezone(UTC)) + " UTC"
    return f"{shown} ({relative(when, now)})"


def _date_time(when: datetime, sep: str = " ") -> str:
    # Not strftime's %Y, which writes year 1 as "1" on glibc: a 4-digit year, always.
    return f"{when.year:04d}-{when:%m-%d}{sep}{when:%H:%M:%S}"


def rfc3339(when: datetime | None) -> str:
    if when is None:
        return "-"
    return _date_time(when.astimezone(UTC), "T") + "Z"


def elapsed(op: BulkOperation, now: datetime) -> float | None:
    """How long it ran: start to end, or start to now while it runs."""
    if op.started_at is None:
        return None
    end = op.completed_at or op.failed_at or (None if op.finished else now)
    if end is None:
        return None
    return max(0.0, (end - op.started_at).total_seconds())


def name(op: BulkOperation) -> str:
    return clean(op.name) if op.name else "-"


def short_id(op_id: object, width: int = 8) -> str:
    text = clean(str(op_id))
    return text if len(text) <= width + 1 else text[:width] + "…"


def counts_unknown(op: BulkOperation) -> str:
    """Why an operation's row counts are not shown: the API says only its own status words
    (finished or not), or this answer has no counts."""
    if op.reporting.status_words:
        words = dict.fromkeys(op.reporting.status_words.values())
        if set(words) == {"finished", "not finished"}:
            return "unknown (this API reports only finished or not)"
        return f"unknown (this API reports only {' or '.join(words)})"
    return "unknown (not in this answer)"
