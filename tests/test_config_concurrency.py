"""Concurrent `bulkop config` writers in real processes: the file stays valid and nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import minimal_env

pytestmark = pytest.mark.slow


def _env(path: Path) -> dict[str, str]:
    return minimal_env(BULKOP_CONFIG=str(path))


def _start(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bulkop", "config", *args],
        env=_env(path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_all(processes: list[subprocess.Popen[str]]) -> None:
    for p in processes:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err


def test_concurrent_sets_leave_a_valid_file_holding_one_of_the_values(isolated_env: Path) -> None:
    path = isolated_env
    _wait_all([_start(path, "add", "prod", "--provider", "knock", "--api-key-env", "K")])
    retries = [str(n) for n in range(10)]
    timeouts = [f"{n}.5" for n in range(10)]
    processes = [_start(path, "set", "prod", "retries", r) for r in retries]
    processes += [_start(path, "set", "prod", "request_timeout", t) for t in timeouts]
    _wait_all(processes)
    profile = tomllib.loads(path.read_text())["profiles"]["prod"]
    # Both keys survive: no writer overwrote the other's change with a stale copy.
    assert str(profile["retries"]) in retries
    assert str(profile["request_timeout"]) in timeouts
    assert profile["api_key_env"] == "K"
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml", "config.toml.lock"]


def test_concurrent_adds_lose_no_profile(isolated_env: Path) -> None:
    path = isolated_env
    names = [f"p{n}" for n in range(20)]
    _wait_all([_start(path, "add", n, "--provider", "knock", "--api-key-env", "K") for n in names])
    document = tomllib.loads(path.read_text())
    assert sorted(document["profiles"]) == sorted(names)
    assert document["default_profile"] in names
    assert os.stat(path).st_mode & 0o777 == 0o600
