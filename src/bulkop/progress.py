"""Progress math as pure functions: fraction, throughput and ETA (stdlib only, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bulkop.models import BulkOperation, Status


@dataclass(frozen=True, slots=True)
class Fraction:
    """How far an operation is: `value` in 0..1, or None when it cannot be known."""

    value: float | None
    overrun: bool = False  # processed_rows exceeded estimated_total_rows (the API allows it)

    @property
    def percent(self) -> int | None:
        return None if self.value is None else int(self.value * 100)


def fraction(op: BulkOperation) -> Fraction:
    """Fraction done. Completed is always 1; unknown counts or a 0 estimate are indeterminate."""
    if op.status is Status.COMPLETED:
        overrun = _overrun(op.processed_rows, op.estimated_total_rows)
        return Fraction(1.0, overrun)
    processed, estimated = op.processed_rows, op.estimated_total_rows
    if processed is None or not estimated:
        return Fraction(None)
    return fraction_of(processed, estimated)


def fraction_of(processed: int, estimated: int) -> Fraction:
    if estimated <= 0:
        return Fraction(None)
    value = max(0, processed) / estimated
    return Fraction(min(1.0, value), value > 1.0)


def _overrun(processed: int | None, estimated: int | None) -> bool:
    return processed is not None and estimated is not None and processed > estimated > 0


class RateEstimator:
    """Rows/s from successive (time, processed_rows) observations.

    A time-weighted moving average (time constant `tau` seconds) of the rate between
    observations: steady under jittery polling, it decays towards 0 while the counter stalls,
    and a counter that goes backwards (a restarted job) starts the estimate afresh.
    """

    def __init__(self, tau: float = 10.0, stall_after: float = 30.0) -> None:
        self.tau = tau
        self.stall_after = stall_after
        self._last_t: float | None = None
        self._last_rows = 0
        self._last_change_t: float | None = None
        self._rate: float | None = None

    def observe(self, t: float, rows: int) -> None:
        rows = max(0, rows)
        if self._last_t is None or rows < self._last_rows:
            self._reset(t, rows)
            return
        dt = t - self._last_t
        if not (dt > 0) or not math.isfinite(dt):
            return
        sample = (rows - self._last_rows) / dt
        if self._rate is None:
            self._rate = sample
        else:
            alpha = 1.0 - math.exp(-dt / self.tau)
            self._rate += alpha * (sample - self._rate)
        if rows != self._last_rows:
            self._last_change_t = t
        self._last_t, self._last_rows = t, rows

    def _reset(self, t: float, rows: int) -> None:
        self._last_t, self._last_rows, self._last_change_t, self._rate = t, rows, t, None

    def rate(self) -> float | None:
        """Smoothed rows/s, or None before two observations."""
        if self._rate is None or not math.isfinite(self._rate):
            return None
        return max(0.0, self._rate)

    def stalled(self, now: float) -> bool:
        return self._last_change_t is not None and now - self._last_change_t >= self.stall_after


def eta(remaining: int | None, rate: float | None, *, stalled: bool = False) -> float | None:
    """Seconds left, or None when unknown (no counts, no rate yet, or stalled)."""
    if remaining is None or rate is None or stalled:
        return None
    if remaining <= 0:
        return 0.0
    if rate <= 1e-9:
        return None
    seconds = remaining / rate
    return seconds if math.isfinite(seconds) else None


def remaining_rows(op: BulkOperation) -> int | None:
    if op.processed_rows is None or not op.estimated_total_rows:
        return None
    return max(0, op.estimated_total_rows - op.processed_rows)
