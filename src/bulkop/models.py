"""The domain: BulkOperation, Status, how a provider reports, timestamps (stdlib only, no I/O).

Reading what an API sends is its definition's job (bulkop.providers), not code here."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

# The largest count bulkop believes: a signed 64-bit integer, which every real counter fits in.
# Beyond it a number is not a row count but an attack on the arithmetic (10**1000 overflows
# every float a rate, a percentage or an ETA is made of).
MAX_COUNT = 2**63 - 1


class Status(str, enum.Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (Status.COMPLETED, Status.FAILED)


def status_word(status: str, words: Mapping[str, str] | None = None) -> str:
    """The word every view, JSON and the journal show for `status`: the provider's own word for
    it when its definition has one (an API that says only "finished" or "not finished" never
    shows "completed" or "processing"), else the status itself."""
    return words.get(status, status) if words else status


@dataclass(frozen=True, slots=True)
class Reporting:
    """What a provider's answers can say, from its definition: views and verdicts decide on
    this, never on a provider's name."""

    # The provider as messages name it ("Knock"); None: its name.
    title: str | None = None
    # Status -> the word shown for it, when the provider's vocabulary is not bulkop's four states.
    status_words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Whether the provider reports error counts at all (its definition maps a count or items).
    reports_errors: bool = True


DEFAULT_REPORTING = Reporting()


@dataclass(frozen=True, slots=True)
class ErrorItem:
    id: str
    collection: str | None = None


@dataclass(frozen=True, slots=True)
class BulkOperation:
    """One bulk operation as bulkop understands it, whichever API it came from.

    What the API does not send (counts and times of an API that says only whether it is
    finished) is None ("unknown"), never a fake 0.
    """

    id: UUID | str
    status: Status
    provider: str = ""
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
    # How the provider's definition says to show it (words, whether errors are counted).
    reporting: Reporting = field(default=DEFAULT_REPORTING, compare=False, repr=False)

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def counts_known(self) -> bool:
        return self.processed_rows is not None

    @property
    def known_error_count(self) -> int | None:
        """How many rows failed, as far as the answer tells; None when it does not say.

        The one number every verdict and view uses. An error count may be optional in a
        provider's contract: when it is absent the error items are counted; when both are
        present the larger wins (the items are evidence of errors, and a list may be a preview
        of a longer count). A missing count is never read as 0: None means "unknown" (an API
        may say nothing about errors at all), and a gate such as --max-errors must not pass on it.
        """
        if self.error_count is None and not self.error_items and not isinstance(self.raw.get("error_items"), list):
            return None
        return max(self.error_count or 0, len(self.error_items))

    @property
    def status_word(self) -> str:
        """The status as every view and JSON shows it: in the provider's own words when its
        definition has them (`status_words`). An API that says only `finished: true` or `false`
        has operations that are "finished" or "not finished" in every command and output,
        never "completed" or "processing" (which would claim what it did not say).
        """
        return status_word(self.status.value, self.reporting.status_words)

    def to_json(self) -> dict[str, Any]:
        """What `-o json` prints: the object exactly as the API sent it."""
        return self.raw

    def to_json_record(self) -> dict[str, Any]:
        """One item of several ids' JSON: the object as sent, plus the id asked when the body
        has no top-level "id" (e.g. `{"finished": …}`), so each item says which it is."""
        if "id" in self.raw:
            return self.raw
        return {"id": str(self.id), **self.raw}


_LEAP_SECOND = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:)60(?=[.,Z+-]|$)")


def parse_timestamp(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp; None when it is not one or has no timezone.

    RFC 3339 allows a lower-case `t` and `z`, and a leap second (`23:59:60`), which Python's
    datetime cannot hold: it is read as the second before (shown to the second, the same)."""
    value = value.upper()  # the only letters of RFC 3339 are T and Z
    value = _LEAP_SECOND.sub(r"\g<1>59", value, count=1)
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
