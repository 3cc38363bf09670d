"""Raw faults for hardening tests: each one is a function that answers (or fails to) its way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bulkop.simulator.operation import Operation
    from bulkop.simulator.server import Handler

# A writer gets the handler, the operation and the body a healthy server would have sent now
# (Scenario.body when given). It answers with handler.send_body, or send_head + write_body, which
# send HEAD requests the same head and no body.
FaultWriter = Callable[["Handler", "Operation", bytes], None]

_CHUNK = 64 * 1024

_HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def hang(handler: Handler, op: Operation, body: bytes) -> None:
    """Read the request, never answer; released (connection closed) only by Simulator.stop()."""
    # Recorded as it starts hanging (status 0: no answer), not when stop() releases the thread:
    # stop() does not wait for handler threads, so a record made then could come too late.
    handler._save(0)
    handler.server.stopping.wait()
    handler.close_connection = True


def disconnect(handler: Handler, op: Operation, body: bytes) -> None:
    """Close the connection without a byte of response, like a stale keep-alive socket."""
    handler.close_connection = True


def close_mid_body(handler: Handler, op: Operation, body: bytes) -> None:
    """Promise twice the body in Content-Length, send half of it, then close."""
    handler.send_head(200, "application/json", len(body) * 2)
    handler.write_body(body[: len(body) // 2])
    handler.close_connection = True


def invalid_json(handler: Handler, op: Operation, body: bytes) -> None:
    """Python-repr-style quotes: looks like JSON to a human, not to a parser."""
    handler.send_body(200, body.replace(b'"', b"'"))


def truncated_json(handler: Handler, op: Operation, body: bytes) -> None:
    """Half the document, with an honest Content-Length: HTTP is fine, the JSON is not."""
    handler.send_body(200, body[: len(body) // 2])


def html_200(handler: Handler, op: Operation, body: bytes) -> None:
    """A proxy's error page served with 200, as misconfigured gateways and portals do."""
    handler.send_body(200, _HTML_PAGE, "text/html")


def empty_body(handler: Handler, op: Operation, body: bytes) -> None:
    handler.send_body(200, b"")


def gzip_encoded(handler: Handler, op: Operation, body: bytes) -> None:
    """Valid JSON, gzip-encoded (sent whatever Accept-Encoding said)."""
    import gzip  # here, not at the top: the CLI imports this module for `demo serve --help`

    handler.send_body(200, gzip.compress(body, mtime=0), headers=(("Content-Encoding", "gzip"),))


def wrong_shape(handler: Handler, op: Operation, body: bytes) -> None:
    """Numbers and booleans at the top level turned into strings (processed_rows: "42")."""
    payload = json.loads(body)
    shaped = {
        key: json.dumps(value) if isinstance(value, bool | int | float) else value for key, value in payload.items()
    }
    handler.send_body(200, json.dumps(shaped).encode())


def huge(handler: Handler, op: Operation, body: bytes) -> None:
    """A valid JSON body of exactly `huge_bytes`, streamed so the server never holds it."""
    size = op.scenario.huge_bytes
    head, tail = b'{"padding":"', b'"}'
    handler.send_head(200, "application/json", size)
    if handler.command == "HEAD":
        return
    handler.wfile.write(head)
    remaining = size - len(head) - len(tail)
    chunk = b"x" * _CHUNK
    while remaining > 0 and not handler.server.stopping.is_set():
        step = min(remaining, _CHUNK)
        handler.wfile.write(chunk[:step])
        remaining -= step
    if remaining:
        handler.close_connection = True
        return
    handler.wfile.write(tail)


def redirect(handler: Handler, op: Operation, body: bytes) -> None:
    """302 elsewhere: a client must not follow it blindly with the API key attached."""
    handler.send_body(302, b"", headers=(("Location", op.scenario.redirect_to),))


FAULTS: dict[str, FaultWriter] = {
    "hang": hang,
    "close_mid_body": close_mid_body,
    "disconnect": disconnect,
    "invalid_json": invalid_json,
    "truncated_json": truncated_json,
    "html_200": html_200,
    "empty_body": empty_body,
    "gzip": gzip_encoded,
    "wrong_shape": wrong_shape,
    "huge": huge,
    "redirect": redirect,
}
