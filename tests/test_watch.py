"""End-to-end tests of `bulkop watch`: the real CLI against the project's simulator on 127.0.0.1.

Most tests run the CLI in-process on ONE fake clock shared by the simulator (how far each
operation has got) and the CLI (`now`, `sleep`, `wall`): a sleep moves simulated time, so a
ten-minute scenario runs in milliseconds, deterministically, over real HTTP. Where real time,
real pipes or a real process are the point, the test says so and uses them.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop.errors import UsageError
from bulkop.simulator import Scenario, Simulator
from bulkop.simulator.operation import EPOCH
from bulkop.watch.command import read_ids
from conftest import (
    KNOCK_TOKEN,
    SAYMON_LOGIN,
    SAYMON_PASSWORD,
    minimal_env,
    run_cli,
    run_process,
)
from helpers import FakeClock, basic_credentials, free_port, watch

# typer 0.24 imports helpers click 8.5 deprecates; pyproject turns every warning into an error.
pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S.*$")
SAYMON_BASIC = "Basic " + basic_credentials()

# Fixed ids, so that screens and snapshots do not change from run to run.
ID_A = "0a4c1d5e-6f70-4812-9a3b-4c5d6e7f8091"
ID_B = "1b5d2e6f-7081-4923-8b4c-5d6e7f809102"
ID_C = "2c6e3f70-8192-4a34-9c5d-6e7f80910213"


# --------------------------------------------------------------------------- helpers


class TimedTransport(httpx.BaseTransport):
    """Real HTTP to the simulator, noting the simulated instant, path and status of each request
    (the simulator's own record carries real time, which a fake clock does not move)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.inner = httpx.HTTPTransport()
        self.log: list[tuple[float, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t = self.clock.t
        response = self.inner.handle_request(request)
        self.log.append((t, request.url.path, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()

    def times(self, op_id: str) -> list[float]:
        return [t for t, path, _ in self.log if op_id in path]

    def statuses(self, op_id: str) -> list[int]:
        return [s for _, path, s in self.log if op_id in path]


@pytest.fixture
def fast_sim(make_sim) -> Simulator:
    """A real-time simulator running 10x faster, for the tests that need a real process."""
    return make_sim(speed=10)


def lines_of(stderr: str) -> list[str]:
    return stderr.splitlines()


def final_line(stderr: str, name: str) -> str:
    (line,) = [x for x in stderr.splitlines() if name in x and ("(watched " in x or "(took " in x)]
    return line


def ndjson(stdout: str) -> list[dict]:
    assert stdout.endswith("\n")
    return [json.loads(line) for line in stdout.splitlines()]


def write_profiles(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return path


# --------------------------------------------------------------------------- outcomes and exit codes


def test_completed_operation_exits_0(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=2, duration=10))
    r = watch(clock, [op], env)
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert "users.identify" in final_line(r.stderr, "users.identify")
    assert "completed 100% 1,000/1,000" in final_line(r.stderr, "users.identify")
    assert clock.t >= 12  # it really waited (in simulated time) for the end


def test_failed_operation_exits_1(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.bulk_delete", total_rows=8000, duration=10, fail_at=0.6))
    r = watch(clock, [op], env)
    assert r.code == 1, r.stderr
    assert "failed 60% 4,800/8,000" in final_line(r.stderr, "users.bulk_delete")


@pytest.mark.parametrize(
    ("flags", "code"),
    [([], 0), (["--max-errors", "10"], 0), (["--max-errors", "9"], 1), (["--max-errors", "0"], 1)],
    ids=["no-limit", "at-limit", "over-limit", "zero-tolerance"],
)
def test_completed_with_errors_against_max_errors(frozen_sim, env, clock, flags, code):
    """A completed operation with 10 error rows: fine by default and with --max-errors 10,
    exit 1 with --max-errors 9 or 0."""
    op = frozen_sim.add(Scenario(name="users.identify", total_rows=1000, duration=5, error_rate=0.01))
    r = watch(clock, [op, *flags], env)
    assert r.code == code, r.stderr
    assert "completed 100% 1,000/1,000 errors 10" in final_line(r.stderr, "users.identify")


def test_timeout_exits_124_with_message_and_last_known_state(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=600))
    r = watch(clock, [op, "--timeout", "1s"], env)
    assert r.code == 124, r.stderr
    assert "timed out after 1s with 1 operation not finished" in r.stderr
    (last_state,) = [x for x in lines_of(r.stderr) if "last known state" in x]
    assert "objects.bulk_set" in last_state and "processing" in last_state and "timeout" in last_state
    assert clock.t == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_timeout_is_real_time_in_a_real_process(sim, knock_env):
    """--timeout 1s in a real process on the real clock: exit 124 after about a second."""
    op = sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=600))
    p = run_process(["watch", op, "--timeout", "1s", "--interval", "0.2"], knock_env)
    assert p.returncode == 124, p.stderr
    assert "timed out after 1s" in p.stderr
    assert "(last known state: processing" in p.stderr
    polls = sim.requests_for(op)
    assert 2 <= len(polls) <= 10
    assert polls[-1].time - polls[0].time < 1.0


def test_timeout_is_not_held_up_by_a_poll_hanging_in_the_network(sim, knock_env):
    """On the real clock, a server that never answers (and a 30 s request timeout) does not
    keep `--timeout 1s` from ending the watch with 124 about a second later."""
    op = sim.add(Scenario(name="users.identify", fault="hang"))
    r = run_cli(["watch", op, "--timeout", "1s"], knock_env)
    assert r.code == 124, r.stderr
    assert "timed out after 1s" in r.stderr
    assert f"{op}: no answer yet when --timeout struck after 1s; next: bulkop watch {op}" in r.stderr


def test_wrong_token_ends_at_once_with_exit_4(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(duration=60))
    r = watch(clock, [op], {**env, "KNOCK_API_KEY": "sk_test_wrong"})
    assert r.code == 4, r.stderr
    assert [q.status for q in frozen_sim.requests_for(op)] == [401]


def test_unknown_operation_ends_at_once_with_exit_5_while_the_other_completes(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", duration=5))
    r = watch(clock, [ID_C, op], env)
    assert r.code == 5, r.stderr
    assert [q.status for q in frozen_sim.requests_for(ID_C)] == [404]
    assert "completed" in final_line(r.stderr, "users.identify")


def test_malformed_knock_id_is_exit_2_before_any_request(frozen_sim, env, clock):
    good = frozen_sim.add(Scenario(duration=5))
    r = watch(clock, [good, "not-a-uuid"], env)
    assert r.code == 2
    assert "not-a-uuid" in r.stderr and "not a Knock bulk operation id" in r.stderr
    assert frozen_sim.requests == []


def test_quiet_display_prints_nothing_on_success(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(duration=5))
    r = watch(clock, [op, "--display", "quiet"], env)
    assert (r.code, r.stdout, r.stderr) == (0, "", "")


def test_quiet_display_still_reports_an_error(frozen_sim, env, clock):
    r = watch(clock, [ID_C, "--display", "quiet"], env)
    assert r.code == 5
    assert len(lines_of(r.stderr)) == 1 and "not found" in r.stderr


# --------------------------------------------------------------------------- a misbehaving API


@pytest.mark.slow
def test_429_storm_is_waited_out_on_the_real_clock(sim, knock_env):
    """Two 429s with Retry-After: 1, then the answer: exit 0, and the server saw no request
    sooner than a second after each 429 (timestamps recorded by the server itself)."""
    op = sim.add(Scenario(queued_seconds=0, duration=0, rate_limit=2, retry_after="1"))
    r = run_cli(["watch", op, "--interval", "0.2"], knock_env)
    assert r.code == 0, r.stderr
    requests = sim.requests_for(op)
    assert [q.status for q in requests] == [429, 429, 200]
    for limited, following in itertools.pairwise(requests):
        assert following.time - limited.time >= 1.0


def test_429_pauses_every_operation_of_the_profile_for_retry_after(frozen_sim, env, clock):
    """Retry-After: 5 on one operation: for 5 s neither it nor the other operation of the same
    profile is polled; the limited one is asked again within the second after."""
    limited = frozen_sim.add(Scenario(name="limited", queued_seconds=0, duration=60, rate_limit=3, retry_after="5"))
    other = frozen_sim.add(Scenario(name="other", queued_seconds=0, duration=60))
    transport = TimedTransport(clock)
    r = watch(clock, [limited, other, "--interval", "1"], env, transport=transport)
    assert r.code == 0, r.stderr
    statuses, times = transport.statuses(limited), transport.times(limited)
    assert statuses[:4] == [429, 429, 429, 200]
    everything = sorted(t for t, _, _ in transport.log)
    for t429, following in itertools.pairwise(times[:4]):  # after each of the three 429s
        assert t429 + 5 <= following < t429 + 6
        assert not [t for t in everything if t429 < t < t429 + 5], "a request went out during the pause"


def test_fixed_interval_polls_exactly_that_often(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(queued_seconds=7, duration=20))
    transport = TimedTransport(clock)
    r = watch(clock, [op, "--interval", "2"], env, transport=transport)
    assert r.code == 0, r.stderr
    times = transport.times(op)
    assert times == pytest.approx([2.0 * i for i in range(len(times))], abs=1e-6)
    assert times[-1] >= 27


def test_5xx_burst_is_recovered(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=0, duration=30, server_errors=3))
    r = watch(clock, [op], env)
    assert r.code == 0, r.stderr
    assert [q.status for q in frozen_sim.requests_for(op)][:4] == [503, 503, 503, 200]
    assert "poll failed (1x), retrying in" in r.stderr
    assert "poll failed (2x), retrying in" in r.stderr
    assert "completed" in final_line(r.stderr, "users.identify")


def test_server_stopped_mid_watch_is_exit_6_after_max_consecutive_failures(frozen_sim, env, clock):
    """The server goes away at t=5 s and never comes back: after 3 failed polls in a row the
    watch gives up with exit 6, having printed the last state it knew."""
    op = frozen_sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=600))
    clock.at(5.0, frozen_sim.stop)
    r = watch(clock, [op, "--max-consecutive-failures", "3"], env)
    assert r.code == 6, r.stderr
    assert "processing" in r.stderr
    (gave_up, verdict) = [x for x in lines_of(r.stderr) if "3 failed polls in a row" in x]
    assert (
        "could not be fetched" in verdict and "next: is the server running, and is the base URL right?" in verdict
    )  # the error's own hint
    assert "objects.bulk_set" in gave_up
    assert all(q.status == 200 for q in frozen_sim.requests_for(op))


def test_port_with_nothing_listening_is_exit_6(clock):
    r = watch(
        clock,
        [ID_A, "--max-consecutive-failures", "4"],
        {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": f"http://127.0.0.1:{free_port()}"},
    )
    assert r.code == 6, r.stderr
    assert "connection refused" in r.stderr
    assert "4 failed polls in a row" in r.stderr


# --------------------------------------------------------------------------- ids from stdin


def _pretty(sim: Simulator, op_id: str) -> str:
    """What `curl` shows for a Knock operation: the BulkOperation object, pretty-printed."""
    request = urllib.request.Request(
        f"{sim.base_url}/v1/bulk_operations/{op_id}", headers={"Authorization": f"Bearer {KNOCK_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.dumps(json.load(response), indent=2)


@pytest.mark.parametrize("form", ["plain-lines", "pretty-object", "ndjson", "json-list"])
def test_ids_from_stdin(frozen_sim, env, clock, form):
    """`bulkop watch -` reads ids as plain lines (blank lines and # comments skipped), as one
    pretty-printed BulkOperation object, as NDJSON objects, or as a JSON list."""
    ops = [frozen_sim.add(Scenario(name=f"job{i}", queued_seconds=0, duration=3)) for i in range(2)]
    if form == "plain-lines":
        stdin = f"# operations from the import\n{ops[0]}\n\n  {ops[1]}  \n"
    elif form == "pretty-object":
        ops = ops[:1]
        stdin = _pretty(frozen_sim, ops[0])
        assert stdin.count("\n") > 10
    elif form == "ndjson":
        stdin = "".join(json.dumps({"id": op, "status": "queued"}) + "\n" for op in ops)
    else:
        stdin = json.dumps([{"id": ops[0]}, ops[1]])
    frozen_sim.clear_requests()
    r = watch(clock, ["-"], env, stdin=stdin)
    assert r.code == 0, r.stderr
    assert {q.path.rsplit("/", 1)[1] for q in frozen_sim.requests} == set(ops)
    assert f"watching {len(ops)} operation" in r.stderr


def test_stdin_ids_mix_with_arguments_and_duplicates_are_watched_once(frozen_sim, env, clock):
    a = frozen_sim.add(Scenario(name="from-args", queued_seconds=0, duration=0))
    b = frozen_sim.add(Scenario(name="from-stdin", queued_seconds=0, duration=0))
    r = watch(clock, [a, "-"], env, stdin=f"{b}\n{a.upper()}\n")  # the same UUID, spelt differently
    assert r.code == 0, r.stderr
    assert "watching 2 operations" in r.stderr
    assert len(frozen_sim.requests_for(a)) == len(frozen_sim.requests_for(b)) == 1


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "stdin had no operation ids"),
        ("{not json\n", "stdin line 1 is not valid JSON"),
        ('{"x": 1}', "no operation id"),
    ],
    ids=["empty", "broken-json-line", "object-without-id"],
)
def test_bad_stdin_is_a_usage_error_before_any_request(frozen_sim, env, clock, stdin, message):
    r = watch(clock, ["-"], env, stdin=stdin)
    assert r.code == 2
    assert message in r.stderr
    assert frozen_sim.requests == []


def test_ids_piped_into_a_real_process(sim, knock_env):
    """`printf '%s\\n' ID ID | bulkop watch -` in a real process."""
    ops = [sim.add(Scenario(name=f"job{i}", queued_seconds=0, duration=0)) for i in range(2)]
    p = run_process(["watch", "-"], knock_env, stdin="\n".join(ops) + "\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert {q.path.rsplit("/", 1)[1] for q in sim.requests} == set(ops)


UUIDS = st.integers(min_value=0, max_value=2**128 - 1).map(lambda n: str(uuid.UUID(int=n)))


@settings(max_examples=50)
@given(st.lists(UUIDS, min_size=1, max_size=5), st.sampled_from(["lines", "ndjson", "list"]))
def test_read_ids_returns_every_id_in_order(ids, form):
    """Whatever the form on stdin, every id comes out, in order."""
    if form == "lines":
        text = "\n".join(ids)
    elif form == "ndjson":
        text = "\n".join(json.dumps({"id": i, "name": "x"}) for i in ids)
    else:
        text = json.dumps([{"id": i} for i in ids], indent=2)
    assert read_ids(text) == ids


def test_read_ids_unwraps_a_bulk_operation_envelope():
    """What a bulk endpoint may answer: {"bulk_operation": {...}} objects, as a list or lines."""
    envelope = [{"bulk_operation": {"id": ID_A, "status": "queued"}}, {"bulk_operation": {"id": ID_B}}]
    assert read_ids(json.dumps(envelope)) == [ID_A, ID_B]
    assert read_ids("\n".join(json.dumps(e) for e in envelope)) == [ID_A, ID_B]


def test_read_ids_refuses_json_without_ids():
    with pytest.raises(UsageError):
        read_ids('[{"name": "no id"}]')


# --------------------------------------------------------------------------- providers and profiles


def test_saymon_operation_exits_0_when_finished(frozen_sim, clock):
    op = frozen_sim.add(Scenario(provider="saymon", queued_seconds=1, duration=6))
    saymon_env = {
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_BASE_URL": frozen_sim.base_url,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
    }
    r = watch(clock, [op], saymon_env)
    assert r.code == 0, r.stderr
    assert "finished" in final_line(r.stderr, op)
    requests = frozen_sim.requests_for(op)
    assert len(requests) >= 2 and {q.headers["authorization"] for q in requests} == {SAYMON_BASIC}
    assert clock.t >= 7


def test_one_watch_follows_a_knock_and_a_saymon_profile(frozen_sim, clock, tmp_path):
    """`watch knock-prod:ID saymon-lab:ID` with both profiles in a config file: both operations
    are followed to their end (NDJSON names each one's profile), and each API got its own
    credentials, never the other's."""
    config = write_profiles(
        tmp_path / "profiles.toml",
        f"""
[profiles.knock-prod]
provider = "knock"
base_url = "{frozen_sim.base_url}"
api_key = "{KNOCK_TOKEN}"

[profiles.saymon-lab]
provider = "saymon"
base_url = "{frozen_sim.base_url}"
login = "{SAYMON_LOGIN}"
password = "{SAYMON_PASSWORD}"
""",
    )
    knock_op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=1, duration=8))
    saymon_op = frozen_sim.add(Scenario(provider="saymon", queued_seconds=2, duration=4))
    args = [f"knock-prod:{knock_op}", f"saymon-lab:{saymon_op}", "-o", "json"]
    r = watch(clock, args, {"BULKOP_CONFIG": str(config)})
    assert r.code == 0, r.stderr
    finals = {x["profile"]: x["operation"] for x in ndjson(r.stdout) if x.get("final")}
    assert finals["knock-prod"]["id"] == knock_op and finals["knock-prod"]["status"] == "completed"
    assert finals["saymon-lab"] == {"id": saymon_op, "finished": True}  # as sent, with the id asked
    assert "completed" in final_line(r.stderr, "users.identify")
    assert "finished" in final_line(r.stderr, f"saymon-lab:{saymon_op}")
    assert "summary: 1 completed · 1 finished" in r.stderr
    knock_auth = {q.headers["authorization"] for q in frozen_sim.requests_for(knock_op)}
    saymon_auth = {q.headers["authorization"] for q in frozen_sim.requests_for(saymon_op)}
    assert knock_auth == {f"Bearer {KNOCK_TOKEN}"}
    assert saymon_auth == {SAYMON_BASIC}
    assert {q.status for q in frozen_sim.requests} == {200}


# --------------------------------------------------------------------------- lines for CI and pipes


def test_lines_snapshot_on_the_fake_clock(frozen_sim, env, clock, screen):
    """The whole lines view of a deterministic run: two operations, one completing with errors,
    one failing, polled every second."""
    frozen_sim.add(
        Scenario(id=ID_A, name="users.identify", total_rows=1000, queued_seconds=2, duration=10, error_rate=0.01)
    )
    frozen_sim.add(
        Scenario(id=ID_B, name="users.bulk_delete", total_rows=8000, queued_seconds=1, duration=10, fail_at=0.6)
    )
    r = watch(clock, [ID_A, ID_B, "--interval", "1"], env)
    assert r.code == 1
    assert all(LINE.match(line) for line in lines_of(r.stderr))
    assert r.stderr == screen


def test_piped_lines_snapshot_from_a_real_process(sim, knock_env, screen):
    """A real `bulkop watch` writing to a pipe: plain lines with RFC 3339 UTC timestamps on
    stderr, nothing on stdout; timestamps are replaced before the snapshot."""
    sim.add(Scenario(id=ID_A, name="users.identify", total_rows=1000, queued_seconds=0, duration=0, error_rate=0.01))
    sim.add(
        Scenario(
            id=ID_B,
            name="users.bulk_delete",
            total_rows=8000,
            queued_seconds=0,
            duration=0,
            error_rate=0.01,
            fail_at=0.6,
        )
    )
    p = run_process(["watch", ID_A, ID_B], knock_env)
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    assert "\x1b" not in p.stderr
    assert all(LINE.match(line) for line in lines_of(p.stderr)), p.stderr
    # Each answer is reported as it arrives: which of the two comes first is the network's.
    lines = TIMESTAMP.sub("<TIME>", p.stderr).splitlines(keepends=True)
    lines[1:3] = sorted(lines[1:3])
    assert "".join(lines) == screen


@pytest.mark.slow
def test_piped_lines_are_throttled_for_a_1000_row_job(fast_sim, knock_env):
    """A 1,000-row job polled dozens of times by a real process: a line when the status changes,
    per 10 % step and at the end — at most ~15 lines, far fewer than polls. (Queued for 1 s of
    real time, so that the process has started before it moves; running for 3 s, so that even
    a machine busy enough to make each poll take 0.1 s polls it more than twice per line.)"""
    op = fast_sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=10, duration=30))
    args = ["watch", op, "--interval", "0.03", "--max-rps", "100"]
    p = run_process(args, {**knock_env, "BULKOP_BASE_URL": fast_sim.base_url})
    assert p.returncode == 0, p.stderr
    lines = lines_of(p.stderr)
    polls = len(fast_sim.requests_for(op))
    assert all(LINE.match(line) for line in lines), p.stderr
    assert len(lines) <= 15, p.stderr
    assert polls >= 2 * len(lines), (polls, p.stderr)
    percents = [int(m) for m in re.findall(r" processing (\d+)%", p.stderr)]
    assert percents == sorted(percents) and len(set(p // 10 for p in percents)) == len(percents)
    assert "completed 100% 1,000/1,000" in lines[-1]


def test_heartbeat_at_least_every_minute_while_nothing_moves(frozen_sim, env, clock):
    """A job stuck in the queue for 5 minutes: the lines view still says something at least
    every 60 s (checked on its ~1 s tick), so CI does not think the job hung."""
    op = frozen_sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=300, duration=2))
    r = watch(clock, [op], env)
    assert r.code == 0, r.stderr
    stamps = [datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")) for line in lines_of(r.stderr)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert stamps[-1] - stamps[0] >= timedelta(seconds=300)
    assert max(gaps) <= 61
    queued_lines = [x for x in lines_of(r.stderr) if " queued " in x]
    assert len(queued_lines) >= 5  # the first sighting, then a heartbeat each minute


def test_heartbeat_for_many_operations_is_one_summary_line(frozen_sim, env, clock):
    """With more than five operations waiting, the minute's heartbeat is one line of counts,
    not a line per operation."""
    ops = [frozen_sim.add(Scenario(name=f"job{i}", queued_seconds=150, duration=2)) for i in range(6)]
    r = watch(clock, ops, env)
    assert r.code == 0, r.stderr
    beats = [x for x in lines_of(r.stderr) if "still watching:" in x]
    assert len(beats) == 2 and all(x.endswith("still watching: 6 queued") for x in beats)
    assert len([x for x in lines_of(r.stderr) if " queued " in x]) == 6  # only the first sightings


def test_sigterm_in_a_pipe_prints_the_last_known_state_and_exits_143(sim, knock_env):
    """A CI runner cancelling the job (SIGTERM) while watch writes lines to a pipe: exit 143,
    the last known state of each unfinished operation is printed, and no traceback."""
    op = sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=600))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulkop", "watch", op, "--interval", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=minimal_env(knock_env),
    )
    assert proc.stderr is not None
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b" processing " not in seen:  # the watch has seen the operation running
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(proc.stderr.fileno(), 65536) if ready else b""
            assert chunk, f"watch said nothing more before the deadline: {seen!r}"
            seen += chunk
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = (seen + err).decode()
    assert proc.returncode == 143, text
    assert out == b""
    (last,) = [x for x in text.splitlines() if "last known state" in x]
    assert "objects.bulk_set" in last and "processing" in last
    # The one line, with how to pick up again (the journal may not hold it yet: then its id).
    assert text.endswith(
        (
            "bulkop: terminated; resume with: bulkop watch --unfinished\n",
            f"bulkop: terminated; resume with: bulkop watch {op}\n",
        )
    ), text
    assert "Traceback" not in text


# --------------------------------------------------------------------------- -o json (NDJSON)


def test_json_output_is_one_object_per_change_final_last(frozen_sim, env, clock):
    """`-o json`: every stdout line is a JSON object {observed_at, profile, id, operation}; one
    per observed change (none for polls that saw nothing new); `final: true` on each operation's
    last object only, with its verdict and reason; progress lines go to stderr."""
    a = frozen_sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=5, duration=5))
    b = frozen_sim.add(Scenario(name="users.bulk_delete", total_rows=1000, queued_seconds=0, duration=20, fail_at=0.3))
    transport = TimedTransport(clock)
    r = watch(clock, [a, b, "-o", "json", "--interval", "1"], env, transport=transport)
    assert r.code == 1, r.stderr
    records = ndjson(r.stdout)
    fields = {"observed_at", "profile", "id", "status", "operation"}
    assert all(set(x) - {"final", "verdict", "reason"} == fields for x in records)
    assert all(("verdict" in x) == x.get("final", False) for x in records)
    assert all(TIMESTAMP.fullmatch(x["observed_at"]) and x["profile"] is None for x in records)
    for op_id, final_status in ((a, "completed"), (b, "failed")):
        mine = [x for x in records if x["operation"]["id"] == op_id]
        assert [x.get("final", False) for x in mine] == [False] * (len(mine) - 1) + [True]
        assert mine[-1]["operation"]["status"] == final_status
        assert mine[-1]["verdict"] == final_status and mine[-1]["id"] == op_id
        bodies = [x["operation"] for x in mine]
        assert all(x != y for x, y in itertools.pairwise(bodies))  # each one a change
    a_records = [x["operation"] for x in records if x["operation"]["id"] == a]
    assert [x["status"] for x in a_records] == ["queued"] + ["processing"] * 5 + ["completed"]
    assert len(transport.times(a)) == 11  # the four polls that saw it still queued wrote nothing
    assert records[-1]["final"] is True
    assert "watching 2 operations" in r.stderr and "{" not in r.stderr


def test_json_output_of_a_real_process_is_nothing_but_ndjson(sim, knock_env):
    """In a real process, stdout under `-o json` holds NDJSON and not one other byte (no
    progress, colour, warnings); the progress lines are on stderr."""
    a = sim.add(Scenario(name="users.identify", queued_seconds=0, duration=0.5))
    b = sim.add(Scenario(provider="knock", name="users.bulk_delete", queued_seconds=0, duration=0, fail_at=0.5))
    p = run_process(["watch", a, b, "-o", "json", "--interval", "0.1"], knock_env)
    assert p.returncode == 1, p.stderr
    records = ndjson(p.stdout)
    assert {x["operation"]["id"] for x in records if x.get("final")} == {a, b}
    assert records[-1].get("final") is True
    assert "\x1b" not in p.stdout
    assert "watching 2 operations" in p.stderr


def test_json_output_reports_errors_as_json_on_stderr(frozen_sim, env, clock):
    r = watch(clock, [ID_C, "-o", "json", "--display", "quiet"], env)
    assert r.code == 5
    (final,) = ndjson(r.stdout)  # an operation that was never fetched still gets its last word
    assert final["final"] is True and final["operation"] is None and final["id"] == ID_C
    assert final["verdict"] == "unavailable" and "not found" in final["reason"]
    assert json.loads(r.stderr)["error"]["exit_code"] == 5


# --------------------------------------------------------------------------- GitHub Actions


@pytest.fixture
def github(tmp_path: Path, env: dict[str, str]) -> tuple[dict[str, str], Path]:
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    return {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, summary


def test_github_actions_annotations_groups_and_step_summary(frozen_sim, clock, github):
    """Under GitHub Actions a failed operation yields an ::error annotation, its error items
    inside a collapsible ::group::, and a Markdown table appended to the step summary."""
    gh_env, summary = github
    ok = frozen_sim.add(Scenario(id=ID_A, name="users.identify", total_rows=1000, duration=5))
    bad = frozen_sim.add(
        Scenario(id=ID_B, name="users.bulk_delete", total_rows=1000, duration=10, error_rate=0.01, fail_at=0.6)
    )
    r = watch(clock, [ok, bad], gh_env)
    assert r.code == 1, r.stderr
    lines = lines_of(r.stderr)
    errors = [x for x in lines if x.startswith("::error")]
    assert errors == [
        f"::error title=bulkop%3A operation failed::users.bulk_delete {bad}: the operation failed with 8 errors;"
        f" next: bulkop get {bad} --errors"
    ]
    start = lines.index(f"::group::Error items of users.bulk_delete {bad} (8)")
    end = lines.index("::endgroup::", start)
    assert end - start - 1 == 8
    assert all(re.search(r"(^|\s)(users/)?user_\d{5}$", item) for item in lines[start + 1 : end])
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")  # appended, not overwritten
    assert "| Operation | ID | Status | Rows | Errors | Result |" in text
    why = "**not ok**: the operation failed with 8 errors"
    assert f"| users.bulk\\_delete | {bad} | failed | 600/1,000 | 8 | {why} |" in text
    assert f"| users.identify | {ok} | completed | 1,000/1,000 | 0 | ok: completed with 0 errors |" in text


HOSTILE = "evil|pipe %0A::warning::forged\x1b[31m\r\n::error::forged"


def test_hostile_names_and_items_cannot_forge_workflow_commands(frozen_sim, clock, github):
    """Server text with escape sequences, `%`, newlines and `::` (in the operation's name and
    in error item ids) must not start a line the runner would read as a workflow command, nor
    break the step-summary table."""
    gh_env, summary = github
    items = [
        {"id": "::error::forged-item", "collection": None},
        {"id": "user_1\n::warning::forged-item-2", "collection": "users"},
        {"id": "%0A::notice::x", "collection": None},
    ]
    op = frozen_sim.add(
        Scenario(
            name=HOSTILE,
            total_rows=1000,
            duration=10,
            fail_at=0.5,
            extra_fields={"error_items": items, "error_count": 3},
        )
    )
    r = watch(clock, [op], gh_env)
    assert r.code == 1, r.stderr
    assert "\x1b" not in r.stderr and "\r" not in r.stderr
    ours = ("::error title=bulkop%3A operation failed::", "::group::Error items of ")
    commands = [x for x in lines_of(r.stderr) if x.startswith("::")]
    forged = [x for x in commands if not x.startswith(ours) and x != "::endgroup::"]
    assert forged == [], f"lines a runner would obey: {forged}"
    (error,) = [x for x in commands if x.startswith(ours[0])]
    assert "%25" in error and "%0A" not in error.replace("%25", "")
    table = [x for x in summary.read_text(encoding="utf-8").splitlines() if x.startswith("|")]
    assert len(table) == 3
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in table)


# --------------------------------------------------------------------------- the loop on a fake clock


def test_many_operations_at_a_low_max_rps_all_end(frozen_sim, env, clock):
    """Thirty operations sharing `--max-rps 3`: all are watched to the end, and in no second of
    simulated time did the API get more than 3 requests."""
    ops = [frozen_sim.add(Scenario(name=f"job{i}", queued_seconds=0, duration=20)) for i in range(30)]
    transport = TimedTransport(clock)
    r = watch(clock, [*ops, "--max-rps", "3", "--interval", "1"], env, transport=transport)
    assert r.code == 0, r.stderr
    assert "summary: 30 completed" in r.stderr
    times = sorted(t for t, _, _ in transport.log)
    worst = max(bisect.bisect_left(times, t + 1.0 - 1e-6) - i for i, t in enumerate(times))
    assert worst <= 3


def test_lines_are_never_wrapped_to_the_terminal_width(frozen_sim, env, clock):
    """At COLUMNS=40 every line is still whole (each starts with its timestamp), stdout empty."""
    op = frozen_sim.add(Scenario(name="objects.bulk_set", duration=3))
    r = watch(clock, [op], {**env, "COLUMNS": "40"})
    assert r.code == 0 and r.stdout == ""
    assert max(len(x) for x in lines_of(r.stderr)) > 40
    assert not [x for x in lines_of(r.stderr) if not LINE.match(x)]


def test_env_var_interval_is_honoured(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(queued_seconds=3, duration=6))
    transport = TimedTransport(clock)
    r = watch(clock, [op], {**env, "BULKOP_INTERVAL": "3"}, transport=transport)
    assert r.code == 0, r.stderr
    assert transport.times(op) == pytest.approx([0.0, 3.0, 6.0, 9.0], abs=1e-6)


def test_github_summary_that_cannot_be_written_is_a_warning_not_a_failure(frozen_sim, env, clock, tmp_path):
    op = frozen_sim.add(Scenario(duration=2))
    gh_env = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "missing-dir" / "summary.md")}
    r = watch(clock, [op], gh_env)
    assert r.code == 0, r.stderr
    assert "cannot write GITHUB_STEP_SUMMARY" in r.stderr


def test_wall_clock_comes_from_the_context(frozen_sim, env, clock):
    """Line timestamps are the injected wall clock, in UTC (so CI logs line up with the server)."""
    op = frozen_sim.add(Scenario(duration=2))
    r = watch(clock, [op], env)
    assert r.code == 0
    first = lines_of(r.stderr)[0]
    assert first.startswith(EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ"))


# Issue 12 "Trust": `yes $ID | bulkop watch -` grew to 24 GB; a BOM before the first id was an error.


@pytest.mark.parametrize("form", ["lines", "ndjson"])
def test_stdin_beyond_the_body_cap_is_a_usage_error_naming_the_cap(sim, knock_env, form):
    op = sim.add(Scenario(name="job", queued_seconds=0, duration=0))
    line = f"{op}\n" if form == "lines" else json.dumps({"id": op}) + "\n"
    stdin = line * (20_000 // len(line) + 1)  # a little over 20,000 bytes
    p = run_process(["watch", "-"], {**knock_env, "BULKOP_MAX_BODY_SIZE": "20000"}, stdin=stdin)
    assert p.returncode == 2, p.stderr
    assert "more than 20,000 bytes" in p.stderr and "max_body_size" in p.stderr
    assert sim.requests == []


def test_the_same_id_repeated_on_stdin_is_one_operation(sim, knock_env):
    op = sim.add(Scenario(name="job", queued_seconds=0, duration=0))
    p = run_process(["watch", "-", op], knock_env, stdin=f"{op}\n" * 50_000)
    assert p.returncode == 0, p.stderr
    assert len(sim.requests_for(op)) == 1


@pytest.mark.parametrize("where", ["stdin", "stdin-and-arguments"])
def test_more_distinct_ids_than_watch_follows_is_a_usage_error(sim, knock_env, where):
    from bulkop.watch.command import MAX_OPERATIONS

    ids = [str(uuid.UUID(int=n + 1)) for n in range(MAX_OPERATIONS + 1)]
    args = ["watch", "-"] if where == "stdin" else ["watch", "-", *ids[:5]]
    p = run_process(args, knock_env, stdin="\n".join(ids if where == "stdin" else ids[5:]) + "\n")
    assert p.returncode == 2, p.stderr
    assert "10,001 distinct operation ids" in p.stderr and "at most 10,000" in p.stderr
    assert sim.requests == []


@pytest.mark.parametrize("form", ["lines", "json"])
def test_a_utf8_bom_before_the_first_id_is_not_part_of_it(sim, knock_env, form):
    op = sim.add(Scenario(name="job", queued_seconds=0, duration=0))
    text = f"{op}\n" if form == "lines" else json.dumps([{"id": op}])
    p = run_process(["watch", "-"], knock_env, stdin="\ufeff" + text)
    assert p.returncode == 0, p.stderr
    assert len(sim.requests_for(op)) == 1


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_stdin_is_still_open_ends_watch(sim, knock_env, sig, code):
    """The writer of stdin never closes it: reading is interruptible, in chunks."""
    op = sim.add(Scenario(name="job", queued_seconds=0, duration=0))
    with subprocess.Popen(
        [sys.executable, "-m", "bulkop", "watch", "-"],
        env=minimal_env(knock_env),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(f"{op}\n".encode() * 100_000)  # more than a pipe holds: bulkop is reading
        proc.stdin.flush()
        proc.send_signal(sig)
        returncode = proc.wait(30)
        stderr = proc.stderr.read().decode()
        proc.stdin.close()
    assert returncode == code, stderr
    assert "Traceback" not in stderr
    assert sim.requests == []
