"""SAYMON: `GET {base}/node/api/bulk/{id}/status` with HTTP Basic; says only `finished`."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from bulkop.api.http import Response
from bulkop.errors import ConfigError, UsageError
from bulkop.models import BulkOperation, parse_saymon
from bulkop.sanitize import clean

NAME = "saymon"
DEFAULT_BASE_URL = None  # self-hosted: the customer's own server
SECRET_SETTINGS = ("password",)
AUTH_HINT = "check SAYMON_LOGIN/SAYMON_PASSWORD or the profile's login and password"


def normalize_id(op_id: str) -> str:
    op_id = op_id.strip()
    if not op_id or len(op_id) > 200 or not op_id.isprintable() or "/" in op_id:
        raise UsageError(
            f"{clean(op_id)[:80]!r} is not a SAYMON bulk operation id (an id such as 4da5e709d4713d60c8a70639)"
        )
    return op_id


def path(op_id: str) -> str:
    return f"/node/api/bulk/{quote(op_id, safe='')}/status"


def auth_headers(settings: Any) -> dict[str, str]:
    login, password = settings.login, settings.password
    if not login or not password:
        missing = "login" if not login else "password"
        raise ConfigError(
            f"no SAYMON {missing} configured",
            hint="export SAYMON_LOGIN and SAYMON_PASSWORD, or add a profile with "
            "`bulkop config add NAME --provider saymon --base-url URL`",
        )
    if ":" in login or not login.isprintable() or not password.isprintable():
        raise ConfigError(
            "the SAYMON login or password has a ':' in the login, or control characters",
            hint="check SAYMON_LOGIN/SAYMON_PASSWORD or the profile for a stray newline",
        )
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def parse(op_id: str, data: Any) -> BulkOperation:
    return parse_saymon(op_id, data)


def describe_error(response: Response) -> str | None:
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            if isinstance(data.get(key), str):
                return clean(data[key], max_len=160)
    return None
