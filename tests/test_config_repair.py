"""The config commands repair the values their own errors point at: a profile with a bad value
(which every command refuses, exit 7, naming the fix) is fixed by `config set`, `unset` or
`remove`, even while another profile is broken too; a change never writes a bad value."""

from __future__ import annotations

import tomllib

import pytest

from conftest import run_cli
from helpers import write_config

GOOD = '[profiles.good]\nprovider = "knock"\napi_key = "sk_test_0123456789abcdef"\n'
OTHER_BROKEN = '\n[profiles.other]\nprovider = "knock"\nmax_rps = "fast"\n'

BROKEN = {  # a bad line in profile p -> the command that fixes it
    'retries = "many"': ["config", "set", "p", "retries", "3"],
    'base_url = "https://user:pw@api.example.test"': ["config", "set", "p", "base_url", "https://api.example.test"],
    "request_timeout = -1": ["config", "unset", "p", "request_timeout"],
    'api_key_env = "not a variable"': ["config", "unset", "p", "api_key_env"],
    'colour = "red"': ["config", "unset", "p", "colour"],  # a key bulkop does not know
    "max_errors = true": ["config", "remove", "p"],
}


@pytest.mark.parametrize("other", [False, True], ids=["alone", "another-broken"])
@pytest.mark.parametrize("bad", list(BROKEN))
def test_the_suggested_fix_works(isolated_env, bad, other):
    path = write_config(GOOD + f'\n[profiles.p]\nprovider = "knock"\n{bad}\n' + (OTHER_BROKEN if other else ""))
    refused = run_cli(["config", "list"])
    key = bad.split(" = ")[0]
    assert refused.code == 7 and (f"profiles.p: {key}" in refused.stderr or f"key '{key}'" in refused.stderr)
    assert "`bulkop config " in refused.stderr  # the fix it names is a config command
    r = run_cli(BROKEN[bad])
    assert r.code == 0, r.stderr
    profiles = tomllib.loads(path.read_text(encoding="utf-8"))["profiles"]
    if BROKEN[bad][1] == "set":
        assert str(profiles["p"][key]) == BROKEN[bad][-1]
    elif BROKEN[bad][1] == "unset":
        assert key not in profiles["p"]
    else:
        assert "p" not in profiles
    assert profiles["good"]["api_key"] == "sk_test_0123456789abcdef"
    listed = run_cli(["config", "list"])
    if other:  # the other profile is still broken, and still said to be
        assert listed.code == 7 and "profiles.other: max_rps" in listed.stderr
    else:
        assert listed.code == 0, listed.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["config", "set", "p", "retries", "lots"], 2),  # a bad new value: a usage error, as always
        (["config", "set", "p", "request_timeout", "5"], 7),  # touches p, which keeps its bad retries
        (["config", "use", "p"], 7),  # the default must be usable
    ],
)
def test_a_change_never_writes_a_bad_value(isolated_env, args, code):
    text = GOOD + '\n[profiles.p]\nprovider = "knock"\nretries = "many"\n'
    path = write_config(text)
    r = run_cli(args)
    assert r.code == code, r.stderr
    assert r.stderr.count("\n") == 1
    assert path.read_text(encoding="utf-8") == text  # byte for byte: nothing written
    if code == 7:
        assert "profiles.p: retries" in r.stderr and "config set p retries VALUE" in r.stderr


def test_an_unknown_key_in_the_file_says_how_to_remove_it(isolated_env):
    write_config(GOOD + '\n[profiles.p]\nprovider = "knock"\n"a b" = 1\n')
    r = run_cli(["config", "list"])
    assert r.code == 7 and "remove it with `bulkop config unset p 'a b'`" in r.stderr
    assert run_cli(["config", "unset", "p", "a b"]).code == 0
    assert run_cli(["config", "list"]).code == 0
