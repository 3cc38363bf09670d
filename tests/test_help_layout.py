"""--help at any width: an option's names, its metavar (choices) and env var names are never cut."""

from __future__ import annotations

import re

import click
import pytest

from bulkop.cli import _command
from conftest import run_process


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:
                found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(_command())
ENV_NAME = re.compile(r"\b(?:BULKOP|KNOCK|SAYMON)_[A-Z_]+[A-Z]\b")


def _whole(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize("width", [40, 60, 80])
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_help_never_cuts_an_option_name_metavar_or_env_var(path, command, width):
    p = run_process([*path, "--help"], env={"COLUMNS": str(width), "TERMINAL_WIDTH": str(width)})
    assert p.returncode == 0, p.stderr
    # No cut anywhere: the only ellipses are the ones the help itself writes.
    written = (
        (command.help or "") + (command.epilog or "") + "".join(getattr(q, "help", "") or "" for q in command.params)
    )
    assert p.stdout.count("…") == written.count("…"), p.stdout
    lines = p.stdout.splitlines()
    assert all(len(line) <= width for line in lines), p.stdout
    # The words as a reader sees them: box borders gone, lines kept apart.
    text = "\n".join(line.strip(" │╭╮╰╯─") for line in lines)
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        for name in [*param.opts, *param.secondary_opts]:
            if isinstance(param, click.Option):
                assert _whole(name, text), f"{name} cut at {width} columns:\n{p.stdout}"
        if isinstance(param.type, click.Choice):
            choices = "[" + "|".join(map(str, param.type.choices)) + "]"
            assert choices in text, f"{choices} cut at {width} columns:\n{p.stdout}"
        for env_name in ENV_NAME.findall(getattr(param, "help", None) or ""):
            assert _whole(env_name, text), f"{env_name} cut at {width} columns:\n{p.stdout}"
