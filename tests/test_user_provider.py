"""A provider defined in config.toml, served by this test's own server on 127.0.0.1, through the real CLI."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from helpers import LocalServer, write_config

ACME = """
[providers.acme]
url = "{base_url}/api/jobs/{id}"
auth = "header:X-Api-Key"
id_pattern = "[0-9]+"
headers = { "Acme-Version" = "2024-01" }
error_message = ["error.message"]
[providers.acme.fields]
status = "job.state"
name = "job.title"
total = "job.of"
processed = "job.done"
succeeded = "job.ok"
failed = "job.failed"
[providers.acme.status]
queued = ["PENDING"]
processing = ["RUNNING"]
completed = ["DONE"]
failed = ["ERROR", "CANCELLED"]
"""
KEY = "acme-key-0123456789"


def job(state: str = "DONE", done: int = 10) -> dict[str, Any]:
    return {"job": {"state": state, "title": "Import users", "of": 10, "done": done, "ok": done, "failed": 0}}


class Server(LocalServer):
    """Answers each GET with the next (status, body) of `answers` (the last one repeats)."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, str]]] = []
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.path, dict(handler.headers)))
        status, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        self.reply(handler, status, body if isinstance(body, bytes) else json.dumps(body).encode())


def write_acme_config(url: str, definition: str = ACME) -> None:
    profile = f'[profiles.acme]\nprovider = "acme"\nbase_url = "{url}"\napi_key = "{KEY}"\n'
    write_config('default_profile = "acme"\n' + definition + profile)


@pytest.mark.parametrize("mode", [[], ["-o", "text"], ["-o", "json"], ["-o", "jsonl"]])
def test_get_in_every_output_mode(mode: list[str]) -> None:
    with Server([(200, job())]) as server:
        write_acme_config(server.url)
        r = run_cli(["get", "42", *mode])
    assert r.code == 0, r.stderr
    path, headers = server.requests[0]
    assert path == "/api/jobs/42"
    assert headers["X-Api-Key"] == KEY and headers["Acme-Version"] == "2024-01"
    assert "Authorization" not in headers
    if mode and mode[1].startswith("json"):
        if mode[1] == "json":
            assert json.loads(r.stdout) == job()  # the body exactly as it came
        else:  # a record names its operation when the body does not
            assert json.loads(r.stdout.splitlines()[0]) == {"id": "42", **job()}
    else:
        assert "Import users" in r.stdout and "completed" in r.stdout


def test_status_and_watch() -> None:
    with Server([(200, job("RUNNING", 5)), (200, job("DONE"))]) as server:
        write_acme_config(server.url)
        r = run_cli(["status", "42"])
        assert r.code == 3 and "processing 50% (5/10)" in r.stdout, r.stderr  # not finished yet
        w = run_cli(["watch", "42", "-o", "json", "--interval", "1"], sleep=lambda s: None)
    assert w.code == 0, w.stderr
    assert "completed" in w.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, 4, "refused the credentials"),
        (403, 4, "denied access"),
        (404, 5, "not found"),
        (429, 6, "rate limit"),
        (500, 6, "is failing"),
        (503, 6, "is failing"),
    ],
)
def test_http_errors_map_to_exit_codes(status: int, code: int, words: str) -> None:
    with Server([(status, {"error": {"message": "acme says no"}})]) as server:
        write_acme_config(server.url)
        r = run_cli(["get", "42", "--retries", "0"])
    assert r.code == code, r.stderr
    assert words in r.stderr and "acme says no" in r.stderr
    assert KEY not in r.stderr


def test_an_unmapped_status_is_exit_6_naming_the_value_and_the_mapping() -> None:
    with Server([(200, job("WAITING"))]) as server:
        write_acme_config(server.url)
        r = run_cli(["get", "42"])
    assert r.code == 6
    assert '"WAITING"' in r.stderr and "providers.acme.status" in r.stderr


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('auth = "header:X-Api-Key"', 'auth = "oauth"'), "providers.acme.auth"),
        (('status = "job.state"', 'status = "job.["'), "providers.acme.fields.status"),
        (('url = "{base_url}/api/jobs/{id}"', 'url = "https://evil.example/{id}"'), "providers.acme.url"),
    ],
)
def test_a_bad_definition_is_exit_7_naming_the_key(change: tuple[str, str], key: str) -> None:
    with Server([(200, job())]) as server:
        write_acme_config(server.url, ACME.replace(*change))
        r = run_cli(["get", "42"])
    assert r.code == 7 and key in r.stderr, r.stderr
    assert server.requests == []


def test_an_id_outside_the_pattern_is_exit_2_before_any_request() -> None:
    with Server([(200, job())]) as server:
        write_acme_config(server.url)
        r = run_cli(["get", "abc"])
    assert r.code == 2 and "[0-9]+" in r.stderr
    assert server.requests == []


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with Server([(200, job())]) as server:
        write_acme_config(server.url)
        r = run_cli(["get", "42", "--provider", "acmee"])
    assert r.code == 2 and "did you mean 'acme'" in r.stderr and "zendesk" in r.stderr


def test_config_add_asks_for_the_api_key_and_keeps_the_definitions() -> None:
    with Server([(200, job())]) as server:
        write_acme_config(server.url)
        r = run_cli(["config", "add", "other", "--provider", "acme", "--base-url", server.url], stdin=KEY + "\n")
        assert r.code == 0, r.stderr
        text = Path(os.environ["BULKOP_CONFIG"]).read_text()
        assert "[providers.acme" in text and 'provider = "acme"' in text
        r = run_cli(["get", "42", "-p", "other", "-o", "json"])
    assert r.code == 0, r.stderr
    bad = run_cli(["config", "add", "x", "--provider", "acme", "--base-url", "https://a.example", "--login", "u"])
    assert bad.code == 2 and "--login does not apply to provider acme" in bad.stderr
