"""A negative number typed as a value reads as an option to the parser: the error says how
to pass it (after `--`), and the value itself is then judged like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from helpers import write_config

PROFILE = '[profiles.p]\nprovider = "knock"\napi_key = "sk_test_0123456789abcdef"\n'


@pytest.fixture
def profile(isolated_env) -> Path:
    return write_config(PROFILE)


@pytest.mark.parametrize(("key", "value"), [("max_errors", "-1"), ("retries", "-3"), ("request_timeout", "-0.5")])
def test_a_negative_value_without_dashes_is_told_where_it_goes(profile, key, value):
    r = run_cli(["config", "set", "p", key, value])
    assert r.code == 2
    assert r.stderr.count("\n") == 1 and "goes after `--`: `bulkop config set … -- VALUE`" in r.stderr
    assert profile.read_text(encoding="utf-8") == PROFILE


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("max_errors", "-1", "0 or more"), ("retries", "-3", "0 or more"), ("request_timeout", "-0.5", "positive")],
)
def test_after_dashes_the_value_is_judged(profile, key, value, said):
    r = run_cli(["config", "set", "p", key, "--", value])
    assert r.code == 2 and said in r.stderr, r.stderr
    assert profile.read_text(encoding="utf-8") == PROFILE


def test_an_unknown_option_keeps_the_help_hint(profile):
    r = run_cli(["config", "set", "p", "--bogus", "1"])
    assert r.code == 2 and "see `bulkop config set --help`" in r.stderr
