"""ProviderDefinition: how to fetch one bulk operation over GET and read it with JMESPath (data, not code).

A definition is the `[providers.NAME]` table of config.toml (or a built-in TOML file):

    url = "{base_url}/api/jobs/{id}"   # {id} percent-encoded as one path segment
    auth = "bearer"                    # bearer | basic | "header:NAME" | none
    auth_scheme = "ApiKey"             # optional, header auth only: sends "ApiKey <api_key>"
    id_pattern = "[0-9]+"              # full match, checked before any request
    base_url = "https://api.example"   # optional default
    headers = { "Api-Version" = "1" }  # optional, non-secret
    required = ["name", "total"]       # optional: fields that must be present (not null)
    error_message = ["message"]        # optional: expressions over an error (non-2xx) body
    title = "Acme"                     # optional: the provider's name as people write it (messages)
    noun = "import job"                # optional: what one operation is called ("Acme import job id")
    id_description = "a number such as 42"  # optional: says what an id is when one is refused
    secret_hint = "export ACME_KEY, or …"  # optional: the whole hint when the credential is missing
    auth_hint = "check ACME_KEY"       # optional: the hint when the server refuses the credential
    base_url_help = "each account has its own address"  # optional: why there is no default base_url
    [fields]                           # JMESPath over the JSON body; only `status` is required
    [status]                           # raw value -> queued | processing | completed | failed
    [status_words]                     # optional: the word views show for a state, when the API's
                                       # vocabulary is not those four (completed = "finished")
    [formats]                          # optional: "uuid" for id; "epoch_s"/"epoch_ms" for times

Status values are matched by JSON type and value: the string "true" never matches the boolean
true, nor 1 the boolean true (TOML arrays hold strings, integers and booleans alike, so
`completed = [true]` maps SAYMON's `"finished": true`). What a body lacks stays None ("unknown"),
never a made-up 0.
"""

from __future__ import annotations

import base64
import difflib
import functools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from uuid import UUID

from bulkop.errors import ConfigError, InvalidResponse, UsageError
from bulkop.models import MAX_COUNT, BulkOperation, ErrorItem, Reporting, Status, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

AUTH_KINDS = ("bearer", "basic", "header:NAME", "none")
STATES = tuple(s.value for s in Status)

# Field name -> what its value must be. Names from the issue, plus what Knock's output needs.
INT_FIELDS = ("total", "processed", "succeeded", "failed")
TIME_FIELDS = ("created_at", "updated_at", "started_at", "ended_at", "completed_at", "failed_at")
TEXT_FIELDS = ("name", "progress_path", "typename")
FIELDS = ("status", "id", *TEXT_FIELDS[:1], *INT_FIELDS, "error_items", *TIME_FIELDS, *TEXT_FIELDS[1:])
FORMATS = {"id": ("string", "uuid"), **{f: ("rfc3339", "epoch_s", "epoch_ms") for f in TIME_FIELDS}}
TOP_KEYS = (
    "url",
    "auth",
    "auth_scheme",
    "id_pattern",
    "base_url",
    "headers",
    "required",
    "error_message",
    "fields",
    "status",
    "formats",
    "description",
    "id_example",
    "id_looks_like",
    "title",
    "noun",
    "id_description",
    "status_words",
    "secret_hint",
    "auth_hint",
    "base_url_help",
)

# JSON numbers beyond models.MAX_COUNT are refused rather than shown as a 300-digit count.
# Epoch timestamps are checked against this window (years 1970..9999) before conversion.
_MAX_EPOCH_S = 253402300799
# Unquoted JMESPath identifiers joined by dots: read without the JMESPath machinery.
_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SECRET_OK = re.compile(r"[\x20-\x7e]+")
_TOKEN_OK = re.compile(r"[\x21-\x7e]+")
# Headers bulkop sets itself or that would change what the request means.
_RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "cookie",
        # Hop-by-hop (RFC 9110 §7.6.1): a proxy on the way drops them, the credential with them.
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        # bulkop decodes only the encodings it asks for (api.http.ACCEPT_ENCODING), bounded.
        "accept-encoding",
    }
)
# One literal segment of a url template after `{base_url}/`: RFC 3986 pchar without `%`
# (an escape could hide `.`, `..` or `/`), `:` and `@` (a segment that reads as userinfo or
# a scheme to a lenient parser). Never empty, never a dot segment: the url stays under base_url.
_URL_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=-]+")
# Ids longer than this are refused before any pattern sees them: a pattern's cost grows with
# the id, and no API's id is this long.
MAX_ID_LENGTH = 256
# Variable quantifiers an id_pattern may hold in all (each is a factor in the worst case).
_MAX_VARIABLE_REPEATS = 3


@dataclass(frozen=True)
class Expression:
    """A JMESPath expression compiled once, at load time, with its source text for messages.

    A plain path (`job.state`, `__typename`) is read with dict lookups: the same result as
    JMESPath (null as soon as a step is not an object or lacks the key), at a third of the cost
    per poll, and without importing jmespath at all when a definition has nothing else.
    """

    source: str
    compiled: Any = field(compare=False, repr=False)  # None: compiled at its first search
    path: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    # True when the expression holds `&expr`: only then can a result be something not JSON
    # (an expression object), so only then is each result checked (a poll pays nothing else).
    has_ref: bool = field(default=False, compare=False, repr=False)

    def search(self, body: Any) -> Any:
        if self.path is None:
            if self.compiled is None:
                import jmespath

                object.__setattr__(self, "compiled", jmespath.compile(self.source))
                object.__setattr__(self, "has_ref", "&" in self.source)
            value = self.compiled.search(body)
            if self.has_ref and not _is_json(value):
                raise TypeError("the expression gives an expression reference (&...), not a JSON value")
            return value
        value = body
        for key in self.path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value


@dataclass(frozen=True)
class ProviderDefinition:
    """One provider: where an operation lives, how to authenticate, and how to read the body."""

    name: str
    url: str
    auth: str = "none"
    auth_scheme: str | None = None
    id_pattern: str | None = None
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    fields: Mapping[str, Expression] = field(default_factory=lambda: MappingProxyType({}))
    status_map: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: MappingProxyType({}))
    formats: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    required: tuple[str, ...] = ()
    error_message: tuple[Expression, ...] = ()
    description: str | None = None
    id_example: str | None = None
    # A narrower pattern: an id matching it is surely this provider's (only used to suggest
    # --provider when another provider refuses it).
    id_looks_like: str | None = None
    # How messages name the provider and one of its operations: "Knock", "bulk operation".
    title: str | None = None
    noun: str | None = None
    # What a valid id is ("a UUID such as …"): when set, a refused id is described by it alone.
    id_description: str | None = None
    # State -> the word shown for it (an API that says only finished or not: never "completed").
    status_words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # What to do when the credential is missing (replaces the generic hint), and why there is no
    # default base URL ("SAYMON is self-hosted").
    secret_hint: str | None = None
    auth_hint: str | None = None
    base_url_help: str | None = None
    _lookup: Mapping[tuple[str, Any], Status] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    _id_regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _reporting: Reporting = field(default_factory=Reporting, compare=False, repr=False)

    def __post_init__(self) -> None:
        # One Reporting per definition, shared by every operation it reads.
        reporting = Reporting(
            title=self.title,
            status_words=self.status_words,
            reports_errors="failed" in self.fields or "error_items" in self.fields,
        )
        object.__setattr__(self, "_reporting", reporting)

    # -- the request --------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        """The provider as messages name it ("Knock"; the definition's name when it has no title)."""
        return self.title or self.name

    @property
    def operation_noun(self) -> str:
        """One operation, as messages name it: "Knock bulk operation", "acme operation"."""
        return f"{self.display_name} {self.noun or 'operation'}"

    @property
    def header_name(self) -> str | None:
        """The header that carries the secret for `auth = "header:NAME"`, else None."""
        return self.auth.partition(":")[2] if self.auth.startswith("header:") else None

    @property
    def secrets_needed(self) -> tuple[str, ...]:
        """The credential settings this auth reads (today's key names)."""
        if self.auth == "basic":
            return ("login", "password")
        if self.auth == "none":
            return ()
        return ("api_key",)

    def check_id(self, op_id: str) -> str:
        """The id as given (stripped), or UsageError (exit 2) before any request is made."""
        op_id = op_id.strip()
        try:
            return self._check_id(op_id)
        except UsageError as e:
            shown = _shown_id(op_id)
            hints = [e.hint] if e.hint else []
            if self.id_description and op_id in (".", ".."):
                # Said as for an id that would leave its path segment (api.Client's check).
                e.message = (
                    f"{shown!r} is not a {self.operation_noun} id "
                    "(an id cannot be . or .., nor hold /, \\, ?, #, %, ;, spaces or control characters)"
                )
                hints = []
            elif self.id_description:
                # The definition says what an id is: that, and nothing about patterns.
                e.message = f"{shown!r} is not a {self.operation_noun} id ({self.id_description})"
                hints = []
            elif self.id_example:
                hints.append(f"an id such as {self.id_example}")
            other = _builtin_whose_id_this_is(op_id, self.name) if len(op_id) <= MAX_ID_LENGTH else None
            if other is not None:
                hints.append(f"use --provider {other.name}, or -p PROFILE for a {other.display_name} profile")
            e.hint = "; ".join(hints) or None
            raise

    def _check_id(self, op_id: str) -> str:
        if op_id in ("", ".", ".."):
            raise UsageError(
                f"{_shown_id(op_id)!r} is not a {self.operation_noun} id (it cannot be empty, '.' or '..')"
            )
        if len(op_id) > MAX_ID_LENGTH:
            # Before any pattern: matching cost grows with the id (see _check_pattern).
            raise UsageError(
                f"{_shown_id(op_id)[:40]!r}… is not a {self.operation_noun} id "
                f"(it is {len(op_id):,} characters long; an id has at most {MAX_ID_LENGTH})"
            )
        if not op_id.isprintable():
            raise UsageError(f"{_shown_id(op_id)!r} is not a {self.operation_noun} id (it has control characters)")
        if self._id_regex is not None and not self._id_regex.fullmatch(op_id):
            raise UsageError(
                f"{_shown_id(op_id)!r} is not a {self.operation_noun} id",
                hint=f"a {self.display_name} id matches the pattern {self.id_pattern}",
            )
        if self.formats.get("id") == "uuid":
            try:
                return str(UUID(op_id))  # one spelling for the URL, the journal and the display
            except ValueError:
                raise UsageError(
                    f"{_shown_id(op_id)!r} is not a {self.operation_noun} id",
                    hint="it is a UUID such as 123e4567-e89b-12d3-a456-426614174000",
                ) from None
        return op_id

    def build_url(self, base_url: str | None, op_id: str) -> str:
        """The operation's URL: the id checked, then percent-encoded as exactly one path segment."""
        base = base_url or self.base_url
        if not base:
            raise ConfigError(
                f"no base URL for provider {self.name}",
                hint=f"pass --base-url, set BULKOP_BASE_URL, the profile's base_url or providers.{self.name}.base_url",
            )
        op_id = self.check_id(op_id)
        return self.url.replace("{base_url}", base.rstrip("/"), 1).replace("{id}", quote(op_id, safe=""), 1)

    def auth_headers(self, secrets: Any) -> dict[str, str]:
        """The request headers: the definition's own, then the credential in its header.

        `secrets` has attributes (or keys) api_key, login, password. A secret is never echoed,
        only what is wrong with it.
        """
        headers = dict(self.headers)
        if self.auth == "none":
            return headers
        if self.auth == "basic":
            login, password = _secret(secrets, "login"), _secret(secrets, "password")
            if not login or not password:
                missing = "login" if not login else "password"
                raise ConfigError(
                    f"no {self.display_name} {missing} configured",
                    hint=self.secret_hint
                    or f"set the profile's login and password (`bulkop config add NAME --provider {self.name}`)",
                )
            if ":" in login or not _SECRET_OK.fullmatch(login) or not _SECRET_OK.fullmatch(password):
                raise ConfigError(
                    f"the {self.display_name} login or password has a ':' in the login, "
                    "control characters or non-ASCII",
                    hint="check the profile or its environment variables for a stray newline",
                )
            token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
            return headers
        key = _secret(secrets, "api_key")
        if not key:
            raise ConfigError(
                f"no {self.display_name} API key configured",
                hint=self.secret_hint
                or f"set the profile's api_key or api_key_env (`bulkop config add NAME --provider {self.name}`)",
            )
        if not _TOKEN_OK.fullmatch(key):
            raise ConfigError(
                f"the {self.display_name} API key has spaces, line breaks or non-ASCII characters",
                hint="check for a stray newline or quote in the profile's api_key or its variable",
            )
        if self.auth == "bearer":
            headers["Authorization"] = f"Bearer {key}"
        else:
            headers[self.header_name or ""] = f"{self.auth_scheme} {key}" if self.auth_scheme else key
        return headers

    # -- the response -------------------------------------------------------------------------

    def normalize(self, op_id: str, body: Any) -> BulkOperation:
        """Read a 2xx JSON body into a BulkOperation, or raise InvalidResponse naming the field."""
        if not isinstance(body, dict):
            raise InvalidResponse(f"expected a JSON object, got {_json_type(body)}")
        values: dict[str, Any] = {}
        for name, expr in self.fields.items():
            try:
                values[name] = expr.search(body)
            except Exception as exc:  # JMESPath raises its own errors for type mismatches
                raise InvalidResponse(
                    f"{self._where(name)} cannot be read from this body: {_clean(exc, max_len=120)}"
                ) from None
        for name in self.required:
            if values.get(name) is None:
                raise InvalidResponse(f"{self._where(name)} is missing or null (the provider requires it)")
        status = self._status(values.get("status"))
        ended_at = self._time(values, "ended_at")
        completed_at = self._time(values, "completed_at")
        failed_at = self._time(values, "failed_at")
        # ended_at is the generic "when it stopped": it fills whichever end the status names.
        if ended_at is not None:
            if status is Status.COMPLETED and completed_at is None:
                completed_at = ended_at
            elif status is Status.FAILED and failed_at is None:
                failed_at = ended_at
        return BulkOperation(
            id=self._id(op_id, values),
            status=status,
            provider=self.name,
            name=self._text(values, "name"),
            estimated_total_rows=self._int(values, "total"),
            processed_rows=self._int(values, "processed"),
            success_count=self._int(values, "succeeded"),
            error_count=self._int(values, "failed"),
            error_items=self._error_items(values.get("error_items")),
            inserted_at=self._time(values, "created_at"),
            updated_at=self._time(values, "updated_at"),
            started_at=self._time(values, "started_at"),
            completed_at=completed_at,
            failed_at=failed_at,
            progress_path=self._text(values, "progress_path"),
            typename=self._text(values, "typename"),
            raw=body,
            reporting=self._reporting,
        )

    def describe_error(self, body: Any, redact: Callable[[str], str] | None = None) -> str | None:
        """A one-line message from an error body: the first expression giving a non-empty string.

        `redact` masks the credential in it (a server may echo it), before it is cut to length.
        """
        for expr in self.error_message:
            try:
                value = expr.search(body)
            except Exception:
                continue  # a shape this expression does not fit: try the next one
            if isinstance(value, str) and value.strip():
                return _clean(redact(value) if redact else value, max_len=160)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _where(self, name: str) -> str:
        expr = self.fields.get(name)
        source = f" = {expr.source!r}" if expr is not None else ""
        return f"field {name!r} (providers.{self.name}.fields.{name}{source})"

    def _status(self, raw: Any) -> Status:
        if raw is None:
            raise InvalidResponse(f"{self._where('status')} is missing or null")
        key = _scalar_key(raw)
        status = self._lookup.get(key) if key is not None else None
        if status is None:
            shown = _clean(_json_text(raw), max_len=80)
            known = ", ".join(_json_text(v) for values in self.status_map.values() for v in values)
            raise InvalidResponse(
                f"{self._where('status')} is {shown}, not one of {_clean(known)[:200]}",
                hint=f"map it in providers.{self.name}.status (queued, processing, completed or failed)",
            )
        return status

    def _id(self, op_id: str, values: dict[str, Any]) -> UUID | str:
        value = values.get("id")
        if value is None:
            return UUID(op_id) if self.formats.get("id") == "uuid" else op_id
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidResponse(f"{self._where('id')} should be a string, got {_json_type(value)}")
        if self.formats.get("id") == "uuid":
            try:
                return UUID(str(value))
            except ValueError:
                shown = _clean(value, max_len=60)
                raise InvalidResponse(f"{self._where('id')} should be a UUID, got {shown!r}") from None
        return str(value)

    def _text(self, values: dict[str, Any], name: str) -> str | None:
        value = values.get(name)
        if value is None or isinstance(value, str):
            return value
        raise InvalidResponse(f"{self._where(name)} should be a string, got {_json_type(value)}")

    def _int(self, values: dict[str, Any], name: str) -> int | None:
        value = values.get(name)
        if value is None:
            return None
        # JSON has one number type: 12.0 is 12, 12.5 is not a count, and a boolean is no number.
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) <= MAX_COUNT:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidResponse(f"{self._where(name)} should be an integer, got {_json_type(value)}")
        if value < 0:
            raise InvalidResponse(f"{self._where(name)} should not be negative, got {str(value)[:30]}")
        if value > MAX_COUNT:
            digits = str(value) if value < 10**30 else f"a {len(str(value))}-digit number"
            raise InvalidResponse(f"{self._where(name)} is {digits}, beyond any real count (2**63 - 1)")
        return value

    def _time(self, values: dict[str, Any], name: str) -> datetime | None:
        value = values.get(name)
        if value is None:
            return None
        fmt = self.formats.get(name, "rfc3339")
        if fmt == "rfc3339":
            if not isinstance(value, str):
                raise InvalidResponse(f"{self._where(name)} should be a date-time string, got {_json_type(value)}")
            parsed = parse_rfc3339(value)
            if parsed is None:
                shown = _clean(value, max_len=60)
                raise InvalidResponse(
                    f"{self._where(name)} should be an RFC 3339 date-time with a timezone, got {shown!r}"
                )
            return parsed
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidResponse(f"{self._where(name)} should be a number of {fmt[6:]}, got {_json_type(value)}")
        seconds = value / 1000 if fmt == "epoch_ms" else value
        if not 0 <= seconds <= _MAX_EPOCH_S:
            raise InvalidResponse(f"{self._where(name)} is out of range for {fmt}: {str(value)[:30]}")
        return datetime.fromtimestamp(seconds, UTC)

    def _error_items(self, value: Any) -> tuple[ErrorItem, ...]:
        if value is None:
            return ()
        where = self._where("error_items")
        if not isinstance(value, list):
            raise InvalidResponse(f"{where} should be an array, got {_json_type(value)}")
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise InvalidResponse(f"{where}[{i}] should be an object, got {_json_type(item)}")
            item_id, collection = item.get("id"), item.get("collection")
            if not isinstance(item_id, str):
                # A number is not silently made a string: `to_string(id)` in the expression says so.
                raise InvalidResponse(f"{where}[{i}].id should be a string, got {_json_type(item_id)}")
            if collection is not None and not isinstance(collection, str):
                raise InvalidResponse(
                    f"{where}[{i}].collection should be a string or null, got {_json_type(collection)}"
                )
            items.append(ErrorItem(item_id, collection))
        return tuple(items)


# ----------------------------------------------------------------------------------- parsing


def parse_definition(name: str, table: Any, *, where: str | None = None, lazy: bool = False) -> ProviderDefinition:
    """Check a `[providers.NAME]` table and compile its expressions; ConfigError (exit 7) names the key.

    `lazy`: compile an expression that is not a plain path only when first used (built-ins,
    whose expressions a test compiles: Knock's error messages would otherwise import jmespath
    in every command, for bodies that are only ever read on an error)."""
    prefix = where or f"providers.{name}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
        raise ConfigError(
            f"{prefix}: invalid provider name {name!r}",
            hint="use 1-40 lower-case letters, digits, '-' or '_', starting with a letter or digit",
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}: must be a table, not {_json_type(table)}")
    _unknown_keys(prefix, table, TOP_KEYS)

    url = _string(prefix, table, "url", required=True)
    if not url.startswith("{base_url}/"):
        raise ConfigError(f"{prefix}.url: must start with '{{base_url}}/', got {_clean(url)[:80]!r}")
    path = url[len("{base_url}") :]
    if "{base_url}" in path or re.search(r"[{}?#\s]", path.replace("{id}", "")):
        raise ConfigError(f"{prefix}.url: the path may hold only {{id}}: no other braces, '?', '#' or spaces")
    if path.count("{id}") != 1 or not re.search(r"/\{id\}(/|$)", path):
        raise ConfigError(f"{prefix}.url: must contain {{id}} exactly once, as a whole path segment like /jobs/{{id}}")
    _check_url_path(f"{prefix}.url", path)

    auth = _string(prefix, table, "auth") or "none"
    if auth.startswith("header:"):
        header = auth[len("header:") :]
        if not _HEADER_NAME.fullmatch(header) or header.lower() in _RESERVED_HEADERS - {"authorization"} | {
            "accept",
            "user-agent",
        }:
            raise ConfigError(f"{prefix}.auth: {header!r} is not a header name bulkop can send a secret in")
    elif auth not in AUTH_KINDS:
        raise ConfigError(f"{prefix}.auth: unknown auth {_clean(auth)[:40]!r}; valid: {', '.join(AUTH_KINDS)}")

    auth_scheme = _string(prefix, table, "auth_scheme")
    if auth_scheme is not None:
        if not auth.startswith("header:"):
            raise ConfigError(f'{prefix}.auth_scheme: only for auth = "header:NAME" (bearer and basic have their own)')
        if not _HEADER_NAME.fullmatch(auth_scheme):
            raise ConfigError(f"{prefix}.auth_scheme: must be one word of letters, digits or '-', like ApiKey")

    id_pattern = _string(prefix, table, "id_pattern")
    id_regex = None
    if id_pattern is not None:
        id_regex = _pattern(f"{prefix}.id_pattern", id_pattern)

    base_url = _string(prefix, table, "base_url")
    if base_url is not None:
        base_url = _base_url(f"{prefix}.base_url", base_url)

    headers = table.get("headers", {})
    if not isinstance(headers, dict):
        raise ConfigError(f"{prefix}.headers: must be a table of header names to strings")
    # HTTP header names are case-insensitive: "x-api-key" is the auth header X-Api-Key, and two
    # spellings of one name would both be sent.
    refused = _RESERVED_HEADERS | ({auth.partition(":")[2].lower()} if auth.startswith("header:") else set())
    seen: set[str] = set()
    for key, value in headers.items():
        if not _HEADER_NAME.fullmatch(key) or key.lower() in refused:
            raise ConfigError(
                f"{prefix}.headers: {_clean(key)[:40]!r} is not a header bulkop lets a definition set",
                hint="the credential's header, Authorization, Proxy-Authorization, Accept-Encoding, Host, Cookie "
                "and the framing headers are bulkop's own (header names ignore case)",
            )
        if key.lower() in seen:
            raise ConfigError(f"{prefix}.headers: {_clean(key)[:40]!r} is given twice (header names ignore case)")
        seen.add(key.lower())
        if not isinstance(value, str) or not _SECRET_OK.fullmatch(value):
            raise ConfigError(f"{prefix}.headers.{key}: must be a printable ASCII string")

    fields = _fields(prefix, table.get("fields"), lazy=lazy)
    status_map, lookup = _status_map(prefix, table.get("status"))
    formats = _formats(prefix, table.get("formats", {}))

    required = table.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ConfigError(f"{prefix}.required: must be a list of field names")
    for r in required:
        if r not in fields:
            raise ConfigError(f"{prefix}.required: {r!r} is not among the definition's fields ({', '.join(fields)})")

    messages = table.get("error_message", [])
    if isinstance(messages, str):
        messages = [messages]
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        raise ConfigError(f"{prefix}.error_message: must be a JMESPath expression or a list of them")
    error_message = tuple(_compile(f"{prefix}.error_message[{i}]", m, lazy=lazy) for i, m in enumerate(messages))

    description = _string(prefix, table, "description")
    id_example = _string(prefix, table, "id_example")
    id_looks_like = _string(prefix, table, "id_looks_like")
    title, noun, id_description = (_string(prefix, table, k) for k in ("title", "noun", "id_description"))
    status_words = _status_words(prefix, table.get("status_words", {}))
    secret_hint, auth_hint, base_url_help = (
        _string(prefix, table, k) for k in ("secret_hint", "auth_hint", "base_url_help")
    )
    if id_looks_like is not None:
        _pattern(f"{prefix}.id_looks_like", id_looks_like)
    return ProviderDefinition(
        name=name,
        url=url,
        auth=auth,
        auth_scheme=auth_scheme,
        id_pattern=id_pattern,
        base_url=base_url,
        headers=MappingProxyType(dict(headers)),
        fields=MappingProxyType(fields),
        status_map=MappingProxyType(status_map),
        formats=MappingProxyType(formats),
        required=tuple(required),
        error_message=error_message,
        description=description,
        id_example=id_example,
        id_looks_like=id_looks_like,
        title=title,
        noun=noun,
        id_description=id_description,
        status_words=MappingProxyType(status_words),
        secret_hint=secret_hint,
        auth_hint=auth_hint,
        base_url_help=base_url_help,
        _lookup=MappingProxyType(lookup),
        _id_regex=id_regex,
    )


def to_table(defn: ProviderDefinition) -> dict[str, Any]:
    """The definition as plain TOML-shaped data (what parse_definition reads back)."""

    def optional(*keys: str) -> dict[str, Any]:  # the keys whose value is set (not empty)
        return {key: getattr(defn, key) for key in keys if getattr(defn, key)}

    table = optional("description", "title", "noun")
    table["url"] = defn.url
    table["auth"] = defn.auth
    table.update(optional("auth_scheme"))
    if defn.id_pattern is not None:  # "" is a pattern too
        table["id_pattern"] = defn.id_pattern
    table.update(optional("id_looks_like", "id_example", "id_description", "base_url", "base_url_help"))
    table.update(optional("secret_hint", "auth_hint"))
    if defn.headers:
        table["headers"] = dict(defn.headers)
    if defn.required:
        table["required"] = list(defn.required)
    if defn.error_message:
        table["error_message"] = [e.source for e in defn.error_message]
    table["fields"] = {name: expr.source for name, expr in defn.fields.items()}
    table["status"] = {state: list(values) for state, values in defn.status_map.items() if values}
    if defn.status_words:
        table["status_words"] = dict(defn.status_words)
    if defn.formats:
        table["formats"] = dict(defn.formats)
    return table


def to_toml(defn: ProviderDefinition) -> str:
    """`[providers.NAME]` TOML for the definition: a starting point to copy into config.toml."""
    import tomli_w

    return tomli_w.dumps({"providers": {defn.name: to_table(defn)}})


def parse_rfc3339(value: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp with a timezone; None when it is not one (the model's
    one parser; an absurdly long string is not even tried)."""
    if len(value) > 64:
        return None
    return _parse_timestamp(value)


# A watch reads the same timestamps (created, started, updated) from every poll of an
# operation: each distinct string is parsed once. datetimes are immutable, so sharing is safe.
_parse_timestamp = functools.lru_cache(maxsize=4096)(parse_timestamp)


# ----------------------------------------------------------------------------------- helpers


def _compile(where: str, source: Any, *, lazy: bool = False) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: must be a non-empty JMESPath expression string")
    if _PLAIN_PATH.fullmatch(source):
        return Expression(source, None, tuple(source.split(".")))
    if lazy:
        return Expression(source, None, has_ref="&" in source)
    import jmespath  # only when a definition is loaded: start-up of --help and --version stays lean
    from jmespath.exceptions import JMESPathError

    try:
        compiled = jmespath.compile(source)
    except JMESPathError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{where}: invalid JMESPath expression: {_clean(detail)[:160]}") from None
    except (RecursionError, ValueError, TypeError) as exc:  # absurd nesting, or a bad JSON literal
        raise ConfigError(f"{where}: invalid JMESPath expression: {type(exc).__name__}") from None
    # What jmespath would find only in the first body, held to the --until/--fail-if standard.
    from bulkop.conditions import check_expression

    try:
        problem = check_expression(compiled, where)
    except RecursionError:
        problem = f"{where}: it is nested too deeply"
    if problem:
        raise ConfigError(problem, hint="see https://jmespath.org/specification.html#functions")
    return Expression(source, compiled, has_ref="&" in source)


def _is_json(value: Any) -> bool:
    """True when `value` is JSON data all the way down (not, say, a JMESPath expression object)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, str | int | float | bool):
            return False
    return True


def _check_url_path(where: str, path: str) -> None:
    """The url's path after `{base_url}` stays under the base URL's path, whatever decodes it."""
    for segment in path[1:].split("/"):
        if segment == "{id}":
            continue
        if segment in (".", "..") or not _URL_SEGMENT.fullmatch(segment):
            shown = repr(_clean(segment)[:40]) if segment else "an empty segment (//)"
            raise ConfigError(
                f"{where}: the path after {{base_url}}/ must stay under the base URL; {shown} is not allowed",
                hint="each segment is letters, digits or -._~!$&'()*+,;= (no %, : or @), "
                "and neither . nor ..; the id is {id}",
            )


def _base_url(where: str, raw: str) -> str:
    """A definition's default base URL, held to the settings' rules (never echoed: it may hold
    a password)."""
    from bulkop.settings import normalize_base_url

    try:
        return normalize_base_url(raw)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def _pattern(where: str, source: str) -> re.Pattern[str]:
    """An id pattern compiled, or ConfigError: invalid, or one whose matching time can explode."""
    try:
        compiled = re.compile(source)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ConfigError(f"{where}: not a valid regular expression: {_clean(exc)[:120]}") from None
    problem = _pattern_problem(source)
    if problem:
        raise ConfigError(
            f"{where}: {problem}: matching could take exponential time on a long id",
            hint="write each repeated part once, like [A-Za-z0-9_-]+ instead of (\\w+-?)+, and without backreferences",
        )
    return compiled


def _pattern_problem(source: str) -> str | None:
    """A pattern's shapes known to backtrack catastrophically: a quantified group holding a
    variable quantifier or an alternation (`(a+)+`, `(a|aa)*`), a backreference, or more
    than a few variable quantifiers in all."""
    import importlib

    # The stdlib's own parser of patterns (private, but the one that compiles them: no drift).
    c: Any = importlib.import_module("re._constants")
    p: Any = importlib.import_module("re._parser")

    try:
        tree = p.parse(source)
    except (re.error, RecursionError):
        return "it cannot be analysed"
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, *((c.POSSESSIVE_REPEAT,) if hasattr(c, "POSSESSIVE_REPEAT") else ()))
    variable = 0
    # (items, inside a repeat that can match more than once)
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        items, repeated = stack.pop()
        for op, av in items:
            if op in (c.GROUPREF, c.GROUPREF_EXISTS):
                return "it has a backreference"
            if op in repeats:
                low, high, sub = av
                if low != high:
                    variable += high > 1  # `x?` tries two ways, not a number of ways per character
                    if repeated:
                        return "it has a quantifier inside a quantified group"
                stack.append((sub, repeated or high > 1))
            elif op is c.BRANCH:
                if repeated:
                    return "it has an alternation (|) inside a quantified group"
                stack.extend((branch, repeated) for branch in av[1])
            elif op is c.SUBPATTERN:
                stack.append((av[-1], repeated))
            elif op in (c.ASSERT, c.ASSERT_NOT):
                stack.append((av[1], repeated))
            elif op is getattr(c, "ATOMIC_GROUP", None):
                stack.append((av, repeated))
    if variable > _MAX_VARIABLE_REPEATS:
        return f"it has {variable} variable quantifiers (at most {_MAX_VARIABLE_REPEATS})"
    return None


def _fields(prefix: str, table: Any, *, lazy: bool = False) -> dict[str, Expression]:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}.fields: missing; a table of JMESPath expressions with at least `status`")
    _unknown_keys(f"{prefix}.fields", table, FIELDS)
    if "status" not in table:
        raise ConfigError(f"{prefix}.fields.status: missing; it is required (a JMESPath expression)")
    # Kept in FIELDS order so to_toml is stable whatever order the file used.
    return {name: _compile(f"{prefix}.fields.{name}", table[name], lazy=lazy) for name in FIELDS if name in table}


def _status_map(prefix: str, table: Any) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, Any], Status]]:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}.status: missing; a table mapping raw values to {', '.join(STATES)}")
    _unknown_keys(f"{prefix}.status", table, STATES)
    status_map: dict[str, tuple[Any, ...]] = {}
    lookup: dict[tuple[str, Any], Status] = {}
    for state in STATES:
        values = table.get(state, [])
        if not isinstance(values, list):
            values = [values]
        for value in values:
            key = _scalar_key(value)
            if key is None:
                raise ConfigError(
                    f"{prefix}.status.{state}: {_clean(value)[:40]!r} is not a string, integer or boolean"
                )
            if key in lookup:
                raise ConfigError(
                    f"{prefix}.status.{state}: {_json_text(value)} is already mapped to {lookup[key].value}"
                )
            lookup[key] = Status(state)
        status_map[state] = tuple(values)
    if not status_map["completed"]:
        raise ConfigError(f"{prefix}.status.completed: missing; at least one raw value must mean completed")
    return status_map, lookup


def _status_words(prefix: str, table: Any) -> dict[str, str]:
    where = f"{prefix}.status_words"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table of states ({', '.join(STATES)}) to words")
    _unknown_keys(where, table, STATES)
    for state, word in table.items():
        if not isinstance(word, str) or not word.strip() or len(word) > 40 or not word.isprintable():
            raise ConfigError(f"{where}.{state}: must be a word of 1 to 40 printable characters")
    return {state: table[state] for state in STATES if state in table}


def _formats(prefix: str, table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}.formats: must be a table of field names to formats")
    _unknown_keys(f"{prefix}.formats", table, tuple(FORMATS))
    for name, fmt in table.items():
        if fmt not in FORMATS[name]:
            raise ConfigError(
                f"{prefix}.formats.{name}: unknown format {_clean(fmt)[:40]!r}; valid: {', '.join(FORMATS[name])}"
            )
    return dict(table)


def _unknown_keys(prefix: str, table: dict[str, Any], valid: tuple[str, ...]) -> None:
    unknown = [k for k in table if k not in valid]
    if not unknown:
        return
    guess = difflib.get_close_matches(str(unknown[0]), valid, n=1) if len(unknown) == 1 else []
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    listed = ", ".join(repr(_clean(k)[:40]) for k in unknown)
    raise ConfigError(
        f"{prefix}: unknown key{'s' if len(unknown) > 1 else ''} {listed}{hint}; valid: {', '.join(valid)}"
    )


def _string(prefix: str, table: dict[str, Any], key: str, *, required: bool = False) -> Any:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{prefix}.{key}: missing; it is required")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{prefix}.{key}: must be a string, not {_json_type(value)}")
    return value


def _scalar_key(value: Any) -> tuple[str, Any] | None:
    """A status value's identity: JSON type and value, so true, 1 and "true" stay distinct."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int):
        return ("number", value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return ("number", int(value))
    if isinstance(value, str):
        return ("string", value)
    return None


def _secret(secrets: Any, name: str) -> str | None:
    value = secrets.get(name) if isinstance(secrets, dict) else getattr(secrets, name, None)
    return value if isinstance(value, str) else None


def _json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return "a value that is not JSON"  # never a repr: it would show Python internals


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value that is not JSON"  # an expression object, say: never its Python name


def _shown_id(op_id: str) -> str:
    """An id as a message may quote it: control characters out, at most 80 characters."""
    return _clean(op_id)[:80]


def _clean(text: object, max_len: int | None = None) -> str:
    from bulkop.sanitize import clean

    return clean(text, max_len=max_len)


def _builtin_whose_id_this_is(op_id: str, current: str) -> ProviderDefinition | None:
    """The built-in provider whose id pattern this id matches (a SAYMON ObjectId given to Knock,
    say), for a hint; read only on the error path, so start-up pays nothing."""
    from bulkop.providers import BUILTIN_NAMES, builtin

    for name in BUILTIN_NAMES:
        if name == current:
            continue
        defn = builtin(name)
        pattern = defn.id_looks_like
        if pattern is None and defn._id_regex is not None and not defn._id_regex.fullmatch("x"):
            pattern = defn.id_pattern  # a pattern narrow enough to say whose id this is
        if pattern is not None and re.fullmatch(pattern, op_id):
            return defn
    return None
