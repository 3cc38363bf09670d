"""`bulkop demo`: Typer wiring for the built-in simulator (behaviour in commands/demo.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperCommand

from bulkop.cli.common import Doc, Epilog, context, shell
from bulkop.cli.watch import DisplayMode, WatchOutput

app = typer.Typer(
    help="Run the built-in simulator of both APIs and watch a few operations: no account needed.",
    invoke_without_command=True,
    epilog=Doc(
        examples=(
            shell("bulkop demo"),
            shell("bulkop demo --display lines"),
            shell("bulkop demo --provider zendesk"),
            shell("bulkop demo serve --port 8080"),
        )
    ).epilog(),
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="demo")


Speed = Annotated[
    float, typer.Option("--speed", help="Run the simulated clock this many times faster.", min=0.01, max=1000)
]


@app.callback()
def demo(
    ctx: typer.Context,
    speed: Speed = 1.0,
    output: Annotated[
        WatchOutput, typer.Option("--output", "-o", help="text, or json (NDJSON on stdout).", case_sensitive=False)
    ] = WatchOutput.text,
    display: Annotated[
        DisplayMode | None,
        typer.Option("--display", help="live, lines or quiet (default: live in a terminal).", show_default=False),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="Serve every demo operation as this built-in provider's (knock, saymon, zendesk, auth0, "
            "mailchimp, elasticsearch); default: a mix of Knock and SAYMON.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the simulator, create operations with different fates, and watch them."""
    if ctx.invoked_subcommand is not None:
        return
    from bulkop.commands import demo as cmd

    opts = cmd.Options(speed=speed, output=output.value, display=display.value if display else None, provider=provider)
    raise typer.Exit(cmd.run(opts, context(ctx)))


SERVE_DOC = Doc(
    examples=(
        shell("bulkop demo serve --port 8080"),
        shell("bulkop demo serve \\", """    --scenario '{"name": "slow", "total_rows": 50000, "duration": 600}'"""),
        shell("""bulkop demo serve --scenario '{"fail_at": 0.5, "error_rate": 0.1}' \\""", "    --scenario @more.json"),
        shell(
            "curl -X POST http://127.0.0.1:8080/_sim/operations \\",
            """    -d '{"provider": "saymon", "duration": 30}'""",
        ),
    ),
    notes=(
        "Scenario fields: a scenario is a JSON object with any of these fields (unknown fields and bad "
        "values are refused); --scenario, POST /_sim/operations (one) and /_sim/operations/batch (a list) "
        "all take them:",
    ),
)


class _ServeCommand(TyperCommand):
    """`demo serve`, whose help ends with the scenario fields: read from the simulator only when
    the help is shown (importing it on every start cost every command about 7 ms)."""

    _epilog: Epilog
    _complete: bool

    @property
    def epilog(self) -> str:
        if not self._complete:
            from bulkop.simulator.scenario import fields_help

            fields = fields_help()  # one paragraph per field
            doc = self._epilog.doc.with_notes(*(field.strip() for field in fields.split("\n\n")))
            self._epilog, self._complete = Epilog(f"{self._epilog}\n\n{fields}", doc), True
        return self._epilog

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        assert isinstance(value, Epilog)
        # Set again only with the whole text (cli.help escapes it): the fields are in it already.
        self._complete = hasattr(self, "_epilog")
        self._epilog = value


@app.command(cls=_ServeCommand, epilog=SERVE_DOC.epilog())
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    speed: Speed = 1.0,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="Also serve this operation: a JSON scenario object (or a list of them), or @FILE "
            "holding one. Repeatable; see Scenario fields.",
            metavar="JSON|@FILE",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Keep the simulator running in the foreground and print its URL, credentials and example ids."""
    from bulkop.commands import demo as cmd

    opts = cmd.ServeOptions(port=port, host=host, speed=speed, scenarios=list(scenario or []))
    raise typer.Exit(cmd.serve(opts, context(ctx)))
