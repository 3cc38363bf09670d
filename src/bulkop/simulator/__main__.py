"""`python -m bulkop.simulator`: serve in the foreground, announce a JSON line, stop on a signal."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from bulkop.simulator.scenario import Scenario, demo_scenarios
from bulkop.simulator.server import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bulkop.simulator",
        description="Serve the Knock and SAYMON bulk-operation APIs on loopback until "
        "SIGINT/SIGTERM. Prints one JSON line (base_url, credentials, operation ids) once "
        "listening.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scenarios",
        type=Path,
        help="JSON file holding a scenario object or a list of them (fields: bulkop demo serve --help)",
    )
    parser.add_argument("--demo", action="store_true", help="add the demo operations")
    parser.add_argument("--knock-token", default="sk_test_bulkop_demo")
    parser.add_argument("--saymon-login", default="demo")
    parser.add_argument("--saymon-password", default="demo-password")
    return parser


def _load_scenarios(path: Path) -> list[Scenario]:
    try:
        return Scenario.list_from_json(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _unique(name: str, taken: dict[str, str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scenarios = demo_scenarios() if args.demo else []
    try:
        if args.scenarios is not None:
            scenarios += _load_scenarios(args.scenarios)
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    sim = Simulator(
        host=args.host,
        port=args.port,
        speed=args.speed,
        knock_token=args.knock_token,
        saymon_login=args.saymon_login,
        saymon_password=args.saymon_password,
        seed=args.seed,
    )
    with sim:
        ids: dict[str, str] = {}
        for scenario in scenarios:
            ids[_unique(scenario.name, ids)] = sim.add(scenario)
        announcement = {
            "base_url": sim.base_url,
            "knock_token": sim.knock_token,
            "saymon_login": sim.saymon_login,
            "saymon_password": sim.saymon_password,
            "ids": ids,
        }
        print(json.dumps(announcement), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
