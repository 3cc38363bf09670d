"""How --help lays out options: names, metavars and env var names are never cut or split.

Typer's rich help puts each option in a table row (long name, short name, metavar, help) and
lets Rich shrink every column to fit, so at 80 columns `--max-consecutive-failures` became
`--max-consecutive-fai…` and at 40 a choice list split mid-word. Here the name and metavar
columns never wrap; the help column wraps at spaces and is never narrower than its longest word
(an env var name); when that cannot fit, each option is shown stacked: its names and metavar on
one line, its help indented below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

_INDENT = 4


def install(command: click.Command) -> None:
    """Make every command of the tree lay out its help as above (once, when help is shown)."""
    original = command.format_help

    def format_help(ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _patch_typer()
        escape_tree(ctx.find_root().command)
        original(ctx, formatter)

    command.format_help = format_help  # type: ignore[method-assign]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            install(sub)


def escape_tree(command: click.Command) -> None:
    """Help texts are plain text, never Rich markup: Typer parses them as markup, which ate
    `[providers.NAME]` from every --help ("defined in config.toml as  (env: …"). Escaped once,
    for the whole tree, only when help is shown; the raw strings stay as written (man pages)."""
    if getattr(command, "_bulkop_escaped", False):
        return
    from rich.markup import escape

    from bulkop.cli.common import Epilog

    setattr(command, "_bulkop_escaped", True)  # noqa: B010
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if isinstance(text, str):
            setattr(command, attr, Epilog(escape(text), text.doc) if isinstance(text, Epilog) else escape(text))
    for param in command.params:
        text = getattr(param, "help", None)
        if isinstance(text, str):
            setattr(param, "help", escape(text))  # noqa: B010
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            escape_tree(sub)


def _patch_typer() -> None:
    from typer import rich_utils

    if getattr(rich_utils, "_bulkop_help_table", False):
        return
    setattr(rich_utils, "Table", _help_table_class())  # noqa: B010 (typer does not export it)
    setattr(rich_utils, "_bulkop_help_table", True)  # noqa: B010


def _help_table_class() -> type[Any]:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    def plain(cell: Any) -> str:
        return cell.plain if isinstance(cell, Text) else str(cell)

    class HelpTable(Table):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            if self.show_header or len(self.columns) < 2:
                yield from super().__rich_console__(console, options)
                return
            *fixed, last = self.columns
            widths = [max((len(plain(c)) for c in col._cells), default=0) for col in fixed]
            longest_word = max((len(w) for c in last._cells for w in plain(c).split()), default=0)
            # Every column has one space of padding each side, even an empty one.
            needed = sum(widths) + 2 * len(self.columns) + longest_word
            if needed <= options.max_width:
                for col in fixed:
                    col.no_wrap = True
                    col.overflow = "ignore"
                yield from super().__rich_console__(console, options)
                return
            yield from self._stacked(options.max_width)

        def _stacked(self, width: int) -> Iterator[Any]:
            *fixed, last = self.columns
            for row in range(self.row_count):
                head = Text(" ").join(
                    c if isinstance(c, Text) else Text(str(c))
                    for c in (col._cells[row] for col in fixed)
                    if plain(c).strip()
                )
                head.no_wrap = False
                head.overflow = "fold"
                yield head
                help_cell = last._cells[row]
                if plain(help_cell).strip():
                    yield Padding(help_cell, (0, 0, 0, min(_INDENT, max(width - 20, 0))))

    return HelpTable
