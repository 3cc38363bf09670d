"""`bulkop demo`: the built-in simulator, watched with the richest view; `demo serve` to try by hand."""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulkop.context import Context
from bulkop.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from bulkop.simulator import Scenario

KNOCK_PROFILE, SAYMON_PROFILE = "demo-knock", "demo-saymon"


def demo_profile(provider: str) -> str:
    """The demo's in-memory profile for a built-in provider: demo-knock, demo-zendesk, …"""
    return f"demo-{provider}"


@dataclass
class Options:
    speed: float = 1.0
    output: str = "text"
    display: str | None = None
    # A built-in provider the simulator serves: the demo's operations all live there
    # (None: the default mix).
    provider: str | None = None


@dataclass
class ServeOptions:
    port: int = 0
    host: str = "127.0.0.1"
    speed: float = 1.0
    # --scenario values as given: a JSON object or list, or @FILE holding one.
    scenarios: list[str] = field(default_factory=list)


def load_scenarios(values: list[str]) -> list[Scenario]:
    """Parse --scenario values with the same checks as the control API and `--scenarios` files.

    Any problem is a UsageError naming the value and, for an unknown field, the valid fields.
    """
    from bulkop.simulator import Scenario

    scenarios: list[Scenario] = []
    for value in values:
        shown = value if len(value) <= 60 else value[:57] + "..."
        where, text = f"--scenario {shown!r}", value
        if value.startswith("@"):
            where = f"--scenario {value}"
            try:
                text = Path(value[1:]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{where}: cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise UsageError(
                f"{where}: not JSON ({exc})", hint='give a JSON object such as {"fail_at": 0.5}, or @FILE'
            ) from None
        try:
            scenarios += Scenario.list_from_json(data)
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}", hint="see `bulkop demo serve --help`") from None
    return scenarios


def provider_scenarios(provider: str | None) -> list[Scenario]:
    """The demo's scenarios, all served as `provider`'s operations when one is named."""
    from bulkop.simulator import demo_scenarios
    from bulkop.simulator.scenario import PROVIDERS

    scenarios = demo_scenarios()
    if provider is None:
        return scenarios
    if provider not in PROVIDERS:
        raise UsageError(
            f"--provider: the simulator serves {', '.join(PROVIDERS)}, not {provider!r}"
            + did_you_mean(provider, PROVIDERS),
            hint="a provider of your own is tried against its real API, or a test server of yours",
        )
    # One operation of each fate, the names kept; ids in the provider's own format.
    seen: set[str] = set()
    picked = []
    for s in scenarios:
        if s.name not in seen:
            seen.add(s.name)
            picked.append(dataclasses.replace(s, provider=provider, id=None))
    return picked


@dataclass(frozen=True)
class Plan:
    """What the demo's operations will do with this provider, said before and after the watch."""

    banner: str  # "(one is meant to fail)"
    exit_code: int  # the watch's exit code when all goes as planned
    as_planned: str


def demo_plan(provider: str | None) -> Plan:
    """The demo's story for `provider`, from its definition: one operation stops part-way; it
    ends failed only where the API has a failed state (Mailchimp counts the errors of a batch
    that still "finished"; SAYMON says only finished or not)."""
    from bulkop.providers import builtin

    if provider is None or builtin(provider).status_map.get("failed"):
        return Plan("one is meant to fail", 1, "an operation failed, as planned")
    defn = builtin(provider)
    word = defn.status_words.get("completed", "completed")
    title = defn.display_name
    if "failed" in defn.fields or "error_items" in defn.fields:  # it counts errors
        banner = (
            f"one stops part-way with errors; {title} has no failed state, so it ends {word} "
            "with its errors counted, and the demo exits 0"
        )
        return Plan(banner, 0, f"{title} has no failed state: the one that stopped part-way ended {word}, as planned")
    banner = (
        f"one stops part-way; {title} reports only whether an operation is {word}, so every one ends {word} "
        "and the demo exits 0"
    )
    return Plan(banner, 0, f"{title} reports only {word} or not: every operation ended {word}, as planned")


def _start(
    speed: float,
    port: int = 0,
    host: str = "127.0.0.1",
    extra: list[Scenario] | None = None,
    scenarios: list[Scenario] | None = None,
) -> tuple[Any, list[tuple[str, str]]]:
    from datetime import UTC, datetime

    from bulkop.simulator import Simulator, demo_scenarios

    if not host.strip():
        raise UsageError("--host is empty", hint="use --host 127.0.0.1")
    try:
        sim = Simulator(host=host, port=port, speed=speed, epoch=datetime.now(UTC)).start()
    except OSError as exc:
        raise _listen_error(exc, host, port) from None
    try:
        base = demo_scenarios() if scenarios is None else scenarios
        ops = [(s.provider, sim.add(s)) for s in [*base, *(extra or [])]]
    except ValueError as exc:  # an id given twice, or one a demo operation already has
        sim.stop()
        raise UsageError(f"--scenario: {exc}") from None
    return sim, ops


def _listen_error(exc: OSError, host: str, port: int) -> UsageError:
    """Why the simulator could not listen, said in the user's terms: every one is a usage error
    (the --port or --host given), never a traceback."""
    import errno
    import socket

    pick = "pick another with --port (0: any free port)"
    if exc.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} is in use; {pick}")
    if exc.errno == errno.EACCES:
        return UsageError(f"permission denied to listen on port {port}; {pick}", hint="ports below 1024 need root")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"cannot listen on {host!r}: no such address on this machine", hint="use --host 127.0.0.1")
    if isinstance(exc, socket.gaierror):
        return UsageError(
            f"cannot listen on {host!r}: not a host name or IPv4 address here", hint="use --host 127.0.0.1"
        )
    reason = exc.strerror or str(exc)
    return UsageError(f"cannot listen on {host}:{port}: {reason}", hint="check --host and --port")


def demo_context(ctx: Context, sim: Any) -> Context:
    """A Context that talks only to the simulator: its own in-memory profiles, none of the
    user's config file or credential variables (the demo must not touch a real account)."""
    from bulkop.config import ConfigFile
    from bulkop.providers import BUILTIN_NAMES, builtin
    from bulkop.simulator.scenario import PROVIDERS

    profiles: dict[str, dict[str, Any]] = {}
    for name in (n for n in BUILTIN_NAMES if n in PROVIDERS):
        # The simulator takes one token for bearer and header auth, one login for basic.
        needed = builtin(name).secrets_needed
        if "password" in needed:
            secret = {"login": sim.saymon_login, "password": sim.saymon_password}
        else:
            secret = {"api_key": sim.knock_token} if needed else {}
        profiles[demo_profile(name)] = {"provider": name, "base_url": sim.base_url, **secret}
    cfg = ConfigFile(path=Path("<demo>"), default_profile=KNOCK_PROFILE, profiles=profiles)
    env = {k: v for k, v in ctx.env.items() if not k.startswith(("BULKOP_", "KNOCK_", "SAYMON_"))}
    demo = dataclasses.replace(ctx, env=env, profile=None, _cfg=cfg, _cfg_loaded=True, _http=None)
    return demo


def run(opts: Options, ctx: Context) -> int:
    from bulkop.watch import command as watch

    sim, ops = _start(opts.speed, scenarios=provider_scenarios(opts.provider))
    try:
        demo = demo_context(ctx, sim)
        ids = [f"{demo_profile(p)}:{i}" for p, i in ops]
        plan = demo_plan(opts.provider)
        if opts.output != "json":
            ctx.stderr.write(
                f"bulkop demo: simulator at {sim.base_url}; watching {len(ids)} operations "
                f"({plan.banner}). Ctrl-C stops.\n"
            )
            ctx.stderr.flush()
        # No next command per failure: the simulator stops with the demo, and its profiles
        # exist only inside it; the closing line says what to run instead.
        code = watch.run(watch.Options(ids=ids, output=opts.output, display=opts.display, next_step=""), demo)
        demo.close()
        if opts.output != "json":
            ctx.stderr.write(
                f"bulkop demo: exit code {code} ({plan.as_planned if code == plan.exit_code else 'see above'}). "
                "Next: `bulkop demo serve` to try get, status and watch by hand.\n"
            )
        return code
    finally:
        sim.stop()


def serve(opts: ServeOptions, ctx: Context) -> int:
    """Run the simulator in the foreground until Ctrl-C, printing how to use it."""
    from bulkop.collector import long_running

    long_running()
    extra = load_scenarios(opts.scenarios)
    sim, ops = _start(opts.speed, opts.port, opts.host, extra)
    try:
        demo_ops, own = ops[: len(ops) - len(extra)], ops[len(ops) - len(extra) :]
        knock = [i for p, i in demo_ops if p == "knock"]
        saymon = [i for p, i in demo_ops if p == "saymon"]
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
        )
        if own:
            out.write("Your --scenario operations:\n")
            for (provider, op_id), scenario in zip(own, extra, strict=True):
                out.write(f"  {provider} {op_id}  {json.dumps(scenario.name)}\n")
            out.write("\n")
        out.write(
            "New operations: POST a scenario to /_sim/operations, e.g.\n"
            f"  curl -X POST {sim.base_url}/_sim/operations \\\n"
            """    -d '{"name": "mine", "total_rows": 5000, "duration": 30}'\n"""
        )
        out.flush()
        threading.Event().wait()  # until Ctrl-C / SIGTERM, which cli.run turns into an exit code
        return 0
    finally:
        sim.stop()
