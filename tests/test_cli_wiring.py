"""Every verb is wired the same way: its own module under cli/, registered by `register(app)`,
its Typer functions calling one command function each (no run() dispatching on Options types)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import click
import pytest

from bulkop.cli import VERBS, _command  # VERBS: each verb's module (`list` is cli/listing.py)

CLI = Path(__file__).resolve().parents[1] / "src/bulkop/cli"


def _callbacks(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found = [(path, command.callback.__module__)] if command.callback is not None else []
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _callbacks(sub, (*path, name))
    return found


def test_every_verb_is_wired_in_its_own_module() -> None:
    root = _command()
    assert isinstance(root, click.Group)
    assert sorted(root.commands) == sorted(VERBS)
    for path, module in _callbacks(root):
        if path:  # the root callback (global options) stays in bulkop.cli
            assert module == f"bulkop.cli.{VERBS[path[0]]}", path


@pytest.mark.parametrize("module", sorted(set(VERBS.values())))
def test_every_verb_module_registers_itself_the_same_way(module: str) -> None:
    verb = importlib.import_module(f"bulkop.cli.{module}")
    assert callable(verb.register)
    # No Typer function lives in cli/__init__ any more, and no module reaches into it for helpers.
    tree = ast.parse((CLI / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "bulkop.cli":
            pytest.fail(f"cli/{module}.py imports {[a.name for a in node.names]} from bulkop.cli; use cli.common")


@pytest.mark.parametrize(
    "module",
    [
        "commands/config",
        "commands/demo",
        "commands/providers",
        "commands/get",
        "commands/status",
        "commands/list",
        "watch/command",
    ],
)
def test_no_command_dispatches_on_the_type_of_its_options(module: str) -> None:
    source = (CLI.parent / f"{module}.py").read_text(encoding="utf-8")
    assert "handlers[type(opts)]" not in source
    assert "isinstance(opts" not in source


def test_cli_init_defines_no_verb() -> None:
    tree = ast.parse((CLI / "__init__.py").read_text(encoding="utf-8"))
    commands = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "command" for d in node.decorator_list)
    ]
    assert commands == []
