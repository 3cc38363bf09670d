"""`bulkop config ...`: Typer wiring for profile management (behaviour in commands/config.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bulkop.cli.common import (
    AllowInsecureHttp,
    BaseUrl,
    Doc,
    Profile,
    Provider,
    RequestTimeout,
    Retries,
    Term,
    complete_profiles,
    connection_flags,
    context,
    shell,
)
from bulkop.settings import SETTINGS

app = typer.Typer(
    help="Manage profiles: provider, base URL and credentials.\n\n"
    "Profiles live in a TOML file: `bulkop config path` prints where; BULKOP_CONFIG moves it.",
    epilog=Doc(
        examples=(
            shell('printf %s "$KNOCK_API_KEY" | bulkop config add prod --provider knock'),
            shell("bulkop config list"),
            shell("bulkop -p prod get $ID"),
        )
    ).epilog(),
    no_args_is_help=True,
)


class Output(StrEnum):
    table = "table"
    text = "text"
    json = "json"


Name = Annotated[
    str,
    typer.Argument(help="Profile name: letters, digits, '-', '_' and '.'.", metavar="NAME", show_default=False),
]
ExistingName = Annotated[
    str,
    typer.Argument(
        help="Profile name (see `bulkop config list`).",
        metavar="NAME",
        show_default=False,
        autocompletion=complete_profiles,
    ),
]
OutputOpt = Annotated[
    Output | None,
    typer.Option(
        "--output",
        "-o",
        help="table (terminal default), text (piped default) or json.",
        case_sensitive=False,
        show_default=False,
    ),
]


# The keys a profile may hold, straight from the settings table.
KEYS = (
    *(Term(s.name, s.type, s.help) for s in SETTINGS),
    *(
        Term(s.env_key, "", f"name of an environment variable to read {s.name} from (nothing secret on disk)")
        for s in SETTINGS
        if s.env_key
    ),
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="config")


@app.command(
    epilog=Doc(
        examples=(
            shell('printf %s "$KNOCK_API_KEY" | bulkop config add prod --provider knock'),
            shell("bulkop config add staging --provider knock   # asks for the API key, hidden"),
            shell("bulkop config add prod --provider knock --api-key-env KNOCK_API_KEY_PROD"),
            shell(
                'printf %s "$PW" | bulkop config add mon --provider saymon \\',
                "    --base-url https://saymon.example.com --login ops",
            ),
        )
    ).epilog(),
)
def add(
    ctx: typer.Context,
    name: Name,
    provider: Annotated[
        str,
        typer.Option(
            "--provider",
            help="Which API the profile talks to: a built-in provider (knock, saymon, zendesk, auth0, mailchimp, "
            "elasticsearch) or one defined in config.toml as [providers.NAME].",
            show_default=False,
        ),
    ],
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="API base URL (required for saymon; knock: https://api.knock.app).",
            metavar="URL",
            show_default=False,
        ),
    ] = None,
    login: Annotated[
        str | None,
        typer.Option("--login", help="saymon: login (asked for in a terminal when not given).", show_default=False),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="knock: read the API key from this environment variable instead of storing it.",
            metavar="VAR",
            show_default=False,
        ),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="saymon: read the password from this environment variable instead of storing it.",
            metavar="VAR",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add a profile; the secret is asked for (hidden) in a terminal, or read from stdin.

    The first profile added becomes the default.
    """
    from bulkop.commands import config as cmd

    opts = cmd.AddOptions(
        name=name,
        provider=provider.lower(),
        base_url=base_url,
        login=login,
        api_key_env=api_key_env,
        password_env=password_env,
    )
    raise typer.Exit(cmd.add(opts, context(ctx)))


@app.command(
    "list",
    epilog=Doc(examples=(shell("bulkop config list"), shell("bulkop config list -o json | jq -r '.[].name'"))).epilog(),
)
def list_profiles(ctx: typer.Context, output: OutputOpt = None) -> None:
    """List profiles: name, provider, base URL, and which is the default."""
    from bulkop.commands import config as cmd

    c = context(ctx)
    c.json_errors = output is Output.json
    raise typer.Exit(cmd.list_profiles(cmd.ListOptions(output=output.value if output else None), c))


@app.command(
    epilog=Doc(
        examples=(
            shell("bulkop config show"),
            shell("bulkop config show staging"),
            shell("BULKOP_RETRIES=5 bulkop config show prod \\", "    --base-url http://localhost:8080"),
            shell("bulkop config show -o json | jq .settings.base_url"),
        )
    ).epilog(),
)
def show(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="Profile to show (default: --profile, BULKOP_PROFILE or the default).",
            metavar="NAME",
            show_default=False,
            autocompletion=complete_profiles,
        ),
    ] = None,
    output: OutputOpt = None,
    profile: Profile = None,
    provider: Provider = None,
    base_url: BaseUrl = None,
    request_timeout: RequestTimeout = None,
    retries: Retries = None,
    allow_insecure_http: AllowInsecureHttp = None,
) -> None:
    """Show every effective setting and where it came from: flag, env, profile or default.

    Secrets are masked. Connection flags given here show how they would win.
    """
    from bulkop.commands import config as cmd

    c = context(ctx)
    if profile:
        c.profile = profile
    c.json_errors = output is Output.json
    opts = cmd.ShowOptions(
        name=name,
        output=output.value if output else None,
        flags=connection_flags(provider, base_url, request_timeout, retries, allow_insecure_http),
    )
    raise typer.Exit(cmd.show(opts, c))


@app.command(
    "set",
    epilog=Doc(
        examples=(
            shell("bulkop config set prod retries 5"),
            shell("bulkop config set prod base_url https://api.knock.app"),
            shell('printf %s "$KNOCK_API_KEY" | bulkop config set prod api_key'),
            shell("bulkop config set prod api_key_env KNOCK_API_KEY_PROD"),
        ),
        terms_title="Keys",
        terms=KEYS,
    ).epilog(),
)
def set_key(
    ctx: typer.Context,
    name: ExistingName,
    key: Annotated[str, typer.Argument(help="Setting to change (see Keys below).", metavar="KEY", show_default=False)],
    value: Annotated[
        str | None,
        typer.Argument(
            help="New value; leave it out for a secret (asked for, or read from stdin).",
            metavar="VALUE",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Set one key of a profile; secrets come from a hidden prompt or stdin, never an argument."""
    from bulkop.commands import config as cmd

    opts = cmd.SetOptions(name=name, key=key, value=value)
    raise typer.Exit(cmd.set_key(opts, context(ctx)))


@app.command(
    "unset",
    epilog=Doc(
        examples=(shell("bulkop config unset prod retries"), shell("bulkop config unset prod api_key")),
        terms_title="Keys",
        terms=KEYS,
    ).epilog(),
)
def unset_key(
    ctx: typer.Context,
    name: ExistingName,
    key: Annotated[
        str, typer.Argument(help="Setting to remove (the default applies again).", metavar="KEY", show_default=False)
    ],
) -> None:
    """Remove one key from a profile."""
    from bulkop.commands import config as cmd

    raise typer.Exit(cmd.unset_key(cmd.UnsetOptions(name=name, key=key), context(ctx)))


@app.command(epilog=Doc(examples=(shell("bulkop config use staging"),)).epilog())
def use(ctx: typer.Context, name: ExistingName) -> None:
    """Make a profile the default (used when neither --profile nor BULKOP_PROFILE is given)."""
    from bulkop.commands import config as cmd

    raise typer.Exit(cmd.use(cmd.UseOptions(name=name), context(ctx)))


@app.command(epilog=Doc(examples=(shell("bulkop config remove staging"),)).epilog())
def remove(ctx: typer.Context, name: ExistingName) -> None:
    """Remove a profile (if it was the default, there is no default any more)."""
    from bulkop.commands import config as cmd

    raise typer.Exit(cmd.remove(cmd.RemoveOptions(name=name), context(ctx)))


@app.command(
    epilog=Doc(examples=(shell("bulkop config path"), shell('"${EDITOR:-vi}" "$(bulkop config path)"'))).epilog()
)
def path(ctx: typer.Context) -> None:
    """Print the config file's path (env: BULKOP_CONFIG; default: the user config directory)."""
    from bulkop.commands import config as cmd

    raise typer.Exit(cmd.path(cmd.PathOptions(), context(ctx)))
