"""`bulkop demo`: the built-in simulator, watched with the richest view; `demo serve` to try by hand."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkop.context import Context

KNOCK_PROFILE, SAYMON_PROFILE = "demo-knock", "demo-saymon"


@dataclass
class Options:
    speed: float = 1.0
    output: str = "text"
    display: str | None = None


@dataclass
class ServeOptions:
    port: int = 0
    host: str = "127.0.0.1"
    speed: float = 1.0


def _start(speed: float, port: int = 0, host: str = "127.0.0.1") -> tuple[Any, list[tuple[str, str]]]:
    from datetime import UTC, datetime

    from bulkop.simulator import Simulator, demo_scenarios

    sim = Simulator(host=host, port=port, speed=speed, epoch=datetime.now(UTC)).start()
    ops = [(s.provider, sim.add(s)) for s in demo_scenarios()]
    return sim, ops


def demo_context(ctx: Context, sim: Any) -> Context:
    """A Context that talks only to the simulator: its own in-memory profiles, none of the
    user's config file or credential variables (the demo must not touch a real account)."""
    from bulkop.config import ConfigFile

    cfg = ConfigFile(
        path=Path("<demo>"),
        default_profile=KNOCK_PROFILE,
        profiles={
            KNOCK_PROFILE: {"provider": "knock", "base_url": sim.base_url, "api_key": sim.knock_token},
            SAYMON_PROFILE: {
                "provider": "saymon",
                "base_url": sim.base_url,
                "login": sim.saymon_login,
                "password": sim.saymon_password,
            },
        },
    )
    env = {k: v for k, v in ctx.env.items() if not k.startswith(("BULKOP_", "KNOCK_", "SAYMON_"))}
    demo = dataclasses.replace(ctx, env=env, profile=None, _cfg=cfg, _cfg_loaded=True, _http=None)
    return demo


def run(opts: Options, ctx: Context) -> int:
    from bulkop.commands import watch

    sim, ops = _start(opts.speed)
    try:
        demo = demo_context(ctx, sim)
        ids = [f"{KNOCK_PROFILE if p == 'knock' else SAYMON_PROFILE}:{i}" for p, i in ops]
        if opts.output != "json":
            ctx.stderr.write(
                f"bulkop demo: simulator at {sim.base_url}; watching {len(ids)} operations "
                "(one is meant to fail). Ctrl-C stops.\n"
            )
            ctx.stderr.flush()
        code = watch.run(watch.Options(ids=ids, output=opts.output, display=opts.display), demo)
        demo.close()
        if opts.output != "json":
            ctx.stderr.write(
                f"bulkop demo: exit code {code} ({'an operation failed, as planned' if code == 1 else 'see above'}). "
                "Next: `bulkop demo serve` to try get, status and watch by hand.\n"
            )
        return code
    finally:
        sim.stop()


def serve(opts: ServeOptions, ctx: Context) -> int:
    """Run the simulator in the foreground until Ctrl-C, printing how to use it."""
    sim, ops = _start(opts.speed, opts.port, opts.host)
    try:
        knock = [i for p, i in ops if p == "knock"]
        saymon = [i for p, i in ops if p == "saymon"]
        out = ctx.stdout
        out.write(
            f"bulkop demo server listening on {sim.base_url}  (Ctrl-C stops)\n\n"
            "Knock (Bearer token):\n"
            f"  export KNOCK_API_KEY={sim.knock_token} KNOCK_BASE_URL={sim.base_url}\n"
            f"  bulkop get {knock[0]}\n"
            f"  bulkop watch {' '.join(knock)}\n"
            f"  curl -H 'Authorization: Bearer {sim.knock_token}' {sim.base_url}/v1/bulk_operations/{knock[0]}\n\n"
            "SAYMON (HTTP Basic):\n"
            f"  export SAYMON_LOGIN={sim.saymon_login} SAYMON_PASSWORD={sim.saymon_password}\n"
            f"  bulkop status --provider saymon --base-url {sim.base_url} {saymon[0]}\n"
            f"  curl -u {sim.saymon_login}:{sim.saymon_password} {sim.base_url}/node/api/bulk/{saymon[0]}/status\n\n"
            "New operations: POST a scenario to /_sim/operations, e.g.\n"
            f"  curl -X POST {sim.base_url}/_sim/operations \\\n"
            """    -d '{"name": "mine", "total_rows": 5000, "duration": 30}'\n"""
        )
        out.flush()
        threading.Event().wait()  # until Ctrl-C / SIGTERM, which cli.run turns into an exit code
        return 0
    finally:
        sim.stop()
