"""README.md cannot drift: every `$` line of its console blocks runs against the simulator."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bulkop.errors import EXIT_CODE_HELP
from bulkop.settings import SETTINGS
from bulkop.simulator import Simulator, demo_scenarios

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = str(Path(sys.executable).parent)
# Output that depends on when the command ran: times, durations, ages, the server's port.
VOLATILE = re.compile(r"\d{4}-\d\d-\d\d|\bago\b|\b\d+s\b|\d+m \d+s|127\.0\.0\.1|^\s*c1e582e2e662$|^ID\s+Collection")


@dataclass
class Example:
    line: int
    command: str
    expected_code: int
    output: list[str]


def examples() -> list[Example]:
    found: list[Example] = []
    in_console = False
    current: Example | None = None
    for n, raw in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith("```"):
            in_console = raw.strip() == "```console"
            current = None
            continue
        if not in_console:
            continue
        if raw.startswith("$ "):
            command = raw[2:]
            code = 0
            m = re.search(r"\s+#\s*exit (\d+)\s*$", command)
            if m:
                code, command = int(m.group(1)), command[: m.start()]
            current = Example(n, command, code, [])
            found.append(current)
        elif current is not None:
            current.output.append(raw)
    return found


def tour_variables() -> dict[str, str]:
    """The VAR=value assignments of the README's tour block (the ids and credentials)."""
    text = README.read_text(encoding="utf-8")
    return dict(re.findall(r"(?:^|\s)([A-Z][A-Z_]*)=([^\s#]+)", text.split("## A tour", 1)[1].split("###", 1)[0]))


@pytest.fixture(scope="module")
def demo_sim():
    """The simulator as `bulkop demo serve` runs it (same seed, same scenarios, same ids)."""
    sim = Simulator(port=0, speed=50.0, epoch=datetime.now(UTC)).start()
    ids = [sim.add(s) for s in demo_scenarios()]
    deadline = time.monotonic() + 10
    while sim.now() < 25 and time.monotonic() < deadline:  # let every operation end
        time.sleep(0.05)
    yield sim, ids
    sim.stop()


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    """One config file for the whole README: `config add` then `-p demo get` read like a session."""
    return tmp_path_factory.mktemp("readme") / "config.toml"


@pytest.fixture
def readme_env(demo_sim, config_file):
    sim, ids = demo_sim
    variables = tour_variables()
    # The README's ids are the demo's: if the simulator's seeding changes, the README must too.
    assert [variables["ID"], variables["SLOW"], variables["FAILED"], variables["SAYMON_ID"]] == ids
    env = dict(os.environ)
    env.update(variables)
    env.update(KNOCK_BASE_URL=sim.base_url, PATH=BIN + os.pathsep + env.get("PATH", ""))
    env["BULKOP_CONFIG"] = str(config_file)
    return env


def test_readme_has_console_examples_for_every_command():
    commands = " ".join(e.command for e in examples())
    for verb in ("get", "status", "watch", "config add", "config list", "demo serve"):
        assert f"bulkop {verb}" in commands


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"line{e.line}")
def test_readme_example_runs(example: Example, readme_env, tmp_path):
    if "jq" in example.command and shutil.which("jq") is None:
        pytest.skip("jq is not installed (apt-get install jq)")
    if "demo serve" in example.command:
        _check_demo_serve(example, readme_env)
        return
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", example.command],
        env=readme_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    shown = f"README line {example.line}: {example.command}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == example.expected_code, shown
    assert "Traceback" not in proc.stderr, shown
    actual = {" ".join(line.split()) for line in (proc.stdout + proc.stderr).splitlines()}
    for line in example.output:
        if line.strip() and not VOLATILE.search(line):
            assert " ".join(line.split()) in actual, f"README output line {line!r} not produced\n{shown}"


def _check_demo_serve(example: Example, env: dict[str, str]) -> None:
    command = example.command.replace("--port 8765", "--port 0")
    with subprocess.Popen(["bash", "-c", f"exec {command}"], env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            first = proc.stdout.readline()
            assert re.match(r"bulkop demo server listening on http://127\.0\.0\.1:\d+", first), first
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
    assert proc.returncode == 130


def test_readme_exit_code_table_matches_the_code():
    text = README.read_text(encoding="utf-8")
    for code in EXIT_CODE_HELP:
        assert re.search(rf"^\| {int(code)} \|", text, re.MULTILINE), f"exit code {int(code)} missing from README"


def test_readme_names_every_environment_variable_of_the_settings_table():
    text = README.read_text(encoding="utf-8")
    for setting in SETTINGS:
        for var in setting.env + tuple(v for vs in setting.provider_env.values() for v in vs):
            assert var in text, f"{var} ({setting.name}) is not documented in README"
