"""5. The journal: what recording every operation costs `get` and `watch`, and `list` at 10,000."""

from __future__ import annotations

import statistics
import time
from functools import partial
from pathlib import Path

import harness
from common import Bench
from harness import BULKOP, Outcome, pair_ratios, spread
from report import Goal, Row

from bulkop.journal import Journal, Seen

SECTION = "5 journal"
ENTRIES = 10_000
INTERVAL = 1.0


def run(bench: Bench) -> list[Row]:
    home = Path(bench.home)
    on = {"BULKOP_JOURNAL": str(home / "journal-on.sqlite3")}
    off = {"BULKOP_NO_JOURNAL": "1"}
    rows = _startup(bench, on, off)
    rows += _watch(bench, on, off)
    rows += _list(bench, home / "journal-10k.sqlite3")
    return rows


def _ms(outcomes: list[Outcome]) -> float:
    return round(statistics.median(o.wall for o in outcomes) * 1000, 1)


def _startup(bench: Bench, on: dict[str, str], off: dict[str, str]) -> list[Row]:
    op_id = bench.add(name="users.identify", total_rows=2_000, queued_seconds=0, duration=0)
    argv = [*BULKOP, "get", op_id, "-o", "json"]
    cases = {
        "on": partial(harness.run, argv, bench.env(**on)),
        "off": partial(harness.run, argv, bench.env(**off)),
    }
    results = harness.rounds(cases, 3 if bench.quick else 21)
    cpu = pair_ratios([o.cpu for o in results["on"]], [o.cpu for o in results["off"]])
    return [
        Row.measured(
            "journal.get_json",
            SECTION,
            "`get ID -o json`, journal on",
            "journal off",
            "x",
            pair_ratios([o.wall for o in results["on"]], [o.wall for o in results["off"]]),
            Goal("<=", 1.05),
            note=f"{_ms(results['on']):.0f} ms vs {_ms(results['off']):.0f} ms; CPU ratio {cpu.median:.3f}x",
            cpu_ratio=round(cpu.median, 3),
        )
    ]


def _watch(bench: Bench, on: dict[str, str], off: dict[str, str]) -> list[Row]:
    """CPU per poll of a watch of 100 operations, journal on vs off, in alternating runs."""
    ops, spread_over = (50, 3.0) if bench.quick else (100, 15.0)
    finished = bench.add(name="finished", total_rows=1_000, queued_seconds=0, duration=0)

    def startup(env: dict[str, str]) -> float:
        argv = [*BULKOP, "watch", finished, "--display", "lines", "--interval", "1"]
        return statistics.median(harness.run(argv, bench.env(**env), timeout=60).cpu for _ in range(3))

    base = {"on": startup(on), "off": startup(off)}

    def one(name: str, env: dict[str, str]) -> float:
        durations = [spread_over * (i + 1) / ops for i in range(ops)]
        ids = bench.add_many(
            [
                {"name": f"users.identify {i}", "total_rows": 1_000, "queued_seconds": 0, "duration": d}
                for i, d in enumerate(durations)
            ]
        )
        argv = [*BULKOP, "watch", *ids, "--display", "lines", "--interval", f"{INTERVAL:g}", "--max-rps", "1000"]
        before = bench.sim.request_counts()["by_path"]
        outcome = harness.run(argv, bench.env(**env), timeout=spread_over + 120)
        after = bench.sim.request_counts()["by_path"]
        path = "/v1/bulk_operations/"
        requests = sum(after.get(path + i, 0) - before.get(path + i, 0) for i in ids)
        return max(0.0, outcome.cpu - base[name]) / max(1, requests - 1)

    per_poll: dict[str, list[float]] = {"on": [], "off": []}
    for n in range(2 if bench.quick else 5):
        order = [("on", on), ("off", off)] if n % 2 == 0 else [("off", off), ("on", on)]
        for name, env in order:
            per_poll[name].append(one(name, env))
            time.sleep(0.2)
    on_ms = statistics.median(per_poll["on"]) * 1000
    off_ms = statistics.median(per_poll["off"]) * 1000
    return [
        Row.measured(
            "journal.watch_cpu_per_poll",
            SECTION,
            f"watch {ops} ops: CPU per poll, journal on",
            "journal off",
            "x",
            pair_ratios(per_poll["on"], per_poll["off"]),
            Goal("<=", 1.05),
            note=f"{on_ms:.3f} ms vs {off_ms:.3f} ms per poll (start-up excluded)",
        )
    ]


def _fill(path: Path, n: int) -> None:
    """A journal of `n` operations seen over the last 30 days, each with a few samples."""
    for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if extra.exists():
            extra.unlink()
    journal = Journal(path)
    now = time.time()
    statuses = ("completed", "completed", "completed", "failed", "processing", "queued")
    step = 30 * 86400 / n
    batch = []
    for i in range(n):
        batch.append(
            Seen(
                f"p{i % 3}" if i % 2 else None,
                "knock" if i % 5 else "saymon",
                "api.knock.app",
                f"{i:08x}-0000-4000-8000-000000000000",
                statuses[i % len(statuses)],
                name=f"users.identify {i}",
                processed_rows=i * 10,
                estimated_total_rows=100_000,
            )
        )
        if len(batch) == 500:
            journal.record(batch, now - (n - i) * step)
            batch = []
    if batch:
        journal.record(batch, now)
    journal.close()


def _list(bench: Bench, path: Path) -> list[Row]:
    _fill(path, ENTRIES)
    env = bench.env(BULKOP_JOURNAL=str(path))
    cases = {
        "version": partial(harness.run, [*BULKOP, "--version"], env),
        "list": partial(harness.run, [*BULKOP, "list"], env),
        "list_off": partial(harness.run, [*BULKOP, "--no-journal", "list"], env),
        "list_all": partial(harness.run, [*BULKOP, "list", "--since", "all", "--limit", "0", "-o", "json"], env),
    }
    results = harness.rounds(cases, 3 if bench.quick else 15)
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    lines = results["list"][0].out.count(b"\n")
    return [
        Row.measured(
            "journal.list_10k",
            SECTION,
            f"`list` over {ENTRIES:,} entries (newest 50)",
            "`bulkop --version`",
            "x",
            pair_ratios([o.wall for o in results["list"]], [o.wall for o in results["version"]]),
            Goal("<=", 1.5),
            note=f"{_ms(results['list']):.0f} ms vs {_ms(results['version']):.0f} ms; {lines} lines; "
            f"journal {size_mb:.1f} MB",
        ),
        Row.measured(
            "journal.list_10k_vs_off",
            SECTION,
            f"`list` over {ENTRIES:,} entries",
            "`--no-journal list` (the CLI alone)",
            "x",
            pair_ratios([o.wall for o in results["list"]], [o.wall for o in results["list_off"]]),
            note=f"{_ms(results['list']):.0f} ms vs {_ms(results['list_off']):.0f} ms: what reading the journal adds",
        ),
        Row.measured(
            "journal.list_10k_all",
            SECTION,
            f"`list --since all --limit 0 -o json` ({ENTRIES:,} entries)",
            "`bulkop --version`",
            "x",
            pair_ratios([o.wall for o in results["list_all"]], [o.wall for o in results["version"]]),
            note=f"{_ms(results['list_all']):.0f} ms",
        ),
        Row.measured(
            "journal.list_10k_ms",
            SECTION,
            f"`list` over {ENTRIES:,} entries",
            "",
            "ms",
            spread([o.wall * 1000 for o in results["list"]]),
        ),
    ]
