"""What the watch views say about each operation: every line names it, nothing is invented,
and the next step they suggest works. The real CLI against the simulator on a fake clock."""

from __future__ import annotations

import re

import pytest

from bulkop.simulator import Scenario
from test_watch import FakeClock, clock, env, frozen_sim, watch  # noqa: F401  (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:]+Z ")


# --------------------------------------------------------------------------- every line names its operation


def test_every_lines_line_about_an_operation_names_it_with_its_id(frozen_sim, env, clock):
    """Two imports with one name; the server goes away mid-watch. Each line about one of them
    (progress, poll failures, the give-up error, the verdict) carries its id, not the name
    alone: `users.import poll failed (1x)` would not say which."""
    a = frozen_sim.add(Scenario(name="users.import", total_rows=50_000, queued_seconds=0, duration=600))
    b = frozen_sim.add(Scenario(name="users.import", total_rows=50_000, queued_seconds=0, duration=600))
    clock.at(5.0, frozen_sim.stop)
    r = watch(clock, ["--display", "lines", a, b, "--max-consecutive-failures", "3"], env)
    assert r.code == 6, r.stderr
    lines = [STAMP.sub("", x) for x in r.stderr.splitlines() if STAMP.match(x)]
    about = [x for x in lines if "users.import" in x]
    kinds = {"poll failed (1x)", "poll failed (2x)", "error:", "could not be fetched", "processing"}
    for kind in kinds:
        assert any(kind in x for x in about), (kind, r.stderr)
    for x in about:
        assert (a in x) != (b in x), x  # one of them, and which
        assert re.match(rf"users\.import ({a}|{b})\b", x), x


def test_a_poll_failure_before_any_answer_names_the_id(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=0, duration=30, server_errors=2))
    r = watch(clock, ["--display", "lines", op], env)
    assert r.code == 0, r.stderr
    failures = [x for x in r.stderr.splitlines() if "poll failed" in x]
    assert failures and all(op in x for x in failures), r.stderr


def test_github_error_items_group_names_the_id(frozen_sim, env, clock, tmp_path):
    op = frozen_sim.add(Scenario(name="users.import", total_rows=100, queued_seconds=0, duration=5, error_rate=0.1))
    r = watch(clock, ["--display", "lines", op, "--max-errors", "0"], {**env, "GITHUB_ACTIONS": "true"})
    assert r.code == 1, r.stderr
    (group,) = [x for x in r.stderr.splitlines() if x.startswith("::group::")]
    assert f"users.import {op}" in group, group
