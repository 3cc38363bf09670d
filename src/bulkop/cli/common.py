"""What every verb's wiring shares: option types (each flag spelled and documented once) and
the helpers that put the global options into the Context."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Annotated, Any

import typer

from bulkop.context import Context
from bulkop.errors import EXIT_CODE_NAMES
from bulkop.settings import BY_NAME

EXIT_CODES_EPILOG = (
    "Exit codes: "
    + ", ".join(f"{int(code)} {name}" for code, name in sorted(EXIT_CODE_NAMES.items()))
    + " (man bulkop explains each)."
)


@dataclass(frozen=True)
class Example:
    """One example of a command: shell lines as printed (a command too long for a man page goes
    on after a backslash; tests keep every line short), or a sentence of prose."""

    printed: tuple[str, ...]
    prose: bool = False

    @property
    def lines(self) -> tuple[str, ...]:
        """The commands as a shell reads them: a line ending in a backslash joined to the next."""
        joined: list[str] = []
        current = ""
        for line in self.printed:
            current += line.strip() if current else line
            if current.endswith(" \\"):
                current = current[:-1]
            else:
                joined.append(current)
                current = ""
        return (*joined, current.rstrip()) if current else tuple(joined)


def shell(*printed: str) -> Example:
    return Example(printed)


def prose(text: str) -> Example:
    return Example((text,), prose=True)


@dataclass(frozen=True)
class Term:
    """An entry of a list in a command's help, such as `retries (int): Retries of a request …`."""

    name: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"  {self.name}{f' ({self.kind})' if self.kind else ''}: {self.text}"


@dataclass(frozen=True)
class Doc:
    """What a command's help says after its options, as data: --help shows it as the epilog,
    and python -m bulkop._gen writes it into the man page."""

    examples: tuple[Example, ...] = ()
    notes: tuple[str, ...] = ()
    terms_title: str = ""
    terms: tuple[Term, ...] = ()
    exit_codes: str | None = None

    def epilog(self) -> Epilog:
        parts = ["Examples:", *(f"  {line}" for e in self.examples for line in e.printed)] if self.examples else []
        parts += self.notes
        if self.terms:
            parts += [f"{self.terms_title}:", *map(str, self.terms)]
        if self.exit_codes:
            parts.append(self.exit_codes)
        return Epilog("\n\n".join(parts), self)

    def with_notes(self, *notes: str) -> Doc:
        return replace(self, notes=self.notes + notes)


class Epilog(str):
    """An epilog's text, carrying the Doc it was made from (click keeps the string as given)."""

    doc: Doc

    def __new__(cls, text: str, doc: Doc) -> Epilog:
        epilog = super().__new__(cls, text)
        epilog.doc = doc
        return epilog


# The one polling loop README and `status --help` show (tests/test_readme.py runs both). A
# `while` loop's own status is 0 whatever happened inside, so the answer is kept in $rc.
STATUS_POLL_LOOP = 'while bulkop status "$ID"; rc=$?; [ $rc -eq 3 ]; do sleep 5; done'

CONNECTION = "Connection"
OUTPUT = "Output"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def context(ctx: typer.Context) -> Context:
    """The Context the process entry handed to click (a new one when a test invokes a command)."""
    if not isinstance(ctx.obj, Context):
        ctx.obj = Context()
    return ctx.obj


def apply_common(ctx: typer.Context, profile: str | None, color: Color, debug: bool) -> Context:
    """Options given after the subcommand win over the same options given before it."""
    c = context(ctx)
    if profile:
        c.profile = profile
    if color is not Color.auto:
        c.color = color.value
    c.debug = c.debug or debug
    return c


def complete_profiles(incomplete: str) -> list[str]:
    """Shell completion: the profile names in the config file (nothing if it cannot be read)."""
    import os

    from bulkop import config

    try:
        names = config.load(config.config_path(os.environ)).profiles
    except Exception:  # completion must never print an error into the user's command line
        return []
    return [name for name in sorted(names) if name.startswith(incomplete)]


def complete_providers(incomplete: str) -> list[str]:
    """Shell completion for --provider: the providers bulkop knows."""
    from bulkop.providers import BUILTIN_NAMES

    return [name for name in BUILTIN_NAMES if name.startswith(incomplete.lower())]


def complete_ids(incomplete: str) -> list[str]:
    """Shell completion for an operation id: `@last`, and `PROFILE:` for each profile (the
    ids themselves live on the server and are not guessed)."""
    if ":" in incomplete:
        return []
    offers = ["@last", *(f"{name}:" for name in complete_profiles(""))]
    return [offer for offer in offers if offer.startswith(incomplete)]


Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile from the config file to use (env: BULKOP_PROFILE). A profile chosen "
        "this way is not mixed with KNOCK_*/SAYMON_* variables; BULKOP_* ones still apply.",
        rich_help_panel=CONNECTION,
        show_default=False,
        autocompletion=complete_profiles,
    ),
]


def setting_option(name: str, panel: str = CONNECTION, **extra: Any) -> Any:
    """The flag of a setting as the settings table describes it: its help names the variables
    that set it and the default, so neither is restated here."""
    setting = BY_NAME[name]
    assert setting.flag, f"setting {name} has no flag"
    return typer.Option(
        setting.flag,
        help=setting.option_help,
        rich_help_panel=panel,
        show_default=False,
        metavar=setting.flag_metavar,
        **extra,
    )


Provider = Annotated[str | None, setting_option("provider", autocompletion=complete_providers)]
BaseUrl = Annotated[str | None, setting_option("base_url")]
RequestTimeout = Annotated[float | None, setting_option("request_timeout", min=0.001, max=86400.0)]
Retries = Annotated[int | None, setting_option("retries", min=0, max=100)]
AllowInsecureHttp = Annotated[bool | None, setting_option("allow_insecure_http")]
ColorOpt = Annotated[
    Color,
    typer.Option(
        "--color",
        help="Colour: auto, always or never (NO_COLOR, FORCE_COLOR and TERM=dumb are honoured).",
        rich_help_panel=OUTPUT,
        case_sensitive=False,
    ),
]
Debug = Annotated[
    bool,
    typer.Option(
        "--debug",
        "-v",
        help="Log each request and response on stderr (secrets masked); the traceback of an internal error.",
        rich_help_panel=OUTPUT,
    ),
]


def connection_flags(
    provider: str | None,
    base_url: str | None,
    request_timeout: float | None,
    retries: int | None,
    allow_insecure_http: bool | None,
) -> dict[str, object]:
    """The connection flags as settings overrides (only those given)."""
    from bulkop.settings import validate_flag

    flags: dict[str, object] = {
        # Click's min/max let NaN through (every comparison with NaN is false).
        "request_timeout": validate_flag("request_timeout", request_timeout) if request_timeout is not None else None,
        "retries": retries,
        "allow_insecure_http": allow_insecure_http or None,
    }
    if provider is not None:
        flags["provider"] = validate_flag("provider", provider)
    if base_url is not None:
        flags["base_url"] = validate_flag("base_url", base_url)
    return flags


CONDITIONS = "Conditions"
Until = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="Done and successful (exit 0) once this JMESPath expression over the response body is true "
        "(numbers and other JSON literals go in backticks: see the examples); checked at every poll, "
        "before --fail-if and the status.",
        rich_help_panel=CONDITIONS,
        show_default=False,
        metavar="EXPR",
    ),
]
FailIf = Annotated[
    str | None,
    typer.Option(
        "--fail-if",
        help="Failed (exit 1) once this JMESPath expression over the response body is true; checked at "
        "every poll, after --until and before the status.",
        rich_help_panel=CONDITIONS,
        show_default=False,
        metavar="EXPR",
    ),
]


class Output(str, Enum):
    """The output modes of get, list and providers."""

    table = "table"
    text = "text"
    json = "json"
    jsonl = "jsonl"


OutputOpt = Annotated[
    Output | None,
    typer.Option(
        "--output",
        "-o",
        help="table (terminal default), text (piped default), json or jsonl.",
        rich_help_panel="Output",
        show_default=False,
        case_sensitive=False,
    ),
]


def parse_since(text: str, flag: str = "--since") -> float | None:
    """A duration (7d, 24h, 90m) in seconds, or None for `all`."""
    from bulkop.errors import UsageError
    from bulkop.settings import parse_duration

    if text.strip().lower() == "all":
        return None
    try:
        return parse_duration(text)
    except ValueError as e:
        raise UsageError(f"{flag} {e}", hint="e.g. --since 24h, --since 7d, --since all") from None
