"""README.md cannot drift: every `$` line of its console blocks runs against the simulator."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bulkop.cli import STATUS_POLL_LOOP
from bulkop.errors import EXIT_CODE_HELP
from bulkop.settings import SETTINGS
from bulkop.simulator import Scenario, Simulator, demo_scenarios
from conftest import minimal_env

README = Path(__file__).resolve().parent.parent / "README.md"
# Output that depends on when the command ran: times, durations, ages, the server's port.
VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\d|\bago\b|\b\d+s\b|\d+m \d+s|127\.0\.0\.1|^\s*eb1167b3-[0-9a-f-]+$|^ID\s+Collection"
)


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
    return minimal_env(variables, KNOCK_BASE_URL=sim.base_url, BULKOP_CONFIG=str(config_file))


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


# --------------------------------------------------------------------------- the polling loop


def _status_help() -> str:
    from click.testing import CliRunner

    from bulkop.cli import _command

    result = CliRunner().invoke(_command(), ["status", "--help"], env={"COLUMNS": "200"}, prog_name="bulkop")
    return result.output


def _loops_in(text: str) -> set[str]:
    """Every shell loop over `bulkop status` in a text, as written (prompt and comment removed)."""
    found = set()
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ").strip()
        if re.match(r"(while|until) bulkop status", line):
            found.add(re.sub(r"\s+#.*$", "", line))
    return found


def test_readme_and_status_help_show_the_same_polling_loop():
    readme = README.read_text(encoding="utf-8")
    help_text = _status_help()
    assert _loops_in(help_text) == {STATUS_POLL_LOOP}, help_text
    # The README shows it as is, and with `exit $rc` to end a CI step; never another loop.
    shown = {loop.split("; exit $rc")[0].replace('"$FAILED"', '"$ID"') for loop in _loops_in(readme)}
    assert shown == {STATUS_POLL_LOOP}
    assert "[ $? -eq 3 ]" not in readme + help_text


LOOP_CASES = {
    "completed": Scenario(name="done", total_rows=10, queued_seconds=0, rows_per_second=1000),
    "failed": Scenario(name="broken", total_rows=100, queued_seconds=0, fail_at=0.5),
    # Queued for 2 s: the first poll (a fresh process, slow on a loaded machine) must find it
    # unfinished, so that the loop is seen going round at least once.
    "completes_later": Scenario(name="later", total_rows=100, queued_seconds=2.0, rows_per_second=100),
    "fails_later": Scenario(name="later_fail", total_rows=100, queued_seconds=2.0, fail_at=0.6, rows_per_second=100),
}


@pytest.fixture(scope="module")
def loop_sim():
    sim = Simulator(port=0, knock_token="sk_test_polling_loop_token").start()
    yield sim
    sim.stop()


def _loop_operation(sim: Simulator, case: str) -> str:
    """A fresh operation for each run (one that ends later must still be unfinished at first)."""
    if case == "unknown":
        return "00000000-0000-4000-8000-000000000000"
    return sim.add(LOOP_CASES[case])


LOOP_SOURCES = {
    "readme": lambda: _loops_in(README.read_text(encoding="utf-8")),
    "status-help": lambda: _loops_in(_status_help()),
}


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(LOOP_SOURCES))
@pytest.mark.parametrize(
    ("case", "final"),
    [("completed", 0), ("failed", 1), ("unknown", 5), ("completes_later", 0), ("fails_later", 1)],
)
def test_the_documented_polling_loop_ends_with_the_operations_answer(loop_sim, tmp_path, source, case, final):
    """Each documented loop, run by bash against the simulator, leaves the final answer in $rc
    (and `exit $rc` exits with it): completed, failed, not found, also after polls that said 3."""
    sim = loop_sim
    for loop in sorted(LOOP_SOURCES[source]()):
        op = _loop_operation(sim, case)
        env = minimal_env(
            ID=op,
            FAILED=op,
            KNOCK_API_KEY="sk_test_polling_loop_token",
            KNOCK_BASE_URL=sim.base_url,
            BULKOP_CONFIG=str(tmp_path / "none.toml"),
        )
        # `sleep 5` as written, made short: the loop's logic is what is under test.
        script = f'sleep() {{ command sleep 0.2; }}\n{loop}\necho "rc=$rc"'
        if "exit $rc" in loop:
            script = f"sleep() {{ command sleep 0.2; }}\n{loop}"
        p = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        shown = f"{loop!r} for a {case} operation:\n{p.stdout}{p.stderr}"
        if "exit $rc" in loop:
            assert p.returncode == final, shown
        else:
            assert p.returncode == 0 and p.stdout.splitlines()[-1] == f"rc={final}", shown
        if case.endswith("later"):
            assert re.search(r"^(queued|processing)", p.stdout, re.MULTILINE), f"never polled while unfinished: {shown}"


# --------------------------------------------------------------------------- --help examples


def _help_examples(prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    from bulkop import _gen
    from bulkop.cli import _command

    found = []
    for page in _gen.pages(_command()):
        name = " ".join(page.path[1:])
        if name.startswith(prefixes):
            for example in _gen.split_epilog(page.command.epilog).examples:
                if not example.prose:
                    found.extend((name, line) for line in example.lines)
    return found


HELP_EXAMPLES = _help_examples(("get", "status", "config"))
EXAMPLE_UUID = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture(scope="module")
def examples_sim():
    sim = Simulator(port=0, knock_token="sk_test_help_examples_token").start()
    yield sim
    sim.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("page", "line"), HELP_EXAMPLES, ids=[f"{p}:{n}" for n, (p, _) in enumerate(HELP_EXAMPLES)])
def test_every_help_example_of_get_status_and_config_runs(examples_sim, tmp_path, page, line):
    """Each example as a user would paste it, against the simulator, with profiles `prod` and
    `staging` (the ones the examples name) already there unless the example adds it."""
    if "jq" in line and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    sim = examples_sim
    token = "sk_test_help_examples_token"
    ids = [
        sim.add(Scenario(total_rows=1000, queued_seconds=0, duration=0)),
        sim.add(Scenario(total_rows=200, queued_seconds=0, duration=0, error_rate=0.05)),
    ]
    config_file = tmp_path / "config.toml"
    env = minimal_env(
        BULKOP_CONFIG=str(config_file),
        ID=ids[0],
        ID1=ids[0],
        ID2=ids[1],
        KNOCK_API_KEY=token,
        KNOCK_API_KEY_PROD=token,
        PW="saymon-password",
        EDITOR="true",
    )
    for name in ("prod", "staging"):
        if not re.search(rf"config add {name}\b", line):
            seed = subprocess.run(
                ["bulkop", "config", "add", name, "--provider", "knock", "--base-url", sim.base_url],
                env=env,
                input=token,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert seed.returncode == 0, seed.stderr
    # Examples that need no profile run with the environment pointing at the simulator.
    env["KNOCK_BASE_URL"] = sim.base_url
    command = re.sub(r"\s+#.*$", "", line).replace(EXAMPLE_UUID, ids[0])
    p = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=env, input=token, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, f"{page}: {line}\n{p.stdout}{p.stderr}"
    assert "Traceback" not in p.stderr
    said = re.search(r"#\s*(completed .*)$", line)
    if said:  # the output the example promises, numbers compared without separators
        assert said.group(1).replace(",", "") in p.stdout.replace(",", ""), p.stdout
