"""`bulkop list`, `@last`, `watch --unfinished`, re-attach with a seeded rate, the `get` sparkline.

In-process tests share one manual clock between the simulator and the CLI (now, sleep and the
wall clock), so operations move only when the test or the watch says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bulkop.render.journal import sparkline, throughput, throughput_view
from conftest import KNOCK_TOKEN, ManualClock, Scenario, knock_env_for, run_cli

EPOCH = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
FIELDS = {"id", "profile", "provider", "name", "status", "first_seen", "last_seen"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def frozen(clock: ManualClock, make_sim):
    return make_sim(clock=clock, epoch=EPOCH)


@pytest.fixture
def env(frozen) -> dict[str, str]:
    return knock_env_for(frozen)


def at(clock: ManualClock):
    return {"now": clock, "sleep": clock.sleep, "wall": lambda: EPOCH + timedelta(seconds=clock.t)}


def cli(clock: ManualClock, args: list[str], env: dict[str, str], **kw):
    return run_cli(args, env, **at(clock), **kw)


def steady(**kw) -> Scenario:
    return Scenario(**{"queued_seconds": 0, "total_rows": 1000, "rows_per_second": 10, **kw})


def done(**kw) -> Scenario:
    return Scenario(**{"queued_seconds": 0, "duration": 0, **kw})


def listed(clock: ManualClock, env: dict[str, str], *args: str) -> list[dict]:
    r = cli(clock, ["list", "-o", "json", *args], env)
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


# --------------------------------------------------------------------------- list


def test_list_json_is_every_operation_seen_newest_first(frozen, env, clock):
    a = frozen.add(done(name="users.identify"))
    b = frozen.add(steady(name="objects.set"))
    assert cli(clock, ["get", a, "-o", "json"], env).code == 0
    clock.t = 5
    assert cli(clock, ["status", b], env).code == 3
    entries = listed(clock, env)
    assert [e["id"] for e in entries] == [b, a]
    assert all(set(e) >= FIELDS for e in entries)
    assert entries[0]["status"] == "processing" and entries[0]["provider"] == "knock"
    assert entries[0]["last_seen"] == "2026-11-22T12:00:05Z"
    assert entries[1]["name"] == "users.identify" and entries[1]["profile"] is None


def test_list_jsonl_is_one_object_per_line(frozen, env, clock):
    ids = [frozen.add(done()) for _ in range(3)]
    assert cli(clock, ["get", *ids, "-o", "json"], env).code == 0
    r = cli(clock, ["list", "-o", "jsonl"], env)
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and {json.loads(line)["id"] for line in lines} == set(ids)


@pytest.mark.parametrize("spelling", [["--status", "processing"], ["-s", "PROCESSING"], ["--status=processing"]])
def test_list_filters_by_status(frozen, env, clock, spelling):
    finished, running = frozen.add(done()), frozen.add(steady())
    assert cli(clock, ["get", finished, running, "-o", "json"], env).code == 0
    assert [e["id"] for e in listed(clock, env, *spelling)] == [running]
    both = listed(clock, env, "--status", "processing", "--status", "completed")
    assert {e["id"] for e in both} == {finished, running}


def test_list_filters_by_profile_since_and_limit(frozen, clock, tmp_path):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[profiles.prod]\nprovider = "knock"\nbase_url = "{frozen.base_url}"\napi_key_env = "K"\n'
        f'[profiles.stage]\nprovider = "knock"\nbase_url = "{frozen.base_url}"\napi_key_env = "K"\n'
    )
    env = {"K": KNOCK_TOKEN}
    old, prod_op, stage_op = frozen.add(done()), frozen.add(done()), frozen.add(done())
    assert cli(clock, ["get", f"prod:{old}", "-o", "json"], env).code == 0
    clock.t = 3 * 86400
    assert cli(clock, ["get", f"prod:{prod_op}", f"stage:{stage_op}", "-o", "json"], env).code == 0
    assert {e["id"] for e in listed(clock, env, "--profile", "prod")} == {old, prod_op}
    assert {e["id"] for e in listed(clock, env, "-p", "stage")} == {stage_op}
    assert {e["id"] for e in listed(clock, env, "--since", "1d")} == {prod_op, stage_op}
    assert len(listed(clock, env, "--since", "all")) == 3
    assert len(listed(clock, env, "--limit", "2")) == 2
    assert len(listed(clock, env, "-n", "0")) == 3
    assert {e["id"] for e in listed(clock, env, "--profile", "prod", "--since", "2d")} == {prod_op}


@pytest.mark.parametrize("since", ["yesterday", "0", "-1d", ""])
def test_a_bad_since_is_a_usage_error(env, clock, since):
    r = cli(clock, ["list", "--since", since], env)
    assert r.code == 2 and "--since" in r.stderr


def test_list_text_is_tab_separated_with_a_header_and_duration(frozen, env, clock):
    op = frozen.add(steady(name="users.identify"))
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 30
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    r = cli(clock, ["list"], env)
    header, row = r.stdout.splitlines()
    assert header.split("\t")[:5] == ["id", "profile", "provider", "name", "status"]
    fields = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert fields["id"] == op and fields["status"] == "processing" and fields["processed"] == "300"
    assert fields["duration_s"] == "30" and fields["last_seen"] == "2026-11-22T12:00:30Z"


def test_list_table_shows_state_progress_duration_and_when_seen(frozen, env, clock):
    op = frozen.add(steady(name="users.identify"))
    clock.t = 50
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 50 + 180
    r = cli(clock, ["list", "-o", "table"], env)
    assert r.code == 0
    header, row = r.stdout.splitlines()
    # At 80 columns the full id (what a user copies) outlasts the API and Duration columns.
    assert header.split() == ["Name", "ID", "Status", "Progress", "Last", "seen"]
    name, *cells = row.split()
    assert cells == [op, "processing", "50%", "3", "min", "ago"] and "users.identify".startswith(name[:-1])
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    wide = cli(clock, ["list", "-o", "table"], {**env, "COLUMNS": "120"})
    header, row = wide.stdout.splitlines()
    assert header.split() == ["Name", "ID", "API", "Status", "Progress", "Duration", "Last", "seen"]
    assert row.split() == ["users.identify", op, "knock", "processing", "50%", "3m", "50s", "3", "min", "ago"]


def test_an_empty_journal_lists_nothing(env, clock):
    assert cli(clock, ["list", "-o", "json"], env).stdout == "[]\n"
    r = cli(clock, ["list"], env)
    assert (r.code, r.stdout) == (0, "")
    r = cli(clock, ["list", "-o", "table"], env)
    assert r.code == 0 and r.stdout == "" and "no operations" in r.stderr


def test_list_refresh_fetches_the_unfinished_ones_first(frozen, env, clock):
    op, finished = frozen.add(steady(total_rows=100)), frozen.add(done())
    assert cli(clock, ["get", op, finished, "-o", "json"], env).code == 0
    clock.t = 60
    assert {e["id"]: e["status"] for e in listed(clock, env)}[op] == "processing"
    frozen.clear_requests()
    entries = {e["id"]: e for e in listed(clock, env, "--refresh")}
    assert entries[op]["status"] == "completed" and entries[op]["processed_rows"] == 100
    assert len(frozen.requests_for(op)) == 1 and frozen.requests_for(finished) == []


def test_refresh_never_sends_an_id_to_an_account_it_was_not_seen_on(frozen, env, clock, make_sim):
    op = frozen.add(steady())
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    other = make_sim()
    r = cli(clock, ["list", "--refresh", "-o", "json"], knock_env_for(other))
    assert r.code == 0 and r.stderr == ""
    assert json.loads(r.stdout)[0]["status"] == "processing"
    assert other.requests == [] and frozen.requests_for(op) != []


# --------------------------------------------------------------------------- @last


def test_at_last_names_the_most_recent_operation_for_get_status_and_watch(frozen, env, clock):
    first, last = frozen.add(done(name="first")), frozen.add(steady(name="last", total_rows=50))
    assert cli(clock, ["get", first, "-o", "json"], env).code == 0
    clock.t = 1
    assert cli(clock, ["status", last], env).code == 3
    r = cli(clock, ["get", "@last", "-o", "json"], env)
    assert r.code == 0 and json.loads(r.stdout)["id"] == last
    r = cli(clock, ["status", "@last", "-o", "json"], env)
    assert r.code == 3 and json.loads(r.stdout)["id"] == last
    r = cli(clock, ["watch", " @last", "-o", "json"], env)
    assert r.code == 0
    assert json.loads(r.stdout.splitlines()[-1])["operation"]["id"] == last


def test_at_last_keeps_the_profile_it_was_seen_through(frozen, clock):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.prod]\nprovider = "knock"\nbase_url = "{frozen.base_url}"\napi_key_env = "K"\n')
    op = frozen.add(done())
    assert cli(clock, ["get", f"prod:{op}", "-o", "json"], {"K": KNOCK_TOKEN}).code == 0
    # No BULKOP_BASE_URL: only the profile knows where the operation lives.
    r = cli(clock, ["status", "@last"], {"K": KNOCK_TOKEN})
    assert r.code == 0, r.stderr


@pytest.mark.parametrize("off", [[], ["--no-journal"]])
def test_at_last_without_an_entry_is_a_usage_error(env, clock, off):
    r = cli(clock, [*off, "get", "@last"], env)
    assert r.code == 2
    assert "@last" in r.stderr and ("journal is off" if off else "holds no operation") in r.stderr


# --------------------------------------------------------------------------- watch --unfinished


def test_watch_unfinished_reattaches_to_every_unfinished_operation(frozen, env, clock):
    a, b = frozen.add(steady(total_rows=30)), frozen.add(steady(total_rows=50))
    finished = frozen.add(done())
    assert cli(clock, ["get", a, b, finished, "-o", "json"], env).code == 0
    r = cli(clock, ["watch", "--unfinished", "-o", "json"], env)
    assert r.code == 0, r.stderr
    finals = [json.loads(line)["operation"]["id"] for line in r.stdout.splitlines() if json.loads(line).get("final")]
    assert sorted(finals) == sorted([a, b])
    assert {e["status"] for e in listed(clock, env)} == {"completed"}
    r = cli(clock, ["watch", "--unfinished"], env)
    assert r.code == 0 and "no unfinished operations" in r.stderr


def test_watch_unfinished_looks_back_24h_unless_told(frozen, env, clock):
    op = frozen.add(steady(total_rows=10**6, rows_per_second=1))
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 2 * 86400
    r = cli(clock, ["watch", "--unfinished"], env)
    assert r.code == 0 and "no unfinished" in r.stderr
    r = cli(clock, ["watch", "--unfinished", "--since", "3d", "--timeout", "5s", "-o", "json"], env)
    assert r.code == 124 and op in r.stdout


def test_watch_unfinished_adds_to_ids_given(frozen, env, clock):
    a, b = frozen.add(steady(total_rows=20)), frozen.add(done())
    assert cli(clock, ["status", a], env).code == 3
    r = cli(clock, ["watch", b, "--unfinished", "-o", "json"], env)
    assert r.code == 0
    assert {json.loads(line)["operation"]["id"] for line in r.stdout.splitlines()} == {a, b}


# --------------------------------------------------------------------------- history


def test_watch_seeds_its_rate_from_the_journal_so_the_first_poll_has_an_eta(frozen, env, clock):
    op = frozen.add(steady(total_rows=10_000, name="users.identify"))
    for t in (10, 20, 30):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 40
    seeded = cli(clock, ["watch", op, "--display", "lines", "--timeout", "0.5s"], env)
    clock.t = 40
    plain = cli(clock, ["--no-journal", "watch", op, "--display", "lines", "--timeout", "0.5s"], env)
    first_seeded = next(line for line in seeded.stderr.splitlines() if "processing" in line)
    first_plain = next(line for line in plain.stderr.splitlines() if "processing" in line)
    assert "10.0 rows/s" in first_seeded and "eta" in first_seeded, seeded.stderr
    assert "rows/s" not in first_plain, plain.stderr


def test_get_in_a_terminal_shows_throughput_over_time(frozen, env, clock):
    op = frozen.add(steady(total_rows=10_000))
    for t in (0, 10, 20, 30, 40):
        clock.t = t
        r = cli(clock, ["get", op, "-o", "table"], env)
        assert r.code == 0
    line = next(line for line in r.stdout.splitlines() if line.startswith("Throughput"))
    assert "avg 10.0 rows/s over 40s (5 samples)" in line
    assert any(ch in line for ch in "▁▂▃▄▅▆▇█")
    piped = cli(clock, ["get", op], env)
    assert "Throughput" not in piped.stdout
    assert "Throughput" not in cli(clock, ["--no-journal", "get", op, "-o", "table"], env).stdout


def test_sparkline_and_throughput_are_pure_functions():
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert throughput([(0, 0)]) == []
    assert throughput([(0, 0), (0, 5)]) == []
    assert throughput([(0, 0), (10, 100), (20, 100)], width=2) == [10.0, 0.0]
    assert throughput_view([(0, 0), (10, 100)]) is not None
    assert throughput_view([(5, 10)]) is None


# --------------------------------------------------------------------------- re-attach after SIGTERM


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "BULKOP_CONFIG": os.environ["BULKOP_CONFIG"],
        "BULKOP_JOURNAL": os.environ["BULKOP_JOURNAL"],
        "NO_COLOR": "1",
        "CI": "true",
        "TZ": "UTC",
        **extra,
    }


@pytest.mark.slow
def test_reattach_after_sigterm_knows_the_rate_at_the_first_poll(make_sim):
    sim = make_sim()
    op = sim.add(Scenario(queued_seconds=0, total_rows=10**7, rows_per_second=2000, name="users.identify"))
    env = _env(knock_env_for(sim))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulkop", "watch", op, "--interval", "0.3"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum("rows/s" in line for line in seen) < 2:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 143
    proc.stderr.close()
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bulkop", *args], env=env, capture_output=True, text=True, timeout=60
    )
    listed = json.loads(run("list", "-o", "json").stdout)
    assert [(e["id"], e["status"]) for e in listed] == [(op, "processing")]
    again = run("watch", "--unfinished", "--timeout", "1s")
    assert again.returncode == 124, again.stderr
    first = next(line for line in again.stderr.splitlines() if "processing" in line)
    assert "rows/s" in first and "eta" in first, again.stderr
