"""2. Watch at scale: `bulkop watch` on many operations, against the ideal request count and httpx."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import harness
from common import Bench
from harness import BULKOP, PYTHON, Outcome, spread
from report import Goal, Row

SECTION = "2 watch at scale"
INTERVAL = 1.0  # fixed, so that the ideal request count can be computed

# CPU per keep-alive GET with one httpx.Client, measured in a fresh interpreter after warm-up:
# the least any Python watcher built on httpx can spend per poll.
_HTTPX_FLOOR = """
import httpx, resource, sys
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = httpx.Client(headers={"Authorization": "Bearer " + token})
for _ in range(50):
    c.get(url)
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
start = cpu()
for _ in range(n):
    c.get(url).json()
print((cpu() - start) / n)
"""


@dataclass(frozen=True)
class WatchRun:
    """One `bulkop watch` over `ops` operations and what it cost."""

    ops: int
    mode: str
    outcome: Outcome
    requests: int
    ideal: int
    beyond_ideal: int  # requests past each operation's ideal count, summed
    simulated: float  # seconds from the watch's start until the last operation ended
    startup_cpu: float
    mean_interval: float  # seconds between two polls of one operation, on average


def available(bench: Bench) -> str | None:
    """None when `bulkop watch` exists, else why not."""
    out = harness.run([*BULKOP, "watch", "--help"], bench.env(), expect=None, timeout=30)
    if out.code == 0:
        return None
    return f"not available yet (`bulkop watch --help` exited {out.code})"


def run(bench: Bench) -> list[Row]:
    scales = (1, 100) if bench.quick else (1, 100, 1_000)
    spread_over = 2.0 if bench.quick else 30.0
    reason = available(bench)
    if reason is not None:
        return _skipped(scales, reason)

    floor = httpx_floor(bench, runs=2 if bench.quick else 3)
    startup = {mode: _startup_cpu(bench, mode, runs=2 if bench.quick else 3) for mode in ("lines", "live")}
    runs = [watch(bench, ops, mode, spread_over, startup[mode]) for ops in scales for mode in ("lines", "live")]
    rows = [
        Row.measured(
            "watch.httpx_floor",
            SECTION,
            "floor: httpx keep-alive CPU per GET",
            "",
            "ms",
            spread([v * 1000 for v in floor]),
            note="one httpx.Client, fresh process; FIELD-NOTES says ~0.46 ms",
        )
    ]
    floor_ms = statistics.median(floor) * 1000
    for r in runs:
        rows += _rows(r, floor_ms)
    rows += [_live_overhead(runs, ops) for ops in scales if ops >= 100]  # the goal holds at 100 and at 1,000
    rows.append(_user_provider(bench, spread_over, next(r for r in runs if r.ops == 100 and r.mode == "lines")))
    if not bench.quick:
        rows += _auto_interval(bench, 100, spread_over)
    bench.extra["watch_runs"] = [_raw(r) for r in runs]
    return rows


def httpx_floor(bench: Bench, runs: int) -> list[float]:
    op_id = bench.add(name="floor.httpx", total_rows=1_000, queued_seconds=0, duration=0)
    argv = [PYTHON, "-c", _HTTPX_FLOOR, bench.url(op_id), bench.token, "500" if bench.quick else "2000"]
    return [float(harness.run(argv, bench.env()).out) for _ in range(runs)]


def _startup_cpu(bench: Bench, mode: str, runs: int) -> float:
    """CPU of a watch that ends after one poll: subtracted to get the CPU of each further poll."""
    op_id = bench.add(name="finished", total_rows=1_000, queued_seconds=0, duration=0)
    argv = [*BULKOP, "watch", op_id, "--display", mode, "--interval", "1"]
    return statistics.median(harness.run(argv, bench.env(), tty=mode == "live", timeout=60).cpu for _ in range(runs))


def watch(
    bench: Bench,
    ops: int,
    mode: str,
    spread_over: float,
    startup_cpu: float,
    *,
    provider: str = "knock",
    route: str = "/v1/bulk_operations/{id}",
    env: dict[str, str] | None = None,
) -> WatchRun:
    """Watch `ops` operations finishing evenly over `spread_over` seconds, at a 1 s interval."""
    bench.sim.reset()
    durations = [spread_over * (i + 1) / ops for i in range(ops)]
    ids = bench.add_many(
        [
            {
                "provider": provider,
                "name": f"users.identify {i}",
                "total_rows": 1_000,
                "queued_seconds": 0,
                "duration": d,
            }
            for i, d in enumerate(durations)
        ]
    )
    created = time.monotonic()
    argv = [
        *BULKOP,
        "watch",
        *ids,
        "--display",
        mode,
        "--interval",
        f"{INTERVAL:g}",
        "--max-rps",
        str(max(10, 2 * ops)),
        "--timeout",
        f"{int(spread_over) + 120}s",
    ]
    started = time.monotonic()
    outcome = harness.run(argv, env or bench.env(), tty=mode == "live", timeout=spread_over + 180)
    by_path = bench.sim.request_counts()["by_path"]
    # A poller at a fixed interval sees an operation end on its first poll at or after the end:
    # ceil(remaining / interval) + 1 polls, counting from when the process started (its first
    # poll comes later still, so this is an upper bound of the ideal).
    remaining = [d - (started - created) for d in durations]
    ideal_each = [max(0, math.ceil(r / INTERVAL)) + 1 for r in remaining]
    counts = [by_path.get(route.format(id=op_id), 0) for op_id in ids]
    # Each operation was watched for about `remaining` seconds in (count - 1) gaps.
    gaps = [(r, c - 1) for r, c in zip(remaining, counts, strict=True) if c > 1]
    mean_interval = sum(r for r, _ in gaps) / max(1, sum(n for _, n in gaps))
    return WatchRun(
        ops=ops,
        mode=mode,
        outcome=outcome,
        requests=sum(counts),
        ideal=sum(ideal_each),
        beyond_ideal=sum(max(0, c - i) for c, i in zip(counts, ideal_each, strict=True)),
        simulated=max(remaining),
        startup_cpu=startup_cpu,
        mean_interval=mean_interval,
    )


def _one(value: float) -> harness.Spread:
    return spread([value])


def _steady_core(r: WatchRun) -> float:
    """% of one core once started: a short run would otherwise be mostly start-up."""
    return max(0.0, r.outcome.cpu - r.startup_cpu) / r.outcome.wall * 100


def _rows(r: WatchRun, floor_ms: float) -> list[Row]:
    o, key, label = r.outcome, f"watch.{r.ops}.{r.mode}", f"watch {r.ops:,} op(s), {r.mode}"
    per_poll_ms = max(0.0, o.cpu - r.startup_cpu) / max(1, r.requests - 1) * 1000
    lines = r.mode == "lines"
    return [
        Row.measured(
            f"{key}.requests",
            SECTION,
            f"{label}: requests",
            "ideal",
            "x",
            _one(r.requests / r.ideal),
            Goal("<=", 1.1),
            note=f"{r.requests:,} requests, ideal {r.ideal:,} (counted from the process start: an upper bound)",
        ),
        Row.measured(
            f"{key}.beyond_ideal",
            SECTION,
            f"{label}: polls past the end",
            "",
            "count",
            _one(r.beyond_ideal),
            Goal("<=", 0),
            note="requests beyond each operation's ideal count, summed",
        ),
        Row.measured(
            f"{key}.interval",
            SECTION,
            f"{label}: poll interval achieved",
            "--interval",
            "x",
            _one(r.mean_interval / INTERVAL),
            note=f"{r.mean_interval:.2f} s between polls of one operation, on average",
        ),
        Row.measured(
            f"{key}.wall",
            SECTION,
            f"{label}: wall time",
            "simulated",
            "x",
            _one(o.wall / r.simulated),
            note=f"{o.wall:.1f} s for {r.simulated:.1f} s",
        ),
        # With one operation the few polls drown in start-up noise: the goal needs many.
        Row.measured(
            f"{key}.cpu_per_poll",
            SECTION,
            f"{label}: CPU per poll",
            "",
            "ms",
            _one(per_poll_ms),
            Goal("<=", 1.0) if lines and r.ops >= 100 else None,
            note=f"{per_poll_ms / floor_ms:.1f}x the httpx floor; start-up "
            f"({r.startup_cpu * 1000:.0f} ms CPU) excluded",
            cpu_s=round(o.cpu, 3),
        ),
        Row.measured(
            f"{key}.core",
            SECTION,
            f"{label}: CPU, % of a core",
            "",
            "%",
            _one(_steady_core(r)),
            Goal("<=", 2.0) if r.ops == 1 and lines else None,
            note=f"start-up excluded; {o.cpu / o.wall * 100:.1f} % with it",
        ),
        Row.measured(f"{key}.rss", SECTION, f"{label}: peak RSS", "", "MB", _one(o.rss_mb), Goal("<=", 150)),
    ]


def _live_overhead(runs: list[WatchRun], ops: int) -> Row:
    """What the live view costs over lines mode for the same operations, in % of a core."""
    by_mode = {r.mode: r for r in runs if r.ops == ops}
    extra = _steady_core(by_mode["live"]) - _steady_core(by_mode["lines"])
    return Row.measured(
        f"watch.{ops}.live_overhead",
        SECTION,
        f"watch {ops:,} ops: live view's extra CPU",
        "lines mode",
        "%",
        _one(extra),
        Goal("<=", 5.0),
        note="% of one core, live minus lines, start-up excluded",
    )


def _user_provider(bench: Bench, spread_over: float, knock: WatchRun) -> Row:
    """CPU per poll of a provider defined in config.toml (a copy of auth0: JMESPath
    expressions with functions) against Knock's built-in definition, 100 operations, lines."""
    from suite_startup import user_provider

    from bulkop.providers import builtin

    finished, env = user_provider(bench)  # one finished operation: the start-up baseline
    argv = [*BULKOP, "watch", finished, "--display", "lines", "--interval", "1"]
    startup = statistics.median(harness.run(argv, env, timeout=60).cpu for _ in range(2 if bench.quick else 3))
    route = builtin("auth0").url.replace("{base_url}", "")
    user = watch(bench, 100, "lines", spread_over, startup, provider="auth0", route=route, env=env)
    per_poll = [max(0.0, r.outcome.cpu - r.startup_cpu) / max(1, r.requests - 1) for r in (user, knock)]
    return Row.measured(
        "watch.100.lines.user_provider",
        SECTION,
        "watch 100 op(s), lines, user provider: CPU per poll",
        "Knock's",
        "x",
        _one(per_poll[0] / per_poll[1] if per_poll[1] else math.inf),
        Goal("<=", 1.1),
        note=f"{per_poll[0] * 1000:.2f} ms vs {per_poll[1] * 1000:.2f} ms; [providers.acme], a copy of auth0",
    )


def _auto_interval(bench: Bench, ops: int, spread_over: float) -> list[Row]:
    """`--interval auto` has no computable ideal: report its requests per operation."""
    bench.sim.reset()
    durations = [spread_over * (i + 1) / ops for i in range(ops)]
    ids = bench.add_many(
        [
            {"name": f"auto {i}", "total_rows": 1_000, "queued_seconds": 0, "duration": d}
            for i, d in enumerate(durations)
        ]
    )
    argv = [
        *BULKOP,
        "watch",
        *ids,
        "--display",
        "lines",
        "--interval",
        "auto",
        "--max-rps",
        str(2 * ops),
        "--timeout",
        f"{int(spread_over) + 120}s",
    ]
    o = harness.run(argv, bench.env(), timeout=spread_over + 180)
    requests = bench.sim.request_counts()["count"]
    fixed = sum(math.ceil(d / INTERVAL) + 1 for d in durations)
    return [
        Row.measured(
            f"watch.{ops}.auto.requests",
            SECTION,
            f"watch {ops} ops, --interval auto: requests",
            "1 s interval",
            "x",
            _one(requests / fixed),
            note=f"{requests:,} requests ({requests / ops:.1f} per op) in "
            f"{o.wall:.1f} s; {o.cpu / o.wall * 100:.1f} % of a core",
        )
    ]


def _skipped(scales: tuple[int, ...], reason: str) -> list[Row]:
    rows = []
    for ops in scales:
        for mode in ("lines", "live"):
            label = f"watch {ops:,} op(s), {mode}"
            rows += [
                Row.skipped(
                    f"watch.{ops}.{mode}.requests", SECTION, f"{label}: requests", reason, Goal("<=", 1.1), "x"
                ),
                Row.skipped(
                    f"watch.{ops}.{mode}.beyond_ideal",
                    SECTION,
                    f"{label}: polls past the end",
                    reason,
                    Goal("<=", 0),
                    "count",
                ),
                Row.skipped(
                    f"watch.{ops}.{mode}.cpu_per_poll",
                    SECTION,
                    f"{label}: CPU per poll",
                    reason,
                    Goal("<=", 1.0) if mode == "lines" and ops >= 100 else None,
                    "ms",
                ),
                Row.skipped(f"watch.{ops}.{mode}.rss", SECTION, f"{label}: peak RSS", reason, Goal("<=", 150), "MB"),
            ]
    rows.append(
        Row.skipped(
            "watch.1.lines.core", SECTION, "watch 1 op(s), lines: CPU, % of a core", reason, Goal("<=", 2.0), "%"
        )
    )
    rows.append(
        Row.skipped(
            f"watch.{max(scales)}.live_overhead",
            SECTION,
            f"watch {max(scales):,} ops: live view's extra CPU",
            reason,
            Goal("<=", 5.0),
            "%",
        )
    )
    return rows


def _raw(r: WatchRun) -> dict[str, object]:
    o = r.outcome
    return {
        "ops": r.ops,
        "mode": r.mode,
        "wall_s": round(o.wall, 3),
        "cpu_s": round(o.cpu, 3),
        "rss_mb": round(o.rss_mb, 1),
        "requests": r.requests,
        "ideal": r.ideal,
        "beyond_ideal": r.beyond_ideal,
        "simulated_s": round(r.simulated, 3),
        "startup_cpu_s": round(r.startup_cpu, 3),
        "mean_interval_s": round(r.mean_interval, 3),
        "output_bytes": len(o.out) + len(o.err),
    }
