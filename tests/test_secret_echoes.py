"""A server that echoes the credential back in a shape of its own: cut short with ASCII dots,
upper- or lower-cased, %-encoded one character at a time, or only a piece of it. None of these
may reach stdout or stderr, in any output mode (the outside attack of December 2; the class:
masking that knew only the exact spellings bulkop itself sends)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from bulkop.api import Client
from conftest import SAYMON_LOGIN, run_cli
from helpers import Canned, CannedServer, env_for

KEY = "sk_test_SUPERSECRETKEY_1234567890"
OP = "e3e70682-c209-4cac-a29f-6fbed82c07cd"
PASSWORD = "Long-Pa55word-for-SAYMON-42"


def pct_each(text: str, chars: str) -> str:
    """`text` with each of `chars` written as %XX (what quote() leaves alone, too)."""
    return "".join(f"%{ord(c):02X}" if c in chars else c for c in text)


ECHOES = {
    "ascii dots after a cut": f"API key {KEY[:-4]}... is not valid",
    "three dots glued to a short cut": f"key {KEY[:12]}...",
    "upper-cased": f"API key {KEY.upper()} is not valid",
    "lower-cased": f"API key {KEY.lower()} is not valid",
    "underscores %-encoded": f"see https://auth.example/?k={pct_each(KEY, '_')}",
    "every character %-encoded": "k=" + "".join(f"%{ord(c):02x}" for c in KEY),
    "a piece from the middle": f"token ...{KEY[6:20]}... rejected",
    "a piece at the end": f"key ending in {KEY[-10:]}",
}


def pieces(secret: str, size: int = 8) -> list[str]:
    """Every run of `size` characters of the secret, as written and lower-cased."""
    runs = [secret[i : i + size] for i in range(len(secret) - size + 1)]
    return runs + [r.lower() for r in runs]


def assert_no_piece(text: str, secret: str) -> None:
    low = text.lower()
    for piece in pieces(secret):
        assert piece.lower() not in low, (piece, text)
    assert quote(secret, safe="").lower() not in low


@pytest.mark.parametrize("echo", list(ECHOES.values()), ids=list(ECHOES))
@pytest.mark.parametrize("output", [[], ["-o", "json"]], ids=["text", "json"])
def test_a_knock_key_echoed_in_any_shape_is_masked(echo, output):
    body = json.dumps({"code": "invalid_api_key", "message": echo, "status": 401}).encode()
    with CannedServer(Canned(401, body)) as server:
        env = env_for("knock", server.url, KNOCK_API_KEY=KEY)
        r = run_cli(["get", OP, *output], env)
    assert r.code == 4, r.stderr
    assert r.stderr.strip(), "the error is still said"
    assert_no_piece(r.stdout + r.stderr, KEY)


@pytest.mark.parametrize("echo", list(ECHOES.values()), ids=list(ECHOES))
def test_a_watch_reports_no_piece_of_an_echoed_key(echo):
    body = json.dumps({"message": echo}).encode()
    with CannedServer(Canned(401, body)) as server:
        env = env_for("knock", server.url, KNOCK_API_KEY=KEY)
        r = run_cli(["watch", OP, "-o", "json", "--interval", "0.5"], env)
    assert r.code == 4, r.stderr
    assert_no_piece(r.stdout + r.stderr, KEY)


@pytest.mark.parametrize(
    "location",
    [
        f"https://elsewhere.example/login?key={pct_each(KEY, '_')}",
        f"https://elsewhere.example/{KEY.lower()}/",
        f"https://elsewhere.example/?k={KEY[:20]}...",
    ],
)
def test_a_redirect_location_holding_the_key_is_masked(location):
    with CannedServer(Canned(302, b"", (("Location", location),))) as server:
        env = env_for("knock", server.url, KNOCK_API_KEY=KEY)
        r = run_cli(["get", OP], env)
    assert r.code == 6, r.stderr
    assert "elsewhere.example" in r.stderr  # the host is still named: only the key is masked
    assert_no_piece(r.stdout + r.stderr, KEY)


def test_a_saymon_password_echoed_lower_cased_and_cut_is_masked():
    echo = f"user {SAYMON_LOGIN} password {PASSWORD.lower()[:15]}... refused"
    with CannedServer(Canned(401, json.dumps({"message": echo}).encode())) as server:
        env = env_for("saymon", server.url, SAYMON_PASSWORD=PASSWORD)
        r = run_cli(["get", "5f0c3b2a9d1e4f6a7b8c9d0e"], env)
    assert r.code == 4, r.stderr
    assert_no_piece(r.stdout + r.stderr, PASSWORD)


@pytest.mark.parametrize(
    "text",
    [
        "the job took 100% of its quota",  # a bare % and ordinary words
        "%zz %4 %",  # %-signs that are no escape
        "key sk_live_other_value is for another account",
        "Bearer tokens must be sent in the Authorization header",
    ],
)
def test_ordinary_text_is_left_alone(text):
    client = Client("knock", "http://127.0.0.1:1", api_key=KEY)
    assert client.redact(text) == text


def test_the_whole_key_still_shows_its_last_four_characters():
    """settings.mask's form, so a user can tell which key the server saw."""
    client = Client("knock", "http://127.0.0.1:1", api_key=KEY)
    assert client.redact(f"key {KEY.upper()} refused") == "key …7890 refused"
    assert client.redact(f"Authorization: Bearer {KEY}") == "Authorization: …7890"


def test_a_secret_holding_a_literal_percent_escape_is_masked_as_written():
    secret = "pw%41%42-long-enough-secret"
    client = Client("saymon", "http://127.0.0.1:1", login="ops", password=secret)
    assert secret not in client.redact(f"password {secret} refused")
    assert "%41%42-long" not in client.redact(f"password {secret} refused")
