"""Progress math as pure functions: fraction, throughput and ETA (stdlib only, no I/O)."""

from __future__ import annotations

import math
from collections import deque
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
    """Fraction done, from the counts shown beside it (processed of estimated), so `100%` never
    stands beside `4,800/8,000` (a Mailchimp batch is "finished" whatever stopped it).
    Completed without usable counts is 1; otherwise unknown counts or a 0 estimate are
    indeterminate."""
    processed, estimated = op.processed_rows, op.estimated_total_rows
    if processed is not None and estimated:
        return fraction_of(processed, estimated)
    if op.status is Status.COMPLETED:
        return Fraction(1.0)
    return Fraction(None)


def fraction_of(processed: int, estimated: int) -> Fraction:
    if estimated <= 0:
        return Fraction(None)
    if processed >= estimated:  # compared as integers: 10**1000 / 1 would overflow a float
        return Fraction(1.0, processed > estimated)
    return Fraction(max(0, processed) / estimated)


class RateEstimator:
    """Rows/s from successive (time, processed_rows) observations.

    The slope over a sliding window of the last `window` seconds: exact for a steady job,
    unmoved by polling jitter, falling towards 0 while the counter stalls, and started
    afresh when the counter goes backwards (a restarted job).
    """

    def __init__(self, window: float = 15.0, stall_after: float = 30.0) -> None:
        self.window = window
        self.stall_after = stall_after
        self._samples: deque[tuple[float, int]] = deque()
        self._last_change_t: float | None = None

    def observe(self, t: float, rows: int) -> None:
        if not math.isfinite(t):
            return
        rows = max(0, rows)
        samples = self._samples
        if samples and (rows < samples[-1][1]):
            samples.clear()
        if samples and t <= samples[-1][0]:
            return
        if not samples or rows != samples[-1][1]:
            self._last_change_t = t
        samples.append((t, rows))
        # Keep one sample at or before the window's start, so the slope spans the window.
        while len(samples) > 2 and samples[1][0] <= t - self.window:
            samples.popleft()

    def reset(self) -> None:
        """Forget every sample: what came before (a queue, a restart) says nothing of the rate."""
        self._samples.clear()
        self._last_change_t = None

    def rate(self) -> float | None:
        """Rows/s over the window, or None before two observations."""
        if len(self._samples) < 2:
            return None
        (t0, r0), (t1, r1) = self._samples[0], self._samples[-1]
        try:
            value = (r1 - r0) / (t1 - t0)
        except OverflowError:  # a row counter beyond any float: no rate, rather than a crash
            return None
        return max(0.0, value) if math.isfinite(value) else None

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
    try:
        seconds = remaining / rate
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def remaining_rows(op: BulkOperation) -> int | None:
    if op.processed_rows is None or not op.estimated_total_rows:
        return None
    return max(0, op.estimated_total_rows - op.processed_rows)
