"""What the watch views say about each operation: every line names it, nothing is invented,
and the next step they suggest works. The real CLI against the simulator on a fake clock."""

from __future__ import annotations

import re

import pytest

from bulkop.simulator import Scenario
from helpers import FakeClock, plain_console, watch

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:]+Z ")


# --------------------------------------------------------------------------- every line names its operation


def test_every_lines_line_about_an_operation_names_it_with_its_id(frozen_sim, env, clock):
    """Two imports with one name; the server goes away mid-watch. Each line about one of them
    (progress, poll failures, the give-up error, the verdict) carries its id, not the name
    alone: `users.import poll failed (1x)` would not say which."""
    a = frozen_sim.add(Scenario(name="users.import", total_rows=50_000, queued_seconds=0, duration=600))
    b = frozen_sim.add(Scenario(name="users.import", total_rows=50_000, queued_seconds=0, duration=600))
    clock.at(5.0, frozen_sim.stop)
    r = watch(clock, ["--display", "lines", a, b, "--max-consecutive-failures", "3"], env)
    assert r.code == 6, r.stderr
    lines = [STAMP.sub("", x) for x in r.stderr.splitlines() if STAMP.match(x)]
    about = [x for x in lines if "users.import" in x]
    kinds = {"poll failed (1x)", "poll failed (2x)", "error:", "could not be fetched", "processing"}
    for kind in kinds:
        assert any(kind in x for x in about), (kind, r.stderr)
    for x in about:
        assert (a in x) != (b in x), x  # one of them, and which
        assert re.match(rf"users\.import ({a}|{b})\b", x), x


def test_a_poll_failure_before_any_answer_names_the_id(frozen_sim, env, clock):
    op = frozen_sim.add(Scenario(name="users.identify", queued_seconds=0, duration=30, server_errors=2))
    r = watch(clock, ["--display", "lines", op], env)
    assert r.code == 0, r.stderr
    failures = [x for x in r.stderr.splitlines() if "poll failed" in x]
    assert failures and all(op in x for x in failures), r.stderr


def test_github_error_items_group_names_the_id(frozen_sim, env, clock, tmp_path):
    op = frozen_sim.add(Scenario(name="users.import", total_rows=100, queued_seconds=0, duration=5, error_rate=0.1))
    r = watch(clock, ["--display", "lines", op, "--max-errors", "0"], {**env, "GITHUB_ACTIONS": "true"})
    assert r.code == 1, r.stderr
    (group,) = [x for x in r.stderr.splitlines() if x.startswith("::group::")]
    assert f"users.import {op}" in group, group


# --------------------------------------------------------------------------- resume hints


def _stop_after(fake: FakeClock, t: float, signal: type[BaseException]):
    """A sleep of the CLI's that the signal interrupts once simulated time passes `t`."""

    def sleep(seconds: float) -> None:
        if fake.t > t:
            raise signal
        fake.sleep(seconds)

    return sleep


def _stop(fake: FakeClock, args: list[str], environ: dict[str, str], signal: type[BaseException]):
    from conftest import run_cli

    sleep = _stop_after(fake, 3, signal)
    return run_cli(["watch", "--display", "lines", *args], environ, now=fake.now, sleep=sleep, wall=fake.wall)


def _signals():
    from bulkop.errors import Terminated

    return [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")]


@pytest.mark.parametrize(("signal", "code", "word"), _signals(), ids=["sigint", "sigterm"])
def test_resume_hint_is_unfinished_only_when_the_journal_has_them_all(frozen_sim, env, clock, signal, code, word):
    """Both answered and still running: the journal has them as unfinished, so
    `--unfinished` works, and the hint says it (on SIGTERM too)."""
    a = frozen_sim.add(Scenario(name="a", total_rows=100, queued_seconds=0, duration=500))
    b = frozen_sim.add(Scenario(name="b", total_rows=100, queued_seconds=0, duration=500))
    r = _stop(clock, [a, b], env, signal)
    assert r.code == code, r.stderr
    assert r.stderr.endswith(f"bulkop: {word}; resume with: bulkop watch --unfinished\n"), r.stderr


@pytest.mark.parametrize(("signal", "code", "word"), _signals(), ids=["sigint", "sigterm"])
def test_resume_hint_names_the_ids_when_one_was_never_answered(frozen_sim, env, clock, signal, code, word):
    """`b` never answered (its polls fail): it is not in the journal, so `--unfinished`
    would silently leave it out. The hint names the ids instead."""
    a = frozen_sim.add(Scenario(name="a", total_rows=100, queued_seconds=0, duration=500))
    b = frozen_sim.add(Scenario(name="b", total_rows=100, queued_seconds=0, duration=500, server_errors=1000))
    r = _stop(clock, [a, b], env, signal)
    assert r.code == code, r.stderr
    assert r.stderr.endswith(f"bulkop: {word}; resume with: bulkop watch {a} {b}\n"), r.stderr


def test_resume_hint_with_the_journal_off_names_the_ids(frozen_sim, env, clock):
    from bulkop.errors import Terminated

    a = frozen_sim.add(Scenario(name="a", total_rows=100, queued_seconds=0, duration=500))
    r = _stop(clock, [a], {**env, "BULKOP_NO_JOURNAL": "1"}, Terminated)
    assert r.code == 143, r.stderr
    assert r.stderr.endswith(f"bulkop: terminated; resume with: bulkop watch {a}\n"), r.stderr


def test_resume_hint_beyond_five_ids_says_how_many(frozen_sim, env, clock):
    ops = [
        frozen_sim.add(Scenario(name=f"op{i}", total_rows=100, queued_seconds=0, duration=500, server_errors=1000))
        for i in range(7)
    ]
    r = _stop(clock, ops, env, KeyboardInterrupt)
    assert r.code == 130, r.stderr
    last = r.stderr.splitlines()[-1]
    listed = " ".join(ops[:5])
    assert (
        last
        == f"bulkop: interrupted; resume with: bulkop watch {listed} and the other 2 ids (7 operations not finished)"
    )


def test_resume_hint_leaves_out_what_finished(frozen_sim, env, clock):
    """One finished before the interruption: the hint is about the other one only."""
    done = frozen_sim.add(Scenario(name="done", total_rows=100, queued_seconds=0, duration=1))
    stuck = frozen_sim.add(Scenario(name="stuck", total_rows=100, queued_seconds=0, duration=500, server_errors=1000))
    r = _stop(clock, [done, stuck], env, KeyboardInterrupt)
    assert r.code == 130, r.stderr
    assert r.stderr.endswith(f"bulkop: interrupted; resume with: bulkop watch {stuck}\n"), r.stderr


# --------------------------------------------------------------------------- the live view's totals


def _profiles(tmp_path, sim) -> dict[str, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "".join(
            f'[profiles.{name}]\nprovider = "{provider}"\nbase_url = "{sim.base_url}"\napi_key = "{sim.knock_token}"\n'
            for name, provider in (("es", "elasticsearch"), ("kn", "knock"))
        ),
        encoding="utf-8",
    )
    cfg.chmod(0o600)
    return {"BULKOP_CONFIG": str(cfg), "COLUMNS": "120"}


def _totals_line(stderr: str) -> str:
    (line,) = [x for x in stderr.splitlines() if x.startswith("All ")]
    return line


def test_live_totals_leave_out_what_an_api_does_not_report_and_say_so(frozen_sim, clock, tmp_path):
    """Elasticsearch sends no success count: the sum of "ok" covers the Knock operation only,
    and says so; it is not Knock's count presented as everyone's (nor 0 for Elasticsearch)."""
    es = frozen_sim.add(Scenario(provider="elasticsearch", total_rows=1000, queued_seconds=0, duration=10))
    kn = frozen_sim.add(Scenario(name="k", total_rows=1000, queued_seconds=0, duration=10))
    r = watch(clock, ["--display", "live", f"es:{es}", f"kn:{kn}"], _profiles(tmp_path, frozen_sim))
    assert r.code == 0, r.stderr
    line = _totals_line(r.stderr)
    assert "2,000/2,000 rows" in line and "1,000 ok (1 of 2 report it)" in line, line


def test_live_totals_of_operations_without_success_counts_show_no_ok_at_all(frozen_sim, clock, tmp_path):
    ops = [
        frozen_sim.add(Scenario(provider="elasticsearch", total_rows=1000, queued_seconds=0, duration=10))
        for _ in range(2)
    ]
    r = watch(clock, ["--display", "live", *(f"es:{op}" for op in ops)], _profiles(tmp_path, frozen_sim))
    assert r.code == 0, r.stderr
    line = _totals_line(r.stderr)
    assert " ok" not in line and "2,000/2,000 rows" in line, line


def test_live_totals_before_any_answer_invent_no_zeros():
    """Nothing answered yet: no `0/0 rows`, no `0 ok`, no `0 errors`; it says none has counts."""

    from bulkop.render.watch_table import watch_table
    from bulkop.watch.engine import RateLimiter, Tracked

    ops = [
        Tracked(key=f"k{i}", label=f"op-{i}", profile=None, fetch=lambda: None, bucket=RateLimiter(1.0))  # type: ignore[arg-type,return-value]
        for i in range(3)
    ]
    console = plain_console(120)
    console.print(watch_table(ops, 0.0, 10, None, width=120))
    line = _totals_line(console.export_text())
    assert line == "All 3 operations (none with counts yet)", line


# --------------------------------------------------------------------------- verdicts in README


def test_readme_lists_every_verdict_value():
    """Every value a `"verdict"` can take (verdict.Kind) is in README's list of verdicts,
    and nothing there is not one: a script's `case` on it must know them all."""
    from pathlib import Path

    from bulkop.verdict import Kind

    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
    start = readme.index("The\n  verdicts:")
    listed = readme[start : readme.index("exit 3).", start)]
    words = set(re.findall(r"`([a-z_]+)`", listed))
    assert {k.value for k in Kind} <= words, {k.value for k in Kind} - words
    assert words - {k.value for k in Kind} <= {"status"}, words - {k.value for k in Kind}


def test_saymon_final_verdict_is_finished_and_documented(clock, make_sim):
    from conftest import saymon_env_for

    sim = make_sim(clock=clock)
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=5))
    r = watch(clock, [op, "-o", "json", "--display", "quiet"], saymon_env_for(sim))
    assert r.code == 0, r.stderr
    import json

    (final,) = [json.loads(x) for x in r.stdout.splitlines() if json.loads(x).get("final")]
    assert final["verdict"] == "finished"
    test_readme_lists_every_verdict_value()
