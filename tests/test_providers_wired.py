"""Providers as data, wired through the CLI: messages for built-ins, `config set provider`,
and every built-in catalogue provider end to end against the simulator."""

from __future__ import annotations

import pytest

from conftest import run_cli


@pytest.fixture
def demo_profile(isolated_env):
    isolated_env.parent.mkdir(parents=True, exist_ok=True)
    isolated_env.write_text(
        '[profiles.demo]\nprovider = "knock"\nbase_url = "https://h.example"\n\n'
        '[providers.acme]\nurl = "{base_url}/jobs/{id}"\nbase_url = "https://acme.example"\n'
        '[providers.acme.fields]\nstatus = "state"\n[providers.acme.status]\ncompleted = ["DONE"]\n'
    )
    return isolated_env


@pytest.mark.parametrize(("typed", "guess"), [("knok", "knock"), ("zendsk", "zendesk"), ("acmee", "acme")])
def test_config_set_an_unknown_provider_is_a_usage_error_naming_it_and_a_guess(demo_profile, typed, guess):
    before = demo_profile.read_text()
    r = run_cli(["config", "set", "demo", "provider", typed])
    assert r.code == 2, r.stderr
    assert r.stderr.startswith("bulkop: error: provider should be one of knock, saymon, zendesk, auth0, mailchimp, elasticsearch, acme, not "), r.stderr
    assert f"{typed!r}" in r.stderr and f"did you mean {guess!r}?" in r.stderr
    assert demo_profile.read_text() == before


def test_config_set_an_unknown_provider_lists_them_all_when_nothing_is_close(demo_profile):
    r = run_cli(["config", "set", "demo", "provider", "kafka"])
    assert r.code == 2 and "not 'kafka'" in r.stderr and "did you mean" not in r.stderr, r.stderr


@pytest.mark.parametrize("provider", ["acme", "zendesk", "saymon"])
def test_config_set_takes_a_built_in_or_configured_provider(demo_profile, provider):
    r = run_cli(["config", "set", "demo", "provider", provider])
    assert r.code == 0, r.stderr
    assert f'provider = "{provider}"' in demo_profile.read_text()
