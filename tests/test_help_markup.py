"""Help texts are plain text: every bracketed word a help string holds (`[providers.NAME]`,
`[PROFILE:]ID`) reaches `--help` and the man pages; none is eaten as Rich markup."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bulkop.cli import _command
from conftest import run_process

MAN = Path(__file__).parent.parent / "man"
BRACKETED = re.compile(r"\[[^\[\]\n]*\]")


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:
                found += _commands(sub, (*path, name))
    return found


def _raw_texts(command: click.Command) -> list[str]:
    texts = [command.help, command.short_help, command.epilog]
    texts += [getattr(p, "help", None) for p in command.params if not getattr(p, "hidden", False)]
    if isinstance(command, click.Group):  # a group's help lists its commands' first lines
        texts += [sub.short_help or sub.help for sub in command.commands.values() if not sub.hidden]
    return [t for t in texts if t]


def _squeezed(text: str) -> str:
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


# A fresh tree: the one --help has run on escapes its texts in place.
COMMANDS = _commands(_command())
IDS = [" ".join(path) or "bulkop" for path, _ in COMMANDS]


def test_some_help_strings_hold_words_in_brackets() -> None:
    words = {w for _, c in COMMANDS for t in _raw_texts(c) for w in BRACKETED.findall(t)}
    assert "[providers.NAME]" in words


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_strings_are_plain_text_without_rich_escapes(path, command) -> None:
    for text in _raw_texts(command):
        assert "\\[" not in text, f"{' '.join(path)}: write the text plainly, --help escapes it: {text!r}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_bracketed_word_of_a_help_string_is_in_help(path, command) -> None:
    p = run_process([*path, "--help"])
    assert p.returncode == 0, p.stderr
    shown = _squeezed(p.stdout)
    assert "\\[" not in p.stdout
    for text in _raw_texts(command):
        for word in BRACKETED.findall(text):
            assert _squeezed(word) in shown, f"{word} lost from `bulkop {' '.join(path)} --help`:\n{p.stdout}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_bracketed_word_of_a_help_string_is_in_the_man_page(path, command) -> None:
    page = MAN / ("-".join(["bulkop", *path]) + ".1")
    roff = page.read_text().replace("\\-", "-").replace("\\(aq", "'").replace("\\e", "\\")
    shown = _squeezed(re.sub(r"\\f[BIRP]", "", roff))
    for text in _raw_texts(command):
        for word in BRACKETED.findall(text):
            assert _squeezed(word) in shown, f"{word} lost from {page.name}"


@pytest.mark.parametrize("args", [["get", "--help"], ["watch", "--help"], ["config", "add", "--help"]])
def test_provider_option_help_names_the_config_table(args) -> None:
    p = run_process(args, env={"COLUMNS": "200"})
    assert "config.toml as [providers.NAME]" in " ".join(p.stdout.replace("│", " ").split())
