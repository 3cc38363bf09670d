"""`bulkop get`: Typer wiring (behaviour in commands/get.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from bulkop.cli.common import (
    EXIT_CODES_EPILOG,
    AllowInsecureHttp,
    BaseUrl,
    Color,
    ColorOpt,
    Debug,
    Doc,
    Output,
    OutputOpt,
    Profile,
    Provider,
    RequestTimeout,
    Retries,
    apply_common,
    complete_ids,
    connection_flags,
    shell,
)

DOC = Doc(
    examples=(
        shell("bulkop get 123e4567-e89b-12d3-a456-426614174000"),
        shell("bulkop get $ID -o json | jq .processed_rows"),
        shell("bulkop get $ID1 $ID2 -o jsonl | jq -r 'select(.status==\"failed\") | .id'"),
        shell("bulkop -p prod get $ID --errors"),
    ),
    exit_codes=EXIT_CODES_EPILOG,
)


def register(app: typer.Typer) -> None:
    app.command(epilog=DOC.epilog())(get)


def get(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Argument(
            help="Operation ids (Knock: UUIDs), or @last for the most recent.",
            show_default=False,
            metavar="ID...",
            autocompletion=complete_ids,
        ),
    ],
    output: OutputOpt = None,
    errors: Annotated[
        bool, typer.Option("--errors", help="List every error item, not just the first few.", rich_help_panel="Output")
    ] = False,
    exit_status: Annotated[
        bool, typer.Option("--exit-status", help="Exit like `status`: 1 if any failed, 3 if any is unfinished.")
    ] = False,
    profile: Profile = None,
    provider: Provider = None,
    base_url: BaseUrl = None,
    request_timeout: RequestTimeout = None,
    retries: Retries = None,
    allow_insecure_http: AllowInsecureHttp = None,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
) -> None:
    """Show one or more bulk operations: progress, counts, times and error items."""
    from bulkop.commands import get as cmd

    c = apply_common(ctx, profile, color, debug)
    c.json_errors = output in (Output.json, Output.jsonl)
    opts = cmd.Options(
        ids=ids,
        output=output.value if output else None,
        all_errors=errors,
        exit_status=exit_status,
        flags=connection_flags(provider, base_url, request_timeout, retries, allow_insecure_http),
    )
    raise typer.Exit(cmd.run(opts, c))
