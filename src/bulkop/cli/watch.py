"""`bulkop watch`: Typer wiring (behaviour in watch/command.py)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from bulkop.cli.common import (
    AllowInsecureHttp,
    BaseUrl,
    Color,
    ColorOpt,
    Debug,
    Doc,
    FailIf,
    Profile,
    Provider,
    RequestTimeout,
    Retries,
    Until,
    apply_common,
    complete_ids,
    connection_flags,
    parse_since,
    prose,
    setting_option,
    shell,
)

POLLING = "Polling"


class WatchOutput(str, Enum):
    text = "text"
    json = "json"


class DisplayMode(str, Enum):
    live = "live"
    lines = "lines"
    quiet = "quiet"


DOC = Doc(
    examples=(
        shell("bulkop watch 123e4567-e89b-12d3-a456-426614174000"),
        shell("bulkop watch $ID1 $ID2 --timeout 30m --max-errors 0"),
        shell("curl -s -X POST … | bulkop watch -          # ids (or BulkOperation JSON) from stdin"),
        shell("bulkop watch prod:$ID staging-saymon:$ID2    # PROFILE:ID, several accounts at once"),
        shell("bulkop watch $ID -o json | jq -r 'select(.final) | .operation.status'"),
        shell("bulkop watch $ID --until 'processed_rows >= `5000`'   # done once 5,000 rows are in"),
        shell("bulkop watch $ID --fail-if 'error_count > `100`'       # fail early on errors"),
        prose(
            'CI: `bulkop watch "$ID" --timeout 1h` prints throttled lines and exits 0 only if every operation completed.'
        ),
    ),
    exit_codes="Exit codes: 0 all completed (or --until true), 1 any failed (or --fail-if true, or more errors "
    "than --max-errors), 124 --timeout elapsed, 130 interrupted, 2 a bad --until/--fail-if expression "
    "(before any request), 4/5/6/7 as for every command.",
)


def register(app: typer.Typer) -> None:
    app.command(epilog=DOC.epilog())(watch)


def watch(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Operation ids, PROFILE:ID, @last, or - to read ids from stdin.",
            show_default=False,
            metavar="ID...",
            autocompletion=complete_ids,
        ),
    ] = None,
    output: Annotated[
        WatchOutput,
        typer.Option(
            "--output",
            "-o",
            help="text, or json: NDJSON on stdout, one object per observed change.",
            rich_help_panel="Output",
            case_sensitive=False,
        ),
    ] = WatchOutput.text,
    display: Annotated[
        DisplayMode | None,
        typer.Option(
            "--display",
            help="live (terminal default), lines (CI and pipes default) or quiet.",
            rich_help_panel="Output",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    interval: Annotated[str | None, setting_option("interval", POLLING)] = None,
    timeout: Annotated[str | None, setting_option("timeout", POLLING)] = None,
    max_rps: Annotated[float | None, setting_option("max_rps", POLLING, min=0.01, max=1e6)] = None,
    max_errors: Annotated[int | None, setting_option("max_errors", POLLING, min=0)] = None,
    max_consecutive_failures: Annotated[int | None, setting_option("max_consecutive_failures", POLLING, min=1)] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop as soon as one operation fails.", rich_help_panel=POLLING)
    ] = False,
    until: Until = None,
    fail_if: FailIf = None,
    unfinished: Annotated[
        bool,
        typer.Option("--unfinished", help="Also watch every operation the journal last saw queued or processing."),
    ] = False,
    since: Annotated[
        str, typer.Option("--since", help="With --unfinished: seen within this long (24h, 7d).", metavar="DURATION")
    ] = "24h",
    profile: Profile = None,
    provider: Provider = None,
    base_url: BaseUrl = None,
    request_timeout: RequestTimeout = None,
    retries: Retries = None,
    allow_insecure_http: AllowInsecureHttp = None,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
) -> None:
    """Watch operations until they complete or fail: live progress, CI-friendly lines, exit codes."""
    from bulkop import conditions
    from bulkop.settings import validate_flag
    from bulkop.watch import command as cmd

    c = apply_common(ctx, profile, color, debug)
    c.json_errors = output is WatchOutput.json
    checks = conditions.parse(until, fail_if)  # a bad expression: exit 2 before any request
    flags = connection_flags(provider, base_url, request_timeout, retries, allow_insecure_http)
    flags.update(
        interval=validate_flag("interval", interval) if interval is not None else None,
        timeout=validate_flag("timeout", timeout) if timeout is not None else None,
        max_rps=validate_flag("max_rps", max_rps) if max_rps is not None else None,
        max_errors=max_errors,
        max_consecutive_failures=max_consecutive_failures,
    )
    opts = cmd.Options(
        ids=ids or [],
        output=output.value,
        display=display.value if display else None,
        fail_fast=fail_fast,
        flags=flags,
        unfinished=unfinished,
        since=parse_since(since) or 1e9,
        conditions=checks,
    )
    raise typer.Exit(cmd.run(opts, c))
