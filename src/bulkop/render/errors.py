"""How an error is shown: one line of text, or a JSON object (for -o json), on stderr."""

from __future__ import annotations

from bulkop.errors import BulkopError
from bulkop.render.jsonout import dumps
from bulkop.sanitize import clean_message


def error_line(err: BulkopError) -> str:
    """One line, capped: a server's 20 MB string quoted in a message is cut, not echoed."""
    text = f"bulkop: error: {clean_message(err.message)}"
    if err.hint:
        text += f"; {clean_message(err.hint)}"
    return text


def error_json(err: BulkopError) -> str:
    """Always the same four keys (README promises them), "hint" null when there is none."""
    body = {
        "type": err.kind,
        "message": clean_message(err.message),
        "exit_code": int(err.exit_code),
        "hint": clean_message(err.hint) if err.hint else None,
    }
    return dumps({"error": body})
