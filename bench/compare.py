"""Compare this checkout with an older revision, A B A B, on the same machine in the same minutes.

    python bench/compare.py --against 5659b3c            # start-up and watch figures
    python bench/compare.py --against HEAD~3 --only startup --rounds 20

bench/run.py's figures are ratios against a baseline measured in the same run (a bare python,
an httpx one-liner), and they move by ±30 % between runs on a shared VM: a 5 % regression
between two commits is lost in that noise. Here both trees run the same commands alternately,
in a shuffled order each round (PYTHONPATH=<tree>/src picks the tree; the simulator is this
checkout's), so drift hits both alike. Each figure is printed as head/base with the spread of
the per-round ratios (their lower and upper quartile): a figure whose quartiles both lie above
1.05 is a regression beyond doubt; one whose quartiles straddle it is within this machine's
noise. Nothing is written: paste the table into a commit or a note.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import harness
from common import Bench

from bulkop.simulator.external import SimulatorProcess

HERE = Path(__file__).resolve().parents[1]
WATCH_SPREAD = 10.0  # seconds over which a watch's operations end
# `python -m bulkop`, not the console script: an old tree's entry point may have another name.
BULKOP = [sys.executable, "-m", "bulkop"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/compare.py", description=__doc__.split("\n")[0])
    parser.add_argument("--against", required=True, metavar="REV", help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=0, help="rounds (default: 15 start-up, 4 watch)")
    parser.add_argument("--only", choices=["startup", "watch"], action="append", help="one group (repeatable)")
    parser.add_argument(
        "--no-journal",
        action="store_true",
        help="run both trees with BULKOP_NO_JOURNAL=1 (an older tree ignores it): the journal's own cost left out",
    )
    args = parser.parse_args(argv)
    extra_env = {"BULKOP_NO_JOURNAL": "1"} if args.no_journal else {}
    groups = args.only or ["startup", "watch"]
    with tempfile.TemporaryDirectory(prefix="bulkop-compare-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(base), args.against], check=True
        )
        try:
            trees = {"base": base, "head": HERE}
            with SimulatorProcess() as sim:
                bench = Bench(sim=sim, home=tmp, quick=False)
                if "startup" in groups:
                    report(startup(bench, trees, args.rounds or 15, extra_env))
                if "watch" in groups:
                    report(watch(bench, trees, args.rounds or 4, extra_env))
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(base)], check=False)
    journal = "; journal off in both (BULKOP_NO_JOURNAL=1)" if args.no_journal else ""
    print(f"head = {HERE} (with its uncommitted changes); base = {args.against}{journal}", file=sys.stderr)
    return 0


Figures = dict[str, dict[str, list[float]]]  # figure → tree → one value per round


def startup(bench: Bench, trees: dict[str, Path], count: int, extra_env: dict[str, str]) -> Figures:
    """Wall time of the commands a script runs most, on pipes and in a terminal."""
    op = bench.add(name="startup", total_rows=1_000, queued_seconds=0, duration=0)
    commands = {
        "--version (wall ms)": (["--version"], False),
        "get -o json (wall ms)": (["get", op, "-o", "json"], False),
        "status (wall ms)": (["status", op], False),
        "get, table in a terminal (wall ms)": (["get", op], True),
    }
    cases: dict[str, Callable[[], harness.Outcome]] = {}
    for figure, (args, tty) in commands.items():
        for tree, path in trees.items():
            env = bench.env(PYTHONPATH=str(path / "src"), **extra_env)
            cases[f"{figure}|{tree}"] = lambda a=args, e=env, t=tty: harness.run([*BULKOP, *a], e, tty=t)
    results = harness.rounds(cases, count)
    return _by_figure({key: [o.wall * 1000 for o in outcomes] for key, outcomes in results.items()})


def watch(bench: Bench, trees: dict[str, Path], count: int, extra_env: dict[str, str]) -> Figures:
    """CPU per poll of a lines-mode watch of 100 and 1,000 operations (its start-up taken off)."""
    values: dict[str, list[float]] = {}
    rng = random.Random(0)
    for _ in range(count):
        jobs = [(ops, tree) for ops in (100, 1_000) for tree in trees]
        rng.shuffle(jobs)
        for ops, tree in jobs:
            env = bench.env(PYTHONPATH=str(trees[tree] / "src"), **extra_env)
            values.setdefault(f"watch {ops:,} ops, lines: CPU per poll (ms)|{tree}", []).append(
                _cpu_per_poll(bench, ops, env)
            )
    return _by_figure(values)


def _cpu_per_poll(bench: Bench, ops: int, env: dict[str, str]) -> float:
    done = bench.add(name="done", total_rows=10, queued_seconds=0, duration=0)
    startup = harness.run([*BULKOP, "watch", done, "--display", "lines", "--interval", "1"], env).cpu
    bench.sim.reset()
    ids = bench.add_many(
        [
            {"name": f"w {i}", "total_rows": 1_000, "queued_seconds": 0, "duration": WATCH_SPREAD * (i + 1) / ops}
            for i in range(ops)
        ]
    )
    argv = [*BULKOP, "watch", *ids, "--display", "lines", "--interval", "1", "--max-rps", str(2 * ops)]
    cpu = harness.run([*argv, "--timeout", "300s"], env, timeout=400).cpu
    polls = sum(n for path, n in bench.sim.request_counts()["by_path"].items() if path.startswith("/v1/"))
    return (cpu - startup) / polls * 1000


def _by_figure(values: dict[str, list[float]]) -> Figures:
    figures: Figures = {}
    for key, series in values.items():
        figure, tree = key.rsplit("|", 1)
        figures.setdefault(figure, {})[tree] = series
    return figures


def report(figures: Figures) -> None:
    print(f"{'figure':44} {'base':>9} {'head':>9} {'head/base':>10}  quartiles of per-round ratios")
    for figure, by_tree in figures.items():
        base, head = by_tree["base"], by_tree["head"]
        ratios = sorted(h / b for h, b in zip(head, base, strict=True))
        q1, q3 = _quartiles(ratios)
        if len(ratios) < 4:
            verdict = "(too few rounds to tell)"
        else:
            verdict = "worse" if q1 > 1.05 else "better" if q3 < 0.95 else "same (within noise)"
        print(
            f"{figure:44} {statistics.median(base):9.2f} {statistics.median(head):9.2f} "
            f"{statistics.median(ratios):9.3f}x  {q1:.3f}-{q3:.3f}  {verdict}",
            flush=True,
        )


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


if __name__ == "__main__":
    sys.exit(main())
