"""`bulkop providers ...`: Typer wiring for listing, showing and checking provider definitions
(behaviour in commands/providers.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bulkop.cli.common import Color, ColorOpt, Debug, Doc, Output, OutputOpt, apply_common, context, shell

LIST_DOC = Doc(
    examples=(
        shell("bulkop providers"),
        shell("bulkop providers -o json | jq -r '.[] | select(.error) | .name'"),
        shell('bulkop providers show zendesk --as acme >> "$(bulkop config path)"'),
        shell("bulkop providers check acme saved-response.json"),
    ),
    exit_codes="Exit codes: 0; 7 when a definition in config.toml cannot be used (it is listed with its "
    "error, and the error is also on stderr).",
)

app = typer.Typer(
    help="List, show and check provider definitions: the built-in ones and [providers.NAME] in config.toml.\n\n"
    "A provider says how to fetch one bulk operation (a GET) and how to read its JSON; see README, "
    "Any job API, and docs/providers.md.",
    epilog=LIST_DOC.epilog(),
    invoke_without_command=True,
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="providers")


class ShowOutput(StrEnum):
    toml = "toml"
    json = "json"


class CheckOutput(StrEnum):
    table = "table"
    text = "text"
    json = "json"


NameArg = Annotated[
    str,
    typer.Argument(
        help="Provider name: built-in, or [providers.NAME] in config.toml (see `bulkop providers`).",
        metavar="NAME",
        show_default=False,
        autocompletion=lambda incomplete: complete_names(incomplete),
    ),
]


def complete_names(incomplete: str) -> list[str]:
    """Shell completion: the built-in providers and config.toml's (nothing printed on an error)."""
    import os

    from bulkop.providers import BUILTIN_NAMES

    names = list(BUILTIN_NAMES)
    try:
        from bulkop.commands.providers import user_tables
        from bulkop.context import Context

        names += [str(n) for n in user_tables(Context(env=dict(os.environ)))[1] if n not in names]
    except Exception:  # completion must never print an error into the user's command line
        pass
    return [n for n in names if n.startswith(incomplete.lower())]


def _list(ctx: typer.Context, output: Output | None, color: Color, debug: bool) -> None:
    from bulkop.commands import providers as cmd

    c = apply_common(ctx, None, color, debug)
    c.json_errors = output in (Output.json, Output.jsonl)
    raise typer.Exit(cmd.list_providers(cmd.ListOptions(output=output.value if output else None), c))


@app.callback()
def providers(ctx: typer.Context, output: OutputOpt = None, color: ColorOpt = Color.auto, debug: Debug = False) -> None:
    """List providers (the default), show one as TOML, or check what one reads from a saved body."""
    if ctx.invoked_subcommand is None:
        _list(ctx, output, color, debug)


@app.command("list", epilog=LIST_DOC.epilog())
def list_providers(
    ctx: typer.Context, output: OutputOpt = None, color: ColorOpt = Color.auto, debug: Debug = False
) -> None:
    """List built-in and configured providers: name, source, auth, URL template, description.

    A definition in config.toml that cannot be used (a broken table, or a built-in's name) is
    listed with its error.
    """
    _list(ctx, output, color, debug)


@app.command(
    epilog=Doc(
        examples=(
            shell("bulkop providers show knock"),
            shell('bulkop providers show zendesk --as acme >> "$(bulkop config path)"   # then edit [providers.acme]'),
            shell("bulkop providers show acme -o json | jq .fields"),
        ),
        exit_codes="Exit codes: 0; 2 unknown NAME (with a did-you-mean); 7 a definition in config.toml that cannot be used.",
    ).epilog(),
)
def show(
    ctx: typer.Context,
    name: NameArg,
    as_name: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Print it as [providers.NEWNAME], ready to append to config.toml (a built-in's name "
            "cannot be reused).",
            metavar="NEWNAME",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        ShowOutput,
        typer.Option("--output", "-o", help="toml or json.", rich_help_panel="Output", case_sensitive=False),
    ] = ShowOutput.toml,
) -> None:
    """Print a provider's definition as TOML: a starting point to copy into config.toml.

    Definitions hold no secrets (credentials stay in profiles), so the output is safe to share.
    """
    from bulkop.commands import providers as cmd

    c = context(ctx)
    c.json_errors = output is ShowOutput.json
    opts = cmd.ShowOptions(name=name.lower(), as_name=as_name, output=output.value)
    raise typer.Exit(cmd.show(opts, c))


@app.command(
    epilog=Doc(
        examples=(
            shell(
                'curl -s -u "$EMAIL/token:$TOKEN" \\',
                "    https://acme.zendesk.com/api/v2/job_statuses/$ID > job.json",
            ),
            shell("bulkop providers check zendesk job.json"),
            shell("bulkop providers check acme sample.json -o json | jq .status"),
            shell("curl -s … | bulkop providers check acme -"),
            shell(
                "bulkop providers check acme sample.json --definition acme.toml   # a definition not yet in config.toml"
            ),
        ),
        exit_codes="Exit codes: 0 the body reads as an operation; 6 it does not (not JSON, an unmapped status "
        "value, a missing required field, a wrong type: as for a live answer); 7 the definition is "
        "broken; 2 unknown NAME, unreadable FILE or a malformed --id.",
    ).epilog(),
)
def check(
    ctx: typer.Context,
    name: NameArg,
    file: Annotated[
        str,
        typer.Argument(help="A saved response body (JSON), or - for stdin.", metavar="FILE", show_default=False),
    ],
    op_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="The id the body answers (checked as `get ID` checks it); default: the body's own.",
            metavar="ID",
            show_default=False,
        ),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="Read NAME from this TOML file of [providers.NAME] tables instead of config.toml.",
            metavar="FILE.toml",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        CheckOutput | None,
        typer.Option(
            "--output",
            "-o",
            help="table (terminal default), text (piped default), or json (the normalised fields).",
            rich_help_panel="Output",
            show_default=False,
            case_sensitive=False,
        ),
    ] = None,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
) -> None:
    """Read a saved response body with a provider's definition and print what bulkop makes of it.

    Offline: no request is made and no credentials are needed. Shows the operation as `get`
    would, or the error a live answer like this one would give (which field, which mapping to edit).
    """
    from bulkop.commands import providers as cmd

    c = apply_common(ctx, None, color, debug)
    c.json_errors = output is CheckOutput.json
    opts = cmd.CheckOptions(
        name=name.lower(),
        file=file,
        op_id=op_id,
        output=output.value if output else None,
        definition=definition,
    )
    raise typer.Exit(cmd.check(opts, c))
