"""Operation: a scenario placed on the simulated clock, and the API bodies it yields over time."""

from __future__ import annotations

import bisect
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bulkop.simulator.scenario import Scenario

# Simulated time 0 on the wall clock: timestamps are deterministic whatever the real date is.
EPOCH = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)

# Share of error items whose collection is null (Knock allows it; clients must cope).
_NULL_COLLECTION_SHARE = 0.2

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def rfc3339(sim_seconds: float, epoch: datetime = EPOCH) -> str:
    """RFC 3339 UTC timestamp for a simulated instant; fractional seconds only when present."""
    moment = epoch + timedelta(seconds=sim_seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def knock_path(op_id: str) -> str:
    return f"/v1/bulk_operations/{op_id}"


def saymon_path(op_id: str) -> str:
    return f"/node/api/bulk/{op_id}/status"


def provider_path(provider: str, op_id: str) -> str:
    """The route an operation of this provider lives at (the id as given, not encoded)."""
    if provider == "knock":
        return knock_path(op_id)
    if provider == "saymon":
        return saymon_path(op_id)
    from bulkop.simulator.catalogue import CATALOGUE

    return CATALOGUE[provider].path(op_id)


@dataclass(frozen=True)
class State:
    """Where an operation stands at one simulated instant (times are simulated seconds)."""

    status: str
    processed_rows: int
    error_count: int
    updated: float
    started: float | None = None
    completed: float | None = None
    failed: float | None = None


class Operation:
    """A scenario started at `created` on the simulated clock; state is computed on demand."""

    def __init__(self, op_id: str, scenario: Scenario, created: float, seed: str, epoch: datetime = EPOCH) -> None:
        self.id = op_id
        self.epoch = epoch
        self.scenario = scenario
        self.created = created
        self.path = provider_path(scenario.provider, op_id)
        self._start = created + scenario.queued_seconds
        self._duration = scenario.processing_seconds
        self._count_lock = threading.Lock()
        self._requests = 0
        self._body_cache: tuple[tuple[str, int], bytes] | None = None
        self._error_rows, self._items_json, self._items_end = _error_items(scenario, seed)
        # A test-given body replaces the simulated one for both providers (Scenario.body).
        self._fixed_body = None if scenario.body is None else _compact(scenario.body).encode()

    def next_request_number(self) -> int:
        """1-based count of requests answered for this operation (drives 429/5xx bursts)."""
        with self._count_lock:
            self._requests += 1
            return self._requests

    def state(self, now: float) -> State:
        s = self.scenario
        if now < self._start:
            return State("queued", 0, 0, updated=self.created)
        total, duration, start = s.total_rows, self._duration, self._start
        if s.fail_at is not None:
            fail_time = start + s.fail_at * duration
            if now >= fail_time:
                rows = int(total * s.fail_at)
                return State("failed", rows, self._errors(rows), fail_time, start, failed=fail_time)
        end = start + duration
        if now >= end:
            return State("completed", total, self._errors(total), end, start, completed=end)
        rows = int(total * (now - start) / duration)
        # updated_at moves only when processed_rows does, as a real row counter would.
        updated = start + duration * rows / total if total else start
        return State("processing", rows, self._errors(rows), updated, start)

    def _errors(self, processed_rows: int) -> int:
        return bisect.bisect_left(self._error_rows, processed_rows)

    def saymon_body(self, now: float) -> bytes:
        if self._fixed_body is not None:
            return self._fixed_body
        finished = self.state(now).status in ("completed", "failed")
        return b'{"finished":true}' if finished else b'{"finished":false}'

    def knock_body(self, now: float, base_url: str) -> bytes:
        return self._body(now, lambda state: self._encode_knock(state, base_url))

    def catalogue_body(self, now: float, base_url: str) -> bytes:
        """A catalogue provider's body (Zendesk, Auth0, Mailchimp, Elasticsearch) for this moment."""
        from bulkop.simulator.catalogue import body

        return self._body(
            now, lambda state: _compact(body(self, state, base_url, lambda t: rfc3339(t, self.epoch))).encode()
        )

    def _body(self, now: float, encode: Callable[[State], bytes]) -> bytes:
        """The fixed body if one was given, else `encode` of the state at `now`, encoded once per
        (status, processed rows): a watch asks for the same state many times."""
        if self._fixed_body is not None:
            return self._fixed_body
        state = self.state(now)
        key = (state.status, state.processed_rows)
        cached = self._body_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        encoded = encode(state)
        self._body_cache = (key, encoded)
        return encoded

    def error_items(self, count: int) -> list[dict[str, str | None]]:
        """The first `count` error items as objects ({"id", "collection"})."""
        items: list[dict[str, str | None]] = json.loads("[" + self._items_json[: self._items_end[count]] + "]")
        return items

    def _encode_knock(self, state: State, base_url: str) -> bytes:
        s = self.scenario
        fields = {
            "__typename": "BulkOperation",
            "id": self.id,
            "name": s.name,
            "status": state.status,
            "estimated_total_rows": s.reported_total_rows,
            "processed_rows": state.processed_rows,
            "success_count": state.processed_rows - state.error_count,
            "error_count": state.error_count,
            "inserted_at": rfc3339(self.created, self.epoch),
            "updated_at": rfc3339(state.updated, self.epoch),
            "started_at": _maybe_rfc3339(state.started, self.epoch),
            "completed_at": _maybe_rfc3339(state.completed, self.epoch),
            "failed_at": _maybe_rfc3339(state.failed, self.epoch),
            "progress_path": base_url + self.path,
            **s.extra_fields,
        }
        if "error_items" in fields:
            return _compact(fields).encode()
        # Error items are pre-encoded once; a poll only slices them instead of re-encoding
        # what may be hundreds of thousands of objects.
        items = self._items_json[: self._items_end[state.error_count]]
        return (_compact(fields)[:-1] + ',"error_items":[' + items + "]}").encode()


def _maybe_rfc3339(sim_seconds: float | None, epoch: datetime) -> str | None:
    return None if sim_seconds is None else rfc3339(sim_seconds, epoch)


def _error_items(scenario: Scenario, seed: str) -> tuple[list[int], str, list[int]]:
    """Rows that will error (sorted), their items as one JSON string, and end offsets per count.

    Items for the first n errors are `items_json[:ends[n]]`, so the list grows as rows are
    processed without ever being re-encoded.
    """
    rng = random.Random(seed)
    count = round(scenario.total_rows * scenario.error_rate)
    rows = sorted(rng.sample(range(scenario.total_rows), count))
    collection = scenario.name.split(".", 1)[0].split()[0] if scenario.name.strip() else "items"
    prefix = collection[:-1] if collection.endswith("s") else collection
    # Escaped once; formatting the items by hand keeps 200,000 of them well under a second.
    id_open = _compact(prefix + "_")[:-1]
    with_collection = f',"collection":{_compact(collection)}}}'
    without_collection = ',"collection":null}'
    ends = [0]
    parts: list[str] = []
    length = 0
    for row in rows:
        tail = without_collection if rng.random() < _NULL_COLLECTION_SHARE else with_collection
        text = f'{"," if parts else ""}{{"id":{id_open}{row:05d}"{tail}'
        parts.append(text)
        length += len(text)
        ends.append(length)
    return rows, "".join(parts), ends
