"""User-defined providers as an attack surface: what a `[providers.NAME]` table may say, and what
a server that echoes the credential can make bulkop print. Real CLI, a server of the test's own."""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Callable
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
error_message = ["message"]
[providers.acme.fields]
status = "state"
name = "title"
[providers.acme.status]
processing = ["RUNNING"]
completed = ["DONE"]
failed = ["ERROR"]
"""
KEY = "sk_live_0123456789abcdefXYZ"
LOGIN = "alice"
PASSWORD = "pw-Secret-98765-zyxw"
TOKEN = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()

# (status, content type, extra headers, body) from the credential the request carried
Answer = Callable[[str], tuple[int, str, dict[str, str], bytes]]


class Server(LocalServer):
    """Answers every GET with `answer(credential)`; records each request's path and headers."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.path, list(handler.headers.items())))
        credential = handler.headers.get("X-Api-Key") or handler.headers.get("Authorization") or ""
        status, ctype, headers, body = self.answer(credential)
        self.reply(handler, status, body, ctype, headers.items())


def ok(credential: str) -> tuple[int, str, dict[str, str], bytes]:
    return 200, "application/json", {}, json.dumps({"state": "DONE", "title": "t"}).encode()


def write_acme_config(url: str, definition: str = ACME, auth: str | None = None) -> Path:
    if auth is not None:
        definition = definition.replace('auth = "header:X-Api-Key"', f'auth = "{auth}"')
    creds = f'login = "{LOGIN}"\npassword = "{PASSWORD}"\n' if auth == "basic" else f'api_key = "{KEY}"\n'
    profile = f'[profiles.acme]\nprovider = "acme"\nbase_url = "{url}"\n{creds}'
    return write_config('default_profile = "acme"\n' + definition + profile)


# ------------------------------------------------------------------ 1. url stays under base_url


@pytest.mark.parametrize(
    "url",
    [
        "{base_url}/../{id}",
        "{base_url}/api/../../{id}",
        "{base_url}/./{id}",
        "{base_url}/%2e%2e/{id}",
        "{base_url}/%2E%2E/{id}",
        "{base_url}/.%2e/{id}",
        "{base_url}//host/{id}",
        "{base_url}/api//{id}",
        "{base_url}/:@host/{id}",
        "{base_url}/user@host/{id}",
        "{base_url}/a:b/{id}",
        "{base_url}/api/{id}/",
        "{base_url}/api\\..\\{id}",
        "{base_url}/%2f/{id}",
    ],
)
def test_a_url_that_can_leave_the_base_url_path_is_exit_7(url: str) -> None:
    with Server(ok) as server:
        write_acme_config(f"{server.url}/prefix", ACME.replace("{base_url}/api/jobs/{id}", url.replace("\\", "\\\\")))
        r = run_cli(["get", "42"])
    assert r.code == 7, r.stderr
    assert "providers.acme.url" in r.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("{base_url}/api/v2/jobs/{id}/status", "/prefix/api/v2/jobs/42/status"),
        ("{base_url}/{id}", "/prefix/42"),
        ("{base_url}/a;v=1/x.json/{id}", "/prefix/a;v=1/x.json/42"),
        ("{base_url}/~me/_tasks/{id}", "/prefix/~me/_tasks/42"),
    ],
)
def test_a_url_under_the_base_url_still_works(url: str, path: str) -> None:
    with Server(ok) as server:
        write_acme_config(f"{server.url}/prefix", ACME.replace("{base_url}/api/jobs/{id}", url))
        r = run_cli(["get", "42"])
    assert r.code == 0, r.stderr
    assert server.requests[0][0] == path


# ------------------------------------------------------------------ 2. an echoed secret is masked


def _echo(kind: str) -> Answer:
    """A server that quotes back what it was sent, in one place or another."""

    def answer(credential: str) -> tuple[int, str, dict[str, str], bytes]:
        secret = credential
        if credential.startswith("Basic "):
            secret = base64.b64decode(credential[6:]).decode().partition(":")[2]  # the password
        elif credential.startswith("Bearer "):
            secret = credential[7:]
        said = f"bad key {secret} (sent as {credential})"
        if kind == "401":
            return 401, "application/json", {}, json.dumps({"message": said}).encode()
        if kind == "500":
            return 500, "application/json", {}, json.dumps({"message": said}).encode()
        if kind == "html":
            return 200, "text/html", {}, f"<p>{secret}</p> {credential}".encode()
        if kind == "redirect":
            return 302, "text/plain", {"Location": f"https://other.example/login?key={secret}"}, b""
        if kind == "status":
            return 200, "application/json", {}, json.dumps({"state": said, "title": "t"}).encode()
        if kind == "name":  # a field of the wrong type, quoted in the message
            return 200, "application/json", {}, json.dumps({"state": "DONE", "title": 0, "x": said}).encode()
        raise AssertionError(kind)

    return answer


ECHOES = {"401": 4, "500": 6, "html": 6, "redirect": 6, "status": 6}
AUTHS = ["header:X-Api-Key", "bearer", "basic"]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (KEY, PASSWORD, TOKEN, f"Bearer {KEY}", f"Basic {TOKEN}"):
            assert secret not in text
            assert secret[:8] not in text, text  # nor a beginning of it, cut by a short message


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("echo", list(ECHOES))
def test_a_secret_the_server_echoes_is_masked_in_error_lines_and_json_records(auth: str, echo: str) -> None:
    with Server(_echo(echo)) as server:
        write_acme_config(server.url, auth=auth)
        text = run_cli(["get", "42", "--retries", "0"])
        as_json = run_cli(["get", "42", "--retries", "0", "-o", "json"])
        two = run_cli(["get", "42", "43", "--retries", "0", "-o", "json"])
    assert text.code == ECHOES[echo], text.stderr
    assert as_json.code == ECHOES[echo]
    assert_no_secret(text.stdout, text.stderr, as_json.stdout, as_json.stderr, two.stdout, two.stderr)
    assert "…" in text.stderr  # masked, not dropped: the message still says what came back


@pytest.mark.parametrize("auth", AUTHS)
def test_a_secret_echoed_while_watching_is_masked_in_lines_ndjson_github_and_debug(auth: str) -> None:
    with Server(_echo("500")) as server:
        write_acme_config(server.url, auth=auth)
        args = ["watch", "42", "--retries", "0", "--max-consecutive-failures", "2", "--interval", "1"]
        lines = run_cli([*args, "--display", "lines"], sleep=lambda s: None)
        ndjson = run_cli([*args, "-o", "json"], sleep=lambda s: None)
        github = run_cli([*args, "--display", "lines"], env={"GITHUB_ACTIONS": "true"}, sleep=lambda s: None)
        debug = run_cli(["get", "42", "--retries", "1", "--debug"], sleep=lambda s: None)
    for r in (lines, ndjson, github, debug):
        assert r.code == 6, r.stderr
        assert_no_secret(r.stdout, r.stderr)
    assert "poll failed" in lines.stderr + lines.stdout
    final = json.loads(ndjson.stdout.splitlines()[-1])
    assert final["verdict"] == "unavailable" and "…" in final["reason"]
    assert "::error" in github.stdout + github.stderr
    assert "bulkop: debug:" in debug.stderr


def test_the_client_masks_a_secret_a_library_caller_sees() -> None:
    from bulkop.api import Client
    from bulkop.errors import BulkopError
    from bulkop.providers import parse_definition

    defn = parse_definition("acme", tomllib.loads(ACME)["providers"]["acme"])
    events: list[Any] = []
    with Server(_echo("401")) as server, Client(defn, server.url, api_key=KEY, retries=0, on_event=events.append) as c:
        outcome = c.get_many(["42", "43"])
        with pytest.raises(BulkopError) as info:
            c.get("42")
    assert all(isinstance(o, BulkopError) for o in outcome)
    assert_no_secret(str(info.value), info.value.message, *(str(o) for o in outcome), *(str(e) for e in events))


@pytest.mark.parametrize("echo", ["401", "html", "redirect", "status"])
def test_a_message_cut_short_never_shows_a_beginning_of_a_long_key(echo: str) -> None:
    long_key = "sk_" + "x" * 500 + "END"
    with Server(_echo(echo)) as server:
        path = write_acme_config(server.url)
        path.write_text(path.read_text().replace(KEY, long_key))
        r = run_cli(["get", "42", "--retries", "0"])
        j = run_cli(["get", "42", "--retries", "0", "-o", "json"])
    assert r.code in (4, 6), r.stderr
    for text in (r.stdout, r.stderr, j.stdout, j.stderr):
        assert "sk_xxxx" not in text and "xxxxxxxx" not in text


# ------------------------------------------------------------------ 3. deep nesting is exit 7

DEEP = "(" * 600 + "state" + ")" * 600


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('status = "state"', f'status = "{DEEP}"'), "providers.acme.fields.status"),
        (('name = "title"', f'name = "{"[" * 400 + "title" + "]" * 400}"'), "providers.acme.fields.name"),
        (('error_message = ["message"]', f'error_message = ["{DEEP}"]'), "providers.acme.error_message[0]"),
        (('name = "title"', f'name = "{"!" * 3000}title"'), "providers.acme.fields.name"),
        (('id_pattern = "[0-9]+"', f'id_pattern = "{"(" * 2000}a{")" * 2000}"'), "providers.acme.id_pattern"),
    ],
)
def test_a_deeply_nested_expression_is_exit_7_and_listed_as_broken(change: tuple[str, str], key: str) -> None:
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace(*change))
        own = run_cli(["get", "42"])
        other = run_cli(["get", "--provider", "knock", "x"])
        listed = run_cli(["providers", "-o", "json"])
    assert own.code == 7 and key in own.stderr, own.stderr
    assert other.code == 7 and key in other.stderr, other.stderr
    assert "Traceback" not in own.stderr + other.stderr + listed.stderr
    assert listed.code == 7
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["acme"]["error"]["message"].startswith(key) and "knock" in rows
    assert server.requests == []


# ------------------------------------------------------------------ 4. expressions checked at load


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("nofunc(state)", "unknown function nofunc()"),
        ("length(state, title)", "length() takes 1 argument"),
        ("max_by(state)", "max_by() takes 2 arguments"),
        ("sort_by(state, title)", "must be an expression reference"),
        ("not_null()", "not_null() takes at least 1"),
        ("abs(&state)", "must be a value"),
    ],
)
@pytest.mark.parametrize("field", ["status", "name", "error_message"])
def test_an_expression_jmespath_would_refuse_at_the_first_body_is_exit_7_at_load(
    expression: str, words: str, field: str
) -> None:
    if field == "error_message":
        definition, key = (
            ACME.replace('error_message = ["message"]', f'error_message = ["{expression}"]'),
            ("providers.acme.error_message[0]"),
        )
    else:
        old = 'status = "state"' if field == "status" else 'name = "title"'
        definition, key = ACME.replace(old, f'{field} = "{expression}"'), f"providers.acme.fields.{field}"
    with Server(ok) as server:
        write_acme_config(server.url, definition)
        r = run_cli(["get", "42"])
        check = run_cli(["providers", "show", "acme"])
    assert r.code == 7, r.stderr
    assert key in r.stderr and words in r.stderr
    assert check.code == 7
    assert server.requests == []


@pytest.mark.parametrize("field", ["status", "name"])
@pytest.mark.parametrize("expression", ["&state", "[&state]", "{a: &title}", "to_array(&state)"])
def test_an_expression_object_is_never_shown_as_a_python_repr(field: str, expression: str) -> None:
    old = 'status = "state"' if field == "status" else 'name = "title"'
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace(old, f'{field} = "{expression}"'))
        r = run_cli(["get", "42"])
        j = run_cli(["get", "42", "-o", "json"])
    assert r.code in (6, 7), r.stderr  # refused at load (exit 7), or an invalid answer (exit 6)
    assert f"providers.acme.fields.{field}" in r.stderr
    for text in (r.stdout, r.stderr, j.stdout, j.stderr):
        # (the hint may link https://jmespath.org/…: no module path, repr or class name)
        shown = text.lower().replace("jmespath.org", "")
        assert "object at 0x" not in text and "jmespath" not in shown and "_Expression" not in text


# ------------------------------------------------------------------ 5. headers vs the auth header


@pytest.mark.parametrize(
    ("auth", "header"),
    [
        ("header:X-Api-Key", "x-api-key"),
        ("header:X-Api-Key", "X-API-KEY"),
        ("header:X-Api-Key", "X-Api-Key"),
        ("header:X-Api-Key", "authorization"),
        ("bearer", "Authorization"),
        ("bearer", "AUTHORIZATION"),
        ("basic", "authorization"),
        ("none", "Proxy-Authorization"),
        ("bearer", "proxy-authorization"),
        ("none", "Accept-Encoding"),
        ("none", "accept-encoding"),
        ("none", "HOST"),
    ],
)
def test_a_header_that_clashes_with_bulkops_own_is_exit_7(auth: str, header: str) -> None:
    definition = ACME.replace('error_message = ["message"]', f'headers = {{ "{header}" = "v" }}')
    with Server(ok) as server:
        write_acme_config(server.url, definition, auth=auth)
        r = run_cli(["get", "42"])
    assert r.code == 7, r.stderr
    assert "providers.acme.headers" in r.stderr
    assert server.requests == []


HOP_BY_HOP = ["TE", "te", "Trailer", "Upgrade", "Keep-Alive", "Proxy-Connection", "PROXY-CONNECTION"]


@pytest.mark.parametrize("header", HOP_BY_HOP)
def test_a_hop_by_hop_header_is_no_definition_header(header: str) -> None:
    """A proxy drops these on the way (RFC 9110 §7.6.1): as a definition's header they would
    vanish; as the credential's header, the credential would."""
    definition = ACME.replace('error_message = ["message"]', f'headers = {{ "{header}" = "v" }}')
    with Server(ok) as server:
        write_acme_config(server.url, definition)
        r = run_cli(["get", "42"])
    assert r.code == 7 and "providers.acme.headers" in r.stderr, r.stderr
    assert server.requests == []


@pytest.mark.parametrize("header", HOP_BY_HOP)
def test_a_hop_by_hop_header_cannot_carry_the_credential(header: str) -> None:
    with Server(ok) as server:
        write_acme_config(server.url, auth=f"header:{header}")
        r = run_cli(["get", "42"])
    assert r.code == 7 and "providers.acme.auth" in r.stderr, r.stderr
    assert server.requests == []


@pytest.mark.parametrize("pair", [("Accept", "accept"), ("X-Trace", "x-trace"), ("User-Agent", "USER-AGENT")])
def test_one_header_given_twice_in_two_cases_is_exit_7(pair: tuple[str, str]) -> None:
    definition = ACME.replace('error_message = ["message"]', f'headers = {{ "{pair[0]}" = "a", "{pair[1]}" = "b" }}')
    with Server(ok) as server:
        write_acme_config(server.url, definition)
        r = run_cli(["get", "42"])
    assert r.code == 7 and "providers.acme.headers" in r.stderr, r.stderr


@pytest.mark.parametrize("accept", ["Accept", "accept", "ACCEPT"])
@pytest.mark.parametrize("agent", ["User-Agent", "user-agent"])
def test_accept_and_user_agent_replace_bulkops_defaults_whatever_their_case(accept: str, agent: str) -> None:
    definition = ACME.replace(
        'error_message = ["message"]', f'headers = {{ "{accept}" = "application/vnd.acme+json", "{agent}" = "me/1" }}'
    )
    with Server(ok) as server:
        write_acme_config(server.url, definition)
        r = run_cli(["get", "42"])
    assert r.code == 0, r.stderr
    sent = server.requests[0][1]
    assert [v for k, v in sent if k.lower() == "accept"] == ["application/vnd.acme+json"]
    assert [v for k, v in sent if k.lower() == "user-agent"] == ["me/1"]
    assert [v for k, v in sent if k.lower() == "x-api-key"] == [KEY]


# ------------------------------------------------------------------ 6. ReDoS: long ids, bad patterns


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+b",
        "(a*)*b",
        "(?:a+)+",
        "(a|aa)+b",
        "(a|a?)+",
        "(\\\\w+-?)+",
        "([a-z]+[0-9]*)*x",
        "(a{1,9}){2,}",
        "(a)\\\\1",
        "(?P<x>a)(?P=x)",
        "(?:(a)|b)(?(1)a|b)",
        ".*.*.*.*x",
    ],
)
def test_an_id_pattern_that_can_backtrack_without_end_is_exit_7_with_a_hint(pattern: str) -> None:
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace('id_pattern = "[0-9]+"', f'id_pattern = "{pattern}"'))
        r = run_cli(["get", "42"])
    assert r.code == 7, r.stderr
    assert "providers.acme.id_pattern" in r.stderr and "write each repeated part once" in r.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    "pattern", ["[0-9]+", "job_[A-Za-z0-9]{1,64}", "[a-z]+-[0-9]+", "(?:-[0-9a-f]{4}){3}x?", "[A-Za-z0-9_-]+:[0-9]+"]
)
def test_ordinary_id_patterns_still_load(pattern: str) -> None:
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace('id_pattern = "[0-9]+"', f'id_pattern = "{pattern}"'))
        r = run_cli(["providers", "show", "acme"])
    assert r.code == 0, r.stderr


@pytest.mark.parametrize("length", [257, 1000, 100_000])
@pytest.mark.parametrize("how", ["argument", "stdin"])
def test_an_id_longer_than_the_cap_is_exit_2_before_any_pattern_or_request(length: int, how: str) -> None:
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace('id_pattern = "[0-9]+"', 'id_pattern = "a+"'))
        op_id = "a" * length
        if how == "argument":
            r = run_cli(["get", op_id])
        else:
            r = run_cli(["watch", "-", "-o", "json"], stdin=op_id + "\n", sleep=lambda s: None)
    assert r.code == 2, r.stderr
    assert "is not a acme operation id" in r.stderr and "at most 256" in r.stderr
    assert len(r.stderr) < 400
    assert server.requests == []


def test_an_id_at_the_cap_is_accepted() -> None:
    with Server(ok) as server:
        write_acme_config(server.url, ACME.replace('id_pattern = "[0-9]+"', 'id_pattern = "a+"'))
        r = run_cli(["get", "a" * 256])
    assert r.code == 0, r.stderr


# ------------------------------------------------------------------ 7. a definition's base_url


@pytest.mark.parametrize(
    ("base_url", "leak"),
    [
        ("http://u:hunter2secret@host.example", "hunter2secret"),
        ("https://user@host.example/api", "user@"),
        ("https://host.example/api?token=abc123", None),
        ("https://host.example/api#frag", None),
        ("https://host.example/a/../b", None),
        ("ftp://host.example", None),
        ("https://", None),
        ("https://host.example:99999", None),
    ],
)
def test_a_definitions_base_url_is_checked_at_load_as_settings_check_it(base_url: str, leak: str | None) -> None:
    definition = ACME.replace('id_pattern = "[0-9]+"', f'id_pattern = "[0-9]+"\nbase_url = "{base_url}"')
    with Server(ok) as server:
        write_acme_config(server.url, definition)
        r = run_cli(["get", "42"])
        shown = run_cli(["providers", "show", "acme"])
        listed = run_cli(["providers", "-o", "json"])
    assert r.code == 7, r.stderr
    assert "providers.acme.base_url" in r.stderr and "profile" not in r.stderr  # the definition is to blame
    assert shown.code == 7 and "providers.acme.base_url" in shown.stderr
    if leak:
        for text in (r.stderr, shown.stdout, shown.stderr, listed.stdout, listed.stderr):
            assert leak not in text
    assert server.requests == []


def test_a_definitions_base_url_is_normalised() -> None:
    definition = ACME.replace('id_pattern = "[0-9]+"', 'id_pattern = "[0-9]+"\nbase_url = "HTTPS://Host.Example/api/"')
    write_acme_config("https://x.example", definition)
    r = run_cli(["providers", "show", "acme"])
    assert r.code == 0, r.stderr
    assert 'base_url = "https://host.example/api"' in r.stdout
