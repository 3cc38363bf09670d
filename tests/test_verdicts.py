"""Every verdict explains itself, and a missing or impossible value is never a pass.

Issue 12 #5 and issue 13 #1: the real CLI (`watch`, `status`, `get --exit-status`) against a
tiny server of the test's own that answers one canned Knock operation, or the simulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bulkop.simulator import Scenario
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, knock_env_for, run_cli, saymon_env_for
from helpers import Canned, CannedServer, FakeClock

OP = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def knock_op(status: str = "completed", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "__typename": "BulkOperation",
        "id": OP,
        "name": "users.identify",
        "status": status,
        "estimated_total_rows": 100,
        "processed_rows": 100,
        "success_count": 55,
        "error_count": 0,
        "inserted_at": "2026-11-22T12:00:00Z",
        "updated_at": "2026-11-22T12:01:40Z",
        "started_at": "2026-11-22T12:00:00Z",
        "completed_at": "2026-11-22T12:01:40Z" if status == "completed" else None,
        "failed_at": "2026-11-22T12:01:40Z" if status == "failed" else None,
    }
    for name, value in fields.items():
        if value is ...:
            body.pop(name, None)
        else:
            body[name] = value
    return body


ITEMS_45 = [{"id": f"user_{n}", "collection": "users"} for n in range(45)]


@pytest.fixture
def server():
    with CannedServer() as s:
        yield s


def serve(server: CannedServer, body: dict[str, Any]) -> dict[str, str]:
    server.answer = Canned(200, json.dumps(body).encode())
    return {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": server.url, "BULKOP_RETRIES": "0"}


def watch(args: list[str], env: dict[str, str], **kw: Any):
    clock = FakeClock()
    return run_cli(["watch", *args], env, now=clock, sleep=clock.sleep, **kw)


# --------------------------------------------------------------------------- the --max-errors gate

NO_COUNT = {"error_count": ..., "error_items": ITEMS_45}
GATE_CASES = {
    # name → (fields of the completed operation, --max-errors, exit codes allowed, words of the verdict)
    "45 items, no count": (NO_COUNT, "0", {1}, "completed with 45 errors, over --max-errors 0"),
    "45 items, no count, limit 10": (NO_COUNT, "10", {1}, "45 errors, over --max-errors 10"),
    "45 items, count null": ({"error_count": None, "error_items": ITEMS_45}, "0", {1}, "45 errors"),
    "count below the items": (
        {"error_count": 0, "error_items": ITEMS_45[:3]},
        "0",
        {1},
        "3 errors, over --max-errors 0",
    ),
    "negative count": ({"error_count": -5}, "0", {1, 6}, ""),
    "negative count, no limit hit": ({"error_count": -5}, "100", {1, 6}, ""),
    "no count, no items": ({"error_count": ..., "error_items": ...}, "0", {1}, "error count is unknown"),
}


@pytest.mark.parametrize("case", sorted(GATE_CASES))
@pytest.mark.parametrize("spelling", ["flag", "env"])
def test_max_errors_gate_never_passes_a_missing_or_impossible_count(server, case, spelling):
    fields, limit, codes, words = GATE_CASES[case]
    env = serve(server, knock_op(**fields))
    args = [OP, "--display", "lines"]
    if spelling == "flag":
        args += ["--max-errors", limit]
    else:
        env["BULKOP_MAX_ERRORS"] = limit
    r = watch(args, env)
    assert r.code in codes, r.stderr
    if r.code == 1:
        (line,) = [x for x in r.stderr.splitlines() if f"users.identify {OP}: " in x]
        # --errors only where there are errors to show: with none known it would show nothing.
        errors = "" if "unknown" in words or not words else " --errors"
        assert words in line and line.endswith(f"next: bulkop get {OP}{errors}"), line


@pytest.mark.parametrize(("errors", "limit", "code"), [(3, "5", 0), (5, "5", 0), (6, "5", 1), (0, "0", 0)])
def test_max_errors_gate_counts_the_errors_sent(server, errors, limit, code):
    env = serve(server, knock_op(error_count=errors, error_items=ITEMS_45[:errors]))
    r = watch([OP, "--max-errors", limit, "--display", "lines"], env)
    assert r.code == code, r.stderr
    assert ("over --max-errors" in r.stderr) == (code == 1)


def test_saymon_under_max_errors_fails_the_gate_as_unknown(frozen_sim, clock):
    """SAYMON reports no error count: --max-errors cannot be checked, so it is not a pass."""
    op = frozen_sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    env = saymon_env_for(frozen_sim)
    ok = run_cli(["watch", op, "--display", "lines"], env, now=clock, sleep=clock.sleep)
    assert ok.code == 0, ok.stderr
    r = run_cli(
        ["watch", op, "--max-errors", "0", "--display", "lines", "-o", "json"], env, now=clock, sleep=clock.sleep
    )
    assert r.code == 1, r.stderr
    assert (
        f"{op}: finished, but its error count is unknown (SAYMON reports no error counts), "
        "so --max-errors 0 cannot be checked; next: drop --max-errors for SAYMON operations" in r.stderr
    )
    assert "--errors" not in r.stderr  # `get --errors` shows nothing for SAYMON: a dead end
    (final,) = [json.loads(x) for x in r.stdout.splitlines() if json.loads(x).get("final")]
    assert final["verdict"] == "errors_unknown"


# --------------------------------------------------------------------------- every display says why


def test_a_failed_gate_says_which_why_and_what_next_in_every_display(server, tmp_path: Path):
    """Issue 13 #1: lines, GitHub annotations and step summary, NDJSON and quiet all name the
    operation (name and full id), why, and the next command; -p PROFILE when one was used."""
    env = serve(server, knock_op(error_count=100, error_items=ITEMS_45))
    summary = tmp_path / "summary.md"
    gh = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = watch([OP, "--max-errors", "0", "-o", "json"], gh)
    assert r.code == 1, r.stderr
    why = "completed with 100 errors, over --max-errors 0"
    lines = r.stderr.splitlines()
    assert any(x.endswith(f"users.identify {OP}: {why}; next: bulkop get {OP} --errors") for x in lines), r.stderr
    (annotation,) = [x for x in lines if x.startswith("::error")]
    assert annotation.startswith("::error title=bulkop%3A over --max-errors::") and why in annotation
    assert "over --max-errors 0" in summary.read_text() and "**not ok**" in summary.read_text()
    (final,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert final["final"] is True and final["verdict"] == "too_many_errors" and final["reason"] == why
    assert final["id"] == OP

    quiet = watch([OP, "--max-errors", "0", "--display", "quiet"], env)
    assert quiet.code == 1
    assert quiet.stderr == f"bulkop: users.identify {OP}: {why}; next: bulkop get {OP} --errors\n"


def test_the_next_command_names_the_profile_used(server, isolated_env):
    config: Path = isolated_env
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.ci]\nprovider = "knock"\napi_key = "{KNOCK_TOKEN}"\nbase_url = "{server.url}"\n')
    config.chmod(0o600)
    serve(server, knock_op(status="failed", error_count=2, error_items=ITEMS_45[:2]))
    r = watch([f"ci:{OP}", "--display", "lines"], {"BULKOP_RETRIES": "0"})
    assert r.code == 1, r.stderr
    assert f"the operation failed with 2 errors; next: bulkop -p ci get {OP} --errors" in r.stderr


@pytest.mark.parametrize("status", ["failed", "completed"])
def test_status_and_get_exit_status_say_why_an_operation_fails(server, status):
    env = serve(server, knock_op(status=status, error_count=7, error_items=ITEMS_45[:7]))
    s = run_cli(["status", OP], env)
    g = run_cli(["get", OP, OP, "--exit-status"], env)
    j = run_cli(["status", OP, "-o", "json"], env)
    data = json.loads(j.stdout)
    if status == "failed":
        line = f"bulkop: users.identify {OP}: the operation failed with 7 errors; next: bulkop get {OP} --errors"
        assert (s.code, g.code, j.code) == (1, 1, 1)
        assert s.stderr.splitlines()[-1] == line
        assert line in g.stderr.splitlines()
        assert data["verdict"] == "failed" and data["reason"] == "the operation failed with 7 errors"
        assert j.stderr == ""
    else:
        assert (s.code, g.code, j.code) == (0, 0, 0)
        assert s.stderr == g.stderr == ""
        assert data["verdict"] == "completed"


def test_an_unfinished_operation_is_exit_3_without_a_failure_line(server):
    env = serve(server, knock_op(status="processing", processed_rows=10, completed_at=None))
    r = run_cli(["status", OP], env)
    assert r.code == 3 and r.stderr == ""


# --------------------------------------------------------------------------- small


@pytest.mark.parametrize("stdin", ["", "\n", "\n\n  \n", "# only a comment\n"])
def test_watch_dash_with_nothing_on_stdin_says_stdin_had_no_ids(stdin, sim):
    r = run_cli(["watch", "-"], knock_env_for(sim), stdin=stdin)
    assert r.code == 2
    assert "stdin had no operation ids" in r.stderr
    assert "or `-` to read them" not in r.stderr


# --------------------------------------------------------------------------- the tester's first day (issue 13)


def profile_config(url: str) -> None:
    """A config whose default profile points at `url` (its key is not the one that works)."""
    import os

    path = Path(os.environ["BULKOP_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'default_profile = "prod"\n[profiles.prod]\nprovider = "knock"\nbase_url = "{url}"\napi_key = "stale"\n'
    )


@pytest.mark.parametrize(
    ("how", "named"),
    [("default", False), ("flag", True), ("env", True), ("prefix", True)],
)
@pytest.mark.parametrize("command", ["watch", "status"])
def test_next_command_names_a_profile_only_when_the_user_chose_it(server, how, named, command):
    """With the config's default profile the next command has no `-p`: with `-p` the tool
    ignores KNOCK_API_KEY, so the suggestion would send other credentials."""
    env = serve(server, knock_op("failed", error_count=3, error_items=ITEMS_45[:3]))
    profile_config(server.url)
    args, ref = [], OP
    if how == "flag":
        args = ["-p", "prod"]
        env["BULKOP_API_KEY"] = KNOCK_TOKEN  # an explicit profile ignores KNOCK_API_KEY
    elif how == "env":
        env["BULKOP_PROFILE"] = "prod"
        env["BULKOP_API_KEY"] = KNOCK_TOKEN
    elif how == "prefix":
        ref = f"prod:{OP}"
        env["BULKOP_API_KEY"] = KNOCK_TOKEN
    extra = ["--display", "lines"] if command == "watch" else []
    clock = FakeClock()
    r = run_cli([*args, command, ref, *extra], env, now=clock, sleep=clock.sleep)
    assert r.code == 1, r.stderr
    where = "-p prod " if named else ""
    assert f"; next: bulkop {where}get {OP} --errors" in r.stderr, r.stderr
    assert ("-p prod" in r.stderr) == named


@pytest.mark.parametrize("command", ["watch", "status", "get"])
def test_an_auth_failure_says_what_to_check_not_debug(server, command):
    server.answer = Canned(401, b'{"message": "unauthorized"}')
    env = {"KNOCK_API_KEY": "wrong", "BULKOP_BASE_URL": server.url, "BULKOP_RETRIES": "0"}
    extra = ["--display", "lines"] if command == "watch" else []
    clock = FakeClock()
    r = run_cli([command, OP, *extra], env, now=clock, sleep=clock.sleep)
    assert r.code == 4, r.stderr
    assert "KNOCK_API_KEY" in r.stderr and "--debug" not in r.stderr, r.stderr


@pytest.mark.parametrize("command", ["watch", "status"])
@pytest.mark.parametrize("fields", [{"error_count": 0}, {"error_count": ..., "error_items": ...}])
def test_a_failure_without_known_errors_does_not_suggest_errors(server, command, fields):
    env = serve(server, knock_op("failed", **fields))
    extra = ["--display", "lines"] if command == "watch" else []
    clock = FakeClock()
    r = run_cli([command, OP, *extra], env, now=clock, sleep=clock.sleep)
    assert r.code == 1, r.stderr
    assert f"the operation failed; next: bulkop get {OP}\n" in r.stderr and "--errors" not in r.stderr, r.stderr


@pytest.mark.parametrize(("answer", "title"), [(404, "operation not found"), (401, "not authorized")])
def test_annotation_titles_are_human(server, answer, title):
    server.answer = Canned(answer, b'{"message": "nope"}')
    env = {
        "KNOCK_API_KEY": KNOCK_TOKEN,
        "BULKOP_BASE_URL": server.url,
        "BULKOP_RETRIES": "0",
        "GITHUB_ACTIONS": "true",
    }
    clock = FakeClock()
    r = run_cli(["watch", OP, "--display", "lines"], env, now=clock, sleep=clock.sleep)
    (annotation,) = [x for x in r.stderr.splitlines() if x.startswith("::error")]
    assert annotation.startswith(f"::error title=bulkop%3A {title}::"), annotation
    assert "unavailable" not in annotation.split("::")[1]


@pytest.mark.parametrize("limit", [None, "5"])
@pytest.mark.parametrize("errors", [0, 2])
def test_a_completed_reason_has_one_wording_with_or_without_a_gate(server, limit, errors):
    env = serve(server, knock_op(error_count=errors, error_items=ITEMS_45[:errors]))
    args = ["status", OP, "-o", "json"] if limit is None else ["watch", OP, "--max-errors", limit, "-o", "json"]
    clock = FakeClock()
    r = run_cli([*args, "--display", "quiet"] if limit else args, env, now=clock, sleep=clock.sleep)
    record = json.loads(r.stdout.splitlines()[-1])
    assert record["reason"] == f"completed with {errors} error{'s' if errors != 1 else ''}", record


def two_ops(make_sim, clock, *, fail_second: bool = False) -> tuple[Any, str, str]:
    sim = make_sim(clock=clock)
    good = sim.add(Scenario(name="users.identify", total_rows=100, error_rate=0.1, queued_seconds=0, duration=2))
    other = sim.add(
        Scenario(name="objects.bulk_set", total_rows=100, queued_seconds=0, duration=50 if fail_second else 3)
    )
    return sim, good, other


def test_the_summary_counts_by_verdict_not_by_status(make_sim, tmp_path):
    """`summary: 2 completed` then exit 1 read as all fine: an operation over --max-errors
    is counted as that, in the summary line and the step summary."""
    clock = FakeClock()
    sim, bad, ok = two_ops(make_sim, clock)
    summary = tmp_path / "summary.md"
    env = {**knock_env_for(sim), "GITHUB_STEP_SUMMARY": str(summary)}
    r = run_cli(["watch", bad, ok, "--max-errors", "0", "--display", "lines"], env, now=clock, sleep=clock.sleep)
    assert r.code == 1, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if " summary: " in x]
    assert line.endswith("summary: 1 completed · 1 over --max-errors"), line
    row = next(x for x in summary.read_text().splitlines() if bad in x)
    assert "| over --max-errors |" in row and "| completed |" not in row, row


def test_fail_fast_names_each_operation_it_stopped_watching(make_sim):
    clock = FakeClock()
    sim = make_sim(clock=clock)
    bad = sim.add(Scenario(name="users.bulk_delete", total_rows=100, queued_seconds=0, duration=2, fail_at=0.5))
    slow = sim.add(Scenario(name="objects.bulk_set", total_rows=100, queued_seconds=0, duration=500))
    r = run_cli(
        ["watch", bad, slow, "--fail-fast", "--display", "lines"], knock_env_for(sim), now=clock, sleep=clock.sleep
    )
    assert r.code == 1, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if f"objects.bulk_set {slow}: " in x]
    assert "no longer watched" in line and line.endswith(f"next: bulkop watch {slow}"), line


@pytest.mark.parametrize("journal", [True, False])
def test_ctrl_c_says_how_to_resume_once(make_sim, journal):
    clock = FakeClock()
    sim = make_sim(clock=clock)
    op = sim.add(Scenario(name="objects.bulk_set", total_rows=100, queued_seconds=0, duration=500))

    def sleep(seconds: float) -> None:
        if clock.t > 3:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    env = knock_env_for(sim)
    if not journal:
        env["BULKOP_NO_JOURNAL"] = "1"
    r = run_cli(["watch", op, "--display", "lines"], env, now=clock, sleep=sleep)
    assert r.code == 130, r.stderr
    resume = "bulkop watch --unfinished" if journal else f"bulkop watch {op}"
    assert r.stderr.count("bulkop: interrupted") == 1
    assert f"bulkop: interrupted; resume with: {resume}\n" in r.stderr, r.stderr
    if journal:  # the command suggested works: it finds the operation again
        listed = run_cli(
            ["watch", "--unfinished", "--display", "lines", "--timeout", "1"], env, now=clock, sleep=clock.sleep
        )
        assert op in listed.stderr, listed.stderr


@pytest.mark.parametrize("name_len", [120, 199])
def test_lines_and_the_step_summary_never_cut_names_or_ids(server, tmp_path, name_len):
    name = ("a.very.long.operation.name" * 20)[:name_len]
    env = serve(server, knock_op("failed", name=name, error_count=2, error_items=ITEMS_45[:2]))
    summary = tmp_path / "summary.md"
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    clock = FakeClock()
    r = run_cli(["watch", OP, "--display", "lines"], env, now=clock, sleep=clock.sleep)
    assert r.code == 1
    (verdict,) = [x for x in r.stderr.splitlines() if "; next: " in x]
    assert f"{name} {OP}: the operation failed" in verdict, verdict
    assert "…" not in r.stderr
    assert f"| {name.replace('.', '.')} | {OP} |" in summary.read_text().replace("\\_", "_")


def test_an_unnamed_operation_under_a_profile_prefix_keeps_its_whole_id(make_sim):
    """SAYMON's operations have no name: the line shows `PROFILE:ID`, never cut at 40."""
    import os

    clock = FakeClock()
    sim = make_sim(clock=clock)
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=5))
    path = Path(os.environ["BULKOP_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[profiles.a-rather-long-profile-name]\nprovider = "saymon"\nbase_url = "{sim.base_url}"\n'
        f'login = "{SAYMON_LOGIN}"\npassword = "{SAYMON_PASSWORD}"\n'
    )
    ref = f"a-rather-long-profile-name:{op}"
    r = run_cli(["watch", ref, "--display", "lines", "--timeout", "2"], {}, now=clock, sleep=clock.sleep)
    assert r.code == 124, r.stderr
    assert f"{ref} not finished" in r.stderr and "…" not in r.stderr, r.stderr
    assert f"{op}: still running when --timeout struck" in r.stderr


def test_the_rate_is_of_processing_only_and_settles_at_once(make_sim):
    """A constant-speed operation after a long queue: every rate shown is its speed (no queue
    time in the slope, no `0.8 rows/s` just after it starts)."""
    clock = FakeClock()
    sim = make_sim(clock=clock)
    op = sim.add(Scenario(name="objects.bulk_set", total_rows=100_000, queued_seconds=20, rows_per_second=2_000))
    r = run_cli(
        ["watch", op, "--display", "lines", "--interval", "1"], knock_env_for(sim), now=clock, sleep=clock.sleep
    )
    assert r.code == 0, r.stderr
    rates = [x.split(" rows/s")[0].rsplit(" ", 1)[1] for x in r.stderr.splitlines() if " rows/s" in x]
    assert rates and set(rates) == {"2,000"}, rates


@pytest.mark.parametrize("output", ["lines", "quiet"])
def test_demo_suggests_no_command_that_cannot_work(output):
    """`bulkop demo` named a profile that exists only inside it, against a simulator that has
    stopped: its failure lines say why, and the one next step is `bulkop demo serve`."""
    from conftest import run_process

    p = run_process(["demo", "--display", output, "--speed", "200"], {"BULKOP_NO_JOURNAL": "1"})
    assert p.returncode == 1, p.stderr
    assert "the operation failed with" in p.stderr
    assert "demo-knock" not in p.stderr.split("summary:")[-1] and "next: bulkop" not in p.stderr, p.stderr
    assert "Next: `bulkop demo serve`" in p.stderr
