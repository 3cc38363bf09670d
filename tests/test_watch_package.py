"""The watch package's seams (issue 14 item 5): `get` and `status` load none of it, and its
displays are told only the events they handle, in the order the engine sends them."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Sequence

import pytest

from bulkop.models import BulkOperation, Status
from bulkop.simulator import Scenario
from bulkop.watch.engine import Display, Displays, RateLimiter, Tracked, WatchConfig, Watcher
from conftest import knock_env_for, minimal_env
from helpers import FakeClock

OP_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

# `python -m bulkop ARGS`, then the names of the modules of the watch package it loaded (the old
# bulkop.watcher included: it starts the same way).
PROBE = (
    "import sys, runpy\n"
    "sys.argv = ['bulkop', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('bulkop', run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "loaded = sorted(n for n in sys.modules if n.startswith('bulkop.watch'))\n"
    "print('WATCH=' + ','.join(loaded), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.mark.parametrize(
    "args",
    [
        ["get", "{a}", "{b}", "-o", "json"],  # several ids: fetched concurrently (bulkop.pool)
        ["get", "{a}"],
        ["get", "{a}", "{b}", "--exit-status"],
        ["status", "{a}"],
        ["status", "{a}", "-o", "json"],
    ],
)
def test_get_and_status_load_nothing_of_the_watch_package(make_sim, args):
    sim = make_sim()
    ids = {k: sim.add(Scenario(name=f"op {k}", queued_seconds=0, duration=0)) for k in ("a", "b")}
    argv = [a.format(**ids) for a in args]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        env=minimal_env(knock_env_for(sim)),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    (loaded,) = [line for line in proc.stderr.splitlines() if line.startswith("WATCH=")]
    assert loaded == "WATCH=", loaded


class Recorder(Display):
    """Writes down every event it handles, under its own name."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        self.log.append(f"{self.name}.started")

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        self.log.append(f"{self.name}.observed")

    def failed_poll(self, t: Tracked, err: object, retry_in: float | None, now: float) -> None:
        self.log.append(f"{self.name}.failed_poll")

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        self.log.append(f"{self.name}.tick")

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        self.log.append(f"{self.name}.finished:{outcome}")


class OnlyFinished(Display):
    """Keeps every default but one."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        self.log.append(f"last.finished:{outcome}")


def op(status: str) -> BulkOperation:
    """A Knock operation in `status`, with `raw` matching the fields."""
    done = 2 if status == "completed" else 1
    raw = {"id": OP_ID, "status": status, "processed_rows": done, "estimated_total_rows": 2, "error_count": 0}
    return BulkOperation(
        id=uuid.UUID(OP_ID),
        status=Status(status),
        estimated_total_rows=2,
        processed_rows=done,
        error_count=0,
        raw=raw,
    )


@pytest.mark.parametrize("answers", [["completed"], ["processing", "completed"], ["queued", "processing", "failed"]])
def test_displays_fan_every_event_out_in_order_and_skip_default_methods(answers):
    clock = FakeClock()
    sent = iter(answers)
    t = Tracked(key="k", label="k", profile=None, fetch=lambda: op(next(sent)), bucket=RateLimiter(10.0))
    log: list[str] = []
    views = Displays([Recorder("a", log), Display(), OnlyFinished(log), Recorder("b", log)])
    code = Watcher([t], WatchConfig(interval=1.0), views, now=clock, sleep=clock.sleep, grace=5.0).run()
    assert code == (1 if answers[-1] == "failed" else 0)
    assert log[:2] == ["a.started", "b.started"]
    assert log[-3:] == ["a.finished:done", "last.finished:done", "b.finished:done"]
    events = log[2:-3]
    # Each event reaches a, then b: never b alone, never twice in a row to one view.
    assert [e.replace("a.", "").replace("b.", "") for e in events[::2]] == [e.replace("b.", "") for e in events[1::2]]
    assert all(e.startswith("a.") for e in events[::2]) and all(e.startswith("b.") for e in events[1::2])
    assert events.count("a.observed") == len(answers)


def test_the_base_display_ignores_every_event():
    t = Tracked(key="k", label="k", profile=None, fetch=lambda: op("completed"), bucket=RateLimiter(10.0))
    d = Display()
    for call in (
        lambda: d.started([t], 0.0),
        lambda: d.observed(t, True, 0.0),
        lambda: d.tick([t], 0.0),
        lambda: d.finished([t], 0.0, "done"),
    ):
        assert call() is None


def test_a_view_added_later_is_told_too():
    log: list[str] = []
    views = Displays([Recorder("a", log)])
    views.views = [*views.views, OnlyFinished(log)]
    views.started([], 0.0)
    views.finished([], 0.0, "timeout")
    assert log == ["a.started", "a.finished:timeout", "last.finished:timeout"]
