"""`bulkop config ...`: Typer wiring for profile management (behaviour in commands/config.py)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage profiles: provider, base URL and credentials.", no_args_is_help=True)
