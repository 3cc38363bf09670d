"""The domain: BulkOperation, Status, and parsing of what each API sends (stdlib only, no I/O)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bulkop.errors import InvalidResponse


class Status(str, enum.Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (Status.COMPLETED, Status.FAILED)


def status_word(provider: str, status: str) -> str:
    """The word every view, JSON and the journal show for `status` as `provider` reports it:
    SAYMON's operations are "finished" or "not finished" (BulkOperation.status_word)."""
    if provider == "saymon":
        return "finished" if status in ("completed", "failed") else "not finished"
    return status


@dataclass(frozen=True, slots=True)
class ErrorItem:
    id: str
    collection: str | None = None


@dataclass(frozen=True, slots=True)
class BulkOperation:
    """One bulk operation as bulkop understands it, whichever API it came from.

    Knock sends every field; SAYMON only says whether it is finished, so its counts and times
    are None ("unknown"), never a fake 0.
    """

    id: UUID | str
    status: Status
    provider: str = "knock"
    name: str | None = None
    estimated_total_rows: int | None = None
    processed_rows: int | None = None
    success_count: int | None = None
    error_count: int | None = None
    error_items: tuple[ErrorItem, ...] = ()
    inserted_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    progress_path: str | None = None
    typename: str | None = None
    # The object exactly as the API sent it: JSON output prints this, so fields we do not
    # know yet survive a round trip.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def counts_known(self) -> bool:
        return self.processed_rows is not None

    @property
    def known_error_count(self) -> int | None:
        """How many rows failed, as far as the answer tells; None when it does not say.

        The one number every verdict and view uses. `error_count` is optional in Knock's
        contract: when it is absent the error items are counted; when both are present the
        larger wins (the items are evidence of errors, and a list may be a preview of a longer
        count). A missing count is never read as 0: None means "unknown" (SAYMON says nothing
        about errors at all), and a gate such as --max-errors must not pass on it.
        """
        if self.error_count is None and not self.error_items and not isinstance(self.raw.get("error_items"), list):
            return None
        return max(self.error_count or 0, len(self.error_items))

    @property
    def status_word(self) -> str:
        """The status as every view and JSON shows it.

        SAYMON says only `finished: true` or `false`: not whether it succeeded, nor whether it
        has started. Its operations are "finished" or "not finished", in every command and
        output, never "completed" or "processing" (which would claim what SAYMON did not say).
        """
        return status_word(self.provider, self.status.value)

    def to_json(self) -> dict[str, Any]:
        """What `-o json` prints: the object exactly as the API sent it."""
        return self.raw

    def to_json_record(self) -> dict[str, Any]:
        """One item of several ids' JSON: the object as sent, plus the id asked when the API
        sends none (SAYMON answers only `{"finished": …}`), so each item says which it is."""
        if "id" in self.raw:
            return self.raw
        return {"id": str(self.id), **self.raw}


# ---------------------------------------------------------------------------- Knock parsing

_REQUIRED = (
    "__typename",
    "id",
    "name",
    "status",
    "estimated_total_rows",
    "processed_rows",
    "success_count",
    "updated_at",
    "inserted_at",
)


def parse_knock(data: Any) -> BulkOperation:
    """Parse Knock's BulkOperation object, checking the contract's required fields and types."""
    if not isinstance(data, dict):
        raise InvalidResponse(f"expected a BulkOperation object, got {_json_type(data)}")
    for name in _REQUIRED:
        if name not in data:
            raise InvalidResponse(f"field {name!r} is missing (required by the API contract)")
    status_raw = _string(data, "status")
    try:
        status = Status(status_raw)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise InvalidResponse(f"field 'status' is {status_raw[:60]!r}, not one of {allowed}") from None
    return BulkOperation(
        id=_uuid(data, "id"),
        status=status,
        provider="knock",
        name=_string(data, "name"),
        estimated_total_rows=_count(data, "estimated_total_rows"),
        processed_rows=_count(data, "processed_rows"),
        success_count=_count(data, "success_count"),
        error_count=_count(data, "error_count", optional=True),
        error_items=_error_items(data),
        inserted_at=_datetime(data, "inserted_at"),
        updated_at=_datetime(data, "updated_at"),
        started_at=_datetime(data, "started_at", nullable=True),
        completed_at=_datetime(data, "completed_at", nullable=True),
        failed_at=_datetime(data, "failed_at", nullable=True),
        progress_path=_string(data, "progress_path", optional=True),
        typename=_string(data, "__typename"),
        raw=data,
    )


def parse_saymon(op_id: str, data: Any) -> BulkOperation:
    """Map SAYMON's `{"finished": bool}` into the domain: finished → completed, else processing."""
    if not isinstance(data, dict):
        raise InvalidResponse(f"expected an object with 'finished', got {_json_type(data)}")
    if "finished" not in data:
        raise InvalidResponse("field 'finished' is missing (required by the SAYMON API)")
    finished = data["finished"]
    if not isinstance(finished, bool):
        raise InvalidResponse(f"field 'finished' should be a boolean, got {_json_type(finished)}")
    return BulkOperation(
        id=op_id,
        status=Status.COMPLETED if finished else Status.PROCESSING,
        provider="saymon",
        raw=data,
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _get(data: dict[str, Any], name: str, optional: bool, nullable: bool) -> Any:
    if name not in data:
        if optional:
            return None
        raise InvalidResponse(f"field {name!r} is missing (required by the API contract)")
    value = data[name]
    if value is None and not (nullable or optional):
        raise InvalidResponse(f"field {name!r} is null, but the API contract forbids null")
    return value


def _string(data: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = _get(data, name, optional, False)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidResponse(f"field {name!r} should be a string, got {_json_type(value)}")
    return value


def _int(data: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = _get(data, name, optional, False)
    if value is None:
        return None
    # JSON has one number type; accept 12.0 but not 12.5, and never a boolean.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidResponse(f"field {name!r} should be an integer, got {_json_type(value)}")
    return value


# The largest count bulkop believes: a signed 64-bit integer, which every real counter fits in.
# Beyond it a number is not a row count but an attack on the arithmetic (10**1000 overflows
# every float a rate, a percentage or an ETA is made of).
MAX_COUNT = 2**63 - 1


def _count(data: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    """A row count: an integer from 0 to MAX_COUNT. A negative count is not a state an
    operation can be in, so it is an invalid answer, never read as "no errors"."""
    value = _int(data, name, optional=optional)
    if value is None:
        return None
    if value < 0:
        raise InvalidResponse(f"field {name!r} is -{_digits(-value)}, but a count cannot be negative")
    if value > MAX_COUNT:
        raise InvalidResponse(f"field {name!r} is {_digits(value)}, beyond any real count (2**63 - 1)")
    return value


def _digits(value: int) -> str:
    return str(value) if value < 10**30 else f"a {len(str(value))}-digit number"


def _uuid(data: dict[str, Any], name: str) -> UUID:
    value = _string(data, name)
    try:
        return UUID(value)
    except ValueError:
        raise InvalidResponse(f"field {name!r} should be a UUID, got {value[:60]!r}") from None


def _datetime(data: dict[str, Any], name: str, *, nullable: bool = False) -> Any:
    value = _get(data, name, nullable, nullable)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidResponse(f"field {name!r} should be a date-time string, got {_json_type(value)}")
    parsed = parse_timestamp(value)
    if parsed is None:
        raise InvalidResponse(f"field {name!r} should be an RFC 3339 date-time with a timezone, got {value[:60]!r}")
    return parsed


def parse_timestamp(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp; None when it is not one or has no timezone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        parsed.astimezone(UTC)  # year 1 at +05:00 parses, but is before datetime.min in UTC
    except OverflowError:
        return None
    return parsed


def _error_items(data: dict[str, Any]) -> tuple[ErrorItem, ...]:
    value = _get(data, "error_items", True, False)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidResponse(f"field 'error_items' should be an array, got {_json_type(value)}")
    items = []
    for i, item in enumerate(value):
        where = f"error_items[{i}]"
        if not isinstance(item, dict):
            raise InvalidResponse(f"field {where!r} should be an object, got {_json_type(item)}")
        if "id" not in item:
            raise InvalidResponse(f"field '{where}.id' is missing (required by the API contract)")
        item_id = item["id"]
        if not isinstance(item_id, str):
            raise InvalidResponse(f"field '{where}.id' should be a string, got {_json_type(item_id)}")
        collection = item.get("collection")
        if collection is not None and not isinstance(collection, str):
            raise InvalidResponse(
                f"field '{where}.collection' should be a string or null, got {_json_type(collection)}"
            )
        items.append(ErrorItem(item_id, collection))
    return tuple(items)
