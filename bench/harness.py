"""Child processes measured one at a time (wall, CPU, peak RSS via launch.py), on pipes or a pty."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
# The console script is what users run; `python -m bulkop` is the fallback for an odd install.
_SCRIPT = Path(PYTHON).with_name("bulkop")
BULKOP = [str(_SCRIPT)] if _SCRIPT.exists() else [PYTHON, "-m", "bulkop"]
_LAUNCHER = Path(__file__).with_name("launch.py")

TTY_COLUMNS, TTY_ROWS = 120, 40

# Inherited variables that would change what bulkop, Python or Rich does from one machine to the
# next. PYTHON* matters: a sandbox with PYTHONDONTWRITEBYTECODE=1 recompiles every module of an
# editable install on every run, and PYTHONUNBUFFERED=1 makes big outputs one syscall per write.
_SCRUB_PREFIXES = ("BULKOP_", "KNOCK_", "SAYMON_", "TTY_", "_TYPER_", "GITHUB_", "PYTHON")
_SCRUB_NAMES = {"FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES", "TERMINAL_WIDTH", "CI", "TERM"}
_KEEP = {"PYTHONPATH", "PYTHONHOME"}


@dataclass(frozen=True)
class Outcome:
    """What one child process cost and said."""

    wall: float  # seconds, fork to reap
    cpu: float  # seconds, user + system (its waited-for descendants included)
    rss_mb: float  # peak resident set, MiB
    code: int
    out: bytes  # stdout (for a pty: everything written to the terminal)
    err: bytes

    def tail(self, limit: int = 300) -> str:
        text = (self.err or self.out).decode("utf-8", "replace").strip()
        return text[-limit:] or "(no output)"


class ChildFailed(RuntimeError):
    """A measured command exited with an unexpected code: its number would mean nothing."""


class TimedOut(ChildFailed):
    """A measured command was killed at its time limit: `seconds` is a lower bound of its time."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


def clean_env(extra: Mapping[str, str] | None = None, home: str | None = None) -> dict[str, str]:
    """The parent's environment minus anything bulkop, Rich or typer would read, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in _KEEP or not (name.startswith(_SCRUB_PREFIXES) or name in _SCRUB_NAMES)
    }
    if home is not None:
        # No developer config may leak into a measurement.
        env["BULKOP_CONFIG"] = os.path.join(home, "config.toml")
        env["XDG_CONFIG_HOME"] = home
        env["XDG_STATE_HOME"] = home  # the journal, too, stays in the run's directory
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    tty: bool = False,
    timeout: float = 120.0,
    expect: int | None = 0,
) -> Outcome:
    """Run one command to completion and return its cost; `expect=None` accepts any exit code."""
    runner = _run_tty if tty else _run_piped
    outcome = runner(list(argv), dict(env), timeout)
    if expect is not None and outcome.code != expect:
        raise ChildFailed(f"`{_show(argv)}` exited {outcome.code} (expected {expect}): {outcome.tail()}")
    return outcome


def _run_piped(argv: list[str], env: dict[str, str], timeout: float) -> Outcome:
    # Files, not pipes: nothing in this process has to drain them while the child runs.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        usage = _launch(argv, env, timeout, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        return Outcome(*usage, out.read(), err.read())


def _run_tty(argv: list[str], env: dict[str, str], timeout: float) -> Outcome:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", TTY_ROWS, TTY_COLUMNS, 0, 0))
    env = {**env, "TERM": env.get("TERM") or "xterm-256color"}
    chunks: list[bytes] = []

    def drain() -> None:
        # A terminal that nobody reads fills up and blocks the child: read until it hangs up.
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once every writer has closed the slave side
                return
            if not data:
                return
            chunks.append(data)

    slave_open = True

    def close_slave() -> None:
        # Once the child holds the slave side, the master sees EOF/EIO when the child exits.
        nonlocal slave_open
        os.close(slave)
        slave_open = False

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        usage = _launch(
            argv, env, timeout, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, after_start=close_slave
        )
    finally:
        if slave_open:
            os.close(slave)
    reader.join(5)
    os.close(master)
    return Outcome(*usage, b"".join(chunks), b"")


def _launch(
    argv: list[str],
    env: dict[str, str],
    timeout: float,
    after_start: Callable[[], None] | None = None,
    **popen: object,
) -> tuple[float, float, float, int]:
    """Run argv through launch.py; returns (wall s, CPU s, peak RSS MiB, exit code)."""
    with tempfile.NamedTemporaryFile(prefix="bulkop-bench-", suffix=".json") as result:
        proc = subprocess.Popen(
            [PYTHON, "-I", "-S", str(_LAUNCHER), result.name, f"{timeout:g}", "--", *argv],
            env=env,
            **popen,  # type: ignore[arg-type]
        )
        if after_start is not None:
            after_start()
        try:
            proc.wait(timeout + 30)  # launch.py kills the command at `timeout` itself
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        data = json.loads(Path(result.name).read_text() or "null")
    if proc.returncode != 0 or not data:
        raise ChildFailed(f"launch.py exited {proc.returncode} running `{_show(argv)}`")
    if data["code"] == -9:
        raise TimedOut(f"`{_show(argv)}` did not finish in {timeout:g} s", data["wall"])
    return data["wall"], data["cpu"], data["rss_kib"] / 1024, data["code"]


def _show(argv: Sequence[str]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------- interleaving


def rounds(
    cases: Mapping[str, Callable[[], Outcome]], count: int, *, seed: int = 0, warmup: bool = True
) -> dict[str, list[Outcome]]:
    """Run every case once per round, in a shuffled order each round, `count` rounds.

    Each round is one A B A B … step for every pair drawn from it: drift (CPU frequency, page
    cache, a noisy neighbour) hits both sides of a ratio alike. A warm-up round fills the
    page cache and writes .pyc files so that no case pays for them once.
    """
    rng = random.Random(seed)
    names = list(cases)
    if warmup:
        for name in names:
            cases[name]()
    results: dict[str, list[Outcome]] = {name: [] for name in names}
    for _ in range(count):
        rng.shuffle(names)
        for name in names:
            results[name].append(cases[name]())
    return results


@dataclass(frozen=True)
class Spread:
    median: float
    min: float
    max: float
    n: int


def spread(values: Sequence[float]) -> Spread:
    return Spread(statistics.median(values), min(values), max(values), len(values))


def pair_ratios(a: Sequence[float], b: Sequence[float]) -> Spread:
    """Median, min and max of the per-round ratios a[i] / b[i]."""
    return spread([x / y for x, y in zip(a, b, strict=True)])
