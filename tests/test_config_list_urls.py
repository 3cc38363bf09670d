"""`config list` shows the base URL a profile will use: its own, else its provider definition's
(built-in or the user's [providers.NAME]); the definitions are the one source of defaults."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from helpers import write_config

CONFIG = """
[profiles.k]
provider = "knock"
api_key = "sk_test_0123456789abcdef"

[profiles.own]
provider = "knock"
base_url = "https://knock.example.test"
api_key = "sk_test_0123456789abcdef"

[profiles.z]
provider = "zendesk"
login = "agent@example.test/token"
password = "0123456789abcdef0123"

[profiles.acme]
provider = "acme"
api_key = "sk_test_0123456789abcdef"

[providers.acme]
url = "{base_url}/v1/jobs/{id}"
auth = "bearer"
base_url = "https://api.acme.test"
fields = { id = "id", status = "state" }
status = { completed = ["done"], failed = ["error"], processing = ["running"] }
"""


@pytest.fixture
def configured(isolated_env) -> None:
    write_config(CONFIG)


@pytest.mark.parametrize(
    ("profile", "url"),
    [
        ("k", "https://api.knock.app"),  # knock's built-in definition
        ("own", "https://knock.example.test"),  # the profile's own
        ("z", None),  # zendesk: every account has its own host
        ("acme", "https://api.acme.test"),  # the user's definition
    ],
)
def test_the_base_url_comes_from_the_profile_or_its_definition(configured, profile, url):
    r = run_cli(["config", "list", "-o", "json"])
    assert r.code == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows[profile]["base_url"] == url
