"""End-to-end tests of `bulkop get`: the real CLI against the real simulator on 127.0.0.1.

Most tests run the CLI in-process (`run_cli`: real Typer parsing, real HTTP, real rendering);
the ones about terminals, pipes and colour run a real `python -m bulkop` subprocess, under a
pseudo-terminal where a terminal is what is being tested.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from bulkop import __version__
from bulkop.simulator import Scenario, Simulator
from conftest import (
    KNOCK_TOKEN,
    SAYMON_LOGIN,
    SAYMON_PASSWORD,
    minimal_env,
    run_cli,
    run_process,
    saymon_env_for,
)
from helpers import (
    MISSING_ID,
    basic_credentials,
    done,
    no_sleep,
    screen_completed,
    screen_failed,
    screen_processing,
    spawn_on_pty,
    unsafe_chars,
)

EVIL_NAME = "\x1b]0;pwned\x07evil\x1b[2J [bold]markup[/bold] \u202e"
BOX_DRAWING = re.compile("[\u2500-\u257f]")  # ━ ┃ ╇ │ … (Rich tables and bars)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def frozen_saymon_env(frozen_sim: Simulator) -> dict[str, str]:
    return saymon_env_for(frozen_sim)


def knock_url_fields(op_id: str) -> dict[str, str]:
    # progress_path would name the simulator's random port: pin it for stable screens.
    return {"progress_path": f"https://api.knock.app/v1/bulk_operations/{op_id}"}


def run_pty(args: list[str], env: dict[str, str], timeout: float = 20) -> tuple[int, str]:
    """Run `python -m bulkop` with stdin/stdout/stderr on a pseudo-terminal; read to EOF."""
    proc, master = spawn_on_pty(args, minimal_env(env))
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every copy of the slave side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode("utf-8", "replace")


# --------------------------------------------------------------------------- snapshots


Q, P, C, F = (
    "0a4c1d5e-6f70-4812-9a3b-4c5d6e7f8091",
    "1b5d2e6f-7081-4923-8b4c-5d6e7f809102",
    "2c6e3f70-8192-4a34-9c5d-6e7f80910213",
    "3d7f4081-92a3-4b45-8d6e-7f8091021324",
)
# case → (the operation, what the screen must show); each screen at 150 s of simulated time.
TABLE_SCREENS: dict[str, tuple[Scenario, tuple[str, ...]]] = {
    "queued": (
        Scenario(id=Q, name="users.identify", total_rows=1000, queued_seconds=600, extra_fields=knock_url_fields(Q)),
        ("queued",),
    ),
    "processing": (screen_processing(id=P, extra_fields=knock_url_fields(P)), ("40%",)),
    "completed": (screen_completed(id=C, extra_fields=knock_url_fields(C)), ("100%",)),
    "failed_with_error_items": (
        screen_failed(id=F, extra_fields=knock_url_fields(F)),
        ("failed", "Error items", "more (--errors"),
    ),
}


@pytest.mark.parametrize("case", list(TABLE_SCREENS))
def test_table_screen(frozen_sim, env, clock, screen, case):
    scenario, words = TABLE_SCREENS[case]
    op = frozen_sim.add(scenario)
    clock.t = 150
    r = run_cli(["get", op, "-o", "table"], env, wall=clock.wall)
    assert (r.code, r.stderr) == (0, "")
    for word in words:
        assert word in r.stdout
    assert r.stdout == screen


def test_table_saymon_finished_screen(frozen_sim, frozen_saymon_env, clock, screen):
    frozen_sim.add(Scenario(provider="saymon", id="nightly-import-42", queued_seconds=0, duration=10))
    clock.t = 150
    r = run_cli(["get", "nightly-import-42", "-o", "table"], frozen_saymon_env, wall=clock.wall)
    assert (r.code, r.stderr) == (0, "")
    assert "finished" in r.stdout and "completed" not in r.stdout
    assert r.stdout == screen


def test_table_several_ids_screen(frozen_sim, env, clock, screen):
    """Several ids: one table, a row each, in the order asked, every name visible at 80 columns."""
    scenarios = {
        "objects.bulk_set": screen_completed(),
        "users.identify": screen_processing(),
        "users.bulk_delete": screen_failed(),
        "nightly": Scenario(name="nightly", queued_seconds=600),
    }
    ids = [frozen_sim.add(s) for s in scenarios.values()]
    clock.t = 150
    r = run_cli(["get", *ids, "-o", "table"], env, wall=clock.wall)
    assert (r.code, r.stderr) == (0, "")
    # Checked before the snapshot so that a screen without its names is never recorded.
    for name in scenarios:
        assert name in r.stdout, f"name {name!r} missing from the several-ids table:\n{r.stdout}"
    assert r.stdout == screen


def test_several_ids_table_keeps_the_name_column_at_80_columns(frozen_sim, env, clock):
    """The Name column must not be squeezed to nothing by the no-wrap columns at 80 columns."""
    ids = [
        frozen_sim.add(Scenario(name="users.identify", total_rows=1000)),
        frozen_sim.add(Scenario(name="objects.bulk_set", total_rows=50_000)),
    ]
    clock.t = 60
    r = run_cli(["get", *ids, "-o", "table"], env, wall=clock.wall)
    assert r.code == 0
    header = r.stdout.splitlines()[0]
    assert "Name" in header, r.stdout
    assert "users.identify" in r.stdout and "objects.bulk_set" in r.stdout, r.stdout
    # ... and not by truncating the other cells instead
    for cell in ("completed", "processing", "14,875/50,000", "Duration"):
        assert cell in r.stdout, r.stdout


# --------------------------------------------------------------------------- what the server saw


def test_knock_request_carries_bearer_token_and_user_agent(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op], knock_env)
    assert r.code == 0, r.stderr
    (req,) = sim.requests_for(op)
    assert req.method == "GET"
    assert req.path == f"/v1/bulk_operations/{op}"
    assert req.headers["authorization"] == f"Bearer {KNOCK_TOKEN}"
    assert req.headers["user-agent"] == f"bulkop/{__version__}"
    assert "application/json" in req.headers["accept"]


def test_saymon_request_carries_basic_auth(sim, saymon_env):
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    r = run_cli(["get", op], saymon_env)
    assert r.code == 0, r.stderr
    (req,) = sim.requests_for(op)
    assert req.path == f"/node/api/bulk/{op}/status"
    expected = basic_credentials()
    assert req.headers["authorization"] == f"Basic {expected}"
    assert req.headers["user-agent"] == f"bulkop/{__version__}"


def test_rate_limit_with_retry_after_is_waited_out_then_succeeds(sim, knock_env):
    op = sim.add(done(rate_limit=1, retry_after="1"))
    delays: list[float] = []
    r = run_cli(["get", op], knock_env, sleep=delays.append)
    assert r.code == 0, r.stderr
    assert [q.status for q in sim.requests_for(op)] == [429, 200]
    assert delays == [1.0]  # exactly what Retry-After asked for


def test_rate_limit_wait_is_real_in_a_real_process(sim, knock_env):
    """In a real process the Retry-After second really passes between the two requests."""
    op = sim.add(done(rate_limit=1, retry_after="1"))
    p = run_process(["get", op], knock_env)
    assert p.returncode == 0, p.stderr
    first, second = sim.requests_for(op)
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 0.95


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("3600", [60.0]), ("Wed, 21 Oct 2015 07:28:00 GMT", [0.0]), ("0", [0.0])],
    ids=["capped-at-60", "http-date-in-the-past", "zero"],
)
def test_retry_after_values_from_the_server(sim, knock_env, retry_after, expected):
    op = sim.add(done(rate_limit=1, retry_after=retry_after))
    delays: list[float] = []
    r = run_cli(["get", op], knock_env, sleep=delays.append)
    assert r.code == 0, r.stderr
    assert delays == expected
    assert len(sim.requests_for(op)) == 2


def test_rate_limit_without_retry_after_backs_off(sim, knock_env):
    op = sim.add(done(rate_limit=2, retry_after=None))
    delays: list[float] = []
    r = run_cli(["get", op], knock_env, sleep=delays.append)
    assert r.code == 0, r.stderr
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0


def test_rate_limit_beyond_retries_is_exit_6(sim, knock_env):
    op = sim.add(done(rate_limit=10))
    r = run_cli(["get", op, "--retries", "1"], knock_env, sleep=no_sleep())
    assert r.code == 6
    assert "rate limiting" in r.stderr
    assert len(sim.requests_for(op)) == 2


def test_server_error_burst_within_retries_succeeds(sim, knock_env):
    op = sim.add(done(server_errors=2))
    delays: list[float] = []
    r = run_cli(["get", op], knock_env, sleep=delays.append)
    assert r.code == 0, r.stderr
    assert [q.status for q in sim.requests_for(op)] == [503, 503, 200]
    # Backoff with jitter: attempt 1 in 0.25..0.5 s, attempt 2 in 0.5..1 s.
    assert len(delays) == 2
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0


@pytest.mark.parametrize("status", [502, 504])
def test_other_gateway_errors_are_retried_too(sim, knock_env, status):
    op = sim.add(done(server_errors=1, server_error_status=status))
    r = run_cli(["get", op], knock_env, sleep=no_sleep())
    assert r.code == 0, r.stderr
    assert [q.status for q in sim.requests_for(op)] == [status, 200]


def test_not_found_is_not_retried(sim, knock_env):
    r = run_cli(["get", MISSING_ID], knock_env, sleep=no_sleep())
    assert r.code == 5
    assert len(sim.requests_for(MISSING_ID)) == 1
    assert MISSING_ID in r.stderr and "not found" in r.stderr


# --------------------------------------------------------------------------- exit codes


def test_exit_0_and_plain_text_when_piped(sim, knock_env):
    op = sim.add(done(name="users.identify"))
    r = run_cli(["get", op], knock_env)
    assert (r.code, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert f"id:\t{op}" in lines
    assert "status:\tcompleted" in lines
    assert "name:\tusers.identify" in lines
    assert "processed:\t1000" in lines  # plain, for awk: never 1,000


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (done(), 0),
        (done(fail_at=0.5), 1),
        (Scenario(queued_seconds=3600), 3),
        (Scenario(queued_seconds=0, duration=3600), 3),
    ],
    ids=["completed", "failed", "queued", "processing"],
)
def test_exit_status_flag_mirrors_status_codes(sim, knock_env, scenario, expected):
    op = sim.add(scenario)
    assert run_cli(["get", op], knock_env).code == 0  # without the flag, fetching is success
    r = run_cli(["get", op, "--exit-status"], knock_env)
    assert r.code == expected, r.stderr
    assert r.stdout  # the operation is still shown


def test_exit_status_with_several_ids_reports_the_worst_outcome(sim, knock_env):
    completed, failed, running = (
        sim.add(done()),
        sim.add(done(fail_at=0.1)),
        sim.add(Scenario(queued_seconds=3600)),
    )
    assert run_cli(["get", completed, running, "--exit-status"], knock_env).code == 3
    assert run_cli(["get", completed, running, failed, "--exit-status"], knock_env).code == 1
    # An error fetching one id outranks every operation outcome.
    assert run_cli(["get", failed, MISSING_ID, "--exit-status"], knock_env).code == 5


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--bogus"], "--bogus"),
        (["-o", "yaml"], "yaml"),
        (["--retries", "-1"], "--retries"),
        (["--retries", "101"], "--retries"),
        (["--request-timeout", "0"], "--request-timeout"),
        (["--color", "sometimes"], "--color"),
        (["--base-url", "ftp://x"], "--base-url"),
        (["--provider", "github"], "--provider"),
    ],
)
def test_bad_flags_are_usage_errors_before_any_request(sim, knock_env, args, words):
    r = run_cli(["get", MISSING_ID, *args], knock_env)
    assert r.code == 2, r.stderr
    assert words in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert sim.requests == []


def test_get_without_an_id_is_a_usage_error(sim, knock_env):
    r = run_cli(["get"], knock_env)
    assert r.code == 2
    assert sim.requests == []


def test_non_uuid_knock_id_is_refused_before_any_request(sim, knock_env):
    good = sim.add(done())
    r = run_cli(["get", good, "not-a-uuid"], knock_env)
    assert r.code == 2
    assert "'not-a-uuid' is not a Knock bulk operation id" in r.stderr
    assert sim.requests == []  # not even the good id was fetched
    assert r.stdout == ""


def test_wrong_token_is_exit_4(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op], {**knock_env, "KNOCK_API_KEY": "sk_test_wrong"})
    assert r.code == 4
    assert "refused the credentials" in r.stderr and "KNOCK_API_KEY" in r.stderr
    assert len(sim.requests_for(op)) == 1  # 401 is not retried


def test_missing_token_is_a_config_error_before_any_request(sim):
    r = run_cli(["get", MISSING_ID], {"BULKOP_BASE_URL": sim.base_url})
    assert r.code == 7
    assert "no Knock API key" in r.stderr
    assert sim.requests == []


def test_saymon_without_base_url_is_a_config_error(sim):
    r = run_cli(
        ["get", "abc"], {"BULKOP_PROVIDER": "saymon", "SAYMON_LOGIN": SAYMON_LOGIN, "SAYMON_PASSWORD": SAYMON_PASSWORD}
    )
    assert r.code == 7
    assert "no base URL for saymon" in r.stderr
    assert sim.requests == []


def test_bad_retries_variable_is_a_config_error(sim, knock_env):
    r = run_cli(["get", MISSING_ID], {**knock_env, "BULKOP_RETRIES": "abc"})
    assert r.code == 7
    assert "BULKOP_RETRIES" in r.stderr
    assert sim.requests == []


def test_server_errors_beyond_retries_are_exit_6(sim, knock_env):
    op = sim.add(done(server_errors=5))
    r = run_cli(["get", op, "--retries", "0"], knock_env, sleep=no_sleep())
    assert r.code == 6
    assert "503" in r.stderr
    assert len(sim.requests_for(op)) == 1
    op2 = sim.add(done(server_errors=5))
    r = run_cli(["get", op2, "--retries", "2"], knock_env, sleep=no_sleep())
    assert r.code == 6
    assert len(sim.requests_for(op2)) == 3
    assert "Traceback" not in r.stderr


def test_html_200_is_a_clean_exit_6_naming_status_type_and_excerpt(sim, knock_env):
    op = sim.add(done(fault="html_200"))
    r = run_cli(["get", op], knock_env)
    assert r.code == 6
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1, r.stderr  # one line
    assert "HTTP 200" in r.stderr
    assert "text/html" in r.stderr
    assert "502 Bad Gateway" in r.stderr  # an excerpt of what came back
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("fault", ["invalid_json", "truncated_json", "empty_body"])
def test_unparseable_json_is_exit_6(sim, knock_env, fault):
    op = sim.add(done(fault=fault))
    r = run_cli(["get", op], knock_env)
    assert r.code == 6
    assert "not JSON" in r.stderr and "HTTP 200" in r.stderr
    assert "Traceback" not in r.stderr


def test_wrong_shape_is_exit_6_naming_the_field(sim, knock_env):
    op = sim.add(done(fault="wrong_shape"))
    r = run_cli(["get", op], knock_env)
    assert r.code == 6
    assert "invalid knock operation" in r.stderr
    assert "should be an integer" in r.stderr
    assert "Traceback" not in r.stderr


def test_gzip_encoded_body_is_decoded(sim, knock_env):
    op = sim.add(done(fault="gzip"))
    r = run_cli(["get", op, "-o", "json"], knock_env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["id"] == op


# --------------------------------------------------------------------------- several ids


def test_several_ids_partial_failure(sim, knock_env):
    """GOOD MISSING GOOD2: both found printed in order, the missing one on stderr, exit 5."""
    good = sim.add(done(name="first"))
    good2 = sim.add(done(name="second"))
    r = run_cli(["get", good, MISSING_ID, good2], knock_env)
    assert r.code == 5
    rows = r.stdout.splitlines()
    assert rows[0].split("\t")[0] == "ID"
    assert [row.split("\t")[:2] for row in rows[1:]] == [[good, "first"], [good2, "second"]]
    assert MISSING_ID not in r.stdout
    assert r.stderr.count("\n") == 1 and MISSING_ID in r.stderr and "not found" in r.stderr


def test_several_ids_are_fetched_concurrently(sim, knock_env):
    """Four operations that each take 0.3 s to answer are answered together, not in turn."""
    ids = [sim.add(done(latency=0.3)) for _ in range(4)]
    r = run_cli(["get", *ids, "-o", "jsonl"], knock_env)
    assert r.code == 0, r.stderr
    answered = [sim.requests_for(op)[0].time for op in ids]
    assert max(answered) - min(answered) < 0.6  # one after another would spread them over 0.9 s


def test_several_ids_json_is_an_array_in_the_order_asked(sim, knock_env):
    ids = [sim.add(done(name=f"op{i}")) for i in range(3)]
    asked = [ids[2], ids[0], ids[1]]
    r = run_cli(["get", *asked, "-o", "json"], knock_env)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data, list)
    assert [d["id"] for d in data] == asked


def test_several_ids_jsonl_is_one_object_per_line(sim, knock_env):
    ids = [sim.add(done(name=f"op{i}")) for i in range(3)]
    asked = list(reversed(ids))
    r = run_cli(["get", *asked, "-o", "jsonl"], knock_env)
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["id"] for line in lines] == asked


def test_partial_failure_in_json_keeps_stdout_pure_json(sim, knock_env):
    good = sim.add(done())
    r = run_cli(["get", good, MISSING_ID, "-o", "json"], knock_env)
    assert r.code == 5
    assert [d["id"] for d in json.loads(r.stdout)] == [good]
    assert json.loads(r.stderr)["error"]["exit_code"] == 5


def test_errors_flag_lists_every_error_item(sim, knock_env):
    op = sim.add(done(name="users.bulk_delete", total_rows=2000, error_rate=0.01))
    short = run_cli(["get", op], knock_env)
    full = run_cli(["get", op, "--errors"], knock_env)
    assert short.code == full.code == 0
    count = json.loads(run_cli(["get", op, "-o", "json"], knock_env).stdout)["error_count"]
    assert count == 20
    assert short.stdout.count("error_item:\t") == 5
    assert "error_items:\tand 15 more" in short.stdout
    assert full.stdout.count("error_item:\t") == 20
    assert "more (--errors" not in full.stdout


# --------------------------------------------------------------------------- JSON output


def test_unknown_extra_fields_survive_json_output_exactly(frozen_sim, env):
    extra = {
        "future_field": {"nested": [1, 2.5, None, "x", {"deep": True}]},
        "tags": ["a", "b"],
        "unicode": "naïve ✓",
        "big": 12345678901234567890,
    }
    op = frozen_sim.add(done(extra_fields=extra))
    r = run_cli(["get", op, "-o", "json"], env)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    for key, value in extra.items():
        assert data[key] == value
    # The whole object is what the server sent, equal after parsing.
    sent = httpx.get(
        frozen_sim.base_url + f"/v1/bulk_operations/{op}", headers={"Authorization": f"Bearer {KNOCK_TOKEN}"}
    ).json()
    assert data == sent


def test_saymon_json_is_the_body_as_sent(sim, saymon_env):
    """SAYMON says what SAYMON said: `-o json` of one id is the body exactly as sent."""
    finished = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    running = sim.add(Scenario(provider="saymon", queued_seconds=3600))
    r = run_cli(["get", finished, "-o", "json"], saymon_env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {"finished": True}
    r = run_cli(["get", running, "-o", "json"], saymon_env)
    assert json.loads(r.stdout) == {"finished": False}
    # Several ids: each item is the body as sent, with the id asked (SAYMON sends none).
    for mode in ("json", "jsonl"):
        r = run_cli(["get", finished, running, "-o", mode], saymon_env)
        items = json.loads(r.stdout) if mode == "json" else [json.loads(x) for x in r.stdout.splitlines()]
        assert items == [{"id": finished, "finished": True}, {"id": running, "finished": False}]


@pytest.mark.parametrize("mode", ["json", "jsonl"])
def test_errors_are_json_on_stderr_under_json_output(sim, knock_env, mode):
    cases = {
        5: (["get", MISSING_ID, "-o", mode], knock_env),
        4: (["get", MISSING_ID, "-o", mode], {**knock_env, "KNOCK_API_KEY": "sk_test_wrong"}),
        6: (["get", sim.add(done(fault="html_200")), "-o", mode], knock_env),
        2: (["get", "not-a-uuid", "-o", mode], knock_env),
        7: (["get", MISSING_ID, "-o", mode], {"BULKOP_BASE_URL": sim.base_url}),
    }
    for code, (args, env) in cases.items():
        r = run_cli(args, env, sleep=no_sleep())
        assert r.code == code, r.stderr
        assert r.stdout == ""
        body = json.loads(r.stderr)
        assert set(body) == {"error"}
        err = body["error"]
        assert {"type", "message", "exit_code"} <= set(err)
        assert err["exit_code"] == code
        assert isinstance(err["type"], str) and err["message"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_json_output_pipes_into_jq(sim, knock_env):
    op = sim.add(done(extra_fields={"note": "for jq"}))
    env = minimal_env(knock_env)
    with subprocess.Popen(
        [sys.executable, "-m", "bulkop", "get", op, "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        stdin=subprocess.DEVNULL,
    ) as get:
        jq = subprocess.run(["jq", "-c", "."], stdin=get.stdout, capture_output=True, text=True, timeout=30, env=env)
        get.stdout.close()
        assert get.wait(timeout=30) == 0
    assert jq.returncode == 0, jq.stderr
    data = json.loads(jq.stdout)
    assert data["id"] == op and data["note"] == "for jq"


# --------------------------------------------------------------------------- terminals, pipes


def test_reader_going_away_is_not_reported_as_a_failed_operation(sim, knock_env):
    """`bulkop get … | head`: the closed pipe must not exit 1 ("an operation failed")."""
    ids = [sim.add(done(total_rows=10_000, error_rate=1.0))]  # ~400 kB: more than a pipe holds
    env = minimal_env(knock_env)
    # A user's usual buffered stdout (with PYTHONUNBUFFERED, CPython drops a short write silently).
    env.pop("PYTHONUNBUFFERED", None)
    with subprocess.Popen(
        [sys.executable, "-m", "bulkop", "get", *ids, "-o", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        stdin=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdout.read(100).startswith(b'{"__typename"')
        proc.stdout.close()  # like `| head -c 100`
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=30)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    documented = {1, 2, 3, 4, 5, 6, 7, 70}  # each would tell a script something untrue
    assert code not in documented, f"exit {code} after a closed pipe"


def test_terminal_shows_the_rich_view(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=0, duration=100))
    clock.t = 50
    code, out = run_pty(["get", op], env)
    assert code == 0, out
    for label in ("Name", "Status", "Progress", "Rows", "Results", "Started"):
        assert re.search(rf"^{label}\s", out, re.M), f"{label!r} missing:\n{out}"
    assert "━" in out  # the progress bar
    assert "50%" in out
    assert "status:\t" not in out
    assert "\x1b" not in out  # NO_COLOR=1 (set by conftest) holds on a terminal too


def test_pipe_shows_plain_text(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=0, duration=100))
    clock.t = 50
    p = run_process(["get", op], env)
    assert p.returncode == 0, p.stderr
    assert "status:\tprocessing" in p.stdout.splitlines()
    assert "progress:\t50%" in p.stdout.splitlines()
    assert "\x1b" not in p.stdout
    assert not BOX_DRAWING.search(p.stdout)
    assert p.stderr == ""


def test_terminal_gets_colour_unless_told_otherwise(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(queued_seconds=0, duration=100))
    clock.t = 50
    tty_env = {**env, "NO_COLOR": "", "TERM": "xterm-256color"}
    code, out = run_pty(["get", op], tty_env)
    assert code == 0
    assert "\x1b[" in out  # colour on a terminal by default
    code, out = run_pty(["get", op], {**tty_env, "TERM": "dumb"})
    assert code == 0
    assert "\x1b" not in out and "Progress" in out
    # (NO_COLOR on a terminal: test_terminal_shows_the_rich_view runs with conftest's NO_COLOR=1)


def test_color_always_and_force_color_colour_a_pipe(sim, knock_env):
    op = sim.add(done())
    p = run_process(["get", op, "-o", "table", "--color", "always"], knock_env)
    assert p.returncode == 0, p.stderr
    assert "\x1b[" in p.stdout
    p = run_process(["get", op, "-o", "table"], {**knock_env, "FORCE_COLOR": "1"})
    assert p.returncode == 0, p.stderr
    assert "\x1b[" in p.stdout


def test_json_is_never_coloured(sim, knock_env):
    op = sim.add(done())
    for mode in ("json", "jsonl"):
        r = run_cli(["get", op, "-o", mode, "--color", "always"], {**knock_env, "FORCE_COLOR": "1"})
        assert r.code == 0
        assert "\x1b" not in r.stdout
        json.loads(r.stdout)


def test_color_never_wins_over_force_color(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op, "-o", "table", "--color", "never"], {**knock_env, "FORCE_COLOR": "1"})
    assert r.code == 0
    assert "\x1b" not in r.stdout and "Progress" in r.stdout
    r = run_cli(["--color", "never", "get", op, "-o", "table"], {**knock_env, "FORCE_COLOR": "1"})
    assert "\x1b" not in r.stdout


def test_no_color_and_dumb_terminal_give_no_colour_even_as_table(sim, knock_env):
    op = sim.add(done())
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": "", "TERM": "dumb"}):
        r = run_cli(["get", op, "-o", "table"], {**knock_env, **env})
        assert r.code == 0
        assert "\x1b" not in r.stdout, env


# --------------------------------------------------------------------------- server text is data


EVIL_ITEMS = {"error_items": [{"id": EVIL_NAME, "collection": EVIL_NAME}], "error_count": 1}


@pytest.mark.parametrize("mode", ["table", "text"])
def test_server_text_cannot_drive_the_terminal(sim, knock_env, mode):
    """Name and error items with escapes, BEL and a bidi override reach the screen defused."""
    evil = sim.add(done(name=EVIL_NAME, extra_fields=EVIL_ITEMS))
    other = sim.add(done(name="plain"))
    for ids in ([evil], [evil, other]):
        r = run_cli(["get", *ids, "-o", mode, "--errors"], knock_env)
        assert r.code == 0, r.stderr
        assert unsafe_chars(r.stdout, allowed="\n\t") == [], repr(r.stdout)
        assert unsafe_chars(r.stderr) == []
        if mode == "text" or len(ids) == 1:
            # (the several-ids table currently hides names: see the 80-columns test)
            assert "[bold]markup[/bold]" in r.stdout  # printed literally, not as Rich markup
        assert "evil" in r.stdout


@pytest.mark.parametrize("mode", [[], ["-o", "json"]])
def test_server_text_in_an_error_message_is_cleaned(sim, knock_env, mode):
    op = sim.add(done(extra_fields={"status": EVIL_NAME}))
    r = run_cli(["get", op, *mode], knock_env)
    assert r.code == 6
    assert "field 'status'" in r.stderr and "evil" in r.stderr
    assert unsafe_chars(r.stderr) == [], repr(r.stderr)
    assert r"\u001b" in r.stderr  # shown as visible text (JSON escapes), so the user sees what was sent


def test_json_output_keeps_server_text_exactly(sim, knock_env):
    op = sim.add(done(name=EVIL_NAME))
    r = run_cli(["get", op, "-o", "json"], knock_env)
    assert r.code == 0
    assert json.loads(r.stdout)["name"] == EVIL_NAME
    assert "\x1b" not in r.stdout  # JSON escapes it as \u001b
    r = run_cli(["get", op, "-o", "jsonl"], knock_env)
    assert json.loads(r.stdout)["name"] == EVIL_NAME


# --------------------------------------------------------------------------- limits and redirects


def test_body_over_the_cap_is_refused(sim, knock_env):
    op = sim.add(done(fault="huge", huge_bytes=300_000))
    r = run_cli(["get", op], {**knock_env, "BULKOP_MAX_BODY_SIZE": "100000"}, sleep=no_sleep())
    assert r.code == 6
    assert r.stderr.count("\n") == 1, r.stderr
    assert "cap" in r.stderr and "BULKOP_MAX_BODY_SIZE" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(sim.requests_for(op)) == 1  # an oversized body is not retried


def test_body_cap_message_states_the_cap_as_configured(sim, knock_env):
    """BULKOP_MAX_BODY_SIZE is set in bytes: the message should say 100,000 bytes, not 0.095 MiB."""
    op = sim.add(done(fault="huge", huge_bytes=300_000))
    r = run_cli(["get", op], {**knock_env, "BULKOP_MAX_BODY_SIZE": "100000"}, sleep=no_sleep())
    assert r.code == 6
    assert re.search(r"100,?000 bytes|97\.7 KiB", r.stderr), r.stderr


def test_default_cap_refuses_a_100_mib_body_without_reading_it(sim, knock_env):
    op = sim.add(done(fault="huge"))  # declares 100 MiB; the default cap is 64 MiB
    r = run_cli(["get", op], knock_env, sleep=no_sleep())
    assert r.code == 6
    assert re.search(r"100(\.0)? MiB", r.stderr) and "64 MiB cap" in r.stderr


def test_body_under_the_cap_is_accepted(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op], {**knock_env, "BULKOP_MAX_BODY_SIZE": "100000"})
    assert r.code == 0, r.stderr


def test_redirect_is_not_followed(sim, knock_env):
    with Simulator(port=0, knock_token=KNOCK_TOKEN) as elsewhere:
        target = elsewhere.add(done())
        op = sim.add(done(fault="redirect", redirect_to=f"{elsewhere.base_url}/v1/bulk_operations/{target}"))
        r = run_cli(["get", op], knock_env, sleep=no_sleep())
        assert r.code == 6
        assert "not followed" in r.stderr
        assert elsewhere.requests == []  # the API key never went to the redirect target
    assert len(sim.requests_for(op)) == 1


def test_plain_http_to_a_remote_host_is_refused(sim):
    r = run_cli(["get", MISSING_ID], {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": "http://bulk.example.test"})
    assert r.code == 7  # the URL came from the environment: a configuration error
    assert "--allow-insecure-http" in r.stderr
    assert KNOCK_TOKEN not in r.stderr


# --------------------------------------------------------------------------- debug


def test_debug_logs_each_request_on_stderr(sim, knock_env):
    op = sim.add(done(server_errors=1))
    r = run_cli(["get", op, "--debug"], knock_env, sleep=no_sleep())
    assert r.code == 0
    url = re.escape(f"{sim.base_url}/v1/bulk_operations/{op}")
    lines = [line for line in r.stderr.splitlines() if line.startswith("bulkop: debug: GET ")]
    assert len(lines) == 2
    assert re.search(rf"GET {url} -> 503 in \d+ ms; retry 1 in \d", lines[0])
    assert re.search(rf"GET {url} -> 200 in \d+ ms$", lines[1])
    assert "debug" not in r.stdout


def test_debug_keeps_json_stdout_pure(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op, "-o", "json", "--debug"], knock_env)
    assert r.code == 0
    assert json.loads(r.stdout)["id"] == op
    assert "bulkop: debug: GET " in r.stderr


def test_without_debug_stderr_is_silent_on_success(sim, knock_env):
    op = sim.add(done(server_errors=1))
    r = run_cli(["get", op], knock_env, sleep=no_sleep())
    assert (r.code, r.stderr) == (0, "")


# --------------------------------------------------------------------------- secrets


WRONG_KNOCK_TOKEN = "sk_test_WRONGa1b2c3d4e5f6a7b8"
WRONG_SAYMON_PASSWORD = "wr0ng-Pa55word-x9"


ALL_SECRETS = [
    KNOCK_TOKEN,
    KNOCK_TOKEN.removeprefix("sk_test_"),
    SAYMON_PASSWORD,
    basic_credentials(),
    WRONG_KNOCK_TOKEN,
    WRONG_KNOCK_TOKEN.removeprefix("sk_test_"),
    WRONG_SAYMON_PASSWORD,
    basic_credentials(password=WRONG_SAYMON_PASSWORD),
]
# (no flag is `-o text` here: run_cli's stdout is not a terminal)
GET_MODES = [["-o", "text"], ["-o", "table"], ["-o", "json"], ["-o", "jsonl"]]
STATUS_MODES = [[], ["-o", "json"]]
EXPECTED_CODE = {"ok": 0, "401": 4, "404": 5, "5xx": 6, "invalid": 6, "usage": 2}


@pytest.mark.parametrize("case", list(EXPECTED_CODE))
@pytest.mark.parametrize("provider", ["knock", "saymon"])
def test_secrets_are_never_printed(sim, provider, case):
    """Every output mode, with and without --debug, success and error: no credential shown."""
    env = {
        "BULKOP_PROVIDER": provider,
        "BULKOP_BASE_URL": sim.base_url,
        "KNOCK_API_KEY": KNOCK_TOKEN,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
    }
    scenario = {
        "ok": done(),
        "401": done(),
        "404": None,
        "5xx": done(server_errors=100),
        "invalid": done(fault="html_200"),
        "usage": None,
    }[case]
    if scenario is not None:
        op = sim.add(dataclasses.replace(scenario, provider=provider))
    else:
        op = MISSING_ID if case == "404" else "not/an id"
    if case == "401":
        env["KNOCK_API_KEY"], env["SAYMON_PASSWORD"] = WRONG_KNOCK_TOKEN, WRONG_SAYMON_PASSWORD
    runs = [["get", op, *mode] for mode in GET_MODES] + [["status", op, *m] for m in STATUS_MODES]
    for args in runs:
        for debug in ([], ["--debug"]):
            r = run_cli(args + debug, env, sleep=no_sleep())
            shown = f"{args + debug}\nstdout: {r.stdout}\nstderr: {r.stderr}"
            assert r.code == EXPECTED_CODE[case], shown
            for secret in ALL_SECRETS:
                assert secret not in r.stdout and secret not in r.stderr, shown
            if debug and case != "usage":
                assert re.search(r"bulkop: debug: GET http://127\.0\.0\.1:\d+/\S+ -> \d{3} ", r.stderr), shown


@pytest.mark.parametrize("key", ["sk_test_abc\ndef0123456789", " sk_test_padded0123456789 "])
def test_malformed_api_key_is_a_config_error_and_never_printed(sim, knock_env, key):
    """A key that cannot go in a header (pasted newline, stray spaces) is exit 7, not echoed."""
    op = sim.add(done())
    r = run_cli(["get", op], {**knock_env, "KNOCK_API_KEY": key}, sleep=no_sleep())
    assert key.strip() not in r.stderr and "0123456789" not in r.stderr, r.stderr
    assert r.code == 7, r.stderr
    assert "KNOCK_API_KEY" in r.stderr


def test_non_ascii_api_key_is_a_config_error_not_a_crash(sim, knock_env):
    op = sim.add(done())
    r = run_cli(["get", op], {**knock_env, "KNOCK_API_KEY": "sk_test_clé0123456789"})
    assert r.code == 7, r.stderr
    assert "internal error" not in r.stderr
    assert "KNOCK_API_KEY" in r.stderr
