"""`config show` lists the settings of a profile of any provider, and every credential hint names
only what bulkop really reads for the provider and profile in use."""

from __future__ import annotations

import json
import re

import pytest

from bulkop.providers import builtin
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, Scenario, run_cli
from helpers import write_config

CATALOGUE = ("zendesk", "auth0", "mailchimp", "elasticsearch")
ACME = """
[providers.acme]
url = "{base_url}/api/jobs/{id}"
auth = "header:X-Api-Key"
[providers.acme.fields]
status = "s"
[providers.acme.status]
completed = ["DONE"]

[providers.basicco]
url = "{base_url}/jobs/{id}"
auth = "basic"
[providers.basicco.fields]
status = "s"
[providers.basicco.status]
completed = ["DONE"]

[providers.openco]
url = "{base_url}/jobs/{id}"
[providers.openco.fields]
status = "s"
[providers.openco.status]
completed = ["DONE"]
"""
SECRET = "sk_live_abcdefghijklmnop"
PASSWORD = "pw_abcdefghijklmnop"
SDK_VARS = re.compile(r"KNOCK_|SAYMON_")


def auth_of(provider: str) -> str:
    if provider == "acme":
        return "api_key"
    if provider == "basicco":
        return "basic"
    if provider == "openco":
        return "none"
    return "basic" if builtin(provider).auth == "basic" else "api_key"


def profile(name: str, provider: str, base_url: str, with_secret: bool = True, secret: str = SECRET) -> str:
    lines = [f"[profiles.{name}]", f'provider = "{provider}"', f'base_url = "{base_url}"']
    if with_secret and auth_of(provider) == "basic":
        lines += ['login = "ops@example.com"', f'password = "{PASSWORD if secret == SECRET else secret}"']
    elif with_secret and auth_of(provider) == "api_key":
        lines.append(f'api_key = "{secret}"')
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------- config show


@pytest.mark.parametrize("provider", [*CATALOGUE, "acme", "basicco", "openco"])
def test_config_show_lists_every_setting_of_a_catalogue_or_user_provider(provider) -> None:
    write_config(ACME + profile("p", provider, "https://api.example.com", with_secret=True) + "max_rps = 2.5\n")
    r = run_cli(["config", "show", "p", "-o", "json"])
    assert r.code == 0, r.stderr
    shown = json.loads(r.stdout)["settings"]
    assert shown["provider"] == {"value": provider, "source": "profile", "detail": "p"}
    assert shown["base_url"]["value"] == "https://api.example.com"
    assert shown["max_rps"] == {"value": 2.5, "source": "profile", "detail": "p"}
    assert shown["retries"]["value"] == 3 and shown["retries"]["source"] == "default"
    auth = auth_of(provider)
    if auth == "basic":
        assert shown["login"]["value"] == "ops@example.com"
        assert shown["password"]["value"] == "…" + PASSWORD[-4:]
        assert "api_key" not in shown
    elif auth == "api_key":
        assert shown["api_key"]["value"] == "…" + SECRET[-4:]
        assert "login" not in shown and "password" not in shown
    else:
        assert not {"api_key", "login", "password"} & set(shown)
    assert SECRET not in r.stdout and PASSWORD not in r.stdout


@pytest.mark.parametrize("output", [[], ["-o", "text"]])
@pytest.mark.parametrize("provider", ["mailchimp", "auth0", "acme"])
def test_config_show_text_lists_the_settings(provider, output) -> None:
    write_config(ACME + profile("p", provider, "https://api.example.com"))
    r = run_cli(["config", "show", "p", *output])
    assert r.code == 0, r.stderr
    for key in ("provider", "base_url", "request_timeout", "interval", "max_consecutive_failures"):
        assert re.search(rf"^{key}\s", r.stdout, re.M), r.stdout
    secret = "password" if auth_of(provider) == "basic" else "api_key"
    assert re.search(rf"^{secret}\s+…", r.stdout, re.M), r.stdout
    assert SECRET not in r.stdout and PASSWORD not in r.stdout


def test_config_show_of_a_knock_profile_is_unchanged() -> None:
    write_config(profile("k", "knock", "https://api.knock.app"))
    shown = json.loads(run_cli(["config", "show", "k", "-o", "json"]).stdout)["settings"]
    assert "api_key" in shown and "login" not in shown and "max_rps" in shown


# ------------------------------------------------------------------------------------ the hints


@pytest.mark.parametrize("name", CATALOGUE)
def test_a_refused_credential_of_a_catalogue_provider_names_its_profile_not_sdk_variables(sim, name) -> None:
    write_config(profile(name, name, sim.base_url))  # wrong secrets
    op_id = sim.add(Scenario(provider=name))
    for args in (["get", "-p", name, op_id], ["get", f"{name}:{op_id}"], ["status", "-p", name, op_id]):
        r = run_cli(args)
        assert r.code == 4, r.stderr
        assert not SDK_VARS.search(r.stderr), r.stderr
        secret = "password" if auth_of(name) == "basic" else "api_key"
        assert f"bulkop config set {name} {secret}" in r.stderr


@pytest.mark.parametrize("name", [*CATALOGUE, "acme", "basicco"])
@pytest.mark.parametrize("how", ["explicit", "default"])
def test_a_missing_credential_of_a_non_sdk_provider_never_names_sdk_variables(sim, name, how) -> None:
    head = 'default_profile = "p"\n' if how == "default" else ""
    write_config(head + ACME + profile("p", name, sim.base_url, with_secret=False))
    args = ["get", "-p", "p", "x1"] if how == "explicit" else ["get", "x1"]
    r = run_cli(
        args, env={"KNOCK_API_KEY": KNOCK_TOKEN, "SAYMON_LOGIN": SAYMON_LOGIN, "SAYMON_PASSWORD": SAYMON_PASSWORD}
    )
    assert r.code == 7, r.stderr
    assert not SDK_VARS.search(r.stderr), r.stderr
    assert "bulkop config set p " in r.stderr


@pytest.mark.parametrize(
    ("name", "variables"), [("knock", "KNOCK_API_KEY"), ("saymon", "SAYMON_LOGIN/SAYMON_PASSWORD")]
)
def test_a_refused_sdk_credential_names_its_variables_only_when_they_are_read(sim, name, variables) -> None:
    op_id = sim.add(Scenario(provider=name))
    wrong = {"KNOCK_API_KEY": "sk_wrong_key_123", "SAYMON_LOGIN": SAYMON_LOGIN, "SAYMON_PASSWORD": "wrong-pw"}
    base = {"BULKOP_BASE_URL": sim.base_url, "BULKOP_PROVIDER": name}
    r = run_cli(["get", op_id], env={**wrong, **base})  # no profile: the variables are what was sent
    assert r.code == 4 and f"check {variables} or a profile's" in r.stderr, r.stderr
    # a profile chosen with -p: the variables are not read, so not named
    write_config(profile("mine", name, sim.base_url, secret="sk_wrong_key_456"))
    r = run_cli(["get", "-p", "mine", op_id], env=wrong)
    assert r.code == 4, r.stderr
    assert not SDK_VARS.search(r.stderr), r.stderr
    assert "bulkop config show mine" in r.stderr
    # the default profile: the variables override it, so both are named
    write_config('default_profile = "mine"\n' + profile("mine", name, sim.base_url, secret="sk_wrong_key_456"))
    r = run_cli(["get", op_id], env=wrong)
    assert r.code == 4 and f"check {variables} or profile mine's" in r.stderr, r.stderr


def test_the_man_page_says_sdk_variables_hold_only_their_providers_credential() -> None:
    from bulkop._gen import environment

    entries = {e.name: e.help for e in environment()}
    for var, provider in (("KNOCK_API_KEY", "Knock"), ("SAYMON_LOGIN", "SAYMON"), ("SAYMON_PASSWORD", "SAYMON")):
        text = entries[var]
        assert f"{var} holds {provider}'s only" in text
        assert "for bearer or header auth" not in text
