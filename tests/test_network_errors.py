"""Network errors are told apart by the type of the socket's exception, never by its wording.

An OS words "connection refused" or "Name or service not known" differently by platform and
locale; the exception types (socket.gaierror, ConnectionRefusedError, SSLCertVerificationError)
do not. These tests give httpx errors whose text says one thing and whose cause says another:
the cause must win. The last ones use real sockets and the real CLI.
"""

from __future__ import annotations

import email.utils
import socket
import ssl

import httpx
import pytest

from bulkop.api.http import Http, raise_for_status
from bulkop.errors import ApiUnavailable
from conftest import KNOCK_TOKEN, run_cli

OP = "123e4567-e89b-12d3-a456-426614174000"
URL = "https://api.example.test/v1/bulk_operations/x"
TEXTS = ["", "Verbindung abgelehnt", "Name or service not known", "connection refused", "certificate verify failed"]


def failing(cause: BaseException, text: str) -> tuple[Http, list[float], list[httpx.Request]]:
    """An Http whose every connection attempt fails with `cause` under the message `text`."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError(text, request=request) from inner

    delays: list[float] = []
    return Http(transport=httpx.MockTransport(handler), sleep=delays.append, now=lambda: 0.0), delays, requests


def attempt(http: Http, retries: int = 2) -> ApiUnavailable:
    with pytest.raises(ApiUnavailable) as e:
        http.get(URL, headers={}, timeout=5, retries=retries, max_body=1 << 20)
    return e.value


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    ("cause", "says", "retried"),
    [
        (socket.gaierror(socket.EAI_NONAME, "whatever the resolver says"), "cannot resolve the host", False),
        (socket.gaierror(socket.EAI_AGAIN, "temporary"), "cannot resolve the host", False),
        (ConnectionRefusedError(111, "abgelehnt"), "connection refused", True),
        (ssl.SSLCertVerificationError(1, "unknown issuer"), "TLS certificate could not be verified", False),
        (ConnectionResetError(104, "reset"), "cannot connect", True),
        (OSError(113, "No route to host"), "cannot connect", True),
    ],
    ids=["gaierror", "gaierror-again", "refused", "certificate", "reset", "no-route"],
)
def test_the_cause_decides_not_the_wording(cause, says, retried, text):
    http, delays, requests = failing(cause, text)
    err = attempt(http)
    assert says in err.message
    assert len(requests) == (3 if retried else 1)
    assert len(delays) == (2 if retried else 0)


def test_a_cause_deep_in_the_chain_is_found():
    """httpx wraps httpcore's error, which wraps the OSError: the walk goes through both."""

    class Wrapper(Exception):
        pass

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            try:
                raise ConnectionRefusedError(111, "x")
            except ConnectionRefusedError as e:
                raise Wrapper("wrapped") from e
        except Wrapper as w:
            raise httpx.ConnectError("", request=request) from w

    err = attempt(Http(transport=httpx.MockTransport(handler), sleep=lambda s: None), retries=0)
    assert "connection refused" in err.message


def test_a_real_refused_port_through_the_cli(isolated_env):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli(
        ["get", OP, "--retries", "0"], {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    assert r.code == 6, r.stderr
    assert "connection refused" in r.stderr and r.stderr.count("\n") == 1  # one line, hint included


def test_a_real_unresolvable_host_is_not_retried(isolated_env):
    """`.invalid` never resolves (RFC 2606): the resolver's answer is a socket.gaierror."""
    r = run_cli(
        ["get", OP, "--retries", "3", "--debug"],
        {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": "https://bulkop-test.invalid"},
    )
    assert r.code == 6, r.stderr
    assert "cannot resolve the host" in r.stderr
    assert "retrying" not in r.stderr.lower()


@pytest.mark.parametrize("ahead", [0, 7, 59, 3600])
def test_retry_after_dates_are_read_against_the_injected_wall_clock(ahead):
    """An HTTP-date in Retry-After is relative to the Http's own wall clock, not the machine's."""
    wall = 2_000_000_000.0  # 2033: far from the real clock, so time.time() would be caught
    when = email.utils.formatdate(wall + ahead, usegmt=True)
    answers = [httpx.Response(503, headers={"retry-after": when}), httpx.Response(200, json={})]
    delays: list[float] = []
    http = Http(transport=httpx.MockTransport(lambda request: answers.pop(0)), sleep=delays.append, wall=lambda: wall)
    assert http.get(URL, headers={}, timeout=5, retries=1, max_body=1 << 20).status == 200
    assert delays == [min(ahead, 60)]

    # raise_for_status reads the same header the same way when retries are spent.
    answers.append(httpx.Response(429, headers={"retry-after": when}))
    response = http.get(URL, headers={}, timeout=5, retries=0, max_body=1 << 20)
    with pytest.raises(ApiUnavailable) as e:
        raise_for_status(response, URL, what="op", describe=lambda r: None, auth_hint="", wall=lambda: wall)
    assert getattr(e.value, "retry_after", None) == min(ahead, 60)
