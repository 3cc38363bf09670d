"""`bulkop demo`: Typer wiring for the built-in simulator (behaviour in commands/demo.py)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the built-in simulator of both APIs and watch a few operations.")
