"""Trust the data (issue 12 items 5, 6, 8, 11; issue 13 items 6, 7, 8, 10).

No value a server can send reaches exit 70: it is shown (escaped, clamped, "out of range") or it
is an invalid answer (exit 6). A missing or impossible error count never passes a gate. Piped
text is for machines; tables for people never cut a number, a percentage, a status or an id.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bulkop.context import Context, drop_insane_sizes, size_from_env
from bulkop.errors import InvalidResponse
from bulkop.models import MAX_COUNT, BulkOperation
from bulkop.sanitize import MESSAGE_MAX, markdown_cell
from bulkop.settings import mask
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, Result, Scenario, minimal_env, run_cli
from helpers import CannedServer, FakeClock, env_for, screen_completed, screen_failed, screen_processing
from provider_parsers import parse_knock, parse_saymon

ID_A = "e3e70682-c209-4cac-a29f-6fbed82c07cd"
ID_B = "f728b4fa-4248-4e3a-8a5d-2f346baa9455"
ID_C = "eb1167b3-67a9-4378-bc65-c1e582e2e662"
SAYMON_ID = "4da5e709d4713d60c8a70639"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

VALID = {
    "__typename": "BulkOperation",
    "id": ID_A,
    "name": "users.identify",
    "status": "completed",
    "estimated_total_rows": 1000,
    "processed_rows": 1000,
    "success_count": 955,
    "error_count": 45,
    "error_items": [{"id": f"user_{i:05d}", "collection": "users"} for i in range(45)],
    "inserted_at": "2026-11-22T11:59:00Z",
    "updated_at": "2026-11-22T11:59:59Z",
    "started_at": "2026-11-22T11:59:01Z",
    "completed_at": "2026-11-22T11:59:59Z",
    "failed_at": None,
    "progress_path": "https://api.knock.app/v1/bulk_operations/" + ID_A,
}


# --------------------------------------------------------------------------- a tiny server


def body_server(body: Callable[[str], bytes]) -> CannedServer:
    """A real HTTP server on 127.0.0.1 answering every Knock or SAYMON route with `body(id)`:
    bytes for any shape the simulator would never send (a field left out, a lone surrogate)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        op_id = handler.path.rstrip("/").split("/")[-1]
        if op_id == "status":  # SAYMON: /node/api/bulk/{id}/status
            op_id = handler.path.split("/")[-2]
        CannedServer.reply(handler, 200, body(op_id))

    return CannedServer(answer)


def knock_body(**changes: Any) -> Callable[[str], bytes]:
    """The VALID object for the id asked, with fields changed (a value of ... removes it)."""

    def body(op_id: str) -> bytes:
        data = {**VALID, "id": op_id, **changes}
        return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()

    return body


def knock_env(url: str) -> dict[str, str]:
    return env_for("knock", url, BULKOP_RETRIES="0")


def saymon_env(url: str) -> dict[str, str]:
    return env_for("saymon", url, BULKOP_RETRIES="0")


def assert_invalid_answer(r: Any, *words: str, lines: int = 1) -> None:
    """Exit 6, one line `bulkop: error: …` per id asked, no traceback."""
    assert r.code == 6, (r.code, r.stderr)
    shown = r.stderr.splitlines()
    assert len(shown) == lines and all(x.startswith("bulkop: error: ") for x in shown), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


# --------------------------------------------------------------------------- issue 12 item 5: the error count


def parsed(**changes: Any) -> BulkOperation:
    return parse_knock({k: v for k, v in {**VALID, **changes}.items() if v is not ...})


def test_the_error_count_falls_back_to_the_error_items_when_it_is_missing():
    assert parsed(error_count=...).known_error_count == 45
    assert parsed(error_count=None).known_error_count == 45  # null: as absent
    assert parsed(error_count=..., error_items=[]).known_error_count == 0  # an empty list says 0
    assert parsed(error_count=..., error_items=...).known_error_count is None  # nothing said: unknown
    assert parsed(error_count=0).known_error_count == 45  # 45 items are 45 errors, whatever the count
    assert parsed(error_count=100).known_error_count == 100  # the items may be a preview of the count
    assert parse_saymon(SAYMON_ID, {"finished": True}).known_error_count is None  # SAYMON never says


@pytest.mark.parametrize("field", ["error_count", "processed_rows", "estimated_total_rows", "success_count"])
@pytest.mark.parametrize("value", [-5, -1, -(10**30), -1.0, MAX_COUNT + 1, 10**1000])
def test_impossible_counts_are_an_invalid_answer(field, value):
    with pytest.raises(InvalidResponse) as e:
        parsed(**{field: value})
    assert field in e.value.message and len(e.value.message) < 200


def test_processed_beyond_the_estimate_is_allowed_as_the_contract_says():
    """`estimated_total_rows` is an estimate: more processed rows is an overrun, not an error."""
    op = parsed(processed_rows=1200, estimated_total_rows=1000)
    assert op.processed_rows == 1200 and op.known_error_count == 45


@pytest.mark.parametrize("changes", [{"error_count": ...}, {"error_count": None}, {"error_count": 0}])
def test_get_and_status_show_the_errors_the_items_prove(changes):
    with body_server(knock_body(**changes)) as server:
        env = knock_env(server.url)
        r = run_cli(["get", ID_A, "-o", "text"], env)
        assert r.code == 0 and "errors:\t45" in r.stdout.splitlines(), r.stdout
        r = run_cli(["status", ID_A], env)
        assert (r.code, r.stdout) == (0, "completed 1,000/1,000, 45 errors\n")
        r = run_cli(["status", ID_A, "-o", "json"], env)
        assert json.loads(r.stdout)["error_count"] == 45
        r = run_cli(["get", ID_A, ID_B, "-o", "table"], env)
        assert r.code == 0 and re.search(r"\b45\b", r.stdout), r.stdout


def test_an_unknown_error_count_is_shown_as_unknown_never_as_zero():
    with body_server(knock_body(error_count=..., error_items=...)) as server:
        env = knock_env(server.url)
        r = run_cli(["get", ID_A, "-o", "text"], env)
        assert "errors:\tunknown" in r.stdout.splitlines()
        r = run_cli(["status", ID_A], env)
        assert r.stdout == "completed 1,000/1,000, errors unknown\n"
        r = run_cli(["status", ID_A, "-o", "json"], env)
        assert json.loads(r.stdout)["error_count"] is None


@pytest.mark.parametrize("command", [["get"], ["get", "-o", "json"], ["status"], ["status", "-o", "json"]])
@pytest.mark.parametrize(
    "changes",
    [{"error_count": -5}, {"processed_rows": -1}, {"success_count": 10**40}, {"estimated_total_rows": -(10**1000)}],
)
def test_an_impossible_count_is_exit_6_in_every_command(command, changes):
    with body_server(knock_body(**changes)) as server:
        r = run_cli([command[0], ID_A, *command[1:]], knock_env(server.url))
    assert r.code == 6 and r.stdout == "", (r.code, r.stdout, r.stderr)
    if "json" not in command:
        assert_invalid_answer(r, next(iter(changes)))


def test_watch_with_max_errors_never_passes_a_negative_error_count():
    """-5 errors is not fewer than 0 errors: the answer is invalid, the watch does not pass."""

    clock = FakeClock()
    with body_server(knock_body(error_count=-5, error_items=[])) as server:
        r = run_cli(
            ["watch", ID_A, "--max-errors", "0", "--max-consecutive-failures", "1", "--interval", "1"],
            knock_env(server.url),
            now=clock,
            sleep=clock.sleep,
        )
    assert r.code == 6, (r.code, r.stderr)
    assert "error_count" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- issue 12 item 6: no value reaches exit 70


@contextmanager
def local_timezone(name: str) -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        os.environ["TZ"] = old or "UTC"
        time.tzset()


def strict_stream() -> io.TextIOWrapper:
    """A stdout that encodes as a real one does: UTF-8, strict (a lone surrogate cannot pass)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n")


def written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def render_get(ops: list[BulkOperation], output: str, all_errors: bool, width: int) -> str:
    from bulkop.commands import get

    out = strict_stream()
    ctx = Context(stdout=out, stderr=strict_stream(), env={"COLUMNS": str(width), "NO_COLOR": "1"}, wall=lambda: NOW)
    opts = get.Options(ids=[str(op.id) for op in ops], output=output, all_errors=all_errors)
    get.write(ops, output, opts, ctx)
    text = written(out)
    if output == "json":
        strict_json(text)
    elif output == "jsonl":
        for line in text.splitlines():
            strict_json(line)
    return text


def strict_json(text: str) -> Any:
    """Parse as any JSON reader would: `NaN` and `Infinity` are not JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def render_status(op: BulkOperation) -> str:
    from bulkop.progress import fraction
    from bulkop.render.jsonout import dumps
    from bulkop.render.text import status_line
    from bulkop.verdict import of_operation

    out = strict_stream()
    out.write(status_line(op) + "\n")
    f = fraction(op)
    out.write(
        dumps(
            {
                "status": op.status_word,
                "percent": None if f.value is None else round(f.value * 100, 1),
                "error_count": op.known_error_count,
                "exit_code": of_operation(op).code,
            }
        )
        + "\n"
    )
    return written(out)


def render_watch(ops: list[BulkOperation], width: int, tmp: Path) -> str:
    """The watch views' pure functions, fed Tracked operations as the watcher would."""
    from rich.console import Console

    from bulkop.render import watch_common, watch_table
    from bulkop.watch import lines
    from bulkop.watch.engine import RateLimiter, Tracked

    tracked = []
    for i, op in enumerate(ops):
        t = Tracked(
            key=f"k{i}",
            label=str(op.id),
            profile=None,
            fetch=lambda op=op: op,
            bucket=RateLimiter(10.0),
            op=op,
            first_seen=0.0,
            changed_at=1.0,
        )
        t.rate.observe(0.0, 0)
        t.rate.observe(5.0, op.processed_rows or 0)
        tracked.append(t)
    out = strict_stream()
    for t in tracked:
        out.write(watch_common.operation_line(t, 10.0) + "\n")
        watch_common.eta_text(t, 10.0)
    watch_common.totals(tracked)
    out.write(watch_common.status_counts(tracked) + "\n")
    display = lines.LinesDisplay(out, lambda: NOW, github=True, step_summary=str(tmp / "summary.md"))
    display.started(tracked, 0.0)
    for t in tracked:
        display.observed(t, True, 10.0)
    display.tick(tracked, 100.0)
    display.finished(tracked, 100.0, "done")
    console = Console(file=out, width=width, color_system=None, markup=False, emoji=False, highlight=False)
    console.print(watch_table.watch_table(tracked, 10.0, 20, "an event", width))
    (tmp / "summary.md").read_text(encoding="utf-8")
    return written(out)


# Anything JSON can hold, leaning on what broke views: lone surrogates, huge and negative
# integers, calendar edges, escape sequences, markup.
NASTY_TEXT = st.sampled_from(
    [
        "\ud800",
        "a\udfffb",
        "\x1b]0;x\x07",
        "[bold]x[/bold]",
        "| `x` <img src=x> [l](http://e)",
        "\u202e",
        "",
        "x" * 300,
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59+14:00",
        "0001-01-01T00:00:00-14:00",
        "2026-11-22T12:00:00Z",
    ]
)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**1000, -(10**1000), 2**63, 2**63 - 1, float("inf"), float("nan")])
    | st.floats()
    | st.text(max_size=20)
    | NASTY_TEXT
)
ANY_JSON = st.recursive(
    JSON_SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)
COUNT = st.integers(min_value=0, max_value=MAX_COUNT) | st.sampled_from([0, 1, MAX_COUNT, 10**1000, -5])
TIMESTAMP = NASTY_TEXT | st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(datetime.isoformat)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "__typename": NASTY_TEXT | ANY_JSON,
    "id": st.just(ID_A) | ANY_JSON,
    "name": NASTY_TEXT | st.text(),
    "status": st.sampled_from(["queued", "processing", "completed", "failed"]) | ANY_JSON,
    "estimated_total_rows": COUNT,
    "processed_rows": COUNT,
    "success_count": COUNT,
    "error_count": COUNT | st.none() | ANY_JSON,
    "error_items": st.lists(
        st.fixed_dictionaries(
            {"id": NASTY_TEXT | st.text(max_size=10)}, optional={"collection": st.none() | NASTY_TEXT | ANY_JSON}
        ),
        max_size=4,
    )
    | ANY_JSON,
    "inserted_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "started_at": TIMESTAMP | st.none(),
    "completed_at": TIMESTAMP | st.none(),
    "failed_at": TIMESTAMP | st.none(),
    "progress_path": NASTY_TEXT | ANY_JSON,
    "extra": ANY_JSON,
}
# A few fields changed at a time (or removed: ...), so that many objects still parse and reach
# the views; each field's strategy leans on values of its own type.
KNOCK_OBJECTS = st.lists(
    st.sampled_from(sorted(FIELDS)).flatmap(lambda k: st.tuples(st.just(k), FIELDS[k] | st.just(...))), max_size=4
).map(lambda changes: {k: v for k, v in {**VALID, **dict(changes)}.items() if v is not ...})
PARSED = {"ok": 0, "all": 0}
SAYMON_OBJECTS = st.fixed_dictionaries(
    {"finished": st.booleans() | ANY_JSON}, optional={"extra": ANY_JSON, "id": ANY_JSON}
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def render_everything(ops: list[BulkOperation], tmp: Path) -> None:
    for output in ("table", "text", "json", "jsonl"):
        for all_errors in (False, True):
            render_get(ops[:1], output, all_errors, 80)
            render_get(ops, output, all_errors, 80)
    for width in (40, 120):
        render_get(ops[:1], "table", False, width)
        render_get(ops, "table", True, width)
    for op in ops:
        render_status(op)
    render_watch(ops, 80, tmp)
    render_watch(ops, 40, tmp)


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
@PROPERTY
@given(data=KNOCK_OBJECTS, other=KNOCK_OBJECTS)
@example(data={**VALID, "name": "\ud800", "error_items": [{"id": "\udfff", "collection": "\ud800"}]}, other=VALID)
@example(data={**VALID, "completed_at": "9999-12-31T23:59:59Z", "started_at": "0001-01-01T00:00:00Z"}, other=VALID)
@example(data={**VALID, "status": "processing", "processed_rows": MAX_COUNT, "estimated_total_rows": 1}, other=VALID)
@example(
    data={**VALID, "status": "processing", "processed_rows": 1, "estimated_total_rows": MAX_COUNT},
    other={**VALID, "processed_rows": MAX_COUNT},
)
def test_any_knock_object_renders_in_every_view_or_is_an_invalid_answer(tz, tmp_path, data, other):
    with local_timezone(tz):
        ops = []
        for obj in (data, other):
            try:
                ops.append(parse_knock(obj))
            except InvalidResponse as e:
                assert e.message and "\n" not in e.message and len(e.message) <= MESSAGE_MAX
        PARSED["all"] += 2
        PARSED["ok"] += len(ops)
        if ops:
            render_everything(ops, tmp_path)


def test_the_property_test_reaches_the_views():
    """Most generated objects must parse, or the property above would prove nothing."""
    if PARSED["all"] >= 100:  # it ran before this test in this session
        assert PARSED["ok"] / PARSED["all"] > 0.3, PARSED


@PROPERTY
@given(data=SAYMON_OBJECTS)
def test_any_saymon_object_renders_in_every_view_or_is_an_invalid_answer(tmp_path, data):
    try:
        op = parse_saymon(SAYMON_ID, data)
    except InvalidResponse:
        return
    render_everything([op, parse_saymon("other-job", {"finished": False})], tmp_path)
    assert json.loads(render_get([op], "json", False, 80)) == nan_as_null(data)  # the body as sent


def nan_as_null(data: Any) -> Any:
    """What a body holds once written as JSON: NaN, which JSON cannot hold, is null."""
    if isinstance(data, float) and data != data:
        return None
    if isinstance(data, dict):
        return {k: nan_as_null(v) for k, v in data.items()}
    if isinstance(data, list):
        return [nan_as_null(v) for v in data]
    return data


@pytest.mark.parametrize("output", ["json", "jsonl", "text", "table"])
@pytest.mark.parametrize("where", ["name", "error_item", "progress_path", "extra"])
def test_a_lone_surrogate_is_shown_or_escaped_end_to_end(output, where, tmp_path):
    """Through a real process (stdout a pipe, UTF-8): `-o json` keeps the \\ud800 escape exactly."""
    changes: dict[str, Any] = {
        "name": {"name": "a\ud800b"},
        "error_item": {"error_items": [{"id": "\udfff", "collection": "users"}]},
        "progress_path": {"progress_path": "http://x/\ud800"},
        "extra": {"extra": {"k\ud800": ["\ud800"]}},
    }[where]
    with body_server(knock_body(**changes)) as server:
        for ids in ([ID_A], [ID_A, ID_B]):
            proc = subprocess.run(
                [sys.executable, "-m", "bulkop", "get", *ids, "-o", output, "--errors"],
                env=minimal_env(knock_env(server.url)),
                capture_output=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
            out = proc.stdout.decode("utf-8")
            if output == "json":
                data = json.loads(out)
                first = data if len(ids) == 1 else data[0]
                assert {k: first[k] for k in changes} == changes  # exactly what was sent
            elif output == "jsonl":
                assert {k: json.loads(out.splitlines()[0])[k] for k in changes} == changes


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_json_output_is_json_whatever_number_the_server_sent(value):
    """Python's parser takes NaN and 1e999; its encoder would print NaN and Infinity (not JSON)."""

    def body(op_id: str) -> bytes:
        text = json.dumps({**VALID, "id": op_id})
        return text.replace('"failed_at": null', f'"failed_at": null, "x": [{value}]').encode()

    with body_server(body) as server:
        env = knock_env(server.url)
        for args in (["get", ID_A, "-o", "json"], ["get", ID_A, ID_B, "-o", "json"], ["get", ID_A, "-o", "jsonl"]):
            r = run_cli(args, env)
            assert r.code == 0, r.stderr
            for doc in [r.stdout] if args[-1] == "json" else r.stdout.splitlines():
                data = strict_json(doc)
                first = data if isinstance(data, dict) else data[0]
                expected = None if value == "NaN" else float(value.replace("Infinity", "1e999"))
                assert first["x"] == [expected]


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "America/Los_Angeles"])
@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"])
def test_timestamps_at_the_calendar_edges_show_outside_utc(tz, when):
    with body_server(knock_body(completed_at=when, started_at=when, updated_at=when)) as server:
        for args in (
            ["get", ID_A, "-o", "table"],
            ["get", ID_A],
            ["get", ID_A, ID_B, "-o", "table"],
            ["status", ID_A],
            ["get", ID_A, "-o", "json"],
        ):
            proc = subprocess.run(
                [sys.executable, "-m", "bulkop", *args],
                capture_output=True,
                text=True,
                env={**minimal_env(knock_env(server.url)), "TZ": tz, "COLUMNS": "100"},
                timeout=60,
            )
            assert proc.returncode == 0, (args, proc.stderr)
            if args[-1] == "table" and len(args) == 4:
                assert when[:4] in proc.stdout  # shown (in UTC where the local calendar ends)
                if (tz, when) == ("Pacific/Kiritimati", "9999-12-31T23:59:59Z"):
                    assert "9999-12-31 23:59:59 UTC" in proc.stdout


@pytest.mark.parametrize("field", ["processed_rows", "estimated_total_rows", "success_count", "error_count"])
def test_a_number_beyond_any_count_is_exit_6_not_70(field):
    with body_server(knock_body(status="processing", **{field: 10**1000})) as server:
        for args in (["get", ID_A, "-o", "table"], ["status", ID_A], ["get", ID_A, ID_B]):
            r = run_cli(args, knock_env(server.url))
            assert_invalid_answer(r, field, "1001-digit", lines=len(args) - 1 - args.count("-o") * 2)


def test_durations_and_rates_are_clamped_not_crashed():
    from bulkop.progress import RateEstimator, eta, fraction_of
    from bulkop.render import fmt

    assert fmt.duration(float("inf")) == fmt.duration(float("nan")) == "-"
    assert fmt.duration(1e300) == ">999d"
    assert fmt.rate(float("inf")) == "-"
    assert fraction_of(10**1000, 1).value == 1.0 and fraction_of(1, 10**1000).value == 0.0
    rate = RateEstimator()
    rate.observe(0.0, 0)
    rate.observe(1.0, 10**1000)
    assert rate.rate() is None
    assert eta(10**1000, 1e-8) is None


# --------------------------------------------------------------------------- issue 12 item 8: terminal sizes


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1", "19", "99999999", "", " ", "1e3", "٣٠", "80.5"])
def test_a_size_that_is_not_sane_is_ignored(value):
    assert size_from_env({"COLUMNS": value}, "COLUMNS") is None
    env = {"COLUMNS": value, "LINES": "0", "TERMINAL_WIDTH": value, "OTHER": "x"}
    drop_insane_sizes(env)
    assert env == {"OTHER": "x"}
    console = Context(env={"COLUMNS": value, "LINES": value}, stdout=io.StringIO()).console()
    assert console.width == 80 and console.height >= 5  # Rich's own fallback when not a terminal


@pytest.mark.parametrize("value", ["20", "40", "132", "1000"])
def test_a_sane_size_is_used(value):
    assert size_from_env({"COLUMNS": value}, "COLUMNS") == int(value)
    assert Context(env={"COLUMNS": value}, stdout=io.StringIO()).console().width == int(value)


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1", "99999999", ""])
@pytest.mark.parametrize("variable", ["COLUMNS", "TERMINAL_WIDTH"])
def test_odd_widths_still_print_everything_in_a_real_process(make_sim, value, variable):
    sim = make_sim()
    a, b = sim.add(Scenario(queued_seconds=0, duration=0)), sim.add(Scenario(queued_seconds=0, duration=0))
    env = minimal_env({"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": sim.base_url, variable: value})
    for args in (["get", a, "-o", "table"], ["get", a, b, "-o", "table"], ["--help"], ["get", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-m", "bulkop", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.strip(), f"{variable}={value!r} {args}: nothing printed"
        assert max(len(line) for line in proc.stdout.splitlines()) <= 80
        if "get" in args and "--help" not in args:
            assert a[:8] in proc.stdout


# --------------------------------------------------------------------------- issue 12 item 11: smaller ones


@pytest.mark.parametrize("secret", ["", "a", "sk_test_x", "12345678901", "x" * 11])
def test_a_secret_under_12_characters_shows_nothing(secret):
    shown = mask(secret)
    assert not set(shown) - {"…"}


@pytest.mark.parametrize("secret", ["123456789012", "sk_test_9f8e7d6c5b4a3f2e1d0c", "p" * 12 + "WXYZ", "x" * 500])
def test_a_long_secret_shows_at_most_4_characters(secret):
    shown = mask(secret)
    assert len(shown.replace("…", "")) <= 4
    assert shown == "…" + secret[-4:]


def test_a_huge_server_string_is_capped_in_the_error_line():
    status = "boom" * 500_000  # 2 MB
    with body_server(knock_body(status=status)) as server:
        for args in (["get", ID_A], ["status", ID_A], ["get", ID_A, "-o", "json"], ["get", ID_A, ID_B]):
            r = run_cli(args, knock_env(server.url))
            assert r.code == 6 and len(r.stderr) < MESSAGE_MAX + 200, len(r.stderr)


def test_every_error_line_is_capped():
    from bulkop.errors import ApiUnavailable
    from bulkop.render.errors import error_json, error_line

    err = ApiUnavailable("x" * 10**6, hint="h" * 10**6)
    assert len(error_line(err)) < 2 * MESSAGE_MAX + 50
    body = json.loads(error_json(err))["error"]
    assert len(body["message"]) == len(body["hint"]) == MESSAGE_MAX


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("users.bulk_delete", "users.bulk\\_delete"),
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
        ("[click](https://evil.example)", "\\[click\\]\\(https://evil.example\\)"),
        ("![x](https://evil.example/p.gif)", "\\!\\[x\\]\\(https://evil.example/p.gif\\)"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert\\(1\\)&gt;"),
        ("<details><summary>", "&lt;details&gt;&lt;summary&gt;"),
        ("**bold** _it_ ~~s~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"),
        ("$x^2$ # h & \\", "\\$x^2\\$ \\# h &amp; \\\\"),
        ("line\nbreak\x1b[2J", "line break"),
        ("e3e70682-c209-4cac-a29f-6fbed82c07cd", "e3e70682-c209-4cac-a29f-6fbed82c07cd"),
    ],
)
def test_markdown_cells_show_server_text_and_render_nothing(text, shown):
    assert markdown_cell(text) == shown


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_a_markdown_cell_holds_no_markup_and_no_line_break(text):
    cell = markdown_cell(text)
    assert "\n" not in cell and "<" not in cell and ">" not in cell
    assert len(cell) <= 200 * 6  # capped (an entity is at most 6 characters)
    # Every markup character is escaped: remove the escapes and none is left bare.
    bare = re.sub(r"\\.", "", re.sub(r"&(?:amp|lt|gt|quot|#39);", "", cell))
    assert not set(bare) & set("\\`*_[]()|~!#${}")


def test_the_step_summary_shows_a_hostile_name_as_text(make_sim, tmp_path):
    sim = make_sim()
    name = "<img src=x> [click](https://evil.example) | `x` **b**"
    op = sim.add(Scenario(name=name, queued_seconds=0, duration=0))
    summary = tmp_path / "summary.md"
    env = {
        "KNOCK_API_KEY": KNOCK_TOKEN,
        "BULKOP_BASE_URL": sim.base_url,
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
    }

    clock = FakeClock()
    r = run_cli(["watch", op, "--interval", "1"], env, now=clock, sleep=clock.sleep)
    assert r.code == 0, r.stderr
    text = summary.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if op in line)
    assert "<img" not in text and "](" not in text and "`x`" not in text
    # Whole (a step summary has no width), and escaped.
    assert "| &lt;img src=x&gt; \\[click\\]\\(https://evil.example\\) \\| \\`x\\` \\*\\*b\\*\\* |" in row
    assert row.count(" | ") == 5  # six cells, whatever the name holds (its `|` is escaped: `\\|`)


# --------------------------------------------------------------------------- issue 13 item 7: piped text


def three_ops(sim: Any) -> list[str]:
    return [
        sim.add(Scenario(name="users.identify", total_rows=1000, queued_seconds=0, duration=0)),
        sim.add(Scenario(name="objects.bulk_set", total_rows=50_000, queued_seconds=0, duration=0)),
        sim.add(Scenario(name="big", total_rows=4_800, queued_seconds=0, duration=0)),
    ]


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A real pipeline through bash: bulkop's stdout is a pipe, awk and cut read it."""
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=minimal_env(env), capture_output=True, text=True, timeout=60
    )


def test_awk_sums_the_rows_of_several_ids(make_sim):
    sim = make_sim()
    ids = three_ops(sim)
    env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": sim.base_url}
    bulkop = f"{sys.executable} -m bulkop"
    proc = shell(f"{bulkop} get {' '.join(ids)} | awk -F'\\t' 'NR > 1 {{s += $5}} END {{print s}}'", env)
    assert (proc.returncode, proc.stdout) == (0, "55800\n"), proc.stderr
    proc = shell(f"{bulkop} get {' '.join(ids)} | head -1", env)
    header = proc.stdout.rstrip("\n").split("\t")
    assert header == ["ID", "NAME", "STATUS", "PROGRESS", "PROCESSED", "ESTIMATED", "ERRORS"]
    assert all(re.fullmatch(r"[A-Z_]+", h) for h in header)  # one word each
    proc = shell(f"{bulkop} get {ids[1]} | awk -F'\\t' '$1 == \"processed:\" {{print $2 + 1}}'", env)
    assert proc.stdout == "50001\n"
    proc = shell(f"{bulkop} get {' '.join(ids)} | cut -f1 | tail -n +2", env)
    assert proc.stdout.split() == ids


def test_piped_text_has_no_thousands_separators_but_tables_keep_them(make_sim):
    sim = make_sim()
    ids = three_ops(sim)
    env = {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": sim.base_url}
    one = run_cli(["get", ids[1]], env).stdout
    several = run_cli(["get", *ids], env).stdout
    assert not re.search(r"\d,\d", one + several), one + several
    assert "processed:\t50000" in one.splitlines() and "estimated:\t50000" in one.splitlines()
    table = run_cli(["get", ids[1], "-o", "table"], env).stdout
    assert "50,000 / 50,000" in table
    assert "50,000/50,000" in run_cli(["get", *ids, "-o", "table"], env).stdout


def test_config_list_piped_is_tab_separated_for_cut(isolated_env):
    for name, url in (("prod", "https://api.knock.app"), ("a-very-long-profile-name", "https://x.example")):
        r = run_cli(["config", "add", name, "--provider", "knock", "--base-url", url], stdin="sk_test_abcdefghijkl\n")
        assert r.code == 0, r.stderr
    proc = shell(f"{sys.executable} -m bulkop config list | cut -f1,4", {"BULKOP_CONFIG": str(isolated_env)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["NAME\tDEFAULT", "a-very-long-profile-name\tno", "prod\tyes"]


# --------------------------------------------------------------------------- issue 13 items 6 and 8: widths


def screen_ops(sim: Any) -> list[str]:
    return [
        sim.add(screen_completed(id=ID_A)),
        sim.add(screen_processing(id=ID_B)),
        sim.add(screen_failed(id=ID_C)),
    ]


WIDTHS = [40, 60, 80, 120]


def facts_intact(stdout: str, facts: list[str]) -> None:
    """Every fact appears whole on one line: never `10…`, `comp…` or a UUID split in two."""
    for fact in facts:
        assert any(fact in line for line in stdout.splitlines()), f"{fact!r} cut:\n{stdout}"
    assert not re.search(r"(?<![0-9a-f])\d{1,3}…|\b(?:compl?e?t?e?|proces\w*|faile?)…", stdout), stdout


def table_at(width: int, sim: Any, clock: FakeClock, ids: list[str]) -> Result:
    """`get IDS -o table` at `width` columns, at 150 s of simulated time: no line is wider."""
    clock.t = 150
    r = run_cli(["get", *ids, "-o", "table"], {**knock_env(sim.base_url), "COLUMNS": str(width)}, wall=clock.wall)
    assert (r.code, r.stderr) == (0, "")
    assert max(len(line) for line in r.stdout.splitlines()) <= width
    return r


@pytest.mark.parametrize("width", WIDTHS)
def test_get_several_ids_at_each_width(frozen_sim, clock, width, screen):
    ids = screen_ops(frozen_sim)
    r = table_at(width, frozen_sim, clock, ids)
    facts_intact(r.stdout, ["completed", "processing", "failed", "100%", "60%"])
    short_or_full = [i if width >= 100 else i[:8] + "…" for i in ids]
    facts_intact(r.stdout, short_or_full)
    if width >= 100:  # room to spare: the full id, which a user copies to act on
        facts_intact(r.stdout, ids)
    assert r.stdout == screen


@pytest.mark.parametrize("width", WIDTHS)
def test_get_one_id_at_each_width(frozen_sim, clock, width, screen):
    ids = screen_ops(frozen_sim)
    r = table_at(width, frozen_sim, clock, ids[2:])
    facts_intact(r.stdout, [ids[2], "failed", "60%", "4,800 / 8,000"])
    port = frozen_sim.base_url.rsplit(":", 1)[1]
    assert r.stdout.replace(f"127.0.0.1:{port}", "127.0.0.1:" + "9" * len(port)) == screen


@pytest.mark.parametrize("width", WIDTHS)
def test_config_list_at_each_width(isolated_env, width, screen):
    for name, url in (
        ("prod", "https://api.knock.app"),
        ("staging-eu-west", "https://staging.eu-west.example.com/some/long/path/prefix"),
        ("mon", "https://mon.example.com"),
    ):
        r = run_cli(["config", "add", name, "--provider", "knock", "--base-url", url], stdin="sk_test_abcdefghijkl\n")
        assert r.code == 0, r.stderr
    run_cli(["config", "use", "prod"])
    r = run_cli(["config", "list", "-o", "table"], {"COLUMNS": str(width)})
    assert r.code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= width
    for name in ("prod", "staging-eu-west", "mon"):
        assert any(re.search(rf"\b{name}\b", line) for line in r.stdout.splitlines()), r.stdout
    assert r.stdout == screen


# --------------------------------------------------------------------------- issue 13 item 10: SAYMON's words


def test_saymon_words_agree_in_every_command(make_sim):
    sim = make_sim()
    finished = sim.add(Scenario(provider="saymon", id=SAYMON_ID, queued_seconds=0, duration=0))
    running = sim.add(Scenario(provider="saymon", queued_seconds=3600))
    env = {
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_BASE_URL": sim.base_url,
        "SAYMON_LOGIN": SAYMON_LOGIN,
        "SAYMON_PASSWORD": SAYMON_PASSWORD,
    }
    for op, word, code in ((finished, "finished", 0), (running, "not finished", 3)):
        r = run_cli(["status", op], env)
        assert (r.stdout, r.code) == (f"{word}\n", code)
        assert json.loads(run_cli(["status", op, "-o", "json"], env).stdout)["status"] == word
        assert f"status:\t{word}" in run_cli(["get", op], env).stdout.splitlines()
        table = run_cli(["get", op, "-o", "table"], env).stdout
        assert re.search(rf"^Status\s+{word}\s*$", table, re.MULTILINE), table
        rows = run_cli(["get", op, finished], env).stdout.splitlines()
        assert rows[1].split("\t")[2] == word
        everything = "".join(
            run_cli(args, env).stdout
            for args in (
                ["status", op],
                ["status", op, "-o", "json"],
                ["get", op],
                ["get", op, "-o", "table"],
                ["get", op, finished, "-o", "table"],
                ["get", op, "-o", "json"],
            )
        )
        assert "completed" not in everything and "processing" not in everything, everything


def test_saymon_get_json_is_the_body_exactly_as_sent():
    bodies = {
        "a": b'{"finished": true}',
        "b": b'{"finished":false,"progress":"12%","nested":{"x":[1,2.5,null]}}',
    }
    with body_server(lambda op_id: bodies[op_id]) as server:
        env = saymon_env(server.url)
        for op_id, body in bodies.items():
            r = run_cli(["get", op_id, "-o", "json"], env)
            assert r.code == 0, r.stderr
            assert json.loads(r.stdout) == json.loads(body)
        r = run_cli(["get", "a", "b", "-o", "jsonl"], env)
        assert [json.loads(line) for line in r.stdout.splitlines()] == [
            {"id": "a", **json.loads(bodies["a"])},
            {"id": "b", **json.loads(bodies["b"])},
        ]


@pytest.mark.parametrize("bad", ["a/b", "x" * 201, "\x1b[2J", " "])
@pytest.mark.parametrize("provider", ["knock", "saymon"])
def test_an_invalid_id_error_shows_what_a_valid_one_looks_like(sim, provider, bad):
    env = (
        {"KNOCK_API_KEY": KNOCK_TOKEN, "BULKOP_BASE_URL": sim.base_url}
        if provider == "knock"
        else {
            "BULKOP_PROVIDER": "saymon",
            "BULKOP_BASE_URL": sim.base_url,
            "SAYMON_LOGIN": SAYMON_LOGIN,
            "SAYMON_PASSWORD": SAYMON_PASSWORD,
        }
    )
    example_id = "123e4567-e89b-12d3-a456-426614174000" if provider == "knock" else SAYMON_ID
    for command in ("get", "status"):
        r = run_cli([command, bad], env)
        assert r.code == 2 and f"such as {example_id}" in r.stderr, r.stderr
