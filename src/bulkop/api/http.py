"""HTTP for every provider: one keep-alive httpx transport, retries, a body size cap, error mapping.

Knows nothing of Rich or Typer. Events (each request, each retry) go to a callback so that the
CLI can log them (--debug) or show them in the watch view.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

if "httpx" not in sys.modules:
    # httpx's __init__ imports its own command-line tool (httpx._main), which loads click, rich
    # and pygments whenever they are installed: start-up time that `get -o json` and `status`
    # never use (bench/README.md, "Measurements behind the code"). Marking the module absent
    # makes httpx fall back to its stub `main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

from bulkop import __version__
from bulkop.errors import ApiUnavailable, AuthError, ConfigError, InvalidResponse, NotFoundError, UsageError
from bulkop.sanitize import clean

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a server asking for longer is capped (and still retried)
BACKOFF_BASE, BACKOFF_MAX = 0.5, 8.0
CONNECT_TIMEOUT = 5.0
USER_AGENT = f"bulkop/{__version__}"
# The encodings bulkop decodes itself, bounded (see _inflate); nothing else is asked for.
ACCEPT_ENCODING = "gzip, deflate"
# What every request says of itself (what an httpx.Client would add; the provider adds its own).
DEFAULT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "application/json",
    "Accept-Encoding": ACCEPT_ENCODING,
    "Connection": "keep-alive",
}
MAX_SERVER_TEXT = 160  # characters of server-sent text an error message quotes at most


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One request and what came of it; `retry_in` is set when it will be retried."""

    method: str
    url: str
    status: int | None
    elapsed: float
    error: str | None = None
    retry_in: float | None = None
    attempt: int = 1

    def __str__(self) -> str:
        outcome = str(self.status) if self.status is not None else (self.error or "no response")
        text = f"{self.method} {self.url} -> {outcome} in {self.elapsed * 1000:.0f} ms"
        if self.retry_in is not None:
            text += f"; retry {self.attempt} in {self.retry_in:.1f}s"
        return clean(text)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: httpx.Headers


class RateLimited(ApiUnavailable):
    """Still rate limited (429) after every retry."""

    kind = "rate_limited"


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses only. Not for `*.localhost`: RFC 6761 asks
    resolvers to keep those on this machine, but glibc without systemd-resolved asks DNS, so a
    credential sent in clear to `api.localhost` could go wherever DNS says."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_credentials_safe(base_url: str, allow_insecure_http: bool, source: str = "flag") -> None:
    """Refuse to send a secret over plain http:// unless the host is this machine (or told to).

    `source` is where the base URL came from: a flag makes this a usage error (exit 2), the
    environment or a profile a configuration error (exit 7).
    """
    parts = urlsplit(base_url)
    if parts.scheme.lower() == "http" and not allow_insecure_http and not is_loopback(parts.hostname or ""):
        error = UsageError if source == "flag" else ConfigError
        raise error(
            f"refusing to send credentials over plain http:// to {clean(parts.hostname, max_len=MAX_SERVER_TEXT)}",
            hint="use https://, or pass --allow-insecure-http (env BULKOP_ALLOW_INSECURE_HTTP=1) "
            "if this network is trusted",
        )


_DELTA_SECONDS = re.compile(r"[0-9]+", re.ASCII)
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = f"({'|'.join(_MONTHS)})"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
_IMF_FIXDATE = re.compile(rf"{_DAY}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT", re.ASCII)
_RFC850_DATE = re.compile(
    rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT",
    re.ASCII,
)
_ASCTIME_DATE = re.compile(rf"{_DAY} {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})", re.ASCII)


def _http_date(value: str) -> float | None:
    """Seconds since the epoch of an RFC 9110 HTTP-date, or None if `value` is not one."""
    if m := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
    elif m := _RFC850_DATE.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        year = str(1900 + int(yy) if int(yy) >= 70 else 2000 + int(yy))
    elif m := _ASCTIME_DATE.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
    else:
        return None
    try:
        when = datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:  # 31 February, 25:00:00, …
        return None
    return when.timestamp()


def retry_after_seconds(value: str | None, now_epoch: float) -> float | None:
    """Parse Retry-After as RFC 9110 defines it: delta-seconds (digits only) or an HTTP-date.

    Anything else (`1_0`, `1e3`, `inf`, `-1`, `10.5`) is treated as absent: None, so the caller
    backs off on its own.
    """
    if not value:
        return None
    value = value.strip(" \t")
    if _DELTA_SECONDS.fullmatch(value):
        # A thousand digits are as good as "a very long time": no int() of a huge string.
        seconds = float(value) if len(value) <= 12 else MAX_RETRY_AFTER
    else:
        when = _http_date(value)
        if when is None:
            return None
        seconds = when - now_epoch
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


_RNG = random.Random()


def backoff(attempt: int, rng: random.Random = _RNG) -> float:
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, … capped at 8 s."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2.0 ** min(max(attempt - 1, 0), 16)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Http:
    """One httpx transport (a keep-alive connection pool) per kind of URL (http, https), shared
    by every provider and thread.

    Three promises hold for every request, whatever the server does: certificates are always
    verified, nothing takes longer than the request's deadline (connect, headers and body
    together), and no body grows past the cap, even while it is being decompressed.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        max_connections: int = 20,
    ) -> None:
        self._transport = transport
        self.sleep = sleep
        self.now = now
        self.wall = wall  # seconds since the epoch: an HTTP-date in Retry-After is read against it
        self._max_connections = max_connections
        self._transports: dict[bool, httpx.BaseTransport] = {}
        self._lock = threading.Lock()
        # Each URL parsed once: a watch asks for the same few URLs every second, and httpx's
        # parser (a check per character) was a tenth of the CPU of a poll.
        self._urls: dict[str, httpx.URL] = {}

    def _transport_for(self, tls: bool) -> httpx.BaseTransport:
        # Requests go straight to httpx's transport, not through an httpx.Client: bulkop uses
        # none of what a Client adds on top (cookies, auth flows, redirects, proxies from the
        # environment, event hooks), and that machinery was a third of the CPU of a poll
        # (bench/README.md, "Measurements behind the code"). What is left of it is done in
        # _fetch: the default headers, the timeout extension, closing the response.
        # Loading a CA bundle is a large part of a short command's start-up; a plain-http
        # loopback call should not pay for it.
        # The plain-http transport still verifies: its TLS context trusts no certificate at
        # all, so an https URL that ever reached it would fail, never pass unchecked.
        with self._lock:
            transport = self._transports.get(tls)
            if transport is None:
                if self._transport is not None:
                    transport = self._transport
                else:
                    limits = httpx.Limits(
                        max_connections=self._max_connections,
                        max_keepalive_connections=self._max_connections,
                    )
                    context = httpx.create_ssl_context(trust_env=False) if tls else _trust_nothing()
                    transport = _DeadlineTransport(context, limits)
                self._transports[tls] = transport
            return transport

    def close(self) -> None:
        with self._lock:
            for transport in {id(t): t for t in self._transports.values()}.values():
                transport.close()
            self._transports.clear()

    def get(
        self,
        url: str,
        *,
        headers: dict[str, str],
        timeout: float,
        retries: int,
        max_body: int,
        on_event: Callable[[RequestEvent], None] | None = None,
        display_url: str | None = None,
    ) -> Response:
        """GET with retries on connection errors, timeouts, 429 and 502/503/504.

        `timeout` is each attempt's total deadline: connect, headers and body together.
        Returns the final response whatever its status (the provider maps 4xx/5xx to errors);
        raises ApiUnavailable when the network never gave an answer.
        """
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise UsageError(f"only http:// and https:// URLs are supported, not {clean(scheme, max_len=20)!r}")
        transport = self._transport_for(scheme == "https")
        shown = display_url or url
        attempt = 0
        while True:
            attempt += 1
            start = self.now()
            try:
                response = self._fetch(transport, url, headers, timeout, max_body)
            except _Retryable as e:
                elapsed = self.now() - start
                if attempt > retries or not e.retry:
                    _emit(on_event, RequestEvent("GET", shown, None, elapsed, e.reason, None, attempt))
                    raise ApiUnavailable(e.message(shown, attempt), hint=e.hint) from None
                delay = backoff(attempt)
                _emit(on_event, RequestEvent("GET", shown, None, elapsed, e.reason, delay, attempt))
                self.sleep(delay)
                continue
            elapsed = self.now() - start
            if response.status in RETRY_STATUSES and attempt <= retries:
                asked = retry_after_seconds(response.headers.get("retry-after"), self.wall())
                delay = backoff(attempt) if asked is None else asked
                _emit(on_event, RequestEvent("GET", shown, response.status, elapsed, None, delay, attempt))
                self.sleep(delay)
                continue
            _emit(on_event, RequestEvent("GET", shown, response.status, elapsed, None, None, attempt))
            return response

    def _fetch(
        self,
        transport: httpx.BaseTransport,
        url: str,
        headers: dict[str, str],
        timeout: float,
        max_body: int,
    ) -> Response:
        connect = min(CONNECT_TIMEOUT, timeout)
        deadline = time.monotonic() + timeout
        _DEADLINE.end = deadline  # every socket operation of this thread now ends by then
        try:
            parsed = self._urls.get(url)
            if parsed is None:
                parsed = httpx.URL(url)
                if len(self._urls) < URL_CACHE:
                    self._urls[url] = parsed
            request = httpx.Request(
                "GET",
                parsed,
                headers=_with_defaults(headers),
                extensions={"timeout": httpx.Timeout(timeout, connect=connect).as_dict()},
            )
            r = transport.handle_request(request)
            try:
                r.request = request
                declared = r.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_body:
                    raise InvalidResponse(_too_large(url, r.status_code, max_body, int(declared)))
                encodings = _content_encodings(r.headers, url)
                if declared and declared.isdigit() and not encodings:
                    # Known and under the cap: one read, no per-chunk loop (the common case).
                    return Response(r.status_code, r.headers.get("content-type", ""), r.read(), r.headers)
                chunks: list[bytes] = []
                size = 0
                # Encoded bodies are read raw and decoded here, bounded; httpx's decoders are not.
                wire = _raw(r.iter_raw() if encodings else r.iter_bytes(), deadline, max_body, url, r.status_code)
                for chunk in _inflate(wire, encodings):
                    size += len(chunk)
                    if size > max_body:
                        raise InvalidResponse(_too_large(url, r.status_code, max_body, None))
                    chunks.append(chunk)
                return Response(r.status_code, r.headers.get("content-type", ""), b"".join(chunks), r.headers)
            finally:
                r.close()  # the connection goes back to the pool, or is dropped mid-body
        except httpx.TimeoutException as e:
            if isinstance(e, httpx.ConnectTimeout):
                raise _Retryable(
                    "connect timeout", f"connect timed out after {connect:g}s", "check the base URL and the network"
                ) from None
            raise _Retryable(
                "timeout", f"timed out after {timeout:g}s", "try a larger --request-timeout, or check the server"
            ) from None
        except httpx.ConnectError as e:
            raise _connect_failure(e) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            raise _Retryable(
                "connection dropped",
                f"the connection broke ({clean(str(e), max_len=120) or type(e).__name__})",
                "the server closed the connection; try again",
            ) from None
        except httpx.DecodingError as e:
            raise InvalidResponse(
                f"{_host(url)} sent a body that cannot be decoded ({clean(str(e), max_len=120)})"
            ) from None
        except httpx.LocalProtocolError:
            # Raised while building the request: its text may quote a header, i.e. a secret.
            raise InvalidResponse(
                "the request could not be built (an invalid header value?)",
                hint="check the credentials for stray characters",
            ) from None
        except httpx.TransportError as e:
            what = f"{type(e).__name__}: {clean(str(e), max_len=120)}"
            raise _Retryable("transport error", what, "try again") from None
        finally:
            _DEADLINE.end = None


def _raw(chunks: Iterable[bytes], deadline: float, max_body: int, url: str, status: int) -> Iterator[bytes]:
    """The body as it comes off the wire, checked against the deadline and the cap."""
    size = 0
    for chunk in chunks:
        if time.monotonic() > deadline:
            # A body trickled in small chunks: the sockets keep their deadline, this loop too.
            raise httpx.ReadTimeout("the request's deadline passed")
        size += len(chunk)
        if size > max_body:
            raise InvalidResponse(_too_large(url, status, max_body, None))
        yield chunk


# --------------------------------------------------------------------------- bounded decoding

_PIECE = 64 * 1024  # most bytes one decompression step may produce


def _content_encodings(headers: httpx.Headers, url: str) -> list[str]:
    """The Content-Encoding layers in the order to undo them; an unknown one is an invalid answer."""
    layers = []
    for token in headers.get_list("content-encoding", split_commas=True):
        name = token.strip().lower()
        if name in ("", "identity"):
            continue
        if name == "x-gzip":
            name = "gzip"
        if name not in ("gzip", "deflate"):
            raise InvalidResponse(
                f"{_host(url)} sent a body in an encoding bulkop did not ask for "
                f"(Content-Encoding {clean(token, max_len=40)!r}; accepted: {ACCEPT_ENCODING})"
            )
        layers.append(name)
    return layers[::-1]


def _inflate(chunks: Iterable[bytes], encodings: list[str]) -> Iterator[bytes]:
    """Undo each encoding in turn, lazily: no step ever produces more than _PIECE bytes, so the
    caller's cap stops a stacked bomb (`gzip, gzip`) after at most the cap, not gigabytes later."""
    stream: Iterable[bytes] = chunks
    for encoding in encodings:
        stream = _Inflater(encoding).run(stream)
    return iter(stream)


class _Inflater:
    """One gzip or deflate layer (zlib-wrapped or raw deflate, as servers send both)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._obj: Any = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        self._head = b""  # deflate: the first two bytes tell zlib-wrapped from raw
        self._fed = False
        self._done = False

    def run(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield from self._feed(chunk)
        if self._obj is None and self._head:
            yield from self._feed(b"", final=True)
        if self._fed and not self._done:
            raise httpx.DecodingError(f"the {self.encoding} stream ends early")

    def _feed(self, data: bytes, *, final: bool = False) -> Iterator[bytes]:
        if self._done or not (data or final):
            return
        if self._obj is None:
            self._head += data
            if len(self._head) < 2 and not final:
                return
            data, self._head = self._head, b""
            zlib_wrapped = len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        self._fed = True
        while True:
            try:
                out = self._obj.decompress(data, _PIECE)
            except zlib.error as e:
                raise httpx.DecodingError(f"invalid {self.encoding} data: {e}") from None
            if out:
                yield out
            data = self._obj.unconsumed_tail
            if self._obj.eof:
                rest = self._obj.unused_data
                if self.encoding == "gzip" and rest[:1] == b"\x1f":
                    # Another gzip member follows (RFC 1952 allows several).
                    self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                    continue
                self._done = True  # anything after the end of the stream is ignored
                return
            if not data and len(out) < _PIECE:
                return


# --------------------------------------------------------------------------- transport


def _with_defaults(headers: dict[str, str]) -> list[tuple[str, str]]:
    """DEFAULT_HEADERS, each replaced by the provider's own of the same name in any case."""
    own = {name.lower() for name in headers}
    return [*((k, v) for k, v in DEFAULT_HEADERS.items() if k.lower() not in own), *headers.items()]


def _trust_nothing() -> ssl.SSLContext:
    """A TLS context that verifies certificates and hostnames but trusts no CA (so: nothing)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


class _Deadline(threading.local):
    end: float | None = None


# When the current thread's request must be over (time.monotonic()); None outside a request.
_DEADLINE = _Deadline()


def _within_deadline(timeout: float | None, kind: str) -> float | None:
    """The socket timeout to use now: the configured one, shortened to what is left of the deadline."""
    end = _DEADLINE.end
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        import httpcore

        error = {"connect": httpcore.ConnectTimeout, "write": httpcore.WriteTimeout}.get(kind, httpcore.ReadTimeout)
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A network stream whose every read and write ends by the request's deadline, so a server
    trickling a byte a second (headers or body) cannot hold a request past it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, "read"))  # type: ignore[no-any-return]

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, "write"))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        timeout = _within_deadline(timeout, "connect")
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    """httpcore's socket backend, its streams wrapped in _DeadlineStream."""

    def __init__(self) -> None:
        import httpcore

        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _DeadlineStream:
        timeout = _within_deadline(timeout, "connect")
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise NotImplementedError("bulkop connects over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport (its request and exception mapping), over a connection pool whose
    sockets keep the request's deadline. httpx does not let a network backend be passed in,
    so the pool is built here, as httpx builds it (tests/test_trust_http.py proves it works)."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        import httpcore

        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),  # type: ignore[arg-type]
        )


class _Retryable(Exception):
    def __init__(self, reason: str, what: str, hint: str, *, retry: bool = True) -> None:
        self.reason, self.what, self.hint, self.retry = reason, what, hint, retry

    def message(self, url: str, attempt: int) -> str:
        tries = f" (after {attempt} attempts)" if attempt > 1 else ""
        return f"{_host(url)}: {self.what}{tries}"


def _cause(e: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of `kind` in e's chain (httpx wraps httpcore's error, which wraps the
    OSError the socket raised), or None."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _connect_failure(e: httpx.ConnectError) -> _Retryable:
    """What went wrong while connecting, told by the type of the socket's exception (an OS's
    wording of it varies by platform and locale; its type does not)."""
    if _cause(e, socket.gaierror) is not None:
        return _Retryable(
            "name resolution failed", "cannot resolve the host", "check the base URL's host name", retry=False
        )
    if _cause(e, ConnectionRefusedError) is not None:
        return _Retryable(
            "connection refused", "connection refused", "is the server running, and is the base URL right?"
        )
    if _cause(e, ssl.SSLCertVerificationError) is not None:
        return _Retryable(
            "certificate not trusted",
            f"its TLS certificate could not be verified ({clean(str(e), max_len=120)})",
            "the server is not who it claims to be, or uses a certificate no public CA signed",
            retry=False,
        )
    return _Retryable(
        "connection failed",
        f"cannot connect ({clean(str(e), max_len=120) or type(e).__name__})",
        "check the network and the base URL",
    )


def _emit(on_event: Callable[[RequestEvent], None] | None, event: RequestEvent) -> None:
    if on_event is not None:
        on_event(event)


URL_CACHE = 10_000  # parsed URLs kept per Http (one per operation watched)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _too_large(url: str, status: int, cap: int, declared: int | None) -> str:
    size = f"a {human_bytes(declared)} body" if declared else "more than that"
    return (
        f"{_host(url)} answered HTTP {status} with a body over the {human_bytes(cap)} cap "
        f"({cap:,} bytes; it sent {size}); raise BULKOP_MAX_BODY_SIZE if this is expected"
    )


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1048576:.1f} MiB".replace(".0 MiB", " MiB")


# --------------------------------------------------------------------------- response → errors


def _as_is(text: str) -> str:
    return text


def decode_json(response: Response, url: str, redact: Callable[[str], str] = _as_is) -> Any:
    """Parse a JSON body, or raise InvalidResponse naming status, content type and an excerpt.

    `redact` masks the credential in server text (a server may echo it) before it is cut."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        content_type = clean(redact(response.content_type), max_len=80) or "no content type"
        raise InvalidResponse(
            f"{_host(url)} answered HTTP {response.status} with {content_type}, not JSON: "
            f"{excerpt(response.body, redact=redact)}",
            hint="is the base URL right?",
        ) from None


def excerpt(body: bytes, limit: int = 80, redact: Callable[[str], str] = _as_is) -> str:
    if not body:
        return "(empty body)"
    # Enough of the body that a credential starting in the excerpt is masked whole, then cut.
    text = body[: limit * 4 + 1024].decode("utf-8", "replace")
    text = " ".join(redact(text).split())
    return repr(clean(text, max_len=limit))


def raise_for_status(
    response: Response,
    url: str,
    *,
    what: str,
    describe: Callable[[Response], str | None],
    auth_hint: str,
    redact: Callable[[str], str] = _as_is,
    wall: Callable[[], float] = time.time,
) -> None:
    """Map a non-2xx response to the error a user can act on (server text through `redact`);
    an HTTP-date in Retry-After is read against `wall` (seconds since the epoch)."""
    status = response.status
    if 200 <= status < 300:
        return
    detail = describe(response)
    if detail and detail.split(" ", 1)[0] == str(status):  # "404 Not Found" already says its status
        suffix = f" ({detail})"
    else:
        suffix = f" ({status} {detail})" if detail else f" (HTTP {status})"
    host = _host(url)
    if status == 304:  # not a redirect: an answer to a conditional request bulkop never makes
        raise InvalidResponse(
            f"{host} answered 304 Not Modified (bulkop sent no conditional request)",
            hint="check the base URL, or a proxy or cache in between",
        )
    if 300 <= status < 400:
        target = redact(response.headers.get("location", ""))
        raise InvalidResponse(
            f"{host} redirected to {clean(target, max_len=100) or 'nowhere'}; "
            f"not followed, so credentials stay on {host}",
            hint="set the base URL to the final address",
            lasting=True,
        )
    if status in (401, 403):
        verb = "refused the credentials" if status == 401 else "denied access"
        raise AuthError(f"{host} {verb} for {what}{suffix}", hint=auth_hint)
    if status == 404:
        raise NotFoundError(f"{what} not found at {host}{suffix}", hint="check the id, the profile and the base URL")
    retry_after = retry_after_seconds(response.headers.get("retry-after"), wall())
    if status == 429:
        err: ApiUnavailable = RateLimited(
            f"{host} is rate limiting requests{suffix}",
            hint="wait a minute and retry; lower --max-rps for watch",
        )
        err.retry_after = retry_after
        raise err
    if status >= 500:
        err = ApiUnavailable(f"{host} is failing{suffix}", hint="the API is having trouble; retry later")
        err.retry_after = retry_after
        raise err
    # Any other 4xx but 408 and 425 says the request itself is wrong: it will be refused again.
    raise ApiUnavailable(
        f"{host} refused the request for {what}{suffix}",
        hint="check the id and the base URL",
        lasting=400 <= status < 500 and status not in (408, 425),
    )
