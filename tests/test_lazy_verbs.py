"""A run builds (and imports) only the verb it was asked for: Typer builds every command from
its function's signature, which for all verbs was a tenth of `bulkop get`'s time. `--help`,
completion and "did you mean" still see every verb (their outputs are pinned elsewhere)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bulkop.cli import VERBS
from bulkop.simulator import Scenario
from conftest import knock_env_for, minimal_env

# The CLI's own entry point, in a process that writes the bulkop.cli modules it loaded at exit.
PROBE = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(" ".join(m for m in sys.modules if m.startswith("bulkop.cli."))))
from bulkop.__main__ import main
main()
"""


def loaded(args: list[str], env: dict[str, str], tmp_path) -> set[str]:
    out = tmp_path / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return set(out.read_text(encoding="utf-8").split())


@pytest.mark.parametrize(
    ("args", "verb"),
    [
        (["get", "{op}", "-o", "json"], "get"),
        (["status", "{op}"], "status"),
        (["watch", "{op}", "--display", "lines"], "watch"),
        (["--no-journal", "list"], "list"),
        (["config", "path"], "config"),
        (["providers"], "providers"),
    ],
)
def test_a_run_loads_only_its_own_verb(sim, tmp_path, args, verb):
    op = sim.add(Scenario(name="x", total_rows=10, queued_seconds=0, duration=0))
    env = minimal_env(knock_env_for(sim), BULKOP_NO_JOURNAL="1")
    modules = loaded([a.format(op=op) for a in args], env, tmp_path)
    verbs = {f"bulkop.cli.{module}" for module in VERBS.values()}
    assert modules & verbs == {f"bulkop.cli.{VERBS[verb]}"}, modules


def test_help_builds_every_verb(tmp_path):
    modules = loaded(["--help"], minimal_env(), tmp_path)
    assert {f"bulkop.cli.{module}" for module in VERBS.values()} <= modules
