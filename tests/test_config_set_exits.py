"""Exit codes say whose mistake it is: a key or value given to `config set`/`unset` that is
refused is a usage error (2, nothing written), a bad value already in the file is a config error
(7); `providers check` words each refusal for what it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from helpers import write_config

DEF = """
[providers.acme]
url = "{base_url}/jobs/{id}"
auth = "basic"
[providers.acme.fields]
status = "s"
[providers.acme.status]
completed = ["DONE"]
"""


@pytest.mark.parametrize(
    ("profile", "args", "stale"),
    [
        ('provider = "knock"\napi_key = "sk_abcdefghijkl"', ["provider", "zendesk"], "api_key"),
        ('provider = "knock"\napi_key = "sk_abcdefghijkl"', ["provider", "mailchimp"], "api_key"),
        ('provider = "knock"\napi_key = "sk_abcdefghijkl"', ["provider", "acme"], "api_key"),
        ('provider = "knock"\napi_key_env = "ACME_KEY"', ["provider", "saymon"], "api_key_env"),
        ('provider = "zendesk"\nlogin = "me"\npassword = "pw-abcdefghijk"', ["provider", "auth0"], "login, password"),
        ('provider = "saymon"\nlogin = "me"\npassword_env = "PW"', ["provider", "auth0"], "login, password_env"),
    ],
)
def test_a_provider_the_profiles_credentials_do_not_fit_is_a_usage_error(profile, args, stale) -> None:
    path = write_config(DEF + f"[profiles.p]\n{profile}\n")
    before = path.read_bytes()
    r = run_cli(["config", "set", "p", *args])
    assert r.code == 2, r.stderr
    assert f"holds {stale}, which provider {args[1]} does not take" in r.stderr
    assert "bulkop config unset p " in r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "p", "login", "ops"], "login does not apply to provider knock"),
        (["set", "p", "colour", "red"], "unknown key 'colour'"),
        (["set", "p", "password_env", "PW"], "password_env does not apply to provider knock"),
        (["set", "p", "api_key_env", "not a name"], "should name an environment variable"),
        (["set", "p", "retries", "many"], "retries should be a whole number"),
        (["unset", "p", "colour"], "unknown key 'colour'"),
    ],
)
def test_every_refused_key_or_value_given_to_config_is_exit_2(args, message) -> None:
    path = write_config('[profiles.p]\nprovider = "knock"\napi_key = "sk_abcdefghijkl"\n')
    before = path.read_bytes()
    r = run_cli(["config", *args])
    assert r.code == 2, r.stderr
    assert message in r.stderr
    assert path.read_bytes() == before


def test_a_profile_already_broken_in_the_file_stays_a_config_error() -> None:
    path = write_config('[profiles.p]\nprovider = "knock"\nretries = "many"\n')
    before = path.read_bytes()
    r = run_cli(["config", "set", "p", "max_rps", "2"])
    assert r.code == 7, r.stderr
    assert "retries" in r.stderr
    assert path.read_bytes() == before


def test_a_provider_that_fits_is_set() -> None:
    write_config('[profiles.p]\nprovider = "knock"\napi_key = "sk_abcdefghijkl"\n')
    r = run_cli(["config", "set", "p", "provider", "auth0"])
    assert r.code == 0, r.stderr


def test_readme_documents_exit_2_for_a_value_the_profile_does_not_fit() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| 2 |"))
    assert "config set" in row and "does not fit" in row


# ------------------------------------------------------------------------------- providers check


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("knock", '{"status": "completed"}'),
        ("knock", '{"status": "completed", "id": null}'),
        ("knock", "{}"),
    ],
)
def test_check_without_an_id_says_what_to_pass_not_that_the_body_is_invalid(tmp_path, name, body) -> None:
    saved = tmp_path / "body.json"
    saved.write_text(body)
    r = run_cli(["providers", "check", name, str(saved)])
    assert r.code == 2, r.stderr
    assert "invalid" not in r.stderr
    assert "does not say which" in r.stderr and "--id" in r.stderr


def test_check_of_an_invalid_body_keeps_its_exit_6_wording(tmp_path) -> None:
    saved = tmp_path / "body.json"
    saved.write_text('{"status": "weird", "id": "123e4567-e89b-12d3-a456-426614174000"}')
    r = run_cli(["providers", "check", "knock", str(saved)])
    assert r.code == 6, r.stderr
    assert "an invalid knock operation" in r.stderr


def test_check_with_a_malformed_id_is_a_usage_error_without_invalid_operation(tmp_path) -> None:
    saved = tmp_path / "body.json"
    saved.write_text('{"status": "completed"}')
    r = run_cli(["providers", "check", "knock", str(saved), "--id", "nope"])
    assert r.code == 2, r.stderr
    assert "invalid knock operation" not in r.stderr
