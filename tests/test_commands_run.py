"""Commands run directly: an Options value and `run(opts, ctx)` (or the verb's own function),
with a Context whose streams are StringIO, against the project's simulator on 127.0.0.1.

Argument parsing is tested through the CLI elsewhere; here it is not the subject, as in gh's
`TestWatchRun`: each test says which Options it means and checks the exit code and the output.
The simulator and the commands share one fake clock, so a watch of minutes takes milliseconds.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator

import pytest

from bulkop.commands import config as config_cmd
from bulkop.commands import get as get_cmd
from bulkop.commands import list as list_cmd
from bulkop.commands import providers as providers_cmd
from bulkop.commands import status as status_cmd
from bulkop.context import Context
from bulkop.errors import AuthError, ExitCode, NotFoundError
from bulkop.simulator import Scenario, Simulator
from bulkop.watch import command as watch_cmd
from conftest import saymon_env_for
from helpers import MISSING_ID, FakeClock, done, steady, unsafe_chars

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

# What of the (isolated) process environment a command sees: the test's config and journal.
_KEPT = ("BULKOP_CONFIG", "BULKOP_JOURNAL", "HOME", "NO_COLOR", "COLUMNS", "LINES", "TZ")


@pytest.fixture
def context(clock: FakeClock) -> Iterator[Callable[..., Context]]:
    """Contexts on StringIO streams and the fake clock, with the environment the test names;
    closed (HTTP connections, the journal) after the test, as the CLI closes its own."""
    made: list[Context] = []

    def make(env: dict[str, str], stdin: str = "") -> Context:
        kept = {name: os.environ[name] for name in _KEPT if name in os.environ}
        streams = {"stdout": io.StringIO(), "stderr": io.StringIO(), "stdin": io.StringIO(stdin)}
        made.append(Context(**streams, env={**kept, **env}, **clock.ctx()))
        return made[-1]

    yield make
    for ctx in made:
        ctx.close()


def out(ctx: Context) -> str:
    return ctx.stdout.getvalue()  # type: ignore[attr-defined]


def err(ctx: Context) -> str:
    return ctx.stderr.getvalue()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- get


@pytest.mark.parametrize("output", ["json", "jsonl", "text"])
def test_get_run_prints_the_operation_in_each_output(frozen_sim, env, clock, output, context):
    op = frozen_sim.add(done(name="users.identify", total_rows=250))
    ctx = context(env)
    assert get_cmd.run(get_cmd.Options([op], output=output), ctx) == ExitCode.OK
    assert err(ctx) == ""
    if output == "text":
        assert op in out(ctx) and "completed" in out(ctx) and "users.identify" in out(ctx)
    else:
        data = json.loads(out(ctx))
        assert (data["id"], data["status"], data["processed_rows"]) == (op, "completed", 250)


def test_get_run_several_ids_keeps_their_order_and_reports_the_missing_one(frozen_sim, env, clock, context):
    a, b = frozen_sim.add(done(name="a")), frozen_sim.add(done(name="b"))
    ctx = context(env)
    code = get_cmd.run(get_cmd.Options([b, MISSING_ID, a], output="jsonl"), ctx)
    assert code == ExitCode.NOT_FOUND
    assert [json.loads(line)["id"] for line in out(ctx).splitlines()] == [b, a]
    (line,) = err(ctx).splitlines()
    assert line.startswith("bulkop: error: ") and MISSING_ID in line


@pytest.mark.parametrize(
    ("scenario", "at", "code"),
    [
        (done(), 0, ExitCode.OK),
        (steady(), 50, ExitCode.NOT_FINISHED),
        (steady(fail_at=0.5), 100, ExitCode.FAILED),
    ],
    ids=["completed", "processing", "failed"],
)
def test_get_run_exit_status_follows_the_verdict(frozen_sim, env, clock, scenario, at, code, context):
    op = frozen_sim.add(scenario)
    clock.t = at
    ctx = context(env)
    assert get_cmd.run(get_cmd.Options([op], output="json", exit_status=True), ctx) == code
    assert json.loads(out(ctx))["id"] == op
    without = context(env)
    assert get_cmd.run(get_cmd.Options([op], output="json"), without) == ExitCode.OK  # no --exit-status


def test_get_run_wrong_credentials_is_exit_4(frozen_sim, env, clock, context):
    op = frozen_sim.add(done())
    ctx = context({**env, "KNOCK_API_KEY": "sk_test_wrong"})
    assert get_cmd.run(get_cmd.Options([op], output="json"), ctx) == ExitCode.AUTH
    assert out(ctx) == ""
    assert "sk_test_wrong" not in err(ctx) and len(err(ctx).splitlines()) == 1


def test_get_run_table_when_asked_on_a_pipe(frozen_sim, env, clock, context):
    op = frozen_sim.add(done(name="users.identify"))
    ctx = context(env)
    assert get_cmd.run(get_cmd.Options([op], output="table"), ctx) == ExitCode.OK
    assert "users.identify" in out(ctx) and "\x1b" not in out(ctx)


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("scenario", "at", "line", "code"),
    [
        (Scenario(total_rows=1000, queued_seconds=60), 10, "queued (0/1,000)", ExitCode.NOT_FINISHED),
        (steady(), 42, "processing 42% (420/1,000)", ExitCode.NOT_FINISHED),
        (steady(), 150, "completed 1,000/1,000", ExitCode.OK),
    ],
    ids=["queued", "processing", "completed"],
)
def test_status_run_line_and_exit_code(frozen_sim, env, clock, scenario, at, line, code, context):
    op = frozen_sim.add(scenario)
    clock.t = at
    ctx = context(env)
    assert status_cmd.run(status_cmd.Options(op), ctx) == code
    assert out(ctx) == line + "\n"


def test_status_run_json_has_the_verdict(frozen_sim, env, clock, context):
    op = frozen_sim.add(steady(fail_at=0.5))
    clock.t = 100
    ctx = context(env)
    assert status_cmd.run(status_cmd.Options(op, output="json"), ctx) == ExitCode.FAILED
    data = json.loads(out(ctx))
    assert (data["id"], data["status"], data["finished"], data["exit_code"]) == (op, "failed", True, 1)


def test_status_run_saymon(frozen_sim, clock, context):
    op = frozen_sim.add(done(provider="saymon"))
    ctx = context(saymon_env_for(frozen_sim))
    assert status_cmd.run(status_cmd.Options(op), ctx) == ExitCode.OK
    assert out(ctx) == "finished\n"  # SAYMON's own word for it


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [({}, NotFoundError, ExitCode.NOT_FOUND), ({"KNOCK_API_KEY": "sk_test_wrong"}, AuthError, ExitCode.AUTH)],
    ids=["missing", "wrong-key"],
)
def test_status_run_raises_the_typed_error_with_its_code(frozen_sim, env, clock, change, error, code, context):
    """Below the CLI a failure is a typed exception carrying its exit code (the CLI prints it)."""
    op = MISSING_ID if not change else frozen_sim.add(done())
    ctx = context({**env, **change})
    with pytest.raises(error) as raised:
        status_cmd.run(status_cmd.Options(op), ctx)
    assert raised.value.exit_code == code
    assert out(ctx) == ""


# --------------------------------------------------------------------------- list


def test_list_run_shows_what_get_saw_newest_first(frozen_sim, env, clock, context):
    first, second = frozen_sim.add(done(name="first")), frozen_sim.add(steady(name="second"))
    assert get_cmd.run(get_cmd.Options([first], output="json"), context(env)) == 0
    clock.t = 5
    assert get_cmd.run(get_cmd.Options([second], output="json"), context(env)) == 0
    ctx = context(env)
    assert list_cmd.run(list_cmd.Options(output="json"), ctx) == ExitCode.OK
    entries = json.loads(out(ctx))
    assert [(e["id"], e["name"], e["status"]) for e in entries] == [
        (second, "second", "processing"),
        (first, "first", "completed"),
    ]
    finished = context(env)
    assert list_cmd.run(list_cmd.Options(statuses=["completed"], output="jsonl"), finished) == ExitCode.OK
    assert [json.loads(line)["id"] for line in out(finished).splitlines()] == [first]


def test_list_run_refresh_asks_the_server_about_the_unfinished(frozen_sim, env, clock, context):
    op = frozen_sim.add(steady())
    assert get_cmd.run(get_cmd.Options([op], output="json"), context(env)) == 0
    clock.t = 500  # long done by now; the journal still says processing
    frozen_sim.clear_requests()
    ctx = context(env)
    assert list_cmd.run(list_cmd.Options(output="json", refresh=True), ctx) == ExitCode.OK
    assert [e["status"] for e in json.loads(out(ctx))] == ["completed"]
    assert len(frozen_sim.requests_for(op)) == 1


def test_list_run_with_nothing_seen_says_so_on_stderr(clock, env, context):
    ctx = context(env)
    assert list_cmd.run(list_cmd.Options(output="text"), ctx) == ExitCode.OK
    assert out(ctx) == "" and err(ctx).startswith("bulkop: ")
    as_json = context(env)
    assert list_cmd.run(list_cmd.Options(output="json"), as_json) == ExitCode.OK
    assert json.loads(out(as_json)) == [] and err(as_json) == ""


# --------------------------------------------------------------------------- config and providers


def test_config_add_then_list_and_show(frozen_sim: Simulator, clock, context):
    env = {"KNOCK_API_KEY": "sk_test_from_env"}
    add = config_cmd.AddOptions("prod", "knock", base_url=frozen_sim.base_url, api_key_env="KNOCK_API_KEY")
    assert config_cmd.add(add, context(env)) == ExitCode.OK
    ctx = context(env)
    assert config_cmd.list_profiles(config_cmd.ListOptions(output="json"), ctx) == ExitCode.OK
    assert "prod" in out(ctx)
    shown = context(env)
    assert config_cmd.show(config_cmd.ShowOptions("prod", output="json"), shown) == ExitCode.OK
    assert frozen_sim.base_url in out(shown) and "sk_test_from_env" not in out(shown)
    where = context(env)
    assert config_cmd.path(config_cmd.PathOptions(), where) == ExitCode.OK
    assert out(where) == os.environ["BULKOP_CONFIG"] + "\n"


def test_providers_list_and_show_the_builtins(clock, context):
    ctx = context({})
    assert providers_cmd.list_providers(providers_cmd.ListOptions(output="json"), ctx) == ExitCode.OK
    names = {p["name"] for p in json.loads(out(ctx))}
    assert {"knock", "saymon"} <= names
    shown = context({})
    assert providers_cmd.show(providers_cmd.ShowOptions("knock"), shown) == ExitCode.OK
    assert "[providers.knock]" in out(shown)


# --------------------------------------------------------------------------- watch


def test_watch_run_lines_until_completed(frozen_sim, env, clock, context):
    op = frozen_sim.add(steady(name="users.identify"))
    ctx = context(env)
    assert watch_cmd.run(watch_cmd.Options([op], display="lines", flags={"interval": 5.0}), ctx) == ExitCode.OK
    assert out(ctx) == ""  # the lines view writes to stderr: stdout is data
    lines = err(ctx).splitlines()
    assert any("processing" in line for line in lines) and "completed" in lines[-1] and op in lines[-1]
    assert clock.t >= 100  # the watch slept on the fake clock until the operation was done


def test_watch_run_json_is_one_object_per_poll_on_stdout(frozen_sim, env, clock, context):
    op = frozen_sim.add(steady())
    ctx = context(env)
    opts = watch_cmd.Options([op], output="json", display="quiet", flags={"interval": 10.0})
    assert watch_cmd.run(opts, ctx) == ExitCode.OK
    objects = [json.loads(line) for line in out(ctx).splitlines()]
    assert len(objects) >= 2 and unsafe_chars(out(ctx)) == []
    assert json.dumps(objects[-1]).count(op) >= 1 and "completed" in json.dumps(objects[-1])


def test_watch_run_failed_operation_is_exit_1(frozen_sim, env, clock, context):
    op = frozen_sim.add(steady(fail_at=0.5))
    ctx = context(env)
    assert watch_cmd.run(watch_cmd.Options([op], display="lines"), ctx) == ExitCode.FAILED
    assert "failed" in err(ctx).splitlines()[-1]


def test_watch_run_several_ids_reports_the_most_severe(frozen_sim, env, clock, context):
    good, bad = frozen_sim.add(steady()), frozen_sim.add(steady(fail_at=0.2))
    ctx = context(env)
    assert watch_cmd.run(watch_cmd.Options([good, bad], display="quiet"), ctx) == ExitCode.FAILED
    assert out(ctx) == ""


def test_watch_run_ids_from_stdin(frozen_sim, env, clock, context):
    ops = [frozen_sim.add(done()) for _ in range(2)]
    ctx = context(env, stdin="\n".join(ops) + "\n")
    assert watch_cmd.run(watch_cmd.Options(["-"], display="lines"), ctx) == ExitCode.OK
    assert all(op in err(ctx) for op in ops)
