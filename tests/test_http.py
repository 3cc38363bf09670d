"""The HTTP layer: retries, Retry-After, backoff, the body cap, redirects, loopback and errors.

Unit tests drive `Http` through an httpx.MockTransport for cases a real server cannot produce
on demand (a DNS failure, a body without Content-Length); the rest use the simulator.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import random
import socket
import zlib
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop import __version__
from bulkop.api import Client
from bulkop.api.http import (
    MAX_RETRY_AFTER,
    Http,
    RateLimited,
    RequestEvent,
    Response,
    backoff,
    check_credentials_safe,
    decode_json,
    excerpt,
    is_loopback,
    raise_for_status,
    retry_after_seconds,
)
from bulkop.errors import (
    ApiUnavailable,
    AuthError,
    ConfigError,
    ExitCode,
    InvalidResponse,
    NotFoundError,
    UsageError,
)
from bulkop.simulator import Scenario
from conftest import KNOCK_TOKEN, run_cli
from helpers import free_port

# The built-in definitions describe error bodies (api/knock.py and api/saymon.py are gone).
knock = SimpleNamespace(describe_error=Client("knock", "https://api.knock.app", api_key="k")._describe)
saymon = SimpleNamespace(describe_error=Client("saymon", "https://h.example", login="u", password="p")._describe)

# Properties run on a possibly busy machine: no per-example deadline, fewer examples.
FAST = settings(deadline=None, max_examples=60)

URL = "https://api.knock.app/v1/bulk_operations/123e4567-e89b-12d3-a456-426614174000"
OP = "123e4567-e89b-12d3-a456-426614174000"
BODY = json.dumps(
    {
        "__typename": "BulkOperation",
        "id": OP,
        "name": "n",
        "status": "completed",
        "estimated_total_rows": 1,
        "processed_rows": 1,
        "success_count": 1,
        "inserted_at": "2026-11-22T12:00:00Z",
        "updated_at": "2026-11-22T12:00:00Z",
    }
).encode()


class Recorder:
    """A MockTransport handler answering from a script, recording every request."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def http_with(handler, delays: list[float] | None = None) -> Http:
    return Http(
        transport=httpx.MockTransport(handler), sleep=(delays if delays is not None else []).append, now=lambda: 0.0
    )


def fetch(http: Http, *, retries: int = 3, max_body: int = 1 << 20, events=None) -> Response:
    return http.get(
        URL,
        headers={"Authorization": "Bearer k"},
        timeout=5,
        retries=retries,
        max_body=max_body,
        on_event=events.append if events is not None else None,
    )


def response(status: int, body: bytes = b"{}", **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("007", 7.0),
        ("61", MAX_RETRY_AFTER),
        ("86400", MAX_RETRY_AFTER),
        ("9" * 5000, MAX_RETRY_AFTER),  # too many digits for int(): still "a long time"
        # Not delta-seconds (RFC 9110: 1*DIGIT) nor an HTTP-date: absent, so the caller backs off.
        ("2.5", None),
        (" 10.5", None),
        ("-5", None),
        ("-1", None),
        ("+5", None),
        ("1_0", None),
        ("1e3", None),
        ("1e400", None),
        ("inf", None),
        ("Infinity", None),
        ("0x10", None),
        ("\u0661\u0660", None),  # Arabic-Indic digits are digits to Python, not to HTTP
        ("10 s", None),
        ("nan", None),
        ("Sun Nov  6 08:49:37 1994", MAX_RETRY_AFTER),  # asctime, an obsolete form RFC 9110 still accepts
        ("Sunday, 06-Nov-94 08:49:37 GMT", MAX_RETRY_AFTER),  # RFC 850, the other obsolete form
        ("Sun, 06 Nov 1994 08:49:37 UTC", None),  # IMF-fixdate says GMT, nothing else
        ("Sun, 31 Feb 1994 08:49:37 GMT", None),
        ("6 Nov 1994 08:49:37 GMT", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Mon, 99 Foo 2020 00:00:00 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37", None),  # an HTTP-date without its zone is not one
    ],
)
def test_retry_after_seconds(value, expected):
    assert retry_after_seconds(value, now_epoch=0) == expected


def test_retry_after_http_date_is_relative_to_now():
    now = 1_800_000_000.0
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now_epoch=now) == 30
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now_epoch=now) == 0
    assert retry_after_seconds(email.utils.formatdate(now + 7200, usegmt=True), now_epoch=now) == MAX_RETRY_AFTER


@FAST
@given(st.text(max_size=60))
def test_retry_after_never_raises_and_stays_within_bounds(value):
    seconds = retry_after_seconds(value, now_epoch=1_800_000_000.0)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


@FAST
@given(st.integers(min_value=1, max_value=101), st.integers(min_value=0, max_value=2**32))
def test_backoff_bounds(attempt, seed):
    """Every attempt --retries allows (at most 100 retries)."""
    delay = backoff(attempt, random.Random(seed))
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling
    assert 0.25 <= delay <= 8.0


@pytest.mark.parametrize("attempt", [1024, 1025, 5000])
def test_backoff_survives_any_attempt_number(attempt):
    """`Client(retries=...)` is unbounded from Python: a long outage must not crash the delay."""
    assert 4.0 <= backoff(attempt, random.Random(0)) <= 8.0


def test_backoff_grows_then_caps():
    rng = random.Random(1)
    firsts = [max(backoff(1, rng) for _ in range(50)), max(backoff(3, rng) for _ in range(50))]
    assert firsts[0] <= 0.5 < firsts[1]
    assert all(4.0 <= backoff(50, rng) <= 8.0 for _ in range(50))


# --------------------------------------------------------------------------- loopback, http://


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.3.2.1", "::1", "[::1]"])
def test_is_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "10.0.0.1",
        "192.168.1.1",
        "localhost.example.com",
        "api.localhost",  # resolved by DNS where the resolver does not follow RFC 6761
        "a.b.LOCALHOST",
        "127.0.0.1.nip.io",
        "::ffff:10.0.0.1",
        "",
        "0.0.0.0",
    ],
)
def test_is_not_loopback(host):
    assert not is_loopback(host)


@pytest.mark.parametrize("host", ["api.localhost", "x.y.localhost", "Evil.LocalHost"])
def test_plain_http_to_a_subdomain_of_localhost_is_refused(host):
    with pytest.raises(UsageError) as e:
        check_credentials_safe(f"http://{host}:8080", False)
    assert "--allow-insecure-http" in (e.value.hint or "")


def test_plain_http_with_a_secret_to_a_remote_host_is_refused():
    with pytest.raises(UsageError) as e:
        check_credentials_safe("http://bulk.example.com", False)
    assert e.value.exit_code == ExitCode.USAGE == 2
    assert "bulk.example.com" in e.value.message
    assert "--allow-insecure-http" in e.value.hint


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("https://bulk.example.com", False),
        ("http://127.0.0.1:8080", False),
        ("http://localhost", False),
        ("http://[::1]:9000", False),
        ("http://bulk.example.com", True),
    ],
)
def test_credentials_allowed(url, allow):
    check_credentials_safe(url, allow)  # no exception


def test_client_refuses_plain_http_before_any_request():
    handler = Recorder(response(200, BODY))
    with pytest.raises(UsageError):
        Client("knock", "http://bulk.example.com", api_key="k", http=http_with(handler))
    assert handler.requests == []


def test_allow_insecure_http_sends_to_a_remote_host():
    """--allow-insecure-http end to end, with a MockTransport standing in for the remote host."""
    handler = Recorder(response(200, BODY, **{"content-type": "application/json"}))
    env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": "http://bulk.example.test"}
    refused = run_cli(["get", OP], env, transport=httpx.MockTransport(handler))
    assert refused.code == 7 and handler.requests == []  # the URL came from the environment: config
    r = run_cli(["get", OP, "--allow-insecure-http"], env, transport=httpx.MockTransport(handler))
    assert r.code == 0, r.stderr
    (req,) = handler.requests
    assert str(req.url) == f"http://bulk.example.test/v1/bulk_operations/{OP}"
    assert req.headers["authorization"] == f"Bearer {KNOCK_TOKEN}"
    r = run_cli(["get", OP], {**env, "BULKOP_ALLOW_INSECURE_HTTP": "1"}, transport=httpx.MockTransport(handler))
    assert r.code == 0, r.stderr


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    handler = Recorder(response(status), response(200, BODY))
    delays: list[float] = []
    r = fetch(http_with(handler, delays))
    assert r.status == 200
    assert len(handler.requests) == 2 and len(delays) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500, 501])
def test_other_statuses_are_not_retried(status):
    handler = Recorder(response(status), response(200, BODY))
    delays: list[float] = []
    assert fetch(http_with(handler, delays)).status == status
    assert len(handler.requests) == 1 and delays == []


def test_retries_stop_after_the_limit_and_return_the_last_answer():
    handler = Recorder(response(503))
    delays: list[float] = []
    assert fetch(http_with(handler, delays), retries=2).status == 503
    assert len(handler.requests) == 3 and len(delays) == 2


def test_retry_after_is_honoured_and_capped():
    handler = Recorder(
        response(429, **{"retry-after": "3"}), response(503, **{"retry-after": "3600"}), response(200, BODY)
    )
    delays: list[float] = []
    assert fetch(http_with(handler, delays)).status == 200
    assert delays == [3.0, MAX_RETRY_AFTER]


def test_no_retry_after_falls_back_to_backoff():
    handler = Recorder(response(429), response(429), response(429), response(200, BODY))
    delays: list[float] = []
    assert fetch(http_with(handler, delays)).status == 200
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0 and 1.0 <= delays[2] <= 2.0


def connect_error(text: str, cause: OSError) -> httpx.ConnectError:
    """A ConnectError as httpx raises it: the socket's OSError is its cause."""
    err = httpx.ConnectError(text, request=httpx.Request("GET", URL))
    err.__cause__ = cause
    return err


def test_connection_errors_are_retried_then_reported():
    handler = Recorder(connect_error("[Errno 111] Connection refused", ConnectionRefusedError(111, "refused")))
    delays: list[float] = []
    with pytest.raises(ApiUnavailable) as e:
        fetch(http_with(handler, delays), retries=2)
    assert len(handler.requests) == 3 and len(delays) == 2
    assert "connection refused" in e.value.message and "after 3 attempts" in e.value.message


def test_name_resolution_failure_is_not_retried():
    handler = Recorder(connect_error("[Errno -2] Name or service not known", socket.gaierror(-2, "unknown")))
    with pytest.raises(ApiUnavailable) as e:
        fetch(http_with(handler), retries=3)
    assert len(handler.requests) == 1
    assert "cannot resolve" in e.value.message


def test_timeouts_are_retried_and_named():
    req = httpx.Request("GET", URL)
    handler = Recorder(httpx.ReadTimeout("timed out", request=req), response(200, BODY))
    assert fetch(http_with(handler)).status == 200
    handler = Recorder(httpx.ReadTimeout("timed out", request=req))
    with pytest.raises(ApiUnavailable) as e:
        fetch(http_with(handler), retries=0)
    assert "timed out after 5s" in e.value.message
    assert "--request-timeout" in e.value.hint


def test_events_describe_each_attempt():
    handler = Recorder(response(503, **{"retry-after": "2"}), response(200, BODY))
    events: list[RequestEvent] = []
    fetch(http_with(handler), events=events)
    assert [(e.status, e.retry_in, e.attempt) for e in events] == [(503, 2.0, 1), (200, None, 2)]
    assert str(events[0]) == f"GET {URL} -> 503 in 0 ms; retry 1 in 2.0s"
    assert str(events[1]) == f"GET {URL} -> 200 in 0 ms"


def test_event_text_is_cleaned():
    event = RequestEvent("GET", "http://h/\x1b[2Jx\u202e", None, 0.0, "boom\x07")
    assert "\x1b" not in str(event) and "\u202e" not in str(event) and "\x07" not in str(event)


def test_sends_user_agent_and_accept():
    handler = Recorder(response(200, BODY))
    fetch(http_with(handler))
    (req,) = handler.requests
    assert req.headers["user-agent"] == f"bulkop/{__version__}"
    assert req.headers["accept"] == "application/json"
    assert req.headers["authorization"] == "Bearer k"


# --------------------------------------------------------------------------- body cap


def test_declared_body_over_the_cap_is_refused_unread():
    handler = Recorder(response(200, b"x" * 2000))
    with pytest.raises(InvalidResponse) as e:
        fetch(http_with(handler), max_body=1000)
    assert "cap" in e.value.message and "BULKOP_MAX_BODY_SIZE" in e.value.message
    assert len(handler.requests) == 1  # not retried


def test_streamed_body_without_length_over_the_cap_is_refused():
    def chunks():
        for _ in range(100):
            yield b"x" * 100

    handler = Recorder(httpx.Response(200, content=chunks()))
    with pytest.raises(InvalidResponse) as e:
        fetch(http_with(handler), max_body=1000)
    assert "cap" in e.value.message and len(handler.requests) == 1


def test_body_exactly_at_the_cap_is_accepted():
    handler = Recorder(response(200, b"x" * 1000))
    assert fetch(http_with(handler), max_body=1000).body == b"x" * 1000


# --------------------------------------------------------------------------- redirects


def test_redirect_is_returned_not_followed():
    handler = Recorder(response(302, b"", location="https://elsewhere.example/steal"))
    r = fetch(http_with(handler))
    assert r.status == 302
    assert len(handler.requests) == 1
    with pytest.raises(InvalidResponse) as e:
        raise_for_status(r, URL, what="op", describe=knock.describe_error, auth_hint="")
    assert "not followed" in e.value.message
    assert "elsewhere.example" in e.value.message


def test_redirect_in_the_cli_is_exit_6_and_not_retried(sim, knock_env):
    # (that the redirect target receives nothing: test_get.test_redirect_is_not_followed)
    delays: list[float] = []
    op = sim.add(Scenario(queued_seconds=0, duration=0, fault="redirect", redirect_to="http://127.0.0.2:9/elsewhere"))
    r = run_cli(["get", op], knock_env, sleep=delays.append)
    assert r.code == 6
    assert "redirected to http://127.0.0.2:9/elsewhere; not followed" in r.stderr
    assert len(sim.requests_for(op)) == 1 and delays == []


# --------------------------------------------------------------------------- error mapping


def resp(status: int, body: bytes = b"", content_type: str = "application/json", **headers):
    return Response(status, content_type, body, httpx.Headers(headers))


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthError, "refused the credentials"),
        (403, AuthError, "denied access"),
        (404, NotFoundError, "not found"),
        (429, RateLimited, "rate limiting"),
        (500, ApiUnavailable, "is failing"),
        (503, ApiUnavailable, "is failing"),
        (418, ApiUnavailable, "refused the request"),
        (307, InvalidResponse, "not followed"),
    ],
)
def test_status_mapping(status, error, words):
    with pytest.raises(error) as e:
        raise_for_status(
            resp(status), URL, what="knock operation x", describe=knock.describe_error, auth_hint="check KNOCK_API_KEY"
        )
    assert type(e.value) is error
    assert words in e.value.message
    assert "api.knock.app" in e.value.message


def test_success_statuses_pass():
    for status in (200, 201, 204):
        raise_for_status(resp(status), URL, what="x", describe=knock.describe_error, auth_hint="")


def test_knock_error_shapes_are_described():
    coded = resp(404, b'{"code":"resource_missing","message":"gone","status":404,"type":"x"}')
    assert knock.describe_error(coded) == "resource_missing: gone"
    router = resp(404, b'{"errors":{"detail":"404 Not Found"}}')
    assert "does not know this route" in knock.describe_error(router)
    assert knock.describe_error(resp(404, b"<html>")) is None
    assert knock.describe_error(resp(404, b"[1]")) is None
    evil = resp(401, b'{"code":"x\\u001b[2J","message":"\\u202eevil"}')
    assert "\x1b" not in knock.describe_error(evil) and "\u202e" not in knock.describe_error(evil)


def test_saymon_error_shapes_are_described():
    assert saymon.describe_error(resp(401, b'{"message":"Unauthorized"}')) == "Unauthorized"
    assert saymon.describe_error(resp(500, b'{"error":"db down"}')) == "db down"
    assert saymon.describe_error(resp(500, b"oops")) is None


def test_non_json_names_status_type_and_excerpt():
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>" + b"x" * 500
    with pytest.raises(InvalidResponse) as e:
        decode_json(resp(200, page, "text/html"), URL)
    msg = e.value.message
    assert "HTTP 200" in msg and "text/html" in msg and "502 Bad Gateway" in msg
    assert len(msg) < 250  # an excerpt, not the page
    with pytest.raises(InvalidResponse) as e:
        decode_json(resp(200, b"", ""), URL)
    assert "no content type" in e.value.message and "(empty body)" in e.value.message


def test_excerpt_is_one_clean_line():
    text = excerpt(b"line1\r\nline2\x1b[31m\xff\xfe red \xe2\x80\xae" + b"y" * 500)
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
    assert "line1 line2" in text
    assert len(text) <= 84  # 80 characters, an ellipsis and the quotes


def test_decode_json_accepts_json_whatever_the_content_type():
    assert decode_json(resp(200, b'{"a": 1}', "text/plain"), URL) == {"a": 1}


# --------------------------------------------------------------------------- the real network


def test_connection_refused_end_to_end():
    delays: list[float] = []
    env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    r = run_cli(["get", OP, "--retries", "2"], env, sleep=delays.append)
    assert r.code == 6
    assert "connection refused (after 3 attempts)" in r.stderr
    assert len(delays) == 2
    assert "Traceback" not in r.stderr


def test_server_that_never_answers_times_out(sim, knock_env):
    op = sim.add(Scenario(fault="hang"))
    r = run_cli(["get", op, "--request-timeout", "0.2", "--retries", "0"], knock_env)
    assert r.code == 6
    assert "timed out after 0.2s" in r.stderr


@pytest.mark.parametrize("fault", ["disconnect", "close_mid_body"])
def test_dropped_connections_are_retried(sim, knock_env, fault):
    op = sim.add(Scenario(fault=fault))
    delays: list[float] = []
    r = run_cli(["get", op, "--retries", "2"], knock_env, sleep=delays.append)
    assert r.code == 6
    assert "connection broke" in r.stderr and "after 3 attempts" in r.stderr
    assert len(sim.requests_for(op)) == 3 and len(delays) == 2


# --------------------------------------------------------------------------- issue 12: deadlines, encodings, cookies


@pytest.mark.parametrize(("timeout", "shown"), [(30, "5s"), (60, "5s"), (2, "2s"), (0.5, "0.5s")])
def test_a_connect_timeout_names_the_connect_timeout_not_the_request_timeout(timeout, shown):
    req = httpx.Request("GET", URL)
    handler = Recorder(httpx.ConnectTimeout("timed out", request=req))
    with pytest.raises(ApiUnavailable) as e:
        http_with(handler).get(URL, headers={}, timeout=timeout, retries=0, max_body=1000)
    assert f"connect timed out after {shown}" in e.value.message
    assert f"after {timeout:g}s" not in e.value.message or f"{timeout:g}s" == shown


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gz(BODY[:50]) + gz(BODY[50:]), "gzip"),  # two gzip members (RFC 1952)
        (gz(BODY) + b"\0\0\0\0", "gzip"),  # padding after the stream is ignored
        (zlib.compress(BODY), "deflate"),
        (raw_deflate(BODY), "deflate"),
        (zlib.compress(gz(BODY)), "gzip, deflate"),
        (gz(raw_deflate(BODY)), "deflate, gzip"),
        (gz(BODY), "GZip"),
        (gz(BODY), "x-gzip"),
        (BODY, "identity"),
        (gz(BODY), " gzip , identity "),
    ],
)
def test_encodings_decode_to_the_body(body, encoding):
    # An iterator, so that httpx hands the raw bytes over (bytes would be decoded up front).
    handler = Recorder(httpx.Response(200, content=iter([body]), headers={"content-encoding": encoding}))
    assert fetch(http_with(handler)).body == BODY


@pytest.mark.parametrize(
    ("body", "encoding", "words"),
    [
        (gz(BODY)[:-12], "gzip", "ends early"),  # truncated: not a body
        (gz(BODY)[:10], "gzip", "ends early"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "gzip", "cannot be decoded"),
        (gz(BODY), "gzip, gzip", "cannot be decoded"),  # says two layers, has one
        (b"\x78\x9c" + b"\xff" * 20, "deflate", "cannot be decoded"),
        (gz(BODY), "br", "Content-Encoding 'br'"),
        (gz(BODY), "zstd", "Content-Encoding 'zstd'"),
        (gz(BODY), "gzip, compress", "Content-Encoding 'compress'"),
    ],
)
def test_undecodable_or_unrequested_encodings_are_invalid_answers(body, encoding, words):
    handler = Recorder(httpx.Response(200, content=iter([body]), headers={"content-encoding": encoding}))
    with pytest.raises(InvalidResponse) as e:
        fetch(http_with(handler))
    assert words in e.value.message
    assert len(handler.requests) == 1  # an invalid answer is not retried


@pytest.mark.parametrize("layers", [["gzip"], ["gzip", "gzip"], ["deflate", "gzip"], ["gzip", "gzip", "gzip"]])
def test_decoded_bytes_are_capped_while_decoding_whatever_the_layers(layers):
    body = b"0" * (8 * 1024 * 1024)
    for layer in layers:
        body = gz(body) if layer == "gzip" else zlib.compress(body)
    handler = Recorder(httpx.Response(200, content=iter([body]), headers={"content-encoding": ", ".join(layers)}))
    with pytest.raises(InvalidResponse) as e:
        fetch(http_with(handler), max_body=100_000)
    assert "cap" in e.value.message


def test_sends_accept_encoding_for_what_it_decodes_only():
    handler = Recorder(response(200, BODY))
    fetch(http_with(handler))
    assert handler.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_set_cookie_is_never_stored_nor_sent():
    handler = Recorder(
        httpx.Response(503, content=b"{}", headers=[("set-cookie", "a=1"), ("set-cookie", "b=2; Path=/")]),
        response(200, BODY),
    )
    http = http_with(handler)
    fetch(http)
    fetch(http)
    assert [r.headers.get("cookie") for r in handler.requests] == [None, None, None]


@pytest.mark.parametrize("url", ["ftp://api.knock.app/x", "file:///etc/passwd", "javascript:alert(1)", "/relative"])
def test_only_http_and_https_urls_are_fetched(url):
    handler = Recorder(response(200, BODY))
    with pytest.raises(UsageError):
        http_with(handler).get(url, headers={}, timeout=1, retries=0, max_body=1000)
    assert handler.requests == []


@pytest.mark.parametrize("source", ["env", "profile", "default"])
def test_a_plain_http_refusal_from_configuration_is_a_config_error(source):
    with pytest.raises(ConfigError) as e:
        check_credentials_safe("http://bulk.example.com", False, source)
    assert e.value.exit_code == ExitCode.CONFIG == 7


@pytest.mark.parametrize("spelling", ["http", "HTTP", "Http"])
def test_a_plain_http_refusal_reads_the_scheme_in_any_case(spelling):
    with pytest.raises(UsageError):
        check_credentials_safe(f"{spelling}://bulk.example.com", False, "flag")
