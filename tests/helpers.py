"""Helpers shared by test modules, one version of each: the fake clock, servers of a test's own
on 127.0.0.1, processes on pipes and pseudo-terminals, scenarios and bodies, output checks."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import pty
import queue
import re
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console

from bulkop.models import BulkOperation, Status
from bulkop.simulator import Scenario
from bulkop.simulator.operation import EPOCH
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, Result, minimal_env, run_cli

MISSING_ID = "123e4567-e89b-12d3-a456-426614174000"
# Short everything, so a fault costs milliseconds.
GET_FAST = ["--request-timeout", "0.5", "--retries", "1"]

# --------------------------------------------------------------------------- time


class Spinning(AssertionError):
    """The code under test read the clock over and over without sleeping: a busy loop."""


class FakeClock:
    """Seconds that move only by hand (`clock.t += 5`) or when bulkop sleeps. Hand it to a
    Simulator as its clock and to bulkop as `now`/`sleep`/`wall`, and nothing moves between
    two requests: a ten-minute watch runs in milliseconds, deterministically.

    `clock` (the call) reads the time; `clock.now` reads it too but counts: a loop that reads
    it thousands of times without sleeping fails (`Spinning`) instead of hanging. Every sleep
    is recorded in `sleeps` and must be positive (or, with `zero_sleeps`, not negative: a
    server's `Retry-After: 0` is a wait of 0); `at(t, action)` runs an action when simulated
    time reaches t (e.g. stop the server).
    """

    def __init__(self, start: float = 0.0, spin_limit: int = 2_000, zero_sleeps: bool = False) -> None:
        self.t = start
        self.zero_sleeps = zero_sleeps
        self.sleeps: list[float] = []
        self.spin_limit = spin_limit
        self._reads = 0
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.t

    def now(self) -> float:
        self._reads += 1
        if self._reads > self.spin_limit:
            raise Spinning(f"the clock was read {self.spin_limit:,} times at t={self.t!r} without a sleep")
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0 or (self.zero_sleeps and seconds == 0), f"slept {seconds!r}"
        self.sleeps.append(seconds)
        self.t += seconds
        self._reads = 0
        due = [a for a in self._actions if a[0] <= self.t]
        self._actions = [a for a in self._actions if a[0] > self.t]
        for _, action in due:
            action()

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.t)

    def at(self, t: float, action: Callable[[], None]) -> None:
        self._actions.append((t, action))

    def ctx(self) -> dict[str, Any]:
        """The Context keywords that put bulkop on this clock (now, sleep, wall)."""
        return {"now": self.now, "sleep": self.sleep, "wall": self.wall}


def no_sleep() -> Callable[[float], None]:
    """A Context.sleep that returns at once (retry delays are checked where they matter)."""
    return lambda seconds: None


def cli(clock: FakeClock, args: list[str], env: dict[str, str], stdin: str = "", **ctx: Any) -> Result:
    """`bulkop ARGS` in-process, on the fake clock (now, sleep and the wall clock)."""
    return run_cli(args, env, stdin=stdin, **clock.ctx(), **ctx)


def watch(clock: FakeClock, args: list[str], env: dict[str, str], stdin: str = "", **ctx: Any) -> Result:
    """`bulkop watch ARGS` in-process, on the fake clock."""
    return cli(clock, ["watch", *args], env, stdin, **ctx)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def tty_cli(clock: FakeClock, args: list[str], env: dict[str, str]) -> Result:
    """The real CLI in-process on the fake clock, with a terminal as stdout."""
    from bulkop.cli import run
    from bulkop.context import Context

    out, err = _Tty(), io.StringIO()
    kept = {k: os.environ[k] for k in ("BULKOP_CONFIG", "BULKOP_JOURNAL", "HOME", "PATH") if k in os.environ}
    ctx = Context(stdout=out, stderr=err, stdin=io.StringIO(""), env={**kept, **env, "NO_COLOR": "1"}, **clock.ctx())
    code = run(args, ctx)
    return Result(code, out.getvalue(), err.getvalue())


# --------------------------------------------------------------------------- operations and bodies


def done(**changes: Any) -> Scenario:
    """An operation that is already over when first asked."""
    return Scenario(**{"queued_seconds": 0, "duration": 0, **changes})


def running(**changes: Any) -> Scenario:
    """An operation that is still processing long after the test is over."""
    return Scenario(**{"queued_seconds": 0, "duration": 10_000, **changes})


# The operations the screens show: at 150 s of simulated time one is completed, one processing
# at 40 % and one failed at 60 % with error items.
def screen_completed(**changes: Any) -> Scenario:
    return replace(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=10, duration=100), **changes)


def screen_processing(**changes: Any) -> Scenario:
    base = Scenario(name="users.identify", total_rows=1000, queued_seconds=30, duration=300, error_rate=0.004)
    return replace(base, **changes)


def screen_failed(**changes: Any) -> Scenario:
    base = Scenario(
        name="users.bulk_delete", total_rows=8000, queued_seconds=5, duration=100, error_rate=0.01, fail_at=0.6
    )
    return replace(base, **changes)


def steady(**changes: Any) -> Scenario:
    """1,000 rows at 10 rows/s from the start: processing for 100 simulated seconds."""
    return Scenario(**{"queued_seconds": 0, "total_rows": 1000, "rows_per_second": 10, **changes})


def operation(
    n: int,
    status: Status,
    processed: int,
    total: int = 1000,
    errors: int = 0,
    name: str = "users.identify",
) -> BulkOperation:
    """The BulkOperation a Knock server would send, with `raw` matching the fields."""
    op_id = uuid.UUID(int=n + 1)
    raw = {
        "id": str(op_id),
        "name": name,
        "status": status.value,
        "estimated_total_rows": total,
        "processed_rows": processed,
        "success_count": processed - errors,
        "error_count": errors,
    }
    return BulkOperation(
        id=op_id,
        status=status,
        name=name,
        estimated_total_rows=total,
        processed_rows=processed,
        success_count=processed - errors,
        error_count=errors,
        raw=raw,
    )


VALID_KNOCK = {
    "__typename": "BulkOperation",
    "id": MISSING_ID,
    "name": "users.identify",
    "status": "completed",
    "estimated_total_rows": 10,
    "processed_rows": 10,
    "success_count": 10,
    "error_count": 0,
    "inserted_at": "2026-11-22T12:00:00Z",
    "updated_at": "2026-11-22T12:00:05Z",
    "started_at": "2026-11-22T12:00:01Z",
    "completed_at": "2026-11-22T12:00:05Z",
    "failed_at": None,
}
# `required` in the contract's BulkOperation schema.
REQUIRED = [
    "__typename",
    "id",
    "name",
    "status",
    "estimated_total_rows",
    "processed_rows",
    "success_count",
    "updated_at",
    "inserted_at",
]


def with_(**fields: Any) -> bytes:
    """A valid Knock body with fields changed."""
    return json.dumps({**VALID_KNOCK, **fields}).encode()


def basic_credentials(login: str = SAYMON_LOGIN, password: str = SAYMON_PASSWORD) -> str:
    """What follows `Basic ` in an Authorization header for login:password."""
    return base64.b64encode(f"{login}:{password}".encode()).decode()


def env_for(provider: str, base_url: str, **extra: str) -> dict[str, str]:
    """The environment pointing bulkop at a Knock or SAYMON API on `base_url`, plus `extra`."""
    if provider == "knock":
        return {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": base_url, **extra}
    return {
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_BASE_URL": base_url,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
        **extra,
    }


def write_config(text: str) -> Path:
    """Write the test's config.toml (BULKOP_CONFIG) with `text`, private (0600) as bulkop wants."""
    path = Path(os.environ["BULKOP_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- output checks


def unsafe_chars(text: str, allowed: str = "\n") -> list[str]:
    """Characters a terminal would act on or hide: C0/C1 controls, DEL, bidi/format chars,
    line and paragraph separators."""
    return [ch for ch in text if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


def assert_one_line_error(r: Result | subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The contract of every failure: the documented code, one line `bulkop: error: …`, no traceback."""
    rc = r.code if isinstance(r, Result) else r.returncode
    stderr = r.stderr
    shown = f"exit {rc}\nstderr: {stderr[:2000]!r}"
    assert rc == code, shown
    assert "Traceback" not in stderr and "internal error" not in stderr, shown
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulkop: error: "), shown
    for word in words:
        assert word in stderr, f"{word!r} missing: {shown}"
    return lines[0]


def plain_console(width: int) -> Console:
    """A Rich console that renders into memory without colour, to be read with export_text()."""
    return Console(
        file=io.StringIO(),
        width=width,
        no_color=True,
        force_terminal=False,
        record=True,
        markup=False,
        emoji=False,
        highlight=False,
    )


def assert_cursor_restored(screen: str) -> None:
    """If bulkop hid the cursor, it showed it again afterwards."""
    hidden = screen.rfind("\x1b[?25l")
    assert hidden == -1 or screen.rfind("\x1b[?25h") > hidden, "the cursor was left hidden"


# --------------------------------------------------------------------------- servers of the test's own


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A real HTTP server on 127.0.0.1 (the test's own API, not the simulator), serving from
    construction until the `with` block ends; a subclass answers each GET in `get(handler)`,
    usually with `reply`."""

    protocol_version = "HTTP/1.0"

    def __init__(self, host: str = "127.0.0.1") -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = outer.protocol_version

            def do_GET(self) -> None:
                outer.get(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @staticmethod
    def reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Canned:
    """One canned HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class CannedServer(LocalServer):
    """A LocalServer for answers the simulator does not make (any host in 127/8).

    `answer` is a Canned value, or a function writing its own answer on the handler (it may
    block on `stopping`, like a server that never answers). Every request is recorded.
    """

    protocol_version = "HTTP/1.1"

    def __init__(
        self, answer: Canned | Callable[[BaseHTTPRequestHandler], None] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.answer = answer if answer is not None else Canned()
        self.requests: list[Seen] = []
        self.arrived = threading.Event()
        self.stopping = threading.Event()
        super().__init__(host)

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(Seen(handler.path, {k.lower(): v for k, v in handler.headers.items()}))
        self.arrived.set()
        if callable(self.answer):
            self.answer(handler)
            return
        a = self.answer
        self.reply(handler, a.status, a.body, "", a.headers)

    def __enter__(self) -> CannedServer:
        return self

    def stop(self) -> None:
        self.stopping.set()
        super().stop()


def hold(server: CannedServer) -> Callable[[BaseHTTPRequestHandler], None]:
    """An answer that never comes: the handler waits until the server stops."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        server.stopping.wait(30)
        handler.close_connection = True

    return answer


# --------------------------------------------------------------------------- real processes


def bulkop_process(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """`python -m bulkop ARGS` on pipes, in minimal_env(env)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bulkop", *args],
        env=minimal_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def into_closed_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`python -m bulkop ARGS` writing to a pipe whose reader is gone before the first byte
    (as `bulkop … | head -0`); `env` is the whole environment."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bulkop", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=30,
        )
    finally:
        os.close(write_end)


def journal_env(*extra: dict[str, str], **more: str) -> dict[str, str]:
    """minimal_env() for a subprocess that shares the test's journal."""
    return minimal_env({"BULKOP_JOURNAL": os.environ["BULKOP_JOURNAL"]}, *extra, **more)


class LineReader:
    """Reads a child's stream line by line on a thread, so a test can wait for a given line."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self._queue.put(raw.decode("utf-8", "replace"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream ended without {pattern!r}: {self.lines!r}")
            self.lines.append(line)

    def rest(self, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "".join(self.lines)


def spawn_on_pty(
    args: list[str], env: dict[str, str], rows: int | None = None, cols: int | None = None, controlling: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m bulkop ARGS` with stdin, stdout and stderr on a new pseudo-terminal (rows x cols
    when given; with `controlling`, the child's controlling terminal, which getpass reads and
    where a typed Ctrl-C is a SIGINT, never the developer's). Returns the child and the master."""
    master, slave = pty.openpty()
    if rows is not None and cols is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    session: dict[str, Any] = {}
    if controlling:
        session = {"start_new_session": True, "preexec_fn": lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulkop", *args], stdin=slave, stdout=slave, stderr=slave, env=env, **session
    )
    os.close(slave)
    return proc, master


class PtyProcess:
    """`python -m bulkop …` on a pseudo-terminal that is its controlling terminal (so Ctrl-C,
    typed as \\x03, is a real SIGINT); everything it writes is collected from the master side."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int = 40, cols: int = 100) -> None:
        self.proc, self.master = spawn_on_pty(args, minimal_env(env), rows, cols, controlling=True)
        self.attrs_before = termios.tcgetattr(self.master)
        self.output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def text(self) -> str:
        with self._lock:
            return self.output.decode("utf-8", "surrogateescape")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if time.monotonic() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                raise AssertionError(f"{pattern!r} never appeared on the terminal:\n{self.text()!r}")
            time.sleep(0.02)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self._reader.join(5)
        self.attrs_after = termios.tcgetattr(self.master)
        os.close(self.master)
        return code, self.text()
