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


# --------------------------------------------------------------------------- config set / add


@pytest.fixture
def knock_profile(isolated_env):
    r = run_cli(["config", "add", "demo", "--provider", "knock", "--base-url", "http://127.0.0.1:9"], stdin="sk_ok\n")
    assert r.code == 0, r.stderr
    return isolated_env


@pytest.mark.parametrize("secret", ["x y", "x\ty", "clé-é", "a\x1bb"])
def test_config_set_refuses_an_api_key_every_command_would_refuse_and_writes_nothing(knock_profile, secret):
    before = knock_profile.read_bytes()
    r = run_cli(["config", "set", "demo", "api_key"], stdin=secret + "\n")
    assert r.code == 2, r.stderr
    assert r.stderr.startswith("bulkop: error: api_key has spaces, line breaks or non-ASCII characters")
    assert secret not in r.stderr
    assert knock_profile.read_bytes() == before


@pytest.mark.parametrize("login", ["a:b", "a\x07b"])
def test_config_add_refuses_a_saymon_login_basic_auth_cannot_carry(isolated_env, login):
    args = ["config", "add", "s", "--provider", "saymon", "--base-url", "https://s.example", "--login", login]
    r = run_cli(args, stdin="pw\n")
    assert r.code == 2 and "login has a ':' or control characters" in r.stderr, r.stderr
    assert not isolated_env.exists()


def test_config_add_refuses_a_password_with_control_characters(isolated_env):
    args = ["config", "add", "s", "--provider", "saymon", "--base-url", "https://s.example", "--login", "ops"]
    r = run_cli(args, stdin="pa\tss\n")
    assert r.code == 2 and "password has line breaks or control characters" in r.stderr, r.stderr
    assert not isolated_env.exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [("interval", "abc"), ("timeout", "soon"), ("retries", "many"), ("request_timeout", "x"), ("provider", "github")],
)
def test_a_bad_value_typed_for_config_set_is_a_usage_error(knock_profile, key, value):
    r = run_cli(["config", "set", "demo", key, value])
    assert r.code == 2 and r.stderr.startswith(f"bulkop: error: {key} "), r.stderr


def test_a_bad_value_found_in_the_file_is_a_configuration_error(knock_profile):
    knock_profile.write_text(knock_profile.read_text().replace('api_key = "sk_ok"', 'api_key = "x y"'))
    r = run_cli(["get", "e3e70682-c209-4cac-a29f-6fbed82c07cd"])
    assert r.code == 7 and "api_key has spaces" in r.stderr, r.stderr
    assert "x y" not in r.stderr


def test_a_bad_secret_in_the_variable_a_profile_names_is_a_configuration_error(isolated_env):
    args = ["config", "add", "v", "--provider", "knock", "--api-key-env", "MY_KEY"]
    assert run_cli(args).code == 0
    r = run_cli(["get", "e3e70682-c209-4cac-a29f-6fbed82c07cd"], env={"MY_KEY": "a b"})
    assert r.code == 7 and "MY_KEY" in r.stderr and "spaces" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("interval", "5", "interval = 5"),
        ("interval", "2.5", "interval = 2.5"),
        ("interval", "auto", 'interval = "auto"'),
        ("interval", "10s", 'interval = "10s"'),
        ("timeout", "90", "timeout = 90"),
        ("request_timeout", "5", "request_timeout = 5.0"),
        ("retries", "4", "retries = 4"),
        ("max_errors", "0", "max_errors = 0"),
        ("allow_insecure_http", "yes", "allow_insecure_http = true"),
    ],
)
def test_config_set_stores_typed_values(knock_profile, key, value, stored):
    r = run_cli(["config", "set", "demo", key, value])
    assert r.code == 0, r.stderr
    assert stored in knock_profile.read_text().splitlines()
    assert run_cli(["config", "show", "demo"]).code == 0


# --------------------------------------------------------------------------- ids of another provider


@pytest.mark.parametrize(
    "op_id", ["4da5e709d4713d60c8a70639", "4DA5E709D4713D60C8A70639", " 507f1f77bcf86cd799439011 "]
)
def test_a_saymon_id_given_to_knock_hints_at_the_saymon_provider(op_id):
    r = run_cli(["get", op_id], env={"KNOCK_API_KEY": "sk_test_x"})
    assert r.code == 2
    assert r.stderr.strip().endswith("; use --provider saymon, or -p PROFILE for a SAYMON profile"), r.stderr
    r = run_cli(["status", op_id, "-o", "json"], env={"KNOCK_API_KEY": "sk_test_x"})
    assert json.loads(r.stderr)["error"]["hint"] == "use --provider saymon, or -p PROFILE for a SAYMON profile"


@pytest.mark.parametrize("op_id", ["not-an-id", "4da5e709d4713d60c8a7063", "4da5e709d4713d60c8a70639z"])
def test_an_id_of_no_known_provider_gets_no_saymon_hint(op_id):
    r = run_cli(["get", op_id], env={"KNOCK_API_KEY": "sk_test_x"})
    assert r.code == 2 and "not a Knock bulk operation id" in r.stderr and "saymon" not in r.stderr, r.stderr


# --------------------------------------------------------------------------- ids and URLs are not split


@pytest.mark.parametrize("width", [40, 50, 60, 80, 100, 120])
def test_get_never_splits_an_id_and_breaks_a_url_only_after_a_slash(sim, width):
    op_id = sim.add(Scenario(duration=0.0, fail_at=0.5, error_rate=0.5))
    env = {**knock_env_for(sim), "COLUMNS": str(width)}
    r = run_cli(["get", op_id, "-o", "table"], env=env)
    assert r.code == 0, r.stderr
    lines = [line.rstrip() for line in r.stdout.splitlines()]
    assert any(op_id in line for line in lines), r.stdout  # the id whole, on one line
    path_lines = [i for i, line in enumerate(lines) if "bulk_operations" in line]
    assert path_lines, r.stdout
    first = lines[path_lines[0]]
    url = first.split()[-1]
    # The URL, if broken, breaks right after a '/', and its id follows whole on the next line.
    if not url.endswith(op_id):
        assert url.endswith("/"), r.stdout
        assert lines[path_lines[0] + 1].strip().split()[-1] == op_id or op_id in lines[path_lines[0] + 1], r.stdout


def test_fold_at_slashes_keeps_every_segment_whole():
    from bulkop.render.table import fold_at_slashes

    url = "https://api.example/v1/bulk_operations/eb1167b3-67a9-4378-bc65-c1e582e2e662"
    for width in range(1, len(url) + 5):
        folded = fold_at_slashes(url, width)
        assert folded.replace("\n", "") == url
        for line in folded.splitlines()[:-1]:
            assert line.endswith("/")
