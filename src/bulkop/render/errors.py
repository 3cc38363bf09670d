"""How an error is shown: one line of text, or a JSON object (for -o json), on stderr."""

from __future__ import annotations

from bulkop.errors import BulkopError
from bulkop.render.jsonout import dumps
from bulkop.sanitize import clean


def error_line(err: BulkopError) -> str:
    text = f"bulkop: error: {err.message}"
    if err.hint:
        text += f"; {err.hint}"
    return clean(text)


def error_json(err: BulkopError) -> str:
    body = {"type": err.kind, "message": err.message, "exit_code": int(err.exit_code)}
    if err.hint:
        body["hint"] = err.hint
    return dumps({"error": body})
