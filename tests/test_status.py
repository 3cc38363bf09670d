"""End-to-end tests of `bulkop status`: one line and an exit code a shell loop can branch on."""

from __future__ import annotations

import json
import subprocess

import pytest

from bulkop.simulator import Scenario
from conftest import minimal_env, run_cli, run_process
from helpers import MISSING_ID, into_closed_pipe, unsafe_chars

EVIL_NAME = "\x1b]0;pwned\x07evil\x1b[2J [bold]markup[/bold] \u202e"


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("scenario", "at", "line", "code"),
    [
        (Scenario(total_rows=1000, queued_seconds=60), 10, "queued (0/1,000)", 3),
        (Scenario(total_rows=1000, queued_seconds=0, duration=100), 42, "processing 42% (420/1,000)", 3),
        (Scenario(total_rows=1000, queued_seconds=0, duration=100), 150, "completed 1,000/1,000", 0),
        (
            Scenario(total_rows=2000, queued_seconds=0, duration=100, error_rate=0.01),
            150,
            "completed 2,000/2,000, 20 errors",
            0,
        ),
        (
            Scenario(total_rows=8000, queued_seconds=0, duration=100, error_rate=1.0, fail_at=0.5),
            150,
            "failed: 4,000 errors (4,000/8,000 processed)",
            1,
        ),
        (
            Scenario(total_rows=1000, queued_seconds=0, duration=100, fail_at=0.5, extra_fields={"error_count": 1}),
            150,
            "failed: 1 error (500/1,000 processed)",
            1,
        ),
        (
            Scenario(total_rows=1000, queued_seconds=0, duration=100, fail_at=0.5),
            150,
            "failed: 0 errors (500/1,000 processed)",
            1,
        ),
    ],
    ids=["queued", "processing", "completed", "completed-with-errors", "failed", "failed-one-error", "failed-clean"],
)
def test_status_line_and_exit_code(frozen_sim, env, clock, scenario, at, line, code):
    op = frozen_sim.add(scenario)
    clock.t = at
    r = run_cli(["status", op], env)
    assert (r.stdout, r.code) == (line + "\n", code)
    if code == 1:  # the operation is why: which, why, and what to run next (issue 13)
        assert r.stderr.startswith("bulkop: ") and f" {op}: the operation failed" in r.stderr, r.stderr
        errors = "" if "failed: 0 errors" in line else " --errors"  # --errors only if there are some
        assert r.stderr.endswith(f"; next: bulkop get {op}{errors}\n"), r.stderr
    else:
        assert r.stderr == ""


def test_status_json_fields(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(total_rows=1000, queued_seconds=0, duration=100, error_rate=0.01))
    clock.t = 42
    r = run_cli(["status", op, "-o", "json"], env)
    assert r.code == 3, r.stderr
    data = json.loads(r.stdout)
    assert data == {
        "id": op,
        "provider": "knock",
        "status": "processing",
        "finished": False,
        "processed_rows": 420,
        "estimated_total_rows": 1000,
        "percent": 42.0,
        "error_count": data["error_count"],
        "exit_code": 3,
        "verdict": "not_finished",
        "reason": "the operation is still processing",
    }
    assert isinstance(data["error_count"], int) and 0 <= data["error_count"] <= 10
    assert r.stdout.count("\n") == 1  # one line: easy for jq -r and for logs


def test_status_json_exit_code_field_matches_the_exit_code(frozen_sim, env, clock):
    ops = {
        0: frozen_sim.add(Scenario(queued_seconds=0, duration=0)),
        1: frozen_sim.add(Scenario(queued_seconds=0, duration=0, fail_at=0.2)),
        3: frozen_sim.add(Scenario(queued_seconds=100)),
    }
    clock.t = 1
    for code, op in ops.items():
        r = run_cli(["status", op, "-o", "json"], env)
        assert r.code == code
        assert json.loads(r.stdout)["exit_code"] == code


def test_status_estimate_of_zero_is_indeterminate_not_a_crash(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(total_rows=1000, estimated_total_rows=0, queued_seconds=0, duration=100))
    clock.t = 50
    r = run_cli(["status", op], env)
    assert r.code == 3, r.stderr
    assert r.stdout == "processing unknown (500/0)\n"
    r = run_cli(["status", op, "-o", "json"], env)
    assert json.loads(r.stdout)["percent"] is None


def test_status_overrun_is_flagged(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(total_rows=1500, estimated_total_rows=1000, queued_seconds=0, duration=150))
    clock.t = 120  # 1,200 of an estimated 1,000
    r = run_cli(["status", op], env)
    assert r.code == 3
    assert r.stdout == "processing 100% (overrun) (1,200/1,000)\n"


# --------------------------------------------------------------------------- SAYMON


def test_saymon_status_finished_and_not(sim, saymon_env):
    finished = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    running = sim.add(Scenario(provider="saymon", queued_seconds=3600))
    r = run_cli(["status", finished], saymon_env)
    assert (r.stdout, r.code) == ("finished\n", 0)
    r = run_cli(["status", running], saymon_env)
    assert (r.stdout, r.code) == ("not finished\n", 3)
    r = run_cli(["status", running, "-o", "json"], saymon_env)
    data = json.loads(r.stdout)
    assert (data["id"], data["finished"], data["status"]) == (running, False, "not finished")
    assert data["processed_rows"] is None and data["percent"] is None  # unknown, never a fake 0
    assert r.code == 3


def test_saymon_wrong_password_is_exit_4(sim, saymon_env):
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    r = run_cli(["status", op], {**saymon_env, "SAYMON_PASSWORD": "nope"})
    assert r.code == 4
    assert "SAYMON_PASSWORD" in r.stderr
    assert len(sim.requests_for(op)) == 1


def test_saymon_missing_password_is_exit_7_before_any_request(sim, saymon_env):
    env = {k: v for k, v in saymon_env.items() if k != "SAYMON_PASSWORD"}
    r = run_cli(["status", "abc"], env)
    assert r.code == 7
    assert "no SAYMON password" in r.stderr
    assert sim.requests == []


def test_saymon_id_with_a_slash_is_refused_before_any_request(sim, saymon_env):
    r = run_cli(["status", "../../etc"], saymon_env)
    assert r.code == 2
    assert sim.requests == []


# --------------------------------------------------------------------------- errors


def test_status_not_found_is_exit_5(sim, knock_env):
    r = run_cli(["status", MISSING_ID], knock_env)
    assert r.code == 5
    assert r.stdout == ""
    assert MISSING_ID in r.stderr


def test_status_non_uuid_is_refused_before_any_request(sim, knock_env):
    r = run_cli(["status", "42"], knock_env)
    assert r.code == 2
    assert "'42' is not a Knock bulk operation id" in r.stderr
    assert sim.requests == []


def test_status_takes_exactly_one_id(sim, knock_env):
    r = run_cli(["status", MISSING_ID, MISSING_ID], knock_env)
    assert r.code == 2
    assert sim.requests == []


def test_status_wrong_token_is_exit_4(sim, knock_env):
    r = run_cli(["status", MISSING_ID], {**knock_env, "KNOCK_API_KEY": "sk_test_wrong"})
    assert r.code == 4


def test_status_unavailable_after_retries_is_exit_6(sim, knock_env):
    op = sim.add(Scenario(queued_seconds=0, duration=0, server_errors=10))
    delays: list[float] = []
    r = run_cli(["status", op, "--retries", "1"], knock_env, sleep=delays.append)
    assert r.code == 6
    assert len(sim.requests_for(op)) == 2 and len(delays) == 1
    assert "Traceback" not in r.stderr


def test_status_non_json_is_exit_6(sim, knock_env):
    op = sim.add(Scenario(queued_seconds=0, duration=0, fault="html_200"))
    r = run_cli(["status", op], knock_env)
    assert r.code == 6
    assert "text/html" in r.stderr and "HTTP 200" in r.stderr


@pytest.mark.parametrize(("case", "code"), [("missing", 5), ("auth", 4), ("usage", 2), ("invalid", 6), ("config", 7)])
def test_status_json_errors_are_json_on_stderr(sim, knock_env, case, code):
    env, op = knock_env, MISSING_ID
    if case == "auth":
        env = {**knock_env, "KNOCK_API_KEY": "sk_test_wrong"}
    elif case == "usage":
        op = "nope"
    elif case == "invalid":
        op = sim.add(Scenario(queued_seconds=0, duration=0, fault="invalid_json"))
    elif case == "config":
        env = {**knock_env, "BULKOP_RETRIES": "-1"}
    r = run_cli(["status", op, "-o", "json"], env)
    assert r.code == code
    assert r.stdout == ""
    err = json.loads(r.stderr)["error"]
    assert err["exit_code"] == code
    assert err["type"] and err["message"]


def test_status_server_text_is_defused(sim, knock_env):
    op = sim.add(Scenario(queued_seconds=0, duration=0, name=EVIL_NAME))
    for mode in ([], ["-o", "json"]):
        r = run_cli(["status", op, *mode], knock_env)
        assert r.code == 0
        assert unsafe_chars(r.stdout + r.stderr) == []
    bad = sim.add(Scenario(queued_seconds=0, duration=0, extra_fields={"status": EVIL_NAME}))
    for mode in ([], ["-o", "json"]):
        r = run_cli(["status", bad, *mode], knock_env)
        assert r.code == 6
        assert unsafe_chars(r.stdout + r.stderr) == [], repr(r.stderr)
        assert "[bold]markup[/bold]" in r.stderr


def test_status_in_a_real_process_loop_contract(sim, knock_env):
    """What `until bulkop status $ID; do sleep 5; done` relies on: a real exit status."""
    running = sim.add(Scenario(queued_seconds=3600))
    finished = sim.add(Scenario(queued_seconds=0, duration=0))
    p = run_process(["status", running], knock_env)
    assert (p.returncode, p.stdout) == (3, "queued (0/1,000)\n")
    p = run_process(["status", finished], knock_env)
    assert (p.returncode, p.stdout, p.stderr) == (0, "completed 1,000/1,000\n", "")


# --------------------------------------------------------------------------- closed pipes, every command


def _closed_pipe_commands(op: str) -> dict[str, list[str]]:
    return {
        "version": ["--version"],
        "help": ["--help"],
        "status-help": ["status", "--help"],
        "config-help": ["config", "--help"],
        "config-path": ["config", "path"],
        "config-show": ["config", "show"],
        "config-show-json": ["config", "show", "-o", "json"],
        "config-list-json": ["config", "list", "-o", "json"],
        "status": ["status", op],
        "status-json": ["status", op, "-o", "json"],
        "get": ["get", op],
        "get-json": ["get", op, "-o", "json"],
        "get-table": ["get", op, "-o", "table"],
        "watch-json": ["watch", op, "-o", "json", "--display", "quiet"],
    }


CLOSED_PIPE_CASES = sorted(_closed_pipe_commands("x"))


@pytest.mark.slow
@pytest.mark.parametrize("case", CLOSED_PIPE_CASES)
def test_a_closed_pipe_is_a_quiet_141_without_pythonunbuffered(sim, knock_env, case):
    """Output small enough to sit in stdout's buffer until the interpreter's final flush: that
    flush used to fail at shutdown ("Exception ignored ... BrokenPipeError", exit 120), hidden
    wherever PYTHONUNBUFFERED=1 was set. The environment here is explicit and has no such thing."""
    op = sim.add(Scenario(queued_seconds=0, duration=0))
    env = minimal_env(knock_env)
    assert not any(name.startswith("PYTHON") for name in env)
    p = into_closed_pipe(_closed_pipe_commands(op)[case], env)
    assert (p.returncode, p.stderr.decode()) == (141, "")


@pytest.mark.slow
@pytest.mark.parametrize("output", ["text", "table", "json"])
def test_get_errors_into_head_is_141_when_the_output_outgrows_the_pipe(sim, knock_env, output):
    """`get $BIG --errors | head -2` in bash: one large write that the reader leaves half-read.

    (An output that fits in the pipe's buffer, 64 KiB on Linux, was accepted whole by the
    kernel before `head` left: exit 0 then, as for `cat` or `seq`; nothing can tell otherwise.)
    """
    big = sim.add(Scenario(total_rows=20_000, error_rate=1.0, queued_seconds=0, duration=0))
    script = f'python -m bulkop get {big} --errors -o {output} | head -2; echo "status=${{PIPESTATUS[0]}}" >&2'
    p = subprocess.run(
        ["bash", "-c", script],
        env=minimal_env(knock_env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert len(p.stdout.splitlines()) == 2
    assert p.stderr == "status=141\n", p.stderr
