"""Error lines say each thing once: a status the server's text already gives is not repeated,
and a missing credential's advice is one hint, not the definition's and the settings' in a row."""

from __future__ import annotations

import pytest

from conftest import run_cli

OP = "123e4567-e89b-12d3-a456-426614174000"


def test_a_router_404_names_its_status_once(sim, knock_env):
    """Knock's router answers an unknown path with {"errors": {"detail": "404 Not Found"}}."""
    r = run_cli(["get", OP, "--base-url", sim.base_url + "/prefix"], knock_env)
    assert r.code == 5
    assert "(404 Not Found;" in r.stderr and "404 404" not in r.stderr


@pytest.mark.parametrize("provider", ["zendesk", "auth0", "mailchimp", "elasticsearch"])
def test_a_missing_credential_is_one_hint(isolated_env, sim, provider):
    r = run_cli(["get", "123", "--provider", provider, "--base-url", sim.base_url])
    assert r.code == 7
    line = r.stderr.strip()
    assert r.stderr.count("\n") == 1
    assert line.count("`bulkop config add NAME --provider") == 1, line
    assert line.count(";") == 1, line  # the message; the hint
