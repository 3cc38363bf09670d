"""CPU per `bulkop.api.Client.get` against the simulator, in one process, with no watch around it.

    python bench/client_get.py            # 3 runs of 3,000 calls
    python bench/client_get.py --calls 10000

The HTTP layer's own cost, apart from start-up and the watch engine: the figure behind
`api/http.py` handing requests to httpx's transport (bench/README.md, "Measurements behind the
code"). CPU is the process's (time.process_time): the simulator runs in a process of its own.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit

from bulkop.api import Client
from bulkop.simulator.external import SimulatorProcess


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/client_get.py", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with SimulatorProcess() as sim:
        op = sim.add_many([{"name": "bench", "total_rows": 1_000, "queued_seconds": 0, "duration": 3_600}])[0]["id"]
        client = Client("knock", sim.base_url, api_key=sim.info["knock_token"], allow_insecure_http=True)
        client.get(op)  # connect, warm
        for _ in range(args.runs):
            cpu = timeit.timeit(lambda: client.get(op), number=args.calls, timer=time.process_time)
            print(f"Client.get: {cpu / args.calls * 1e6:.0f} µs CPU per call ({args.calls:,} calls)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
