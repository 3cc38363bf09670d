"""Knock: `GET {base}/v1/bulk_operations/{id}` with a Bearer API key."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from bulkop.api.http import Response
from bulkop.errors import ConfigError, UsageError
from bulkop.models import BulkOperation, parse_knock
from bulkop.sanitize import clean

NAME = "knock"
_TOKEN = re.compile(r"[\x21-\x7e]+")
DEFAULT_BASE_URL = "https://api.knock.app"
SECRET_SETTINGS = ("api_key",)
AUTH_HINT = "check KNOCK_API_KEY or the profile's api_key (`bulkop config show`)"


def normalize_id(op_id: str) -> str:
    """Knock ids are UUIDs: refuse anything else before a request is made."""
    try:
        return str(UUID(op_id.strip()))
    except ValueError:
        raise UsageError(
            f"{clean(op_id)[:80]!r} is not a Knock bulk operation id (a UUID such as "
            "123e4567-e89b-12d3-a456-426614174000)",
            # 24 hex digits is a SAYMON (MongoDB ObjectId) id: say how to ask SAYMON instead.
            hint="use --provider saymon, or -p PROFILE for a SAYMON profile"
            if re.fullmatch(r"[0-9a-fA-F]{24}", op_id.strip())
            else None,
        ) from None


def path(op_id: str) -> str:
    return f"/v1/bulk_operations/{op_id}"


def auth_headers(settings: Any) -> dict[str, str]:
    key = settings.api_key
    if not key:
        raise ConfigError(
            "no Knock API key configured",
            hint="export KNOCK_API_KEY, or add a profile with `bulkop config add NAME --provider knock`",
        )
    if not _TOKEN.fullmatch(key):
        # Never echo the key: say what is wrong with it, not what it is.
        raise ConfigError(
            "the Knock API key has spaces, line breaks or non-ASCII characters",
            hint="check for a stray newline or quote in KNOCK_API_KEY or the profile's api_key",
        )
    return {"Authorization": f"Bearer {key}"}


def parse(op_id: str, data: Any) -> BulkOperation:
    return parse_knock(data)


def describe_error(response: Response) -> str | None:
    """Knock errors: `{"code", "message", "status", "type"}`, or the router's `{"errors": {...}}`."""
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    code, message = data.get("code"), data.get("message")
    if isinstance(code, str) and code:
        text = code if not isinstance(message, str) else f"{code}: {message}"
        return clean(text, max_len=160)
    errors = data.get("errors")
    if isinstance(errors, dict) and isinstance(errors.get("detail"), str):
        return clean(f"{errors['detail']}; the server does not know this route", max_len=160)
    return None
