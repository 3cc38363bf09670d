"""Scenario: the plain-data description of one simulated bulk operation."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bulkop.simulator.faults import FAULTS

# Knock and SAYMON, then the catalogue APIs (bulkop.simulator.catalogue has their shapes).
PROVIDERS = ("knock", "saymon", "zendesk", "auth0", "mailchimp", "elasticsearch")


def _doc(default: Any, doc: str) -> Any:
    """A field whose meaning is documented once, here; `--help`, README and errors read it."""
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Scenario:
    """How one operation behaves over (simulated) time and how its route misbehaves.

    Every field's meaning lives in its `doc` metadata: `fields_help()` (for `demo serve
    --help`) and `fields_markdown()` (the README table) are generated from it.

    For a test that needs an answer no real lifecycle produces (a missing field, a list, a
    wrong type), `body` serves any JSON verbatim on the operation's route, e.g.
    `sim.add(Scenario(body={"status": "completed"}))`, or `{"body": ...}` to POST /_sim/operations;
    auth, latency, rate_limit, server_errors and fault still apply to it.
    """

    provider: str = _doc(
        "knock", "Which API serves the operation: knock, saymon, zendesk, auth0, mailchimp or elasticsearch."
    )
    id: str | None = _doc(
        None,
        "The operation id (null: a random one in the provider's format: a UUID for Knock, 24 hex digits for SAYMON).",
    )
    name: str = _doc("bulk operation", "The operation's name (Knock's `name`).")
    total_rows: int = _doc(1000, "Rows the operation processes in all.")
    estimated_total_rows: int | None = _doc(
        None, "What the API reports as estimated_total_rows (null: total_rows); may undershoot."
    )
    queued_seconds: float = _doc(0.5, "Simulated seconds spent `queued` before processing starts.")
    rows_per_second: float = _doc(250.0, "Processing speed (ignored when duration is given).")
    duration: float | None = _doc(None, "Simulated seconds of processing (null: total_rows / rows_per_second).")
    error_rate: float = _doc(0.0, "Fraction of rows that end up as error items, 0..1.")
    fail_at: float | None = _doc(None, "Fail when this fraction of the rows is processed, 0..1 (null: never fail).")
    rate_limit: int = _doc(0, "Answer this many first requests with 429.")
    retry_after: str | None = _doc("1", "The 429s' Retry-After header (null: none), seconds or an HTTP date.")
    server_errors: int = _doc(0, "Then answer this many requests with server_error_status.")
    server_error_status: int = _doc(503, "The 5xx status of those server errors.")
    latency: float = _doc(0.0, "Real seconds to wait before each answer.")
    extra_fields: dict[str, Any] = _doc({}, "Fields merged into (or over) the Knock body.")
    fault: str | None = _doc(None, f"Misbehave after the 429s and 5xx, one of: {', '.join(FAULTS)} (null: none).")
    huge_bytes: int = _doc(100 * 1024 * 1024, "Body size sent by the huge fault, >= 64.")
    redirect_to: str = _doc("http://127.0.0.2:1/elsewhere", "Location sent by the redirect fault.")
    body: Any = _doc(
        None,
        "Answer 200 with exactly this JSON (any value) instead of the simulated one; auth, "
        "latency, 429s, 5xx and faults still apply (null: the simulated body).",
    )

    def __post_init__(self) -> None:
        # Types first: a string where a number belongs would make the range checks below crash.
        problems = [
            f"{f.name} must be of type {_json_type(f)}, not {_json_name(getattr(self, f.name))}"
            for f in dataclasses.fields(self)
            if not _type_ok(f, getattr(self, f.name))
        ]
        if problems:
            raise ValueError("invalid scenario: " + "; ".join(problems))
        if self.id is not None and (not _ID.fullmatch(self.id) or _ID_FORBIDDEN & set(self.id)):
            problems.append("id must be 1-200 printable ASCII characters without spaces, '/', '?', '#' or '%'")
        if self.provider not in PROVIDERS:
            problems.append(f"provider must be one of {PROVIDERS}, not {self.provider!r}")
        if self.total_rows < 0:
            problems.append("total_rows must be >= 0")
        if self.estimated_total_rows is not None and self.estimated_total_rows < 0:
            problems.append("estimated_total_rows must be >= 0")
        if self.queued_seconds < 0:
            problems.append("queued_seconds must be >= 0")
        if self.duration is None and self.rows_per_second <= 0:
            problems.append("rows_per_second must be > 0 (or give duration)")
        if self.duration is not None and self.duration < 0:
            problems.append("duration must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            problems.append("error_rate must be within 0..1")
        if self.fail_at is not None and not 0.0 <= self.fail_at <= 1.0:
            problems.append("fail_at must be within 0..1")
        if self.rate_limit < 0 or self.server_errors < 0:
            problems.append("rate_limit and server_errors must be >= 0")
        if not 500 <= self.server_error_status <= 599:
            problems.append("server_error_status must be a 5xx status")
        if self.latency < 0:
            problems.append("latency must be >= 0")
        if self.fault is not None and self.fault not in FAULTS:
            problems.append(f"fault must be one of {sorted(FAULTS)}, not {self.fault!r}")
        if self.body is not None:
            try:
                json.dumps(self.body, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                problems.append("body must be plain JSON (objects, lists, strings, finite numbers, booleans, null)")
        if self.huge_bytes < 64:
            problems.append("huge_bytes must be >= 64")
        for name, header in (("redirect_to", self.redirect_to), ("retry_after", self.retry_after)):
            # Header values go on the wire as latin-1; anything else would crash the handler.
            if header is not None and not (header.isprintable() and header.isascii()):
                problems.append(f"{name} must be printable ASCII (it is sent as a header)")
        if problems:
            raise ValueError("invalid scenario: " + "; ".join(problems))

    @property
    def processing_seconds(self) -> float:
        """Simulated seconds between leaving `queued` and processing the last row."""
        if self.duration is not None:
            return self.duration
        return self.total_rows / self.rows_per_second

    @property
    def reported_total_rows(self) -> int:
        """What the API reports as estimated_total_rows."""
        if self.estimated_total_rows is None:
            return self.total_rows
        return self.estimated_total_rows

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build from JSON-shaped data; unknown keys are an error so typos do not pass silently."""
        if not isinstance(data, dict):
            raise ValueError(f"a scenario must be a JSON object, not {type(data).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = [name for name in data if name not in known]
        if unknown:
            import difflib

            guesses = [difflib.get_close_matches(str(name), known, n=1) for name in unknown]
            hints = "".join(f" (did you mean {g[0]!r}?)" for g in guesses if g and len(unknown) == 1)
            listed = ", ".join(repr(str(name)) for name in unknown)
            raise ValueError(
                f"unknown scenario field{'s' if len(unknown) > 1 else ''} {listed}{hints}; "
                f"valid fields: {', '.join(known)}"
            )
        return cls(**data)

    @classmethod
    def list_from_json(cls, data: Any) -> list[Scenario]:
        """One scenario (a JSON object) or several (a list of them): what every entry point takes."""
        items = data if isinstance(data, list) else [data]
        scenarios = []
        for n, item in enumerate(items, 1):
            try:
                scenarios.append(cls.from_dict(item))
            except ValueError as exc:
                raise ValueError(f"scenario {n} of {len(items)}: {exc}" if len(items) > 1 else str(exc)) from None
        return scenarios

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def fields_help() -> str:
    """The scenario fields as `--help` paragraphs: name (type, default): meaning."""
    return "\n\n".join(
        f"  {f.name} ({_json_type(f)}, default {_default_text(f)}): {f.metadata['doc']}"
        for f in dataclasses.fields(Scenario)
    )


def fields_markdown() -> str:
    """The scenario fields as a Markdown table (the README's copy; a test keeps it equal)."""
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Scenario):
        doc = f.metadata["doc"].replace("|", "\\|")
        rows.append(f"| `{f.name}` | {_json_type(f)} | `{_default_text(f)}` | {doc} |")
    return "\n".join(rows)


# Ids go into a URL path unencoded and come back from it verbatim.
_ID = re.compile(r"[!-~]{1,200}")
_ID_FORBIDDEN = frozenset("/?#%")

# The annotations as written (this module postpones them): JSON type names, and a check each.
_JSON_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": (
        "number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    "str": ("string", lambda v: isinstance(v, str)),
    "dict[str, Any]": ("object", lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v)),
    "Any": ("any JSON", lambda v: True),
}


def _json_type(f: dataclasses.Field[Any]) -> str:
    base, _, optional = str(f.type).partition(" | ")
    name = _JSON_TYPES[base][0]
    return f"{name} or null" if optional == "None" else name


def _type_ok(f: dataclasses.Field[Any], value: Any) -> bool:
    base, _, optional = str(f.type).partition(" | ")
    return (value is None and optional == "None") or _JSON_TYPES[base][1](value)


def _json_name(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a number", dict: "an object"}
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return names.get(type(value), "a list" if isinstance(value, list) else type(value).__name__)


def _default_text(f: dataclasses.Field[Any]) -> str:
    default = {} if f.default is dataclasses.MISSING else f.default
    return json.dumps(default)


def demo_scenarios() -> list[Scenario]:
    """The set `bulkop demo` shows: fast, slow with errors, failing, and one SAYMON job."""
    return [
        Scenario(name="users.identify", total_rows=1_000, queued_seconds=0.5, duration=3.5),
        Scenario(
            name="objects.bulk_set",
            total_rows=50_000,
            queued_seconds=1.0,
            duration=19.0,
            error_rate=0.002,
        ),
        Scenario(
            name="users.bulk_delete",
            total_rows=8_000,
            queued_seconds=0.5,
            duration=10.0,
            error_rate=0.01,
            fail_at=0.6,
        ),
        Scenario(provider="saymon", name="saymon nightly import", queued_seconds=1.0, duration=7.0),
    ]
