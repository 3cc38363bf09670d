"""A small client for bulk operations on any provider definition, usable from Python on its own.

    from bulkop.api import Client
    with Client("zendesk", "https://acme.zendesk.com", api_key="...") as client:
        op = client.get("123e4567-e89b-12d3-a456-426614174000")
        print(op.status, op.processed_rows, op.estimated_total_rows)
        ops = client.get_many([id1, id2])   # BulkOperation or the BulkopError for each id

Errors are `bulkop.errors` exceptions: AuthError, NotFoundError, ApiUnavailable, InvalidResponse.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote

from bulkop.api.http import (
    Http,
    RequestEvent,
    Response,
    check_credentials_safe,
    decode_json,
    raise_for_status,
)
from bulkop.errors import BulkopError, ConfigError, InvalidResponse, UsageError
from bulkop.models import BulkOperation
from bulkop.providers import ProviderDefinition
from bulkop.providers import resolve as resolve_provider
from bulkop.sanitize import clean
from bulkop.settings import MiB, mask, normalize_base_url

__all__ = ["Client", "RequestEvent"]


class Client:
    """Fetches operations from one API account (one provider, base URL and credential)."""

    def __init__(
        self,
        provider: str | ProviderDefinition,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        login: str | None = None,
        password: str | None = None,
        request_timeout: float = 30.0,
        retries: int = 3,
        max_body_size: int = 64 * MiB,
        allow_insecure_http: bool = False,
        http: Http | None = None,
        on_event: Callable[[RequestEvent], None] | None = None,
        base_url_source: str = "flag",
        provider_tables: Mapping[str, Any] | None = None,
        auth_hint: str | None = None,
    ) -> None:
        """`provider` is a definition, or a name resolved among the built-ins and `provider_tables`
        (config.toml's [providers.NAME] tables). `base_url_source` says where the base URL came
        from (flag, env, profile, default), so that a problem with it is a usage error (exit 2)
        for a flag, a config error (7) otherwise."""
        if isinstance(provider, ProviderDefinition):
            self.definition = provider
        else:
            self.definition = resolve_provider(provider, provider_tables)
        self.provider = self.definition.name
        base = base_url or self.definition.base_url
        if not base:
            raise ConfigError(
                f"no base URL for {self.provider}",
                hint=f"{self.definition.base_url_help or self.provider + ' has no default'}: pass --base-url, "
                "set BULKOP_BASE_URL, or set the profile's base_url",
            )
        error = UsageError if base_url_source == "flag" else ConfigError
        try:
            # Settings hand over a URL already in this normal form; a library caller may not.
            self.base_url = normalize_base_url(base)
        except ValueError as e:
            hint = "check --base-url, BULKOP_BASE_URL or the profile's base_url"
            raise error(f"the base URL {e}", hint=hint) from None
        needed = " and ".join(self.definition.secrets_needed) or "credentials"
        self.auth_hint = (
            self.definition.auth_hint or auth_hint or f"check the profile's {needed} (`bulkop config show`)"
        )
        creds = SimpleNamespace(api_key=api_key, login=login, password=password)
        try:
            self._auth = self.definition.auth_headers(creds)
        except ConfigError as e:
            if not self.definition.secret_hint and auth_hint:
                # The caller's hint names where this credential is read from (variables, the
                # profile): it replaces the definition's generic one, never follows it (the two
                # said the same thing twice). A definition's own secret_hint is the whole advice.
                e.hint = auth_hint
            raise
        check_credentials_safe(self.base_url, allow_insecure_http, base_url_source)
        self._secrets = _secrets_of(self._auth, self.definition.headers, api_key, password)
        self.request_timeout = request_timeout
        self.retries = retries
        self.max_body_size = max_body_size
        if on_event is not None and self._secrets:
            self.on_event: Callable[[RequestEvent], None] | None = self._masked_events(on_event)
        else:
            self.on_event = on_event
        self._own_http = http is None
        self.http = http or Http()
        self._ids: dict[str, str] = {}  # id as given → canonical, once checked
        self._urls: dict[str, str] = {}  # canonical id → its operation's URL

    @classmethod
    def from_settings(
        cls, settings: Any, *, http: Http | None = None, on_event: Callable[[RequestEvent], None] | None = None
    ) -> Client:
        return cls(
            settings.provider,
            settings.base_url,
            api_key=settings.api_key,
            login=settings.login,
            password=settings.password,
            request_timeout=settings.request_timeout,
            retries=settings.retries,
            max_body_size=settings.max_body_size,
            allow_insecure_http=settings.allow_insecure_http,
            http=http,
            on_event=on_event,
            base_url_source=_source(settings, "base_url"),
            provider_tables=getattr(settings, "provider_tables", None),
            auth_hint=getattr(settings, "auth_hint", None),
        )

    def normalize_id(self, op_id: str) -> str:
        """The canonical id, or UsageError (exit 2) before any request is made.

        Whatever a provider accepts, the id must stay one path segment of its route: it may not
        walk up (`..`), out (`/`, `\\`), into a query or fragment (`?`, `#`), or hide any of
        these behind %-encoding or whitespace.
        """
        known = self._ids.get(op_id)
        if known is not None:  # a watch asks again for each poll
            return known
        canonical = self.definition.check_id(op_id)
        if not _one_path_segment(canonical):
            raise UsageError(
                f"{clean(op_id, max_len=80)!r} is not a {self.definition.operation_noun} id "
                "(an id cannot be . or .., nor hold /, \\, ?, #, %, ;, spaces or control characters)"
            )
        if len(self._ids) < ID_CACHE:
            self._ids[op_id] = canonical
        return canonical

    def url(self, op_id: str) -> str:
        url = self._urls.get(op_id)
        if url is None:  # a watch asks for the same URL at every poll: built (and checked) once
            url = self.definition.build_url(self.base_url, op_id)
            if len(self._urls) < ID_CACHE:
                self._urls[op_id] = url
        return url

    def get(self, op_id: str, *, retries: int | None = None) -> BulkOperation:
        """Fetch one operation (retrying transient failures), or raise a BulkopError.

        No error leaves with the credential in it: a server may echo it (see `redact`)."""
        try:
            op_id = self.normalize_id(op_id)
            url = self.url(op_id)
            response = self.http.get(
                url,
                headers=self._auth,
                timeout=self.request_timeout,
                retries=self.retries if retries is None else retries,
                max_body=self.max_body_size,
                on_event=self.on_event,
            )
            what = f"{self.provider} operation {op_id}"
            raise_for_status(
                response,
                url,
                what=what,
                describe=self._describe,
                auth_hint=self.auth_hint,
                redact=self.redact,
                wall=self.http.wall,
            )
            data = decode_json(response, url, redact=self.redact)
        except BulkopError as e:
            raise self._masked(e) from None
        return self.read(op_id, data, response)

    def redact(self, text: str) -> str:
        """`text` with this client's credentials masked (settings.mask): the API key, the
        password, the Basic token and the whole credential header value, in any case and with
        any of their characters %-encoded, and any piece of one: a run of 8 or more of its
        characters anywhere, or a beginning of 4 or more cut off by a shortened message (before
        `…`, `...`, a quote or the end)."""
        if not self._secrets or not text:
            return text
        for secret in self._secrets:
            if len(secret) < _SHORT_SECRET and secret in text:
                # "k" is in every word: a short secret is masked where it stands on its own
                bounded = rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])"
                text = re.sub(bounded, mask(secret), text)
        return _mask_pieces(text, [s for s in self._secrets if len(s) >= _SHORT_SECRET])

    def _masked(self, e: BulkopError) -> BulkopError:
        if self._secrets:
            e.message = self.redact(e.message)
            e.args = (e.message,)
            if e.hint:
                e.hint = self.redact(e.hint)
        return e

    def _masked_events(self, on_event: Callable[[RequestEvent], None]) -> Callable[[RequestEvent], None]:
        def masked(event: RequestEvent) -> None:
            # The URL is the client's own (base URL without userinfo, a checked id): only the
            # server's words can hold a credential, and scanning every poll's URL cost CPU.
            if event.error:
                error = self.redact(event.error)
                if error != event.error:
                    event = dataclasses.replace(event, error=error)
            on_event(event)

        return masked

    def read(self, op_id: str, data: Any, response: Response | None = None) -> BulkOperation:
        """The operation a decoded 2xx body describes, or InvalidResponse saying why not."""
        try:
            op = self.definition.normalize(op_id, data)
            self._check_echoed_id(op_id, op)
        except BulkopError as e:
            raise self._masked(self._read_error(e, response)) from None
        return op

    def _read_error(self, e: BulkopError, response: Response | None) -> BulkopError:
        """The error said as about this response (server text masked, then cut)."""
        # The parser may quote what the server sent: a 20 MB field must not become the line.
        # The credential is masked before the cut, so no beginning of it is left.
        detail = clean(self.redact(e.message), max_len=300)
        if response is None:
            e.message = f"an invalid {self.provider} operation: {detail}"
            return e
        content_type = clean(self.redact(response.content_type), max_len=80) or "no content type"
        e.message = (
            f"{self.base_url} answered HTTP {response.status} ({content_type}) "
            f"with an invalid {self.provider} operation: {detail}"
        )
        return e

    def _describe(self, response: Response) -> str | None:
        """The definition's one-line message from an error body (None when it is not JSON)."""
        try:
            body = json.loads(response.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return self.definition.describe_error(body, self.redact)

    def _check_echoed_id(self, op_id: str, op: BulkOperation) -> None:
        """An answer about another operation is not an answer about this one."""
        if "id" not in self.definition.fields:
            return  # the body does not say which operation it is about: the id asked stands
        if str(op.id) == op_id:
            return  # the canonical id asked, echoed as it is: checking it again changes nothing
        try:
            echoed = self.definition.check_id(str(op.id))
        except UsageError:
            echoed = None
        if echoed != op_id:
            raise InvalidResponse(
                f"it is about operation {clean(str(op.id), max_len=80)!r}, not the one asked for ({op_id})"
            )

    def get_many(self, ids: Iterable[str], *, max_workers: int = 8) -> list[BulkOperation | BulkopError]:
        """Fetch several operations concurrently (bounded); results in the order given, each an
        operation or the BulkopError met for that id."""
        from bulkop.pool import fetch_each

        if isinstance(ids, str):  # a str is an iterable of one-letter "ids"
            raise TypeError("get_many() takes a list of ids; use get() for one")
        if max_workers < 1:
            raise ValueError(f"max_workers must be 1 or more, not {max_workers}")
        return fetch_each([functools.partial(self._get_or_error, op_id) for op_id in ids], max_workers)

    def _get_or_error(self, op_id: str) -> BulkOperation | BulkopError:
        try:
            return self.get(op_id)
        except BulkopError as e:
            return e

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _source(settings: Any, name: str) -> str:
    """Where a setting came from (flag, env, profile, default); "flag" when it is not known."""
    resolved = getattr(settings, "values", {}).get(name)
    return getattr(resolved, "source", "flag")


def _secrets_of(
    auth: Mapping[str, str], own_headers: Mapping[str, str], api_key: str | None, password: str | None
) -> tuple[str, ...]:
    """Every spelling of the credential a server could echo: the whole header value it travels
    in ("Bearer …", "Basic <token>"), its token, the key or password itself, and their
    %-encoded and JSON-escaped forms. Longest first, so the whole header value is masked as one."""
    found: set[str] = set()
    for name, value in auth.items():
        if own_headers.get(name) == value:
            continue  # the definition's own, non-secret header
        found.add(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.lower() in ("basic", "bearer"):
            found.add(token)
    found.update(s for s in (api_key, password) if s)
    found.update({quote(s, safe="") for s in found} | {json.dumps(s)[1:-1] for s in found})
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


_CUT_MARKS = ("…", "...", "'", '"')
_MIN_CUT_OFF = 4  # a shorter beginning of a secret is not told apart from ordinary text
_MIN_PIECE = 8  # a run of this many characters of a secret is masked wherever it stands
_SHORT_SECRET = 8  # below this, a secret is masked only as a word of its own, never cut off


def _units(text: str, percent: bool) -> tuple[str, list[int]]:
    """`text` as a server may have encoded it, decoded for matching: lower-cased and (with
    `percent`) each ASCII `%XX` read as its character; with where each character of the result
    starts in `text` (one more entry: the end)."""
    if not percent or "%" not in text:
        low = text.lower()
        if len(low) == len(text):  # the common case: positions are the same
            return low, list(range(len(text) + 1))
    chars: list[str] = []
    starts: list[int] = []
    i = 0
    while i < len(text):
        starts.append(i)
        if percent and text[i] == "%" and _is_hex(text[i + 1 : i + 3]) and int(text[i + 1 : i + 3], 16) < 0x80:
            chars.append(chr(int(text[i + 1 : i + 3], 16)).lower())
            i += 3
        else:
            low = text[i].lower()
            chars.append(low if len(low) == 1 else text[i])
            i += 1
    starts.append(len(text))
    return "".join(chars), starts


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def _mask_pieces(text: str, secrets: list[str]) -> str:
    """Every piece of a (long) secret in `text` replaced: the whole secret by settings.mask, a
    piece of it by `…` (see Client.redact for what counts as a piece). Read twice: with `%XX`
    decoded, then as written (a secret may hold `%41` itself)."""
    # Their %-encoded spellings are matched by decoding the text instead.
    secrets = [s for s in secrets if "%" not in s or unquote(s) not in secrets]
    for percent in (True, False):
        text = _mask_pass(text, secrets, percent)
    return text


def _mask_pass(text: str, secrets: list[str], percent: bool) -> str:
    if not secrets:
        return text
    decoded, starts = _units(text, percent)
    spans: list[tuple[int, int, str]] = []  # (start, end) in decoded, and what replaces it
    for secret in secrets:
        low = secret.lower()
        # "Bearer <token>": its token is a secret of its own; a piece of the whole value
        # would reach into the ordinary text before it ("lower sk_…" matches "bearer sk_…").
        whole_only = " " in secret and secret.partition(" ")[2] in secrets
        seen: set[int] = set()
        for i in range(len(low) - _MIN_CUT_OFF + 1):
            gram = low[i : i + _MIN_CUT_OFF]
            pos = decoded.find(gram)
            while pos != -1:
                # Extend the match both ways as far as the secret goes.
                a, j = pos, i
                while a > 0 and j > 0 and decoded[a - 1] == low[j - 1]:
                    a, j = a - 1, j - 1
                b, k = a, j
                while b < len(decoded) and k < len(low) and decoded[b] == low[k]:
                    b, k = b + 1, k + 1
                if a not in seen:
                    seen.add(a)
                    size = b - a
                    cut = b == len(decoded) or decoded.startswith(_CUT_MARKS, b)
                    if size == len(low):
                        spans.append((a, b, mask(secret)))
                    elif not whole_only and (size >= _MIN_PIECE or (j == 0 and cut)):
                        spans.append((a, b, "…"))
                pos = decoded.find(gram, pos + 1)
    if not spans:
        return text
    out: list[str] = []
    end = 0  # in decoded: what is before it has been written
    # Leftmost first, the longest of those, a whole secret before a piece of the same extent.
    for a, b, replacement in sorted(spans, key=lambda s: (s[0], -s[1], s[2] == "…")):
        if b <= end:
            continue  # inside a piece already masked
        a = max(a, end)
        out.append(text[starts[end] : starts[a]])
        out.append(replacement)
        end = b
    out.append(text[starts[end] :])
    return "".join(out)


_NOT_IN_A_SEGMENT = frozenset("/\\?#%;")
ID_CACHE = 10_000  # checked ids kept per client (one per operation watched)


def _one_path_segment(op_id: str) -> bool:
    """True when `op_id`, put in a route, stays exactly one segment of it, whatever a server
    or proxy on the way decodes or normalises (dot segments, %-escapes, `;` parameters)."""
    if op_id in ("", ".", "..") or not op_id.isascii() or not op_id.isprintable():
        return False
    return not any(ch in _NOT_IN_A_SEGMENT or ch.isspace() for ch in op_id)
