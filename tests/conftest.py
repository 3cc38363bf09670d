"""Shared fixtures: an isolated environment for every test, the simulator, and a CLI runner."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from bulkop.simulator import Scenario, Simulator

KNOCK_TOKEN = "sk_test_9f8e7d6c5b4a3f2e1d0c"
SAYMON_LOGIN = "ops"
SAYMON_PASSWORD = "s3cret-Pa55word"

_SCRUB_PREFIXES = ("BULKOP_", "KNOCK_", "SAYMON_", "GITHUB_", "FORCE_COLOR", "TTY_", "CI")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's config, credentials, colours or terminal width."""
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name)
    config = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("BULKOP_CONFIG", str(config))
    monkeypatch.setenv("BULKOP_JOURNAL", str(tmp_path / "state" / "journal.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "40")
    monkeypatch.setenv("TERMINAL_WIDTH", "80")
    monkeypatch.setenv("_TYPER_FORCE_DISABLE_TERMINAL", "1")
    monkeypatch.setenv("TZ", "UTC")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    time.tzset()  # in-process runs format local times: make "local" UTC for them too
    return config


# What a subprocess of the suite may see of this process's (already isolated) environment;
# everything else it gets is named by the test. Nothing is copied from os.environ wholesale:
# PYTHONUNBUFFERED, PYTHONWARNINGS, LC_*, a developer's credentials... never leak in.
_PASSED_THROUGH = (
    "BULKOP_CONFIG",
    "XDG_CONFIG_HOME",
    "HOME",
    "NO_COLOR",
    "COLUMNS",
    "LINES",
    "TERMINAL_WIDTH",
    "_TYPER_FORCE_DISABLE_TERMINAL",
)
BIN = str(Path(sys.executable).parent)


def minimal_env(*extra: dict[str, str] | None, **more: str) -> dict[str, str]:
    """The whole environment for a subprocess: PATH (this venv first), HOME, a UTF-8 locale, UTC,
    the isolated config path, no colour, 80 columns, plus what the test names.
    `extra` mappings, then keywords, are applied in order."""
    env = {
        "PATH": os.pathsep.join([BIN, os.environ.get("PATH") or os.defpath]),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }
    env.update({name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ})
    for mapping in extra:
        env.update(mapping or {})
    env.update(more)
    return env


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulators with the test credentials and any other Simulator option (a clock, an
    epoch, a speed); every one started is stopped after the test."""
    started: list[Simulator] = []

    def start(**options: Any) -> Simulator:
        server = Simulator(
            port=0, knock_token=KNOCK_TOKEN, saymon_login=SAYMON_LOGIN, saymon_password=SAYMON_PASSWORD, **options
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """The project's simulator on 127.0.0.1, with the test credentials."""
    return make_sim()


def knock_env_for(server: Simulator) -> dict[str, str]:
    """Environment variables that point bulkop at a simulator's Knock API."""
    return {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.base_url}


def saymon_env_for(server: Simulator) -> dict[str, str]:
    """Environment variables that point bulkop at a simulator's SAYMON API."""
    return {
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_BASE_URL": server.base_url,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
    }


@pytest.fixture
def knock_env(sim: Simulator) -> dict[str, str]:
    return knock_env_for(sim)


@pytest.fixture
def saymon_env(sim: Simulator) -> dict[str, str]:
    return saymon_env_for(sim)


@pytest.fixture
def clock() -> Any:
    """A helpers.FakeClock, shared by a test's simulator (`frozen_sim`) and its CLI runs."""
    from helpers import FakeClock  # helpers imports this module: import it once this one is loaded

    return FakeClock()


@pytest.fixture
def frozen_sim(clock: Any, make_sim: Callable[..., Simulator]) -> Simulator:
    """A simulator on the shared fake clock: its bodies change only when the clock moves."""
    return make_sim(clock=clock)


@pytest.fixture
def env(frozen_sim: Simulator) -> dict[str, str]:
    """The environment pointing bulkop at `frozen_sim`'s Knock API."""
    return knock_env_for(frozen_sim)


class TextScreen(SingleFileSnapshotExtension):
    """One readable .txt file per rendered screen."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def screen(snapshot):
    return snapshot.use_extension(TextScreen)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict[str, str] | None = None, stdin: str = "", **ctx_kwargs) -> Result:
    """Run the real CLI in-process (Typer parsing, commands, rendering, real HTTP)."""
    from bulkop.cli import run
    from bulkop.context import Context

    out, err = io.StringIO(), io.StringIO()
    full_env = dict(os.environ)
    full_env.update(env or {})
    ctx = Context(stdout=out, stderr=err, stdin=io.StringIO(stdin), env=full_env, **ctx_kwargs)
    code = run(args, ctx)
    return Result(code, out.getvalue(), err.getvalue())


def run_process(
    args: list[str], env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bulkop` as a real subprocess (pipes, not a terminal), in minimal_env()."""
    return subprocess.run(
        [sys.executable, "-m", "bulkop", *args],
        env=minimal_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


__all__ = [
    "KNOCK_TOKEN",
    "SAYMON_LOGIN",
    "SAYMON_PASSWORD",
    "Result",
    "Scenario",
    "TextScreen",
    "knock_env_for",
    "minimal_env",
    "run_cli",
    "run_process",
    "saymon_env_for",
]
