"""Benchmarks of bulkop: `python bench/run.py [--quick] [--out FILE] [--only SECTION...]`.

Starts the project's simulator in its own process, runs every benchmark several times and
prints medians with min and max as ratios to floors measured in the same run, each goal marked
met or missed. Writes the same rows to bench/results.json, with the last run's medians beside.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

try:
    import bulkop
    from bulkop.simulator.external import SimulatorProcess
except ImportError:
    sys.exit(
        "bench/run.py: bulkop is not importable; run it with the project's venv python "
        "after `pip install -e '.[bench]'`"
    )

import report
import suite_bodies
import suite_journal
import suite_simulator
import suite_startup
import suite_watch
from common import Bench
from report import Row

HERE = Path(__file__).resolve().parent
SUITES: dict[str, tuple[str, Callable[[Bench], list[Row]]]] = {
    "startup": (suite_startup.SECTION, suite_startup.run),
    "watch": (suite_watch.SECTION, suite_watch.run),
    "bodies": (suite_bodies.SECTION, suite_bodies.run),
    "simulator": (suite_simulator.SECTION, suite_simulator.run),
    "journal": (suite_journal.SECTION, suite_journal.run),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and smaller scales (under a minute): keeps it working"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results.json",
        help="results file; its previous content is the 'last' column",
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(SUITES), metavar="SUITE", help=f"run only these: {', '.join(SUITES)}"
    )
    args = parser.parse_args(argv)

    started, clock, load = datetime.now(UTC), time.monotonic(), os.getloadavg()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bulkop-bench-") as home, SimulatorProcess() as sim:
        bench = Bench(sim=sim, home=home, quick=args.quick)
        for name in args.only or list(SUITES):
            section, suite = SUITES[name]
            print(f"bench: {section} ...", file=sys.stderr, flush=True)
            suite_start = time.monotonic()
            try:
                rows += suite(bench)
            except Exception as e:  # one broken suite must not hide the others' numbers
                traceback.print_exc(file=sys.stderr)
                rows.append(Row.failed(f"{name}.error", section, f"{name} suite", f"{type(e).__name__}: {e}"))
            timings[name] = round(time.monotonic() - suite_start, 1)
            print(f"bench: {section} took {timings[name]:.0f} s", file=sys.stderr, flush=True)

    report.attach_last(rows, args.out)
    print(report.table(rows))
    if "importtime" in bench.extra:
        print(_importtime_text(bench.extra["importtime"]))
    elapsed = time.monotonic() - clock
    print(f"\n{report.summary(rows)}; {elapsed:.0f} s; results in {args.out}")
    meta = {
        **_meta(started, elapsed, args.quick),
        "suite_seconds": timings,
        "load_average_at_start": [round(x, 2) for x in load],
    }
    report.write(args.out, rows, meta, bench.extra)
    return 1 if any(r.status == "error" for r in rows) else 0


def _importtime_text(data: dict) -> str:
    lines = [
        f"\n{data['command']} (median run of {data['runs']}; all imports {data['total_ms']} ms)",
        "  top-level imports, cumulative:",
    ]
    lines += [f"    {e['ms']:7.1f} ms  {e['module']}" for e in data["top_level_cumulative"]]
    lines.append("  packages, self time summed:")
    lines += [f"    {e['ms']:7.1f} ms  {e['module']}" for e in data["by_package"]]
    lines.append("  modules, self time:")
    lines += [f"    {e['ms']:7.1f} ms  {e['module']}" for e in data["self"]]
    return "\n".join(lines)


def _meta(started: datetime, elapsed: float, quick: bool) -> dict[str, object]:
    versions = {}
    for dist in ("typer", "rich", "httpx", "knockapi"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(elapsed, 1),
        "quick": quick,
        "bulkop": bulkop.__version__,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        # Other work on the machine stretches absolute times (ratios hold better): keep a note.
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
