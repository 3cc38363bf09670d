"""What an outside tester, reading only the README, found in the CLI (issues 12 and 13)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Scenario, knock_env_for, minimal_env, run_cli, saymon_env_for

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_ndjson_example() -> str:
    """README's `watch -o json | jq` line, as written there."""
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("$ ") and "watch - -o json | jq" in line:
            return line[2:]
    raise AssertionError("README lost its NDJSON example")


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize(
    ("provider", "scenario", "expected"),
    [
        ("knock", {"duration": 0.0}, "completed"),
        ("knock", {"duration": 0.0, "fail_at": 0.0}, "failed"),
        ("saymon", {"duration": 0.0}, "finished"),
    ],
)
def test_readme_ndjson_example_prints_the_status_for_every_provider(sim, provider, scenario, expected, tmp_path):
    op_id = sim.add(Scenario(provider=provider, **scenario))
    env = knock_env_for(sim) if provider == "knock" else saymon_env_for(sim)
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", _readme_ndjson_example()],
        env=minimal_env(env, ID=op_id, BULKOP_INTERVAL="0.1"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout == f"{expected}\n", proc.stderr
    assert proc.returncode == (1 if expected == "failed" else 0), proc.stderr


@pytest.mark.parametrize("provider", ["knock", "saymon"])
def test_every_ndjson_record_has_a_top_level_status_next_to_the_body_as_sent(make_sim, provider):
    sim = make_sim()
    op_id = sim.add(Scenario(provider=provider, duration=0.0))
    env = knock_env_for(sim) if provider == "knock" else saymon_env_for(sim)
    r = run_cli(["watch", op_id, "-o", "json", "--interval", "0.1"], env=env)
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert records and all("status" in rec for rec in records), r.stdout
    final = records[-1]
    assert final["final"] is True
    if provider == "saymon":
        assert final["status"] == "finished"
        assert final["operation"] == {"id": op_id, "finished": True} or final["operation"].get("finished") is True
        assert "status" not in final["operation"]
    else:
        assert final["status"] == final["operation"]["status"] == "completed"
