"""`bulkop status`: Typer wiring (behaviour in commands/status.py)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from bulkop.cli.common import (
    STATUS_POLL_LOOP,
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
    shell,
)


class StatusOutput(str, Enum):
    text = "text"
    json = "json"


DOC = Doc(
    examples=(
        shell("bulkop status $ID                      # completed 1000/1000"),
        shell(STATUS_POLL_LOOP),
        shell("# then $rc: 0 completed, 1 failed, 5 not found, 4/6/7 errors"),
        shell("bulkop status $ID -o json | jq -r .status"),
        shell(
            "bulkop status $ID --until 'processed_rows >= `500`'   # completed 1,000/1,000; until: processed_rows >= `500`"
        ),
    ),
    exit_codes="Exit codes: 0 completed (or --until true), 1 failed (or --fail-if true), 3 queued or processing "
    "(4, 5, 6, 7 as for every command); 2 for a bad --until/--fail-if expression, before any request.",
)


def register(app: typer.Typer) -> None:
    app.command(epilog=DOC.epilog())(status)


def status(
    ctx: typer.Context,
    id: Annotated[
        str,
        typer.Argument(
            help="Operation id, or @last for the most recent.",
            show_default=False,
            metavar="ID",
            autocompletion=complete_ids,
        ),
    ],
    output: Annotated[
        StatusOutput,
        typer.Option("--output", "-o", help="text or json.", rich_help_panel="Output", case_sensitive=False),
    ] = StatusOutput.text,
    until: Until = None,
    fail_if: FailIf = None,
    profile: Profile = None,
    provider: Provider = None,
    base_url: BaseUrl = None,
    request_timeout: RequestTimeout = None,
    retries: Retries = None,
    allow_insecure_http: AllowInsecureHttp = None,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
) -> None:
    """Print one line about an operation and exit 0 (completed), 1 (failed) or 3 (unfinished)."""
    from bulkop import conditions
    from bulkop.commands import status as cmd

    c = apply_common(ctx, profile, color, debug)
    c.json_errors = output is StatusOutput.json
    opts = cmd.Options(
        id=id,
        output=output.value,
        flags=connection_flags(provider, base_url, request_timeout, retries, allow_insecure_http),
        conditions=conditions.parse(until, fail_if),
    )
    raise typer.Exit(cmd.run(opts, c))
