"""Simulator: a real HTTP/1.1 server on loopback serving Knock and SAYMON bulk-operation routes."""

from __future__ import annotations

import base64
import contextlib
import hmac
import ipaddress
import json
import random
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from bulkop.simulator import catalogue
from bulkop.simulator.faults import FAULTS
from bulkop.simulator.operation import EPOCH, Operation, knock_path, provider_path, saymon_path
from bulkop.simulator.scenario import Scenario

_KNOCK_PREFIX = "/v1/bulk_operations/"
_SAYMON_PREFIX = "/node/api/bulk/"
_SAYMON_API = "/node/api"
_SAYMON_SUFFIX = "/status"
_CONTROL_PREFIX = "/_sim/"

# The limits http.client applies when the stdlib parses headers.
_MAX_LINE = 65536
_MAX_HEADERS = 100
_REASONS = {status.value: status.phrase for status in HTTPStatus}

# Every API route answers GET and HEAD alike (HEAD without the body); any other method, known to
# HTTP or not, gets the route's JSON 405 with this Allow header.
_ALLOW = (("Allow", "GET, HEAD"),)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _knock_error(status: int, code: str, error_type: str, message: str) -> bytes:
    return _json({"code": code, "message": message, "status": status, "type": error_type})


def _router_error(status: int) -> bytes:
    """Knock's router (a path it does not know, a method a route does not take): another shape."""
    return _json({"errors": {"detail": f"{status} {_REASONS.get(status, 'Error')}"}})


def _saymon_error(status: int) -> bytes:
    """SAYMON's error shape, `{code, message}` (FIELD-NOTES); the code is the HTTP status."""
    return _json({"code": status, "message": _REASONS.get(status, "Error")})


def _is_saymon(path: str) -> bool:
    return path == _SAYMON_API or path.startswith(_SAYMON_API + "/")


_KNOCK_MISSING_KEY = _knock_error(401, "api_key_missing", "authentication_error", "No valid API key provided")
_KNOCK_INVALID_KEY = _knock_error(401, "invalid_api_key", "authentication_error", "The API key provided is invalid")
_KNOCK_NOT_FOUND = _knock_error(
    404, "resource_missing", "invalid_request_error", "The resource you requested does not exist"
)
_KNOCK_RATE_LIMITED = _knock_error(
    429, "rate_limit_exceeded", "rate_limit_error", "Rate limit exceeded, please retry later"
)
_ROUTER_404 = _router_error(404)
_ROUTER_405 = _router_error(405)
_SAYMON_UNAUTHORIZED = _saymon_error(401)
_SAYMON_NOT_FOUND = _saymon_error(404)
_SAYMON_405 = _saymon_error(405)
_SAYMON_RATE_LIMITED = _saymon_error(429)
_SAYMON_CHALLENGE = (("WWW-Authenticate", 'Basic realm="saymon"'),)


class DuplicateIdError(ValueError):
    """An operation with this id already exists."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request to an API route, as the server saw it (control routes are not recorded).

    `time` is real `time.monotonic()` (not the simulated clock) so tests can check a client's
    pacing; `status` is 0 when no response was sent (faults "hang" and "disconnect").
    """

    method: str
    path: str
    headers: dict[str, str]
    time: float
    status: int


class _Headers(dict[str, str]):
    """Request headers keyed by lower-case name, looked up case-insensitively."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class _DateHeader:
    """The Date header value, formatted once per second rather than once per response."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = time.time()
        if int(now) != self._second:
            self._value = formatdate(now, usegmt=True)
            self._second = int(now)
        return self._value


_date_header = _DateHeader()


class Handler(BaseHTTPRequestHandler):
    """Routes one connection's requests; fault writers use send_head/send_body/wfile."""

    protocol_version = "HTTP/1.1"
    # Without it each keep-alive response waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "bulkop-simulator"
    sys_version = ""
    server: _Server
    _record = False

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: a stderr line per request would cost more than answering it."""

    def version_string(self) -> str:
        # The stdlib joins server_version and sys_version with a space, even an empty one.
        return self.server_version

    def __getattr__(self, name: str) -> Any:
        # The stdlib answers a method without a do_* attribute (TRACE, FOO) with an HTML 501;
        # here every method is routed, and each route answers the ones it does not take with 405.
        if name.startswith("do_"):
            return self.do_GET
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own errors (a request it could not parse) as JSON in the path's API's shape."""
        self.close_connection = True
        self._record = False
        # The stdlib may refuse a request before it sets self.path (which may still hold the
        # previous request's); the raw request line is always this request's.
        words = getattr(self, "raw_requestline", b"").decode("latin-1").split()
        path = (words[1] if len(words) > 1 else "").split("?", 1)[0]
        self.send_body(code, _saymon_error(code) if _is_saymon(path) else _router_error(code))

    def parse_request(self) -> bool:
        """Parse the request line and headers without the `email` parser the stdlib uses.

        Skipping it halves the server's CPU per request (~150 -> ~70 us measured here). Anything
        but a plain `METHOD target HTTP/1.x` line goes to the stdlib, which also sends its errors.
        """
        line = self.raw_requestline.decode("latin-1").rstrip("\r\n")
        words = line.split(" ")
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0") or words[1][:2] == "//":
            return super().parse_request()
        self.requestline = line
        self.command, self.path, self.request_version = words
        headers = _Headers()
        for _ in range(_MAX_HEADERS):
            raw = self.rfile.readline(_MAX_LINE + 1)
            if len(raw) > _MAX_LINE:
                self.close_connection = True
                self.send_error(431, "Line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon or not name or name[0] in " \t":
                self.close_connection = True
                self.send_error(400, "Bad header line")
                return False
            headers[name.strip().lower()] = value.strip()
        else:
            self.close_connection = True
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if headers.get("expect", "").lower() == "100-continue" and words[2] == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def do_GET(self) -> None:
        """Every method lands here; each route decides which methods it allows."""
        self._recorded = False
        self._record = not self.path.startswith(_CONTROL_PREFIX)
        request_body = self._read_body()
        path = self.path.split("?", 1)[0]
        try:
            if self._record:
                self._route(path)
            else:
                self._control(path, request_body)
        finally:
            if self._record and not self._recorded:
                self._save(0)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "Transfer-Encoding" in self.headers:
            # Chunked request bodies are not supported; closing keeps the stream in sync.
            self.close_connection = True
            return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    # -- responses ---------------------------------------------------------------------------

    def send_head(self, status: int, content_type: str, length: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Write the status line and headers only (faults that send a body of their own)."""
        self.wfile.write(self._head(status, content_type, length, headers))

    def write_body(self, data: bytes) -> None:
        """Write body bytes after send_head; none for HEAD, which gets the same head only."""
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        head = self._head(status, content_type, len(body), headers)
        # One write, so headers and body leave in one segment.
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def _head(self, status: int, content_type: str, length: int, headers: Iterable[tuple[str, str]]) -> bytes:
        # Recorded before any byte leaves, so a client that got its answer sees it recorded.
        if self._record:
            self._save(status)
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}",
            f"Server: {self.server_version}",
            f"Date: {_date_header()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {length}",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _save(self, status: int) -> None:
        self._recorded = True
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.sim._record(RecordedRequest(self.command, self.path, headers, time.monotonic(), status))

    # -- API routes --------------------------------------------------------------------------

    def _route(self, path: str) -> None:
        if path.startswith(_KNOCK_PREFIX):
            op_id = path[len(_KNOCK_PREFIX) :]
            if op_id and "/" not in op_id:
                return self._knock(op_id)
        elif path.startswith(_SAYMON_PREFIX) and path.endswith(_SAYMON_SUFFIX):
            op_id = path[len(_SAYMON_PREFIX) : -len(_SAYMON_SUFFIX)]
            if op_id and "/" not in op_id:
                return self._saymon(op_id)
        else:
            for api in catalogue.CATALOGUE.values():
                if path.startswith(api.prefix) and path.endswith(api.suffix):
                    op_id = unquote(path[len(api.prefix) : len(path) - len(api.suffix)])
                    if op_id and "/" not in op_id:
                        return self._catalogue(api, op_id)
        self.send_body(404, _SAYMON_NOT_FOUND if _is_saymon(path) else _ROUTER_404)

    def _knock(self, op_id: str) -> None:
        sim = self.server.sim
        if self.command not in ("GET", "HEAD"):
            return self.send_body(405, _ROUTER_405, headers=_ALLOW)
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.send_body(401, _KNOCK_MISSING_KEY)
        if not hmac.compare_digest(token.encode(), sim.knock_token.encode()):
            return self.send_body(401, _KNOCK_INVALID_KEY)
        op = sim._operations.get(op_id)
        if op is None or op.scenario.provider != "knock":
            return self.send_body(404, _KNOCK_NOT_FOUND)
        self._answer(op, _KNOCK_RATE_LIMITED, lambda: op.knock_body(sim.now(), sim.base_url))

    def _saymon(self, op_id: str) -> None:
        sim = self.server.sim
        if self.command not in ("GET", "HEAD"):
            return self.send_body(405, _SAYMON_405, headers=_ALLOW)
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not hmac.compare_digest(credentials.strip().encode(), sim._saymon_credentials):
            return self.send_body(401, _SAYMON_UNAUTHORIZED, headers=_SAYMON_CHALLENGE)
        op = sim._operations.get(op_id)
        if op is None or op.scenario.provider != "saymon":
            return self.send_body(404, _SAYMON_NOT_FOUND)
        self._answer(op, _SAYMON_RATE_LIMITED, lambda: op.saymon_body(sim.now()))

    def _catalogue(self, api: catalogue.Api, op_id: str) -> None:
        """Zendesk, Auth0, Mailchimp, Elasticsearch: bearer and ApiKey routes take knock_token, basic ones
        SAYMON's login and password."""
        sim = self.server.sim
        if self.command not in ("GET", "HEAD"):
            return self.send_body(405, catalogue.error_body(api.name, 405, "Method Not Allowed"), headers=_ALLOW)
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        expected = sim._saymon_credentials if api.auth == "basic" else sim.knock_token.encode()
        if scheme.lower() != api.auth or not hmac.compare_digest(credentials.strip().encode(), expected):
            challenge = (("WWW-Authenticate", f'Basic realm="{api.name}"'),) if api.auth == "basic" else ()
            return self.send_body(401, catalogue.error_body(api.name, 401, "Unauthorized"), headers=challenge)
        op = sim._operations.get(op_id)
        if op is None or op.scenario.provider != api.name:
            return self.send_body(404, catalogue.error_body(api.name, 404, "Not Found"))
        limited = catalogue.error_body(api.name, 429, "Too Many Requests")
        self._answer(op, limited, lambda: op.catalogue_body(sim.now(), sim.base_url))

    def _answer(self, op: Operation, rate_limited: bytes, body: Callable[[], bytes]) -> None:
        """Apply the scenario's latency, 429 and 5xx bursts and fault, else answer normally."""
        scenario = op.scenario
        number = op.next_request_number()
        if scenario.latency:
            self.server.stopping.wait(scenario.latency)
        if number <= scenario.rate_limit:
            headers = () if scenario.retry_after is None else (("Retry-After", scenario.retry_after),)
            return self.send_body(429, rate_limited, headers=headers)
        if number <= scenario.rate_limit + scenario.server_errors:
            return self.send_body(
                scenario.server_error_status,
                _server_error(scenario.provider, scenario.server_error_status),
            )
        if scenario.fault is not None:
            return FAULTS[scenario.fault](self, op, body())
        self.send_body(200, body())

    # -- control API -------------------------------------------------------------------------

    def _control(self, path: str, request_body: bytes) -> None:
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            return self.send_body(403, _json({"error": "the control API is loopback-only"}))
        sim = self.server.sim
        allowed = _CONTROL_ROUTES.get(path)
        if allowed is None:
            return self.send_body(404, _json({"error": f"unknown control route {path}"}))
        method = "GET" if self.command == "HEAD" else self.command
        if method not in allowed:
            message = f"{self.command} not allowed on {path} (allowed: {', '.join(allowed)})"
            return self.send_body(405, _json({"error": message}), headers=(("Allow", ", ".join(allowed)),))
        route = (method, path)
        try:
            if route == ("POST", "/_sim/operations"):
                op_id = sim.add(Scenario.from_dict(_parse_json(request_body)))
                return self.send_body(201, _json(sim._describe(op_id)))
            if route == ("POST", "/_sim/operations/batch"):
                items = _parse_json(request_body)
                if not isinstance(items, list):
                    raise ValueError("the batch must be a JSON list of scenarios")
                scenarios = Scenario.list_from_json(items)
                ids = [sim.add(scenario) for scenario in scenarios]
                return self.send_body(201, _json([sim._describe(op_id) for op_id in ids]))
            if route == ("GET", "/_sim/requests"):
                return self.send_body(200, _json(sim.request_counts()))
            if route == ("POST", "/_sim/reset"):
                sim.reset()
                return self.send_body(200, _json({"reset": True}))
        except (ValueError, TypeError) as exc:
            status = 409 if isinstance(exc, DuplicateIdError) else 400
            return self.send_body(status, _json({"error": str(exc)}))


# The control API: path -> the methods it takes (HEAD goes wherever GET does).
_CONTROL_ROUTES = {
    "/_sim/operations": ("POST",),
    "/_sim/operations/batch": ("POST",),
    "/_sim/requests": ("GET", "HEAD"),
    "/_sim/reset": ("POST",),
}


def _server_error(provider: str, status: int) -> bytes:
    if provider == "saymon":
        return _saymon_error(status)
    if provider in catalogue.CATALOGUE:
        return catalogue.error_body(provider, status, _REASONS.get(status, "Server Error"))
    return _knock_error(status, "internal_error", "api_error", _REASONS.get(status, "Server Error"))


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog (5) stalls bursts of new connections for a second.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can block on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler thread blocked on an idle keep-alive connection so it exits."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is routine here (faults, timeouts): stay quiet.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Simulator:
    """Serves both APIs on a background thread; operations are added as Scenarios."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        knock_token: str = "sk_test_bulkop_demo",
        saymon_login: str = "demo",
        saymon_password: str = "demo-password",
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        epoch: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.host = host
        self.port = port
        self.speed = speed
        self.knock_token = knock_token
        self.saymon_login = saymon_login
        self.saymon_password = saymon_password
        self.seed = seed
        self._saymon_credentials = base64.b64encode(f"{saymon_login}:{saymon_password}".encode())
        self._clock = clock
        self._origin = clock()
        # Simulated time 0 on the wall clock: fixed by default so tests are deterministic;
        # the demo passes the real time so that "3 min ago" reads true.
        self.epoch = epoch or EPOCH
        self._ids = random.Random(seed)
        self._operations: dict[str, Operation] = {}
        self._operations_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._server: _Server | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # Short poll so stop() returns promptly instead of after the default 0.5 s.
            kwargs={"poll_interval": 0.05},
            name=f"bulkop-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        # Wakes serve_forever's select at once on Linux instead of after its poll interval;
        # elsewhere the call may fail and the poll interval still bounds the wait.
        with contextlib.suppress(OSError):
            server.socket.shutdown(socket.SHUT_RDWR)
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Simulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("simulator not started")
        return self._base_url

    def now(self) -> float:
        """Simulated seconds since the simulator was created."""
        return (self._clock() - self._origin) * self.speed

    # -- operations ----------------------------------------------------------------------------

    def add(self, scenario: Scenario) -> str:
        """Start an operation now (simulated time) and return its id."""
        with self._operations_lock:
            op_id = scenario.id or self._new_id(scenario.provider)
            if op_id in self._operations:
                raise DuplicateIdError(f"operation {op_id!r} already exists")
            self._operations[op_id] = Operation(
                op_id, scenario, self.now(), seed=f"{self.seed}:{op_id}", epoch=self.epoch
            )
        return op_id

    def _new_id(self, provider: str) -> str:
        if provider == "knock":
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        if provider == "saymon":
            return f"{self._ids.getrandbits(96):024x}"
        return catalogue.new_id(provider, self._ids.getrandbits(128))

    def _describe(self, op_id: str) -> dict[str, str]:
        op = self._operations[op_id]
        return {
            "id": op_id,
            "provider": op.scenario.provider,
            "path": op.path,
            "url": self.base_url + op.path,
        }

    def reset(self) -> None:
        """Forget every operation and recorded request (the clock keeps running)."""
        with self._operations_lock:
            self._operations = {}
        self.clear_requests()

    # -- recorded requests ---------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def requests_for(self, op_id: str) -> list[RecordedRequest]:
        """Requests to any provider's route for this id, encoded or not (query strings ignored)."""
        from urllib.parse import quote

        paths = {knock_path(op_id), saymon_path(op_id)}
        for name in catalogue.CATALOGUE:
            paths |= {provider_path(name, op_id), provider_path(name, quote(op_id, safe=""))}
        return [r for r in self.requests if r.path.split("?", 1)[0] in paths]

    def request_counts(self) -> dict[str, Any]:
        requests = self.requests
        by_path = Counter(r.path.split("?", 1)[0] for r in requests)
        by_status = Counter(str(r.status) for r in requests)
        return {"count": len(requests), "by_path": dict(by_path), "by_status": dict(by_status)}
