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
from pathlib import Path

import pytest

from bulkop.journal import running_series, seed_samples
from bulkop.render.journal import sparkline, throughput, throughput_view
from conftest import KNOCK_TOKEN, Scenario, knock_env_for, saymon_env_for
from helpers import FakeClock, cli, done, journal_env, steady, tty_cli

FIELDS = {"id", "profile", "provider", "name", "status", "first_seen", "last_seen"}


def listed(clock: FakeClock, env: dict[str, str], *args: str) -> list[dict]:
    r = cli(clock, ["list", "-o", "json", *args], env)
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


# --------------------------------------------------------------------------- list


def test_list_json_is_every_operation_seen_newest_first(frozen_sim, env, clock):
    a = frozen_sim.add(done(name="users.identify"))
    b = frozen_sim.add(steady(name="objects.set"))
    assert cli(clock, ["get", a, "-o", "json"], env).code == 0
    clock.t = 5
    assert cli(clock, ["status", b], env).code == 3
    entries = listed(clock, env)
    assert [e["id"] for e in entries] == [b, a]
    assert all(set(e) >= FIELDS for e in entries)
    assert entries[0]["status"] == "processing" and entries[0]["provider"] == "knock"
    assert entries[0]["last_seen"] == "2026-11-22T12:00:05Z"
    assert entries[1]["name"] == "users.identify" and entries[1]["profile"] is None


def test_list_jsonl_is_one_object_per_line(frozen_sim, env, clock):
    ids = [frozen_sim.add(done()) for _ in range(3)]
    assert cli(clock, ["get", *ids, "-o", "json"], env).code == 0
    r = cli(clock, ["list", "-o", "jsonl"], env)
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and {json.loads(line)["id"] for line in lines} == set(ids)


@pytest.mark.parametrize("spelling", [["--status", "processing"], ["-s", "PROCESSING"], ["--status=processing"]])
def test_list_filters_by_status(frozen_sim, env, clock, spelling):
    finished, running = frozen_sim.add(done()), frozen_sim.add(steady())
    assert cli(clock, ["get", finished, running, "-o", "json"], env).code == 0
    assert [e["id"] for e in listed(clock, env, *spelling)] == [running]
    both = listed(clock, env, "--status", "processing", "--status", "completed")
    assert {e["id"] for e in both} == {finished, running}


def test_list_filters_by_profile_since_and_limit(frozen_sim, clock, tmp_path):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[profiles.prod]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n'
        f'[profiles.stage]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n'
    )
    env = {"K": KNOCK_TOKEN}
    old, prod_op, stage_op = frozen_sim.add(done()), frozen_sim.add(done()), frozen_sim.add(done())
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


def test_list_text_is_tab_separated_with_a_header_and_duration(frozen_sim, env, clock):
    op = frozen_sim.add(steady(name="users.identify"))
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 30
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    r = cli(clock, ["list"], env)
    header, row = r.stdout.splitlines()
    assert header.split("\t")[:5] == ["id", "profile", "provider", "name", "status"]
    fields = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert fields["id"] == op and fields["status"] == "processing" and fields["processed"] == "300"
    assert fields["duration_s"] == "30" and fields["last_seen"] == "2026-11-22T12:00:30Z"


def test_list_table_shows_state_progress_duration_and_when_seen(frozen_sim, env, clock):
    op = frozen_sim.add(steady(name="users.identify"))
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


def test_list_refresh_fetches_the_unfinished_ones_first(frozen_sim, env, clock):
    op, finished = frozen_sim.add(steady(total_rows=100)), frozen_sim.add(done())
    assert cli(clock, ["get", op, finished, "-o", "json"], env).code == 0
    clock.t = 60
    assert {e["id"]: e["status"] for e in listed(clock, env)}[op] == "processing"
    frozen_sim.clear_requests()
    entries = {e["id"]: e for e in listed(clock, env, "--refresh")}
    assert entries[op]["status"] == "completed" and entries[op]["processed_rows"] == 100
    assert len(frozen_sim.requests_for(op)) == 1 and frozen_sim.requests_for(finished) == []


def test_refresh_never_sends_an_id_to_an_account_it_was_not_seen_on(frozen_sim, env, clock, make_sim):
    op = frozen_sim.add(steady())
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    other = make_sim()
    r = cli(clock, ["list", "--refresh", "-o", "json"], knock_env_for(other))
    assert r.code == 0 and r.stderr == ""
    assert json.loads(r.stdout)[0]["status"] == "processing"
    assert other.requests == [] and frozen_sim.requests_for(op) != []


# --------------------------------------------------------------------------- @last


def test_at_last_names_the_most_recent_operation_for_get_status_and_watch(frozen_sim, env, clock):
    first, last = frozen_sim.add(done(name="first")), frozen_sim.add(steady(name="last", total_rows=50))
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


def test_at_last_keeps_the_profile_it_was_seen_through(frozen_sim, clock):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.prod]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n')
    op = frozen_sim.add(done())
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


def test_watch_unfinished_reattaches_to_every_unfinished_operation(frozen_sim, env, clock):
    a, b = frozen_sim.add(steady(total_rows=30)), frozen_sim.add(steady(total_rows=50))
    finished = frozen_sim.add(done())
    assert cli(clock, ["get", a, b, finished, "-o", "json"], env).code == 0
    r = cli(clock, ["watch", "--unfinished", "-o", "json"], env)
    assert r.code == 0, r.stderr
    finals = [json.loads(line)["operation"]["id"] for line in r.stdout.splitlines() if json.loads(line).get("final")]
    assert sorted(finals) == sorted([a, b])
    assert {e["status"] for e in listed(clock, env)} == {"completed"}
    r = cli(clock, ["watch", "--unfinished"], env)
    assert r.code == 0 and "no unfinished operations" in r.stderr


def test_watch_unfinished_looks_back_24h_unless_told(frozen_sim, env, clock):
    op = frozen_sim.add(steady(total_rows=10**6, rows_per_second=1))
    assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 2 * 86400
    r = cli(clock, ["watch", "--unfinished"], env)
    assert r.code == 0 and "no unfinished" in r.stderr
    r = cli(clock, ["watch", "--unfinished", "--since", "3d", "--timeout", "5s", "-o", "json"], env)
    assert r.code == 124 and op in r.stdout


def test_watch_unfinished_adds_to_ids_given(frozen_sim, env, clock):
    a, b = frozen_sim.add(steady(total_rows=20)), frozen_sim.add(done())
    assert cli(clock, ["status", a], env).code == 3
    r = cli(clock, ["watch", b, "--unfinished", "-o", "json"], env)
    assert r.code == 0
    assert {json.loads(line)["operation"]["id"] for line in r.stdout.splitlines()} == {a, b}


# --------------------------------------------------------------------------- history


def test_watch_seeds_its_rate_from_the_journal_so_the_first_poll_has_an_eta(frozen_sim, env, clock):
    op = frozen_sim.add(steady(total_rows=10_000, name="users.identify"))
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


def test_get_in_a_terminal_shows_throughput_over_time(frozen_sim, env, clock):
    op = frozen_sim.add(steady(total_rows=10_000))
    for t in (0, 10, 20, 30, 40):
        clock.t = t
        r = tty_cli(clock, ["get", op, "-o", "table"], env)
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


@pytest.mark.slow
def test_reattach_after_sigterm_knows_the_rate_at_the_first_poll(make_sim):
    sim = make_sim()
    op = sim.add(Scenario(queued_seconds=0, total_rows=10**7, rows_per_second=2000, name="users.identify"))
    env = journal_env(knock_env_for(sim), CI="true")
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
    # Long enough for a series to seed from (journal.SEED_MIN_SPAN s, SEED_MIN_POINTS points).
    enough = time.monotonic() + 5
    while time.monotonic() < deadline and (sum("rows/s" in line for line in seen) < 2 or time.monotonic() < enough):
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


# --------------------------------------------------------------------------- issue 16 follow-ups


def saymon(frozen_sim) -> dict[str, str]:
    return saymon_env_for(frozen_sim)


def test_saymon_operations_are_finished_or_not_in_every_list_output(frozen_sim, clock):
    env = saymon(frozen_sim)
    fin = frozen_sim.add(done(provider="saymon", id="4da5e709d4713d60c8a70639"))
    run = frozen_sim.add(steady(provider="saymon", id="5da5e709d4713d60c8a7063a"))
    for op in (fin, run):
        assert cli(clock, ["get", op, "-o", "json"], env).code in (0, 3)
    statuses = {op: json.loads(cli(clock, ["status", op, "-o", "json"], env).stdout)["status"] for op in (fin, run)}
    assert statuses == {fin: "finished", run: "not finished"}
    entries = {e["id"]: e for e in listed(clock, env)}
    assert {op: entries[op]["status"] for op in (fin, run)} == statuses
    assert entries[fin]["finished"] is True and entries[run]["finished"] is False
    jsonl = [json.loads(line) for line in cli(clock, ["list", "-o", "jsonl"], env).stdout.splitlines()]
    assert {e["id"]: e["status"] for e in jsonl} == statuses
    text = cli(clock, ["list"], env).stdout
    rows = {line.split("\t")[0]: line.split("\t")[4] for line in text.splitlines()[1:]}
    assert rows == statuses
    for columns in ("40", "80", "120"):
        table = cli(clock, ["list", "-o", "table"], {**env, "COLUMNS": columns}).stdout
        assert "completed" not in table and "100%" not in table and "processing" not in table, table
        assert "not finished" in table and "finished" in table, table


@pytest.mark.parametrize(
    ("words", "expect"),
    [
        (["finished"], {"saymon_fin", "knock_fin"}),
        (["FINISHED"], {"saymon_fin", "knock_fin"}),
        (["not finished"], {"saymon_run", "knock_run"}),
        (["not-finished"], {"saymon_run", "knock_run"}),
        (["unfinished"], {"saymon_run", "knock_run"}),
        (["completed"], {"knock_fin"}),
        (["processing"], {"knock_run"}),
        (["processing", "finished"], {"knock_run", "saymon_fin", "knock_fin"}),
    ],
)
def test_status_filter_takes_the_words_the_views_show(frozen_sim, clock, words, expect):
    ops = {
        "saymon_fin": frozen_sim.add(done(provider="saymon", id="4da5e709d4713d60c8a70639")),
        "saymon_run": frozen_sim.add(steady(provider="saymon", id="5da5e709d4713d60c8a7063a")),
        "knock_fin": frozen_sim.add(done()),
        "knock_run": frozen_sim.add(steady()),
    }
    for name, op in ops.items():
        env = saymon(frozen_sim) if name.startswith("saymon") else knock_env_for(frozen_sim)
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    args = [a for w in words for a in ("--status", w)]
    found = {e["id"] for e in listed(clock, {}, *args)}
    assert found == {ops[name] for name in expect}


@pytest.mark.parametrize("word", ["complete", "done", "running"])
def test_an_unknown_status_says_which_words_are_valid(env, clock, word):
    r = cli(clock, ["list", "--status", word], env)
    assert r.code == 2 and r.stdout == ""
    assert "finished" in r.stderr and "not finished" in r.stderr and "queued" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_throughput_average_is_over_the_operations_own_running_interval(frozen_sim, env, clock):
    # 1000 rows in 100 s after 20 s queued; `get` before, during and long after.
    op = frozen_sim.add(Scenario(queued_seconds=20, total_rows=1000, rows_per_second=10))
    for t in (0, 10, 40, 60, 90, 200, 300, 400):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    r = tty_cli(clock, ["get", op, "-o", "table"], env)
    line = next(line for line in r.stdout.splitlines() if line.startswith("Throughput"))
    assert "avg 10.0 rows/s over 1m 40s" in line, line
    assert "(4 samples)" in line, line  # t=40, 60, 90 and the end; none queued, none after


def test_the_throughput_of_a_running_operation_is_over_its_running_time(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(queued_seconds=30, total_rows=10_000, rows_per_second=10))
    for t in (0, 10, 20, 50, 70):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    r = tty_cli(clock, ["get", op, "-o", "table"], env)
    line = next(line for line in r.stdout.splitlines() if line.startswith("Throughput"))
    assert "avg 10.0 rows/s over 40s" in line, line


@pytest.mark.parametrize("args", [["-o", "table"], ["-o", "text"], []])
def test_the_sparkline_is_drawn_only_in_a_terminal(frozen_sim, env, clock, args):
    op = frozen_sim.add(steady(total_rows=10_000))
    for t in (0, 10, 20):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    assert "Throughput" not in cli(clock, ["get", op, *args], env).stdout


def _two_ways(frozen_sim, clock, name: str = "demo") -> tuple[dict[str, str], dict[str, str]]:
    """An environment without a profile, and one whose default profile reaches the same API."""
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'default_profile = "{name}"\n'
        f'[profiles.{name}]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n'
    )
    return {"BULKOP_PROFILE": "", **knock_env_for(frozen_sim)}, {"K": KNOCK_TOKEN}


def test_one_operation_is_one_entry_whichever_way_it_was_reached(frozen_sim, clock):
    op = frozen_sim.add(steady(total_rows=100))
    plain = {**knock_env_for(frozen_sim)}
    assert cli(clock, ["get", op, "-o", "json"], plain).code == 0
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.demo]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n')
    clock.t = 200
    assert cli(clock, ["get", f"demo:{op}", "-o", "json"], {"K": KNOCK_TOKEN}).code == 0
    (entry,) = listed(clock, {})
    assert (entry["profile"], entry["status"], entry["first_seen"]) == ("demo", "completed", "2026-11-22T12:00:00Z")
    r = cli(clock, ["watch", "--unfinished"], {"K": KNOCK_TOKEN})
    assert r.code == 0 and "no unfinished operations" in r.stderr


def test_watch_unfinished_and_refresh_update_the_one_entry(frozen_sim, clock):
    op = frozen_sim.add(steady(total_rows=50))
    assert cli(clock, ["get", op, "-o", "json"], knock_env_for(frozen_sim)).code == 0
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.demo]\nprovider = "knock"\nbase_url = "{frozen_sim.base_url}"\napi_key_env = "K"\n')
    r = cli(clock, ["watch", f"demo:{op}", "-o", "json"], {"K": KNOCK_TOKEN})
    assert r.code == 0, r.stderr
    assert [(e["profile"], e["status"]) for e in listed(clock, {})] == [("demo", "completed")]
    other = frozen_sim.add(steady(total_rows=50))
    assert cli(clock, ["get", other, "-o", "json"], knock_env_for(frozen_sim)).code == 0
    clock.t += 100
    entries = listed(clock, knock_env_for(frozen_sim), "--refresh")
    assert sorted(e["status"] for e in entries) == ["completed", "completed"] and len(entries) == 2


def test_list_profile_that_is_unknown_is_a_usage_error_with_a_guess(frozen_sim, clock):
    _two_ways(frozen_sim, clock, "prod")
    for args in (["list", "--profile", "prd"], ["list", "-p", "prd"], ["-p", "prd", "list"]):
        r = cli(clock, args, {"K": KNOCK_TOKEN})
        assert r.code == 2 and r.stdout == "", (args, r.stderr)
        assert "prd" in r.stderr and "did you mean 'prod'" in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("output", ["text", "table"])
def test_list_profile_without_entries_says_so_on_stderr(frozen_sim, clock, output):
    _two_ways(frozen_sim, clock, "prod")
    r = cli(clock, ["list", "--profile", "prod", "-o", output], {"K": KNOCK_TOKEN})
    assert (r.code, r.stdout) == (0, "")
    assert "no operations seen through profile 'prod'" in r.stderr
    r = cli(clock, ["list", "--profile", "prod", "-o", "json"], {"K": KNOCK_TOKEN})
    assert (r.code, r.stdout, r.stderr) == (0, "[]\n", "")


def test_a_profile_only_the_journal_remembers_still_lists(frozen_sim, clock):
    _two_ways(frozen_sim, clock, "old")
    op = frozen_sim.add(done())
    assert cli(clock, ["get", f"old:{op}", "-o", "json"], {"K": KNOCK_TOKEN}).code == 0
    Path(os.environ["BULKOP_CONFIG"]).write_text("")
    assert [e["id"] for e in listed(clock, {}, "--profile", "old")] == [op]


def test_limit_zero_is_documented_as_no_limit():
    from conftest import run_process

    r = run_process(["list", "--help"], {"COLUMNS": "200"})
    assert "0 means no limit" in " ".join(r.stdout.replace("│", " ").split())


def test_a_reattached_watch_seeds_only_from_samples_taken_while_processing(frozen_sim, env, clock):
    # Seen three times while queued, then re-attached 40 s into processing at 10 rows/s.
    op = frozen_sim.add(Scenario(queued_seconds=60, total_rows=100_000, rows_per_second=10))
    for t in (0, 20, 40):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 100
    r = cli(clock, ["watch", op, "--display", "lines", "--timeout", "0.5s"], env)
    first = next(line for line in r.stderr.splitlines() if "processing" in line)
    # From the queued samples: 400 rows over 60 s = 6.7 rows/s, an ETA hours too long.
    assert "6.7 rows/s" not in first and "rows/s" not in first, r.stderr
    # Processing samples do seed it, at the real rate.
    for t in (110, 120):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    clock.t = 130
    r = cli(clock, ["watch", op, "--display", "lines", "--timeout", "0.5s"], env)
    first = next(line for line in r.stderr.splitlines() if "processing" in line)
    assert "10.0 rows/s" in first, r.stderr


def test_seed_samples_keep_the_recent_running_phase():
    def rate(seed):
        (t0, r0), (t1, r1) = seed
        return (r1 - r0) / (t1 - t0)

    assert seed_samples([(0, 0), (20, 0), (40, 0)], 15) == []
    # The leading run without progress keeps only its last point; the line ends at the last.
    assert rate(seed_samples([(0, 0), (20, 0), (40, 100), (50, 200)], 15)) == pytest.approx(200 / 30, rel=0.01)
    seed = seed_samples([(0, 0), (100, 1000), (110, 1100), (120, 1200)], 15)
    assert seed[-1] == (120, 1200) and rate(seed) == pytest.approx(10)
    assert seed_samples([(0, 5), (300, 900)], 15) == []  # two points: no seed


def test_running_series_clips_to_the_interval_and_adds_its_ends():
    samples = [(0, 0), (30, 100), (50, 300), (200, 1000), (400, 1000)]
    series, n = running_series(samples, started_at=20, ended_at=120, final_rows=1000)
    assert series == [(20, 0), (30, 100), (50, 300), (120, 1000)] and n == 2
    series, n = running_series(samples, started_at=None, ended_at=None, final_rows=None)
    assert series == samples and n == 5


# --------------------------------------------------------------------------- list table widths


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
def test_list_table_screen(frozen_sim, clock, screen, columns):
    _two_ways(frozen_sim, clock, "demo")
    ops = [
        frozen_sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=100)),
        frozen_sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=0, duration=300)),
        frozen_sim.add(Scenario(name="a very long operation name indeed", queued_seconds=600)),
    ]
    saymon_op = frozen_sim.add(done(provider="saymon", id="4da5e709d4713d60c8a70639"))
    clock.t = 150
    for op in ops:
        assert cli(clock, ["get", f"demo:{op}", "-o", "json"], {"K": KNOCK_TOKEN}).code == 0
    assert cli(clock, ["get", saymon_op, "-o", "json"], saymon(frozen_sim)).code == 0
    clock.t = 250
    r = cli(clock, ["list", "-o", "table"], {"K": KNOCK_TOKEN, "COLUMNS": str(columns), "NO_COLOR": "1"})
    assert (r.code, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    words = r.stdout.split()
    for whole in ("Status", "processing", "completed", "queued", "finished", *(["50%"] if columns >= 60 else [])):
        assert whole in words, (whole, r.stdout)
    header = lines[0]
    assert "…" not in header
    id_at = header.index("ID")
    for line in lines[1:]:
        # Only the name (the first column) may be cut; below 80 columns the id may be short.
        cut = [i for i, ch in enumerate(line) if ch == "…" and i >= id_at]
        assert all(columns < 80 and line[id_at:].split()[0].endswith("…") for _ in cut), line
        assert len(cut) <= 1, line
    if columns >= 80:
        assert all(f"demo:{op}" in r.stdout for op in ops), r.stdout
    assert r.stdout == screen
