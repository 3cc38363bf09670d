"""No runtime import cycles among bulkop's modules: each one can be imported first, on its own.

A cycle works until someone imports its modules in another order, then fails with a partly
initialised module ("cannot import name …"). The graph is built from the source with ast:
module-level imports only (an import inside a function runs later, when every module is
loaded; one under `if TYPE_CHECKING:` never runs), and importing `a.b.c` imports the packages
`a` and `a.b` first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported: not those in functions or classes'
    methods, nor under `if TYPE_CHECKING:` (its `else:` does run)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _runtime_statements(node.body)
            yield from _runtime_statements(node.orelse)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _runtime_statements(block)
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            yield from _runtime_statements(node.body)


def imported_modules(path: Path, name: str, known: set[str]) -> set[str]:
    """The bulkop modules `name` imports when it is imported, with the packages of each."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in _runtime_statements(tree.body):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets.append(source)
            # `from a import b` imports a.b too when b is a module.
            targets += [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known]
    found: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known and prefix != name:
                found.add(prefix)
    return found


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in sorted((root / "bulkop").rglob("*.py"))}
    known = set(paths)
    return {name: imported_modules(path, name, known) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, …, a], or None (depth-first search, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_bulkop_has_no_runtime_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "bulkop.errors" in graph["bulkop.cli"]  # the scan found the tree
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        # A package whose __init__ imports a submodule that imports a sibling: the sibling's
        # import imports the package first (bulkop.cli <-> bulkop.cli.watch, as it was).
        (
            {
                "bulkop/__init__.py": "",
                "bulkop/cli/__init__.py": "from bulkop.cli.watch import x\n",
                "bulkop/cli/watch.py": "from bulkop.cli.common import y\nx = y\n",
                "bulkop/cli/common.py": "y = 1\n",
            },
            ["bulkop.cli", "bulkop.cli.watch", "bulkop.cli"],
        ),
        # `from package import module`, relative imports, and a plain two-module cycle.
        (
            {
                "bulkop/__init__.py": "",
                "bulkop/api/__init__.py": "from . import providers\n",
                "bulkop/api/providers.py": "from ..api import Client\n",
            },
            ["bulkop.api", "bulkop.api.providers", "bulkop.api"],
        ),
        (
            {"bulkop/__init__.py": "", "bulkop/a.py": "import bulkop.b\n", "bulkop/b.py": "from bulkop import a\n"},
            ["bulkop.a", "bulkop.b", "bulkop.a"],
        ),
    ],
)
def test_cycles_are_found_and_printed(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    assert find_cycle(import_graph(_write(tmp_path, files))) == cycle


@pytest.mark.parametrize(
    "files",
    [
        # Lazy imports (in a function) and imports for type checkers only are not cycles.
        {
            "bulkop/__init__.py": "",
            "bulkop/a.py": "import bulkop.b\n",
            "bulkop/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bulkop import a\n"
            "def f():\n    from bulkop.a import g\n",
        },
        # A package importing a submodule that imports nothing of the package.
        {
            "bulkop/__init__.py": "",
            "bulkop/api/__init__.py": "from bulkop.api.http import H\n",
            "bulkop/api/http.py": "import json\n",
        },
    ],
)
def test_lazy_and_type_checking_imports_are_not_cycles(tmp_path: Path, files: dict[str, str]) -> None:
    assert find_cycle(import_graph(_write(tmp_path, files))) is None
