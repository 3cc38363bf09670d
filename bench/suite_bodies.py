"""3. Large bodies: 200,000 error items through `get`, and a body over the size cap refused."""

from __future__ import annotations

import statistics
from functools import partial

import harness
from common import Bench
from harness import BULKOP, PYTHON, Outcome, pair_ratios, spread
from report import Goal, Row

SECTION = "3 large bodies"
ERROR_ITEMS = 200_000
MiB = 1024 * 1024
CAP = 64 * MiB  # bulkop's default max_body_size, set explicitly so the goal does not drift
OVER_CAP = 256 * MiB


def floor_code(url: str, headers: dict[str, str]) -> str:
    """The floor: fetch, parse and pretty-print the same body in a fresh interpreter."""
    return (
        f"import httpx,json,sys; r=httpx.get({url!r}, headers={headers!r}); "
        "sys.stdout.write(json.dumps(json.loads(r.content), indent=2))"
    )


def run(bench: Bench) -> list[Row]:
    bench.sim.reset()
    # error_rate 1.0: every row is an error item; duration 0: finished at once, items complete.
    # --quick only keeps the harness working: a quarter of the items is plenty for that.
    count = ERROR_ITEMS // 4 if bench.quick else ERROR_ITEMS
    op_id = bench.add(name="users.identify", total_rows=count, queued_seconds=0, duration=0, error_rate=1.0)
    env = bench.env(BULKOP_MAX_BODY_SIZE=str(CAP))
    sh = partial(harness.run, env=env)
    cases = {
        "floor": partial(sh, [PYTHON, "-c", floor_code(bench.url(op_id), bench.headers)]),
        "get_json": partial(sh, [*BULKOP, "get", op_id, "-o", "json"]),
        "get_errors": partial(sh, [*BULKOP, "get", op_id, "--errors"]),
    }
    results = harness.rounds(cases, 2 if bench.quick else 5, warmup=not bench.quick)
    items = results["floor"][0].out.count(b'"collection"')
    if items != count:
        raise harness.ChildFailed(f"the operation has {items} error items, not {count}")
    size = f"{items:,} error items, a {bench.body_size(op_id) / 1e6:.1f} MB body"

    rows = [
        Row.measured(
            "bodies.floor.time",
            SECTION,
            "floor: httpx + json.loads + dumps, time",
            "",
            "ms",
            spread([o.wall * 1000 for o in results["floor"]]),
            note=size,
        ),
        Row.measured(
            "bodies.floor.rss", SECTION, "floor: peak RSS", "", "MB", spread([o.rss_mb for o in results["floor"]])
        ),
    ]
    for case, label in (("get_json", "get -o json"), ("get_errors", "get --errors (piped)")):
        rows += _pair(case, label, results[case], results["floor"])
    if not bench.quick:
        rows += _table_once(bench, op_id, env, results["floor"])
    rows.append(_over_cap(bench, runs=1 if bench.quick else 3))
    return rows


def _pair(case: str, label: str, a: list[Outcome], floor: list[Outcome]) -> list[Row]:
    return [
        Row.measured(
            f"bodies.{case}.time",
            SECTION,
            f"{label}: time",
            "floor",
            "x",
            pair_ratios([o.wall for o in a], [o.wall for o in floor]),
            Goal("<=", 1.5),
            note=f"{statistics.median(o.wall for o in a):.2f} s",
        ),
        Row.measured(
            f"bodies.{case}.rss",
            SECTION,
            f"{label}: peak RSS",
            "floor",
            "x",
            pair_ratios([o.rss_mb for o in a], [o.rss_mb for o in floor]),
            Goal("<=", 1.5),
            note=f"{statistics.median(o.rss_mb for o in a):.0f} MB",
        ),
    ]


def _table_once(bench: Bench, op_id: str, env: dict[str, str], floor: list[Outcome]) -> list[Row]:
    """`get --errors` in a terminal renders a Rich table of every item: once, it can be slow."""
    id = "bodies.get_errors_tty"
    label = "get --errors (table, pty)"
    floor_wall = statistics.median(f.wall for f in floor)
    floor_rss = statistics.median(f.rss_mb for f in floor)
    limit = max(60.0, 40 * floor_wall)  # far past the goal already: no need to wait longer
    try:
        o = harness.run([*BULKOP, "get", op_id, "--errors"], env, tty=True, timeout=limit)
    except harness.TimedOut as e:
        return [
            Row.measured(
                f"{id}.time",
                SECTION,
                f"{label}: time",
                "floor",
                "x",
                spread([e.seconds / floor_wall]),
                Goal("<=", 1.5),
                note=f"killed after {e.seconds:.0f} s: at least this much",
            )
        ]
    except harness.ChildFailed as e:
        return [Row.failed(f"{id}.time", SECTION, f"{label}: time", str(e))]
    return [
        Row.measured(
            f"{id}.time",
            SECTION,
            f"{label}: time",
            "floor",
            "x",
            spread([o.wall / floor_wall]),
            Goal("<=", 1.5),
            note=f"{o.wall:.1f} s, one run (vs the floor's median)",
        ),
        Row.measured(
            f"{id}.rss",
            SECTION,
            f"{label}: peak RSS",
            "floor",
            "x",
            spread([o.rss_mb / floor_rss]),
            Goal("<=", 1.5),
            note=f"{o.rss_mb:.0f} MB",
        ),
    ]


def _over_cap(bench: Bench, runs: int) -> Row:
    """A 256 MiB body against a 64 MiB cap: refused, without holding the body in memory."""
    op_id = bench.add(name="huge", total_rows=10, queued_seconds=0, duration=0, fault="huge", huge_bytes=OVER_CAP)
    env = bench.env(BULKOP_MAX_BODY_SIZE=str(CAP))
    outcomes = [harness.run([*BULKOP, "get", op_id, "-o", "json"], env, expect=None, timeout=60) for _ in range(runs)]
    refused = all(o.code != 0 and b"cap" in o.err for o in outcomes)
    if not refused:
        return Row.failed(
            "bodies.over_cap.rss",
            SECTION,
            "over the cap: refused",
            f"not refused: exit {outcomes[0].code}: {outcomes[0].tail()}",
        )
    return Row.measured(
        "bodies.over_cap.rss",
        SECTION,
        "256 MiB body, 64 MiB cap: refused, peak RSS",
        "",
        "MB",
        spread([o.rss_mb for o in outcomes]),
        Goal("<=", CAP / MiB + 50),
        note=f"exit {outcomes[0].code}; the simulator sends Content-Length, so only the declared-size check runs",
    )
