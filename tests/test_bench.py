"""The benchmark harness still runs: `bench/run.py --quick` end to end (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import minimal_env

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

# Every goal of the issue has a row, whether it is met, missed or skipped (watch not built yet).
GOAL_ROWS = {
    "startup.version": "bulkop --version",
    "startup.get_json": "bulkop get ID -o json",
    "startup.get_json.knockapi": "bulkop get ID -o json",
    "startup.get_table": "bulkop get ID (table, pty)",
    "startup.status": "bulkop status ID",
    "startup.status.knockapi": "bulkop status ID",
    "watch.1.lines.requests": "watch 1 op(s), lines: requests",
    "watch.100.lines.requests": "watch 100 op(s), lines: requests",
    "watch.100.live.beyond_ideal": "watch 100 op(s), live: polls past the end",
    "watch.100.lines.cpu_per_poll": "watch 100 op(s), lines: CPU per poll",
    "watch.1.lines.core": "watch 1 op(s), lines: CPU, % of a core",
    "watch.100.live.rss": "watch 100 op(s), live: peak RSS",
    "watch.100.live_overhead": "watch 100 ops: live view's extra CPU",
    "bodies.get_json.time": "get -o json: time",
    "bodies.get_json.rss": "get -o json: peak RSS",
    "bodies.get_errors.time": "get --errors (piped): time",
    "bodies.get_errors.rss": "get --errors (piped): peak RSS",
    "bodies.over_cap.rss": "256 MiB body, 64 MiB cap: refused, peak RSS",
    "simulator.rps.1": "keep-alive GET, 1 connection",
}
ROW_KEYS = {
    "id",
    "section",
    "name",
    "floor",
    "unit",
    "median",
    "min",
    "max",
    "n",
    "goal",
    "status",
    "note",
    "detail",
    "last",
}


@pytest.mark.slow
@pytest.mark.bench
def test_quick_run_prints_every_goal_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(out)],
        env=minimal_env(),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    for section in ("[1 start-up]", "[2 watch at scale]", "[3 large bodies]", "[4 simulator]"):
        assert section in proc.stdout
    for name in GOAL_ROWS.values():
        assert name in proc.stdout, name

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema"] == 1 and data["quick"] is True
    assert {"started", "seconds", "python", "versions", "suite_seconds"} <= set(data)
    rows = {row["id"]: row for row in data["rows"]}
    for row in rows.values():
        assert set(row) == ROW_KEYS, row["id"]
        assert row["status"] in ("met", "missed", "info", "skipped"), row
    for row_id in GOAL_ROWS:
        row = rows[row_id]
        assert row["goal"] is not None and row["goal"]["op"] in ("<=", ">="), row_id
        if row["status"] != "skipped":
            assert isinstance(row["median"], int | float), row_id
    assert data["importtime"]["self"], "no -X importtime entries"
