"""4. Simulator throughput: keep-alive GETs from an http.client loop, absolute requests/s."""

from __future__ import annotations

from common import Bench
from harness import spread
from report import Goal, Row

from bulkop.simulator.loadtest import DEFAULT_SCENARIO, hammer

SECTION = "4 simulator"


def run(bench: Bench) -> list[Row]:
    bench.sim.reset()
    url = bench.sim.add(DEFAULT_SCENARIO)["url"]
    headers = {**bench.headers, "Accept": "application/json"}
    seconds, repeats = (1.0, 2) if bench.quick else (2.0, 3)
    rows = []
    for connections in (1, 50):
        results = []
        for _ in range(repeats):
            results.append(hammer(url, headers, seconds, connections))
            # The simulator records every request: forget them so memory stays flat.
            bench.sim.reset()
            url = bench.sim.add(DEFAULT_SCENARIO)["url"]
        errors = sum(r.errors for r in results)
        p50 = sorted(r.p50_ms or 0 for r in results)[len(results) // 2]
        p99 = sorted(r.p99_ms or 0 for r in results)[len(results) // 2]
        rows.append(
            Row.measured(
                f"simulator.rps.{connections}",
                SECTION,
                f"keep-alive GET, {connections} connection{'s' if connections > 1 else ''}",
                "absolute",
                "req/s",
                spread([r.requests_per_second for r in results]),
                Goal(">=", 2000) if connections == 1 else None,
                note=f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {errors} non-200; client and server share "
                "the machine's cores",
            )
        )
        if errors:
            rows[-1].status = "error"
    return rows
