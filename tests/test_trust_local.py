"""Issue 12 "Trust", local side: what bulkop opens on this machine never costs a result.

A journal locked by another process, a journal or step summary path that is a terminal, a pipe
or stdout itself, a journal setting out of range: each is one warning line at most, the command
answers as it would without it, and Ctrl-C / SIGTERM act at once. Real subprocesses, explicit
minimal environments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import KNOCK_TOKEN, minimal_env
from helpers import Canned, CannedServer, done, running

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

# Holds an exclusive transaction on a journal until killed (what /tmp/attack-sec/lockj.py did).
LOCKER = (
    "import sqlite3, sys, time\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(120)\n"
)


def bulkop(args: list[str], env: dict[str, str], timeout: float = 30, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bulkop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=kwargs.pop("stdin", subprocess.DEVNULL),
        **kwargs,
    )


class Locked:
    """Another process holding BEGIN EXCLUSIVE on the journal."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(path)], env=minimal_env(), stdout=subprocess.PIPE, text=True
        )

    def __enter__(self) -> Locked:
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def journal(tmp_path: Path, sim, knock_env) -> tuple[Path, dict[str, str]]:
    """A journal that exists (a first `get` made it), and the environment naming it."""
    path = tmp_path / "locked" / "journal.sqlite3"
    env = minimal_env(knock_env, BULKOP_JOURNAL=str(path))
    assert bulkop(["get", sim.add(done())], env).returncode == 0
    return path, env


# --------------------------------------------------------------------------- a locked journal


@pytest.mark.parametrize(
    "args",
    [["get", "{op}"], ["get", "{op}", "-o", "json"], ["status", "{op}"], ["watch", "{op}", "--display", "lines"]],
    ids=["get", "get-json", "status", "watch"],
)
def test_a_journal_locked_by_another_process_costs_one_warning_not_the_wait(sim, journal, args):
    path, env = journal
    op = sim.add(done())
    with Locked(path):
        # 5 s is a hang guard, not a speed goal: the old busy wait alone was 10 s.
        r = bulkop([a.format(op=op) for a in args], env, timeout=5)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "journal" in warnings[0] and "locked" in warnings[0], r.stderr
    if "json" in args:
        assert json.loads(r.stdout)["id"] == op


def wait_until_open(proc: subprocess.Popen[str], path: Path) -> None:
    """Until the process has the file open (the journal is opened for the end-of-command write)."""
    while proc.poll() is None:
        try:
            fds = os.listdir(f"/proc/{proc.pid}/fd")
            if any(os.readlink(f"/proc/{proc.pid}/fd/{fd}") == str(path) for fd in fds):
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError(f"exit {proc.returncode} before opening {path}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_journal_is_locked_acts_at_once(sim, journal, sig, code):
    path, env = journal
    op = sim.add(running())
    with Locked(path):
        sim.clear_requests()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bulkop", "get", op],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until_open(proc, path)  # the answer is in: bulkop waits for the journal's lock
        proc.send_signal(sig)
        returncode = proc.wait(5)  # a hang guard: the old wait held the signal ~9 s
        stderr = proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert returncode == code, stderr
    assert "Traceback" not in stderr


# --------------------------------------------------------------------------- paths from the environment


def irregular(tmp_path: Path, what: str) -> tuple[Path, Path | None]:
    """(the journal path to give, the thing that must stay untouched)."""
    if what in ("/dev/stdout", "/dev/stderr"):
        return Path(what), None
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if what == "fifo":
        return fifo, fifo
    if what == "link-to-fifo":
        (tmp_path / "link").symlink_to(fifo)
        return tmp_path / "link", fifo
    if what == "directory":
        (tmp_path / "dir").mkdir()
        return tmp_path / "dir", tmp_path / "dir"
    (tmp_path / "journal.sqlite3").write_bytes(b"")  # a regular journal whose sibling is a FIFO
    fifo.rename(tmp_path / f"journal.sqlite3-{what}")
    return tmp_path / "journal.sqlite3", tmp_path / f"journal.sqlite3-{what}"


@pytest.mark.parametrize("what", ["/dev/stdout", "/dev/stderr", "fifo", "link-to-fifo", "directory", "wal", "shm"])
def test_a_journal_path_that_is_not_a_regular_file_is_refused_untouched(sim, knock_env, tmp_path, what):
    path, untouched = irregular(tmp_path, what)
    before = sorted(p.name for p in tmp_path.iterdir())
    op = sim.add(done())
    env = minimal_env(knock_env, BULKOP_JOURNAL=str(path))
    r = bulkop(["watch", "-", "-o", "json"], env, stdin=None, input=f"{op}\n")
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == [op]  # NDJSON, nothing else
    assert "SQLite" not in r.stdout + r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "journal" in warnings[0] and "not a regular file" in warnings[0], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if untouched is not None and what != "directory":
        assert not untouched.is_file()
    if what in ("wal", "shm"):
        assert path.read_bytes() == b""


@pytest.mark.parametrize("what", ["fifo-no-reader", "fifo-with-reader", "/dev/stdout", "directory", "link-to-fifo"])
def test_a_step_summary_that_is_not_a_regular_file_is_refused_without_waiting(sim, knock_env, tmp_path, what):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = None
    if what == "fifo-with-reader":
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    target = {"/dev/stdout": "/dev/stdout", "directory": str(tmp_path), "link-to-fifo": str(tmp_path / "link")}
    if what == "link-to-fifo":
        (tmp_path / "link").symlink_to(fifo)
    op = sim.add(done())
    env = minimal_env(knock_env, GITHUB_ACTIONS="true", CI="true", GITHUB_STEP_SUMMARY=target.get(what, str(fifo)))
    try:
        # 10 s is a hang guard: opening a FIFO without a reader used to wait forever.
        r = bulkop(["watch", op, "-o", "json", "--display", "lines"], env, timeout=10)
        if reader is not None:
            assert os.read(reader, 4096) == b""  # nothing was written into the pipe
    finally:
        if reader is not None:
            os.close(reader)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == [op]
    refused = [line for line in r.stderr.splitlines() if "GITHUB_STEP_SUMMARY" in line]
    assert len(refused) == 1 and "not a regular file" in refused[0], r.stderr


def test_a_step_summary_file_is_still_appended_to(sim, knock_env, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    op = sim.add(done())
    env = minimal_env(knock_env, GITHUB_ACTIONS="true", CI="true", GITHUB_STEP_SUMMARY=str(summary))
    r = bulkop(["watch", op, "--display", "lines"], env)
    assert r.returncode == 0, r.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n### bulkop watch") and op in text


# --------------------------------------------------------------------------- settings and answers


@pytest.mark.parametrize("value", ["1e308", "0", "-5", "3651", "99999999999999999999", "x", "7.5"])
@pytest.mark.parametrize("where", ["config", "env"])
def test_a_bad_journal_days_is_one_warning_and_the_default_from_config_or_env(
    sim, knock_env, tmp_path, isolated_env, value, where
):
    """`journal_days = 1e308` in config.toml made every command exit 7 while the same value in
    BULKOP_JOURNAL_DAYS only warned: both warn now, and the range is 1 to 3650 days."""
    env = minimal_env(knock_env, BULKOP_JOURNAL=str(tmp_path / "j.sqlite3"))
    if where == "config":
        isolated_env.parent.mkdir(parents=True, exist_ok=True)
        literal = value if value.lstrip("-").replace(".", "").replace("e", "").isdigit() else f'"{value}"'
        isolated_env.write_text(f"journal_days = {literal}\n")
        env["BULKOP_CONFIG"] = str(isolated_env)
    else:
        env["BULKOP_JOURNAL_DAYS"] = value
    op = sim.add(done())
    r = bulkop(["get", op, "-o", "json"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == op
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "journal_days" in lines[0] and "1 to 3650" in lines[0] and "using 30" in lines[0]


@pytest.mark.parametrize("value", ["1", "3650", " 14 "])
def test_a_journal_days_in_range_is_used_quietly(sim, knock_env, tmp_path, value):
    env = minimal_env(knock_env, BULKOP_JOURNAL=str(tmp_path / "j.sqlite3"), BULKOP_JOURNAL_DAYS=value)
    r = bulkop(["get", sim.add(done()), "-o", "json"], env)
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.mark.parametrize(
    "args", [["get", "{op}"], ["get", "{op}", "-o", "json"], ["status", "{op}"]], ids=["get", "get-json", "status"]
)
def test_a_304_answer_is_named_as_such_not_as_a_redirect(args):
    op = "123e4567-e89b-12d3-a456-426614174000"
    with CannedServer(answer=Canned(status=304, headers=())) as server:
        env = minimal_env(KNOCK_API_KEY=KNOCK_TOKEN, BULKOP_BASE_URL=server.url)
        r = bulkop([a.format(op=op) for a in args], env)
    assert r.returncode == 6, r.stderr
    assert "304 Not Modified (bulkop sent no conditional request)" in r.stderr
    assert "redirect" not in r.stderr and "nowhere" not in r.stderr
