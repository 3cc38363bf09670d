"""Hardening: every fault a server or a network can throw at bulkop, end to end.

Each test injects one fault with the project's simulator (or, for what the simulator cannot
do, a tiny canned server) on 127.0.0.1, runs the real CLI (in-process through `run_cli`, or as
a real `python -m bulkop` process where timing, processes or the resolver matter) and checks
three things: the exit code, one line on stderr saying what happened, and no traceback.

docs/reliability.md lists every fault tested here; the last test keeps that table honest.
"""

from __future__ import annotations

import ast
import email.utils
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bulkop.errors import ExitCode
from bulkop.simulator.external import SimulatorProcess
from conftest import KNOCK_TOKEN, Result, minimal_env, run_cli
from helpers import (
    GET_FAST,
    MISSING_ID,
    REQUIRED,
    VALID_KNOCK,
    Canned,
    CannedServer,
    FakeClock,
    LineReader,
    assert_one_line_error,
    basic_credentials,
    bulkop_process,
    done,
    env_for,
    free_port,
    with_,
)

# typer 0.24 imports helpers that click 8.5 deprecates, and pyproject makes warnings errors.
pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

TESTS = Path(__file__).parent
RELIABILITY_DOC = TESTS.parent / "docs" / "reliability.md"
SAYMON_ID = "job-42"
# Short everything, so a fault costs milliseconds (the acceptance budget is minutes for all).
WATCH_FAST = ["--request-timeout", "0.5", "--interval", "0.2", "--max-consecutive-failures", "2"]


# --------------------------------------------------------------------------- helpers


def assert_json_error(r: Result, code: int, *words: str) -> dict:
    """Under -o json the one line on stderr is a JSON object, and stdout stays empty."""
    assert r.code == code, r.stderr
    assert r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    error = json.loads(lines[0])["error"]
    assert error["exit_code"] == code and error["type"] and error["message"]
    for word in words:
        assert word in error["message"], error
    return error


# --------------------------------------------------------------------------- the fault matrix

# fault → (exit code, words the one line must hold); every simulator fault is here.
FAULT_OUTCOMES: dict[str, tuple[int, tuple[str, ...]]] = {
    "close_mid_body": (6, ("connection broke",)),
    "disconnect": (6, ("connection broke",)),
    "invalid_json": (6, ("not JSON",)),
    "truncated_json": (6, ("not JSON",)),
    "html_200": (6, ("HTTP 200", "text/html", "not JSON", "502 Bad Gateway")),
    "empty_body": (6, ("(empty body)",)),
    "gzip": (0, ()),
    "wrong_shape": (6, ("invalid",)),
    "huge": (6, ("cap", "BULKOP_MAX_BODY_SIZE")),
    "redirect": (6, ("not followed",)),
}
COMMANDS = ["get", "get-json", "status", "watch"]


def run_command(command: str, op: str, env: dict[str, str], clock: FakeClock | None = None) -> Result:
    clock = clock or FakeClock()
    args = {
        "get": ["get", op, *GET_FAST],
        "get-json": ["get", op, "-o", "json", *GET_FAST],
        "status": ["status", op, *GET_FAST],
        "watch": ["watch", op, "--display", "quiet", *WATCH_FAST],
    }[command]
    return run_cli(args, env, now=clock.now, sleep=clock.sleep)


MATRIX = [(c, p) for p in ("knock", "saymon") for c in COMMANDS]


@pytest.mark.parametrize(("command", "provider"), MATRIX, ids=[f"{c}-{p}" for c, p in MATRIX])
@pytest.mark.parametrize("fault", sorted(FAULT_OUTCOMES))
def test_fault_matrix(sim, fault, command, provider):
    """Every simulator fault, through every command, on both APIs: the code and one clean line."""
    with CannedServer(host="127.0.0.2") as elsewhere:
        op = sim.add(
            done(
                provider=provider,
                fault=fault,
                huge_bytes=300_000,
                redirect_to=f"{elsewhere.url}/v1/bulk_operations/{MISSING_ID}",
            )
        )
        env = {**env_for(provider, sim.base_url), "BULKOP_MAX_BODY_SIZE": "100000"}
        r = run_command(command, op, env)
        code, words = FAULT_OUTCOMES[fault]
        if code == 0:
            assert (r.code, r.stderr) == (0, ""), r.stderr
        elif command == "get-json":
            assert_json_error(r, code, *words)
        else:
            line = assert_one_line_error(r, code, *words)
            if command == "watch" and fault == "redirect":  # asking again gets the same redirect
                assert "failed polls in a row" not in line
            elif command == "watch":
                assert "(2 failed polls in a row)" in line
        assert elsewhere.requests == []  # a redirect's target never hears from bulkop


@pytest.mark.parametrize("command", ["get", "status", "watch"])
def test_server_that_accepts_and_never_answers_is_a_read_timeout(sim, knock_env, command):
    op = sim.add(done(fault="hang"))
    timeout = ["--request-timeout", "0.3"]
    args = {
        "get": ["get", op, *timeout, "--retries", "0"],
        "status": ["status", op, *timeout, "--retries", "0"],
        "watch": ["watch", op, "--display", "quiet", *timeout, "--max-consecutive-failures", "1"],
    }[command]
    started = time.monotonic()
    r = run_cli(args, knock_env, sleep=lambda s: None)
    elapsed = time.monotonic() - started
    assert_one_line_error(r, 6, "timed out after 0.3s")
    # It waited for the deadline, and ended (a hang would have no end at all): not a speed goal,
    # so the upper bound is far off, for a loaded machine.
    assert 0.3 <= elapsed < 10


@pytest.mark.slow
def test_read_timeout_in_a_real_process_ends_within_the_configured_timeout(sim, knock_env):
    op = sim.add(done(fault="hang"))
    started = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "bulkop", "get", op, "--request-timeout", "0.5", "--retries", "0"],
        env=minimal_env(knock_env),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert_one_line_error(p, 6, "timed out after 0.5s")
    assert 0.5 <= elapsed < 15  # waited for the deadline, then ended (not a speed goal)


# --------------------------------------------------------------------------- JSON of the wrong shape


def without(name: str) -> bytes:
    return json.dumps({k: v for k, v in VALID_KNOCK.items() if k != name}).encode()


# case → (body, words); each is a body a Knock server could send with 200.
WRONG_SHAPES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    # The definition names bulkop's field and the body's key: "field 'total' (… = 'estimated_total_rows')".
    **{f"missing-{name}": (without(name), (f"= '{name}') is missing or null",)) for name in REQUIRED},
    **{f"null-{name}": (with_(**{name: None}), (f"= '{name}') is missing or null",)) for name in REQUIRED},
    "status-outside-the-enum": (with_(status="exploded"), ("= 'status') is \"exploded\", not one of",)),
    "status-in-capitals": (with_(status="COMPLETED"), ("not one of",)),
    "status-a-number": (with_(status=3), ("= 'status') is 3, not one of",)),
    "string-count": (with_(processed_rows="10"), ("= 'processed_rows') should be an integer, got a string",)),
    "fractional-count": (with_(processed_rows=10.5), ("= 'processed_rows') should be an integer",)),
    "boolean-count": (with_(success_count=True), ("= 'success_count') should be an integer, got a boolean",)),
    "infinite-count": (b'{"processed_rows": 1e999, ' + without("processed_rows")[1:], ("should be an integer",)),
    "nan-count": (b'{"processed_rows": NaN, ' + without("processed_rows")[1:], ("should be an integer",)),
    "id-not-a-uuid": (with_(id="not-a-uuid"), ("should be a UUID",)),
    "date-not-rfc3339": (with_(updated_at="yesterday"), ("= 'updated_at') should be an RFC 3339",)),
    "date-without-timezone": (with_(updated_at="2026-11-22T12:00:00"), ("with a timezone",)),
    "date-a-number": (with_(inserted_at=1764000000), ("should be a date-time string",)),
    "error-items-a-string": (with_(error_items="many"), ("= 'error_items') should be an array",)),
    "error-item-a-number": (with_(error_items=[1]), ("[0] should be an object",)),
    "error-item-without-id": (with_(error_items=[{"collection": "users"}]), ("[0].id should be a string, got null",)),
    "error-item-numeric-id": (with_(error_items=[{"id": 7}]), ("[0].id should be a string",)),
    "error-item-bad-collection": (
        with_(error_items=[{"id": "u1", "collection": ["x"]}]),
        ("collection should be a string or null",),
    ),
    "top-level-array": (b"[]", ("got an array",)),
    "top-level-string": (b'"completed"', ("got a string",)),
    "top-level-number": (b"42", ("got a number",)),
    "top-level-null": (b"null", ("got null",)),
    "number-beyond-int-limits": (b"9" * 5000, ("not JSON",)),
    "not-utf8": (b'{"name": "\xff\xfe"}', ("not JSON",)),
    "deeply-nested": (b"[" * 100_000, ()),
}


@pytest.mark.parametrize("case", list(WRONG_SHAPES))
def test_knock_json_of_the_wrong_shape_is_exit_6_naming_the_problem(case):
    body, words = WRONG_SHAPES[case]
    with CannedServer(Canned(200, body)) as server:
        r = run_cli(["get", MISSING_ID, *GET_FAST], env_for("knock", server.url), sleep=lambda s: None)
    line = assert_one_line_error(r, 6, *words)
    assert "invalid knock operation" in line or "not JSON" in line or "cannot be" in line, line
    assert len(server.requests) == 1  # a wrong answer is not retried by `get`


SAYMON_SHAPES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "finished-a-string": (b'{"finished": "true"}', ("= 'finished') is \"true\", not one of false, true",)),
    "finished-null": (b'{"finished": null}', ("= 'finished') is missing or null",)),
    "finished-a-number": (b'{"finished": 1}', ("is 1, not one of false, true",)),
    "finished-missing": (b'{"done": true}', ("= 'finished') is missing or null",)),
    "top-level-array": (b"[true]", ("got an array",)),
    "deeply-nested": (b'{"finished": ' + b"[" * 100_000, ()),
}


@pytest.mark.parametrize("case", list(SAYMON_SHAPES))
def test_saymon_json_of_the_wrong_shape_is_exit_6_naming_the_problem(case):
    body, words = SAYMON_SHAPES[case]
    with CannedServer(Canned(200, body)) as server:
        r = run_cli(["status", SAYMON_ID, *GET_FAST], env_for("saymon", server.url), sleep=lambda s: None)
    assert_one_line_error(r, 6, *words)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
@pytest.mark.parametrize("mode", ["table", "json"])
def test_timestamps_at_the_edge_of_the_calendar_never_crash_a_view(when, mode):
    """Python parses these, but they cannot be shown in UTC: the answer is invalid, not a crash."""
    with CannedServer(Canned(200, with_(started_at=when))) as server:
        r = run_cli(["get", MISSING_ID, "-o", mode, *GET_FAST], env_for("knock", server.url))
    if mode == "json":  # under -o json the one-line error is a JSON object
        assert r.code == 6 and r.stdout == "", r.stderr
        (line,) = r.stderr.splitlines()
        error = json.loads(line)["error"]
        assert error["exit_code"] == 6 and "started_at" in error["message"]
    else:
        assert_one_line_error(r, 6, "started_at")


# --------------------------------------------------------------------------- bodies: size and encoding


def chunked(total: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """A body with no Content-Length (chunked), far over any cap."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        piece = b"x" * 65536
        sent = 0
        try:
            while sent < total:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:  # bulkop hung up once over its cap, as it should
            pass
        handler.close_connection = True

    return answer


def test_a_chunked_body_without_length_far_over_the_cap_is_cut_off():
    with CannedServer(chunked(50 * 1024 * 1024)) as server:
        started = time.monotonic()
        r = run_cli(["get", MISSING_ID, *GET_FAST], {**env_for("knock", server.url), "BULKOP_MAX_BODY_SIZE": "200000"})
    assert_one_line_error(r, 6, "cap", "more than that")
    assert time.monotonic() - started < 5  # stopped reading, did not swallow 50 MiB


def test_a_gzip_bomb_is_measured_after_decompression():
    bomb = gzip.compress(b"0" * (20 * 1024 * 1024), mtime=0)  # 20 MiB of zeros in ~20 KiB
    assert len(bomb) < 100_000
    answer = Canned(200, bomb, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")))
    with CannedServer(answer) as server:
        r = run_cli(["get", MISSING_ID, *GET_FAST], {**env_for("knock", server.url), "BULKOP_MAX_BODY_SIZE": "1000000"})
    assert_one_line_error(r, 6, "cap")


def test_a_corrupt_gzip_body_is_exit_6():
    answer = Canned(
        200,
        b"\x1f\x8b\x08\x00garbage-not-deflate",
        (("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
    )
    with CannedServer(answer) as server:
        r = run_cli(["get", MISSING_ID, *GET_FAST], env_for("knock", server.url))
    assert_one_line_error(r, 6, "cannot be decoded")


# --------------------------------------------------------------------------- 429 storms and 5xx bursts


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


# Retry-After as sent → the range bulkop may wait (seconds); None: no usable value, so backoff.
RETRY_AFTER_CASES = {
    "seconds": ("2", (2.0, 2.0)),
    "zero": ("0", (0.0, 0.0)),
    "absurd-seconds": ("999999999", (60.0, 60.0)),
    # RFC 9110 allows digits only: anything else is as if absent (backoff).
    "negative": ("-5", (0.25, 0.5)),
    "fractional": ("0.25", (0.25, 0.5)),
    "overflowing-seconds": ("1e999", (0.25, 0.5)),
    "underscored": ("1_0", (0.25, 0.5)),
    "infinite": ("inf", (0.25, 0.5)),
    "exponent": ("1e3", (0.25, 0.5)),
    "http-date": (None, (27.0, 30.5)),  # 30 s from now, sent as an HTTP-date
    "http-date-past": ("Thu, 01 Jan 1970 00:00:00 GMT", (0.0, 0.0)),
    "http-date-year-9999": ("Fri, 31 Dec 9999 23:59:59 GMT", (60.0, 60.0)),
    "garbage": ("soon", (0.25, 0.5)),
    "nan": ("nan", (0.25, 0.5)),
    "absent": ("", (0.25, 0.5)),
}


@pytest.mark.parametrize("case", list(RETRY_AFTER_CASES))
def test_rate_limit_waits_as_told_within_bounds_then_succeeds(sim, knock_env, case):
    value, (low, high) = RETRY_AFTER_CASES[case]
    if case == "http-date":
        value = http_date(30)
    op = sim.add(done(rate_limit=1, retry_after=value or None))
    clock = FakeClock(zero_sleeps=True)
    r = run_cli(["get", op, "--retries", "1"], knock_env, now=clock.now, sleep=clock.sleep)
    assert (r.code, r.stderr) == (0, ""), r.stderr
    assert len(clock.sleeps) == 1 and low <= clock.sleeps[0] <= high, clock.sleeps


@pytest.mark.parametrize(
    ("command", "retry_after"), [("get", None), ("get", "Fri, 31 Dec 9999 23:59:59 GMT"), ("status", "999999999")]
)
def test_a_429_storm_is_exit_6_after_the_retries(sim, knock_env, retry_after, command):
    op = sim.add(done(rate_limit=1000, retry_after=retry_after))
    clock = FakeClock()
    r = run_cli([command, op, "--retries", "3"], knock_env, now=clock.now, sleep=clock.sleep)
    assert_one_line_error(r, 6, "rate limiting", "429")
    assert len(sim.requests_for(op)) == 4 and len(clock.sleeps) == 3
    assert all(0 <= s <= 60 for s in clock.sleeps), clock.sleeps


@pytest.mark.parametrize(("retry_after", "pause"), [("2", 2.0), ("999999", 60.0), (None, None)])
def test_watch_waits_out_a_429_storm_and_recovers(sim, knock_env, retry_after, pause):
    op = sim.add(done(rate_limit=3, retry_after=retry_after))
    clock = FakeClock()
    r = run_cli(
        ["watch", op, "--display", "quiet", "--interval", "0.2", "--max-consecutive-failures", "5"],
        knock_env,
        now=clock.now,
        sleep=clock.sleep,
    )
    assert (r.code, r.stderr) == (0, ""), r.stderr
    assert len(sim.requests_for(op)) == 4
    waited = sum(clock.sleeps)
    if pause is not None:
        assert 3 * pause <= waited <= 3 * pause + 3, clock.sleeps  # never less than asked, capped at 60 s
    else:
        assert 1.0 <= waited <= 60, clock.sleeps  # backoff: about 1 s, 2 s, 4 s


def test_watch_gives_up_on_a_429_storm_after_the_failure_budget(sim, knock_env):
    op = sim.add(done(rate_limit=1000, retry_after="999999"))
    clock = FakeClock()
    r = run_cli(["watch", op, "--display", "quiet", *WATCH_FAST], knock_env, now=clock.now, sleep=clock.sleep)
    assert_one_line_error(r, 6, "rate limiting", "(2 failed polls in a row)")
    assert len(sim.requests_for(op)) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_5xx_burst_within_the_retries_is_ridden_out(sim, knock_env, status):
    op = sim.add(done(server_errors=2, server_error_status=status))
    r = run_cli(["get", op, "--retries", "2"], knock_env, sleep=lambda s: None)
    assert (r.code, r.stderr) == (0, ""), r.stderr
    assert len(sim.requests_for(op)) == 3


@pytest.mark.parametrize(
    ("provider", "status"),
    [("knock", 500), ("knock", 501), ("knock", 503), ("knock", 599), ("saymon", 500), ("saymon", 504)],
)
def test_a_5xx_burst_beyond_the_retries_is_exit_6(sim, provider, status):
    op = sim.add(done(provider=provider, server_errors=1000, server_error_status=status))
    r = run_cli(["get", op, *GET_FAST], env_for(provider, sim.base_url), sleep=lambda s: None)
    assert_one_line_error(r, 6, "is failing", str(status))
    retried = status in (502, 503, 504)
    assert len(sim.requests_for(op)) == (2 if retried else 1)


def test_watch_rides_out_a_5xx_burst(sim, knock_env):
    op = sim.add(done(server_errors=3))
    clock = FakeClock()
    r = run_cli(
        ["watch", op, "--display", "lines", "--interval", "0.2", "--max-consecutive-failures", "4"],
        knock_env,
        now=clock.now,
        sleep=clock.sleep,
    )
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert re.search(r"poll failed \(1x\), retrying in [\d.]+s: .* is failing \(503", r.stderr), r.stderr
    assert "completed" in r.stderr.splitlines()[-1]


def test_watch_gives_up_on_a_5xx_burst_after_the_failure_budget(sim, knock_env):
    op = sim.add(done(server_errors=1000))
    clock = FakeClock()
    r = run_cli(["watch", op, "--display", "quiet", *WATCH_FAST], knock_env, now=clock.now, sleep=clock.sleep)
    assert_one_line_error(r, 6, "is failing", "(2 failed polls in a row)")


# --------------------------------------------------------------------------- redirects


REDIRECTS = [
    ("knock", 301, "get"),
    ("knock", 303, "get"),
    ("knock", 307, "status"),
    ("knock", 308, "watch"),
    ("saymon", 307, "get"),
    ("saymon", 308, "watch"),
]


@pytest.mark.parametrize(("provider", "status", "command"), REDIRECTS, ids=["-".join(map(str, r)) for r in REDIRECTS])
def test_a_redirect_to_another_host_is_not_followed_and_the_credentials_stay(provider, status, command):
    """(302 from the simulator to 127.0.0.2 is in the fault matrix.)"""
    with (
        CannedServer(host="127.0.0.2") as elsewhere,
        CannedServer(Canned(status, b"", (("Location", f"{elsewhere.url}/steal"),))) as server,
    ):
        op = MISSING_ID if provider == "knock" else SAYMON_ID
        r = run_command(command, op, env_for(provider, server.url))
        assert_one_line_error(r, 6, f"redirected to {elsewhere.url}/steal; not followed")
        assert elsewhere.requests == []
        assert len(server.requests) == 1  # a redirect is not asked again, by get or by watch
        expected = f"Bearer {KNOCK_TOKEN}" if provider == "knock" else "Basic " + basic_credentials()
        assert {s.headers["authorization"] for s in server.requests} == {expected}


# --------------------------------------------------------------------------- unreachable servers


@pytest.mark.parametrize("command", ["get", "get-json", "status", "watch"])
def test_connection_refused_is_exit_6(command):
    base = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock()
    r = run_command(command, MISSING_ID, env_for("knock", base), clock)
    if command == "get-json":
        assert_json_error(r, 6, "connection refused")
    else:
        assert_one_line_error(r, 6, "connection refused")
    assert clock.sleeps, "refusals are retried"


def _unshare_works() -> bool:
    try:
        return (
            subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10, env=minimal_env()).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -n` (root) to keep DNS queries on this machine")
@pytest.mark.parametrize("command", ["get", "status", "watch"])
def test_a_host_that_does_not_resolve_is_exit_6_and_not_retried(command):
    """`nonexistent.invalid` (RFC 6761), resolved by the real resolver in a network namespace of
    its own, so that the DNS query cannot leave this machine (glibc would ask the nameserver)."""
    args = {
        "get": ["get", MISSING_ID],
        "status": ["status", MISSING_ID],
        # (a watch rides out failed polls, DNS ones too, up to its budget: a budget of 1 here)
        "watch": ["watch", MISSING_ID, "--display", "quiet", "--max-consecutive-failures", "1"],
    }[command]
    env = minimal_env(KNOCK_API_KEY=KNOCK_TOKEN, BULKOP_BASE_URL="https://nonexistent.invalid")
    p = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "bulkop", *args, "--retries", "3", "--debug"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    attempts = [line for line in p.stderr.splitlines() if line.startswith("bulkop: debug: GET ")]
    assert len(attempts) == 1 and "name resolution failed" in attempts[0], p.stderr  # asked once, not retried
    p.stderr = "".join(line + "\n" for line in p.stderr.splitlines() if not line.startswith("bulkop: debug: "))
    assert_one_line_error(p, 6, "nonexistent.invalid", "cannot resolve the host")


# --------------------------------------------------------------------------- the server dies mid-watch


@pytest.mark.slow
def test_watch_survives_the_server_dying_and_coming_back():
    op_id = "6b1a8c3e-2d4f-4a5b-9c7d-0e1f2a3b4c5d"
    first = SimulatorProcess("--knock-token", KNOCK_TOKEN).start()
    port = first.base_url.rsplit(":", 1)[1]
    second = SimulatorProcess("--knock-token", KNOCK_TOKEN, "--port", port)
    try:
        first.add({"id": op_id, "queued_seconds": 0, "duration": 10_000})
        env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": first.base_url}
        with bulkop_process(
            [
                "watch",
                op_id,
                "--display",
                "lines",
                "--interval",
                "0.2",
                "--request-timeout",
                "0.5",
                "--max-consecutive-failures",
                "10",
            ],
            env,
        ) as proc:
            err = LineReader(proc.stderr)
            err.wait_for(r" processing ")
            os.kill(first.pid, signal.SIGKILL)  # dies without a goodbye
            first.stop()
            err.wait_for(r"poll failed \(1x\).*connection refused")
            second.start()
            second.add({"id": op_id, "queued_seconds": 0, "duration": 0})  # finished while we were away
            code = proc.wait(timeout=30)
            stderr = err.rest()
    finally:
        first.stop()
        second.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert re.search(r" completed 100% ", stderr.splitlines()[-1]), stderr


@pytest.mark.slow
def test_watch_gives_up_with_exit_6_when_the_server_stays_dead():
    op_id = "6b1a8c3e-2d4f-4a5b-9c7d-0e1f2a3b4c5e"
    server = SimulatorProcess("--knock-token", KNOCK_TOKEN).start()
    try:
        server.add({"id": op_id, "queued_seconds": 0, "duration": 10_000})
        env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.base_url}
        with bulkop_process(["watch", op_id, "--display", "lines", *WATCH_FAST], env) as proc:
            err = LineReader(proc.stderr)
            err.wait_for(r" processing ")
            os.kill(server.pid, signal.SIGKILL)
            code = proc.wait(timeout=30)
            stderr = err.rest()
    finally:
        server.stop()
    assert code == ExitCode.UNAVAILABLE, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if " error: " in line]
    assert len(errors) == 1 and "connection refused" in errors[0] and "(2 failed polls in a row)" in errors[0], stderr


# --------------------------------------------------------------------------- the reliability table


def _table_rows() -> list[list[str]]:
    """Every body row of every table in docs/reliability.md, split into cells (`\\|` is a pipe)."""
    rows = []
    for line in RELIABILITY_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            if cells[0] != "Fault / input":
                rows.append(cells)
    return rows


HARDENING_FILES = sorted(TESTS.glob("test_hardening_*.py"))


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_test_named_in_the_reliability_table_exists_and_every_hardening_test_is_named():
    rows = _table_rows()
    assert len(rows) >= 40, "docs/reliability.md lost its table"
    named: set[tuple[str, str]] = set()
    for row in rows:
        assert len(row) == 4, f"a row needs 4 cells (fault, what bulkop does, exit code, test): {row}"
        assert re.fullmatch(r"\d+((, | or )\d+)*|-", row[2]), f"exit codes like `6` or `2 or 6`: {row}"
        for file, test in re.findall(r"`(test_[a-z_]+\.py)::(test_[a-z0-9_]+)`", row[3]):
            named.add((file, test))
        assert re.search(r"`test_[a-z_]+\.py::test_", row[3]), f"no test named in {row}"
    for file, test in sorted(named):
        path = TESTS / file
        assert path.exists(), f"docs/reliability.md names {file}, which does not exist"
        assert test in _defined_tests(path), f"docs/reliability.md names {file}::{test}, which does not exist"
    for path in HARDENING_FILES:
        for test in sorted(_defined_tests(path)):
            assert (path.name, test) in named, f"{path.name}::{test} is missing from docs/reliability.md"
