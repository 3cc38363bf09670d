"""HTTP for every provider: one keep-alive httpx.Client, retries, a body size cap, error mapping.

Knows nothing of Rich or Typer. Events (each request, each retry) go to a callback so that the
CLI can log them (--debug) or show them in the watch view.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

if "httpx" not in sys.modules:
    # httpx's __init__ imports its own command-line tool (httpx._main), which loads click, rich
    # and pygments whenever they are installed: ~45 ms that `get -o json` and `status` never
    # use. Marking the module absent makes httpx fall back to its stub `main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

from bulkop import __version__
from bulkop.errors import ApiUnavailable, AuthError, InvalidResponse, NotFoundError, UsageError
from bulkop.sanitize import clean

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a server asking for longer is capped (and still retried)
BACKOFF_BASE, BACKOFF_MAX = 0.5, 8.0
CONNECT_TIMEOUT = 5.0
USER_AGENT = f"bulkop/{__version__}"


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
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_credentials_safe(base_url: str, allow_insecure_http: bool) -> None:
    """Refuse to send a secret over plain http:// unless the host is this machine (or told to)."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname or ""):
        raise UsageError(
            f"refusing to send credentials over plain http:// to {parts.hostname}",
            hint="use https://, or pass --allow-insecure-http (env BULKOP_ALLOW_INSECURE_HTTP=1) "
            "if this network is trusted",
        )


def retry_after_seconds(value: str | None, now_epoch: float | None = None) -> float | None:
    """Parse Retry-After (delta-seconds or an HTTP-date); None if absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now_epoch is None else now_epoch)
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


_RNG = random.Random()


def backoff(attempt: int, rng: random.Random = _RNG) -> float:
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, … capped at 8 s."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** min(max(attempt - 1, 0), 16)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Http:
    """One httpx.Client per process, shared by every provider and thread (it is thread-safe)."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        max_connections: int = 20,
    ) -> None:
        self._transport = transport
        self.sleep = sleep
        self.now = now
        self._max_connections = max_connections
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, tls: bool) -> httpx.Client:
        # A TLS context (and the CA bundle) is only built when an https:// URL needs it: it
        # costs 30-60 ms, which a plain-http loopback call should not pay.
        with self._lock:
            client = self._clients.get(tls)
            if client is None:
                limits = httpx.Limits(
                    max_connections=self._max_connections,
                    max_keepalive_connections=self._max_connections,
                )
                kwargs: dict[str, Any] = {
                    "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
                    "follow_redirects": False,
                    "trust_env": False,
                }
                if self._transport is not None:
                    kwargs["transport"] = self._transport
                elif not tls:
                    kwargs["transport"] = httpx.HTTPTransport(verify=False, limits=limits)
                else:
                    kwargs["limits"] = limits
                client = self._clients[tls] = httpx.Client(**kwargs)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

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

        Returns the final response whatever its status (the provider maps 4xx/5xx to errors);
        raises ApiUnavailable when the network never gave an answer.
        """
        client = self._client(url.startswith("https:"))
        shown = display_url or url
        http_timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        attempt = 0
        while True:
            attempt += 1
            start = self.now()
            try:
                response = self._fetch(client, url, headers, http_timeout, max_body)
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
                delay = retry_after_seconds(response.headers.get("retry-after"))
                if delay is None:
                    delay = backoff(attempt)
                _emit(on_event, RequestEvent("GET", shown, response.status, elapsed, None, delay, attempt))
                self.sleep(delay)
                continue
            _emit(on_event, RequestEvent("GET", shown, response.status, elapsed, None, None, attempt))
            return response

    def _fetch(
        self,
        client: httpx.Client,
        url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        max_body: int,
    ) -> Response:
        try:
            with client.stream("GET", url, headers=headers, timeout=timeout) as r:
                declared = r.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_body:
                    raise InvalidResponse(_too_large(url, r.status_code, max_body, int(declared)))
                if declared and declared.isdigit() and "content-encoding" not in r.headers:
                    # Known and under the cap: one read, no per-chunk loop (the common case).
                    return Response(r.status_code, r.headers.get("content-type", ""), r.read(), r.headers)
                chunks: list[bytes] = []
                size = 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > max_body:
                        raise InvalidResponse(_too_large(url, r.status_code, max_body, None))
                    chunks.append(chunk)
                return Response(r.status_code, r.headers.get("content-type", ""), b"".join(chunks), r.headers)
        except httpx.TimeoutException as e:
            kind = "connect" if isinstance(e, httpx.ConnectTimeout) else "read"
            raise _Retryable(
                f"{kind} timeout",
                f"timed out after {timeout.read:g}s",
                "try a larger --request-timeout, or check the server",
            ) from None
        except httpx.ConnectError as e:
            text = str(e)
            if (
                "Name or service not known" in text
                or "nodename nor servname" in text
                or "getaddrinfo" in text
                or "Temporary failure in name resolution" in text
            ):
                raise _Retryable(
                    "name resolution failed", "cannot resolve the host", "check the base URL's host name", retry=False
                ) from None
            if "refused" in text.lower():
                raise _Retryable(
                    "connection refused", "connection refused", "is the server running, and is the base URL right?"
                ) from None
            raise _Retryable(
                "connection failed", f"cannot connect ({clean(text)[:120]})", "check the network and the base URL"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            raise _Retryable(
                "connection dropped",
                f"the connection broke ({clean(str(e))[:120] or type(e).__name__})",
                "the server closed the connection; try again",
            ) from None
        except httpx.DecodingError as e:
            raise InvalidResponse(f"{_host(url)} sent a body that cannot be decoded ({clean(str(e))[:120]})") from None
        except httpx.LocalProtocolError:
            # Raised while building the request: its text may quote a header, i.e. a secret.
            raise InvalidResponse(
                "the request could not be built (an invalid header value?)",
                hint="check the credentials for stray characters",
            ) from None
        except httpx.TransportError as e:
            raise _Retryable("transport error", f"{type(e).__name__}: {clean(str(e))[:120]}", "try again") from None


class _Retryable(Exception):
    def __init__(self, reason: str, what: str, hint: str, *, retry: bool = True) -> None:
        self.reason, self.what, self.hint, self.retry = reason, what, hint, retry

    def message(self, url: str, attempt: int) -> str:
        tries = f" (after {attempt} attempts)" if attempt > 1 else ""
        return f"{_host(url)}: {self.what}{tries}"


def _emit(on_event: Callable[[RequestEvent], None] | None, event: RequestEvent) -> None:
    if on_event is not None:
        on_event(event)


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


def decode_json(response: Response, url: str) -> Any:
    """Parse a JSON body, or raise InvalidResponse naming status, content type and an excerpt."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidResponse(
            f"{_host(url)} answered HTTP {response.status} with "
            f"{response.content_type or 'no content type'}, not JSON: {excerpt(response.body)}",
            hint="is the base URL right?",
        ) from None


def excerpt(body: bytes, limit: int = 80) -> str:
    if not body:
        return "(empty body)"
    text = body[: limit * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(clean(text, max_len=limit))


def raise_for_status(
    response: Response,
    url: str,
    *,
    what: str,
    describe: Callable[[Response], str | None],
    auth_hint: str,
) -> None:
    """Map a non-2xx response to the error a user can act on."""
    status = response.status
    if 200 <= status < 300:
        return
    detail = describe(response)
    suffix = f" ({status} {detail})" if detail else f" (HTTP {status})"
    host = _host(url)
    if 300 <= status < 400:
        target = response.headers.get("location", "")
        raise InvalidResponse(
            f"{host} redirected to {clean(target)[:100] or 'nowhere'}; not followed, so credentials stay on {host}",
            hint="set the base URL to the final address",
        )
    if status in (401, 403):
        verb = "refused the credentials" if status == 401 else "denied access"
        raise AuthError(f"{host} {verb} for {what}{suffix}", hint=auth_hint)
    if status == 404:
        raise NotFoundError(f"{what} not found at {host}{suffix}", hint="check the id, the profile and the base URL")
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
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
    raise ApiUnavailable(f"{host} refused the request for {what}{suffix}", hint="check the id and the base URL")
