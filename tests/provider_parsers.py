"""The parsers older tests call by name, now the built-in definitions themselves (the code that
read Knock's and SAYMON's bodies left models.py: a provider is its definition)."""

from __future__ import annotations

from typing import Any

from bulkop.models import BulkOperation
from bulkop.providers import builtin


def parse_knock(data: Any) -> BulkOperation:
    """A Knock BulkOperation body, read by knock.toml (the id is the body's own)."""
    op_id = data.get("id") if isinstance(data, dict) else None
    return builtin("knock").normalize(op_id if isinstance(op_id, str) else "", data)


def parse_saymon(op_id: str, data: Any) -> BulkOperation:
    """A SAYMON status body, read by saymon.toml."""
    return builtin("saymon").normalize(op_id, data)
