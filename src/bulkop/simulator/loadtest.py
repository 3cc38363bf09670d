"""Keep-alive GET throughput against a simulator running in its own process (`-m ...loadtest`)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from bulkop.simulator.external import SimulatorProcess

# A Knock operation mid-processing for the whole run: counts move, so bodies are re-encoded
# rather than served from the one-entry cache of a finished operation.
DEFAULT_SCENARIO = {
    "name": "users.identify",
    "total_rows": 1_000_000,
    "queued_seconds": 0,
    "duration": 3600,
    "error_rate": 0.0001,
}


@dataclass(frozen=True)
class LoadResult:
    tool: str
    connections: int
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    # Filled in when the simulator is our child on Linux: steadier than throughput on a busy box.
    server_cpu_us_per_request: float | None = None


def hammer(url: str, headers: dict[str, str], seconds: float, connections: int) -> LoadResult:
    """GET `url` in a loop on `connections` keep-alive http.client connections (one thread each)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    ready = threading.Barrier(connections + 1)
    deadline = [0.0]
    results: list[tuple[int, list[float]]] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        latencies: list[float] = []
        errors = 0
        try:
            try:
                _get(conn, path, headers)  # connect and warm up outside the measured window
            except BaseException:
                ready.abort()  # or everyone, the caller included, waits at the barrier forever
                raise
            ready.wait()
            ready.wait()
            end = deadline[0]
            now = time.perf_counter()
            while now < end:
                status = _get(conn, path, headers)
                after = time.perf_counter()
                latencies.append(after - now)
                errors += status != 200
                now = after
        finally:
            conn.close()
            with lock:
                results.append((errors, latencies))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    deadline[0] = start + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies = sorted(latency for _, per_thread in results for latency in per_thread)
    count = len(latencies)
    return LoadResult(
        tool="http.client",
        connections=connections,
        requests=count,
        errors=sum(errors for errors, _ in results),
        seconds=round(elapsed, 3),
        requests_per_second=round(count / elapsed, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 3) if latencies else None,
        p99_ms=round(latencies[int(count * 0.99)] * 1000, 3) if latencies else None,
    )


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> LoadResult:
    """The same load from `wrk` (2 threads), when it is installed."""
    threads = min(2, connections)  # wrk needs at least one connection per thread
    duration = max(1, round(seconds))  # wrk takes whole seconds
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    requests = int(_found(r"(\d+) requests in", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return LoadResult(
        tool="wrk",
        connections=connections,
        requests=requests,
        errors=int(non_2xx.group(1)) if non_2xx else 0,
        seconds=seconds,
        requests_per_second=float(_found(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_wrk_ms(re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)),
        p99_ms=_wrk_ms(re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)),
    )


def _found(pattern: str, text: str) -> str:
    """The first group of a line wrk always prints; a clear error if its output changed."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk's output has no match for {pattern!r}: {text[:200]!r}")
    return match.group(1)


def _wrk_ms(match: re.Match[str] | None) -> float | None:
    if match is None:
        return None
    return round(float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)], 3)


def _cpu_seconds(sim: SimulatorProcess | None) -> float | None:
    """User + system CPU of the simulator process so far, from /proc (None where there is none)."""
    if sim is None:
        return None
    try:
        fields = Path(f"/proc/{sim.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bulkop.simulator.loadtest",
        description="Measure keep-alive GET throughput on a Knock operation. Without --url, "
        "starts `python -m bulkop.simulator` in a child process. Prints one JSON line per run.",
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--url", help="operation URL on an already running simulator")
    parser.add_argument("--token", default="sk_test_bulkop_demo", help="Knock token for --url")
    parser.add_argument("--wrk", action="store_true", help="also measure with wrk if installed")
    args = parser.parse_args(argv)

    sim = None
    if args.url is None:
        sim = SimulatorProcess().start()
        url, token = sim.add(DEFAULT_SCENARIO)["url"], sim.info["knock_token"]
    else:
        url, token = args.url, args.token
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    tools = [hammer, wrk] if args.wrk and shutil.which("wrk") else [hammer]
    try:
        for connections in args.connections:
            for tool in tools:
                before = _cpu_seconds(sim)
                result = tool(url, headers, args.seconds, connections)
                after = _cpu_seconds(sim)
                if before is not None and after is not None and result.requests:
                    per_request = round((after - before) / result.requests * 1e6, 1)
                    result = replace(result, server_cpu_us_per_request=per_request)
                print(json.dumps(asdict(result)), flush=True)
    finally:
        if sim is not None:
            sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
