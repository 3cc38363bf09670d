"""Every verdict explains itself, and a missing or impossible value is never a pass.

Issue 12 #5 and issue 13 #1: the real CLI (`watch`, `status`, `get --exit-status`) against a
tiny server of the test's own that answers one canned Knock operation, or the simulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkop.simulator import Scenario
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, ManualClock, knock_env_for, run_cli
from test_hardening_faults import Canned, CannedServer

OP = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def knock_op(status: str = "completed", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "__typename": "BulkOperation",
        "id": OP,
        "name": "users.identify",
        "status": status,
        "estimated_total_rows": 100,
        "processed_rows": 100,
        "success_count": 55,
        "error_count": 0,
        "inserted_at": "2026-11-22T12:00:00Z",
        "updated_at": "2026-11-22T12:01:40Z",
        "started_at": "2026-11-22T12:00:00Z",
        "completed_at": "2026-11-22T12:01:40Z" if status == "completed" else None,
        "failed_at": "2026-11-22T12:01:40Z" if status == "failed" else None,
    }
    for name, value in fields.items():
        if value is ...:
            body.pop(name, None)
        else:
            body[name] = value
    return body


ITEMS_45 = [{"id": f"user_{n}", "collection": "users"} for n in range(45)]


@pytest.fixture
def server():
    with CannedServer() as s:
        yield s


def serve(server: CannedServer, body: dict[str, Any]) -> dict[str, str]:
    server.answer = Canned(200, json.dumps(body).encode())
    return {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.url, "BULKOP_RETRIES": "0"}


def watch(args: list[str], env: dict[str, str], **kw: Any):
    clock = ManualClock()
    return run_cli(["watch", *args], env, now=clock, sleep=clock.sleep, **kw)


# --------------------------------------------------------------------------- the --max-errors gate

NO_COUNT = {"error_count": ..., "error_items": ITEMS_45}
GATE_CASES = {
    # name → (fields of the completed operation, --max-errors, exit codes allowed, words of the verdict)
    "45 items, no count": (NO_COUNT, "0", {1}, "completed with 45 errors, over --max-errors 0"),
    "45 items, no count, limit 10": (NO_COUNT, "10", {1}, "45 errors, over --max-errors 10"),
    "45 items, count null": ({"error_count": None, "error_items": ITEMS_45}, "0", {1}, "45 errors"),
    "count below the items": (
        {"error_count": 0, "error_items": ITEMS_45[:3]},
        "0",
        {1},
        "3 errors, over --max-errors 0",
    ),
    "negative count": ({"error_count": -5}, "0", {1, 6}, ""),
    "negative count, no limit hit": ({"error_count": -5}, "100", {1, 6}, ""),
    "no count, no items": ({"error_count": ..., "error_items": ...}, "0", {1}, "error count is unknown"),
}


@pytest.mark.parametrize("case", sorted(GATE_CASES))
@pytest.mark.parametrize("spelling", ["flag", "env"])
def test_max_errors_gate_never_passes_a_missing_or_impossible_count(server, case, spelling):
    fields, limit, codes, words = GATE_CASES[case]
    env = serve(server, knock_op(**fields))
    args = [OP, "--display", "lines"]
    if spelling == "flag":
        args += ["--max-errors", limit]
    else:
        env["BULKOP_MAX_ERRORS"] = limit
    r = watch(args, env)
    assert r.code in codes, r.stderr
    if r.code == 1:
        (line,) = [x for x in r.stderr.splitlines() if f"users.identify {OP}: " in x]
        # --errors only where there are errors to show: with none known it would show nothing.
        errors = "" if "unknown" in words or not words else " --errors"
        assert words in line and line.endswith(f"next: bulkop get {OP}{errors}"), line


@pytest.mark.parametrize(("errors", "limit", "code"), [(3, "5", 0), (5, "5", 0), (6, "5", 1), (0, "0", 0)])
def test_max_errors_gate_counts_the_errors_sent(server, errors, limit, code):
    env = serve(server, knock_op(error_count=errors, error_items=ITEMS_45[:errors]))
    r = watch([OP, "--max-errors", limit, "--display", "lines"], env)
    assert r.code == code, r.stderr
    assert ("over --max-errors" in r.stderr) == (code == 1)


def test_saymon_under_max_errors_fails_the_gate_as_unknown(make_sim):
    """SAYMON reports no error count: --max-errors cannot be checked, so it is not a pass."""
    clock = ManualClock()
    sim = make_sim(clock=clock)
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    env = {
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_BASE_URL": sim.base_url,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
    }
    ok = run_cli(["watch", op, "--display", "lines"], env, now=clock, sleep=clock.sleep)
    assert ok.code == 0, ok.stderr
    r = run_cli(
        ["watch", op, "--max-errors", "0", "--display", "lines", "-o", "json"], env, now=clock, sleep=clock.sleep
    )
    assert r.code == 1, r.stderr
    assert (
        f"{op}: finished, but its error count is unknown (SAYMON reports no error counts), "
        "so --max-errors 0 cannot be checked; next: drop --max-errors for SAYMON operations" in r.stderr
    )
    assert "--errors" not in r.stderr  # `get --errors` shows nothing for SAYMON: a dead end
    (final,) = [json.loads(x) for x in r.stdout.splitlines() if json.loads(x).get("final")]
    assert final["verdict"] == "errors_unknown"


# --------------------------------------------------------------------------- every display says why


def test_a_failed_gate_says_which_why_and_what_next_in_every_display(server, tmp_path: Path):
    """Issue 13 #1: lines, GitHub annotations and step summary, NDJSON and quiet all name the
    operation (name and full id), why, and the next command; -p PROFILE when one was used."""
    env = serve(server, knock_op(error_count=100, error_items=ITEMS_45))
    summary = tmp_path / "summary.md"
    gh = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = watch([OP, "--max-errors", "0", "-o", "json"], gh)
    assert r.code == 1, r.stderr
    why = "completed with 100 errors, over --max-errors 0"
    lines = r.stderr.splitlines()
    assert any(x.endswith(f"users.identify {OP}: {why}; next: bulkop get {OP} --errors") for x in lines), r.stderr
    (annotation,) = [x for x in lines if x.startswith("::error")]
    assert annotation.startswith("::error title=bulkop%3A over --max-errors::") and why in annotation
    assert "over --max-errors 0" in summary.read_text() and "**not ok**" in summary.read_text()
    (final,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert final["final"] is True and final["verdict"] == "too_many_errors" and final["reason"] == why
    assert final["id"] == OP

    quiet = watch([OP, "--max-errors", "0", "--display", "quiet"], env)
    assert quiet.code == 1
    assert quiet.stderr == f"bulkop: users.identify {OP}: {why}; next: bulkop get {OP} --errors\n"


def test_the_next_command_names_the_profile_used(server, isolated_env):
    config: Path = isolated_env
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.ci]\nprovider = "knock"\napi_key = "{KNOCK_TOKEN}"\nbase_url = "{server.url}"\n')
    config.chmod(0o600)
    serve(server, knock_op(status="failed", error_count=2, error_items=ITEMS_45[:2]))
    r = watch([f"ci:{OP}", "--display", "lines"], {"BULKOP_RETRIES": "0"})
    assert r.code == 1, r.stderr
    assert f"the operation failed with 2 errors; next: bulkop -p ci get {OP} --errors" in r.stderr


@pytest.mark.parametrize("status", ["failed", "completed"])
def test_status_and_get_exit_status_say_why_an_operation_fails(server, status):
    env = serve(server, knock_op(status=status, error_count=7, error_items=ITEMS_45[:7]))
    s = run_cli(["status", OP], env)
    g = run_cli(["get", OP, OP, "--exit-status"], env)
    j = run_cli(["status", OP, "-o", "json"], env)
    data = json.loads(j.stdout)
    if status == "failed":
        line = f"bulkop: users.identify {OP}: the operation failed with 7 errors; next: bulkop get {OP} --errors"
        assert (s.code, g.code, j.code) == (1, 1, 1)
        assert s.stderr.splitlines()[-1] == line
        assert line in g.stderr.splitlines()
        assert data["verdict"] == "failed" and data["reason"] == "the operation failed with 7 errors"
        assert j.stderr == ""
    else:
        assert (s.code, g.code, j.code) == (0, 0, 0)
        assert s.stderr == g.stderr == ""
        assert data["verdict"] == "completed"


def test_an_unfinished_operation_is_exit_3_without_a_failure_line(server):
    env = serve(server, knock_op(status="processing", processed_rows=10, completed_at=None))
    r = run_cli(["status", OP], env)
    assert r.code == 3 and r.stderr == ""


# --------------------------------------------------------------------------- small


@pytest.mark.parametrize("stdin", ["", "\n", "\n\n  \n", "# only a comment\n"])
def test_watch_dash_with_nothing_on_stdin_says_stdin_had_no_ids(stdin, sim):
    r = run_cli(["watch", "-"], knock_env_for(sim), stdin=stdin)
    assert r.code == 2
    assert "stdin had no operation ids" in r.stderr
    assert "or `-` to read them" not in r.stderr
