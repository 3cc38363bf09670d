"""What a user meets when a command cannot run: one line (or one JSON object), a documented exit
code, never exit 70 for something the user or the machine did."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli, run_process

ERROR_KEYS = {"type", "message", "exit_code", "hint"}


def _json_error(stderr: str) -> dict:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    error = json.loads(lines[0])["error"]
    assert set(error) == ERROR_KEYS, error
    return error


@pytest.mark.parametrize(
    "args",
    [
        ["get", "-o", "json"],  # missing argument
        ["get", "x", "--output=jsonl", "--bogus"],  # unknown option
        ["get", "x", "-oJSON", "--retries", "many"],  # bad option value, -oVALUE spelling
        ["status", "-o", "json", "x", "--request-timeout", "abc"],
        ["watch", "-o", "json", "--interval", "-1", "x"],
        ["list", "-o", "json", "--bogus"],
    ],
)
def test_a_usage_error_under_json_output_is_one_json_object_with_all_four_keys(args):
    r = run_cli(args)
    assert (r.code, r.stdout) == (2, "")
    error = _json_error(r.stderr)
    assert error["type"] == "usage" and error["exit_code"] == 2


def test_an_error_without_a_hint_still_has_the_hint_key_null(sim):
    # A 404 from the server: the error has no hint of its own.
    env = {"KNOCK_API_KEY": "sk_test_9f8e7d6c5b4a3f2e1d0c", "BULKOP_BASE_URL": sim.base_url}
    r = run_cli(["get", "00000000-0000-4000-8000-000000000000", "-o", "json"], env=env)
    error = _json_error(r.stderr)
    assert error["exit_code"] == r.code
    assert "hint" in error


def test_json_errors_in_a_real_process_have_all_four_keys():
    p = run_process(["status", "-o", "json"])
    assert p.returncode == 2
    assert _json_error(p.stderr)["hint"] == "see `bulkop status --help`"


def test_a_usage_error_without_json_output_stays_one_line_of_text():
    r = run_cli(["get", "x", "-o", "table", "--bogus"])
    assert r.code == 2 and r.stderr.startswith("bulkop: error: No such option '--bogus'")
