"""1. Start-up: one-shot commands in fresh processes, against a bare interpreter and one-liners."""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass
from functools import partial

import harness
from common import Bench
from harness import BULKOP, PYTHON, Outcome, pair_ratios, spread
from report import Goal, Row

SECTION = "1 start-up"


def oneliner(url: str, headers: dict[str, str]) -> str:
    """The issue's floor: the least a Python user would type to fetch and print one operation."""
    return f"import httpx,json; r=httpx.get({url!r}, headers={headers!r}); print(json.dumps(r.json(), indent=2))"


def knockapi_oneshot(bench: Bench, op_id: str) -> str:
    """Knock's official SDK fetching the same operation once, as a user of the SDK would."""
    return (
        f"import knockapi; c=knockapi.Knock(api_key={bench.token!r}, "
        f"base_url={bench.base_url!r}); print(c.bulk_operations.get({op_id!r}).to_json())"
    )


def has_knockapi() -> bool:
    return importlib.util.find_spec("knockapi") is not None


def run(bench: Bench) -> list[Row]:
    # A finished operation with a few error items: what `get` usually shows.
    op_id = bench.add(name="users.identify", total_rows=2_000, queued_seconds=0, duration=0, error_rate=0.0025)
    env = bench.env()
    sh = partial(harness.run, env=env)
    line = oneliner(bench.url(op_id), bench.headers)
    cases = {
        "pass": partial(sh, [PYTHON, "-c", "pass"]),
        "oneliner": partial(sh, [PYTHON, "-c", line]),
        "oneliner_tty": partial(sh, [PYTHON, "-c", line], tty=True),
        "version": partial(sh, [*BULKOP, "--version"]),
        "help": partial(sh, [*BULKOP, "--help"]),
        "get_json": partial(sh, [*BULKOP, "get", op_id, "-o", "json"]),
        "get_table": partial(sh, [*BULKOP, "get", op_id], tty=True),
        "status": partial(sh, [*BULKOP, "status", op_id]),
    }
    user_id, user_env = user_provider(bench)
    cases["get_json_user"] = partial(harness.run, [*BULKOP, "get", user_id, "-o", "json"], env=user_env)
    knock = has_knockapi()
    if knock:
        cases["knockapi"] = partial(sh, [PYTHON, "-c", knockapi_oneshot(bench, op_id)])
    results = harness.rounds(cases, 2 if bench.quick else 15)
    _check_output(results, op_id)
    _check_user_output(results, user_id)

    def walls(name: str) -> list[float]:
        return [o.wall for o in results[name]]

    def ratio(id: str, name: str, a: str, b: str, floor: str, goal: Goal | None) -> Row:
        # CPU time is less disturbed by other work on the machine than wall time: shown beside.
        cpu = pair_ratios([o.cpu for o in results[a]], [o.cpu for o in results[b]])
        return Row.measured(
            f"startup.{id}",
            SECTION,
            name,
            floor,
            "x",
            pair_ratios(walls(a), walls(b)),
            goal,
            note=f"{_ms(results[a]):.0f} ms vs {_ms(results[b]):.0f} ms; CPU ratio {cpu.median:.2f}x",
            cpu_ratio=round(cpu.median, 3),
            a_ms=_ms(results[a]),
            b_ms=_ms(results[b]),
            a_cpu_ms=round(statistics.median(o.cpu for o in results[a]) * 1000, 1),
            a_rss_mb=round(statistics.median(o.rss_mb for o in results[a]), 1),
        )

    knock_floor = "knockapi get"
    rows = [
        _absolute("floor.pass", "floor: python -c pass", results["pass"]),
        _absolute("floor.oneliner", "floor: httpx one-liner", results["oneliner"]),
        _absolute("floor.oneliner_tty", "floor: httpx one-liner (pty)", results["oneliner_tty"]),
    ]
    if knock:
        rows.append(_absolute("floor.knockapi", "floor: knockapi one-shot", results["knockapi"]))
    rows += [
        ratio("version", "bulkop --version", "version", "pass", "python -c pass", Goal("<=", 2.0)),
        ratio("help", "bulkop --help", "help", "oneliner", "httpx one-liner", None),
        ratio("get_json", "bulkop get ID -o json", "get_json", "oneliner", "httpx one-liner", Goal("<=", 1.5)),
    ]

    def against_knockapi(id: str, name: str) -> Row:
        if knock:
            return ratio(f"{id}.knockapi", name, id, "knockapi", knock_floor, Goal("<=", 0.6))
        reason = "knockapi not installed: pip install -e '.[bench]'"
        return Row.skipped(f"startup.{id}.knockapi", SECTION, f"{name} vs knockapi", reason, Goal("<=", 0.6), "x")

    rows += [
        against_knockapi("get_json", "bulkop get ID -o json"),
        ratio(
            "get_table",
            "bulkop get ID (table, pty)",
            "get_table",
            "oneliner_tty",
            "httpx one-liner (pty)",
            Goal("<=", 1.8),
        ),
        ratio(
            "get_json.user_provider",
            "user provider: get ID -o json",
            "get_json_user",
            "get_json",
            "bulkop get ID -o json (Knock)",
            Goal("<=", 1.10),
        ),
        ratio("status", "bulkop status ID", "status", "oneliner", "httpx one-liner", Goal("<=", 1.5)),
        against_knockapi("status", "bulkop status ID"),
    ]
    bench.extra["startup_cpu_s"] = {name: statistics.median(o.cpu for o in outs) for name, outs in results.items()}
    bench.extra["importtime"] = importtime(bench, op_id, runs=1 if bench.quick else 3)
    return rows


def user_provider(bench: Bench) -> tuple[str, dict[str, str]]:
    """An operation of a provider defined in config.toml ([providers.acme], a copy of the
    built-in auth0 definition: bearer auth, JMESPath expressions), and the environment of a
    user whose default profile uses it. The config is a file of its own, so the Knock rows
    keep their empty config and pay nothing for it."""
    import dataclasses

    from bulkop.providers import builtin, to_toml

    op_id = bench.sim.add(
        {
            "provider": "auth0",
            "name": "users_import",
            "total_rows": 2_000,
            "queued_seconds": 0,
            "duration": 0,
            "error_rate": 0.0025,
        }
    )["id"]
    definition = to_toml(dataclasses.replace(builtin("auth0"), name="acme"))
    profile = (
        f'[profiles.acme]\nprovider = "acme"\nbase_url = {json.dumps(bench.base_url)}\n'
        f"api_key = {json.dumps(bench.token)}\n"
    )
    path = os.path.join(bench.home, "user-provider.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write('default_profile = "acme"\n' + definition + profile)
    os.chmod(path, 0o600)
    return op_id, harness.clean_env({"BULKOP_CONFIG": path}, home=bench.home)


def _check_user_output(results: dict[str, list[Outcome]], op_id: str) -> None:
    data = json.loads(results["get_json_user"][0].out)
    if data.get("id") != op_id:
        raise harness.ChildFailed(f"user provider get -o json printed another operation: {data.get('id')}")


def _ms(outcomes: list[Outcome]) -> float:
    return round(statistics.median(o.wall for o in outcomes) * 1000, 1)


def _absolute(id: str, name: str, outcomes: list[Outcome]) -> Row:
    values = spread([o.wall * 1000 for o in outcomes])
    return Row.measured(
        f"startup.{id}",
        SECTION,
        name,
        "",
        "ms",
        values,
        cpu_ms=round(statistics.median(o.cpu for o in outcomes) * 1000, 1),
        rss_mb=round(statistics.median(o.rss_mb for o in outcomes), 1),
    )


def _check_output(results: dict[str, list[Outcome]], op_id: str) -> None:
    """A benchmark of a command that printed the wrong thing would measure nothing useful."""
    data = json.loads(results["get_json"][0].out)
    if data.get("id") != op_id:
        raise harness.ChildFailed(f"bulkop get -o json printed another operation: {data.get('id')}")
    if op_id.encode() not in results["get_table"][0].out:
        raise harness.ChildFailed("bulkop get (pty) did not show the operation id")


@dataclass(frozen=True)
class Import:
    module: str
    depth: int  # 0: imported by the program itself
    self_us: int
    cumulative_us: int


def importtime(bench: Bench, op_id: str, runs: int, top: int = 12) -> dict[str, object]:
    """`python -X importtime` of `bulkop get ID -o json`: the modules that cost the most, in ms.

    Entries come from the run with the median total, so that they add up (medians taken module
    by module across runs would mix runs).
    """
    script = BULKOP[1:] if BULKOP[0] == PYTHON else BULKOP  # `-m bulkop` or the console script
    argv = [PYTHON, "-X", "importtime", *script, "get", op_id, "-o", "json"]
    harness.run(argv, bench.env())  # warms the page cache and writes .pyc files
    parsed = sorted(
        (_parse_importtime(harness.run(argv, bench.env()).err.decode()) for _ in range(runs)),
        key=lambda imports: sum(i.self_us for i in imports),
    )
    imports = parsed[len(parsed) // 2]
    packages: dict[str, int] = defaultdict(int)
    for i in imports:
        packages[i.module.split(".")[0]] += i.self_us

    def ms(entries: list[tuple[str, int]]) -> list[dict[str, object]]:
        best = sorted(entries, key=lambda e: e[1], reverse=True)[:top]
        return [{"module": name, "ms": round(us / 1000, 1)} for name, us in best]

    return {
        "command": "python -X importtime bulkop get ID -o json",
        "runs": runs,
        "total_ms": round(sum(i.self_us for i in imports) / 1000, 1),
        "top_level_cumulative": ms([(i.module, i.cumulative_us) for i in imports if i.depth == 0]),
        "by_package": ms(list(packages.items())),
        "self": ms([(i.module, i.self_us) for i in imports]),
    }


def _parse_importtime(stderr: str) -> list[Import]:
    imports = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # two spaces per level after one
        imports.append(Import(name.strip(), depth, int(own), int(cumulative)))
    return imports
