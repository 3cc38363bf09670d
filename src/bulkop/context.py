"""The Context: every side effect a command has (streams, clock, sleep, env, config, HTTP)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from bulkop.api import Client
    from bulkop.config import ConfigFile
    from bulkop.errors import BulkopError
    from bulkop.settings import Settings


# What a terminal size in the environment may be. COLUMNS=0 made Rich print nothing (and exit 0),
# COLUMNS=1 a column of blanks, TERMINAL_WIDTH=abc crashed Typer's help: a value that is not an
# integer in range is ignored, and the terminal's own size (or 80 columns when there is no
# terminal) is used instead. Below 20 columns no table can hold an id; beyond 1,000 a number is
# not a terminal.
SIZE_VARIABLES = {"COLUMNS": (20, 1000), "TERMINAL_WIDTH": (20, 1000), "LINES": (5, 1000)}


def size_from_env(env: Mapping[str, str], name: str) -> int | None:
    """The size in `env[name]` when it is a sane one (see SIZE_VARIABLES), else None."""
    raw = env.get(name, "").strip()
    low, high = SIZE_VARIABLES[name]
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


def drop_insane_sizes(env: MutableMapping[str, str]) -> None:
    """Remove terminal sizes that are not sane from `env` (os.environ at start-up, before Typer
    and Rich read them), so that every console falls back to the terminal's real size."""
    for name in SIZE_VARIABLES:
        if name in env and size_from_env(env, name) is None:
            del env[name]


@dataclass
class Context:
    """Handed to every `commands.X.run`; tests build one with fakes instead of monkeypatching."""

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    now: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = time.sleep
    # Tests inject an httpx.MockTransport here; None means real sockets.
    transport: httpx.BaseTransport | None = None
    # Global options
    profile: str | None = None
    color: str = "auto"  # auto | always | never
    debug: bool = False
    json_errors: bool = False  # set by commands run with -o json: errors become JSON on stderr
    no_journal: bool = False  # --no-journal
    # Where --debug lines go instead of stderr (the live view prints them above itself, so
    # they do not tear its frame).
    debug_sink: Callable[[str], None] | None = None
    _cfg: ConfigFile | None = field(default=None, repr=False)
    _cfg_loaded: bool = field(default=False, repr=False)
    _http: Any = field(default=None, repr=False)
    _journal: Any = field(default=None, repr=False)

    # ---------------------------------------------------------------- terminals

    def isatty(self, stream: IO[str]) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def no_color(self) -> bool:
        if self.color == "never":
            return True
        if self.color == "always":
            return False
        if self.env.get("FORCE_COLOR"):
            return False
        return bool(self.env.get("NO_COLOR")) or self.env.get("TERM") == "dumb"

    @property
    def in_ci(self) -> bool:
        return self.env.get("CI", "").lower() not in ("", "0", "false")

    def console(self, stream: IO[str] | None = None, **kwargs: Any) -> Console:
        """A Rich console on `stream` that never interprets text as markup, emoji or highlights.

        Whether it is a terminal follows the stream (and FORCE_COLOR / --color always); width
        follows the terminal, or COLUMNS when set.
        """
        from rich.console import Console

        stream = stream or self.stdout
        force_terminal = None
        if self.color == "always" or (self.env.get("FORCE_COLOR") and self.color != "never"):
            force_terminal = True
        width = size_from_env(self.env, "COLUMNS")
        environ = dict(self.env)
        drop_insane_sizes(environ)  # Rich reads COLUMNS and LINES itself
        return Console(
            file=stream,
            force_terminal=force_terminal,
            no_color=self.no_color,
            color_system=None if self.no_color else "auto",
            markup=False,
            emoji=False,
            highlight=False,
            width=width,
            soft_wrap=False,
            _environ=environ,
            **kwargs,
        )

    # ---------------------------------------------------------------- configuration

    def config(self) -> ConfigFile:
        """The config file, loaded once (a missing file is an empty config)."""
        if not self._cfg_loaded:
            from bulkop import config

            self._cfg = config.load(config.config_path(self.env), warn=self.warn)
            self._cfg_loaded = True
        assert self._cfg is not None
        return self._cfg

    def settings(self, flags: Mapping[str, Any] | None = None, profile: str | None = None) -> Settings:
        from bulkop.settings import resolve

        given = {k: v for k, v in (flags or {}).items() if v is not None}
        return resolve(given, self.env, self.config(), profile or self.profile)

    def warn(self, message: str) -> None:
        from bulkop.sanitize import clean_message

        self.stderr.write(f"bulkop: warning: {clean_message(message)}\n")

    def report(self, err: BulkopError) -> None:
        """Write an error to stderr: one line, or a JSON object under -o json."""
        from bulkop.render.errors import error_json, error_line

        self.stderr.write((error_json(err) if self.json_errors else error_line(err)) + "\n")
        self.stderr.flush()

    def log_debug(self, message: str) -> None:
        if not self.debug:
            return
        line = f"bulkop: debug: {message}"
        if self.debug_sink is not None:
            self.debug_sink(line)
            return
        self.stderr.write(line + "\n")
        self.stderr.flush()

    def journal(self) -> Any:
        """The journal of operations seen (bulkop.journal.Journal), opened on first use."""
        if self._journal is None:
            from bulkop.journal import open_journal

            self._journal = open_journal(self.env, self.config().top_level, no_journal=self.no_journal, warn=self.warn)
        return self._journal

    # ---------------------------------------------------------------- HTTP

    def client(self, settings: Settings, *, on_event: Callable[[Any], None] | None = None) -> Client:
        """An API client for one profile's settings; every client shares one connection pool."""
        from bulkop.api import Client
        from bulkop.api.http import Http

        if self._http is None:
            self._http = Http(transport=self.transport, sleep=self.sleep, now=self.now)
        return Client.from_settings(settings, http=self._http, on_event=on_event or self._debug_event)

    def _debug_event(self, event: Any) -> None:
        if self.debug:
            self.log_debug(str(event))

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        if self._http is not None:
            self._http.close()
            self._http = None
