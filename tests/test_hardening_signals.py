"""Hardening: Ctrl-C, SIGTERM and a reader that goes away, on real processes and terminals.

Ctrl-C is typed as \\x03 on a pseudo-terminal that is bulkop's controlling terminal, so the
kernel's line discipline sends SIGINT the way a user's keyboard does. Each test checks the
documented exit code (130, 143, 141), that nothing was printed but bulkop's one line (no
traceback), that the terminal is as it was (echo back on, the cursor shown again) and, for a
config write, that the file is intact.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from conftest import KNOCK_TOKEN, minimal_env, run_process
from helpers import (
    CannedServer,
    LineReader,
    PtyProcess,
    assert_cursor_restored,
    bulkop_process,
    done,
    hold,
    into_closed_pipe,
    running,
)

pytestmark = [pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning"), pytest.mark.slow]

OP = "123e4567-e89b-12d3-a456-426614174000"
CONFIG = """\
# bulkop profiles: change them with `bulkop config` (see `bulkop config --help`).
default_profile = "prod"

[profiles.prod]
provider = "knock"
api_key = "sk_test_9f8e7d6c5b4a3f2e1d0c"
retries = 2
"""


def assert_quiet_exit(code: int, expected: int, output: str, *allowed: str) -> None:
    """The exit code, and nothing on the terminal or stderr but the lines allowed."""
    assert code == expected, f"exit {code}:\n{output}"
    assert "Traceback" not in output and "Exception ignored" not in output, output
    assert "internal error" not in output, output
    for line in output.splitlines():
        if line.strip():
            assert any(word in line for word in allowed), f"unexpected line {line!r} in:\n{output}"


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_get_is_exit_130_and_leaves_the_terminal_alone():
    with CannedServer() as server:
        server.answer = hold(server)  # the request arrives and is never answered
        term = PtyProcess(["get", OP], {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.url})
        assert server.arrived.wait(15), term.text()
        term.type(b"\x03")
        code, screen = term.finish()
    assert_quiet_exit(code, 130, screen.replace("^C", ""), "bulkop: interrupted")
    assert term.attrs_after == term.attrs_before


def test_ctrl_c_during_watch_is_exit_130_with_the_last_state_and_the_cursor_back(sim, knock_env):
    op = sim.add(running(name="users.identify"))
    term = PtyProcess(["watch", op, "--interval", "0.2"], {**knock_env, "TERM": "xterm-256color"})
    term.wait_for(r"users\.identify.*processing")
    term.type(b"\x03")
    code, screen = term.finish()
    assert code == 130, screen
    assert "Traceback" not in screen and "internal error" not in screen
    assert "bulkop: interrupted" in screen and "last known state shown" not in screen  # one line, not two
    assert_cursor_restored(screen)
    assert term.attrs_after == term.attrs_before


def test_ctrl_c_at_the_hidden_secret_prompt_restores_echo_and_writes_nothing(isolated_env):
    config_file: Path = isolated_env
    config_file.parent.mkdir(parents=True)
    config_file.write_text(CONFIG)
    config_file.chmod(0o600)
    term = PtyProcess(["config", "add", "staging", "--provider", "knock"], {})
    term.wait_for(r"api_key for profile staging \(input hidden\)")  # getpass turns echo off first
    assert not termios.tcgetattr(term.master)[3] & termios.ECHO, "the secret would be echoed"
    term.type(b"\x03")
    code, screen = term.finish()
    assert code == 130, screen
    assert "Traceback" not in screen
    assert term.attrs_after[3] & termios.ECHO, "echo left off: the user's shell would be blind"
    assert config_file.read_text() == CONFIG
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]


def test_sigint_while_a_config_write_waits_for_the_lock_leaves_the_file_intact(isolated_env):
    """Another `bulkop config` holds the lock; this one is interrupted mid-update."""
    config_file: Path = isolated_env
    config_file.parent.mkdir(parents=True)
    config_file.write_text(CONFIG)
    config_file.chmod(0o600)
    lock = config_file.with_name("config.toml.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with bulkop_process(["config", "set", "prod", "retries", "5"], {}) as proc:
            _wait_until_blocked_on_the_lock(proc.pid, lock)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(15)
            stderr = proc.stderr.read().decode()
    finally:
        os.close(fd)
    assert_quiet_exit(code, 130, stderr, "bulkop: interrupted")
    assert config_file.read_text() == CONFIG
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml", "config.toml.lock"]
    fd = os.open(lock, os.O_RDWR)  # and the interrupted process holds no lock any more
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def _wait_until_blocked_on_the_lock(pid: int, path: Path, timeout: float = 15.0) -> None:
    """Until the process has the lock file open and sleeps in the kernel's lock wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opened = any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
            waiting = "lock" in Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            opened = waiting = False
        if opened and waiting:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never waited for {path}")


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_during_the_live_watch_is_exit_143_with_the_cursor_back(sim, knock_env):
    op = sim.add(running(name="users.identify"))
    term = PtyProcess(["watch", op, "--interval", "0.2"], {**knock_env, "TERM": "xterm-256color"})
    term.wait_for(r"users\.identify.*processing")
    term.proc.send_signal(signal.SIGTERM)
    code, screen = term.finish()
    assert code == 143, screen
    assert "Traceback" not in screen
    assert "bulkop: terminated" in screen and "last known state shown" not in screen
    assert_cursor_restored(screen)
    assert term.attrs_after == term.attrs_before


def test_sigterm_during_a_ci_watch_is_exit_143_with_the_last_state(sim, knock_env):
    op = sim.add(running(name="users.identify"))
    with bulkop_process(["watch", op, "--interval", "0.2"], {**knock_env, "CI": "true"}) as proc:
        err = LineReader(proc.stderr)
        err.wait_for(r"users\.identify .* processing")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        stderr = err.rest()
    assert code == 143, stderr
    assert "Traceback" not in stderr
    # How to pick up again: `--unfinished` when the journal already holds it as unfinished
    # (its write may still be under way when the signal comes), else its id.
    assert stderr.splitlines()[-1] in (
        "bulkop: terminated; resume with: bulkop watch --unfinished",
        f"bulkop: terminated; resume with: bulkop watch {op}",
    ), stderr
    assert "last known state" in stderr


def test_sigterm_during_get_is_exit_143():
    with CannedServer() as server:
        server.answer = hold(server)
        with bulkop_process(["get", OP], {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.url}) as proc:
            assert server.arrived.wait(15)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(15)
            stderr = proc.stderr.read().decode()
    assert_quiet_exit(code, 143, stderr, "bulkop: terminated")


# --------------------------------------------------------------------------- the reader goes away


def big_outputs(sim) -> dict[str, list[str]]:
    """Commands whose output is far more than a pipe holds, so `head -c1` leaves mid-write."""
    many_errors = sim.add(done(total_rows=5_000, error_rate=1.0))  # ~150 KiB as text
    some_errors = sim.add(done(total_rows=2_000, error_rate=1.0, name="padded_collection_name_for_wide_rows.x"))
    many = [sim.add(done(name=f"op-{n}")) for n in range(200)]
    return {
        "get-text": ["get", many_errors, "-o", "text", "--errors"],
        "get-table": ["get", some_errors, "-o", "table", "--errors"],
        "get-json": ["get", many_errors, "-o", "json"],
        "get-jsonl": ["get", *many, "-o", "jsonl"],
        "watch-json": ["watch", *many, "-o", "json", "--display", "quiet", "--max-rps", "1000"],
    }


# PYTHONUNBUFFERED=1 (common in CI and Docker) made stdout a raw file whose short writes were
# ignored: a reader leaving mid-output cost the rest silently, and the exit was 0 (issue 12).
UNBUFFERED = pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])


@UNBUFFERED
@pytest.mark.parametrize("case", ["get-text", "get-table", "get-json", "get-jsonl", "watch-json"])
def test_head_c1_reading_one_byte_is_a_quiet_exit_141(sim, knock_env, case, unbuffered):
    args = big_outputs(sim)[case]
    env = minimal_env(knock_env, PYTHONUNBUFFERED="1") if unbuffered else minimal_env(knock_env)
    with subprocess.Popen(
        [sys.executable, "-m", "bulkop", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        head = subprocess.run(["head", "-c1"], stdin=proc.stdout, capture_output=True, timeout=30, env=env)
        proc.stdout.close()
        code = proc.wait(30)
        stderr = proc.stderr.read().decode()
    assert len(head.stdout) == 1
    assert_quiet_exit(code, 141, stderr)


def closed_pipe_cases(sim) -> dict[str, list[str]]:
    op = sim.add(done())
    return {
        "version": ["--version"],
        "help": ["--help"],
        "get-help": ["get", "--help"],
        "get-text": ["get", op],
        "get-table": ["get", op, "-o", "table"],
        "get-json": ["get", op, "-o", "json"],
        "status": ["status", op],
        "status-json": ["status", op, "-o", "json"],
        "watch-json": ["watch", op, "-o", "json", "--display", "quiet"],
        "config-path": ["config", "path"],
        "config-show": ["config", "show"],
        "list": ["list"],
    }


@pytest.mark.parametrize(
    "case",
    [
        "version",
        "help",
        "get-help",
        "get-text",
        "get-table",
        "get-json",
        "status",
        "status-json",
        "watch-json",
        "config-path",
        "config-show",
        "list",
    ],
)
@UNBUFFERED
def test_a_reader_gone_before_the_first_byte_is_a_quiet_exit_141(sim, knock_env, case, unbuffered):
    args = closed_pipe_cases(sim)[case]
    if case == "list":
        assert run_process(["get", sim.add(done())], knock_env).returncode == 0  # something to list
    env = minimal_env(knock_env, PYTHONUNBUFFERED="1") if unbuffered else minimal_env(knock_env)
    p = into_closed_pipe(args, env)
    assert_quiet_exit(p.returncode, 141, p.stderr.decode())


# --------------------------------------------------------------------------- a server that never answers

OPS = [
    "123e4567-e89b-12d3-a456-426614174000",
    "223e4567-e89b-12d3-a456-426614174000",
    "323e4567-e89b-12d3-a456-426614174000",
]
SILENT_CASES = {
    # command → (arguments, how many requests arrive before the signal)
    "get-several": (["get", *OPS], 3),
    "get-several-json": (["get", *OPS, "-o", "jsonl"], 3),
    "status": (["status", OPS[0]], 1),
    "watch-lines": (["watch", *OPS[:2], "--display", "lines"], 2),
    "watch-json": (["watch", *OPS, "-o", "json", "--display", "quiet"], 3),
}


def silent_env(isolated_env: Path, base_url: str) -> dict[str, str]:
    """Only what bulkop needs (conftest's minimal environment) plus the key and the server."""
    return minimal_env(KNOCK_API_KEY=KNOCK_TOKEN, BULKOP_BASE_URL=base_url, BULKOP_CONFIG=str(isolated_env))


@pytest.mark.parametrize("case", sorted(SILENT_CASES))
@pytest.mark.parametrize(
    ("sig", "code", "line"), [(signal.SIGINT, 130, "bulkop: interrupted"), (signal.SIGTERM, 143, "bulkop: terminated")]
)
def test_a_signal_ends_every_command_while_the_server_never_answers(isolated_env, case, sig, code, line):
    """Issue 12 #4: Ctrl-C or SIGTERM while every request hangs: the documented exit, at once
    (the server would hold the requests for 30 s; nothing waits for it)."""
    args, requests = SILENT_CASES[case]
    with CannedServer() as server:
        server.answer = hold(server)
        with subprocess.Popen(
            [sys.executable, "-m", "bulkop", *args],
            env=silent_env(isolated_env, server.url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as proc:
            deadline = time.monotonic() + 15
            while len(server.requests) < requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(server.requests) >= requests, proc.stderr.read1().decode() if proc.poll() else ""
            proc.send_signal(sig)
            try:
                got = proc.wait(10)  # far less than the server's 30 s hold
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{case}: still running 10 s after the signal") from None
            stderr = proc.stderr.read().decode()
    assert got == code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    last = stderr.splitlines()[-1]
    if case.startswith("watch"):  # the one line says how to pick up again, SIGTERM too
        # Never answered, so not in the journal: `--unfinished` would not find them; the ids do.
        ids = [a for a in args if a in OPS]
        assert last == f"{line}; resume with: bulkop watch {' '.join(ids)}", stderr
    else:
        assert last == line, stderr
