"""The watch loop: polls operations until they end, politely, on an injected clock.

No rendering and no HTTP details here: it is handed a `fetch` function per operation and a
`Display` to tell what it saw. Time comes only from `now` and `sleep`, so tests are instant.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from bulkop.errors import (
    ApiUnavailable,
    BulkopError,
    ExitCode,
    InvalidResponse,
)
from bulkop.models import BulkOperation, Status
from bulkop.progress import RateEstimator, eta, remaining_rows

AUTO_START = 1.0  # seconds: the first interval in auto mode
AUTO_MIN = 0.5  # never closer than this, even near the ETA
AUTO_MAX = 15.0  # never further apart than this while nothing changes
AUTO_GROWTH = 1.5  # idle polls stretch the interval by this factor
JITTER = 0.1  # ±10 % so many watchers (or operations) do not poll in lockstep
FAILURE_BACKOFF_MAX = 30.0
SLOW_BATCH = 0.25  # seconds: a batch of polls slower than this may get one more worker thread,
SLOW_REQUEST = 0.05  # if each of its requests took this long (network latency, not CPU)


@dataclass
class Tracked:
    """What the watcher knows of one operation."""

    key: str  # unique per (profile, id)
    label: str
    profile: str | None
    fetch: Callable[[], BulkOperation]
    bucket: RateLimiter
    op: BulkOperation | None = None
    rate: RateEstimator = field(default_factory=RateEstimator)
    interval: float = AUTO_START
    next_due: float = 0.0
    polls: int = 0
    failures: int = 0  # consecutive
    last_error: str | None = None
    error: BulkopError | None = None  # the error that ended the watch of this operation
    first_seen: float | None = None
    ended_at: float | None = None
    changed_at: float | None = None
    done: bool = False

    @property
    def status(self) -> Status | None:
        return self.op.status if self.op else None

    def speed(self) -> float | None:
        return self.rate.rate()

    def eta(self, now: float) -> float | None:
        if self.op is None or self.op.finished:
            return None
        return eta(remaining_rows(self.op), self.rate.rate(), stalled=self.rate.stalled(now))


class Display(Protocol):
    def started(self, ops: Sequence[Tracked], now: float) -> None: ...
    def observed(self, t: Tracked, changed: bool, now: float) -> None: ...
    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None: ...
    def tick(self, ops: Sequence[Tracked], now: float) -> None: ...
    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None: ...


class DaemonPool:
    """A few daemon worker threads sharing one HTTP client.

    Unlike ThreadPoolExecutor's workers, daemon threads never hold up the process's exit: a
    poll stuck in the network (until --request-timeout) must not delay a --timeout, Ctrl-C or
    SIGTERM.
    """

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self.workers = 0
        self.grow(workers)

    def grow(self, workers: int) -> None:
        while self.workers < workers:
            threading.Thread(target=self._work, name=f"bulkop-poll-{self.workers}", daemon=True).start()
            self.workers += 1

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, fn))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as e:  # handed to whoever waits on the future
                future.set_exception(e)

    def shutdown(self) -> None:
        for _ in range(self.workers):
            self._queue.put(None)


class RateLimiter:
    """At most `rate` requests in any sliding second to one profile's API; a shared 429 pause.

    A log of recent request times rather than a token bucket: a bucket lets a full burst
    through and then refills during the same second, so a second could see nearly twice the
    rate. Below 1 request/s the window stretches (0.5/s: one request in any 2 s).
    """

    def __init__(self, rate: float, now: float = 0.0) -> None:
        self.rate = rate
        self.window = max(1.0, 1.0 / rate)
        self.limit = max(1, int(rate * self.window + 1e-9))
        self._sent: deque[float] = deque()
        self.paused_until = 0.0

    def _expired(self, sent: float, now: float) -> bool:
        # Written as `sent + window`, the very sum next_available() names, so that waiting
        # exactly until then is never refused again by a rounding of `now - window`.
        return sent + self.window <= now

    def _expire(self, now: float) -> None:
        while self._sent and self._expired(self._sent[0], now):
            self._sent.popleft()

    def take(self, now: float) -> bool:
        if now < self.paused_until:
            return False
        self._expire(now)
        if len(self._sent) < self.limit:
            self._sent.append(now)
            return True
        return False

    def next_available(self, now: float) -> float:
        """When the next request may go (asking, even about a later time, changes nothing)."""
        if now < self.paused_until:
            return self.paused_until
        recent = [t for t in self._sent if not self._expired(t, now)]
        if len(recent) < self.limit:
            return now
        return recent[len(recent) - self.limit] + self.window

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)


@dataclass
class WatchConfig:
    interval: float | str = "auto"
    timeout: float | None = None
    max_errors: int | None = None
    max_consecutive_failures: int = 10
    fail_fast: bool = False
    # Polling threads: 2 to start (each thread more costs CPU per request in lock handoffs:
    # 0.85 ms per poll with 2, 1.10 ms with 8, measured on loopback); more are added, up to
    # max_workers, when a batch of polls queues up behind slow responses.
    workers: int = 2
    max_workers: int = 8
    seed: int | None = None


class Watcher:
    def __init__(
        self,
        ops: list[Tracked],
        config: WatchConfig,
        display: Display,
        *,
        now: Callable[[], float],
        sleep: Callable[[float], None],
        tick_every: float = 1.0,
    ) -> None:
        self.ops = ops
        self.config = config
        self.display = display
        self.now = now
        self.sleep = sleep
        self.tick_every = tick_every
        self.random = random.Random(config.seed)
        self.timed_out = False
        self.stopped_early = False

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        start = self.now()
        deadline = start + self.config.timeout if self.config.timeout else None
        for t in self.ops:
            t.next_due = start
            t.interval = self._initial_interval()
        self.display.started(self.ops, start)
        workers = max(1, min(self.config.workers, len(self.ops)))
        pool = DaemonPool(workers)
        try:
            outcome = self._loop(pool, deadline)
        except BaseException:
            self.display.finished(self.ops, self.now(), "interrupted")
            raise
        finally:
            pool.shutdown()
        self.display.finished(self.ops, self.now(), outcome)
        return self.exit_code()

    def _loop(self, pool: DaemonPool, deadline: float | None) -> str:
        """Poll what is due, sleep until the next thing is due; return how it ended."""
        while True:
            active = [t for t in self.ops if not t.done]
            if not active:
                return "done"
            now = self.now()
            if deadline is not None and now >= deadline:
                self.timed_out = True
                return "timeout"
            batch = self._take_due(active, now)
            if batch:
                if not self._poll(pool, batch, deadline):
                    self.timed_out = True
                    return "timeout"
                if self.config.fail_fast and any(self._code(t) != 0 for t in self.ops if t.done):
                    self.stopped_early = True
                    return "fail-fast"
                continue
            wake = self._wake_at(active, now)
            if deadline is not None:
                wake = min(wake, deadline)
            wait = max(0.0, min(wake - now, self.tick_every))
            self.display.tick(self.ops, now)
            if wait > 0:
                self.sleep(wait)

    def _take_due(self, active: list[Tracked], now: float) -> list[Tracked]:
        due = sorted((t for t in active if t.next_due <= now), key=lambda t: t.next_due)
        return [t for t in due if t.bucket.take(now)]

    @staticmethod
    def _wake_at(active: list[Tracked], now: float) -> float:
        """When the next poll may go: per profile, its soonest due operation, once its rate
        limit allows (asked once per profile, not once per operation)."""
        soonest: dict[int, tuple[RateLimiter, float]] = {}
        for t in active:
            key = id(t.bucket)
            entry = soonest.get(key)
            if entry is None or t.next_due < entry[1]:
                soonest[key] = (t.bucket, t.next_due)
        return min(max(due, limiter.next_available(now)) for limiter, due in soonest.values())

    def _poll(self, pool: DaemonPool, batch: list[Tracked], deadline: float | None) -> bool:
        """Poll a batch concurrently; False if --timeout struck while polls were in flight."""

        def fetch(t: Tracked) -> BulkOperation | BulkopError:
            try:
                return t.fetch()
            except BulkopError as e:
                return e

        sent = self.now()
        started = time.monotonic()
        futures = [pool.submit(lambda t=t: fetch(t)) for t in batch]
        # Real seconds: a poll in flight is waited on with the clock of the world, not ours.
        budget = None if deadline is None else max(0.0, deadline - self.now())
        done, pending = wait(futures, timeout=budget)
        # Real time, not the watch's clock: this sizes threads to the server's real latency.
        # More threads help only when they wait on the network (a slow API), not when the
        # machine is busy (then they add lock handoffs): so look at the time per request.
        elapsed = time.monotonic() - started
        per_request = elapsed * pool.workers / len(batch)
        if len(batch) > pool.workers and elapsed > SLOW_BATCH and per_request > SLOW_REQUEST:
            pool.grow(min(self.config.max_workers, pool.workers + 1))
        now = self.now()
        for t, future in zip(batch, futures, strict=True):
            if future not in done:
                continue
            result = future.result()
            t.polls += 1
            if t.first_seen is None:
                t.first_seen = now
            if isinstance(result, BulkopError):
                self._failed(t, result, now)
            else:
                self._observed(t, result, now, sent)
        return not pending

    # ------------------------------------------------------------------ outcomes of a poll

    def _observed(self, t: Tracked, op: BulkOperation, now: float, sent: float) -> None:
        previous = t.op
        changed = previous is None or previous.raw != op.raw
        progressed = previous is None or (previous.status != op.status or previous.processed_rows != op.processed_rows)
        if progressed:
            t.changed_at = now
        t.op = op
        t.failures = 0
        t.last_error = None
        if op.processed_rows is not None:
            t.rate.observe(now, op.processed_rows)
        if op.finished:
            t.done = True
            t.ended_at = now
        else:
            t.interval = self._next_interval(t, progressed, now)
            # From when the poll went out, not when its batch came back: with many operations
            # a batch takes a while, and counting from its end would stretch every interval.
            t.next_due = sent + t.interval
        self.display.observed(t, changed, now)

    def _failed(self, t: Tracked, err: BulkopError, now: float) -> None:
        transient = isinstance(err, (ApiUnavailable, InvalidResponse))
        t.failures += 1
        t.last_error = err.message
        if not transient or t.failures >= self.config.max_consecutive_failures:
            if transient:
                err.message = f"{err.message} ({t.failures} failed polls in a row)"
            t.error = err
            t.done = True
            t.ended_at = now
            self.display.failed_poll(t, err, None, now)
            return
        retry_after = getattr(err, "retry_after", None)
        delay = retry_after if retry_after is not None else self._failure_backoff(t.failures)
        if err.kind == "rate_limited" or retry_after is not None:
            # A 429 (or a 503 with Retry-After) speaks for the whole account, not one operation.
            t.bucket.pause(now + delay)
        t.next_due = now + delay
        self.display.failed_poll(t, err, delay, now)

    def _failure_backoff(self, failures: int) -> float:
        base = min(FAILURE_BACKOFF_MAX, 1.0 * (2 ** (failures - 1)))
        return base * (0.75 + 0.5 * self.random.random())

    # ------------------------------------------------------------------ polling intervals

    def _initial_interval(self) -> float:
        fixed = self.config.interval
        return AUTO_START if fixed == "auto" else float(fixed)

    def _next_interval(self, t: Tracked, progressed: bool, now: float) -> float:
        fixed = self.config.interval
        if fixed != "auto":
            return float(fixed)
        interval = AUTO_START if progressed else min(AUTO_MAX, t.interval * AUTO_GROWTH)
        remaining = t.eta(now)
        if remaining is not None:
            # Near the end, poll about when it should finish, so the end is seen promptly.
            interval = min(interval, max(AUTO_MIN, remaining))
        jitter = 1.0 + self.random.uniform(-JITTER, JITTER)
        return max(AUTO_MIN, min(AUTO_MAX, interval) * jitter)

    # ------------------------------------------------------------------ exit code

    def _code(self, t: Tracked) -> int:
        if t.error is not None:
            return int(t.error.exit_code)
        if t.op is None or not t.op.finished:
            return ExitCode.TIMEOUT if self.timed_out else ExitCode.NOT_FINISHED
        if t.op.status is Status.FAILED:
            return ExitCode.FAILED
        limit = self.config.max_errors
        if limit is not None and (t.op.error_count or 0) > limit:
            return ExitCode.FAILED
        return ExitCode.OK

    def exit_code(self) -> int:
        from bulkop.errors import most_severe

        codes = [self._code(t) for t in self.ops]
        if self.stopped_early:
            codes = [c for c in codes if c not in (ExitCode.NOT_FINISHED,)]
        return most_severe(codes)
