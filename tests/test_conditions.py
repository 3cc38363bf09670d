"""`--until` and `--fail-if`: JMESPath conditions over the raw body, end to end.

The real CLI (in-process, Typer parsing and all) against the project's simulator over real
HTTP, on one fake clock shared by both, so a watch of minutes runs in milliseconds. What the
server received (how many polls, whether any) is read from the simulator's own record.
"""

from __future__ import annotations

import json

import pytest

from bulkop.conditions import compile_condition, truthy
from bulkop.errors import UsageError
from bulkop.simulator import Scenario, Simulator
from conftest import Result, run_process, saymon_env_for
from helpers import FakeClock, cli

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

UNTIL_5000 = "processed_rows >= `5000`"


@pytest.fixture
def sim(frozen_sim: Simulator) -> Simulator:
    """Here the simulator is always the one on the shared fake clock."""
    return frozen_sim


def watch(clock: FakeClock, args: list[str], env: dict[str, str], stdin: str = "") -> Result:
    return cli(clock, ["watch", "--display", "lines", *args], env, stdin)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def finals(stdout: str) -> dict[str, dict]:
    return {r["id"]: r for r in records(stdout) if r.get("final")}


def slow(**more: object) -> Scenario:
    """10,000 rows at 100 rows/s: 5,000 are in after 50 s, the end comes after 100 s."""
    return Scenario(name="users.identify", total_rows=10_000, queued_seconds=0, duration=100, **more)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- --until


def test_until_true_at_the_first_poll_ends_the_watch_at_once(sim, env, clock):
    op = sim.add(slow())
    r = watch(clock, [op, "--until", "status == 'processing' || status == 'queued'"], env)
    assert r.code == 0, r.stderr
    assert len(sim.requests_for(op)) == 1
    assert f"users.identify {op}: until: status == 'processing' || status == 'queued'" in r.stderr
    assert "; next:" not in r.stderr  # nothing left to do: it is what the user waited for


@pytest.mark.parametrize(
    "expr",
    [UNTIL_5000, "processed_rows > `4999`", "to_number(to_string(processed_rows)) >= `5000`"],
    ids=["ge", "gt", "functions"],
)
def test_until_becomes_true_mid_watch_while_still_processing(sim, env, clock, expr):
    """exit 0 once 5,000 of 10,000 rows are in, with the provider still saying processing:
    fewer polls than the watch to the end takes, and every view says which condition ended it."""
    op = sim.add(slow())
    r = watch(clock, [op, "--until", expr, "-o", "json"], env)
    assert r.code == 0, r.stderr
    polls_to_condition = len(sim.requests_for(op))
    assert 50 <= clock.t < 100
    final = finals(r.stdout)[op]
    assert final["status"] == "processing" and 5000 <= final["operation"]["processed_rows"] < 10_000
    assert final["verdict"] == "until_met"
    assert final["reason"] == f"until: {expr}"
    assert final["condition"] == {"option": "--until", "expression": expr}
    # Not final before it: earlier records carry no verdict and no condition.
    assert all("condition" not in x for x in records(r.stdout) if not x.get("final"))
    # The lines view: a final line (as for an operation that ended), then which condition.
    assert f"users.identify {op} processing" in r.stderr and "(took " in r.stderr
    assert f"users.identify {op}: until: {expr}" in r.stderr

    sim.reset()
    clock.t = 0.0
    op2 = sim.add(slow())
    r2 = watch(clock, [op2], env)
    assert r2.code == 0, r2.stderr
    assert len(sim.requests_for(op2)) > polls_to_condition
    assert "until" not in r2.stderr


def test_until_false_all_along_leaves_the_provider_status_to_decide(sim, env, clock):
    """A condition that never holds does not keep a finished operation watched forever: the
    provider's status decides (completed: 0; failed: 1), and no view names a condition."""
    done = sim.add(Scenario(name="a.done", total_rows=100, queued_seconds=0, duration=5))
    r = watch(clock, [done, "--until", "processed_rows > `1000000`", "-o", "json"], env)
    assert r.code == 0, r.stderr
    final = finals(r.stdout)[done]
    assert final["verdict"] == "completed" and "condition" not in final

    failing = sim.add(Scenario(name="a.fails", total_rows=1000, queued_seconds=0, duration=10, fail_at=0.3))
    r = watch(clock, [failing, "--until", UNTIL_5000, "-o", "json"], env)
    assert r.code == 1, r.stderr
    assert finals(r.stdout)[failing]["verdict"] == "failed"


def test_until_is_checked_before_the_providers_failed_status(sim, env, clock):
    """The order is --until, --fail-if, then the status: an operation that has failed by its
    status but whose --until is true passes (the user said what done means)."""
    op = sim.add(Scenario(name="a.fails", total_rows=1000, queued_seconds=0, duration=10, fail_at=0.5))
    clock.t = 20  # it has failed at 500 rows
    r = watch(clock, [op, "--until", "processed_rows >= `500`", "-o", "json"], env)
    assert r.code == 0, r.stderr
    final = finals(r.stdout)[op]
    assert final["status"] == "failed" and final["verdict"] == "until_met"


def test_until_first_then_fail_if_when_both_hold(sim, env, clock):
    op = sim.add(slow())
    r = watch(clock, [op, "--until", "processed_rows >= `0`", "--fail-if", "processed_rows >= `0`", "-o", "json"], env)
    assert r.code == 0, r.stderr
    assert finals(r.stdout)[op]["condition"]["option"] == "--until"


@pytest.mark.parametrize(
    ("expr", "ends"),
    [
        ("extra.empty_list", False),
        ("extra.empty_string", False),
        ("extra.empty_object", False),
        ("extra.null", False),
        ("extra.missing", False),
        ("extra.no", False),
        ("extra.zero", True),  # 0 is true in JMESPath: compare explicitly
        ("extra.yes", True),
        ("extra.list", True),
        ("extra.text", True),
        ("`true`", True),
    ],
)
def test_until_uses_jmespath_truthiness(sim, env, clock, expr, ends):
    extra = {
        "empty_list": [],
        "empty_string": "",
        "empty_object": {},
        "null": None,
        "no": False,
        "zero": 0,
        "yes": True,
        "list": [0],
        "text": "x",
    }
    op = sim.add(slow(extra_fields={"extra": extra}))
    r = watch(clock, [op, "--until", expr, "--timeout", "5s"], env)
    assert r.code == (0 if ends else 124), r.stderr
    assert (len(sim.requests_for(op)) == 1) is ends


def test_truthy_is_jmespaths():
    assert [truthy(v) for v in (None, False, "", [], {})] == [False] * 5
    assert [truthy(v) for v in (0, 0.0, True, "0", [None], {"a": None})] == [True] * 6


# --------------------------------------------------------------------------- --fail-if


@pytest.mark.parametrize(
    ("expr", "extra"),
    [
        ("error_count > `0`", {}),
        ("length(error_items) > `0`", {}),
        ("contains(tags, 'abort')", {"tags": ["abort"]}),
    ],
    ids=["count", "items", "contains"],
)
def test_fail_if_true_fails_the_watch_with_exit_1(sim, env, clock, expr, extra):
    op = sim.add(slow(error_rate=0.5, extra_fields=extra))
    r = watch(clock, [op, "--fail-if", expr, "-o", "json"], env)
    assert r.code == 1, r.stderr
    assert clock.t < 100  # before the operation's end
    final = finals(r.stdout)[op]
    assert final["verdict"] == "fail_if_met" and final["reason"] == f"fail-if: {expr}"
    assert final["condition"] == {"option": "--fail-if", "expression": expr}
    (line,) = [x for x in r.stderr.splitlines() if ": fail-if: " in x]
    # The errors when there are some (a condition true at the first poll may come before any).
    assert f"users.identify {op}: fail-if: {expr}; next: bulkop get {op}" in line


def test_fail_if_false_lets_the_operation_complete(sim, env, clock):
    op = sim.add(Scenario(name="clean", total_rows=1000, queued_seconds=0, duration=10))
    r = watch(clock, [op, "--fail-if", "error_count > `0`"], env)
    assert r.code == 0, r.stderr
    assert "fail-if" not in r.stderr


def test_fail_if_under_github_actions_is_an_error_annotation_and_a_summary_row(sim, env, clock, tmp_path):
    summary = tmp_path / "summary.md"
    op = sim.add(slow(error_rate=0.5))
    gh = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = watch(clock, [op, "--fail-if", "error_count > `10`"], gh)
    assert r.code == 1, r.stderr
    assert "::error title=bulkop%3A --fail-if was true::" in r.stderr
    assert "fail-if: error_count > `10`" in r.stderr
    table = summary.read_text()
    assert "fail-if met" in table and "**not ok**: fail-if: error\\_count &gt; \\`10\\`" in table

    ok = sim.add(slow())
    r = watch(clock, [ok, "--until", UNTIL_5000], {**gh, "GITHUB_STEP_SUMMARY": str(tmp_path / "ok.md")})
    assert r.code == 0, r.stderr
    assert "::notice title=bulkop%3A --until was true::" in r.stderr
    assert "::error" not in r.stderr
    assert "until met" in (tmp_path / "ok.md").read_text()


# --------------------------------------------------------------------------- gates together


def test_max_errors_still_gates_a_success_by_until(sim, env, clock):
    """--until ends the watch, but a --max-errors gate given with it still applies: the user
    asked for both."""
    op = sim.add(slow(error_rate=0.1))
    r = watch(clock, [op, "--until", UNTIL_5000, "--max-errors", "0", "-o", "json"], env)
    assert r.code == 1, r.stderr
    final = finals(r.stdout)[op]
    assert final["verdict"] == "too_many_errors"
    assert final["reason"].startswith(f"until: {UNTIL_5000}, with ") and final["reason"].endswith("over --max-errors 0")
    assert final["condition"]["option"] == "--until"

    fine = sim.add(slow())
    r = watch(clock, [fine, "--until", UNTIL_5000, "--max-errors", "0", "-o", "json"], env)
    assert r.code == 0, r.stderr
    assert finals(r.stdout)[fine]["verdict"] == "until_met"


def test_timeout_before_until_is_124_and_until_before_timeout_is_0(sim, env, clock):
    op = sim.add(slow())
    r = watch(clock, [op, "--until", UNTIL_5000, "--timeout", "20s"], env)
    assert r.code == 124, r.stderr
    assert "timed out after 20s" in r.stderr

    clock.t = 0.0
    sim.reset()
    op = sim.add(slow())
    r = watch(clock, [op, "--until", UNTIL_5000, "--timeout", "80s"], env)
    assert r.code == 0, r.stderr


def test_several_ids_each_ends_by_its_own_condition_and_fail_fast_stops_the_rest(sim, env, clock):
    fast = sim.add(Scenario(name="fast", total_rows=10_000, queued_seconds=0, duration=20))
    slow_op = sim.add(slow())
    erring = sim.add(Scenario(name="erring", total_rows=10_000, queued_seconds=0, duration=200, error_rate=1.0))
    args = [fast, slow_op, erring, "--until", UNTIL_5000, "--fail-if", "error_count > `1000`", "-o", "json"]
    r = watch(clock, args, env)
    assert r.code == 1, r.stderr
    got = finals(r.stdout)
    assert got[fast]["verdict"] == "until_met" and got[slow_op]["verdict"] == "until_met"
    assert got[erring]["verdict"] == "fail_if_met"
    assert "summary: 2 until met · 1 fail-if met" in r.stderr

    clock.t = 0.0
    sim.reset()
    erring = sim.add(Scenario(name="erring", total_rows=10_000, queued_seconds=0, duration=200, error_rate=1.0))
    slow_op = sim.add(slow())
    r = watch(clock, [erring, slow_op, "--fail-if", "error_count > `100`", "--fail-fast", "-o", "json"], env)
    assert r.code == 1, r.stderr
    got = finals(r.stdout)
    assert got[erring]["verdict"] == "fail_if_met" and got[slow_op]["verdict"] == "stopped"


def test_ids_from_stdin_take_the_conditions_too(sim, env, clock):
    a, b = sim.add(slow()), sim.add(slow())
    r = watch(clock, ["-", "--until", UNTIL_5000, "-o", "json"], env, stdin=f"{a}\n{b}\n")
    assert r.code == 0, r.stderr
    assert {k: v["verdict"] for k, v in finals(r.stdout).items()} == {a: "until_met", b: "until_met"}


def test_quiet_display_says_nothing_of_a_success_by_until(sim, env, clock):
    op = sim.add(slow())
    r = cli(clock, ["watch", op, "--display", "quiet", "--until", UNTIL_5000], env)
    assert r.code == 0 and r.stderr == "", r.stderr
    bad = sim.add(slow(error_rate=0.5))
    r = cli(clock, ["watch", bad, "--display", "quiet", "--fail-if", "error_count > `0`"], env)
    assert r.code == 1
    assert r.stderr.startswith(f"bulkop: users.identify {bad}: fail-if: error_count > `0`; next:"), r.stderr


# --------------------------------------------------------------------------- bad expressions


@pytest.mark.parametrize(
    ("option", "expr", "says"),
    [
        ("--until", "processed_rows >= 5000", "unexpected 5000 at column 19"),
        ("--until", "processed_rows >=", "ends too early"),
        ("--fail-if", "error_count > `1", "Unclosed ` delimiter"),
        ("--until", "", "the expression is empty"),
        ("--fail-if", "nosuch(error_count)", "unknown function nosuch()"),
        ("--until", "length(a, b)", "length() takes 1 argument, not 2"),
        ("--fail-if", "sort_by(error_items, id)", "must be an expression reference"),
    ],
    ids=["bare-number", "incomplete", "unclosed", "empty", "unknown-function", "arity", "expref"],
)
@pytest.mark.parametrize("verb", ["watch", "status"])
def test_a_bad_expression_is_exit_2_before_any_request(sim, env, clock, verb, option, expr, says):
    op = sim.add(slow())
    r = cli(clock, [verb, op, option, expr], env)
    assert r.code == 2, r.stderr
    assert sim.requests == []
    (line,) = r.stderr.splitlines()  # one line, no traceback
    assert line.startswith(f"bulkop: error: {option}") and says in line, line
    assert r.stdout == ""


def test_a_bad_expression_under_json_output_is_a_json_error(sim, env, clock):
    op = sim.add(slow())
    r = cli(clock, ["watch", op, "-o", "json", "--until", "a >= 1"], env)
    assert r.code == 2 and sim.requests == []
    error = json.loads(r.stderr)["error"]
    assert error["type"] == "usage" and error["message"].startswith("--until 'a >= 1'")
    assert "backticks" in error["hint"]


def test_a_bad_expression_with_ids_from_stdin_reads_nothing_and_asks_nothing(sim, env, clock):
    r = cli(clock, ["watch", "-", "--fail-if", "nosuch()"], env, stdin="not-read\n")
    assert r.code == 2 and sim.requests == []
    assert "unknown function nosuch()" in r.stderr


def test_compile_condition_names_the_option():
    with pytest.raises(UsageError, match=r"^--fail-if 'a ==' is not a valid JMESPath expression"):
        compile_condition("fail-if", "a ==")
    assert compile_condition("until", "max_by(items, &n).n > `1`").source == "max_by(items, &n).n > `1`"


# --------------------------------------------------------------------------- evaluation errors


@pytest.mark.parametrize(
    "expr",
    ["abs(name) > `1`", "name >= `5`", "length(processed_rows) > `0`"],
    ids=["function-type", "string-vs-number", "length-of-number"],
)
def test_an_expression_that_fails_on_a_body_is_false_and_said_once(sim, env, clock, expr):
    """The expression meets a body it cannot be evaluated on: not true, no crash, the watch
    goes on to the provider's end, and one warning says so (not one per poll)."""
    op = sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=0, duration=20))
    r = watch(clock, [op, "--until", expr, "-o", "json"], env)
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert len(sim.requests_for(op)) > 2
    warnings = [x for x in r.stderr.splitlines() if x.startswith("bulkop: warning:")]
    assert len(warnings) == 1, r.stderr
    assert f"--until {expr!r} could not be evaluated on operation {op}" in warnings[0]
    assert warnings[0].endswith("taken as false (said once)")
    assert finals(r.stdout)[op]["verdict"] == "completed"


def test_a_fail_if_that_fails_on_a_body_never_fails_the_operation(sim, env, clock):
    op = sim.add(Scenario(name="n", total_rows=100, queued_seconds=0, duration=5))
    r = watch(clock, [op, "--fail-if", "abs(name) > `0`", "--until", "ceil(name)"], env)
    assert r.code == 0, r.stderr
    assert len([x for x in r.stderr.splitlines() if x.startswith("bulkop: warning:")]) == 2  # once per option


def test_status_warns_once_on_an_evaluation_error(sim, env, clock):
    op = sim.add(slow())
    clock.t = 10
    r = cli(clock, ["status", op, "--until", "abs(name) > `1`"], env)
    assert r.code == 3
    assert r.stdout == "processing 10% (1,000/10,000)\n"
    assert r.stderr.startswith("bulkop: warning: --until 'abs(name) > `1`' could not be evaluated")


# --------------------------------------------------------------------------- status


def test_status_with_until_and_fail_if(sim, env, clock):
    op = sim.add(slow(error_rate=0.01))
    clock.t = 60
    r = cli(clock, ["status", op, "--until", UNTIL_5000], env)
    assert r.code == 0, r.stderr
    assert r.stdout == f"processing 60% (6,000/10,000); until: {UNTIL_5000}\n"
    assert r.stderr == ""

    r = cli(clock, ["status", op, "--until", "processed_rows >= `9000`"], env)
    assert r.code == 3 and "until" not in r.stdout

    r = cli(clock, ["status", op, "--fail-if", "error_count > `10`"], env)
    assert r.code == 1
    assert r.stdout == "processing 60% (6,000/10,000); fail-if: error_count > `10`\n"
    assert r.stderr == f"bulkop: users.identify {op}: fail-if: error_count > `10`; next: bulkop get {op} --errors\n"

    r = cli(clock, ["status", op, "--fail-if", "error_count > `10`", "-o", "json"], env)
    assert r.code == 1 and r.stderr == ""
    data = json.loads(r.stdout)
    assert data["exit_code"] == 1 and data["verdict"] == "fail_if_met"
    assert data["reason"] == "fail-if: error_count > `10`"
    assert data["condition"] == {"option": "--fail-if", "expression": "error_count > `10`"}

    r = cli(clock, ["status", op, "-o", "json"], env)
    assert "condition" not in json.loads(r.stdout)


def test_status_in_a_real_process(sim, env, clock):
    op = sim.add(slow())
    clock.t = 70
    p = run_process(["status", op, "--until", UNTIL_5000], env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"processing 70% (7,000/10,000); until: {UNTIL_5000}\n"
    p = run_process(["status", op, "--until", "processed_rows >= 5000"], env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- SAYMON


def test_saymon_until_finished_and_not(sim, clock):
    env = saymon_env_for(sim)
    op = sim.add(Scenario(provider="saymon", queued_seconds=1, duration=20))
    r = watch(clock, [op, "--until", "finished", "-o", "json"], env)
    assert r.code == 0, r.stderr
    final = finals(r.stdout)[op]
    assert final["operation"] == {"id": op, "finished": True}
    assert final["verdict"] == "until_met" and final["reason"] == "until: finished"
    assert clock.t >= 21

    clock.t = 0.0
    sim.reset()
    op = sim.add(Scenario(provider="saymon", queued_seconds=1, duration=20))
    r = watch(clock, [op, "--until", "!finished", "-o", "json"], env)
    assert r.code == 0 and len(sim.requests_for(op)) == 1
    assert finals(r.stdout)[op]["status"] == "not finished"

    r = watch(clock, [op, "--fail-if", "finished == `false`"], env)
    assert r.code == 1
    assert f"{op}: fail-if: finished == `false`; next: bulkop get {op}" in r.stderr

    r = cli(clock, ["status", op, "--until", "!finished"], env)
    assert r.code == 0 and r.stdout == "not finished; until: !finished\n"


def test_saymon_until_with_max_errors_cannot_check_the_gate(sim, clock):
    env = saymon_env_for(sim)
    op = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=5))
    r = watch(clock, [op, "--until", "!finished", "--max-errors", "0", "-o", "json"], env)
    assert r.code == 1, r.stderr
    final = finals(r.stdout)[op]
    assert final["verdict"] == "errors_unknown" and final["condition"]["option"] == "--until"
    assert "drop --max-errors for SAYMON operations" in r.stderr


# --------------------------------------------------------------------------- start-up


def test_no_condition_no_jmespath_import(sim, env):
    """jmespath is loaded only when an expression is given: `status` without one never imports it."""
    import subprocess
    import sys

    from conftest import minimal_env

    op = sim.add(Scenario(total_rows=10, queued_seconds=0, duration=0))
    code = (
        "import sys\n"
        "from bulkop.cli import main\n"
        "try:\n"
        f"    main(['status', {op!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('JMESPATH=' + str('jmespath' in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], env=minimal_env(env), capture_output=True, text=True, timeout=30)
    assert "JMESPATH=False" in p.stderr, p.stderr


def test_live_view_says_which_condition_below_its_frame_and_warns_above_it(sim, env, clock):
    """The live view: the verdict lines below the last frame name the condition (a success by
    --until too), and an evaluation warning is printed through the view, not torn into it."""
    a = sim.add(slow())
    b = sim.add(Scenario(name="x.erring", total_rows=10_000, queued_seconds=0, duration=200, error_rate=1.0))
    args = ["watch", a, b, "--display", "live", "--until", UNTIL_5000, "--fail-if", "error_count > `1000`"]
    r = cli(clock, args, env)
    assert r.code == 1, r.stderr
    flat = " ".join(r.stderr.split())
    assert f"users.identify {a}: until: {UNTIL_5000}" in flat
    assert f"x.erring {b}: fail-if: error_count > `1000`; next: bulkop get {b} --errors" in flat
    assert flat.index("1 until met") < flat.index(f"users.identify {a}: until:")  # below the frame

    c = sim.add(slow())
    r = cli(clock, ["watch", c, "--display", "live", "--until", "abs(name) > `1`", "--timeout", "3s"], env)
    assert r.code == 124
    flat = " ".join(r.stderr.split())
    assert flat.count("could not be evaluated") == 1
    assert flat.startswith("bulkop: warning: --until 'abs(name) > `1`' could not be evaluated"), flat


# --------------------------------------------------------------------------- expression references


EXPREF_AS_VALUE = [
    "&(processed_rows > `5`)",
    "&name",
    "[&name]",
    "{a: &name}",
    "not_null(&name)",
    "to_string(&name)",
    "&name && `true`",
    "name || &name",
    "status | &name",
    "error_items[?&id]",
    "sort_by(error_items, &[&id])",
    "merge(@, &name)",
    "not_null(name, &name)",
    "length(&name) > `0`",
]


@pytest.mark.parametrize("expr", EXPREF_AS_VALUE)
@pytest.mark.parametrize("option", ["--until", "--fail-if"])
@pytest.mark.parametrize("verb", ["watch", "status"])
def test_an_expression_reference_where_a_value_belongs_is_exit_2_before_any_request(
    sim, env, clock, verb, option, expr
):
    """`&field` evaluates to a reference object, which JMESPath's truth takes as true: the
    watch would "end" at once (or --fail-if fail everything). Refused wherever it stands,
    except as the argument a function declares as an expression reference."""
    op = sim.add(Scenario(name="a.fails", total_rows=1000, queued_seconds=0, duration=10, fail_at=0.3))
    clock.t = 20
    r = cli(clock, [verb, op, option, expr], env)
    assert r.code == 2, (r.code, r.stdout, r.stderr)
    assert sim.requests == []
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"bulkop: error: {option} {expr!r}: ") and "expression reference" in line, line


@pytest.mark.parametrize(
    "expr",
    [
        "sort_by(error_items, &id)[0].id != ''",
        "max_by(error_items, &id) != null",
        "map(&id, error_items) != `[]`",
        "min_by(error_items, &id) != null",
        "sort_by(error_items, &to_string(id)) != `[]`",
    ],
)
def test_an_expression_reference_where_a_function_takes_one_is_accepted(sim, env, clock, expr):
    op = sim.add(Scenario(name="a.fails", total_rows=1000, queued_seconds=0, duration=10, fail_at=0.3, error_rate=0.05))
    clock.t = 20
    r = cli(clock, ["status", op, "--fail-if", expr], env)
    assert r.code == 1, r.stderr
    assert "fail-if:" in r.stdout


def test_check_expression_is_reusable_and_names_where():
    import jmespath

    from bulkop.conditions import check_expression

    assert check_expression(jmespath.compile("sort_by(a, &b)"), "x") is None
    assert check_expression(jmespath.compile("a.b"), "x") is None
    said = check_expression(jmespath.compile("{k: &b}"), "[providers.acme.fields] status")
    assert said is not None and said.startswith("[providers.acme.fields] status: an expression reference")
    said = check_expression(jmespath.compile("nosuch(a)").parsed, "f")  # the tree works too
    assert said is not None and said.startswith("f: unknown function nosuch()")


def test_a_result_that_is_not_json_data_is_an_evaluation_error_never_true():
    """Behind the static check: whatever gets a reference object (or any non-JSON value) out
    of an evaluation is warned once and false, never truthy."""
    import jmespath

    from bulkop.conditions import Condition, Conditions
    from bulkop.models import BulkOperation, Status

    op = BulkOperation(id="op-1", status=Status.FAILED, raw={"name": "n", "rows": [1, 2]})
    warnings: list[str] = []
    for source in ("&name", "[rows, [&name]]", "{a: {b: &name}}"):
        warnings.clear()
        sneaked = Condition("until", source, jmespath.compile(source))  # compile_condition refuses it
        checks = Conditions(
            until=sneaked, fail_if=Condition("fail-if", source, jmespath.compile(source)), warn=warnings.append
        )
        assert checks.first_true(op) is None
        assert checks.first_true(op) is None
        assert len(warnings) == 2, warnings  # once per option, not per poll
        assert all("not a value" in w and "expression reference" in w for w in warnings), warnings
    plain = Condition("until", "rows", jmespath.compile("rows"))
    assert Conditions(until=plain).first_true(op) is plain


# --------------------------------------------------------------------------- condition vs status


def failed_op(sim) -> str:
    """Failed at 300 of 1,000 rows with some errors, before the first poll (clock at 20 s)."""
    return sim.add(
        Scenario(name="a.fails", total_rows=1000, queued_seconds=0, duration=10, fail_at=0.3, error_rate=0.05)
    )


@pytest.mark.parametrize("expr", ["processed_rows > `5`", "status == 'failed'", "`true`"])
def test_until_true_on_an_already_failed_operation_says_both_in_every_view(sim, env, clock, expr):
    """The order is the spec (--until before the provider's status, the first poll too), so
    this exits 0: but no view may show "failed" next to exit 0 without saying why."""
    op = failed_op(sim)
    clock.t = 20
    r = cli(clock, ["status", op, "--until", expr], env)
    assert r.code == 0, r.stderr
    (line,) = r.stdout.splitlines()
    assert line.startswith("failed: ") and line.endswith(
        f"; until: {expr} is true (the operation itself reports failed: 14 errors)"
    ), line

    r = cli(clock, ["status", op, "--until", expr, "-o", "json"], env)
    data = json.loads(r.stdout)
    assert (data["status"], data["verdict"], data["exit_code"]) == ("failed", "until_met", 0)
    assert "the operation itself reports failed" in data["reason"]

    r = watch(clock, [op, "--until", expr, "-o", "json"], env)
    assert r.code == 0, r.stderr
    final = finals(r.stdout)[op]
    assert (final["status"], final["verdict"]) == ("failed", "until_met")
    assert final["reason"] == f"until: {expr} is true (the operation itself reports failed: 14 errors)"
    assert f"a.fails {op}: until: {expr} is true (the operation itself reports failed: 14 errors)" in r.stderr


def test_fail_if_true_on_a_completed_operation_says_both(sim, env, clock):
    op = sim.add(Scenario(name="a.done", total_rows=100, queued_seconds=0, duration=5, error_rate=0.05))
    clock.t = 20
    r = cli(clock, ["status", op, "--fail-if", "error_count > `0`"], env)
    assert r.code == 1
    assert (
        r.stdout.startswith("completed ")
        and "fail-if: error_count > `0` is true (the operation itself reports completed: 5 errors)" in r.stdout
    )
    r = watch(clock, [op, "--fail-if", "error_count > `0`", "-o", "json"], env)
    assert r.code == 1
    final = finals(r.stdout)[op]
    assert (final["status"], final["verdict"]) == ("completed", "fail_if_met")
    assert "(the operation itself reports completed: 5 errors)" in final["reason"]


def test_until_on_a_processing_operation_keeps_the_short_reason(sim, env, clock):
    op = sim.add(slow())
    clock.t = 60
    r = cli(clock, ["status", op, "--until", UNTIL_5000, "-o", "json"], env)
    assert json.loads(r.stdout)["reason"] == f"until: {UNTIL_5000}"
