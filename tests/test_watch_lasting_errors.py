"""A watch stops retrying what cannot pass: a redirect, or a 4xx that says the request itself
is wrong, ends the watch of that operation at the first answer (exit 6), as 401 and 404 do;
a 5xx, 408, 425 or 429 is still retried (the outside attack of December 2: a 307 to another
host was retried ten times over two minutes before the watch gave up)."""

from __future__ import annotations

import pytest

from helpers import Canned, CannedServer, env_for, watch

OP = "e3e70682-c209-4cac-a29f-6fbed82c07cd"
KEY = "sk_test_lasting_errors_0123456789"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_ends_the_watch_at_the_first_answer(clock, status):
    answer = Canned(status, b"", (("Location", "https://elsewhere.example/v1/x"),))
    with CannedServer(answer) as server:
        r = watch(clock, [OP, "--interval", "1"], env_for("knock", server.url, KNOCK_API_KEY=KEY))
        polls = len(server.requests)
    assert r.code == 6, r.stderr
    assert polls == 1, r.stderr
    assert "redirected to https://elsewhere.example" in r.stderr
    assert "retrying" not in r.stderr


@pytest.mark.parametrize("status", [400, 405, 410, 422])
def test_a_request_the_server_calls_wrong_is_not_asked_again(clock, status):
    with CannedServer(Canned(status, b'{"message": "no"}')) as server:
        r = watch(clock, [OP, "--interval", "1"], env_for("knock", server.url, KNOCK_API_KEY=KEY))
        polls = len(server.requests)
    assert r.code == 6, r.stderr
    assert polls == 1, r.stderr
    assert "refused the request" in r.stderr


@pytest.mark.parametrize("status", [408, 425, 500, 503])
def test_a_fault_that_may_pass_is_still_retried(clock, status):
    with CannedServer(Canned(status, b"{}")) as server:
        r = watch(
            clock,
            [OP, "--interval", "1", "--max-consecutive-failures", "3", "--retries", "0"],
            env_for("knock", server.url, KNOCK_API_KEY=KEY),
        )
        polls = len(server.requests)
    assert r.code == 6, r.stderr
    assert polls == 3, r.stderr
    assert "3 failed polls in a row" in r.stderr
