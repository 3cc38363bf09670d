"""Rows of results, the goal check, the printed table and bench/results.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import Spread

SCHEMA = 1
STATUSES = ("met", "missed", "info", "skipped", "error")

_UNITS = {
    "x": "{:.2f}x",
    "ms": "{:.2f} ms",
    "MB": "{:.0f} MB",
    "req/s": "{:,.0f}/s",
    "%": "{:.1f} %",
    "count": "{:,.0f}",
}


@dataclass(frozen=True)
class Goal:
    """A target a median must meet: `op` is <= or >=."""

    op: str
    value: float

    def met(self, median: float) -> bool:
        return median <= self.value if self.op == "<=" else median >= self.value

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {fmt(self.value, '')}"


@dataclass
class Row:
    """One line of the table: a median with its min and max, against a floor, maybe a goal."""

    id: str  # stable across runs: what comparisons with the last results.json key on
    section: str
    name: str
    floor: str  # what the number is relative to ("" when absolute)
    unit: str
    median: float | None = None
    min: float | None = None
    max: float | None = None
    n: int = 0
    goal: Goal | None = None
    status: str = "info"
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    last: float | None = None  # the median this row had in the previous results file

    @classmethod
    def measured(
        cls,
        id: str,
        section: str,
        name: str,
        floor: str,
        unit: str,
        values: Spread,
        goal: Goal | None = None,
        note: str = "",
        **detail: Any,
    ) -> Row:
        row = cls(
            id,
            section,
            name,
            floor,
            unit,
            values.median,
            values.min,
            values.max,
            values.n,
            goal,
            note=note,
            detail=detail,
        )
        row.status = "info" if goal is None else ("met" if goal.met(values.median) else "missed")
        return row

    @classmethod
    def skipped(cls, id: str, section: str, name: str, reason: str, goal: Goal | None = None, unit: str = "") -> Row:
        return cls(id, section, name, "", unit, goal=goal, status="skipped", note=reason)

    @classmethod
    def failed(cls, id: str, section: str, name: str, reason: str) -> Row:
        return cls(id, section, name, "", "", status="error", note=reason)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["goal"] = None if self.goal is None else asdict(self.goal)
        return data


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in _UNITS:
        return _UNITS[unit].format(value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _goal_text(row: Row) -> str:
    if row.goal is None:
        return ""
    text = str(row.goal)
    return text + ("x" if row.unit == "x" else f" {row.unit}" if row.unit else "")


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table, one block per section."""
    header = ("benchmark", "vs floor", "median", "min", "max", "n", "goal", "result", "last")
    lines: list[tuple[str, ...]] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append((f"[{section}]",))
        result = {"met": "met", "missed": "MISSED", "info": "", "skipped": "skipped", "error": "ERROR"}[row.status]
        lines.append(
            (
                "  " + row.name,
                row.floor,
                fmt(row.median, row.unit),
                fmt(row.min, row.unit) if row.n > 1 else "",
                fmt(row.max, row.unit) if row.n > 1 else "",
                str(row.n) if row.n else "",
                _goal_text(row),
                result,
                fmt(row.last, row.unit) if row.last is not None else "",
            )
        )
        if row.note:
            lines.append(("      " + row.note,))
    widths = [
        max(len(line[i]) for line in [header, *lines] if len(line) > i and len(line) > 1) for i in range(len(header))
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        if len(line) == 1:
            out.append(line[0])
        else:
            cells = [line[0].ljust(widths[0])]
            cells += [
                cell.rjust(w) if i in (2, 3, 4, 5, 8) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
                if i
            ]
            out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def summary(rows: list[Row]) -> str:
    counts = {status: sum(r.status == status for r in rows) for status in STATUSES}
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])


def attach_last(rows: list[Row], previous: Path) -> None:
    """Give each row the median it had in a previous results file, when there is one."""
    try:
        data = json.loads(previous.read_text(encoding="utf-8"))
        last = {r["id"]: r.get("median") for r in data.get("rows", [])}
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return
    for row in rows:
        value = last.get(row.id)
        row.last = value if isinstance(value, int | float) else None


def write(path: Path, rows: list[Row], meta: dict[str, Any], extra: dict[str, Any]) -> None:
    data = {"schema": SCHEMA, **meta, "rows": [r.to_json() for r in rows], **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
