"""Scenario: the plain-data description of one simulated bulk operation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bulkop.simulator.faults import FAULTS

PROVIDERS = ("knock", "saymon")


@dataclass(frozen=True)
class Scenario:
    """How one operation behaves over (simulated) time and how its route misbehaves."""

    provider: str = "knock"
    id: str | None = None
    name: str = "bulk operation"
    total_rows: int = 1000
    estimated_total_rows: int | None = None
    queued_seconds: float = 0.5
    rows_per_second: float = 250.0
    duration: float | None = None
    error_rate: float = 0.0
    fail_at: float | None = None
    rate_limit: int = 0
    retry_after: str | None = "1"
    server_errors: int = 0
    server_error_status: int = 503
    latency: float = 0.0
    extra_fields: dict[str, Any] = field(default_factory=dict)
    fault: str | None = None
    huge_bytes: int = 100 * 1024 * 1024
    redirect_to: str = "http://127.0.0.2:1/elsewhere"

    def __post_init__(self) -> None:
        problems = []
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
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown scenario field(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
