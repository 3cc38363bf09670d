"""`bulkop list`: Typer wiring (behaviour in commands/list.py; not cli/list.py, which would shadow the builtin `list` in cli/__init__)."""

from __future__ import annotations

from typing import Annotated

import typer

from bulkop.cli.common import Color, ColorOpt, Debug, Doc, Output, OutputOpt, apply_common, parse_since, shell

DOC = Doc(
    examples=(
        shell("bulkop list                                  # the last 7 days, newest first"),
        shell("bulkop list --status processing --refresh    # fetch the unfinished ones again first"),
        shell("bulkop list --since 30d -o json | jq \\", "    -r '.[] | select(.status==\"failed\") | .id'"),
        shell("bulkop get @last; bulkop watch --unfinished  # the most recent one; re-attach"),
    ),
    notes=(
        "The journal lives in the user state directory (BULKOP_JOURNAL moves it; --no-journal, "
        "BULKOP_NO_JOURNAL=1 or `journal = false` in config.toml turn it off).",
    ),
    exit_codes="Exit codes: 0, or as for `get` when --refresh could not fetch one.",
)


# The status words `get` and `status` show: Knock's states, and SAYMON's "finished" / "not
# finished" (which, as filters, also match every finished or unfinished operation).
STATUS_WORDS = ("queued", "processing", "completed", "failed", "finished", "not finished")


def parse_statuses(values: list[str]) -> list[str]:
    """`--status` values as status words (any case; `not-finished` and `unfinished` too)."""

    from bulkop.errors import UsageError, did_you_mean

    words = []
    for raw in values:
        word = " ".join(raw.strip().lower().replace("-", " ").replace("_", " ").split())
        word = {"unfinished": "not finished"}.get(word, word)
        if word not in STATUS_WORDS:
            raise UsageError(
                f"--status {raw!r} is not a status (valid: {', '.join(STATUS_WORDS)}){did_you_mean(word, STATUS_WORDS)}",
                hint='e.g. --status failed, --status "not finished"',
            )
        words.append(word)
    return words


def register(app: typer.Typer) -> None:
    app.command("list", epilog=DOC.epilog())(list_)


def list_(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help=(
                "Only operations last seen in this state (repeatable): queued, processing, completed, "
                'failed, or finished / "not finished" (any provider; SAYMON says only these).'
            ),
            metavar="STATUS",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Only operations last reached through this profile.", show_default=False),
    ] = None,
    since: Annotated[
        str,
        typer.Option("--since", help="Only operations seen within this long: 1h, 7d, 30d, or all.", metavar="DURATION"),
    ] = "7d",
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", help="At most this many, newest first; 0 means no limit.", min=0, metavar="N"),
    ] = 50,
    output: OutputOpt = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch the unfinished operations again before listing.")
    ] = False,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
) -> None:
    """List the operations bulkop has seen (its journal), newest first, with their last known state."""
    from bulkop.commands import list as cmd

    c = apply_common(ctx, None, color, debug)
    c.json_errors = output in (Output.json, Output.jsonl)
    opts = cmd.Options(
        statuses=parse_statuses(status or []),
        profile=profile,
        since=parse_since(since),
        limit=limit or None,
        output=output.value if output else None,
        refresh=refresh,
    )
    raise typer.Exit(cmd.run(opts, c))
