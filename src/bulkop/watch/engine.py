"""The watch engine: polls operations until they end, politely, on an injected clock.

No rendering and no HTTP details here: it is handed a `fetch` function per operation and a
`Display` to tell what it saw. Time comes only from `now` and `sleep`, so tests are instant.
"""

from __future__ import annotations

import queue
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bulkop import verdict as verdicts
from bulkop.errors import (
    ApiUnavailable,
    BulkopError,
    InvalidResponse,
    Terminated,
)
from bulkop.models import BulkOperation, Status
from bulkop.pool import DaemonPool
from bulkop.progress import RateEstimator, eta, remaining_rows
from bulkop.verdict import Verdict

if TYPE_CHECKING:
    from bulkop.conditions import Conditions

AUTO_START = 1.0  # seconds: the first interval in auto mode
AUTO_MIN = 0.5  # never closer than this, even near the ETA
AUTO_MAX = 15.0  # never further apart than this while nothing changes
AUTO_GROWTH = 1.5  # idle polls stretch the interval by this factor
JITTER = 0.1  # ±10 % so many watchers (or operations) do not poll in lockstep
FAILURE_BACKOFF_MAX = 30.0
COALESCE = 0.025  # seconds: answers within this of the last pass wait for the next one
# Polling threads at most: enough to spend the default 10 requests a second on an API that
# takes over a second to answer. The pool starts small and grows only while polls wait behind
# a slow API (bulkop.pool): a fixed pool is either too small for a slow API or too large for a
# fast one, where extra threads cost CPU per poll (bench/README.md, "Measurements behind the code").
WORKERS = 16
# With an injected (fake) clock, time stands still while a poll is in flight: wait this many
# real seconds for it before letting the fake clock move on (a poll that is stuck for good).
GRACE = 2.0


@dataclass
class Tracked:
    """What the watcher knows of one operation."""

    key: str  # unique per (profile, id)
    label: str
    profile: str | None
    fetch: Callable[[], BulkOperation]
    bucket: RateLimiter
    op_id: str = ""  # the canonical id asked for (the full id every failure line names)
    op: BulkOperation | None = None
    rate: RateEstimator = field(default_factory=RateEstimator)
    interval: float = AUTO_START
    next_due: float = 0.0
    failures: int = 0  # consecutive
    error: BulkopError | None = None  # the error that ended the watch of this operation
    first_seen: float | None = None
    ended_at: float | None = None
    changed_at: float | None = None
    done: bool = False
    in_flight: bool = False  # a poll of it is out: it is not polled again until that returns
    sent_at: float = 0.0  # when the poll in flight (or the last one) went out
    answered_at: float | None = None  # when the last operation came back
    verdict: Verdict | None = None  # set once it ended, or when the watch stops
    hint_profile: str | None = None  # the profile to name in a next command: only an explicit one
    next_step: str | None = None  # replaces the next command where it cannot work ("": none)

    @property
    def status(self) -> Status | None:
        return self.op.status if self.op else None

    def speed(self) -> float | None:
        return self.rate.rate()

    def eta(self, now: float) -> float | None:
        if self.op is None or self.op.finished:
            return None
        return eta(remaining_rows(self.op), self.rate.rate(), stalled=self.rate.stalled(now))


class Display:
    """What a view is told during a watch. Every method does nothing here: a view overrides
    only the events it uses."""

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        """The watch begins; nothing has been polled yet."""

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        """A poll of `t` answered (`changed`: the body differs from the last one)."""

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        """A poll of `t` failed; `retry_in` None: the watch of it is over."""

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        """Once per pass of the loop (at least every `tick_every`), after its polls went out."""

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        """The watch is over (`done`, `timeout`, `fail-fast`, `interrupted`, `terminated`)."""


EVENTS = tuple(name for name in vars(Display) if not name.startswith("_"))  # started … finished


class Displays(Display):
    """Several views as one: each event goes to every view, in their order, that handles it
    (a view that keeps a default method is not called for that event)."""

    def __init__(self, views: Sequence[Display]) -> None:
        self.views = views

    @property
    def views(self) -> list[Display]:
        return self._views

    @views.setter
    def views(self, views: Sequence[Display]) -> None:
        self._views = list(views)
        self._handlers = {
            event: [getattr(v, event) for v in self._views if getattr(type(v), event) is not getattr(Display, event)]
            for event in EVENTS
        }


def _fan_out(event: str) -> Callable[..., None]:
    def forward(self: Displays, *args: Any) -> None:
        for handler in self._handlers[event]:
            handler(*args)

    forward.__name__, forward.__qualname__ = event, f"Displays.{event}"
    return forward


for _event in EVENTS:
    setattr(Displays, _event, _fan_out(_event))


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
    # At most this many polls at once (see WORKERS). A stuck poll holds one thread, never
    # another operation's answer.
    workers: int = WORKERS
    seed: int | None = None
    conditions: Conditions | None = None  # --until / --fail-if, checked at every poll (bulkop.verdict)


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
        grace: float = GRACE,
    ) -> None:
        self.ops = ops
        self.config = config
        self.display = display
        self.now = now
        self.sleep = sleep
        self.tick_every = tick_every
        self.grace = grace
        # On the real clock, waiting for a poll's answer is the sleep; on an injected one, a
        # poll takes no time until it has been waited for `grace` real seconds.
        self.real_clock = sleep is time.sleep
        self.random = random.Random(config.seed)
        self.timed_out = False
        self.stopped_early = False
        self._results: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._passed_at = 0.0  # time.monotonic() of the last pass that took answers

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        from bulkop.collector import long_running

        long_running()
        start = self.now()
        deadline = start + self.config.timeout if self.config.timeout else None
        for t in self.ops:
            t.next_due = start
            t.interval = self._initial_interval()
        self.display.started(self.ops, start)
        pool = DaemonPool(max(1, min(self.config.workers, len(self.ops))), self._results)
        try:
            outcome = self._loop(pool, deadline)
        except Terminated:
            self._conclude("terminated")
            self.display.finished(self.ops, self.now(), "terminated")
            raise
        except BaseException:
            self._conclude("interrupted")
            self.display.finished(self.ops, self.now(), "interrupted")
            raise
        finally:
            pool.shutdown()
        self._conclude(outcome)
        self.display.finished(self.ops, self.now(), outcome)
        return self.exit_code()

    def _loop(self, pool: DaemonPool, deadline: float | None) -> str:
        """Send what is due, take each answer as it comes, tick; return how it ended."""
        while True:
            self._absorb(self._drain())
            active = [t for t in self.ops if not t.done]
            if not active:
                return "done"
            if self.config.fail_fast and any(t.done and not self._verdict(t).passed for t in self.ops):
                self.stopped_early = True
                self._absorb(self._drain())  # answers already here are checked, not "no longer watched"
                return "fail-fast"
            now = self.now()
            if deadline is not None and now >= deadline:
                self.timed_out = True
                self._absorb(self._drain())
                return "timeout"
            for t in self._take_due(active, now):
                t.in_flight = True
                t.sent_at = now
                pool.submit(t, t.fetch)
            pool.keep_up()
            idle = [t for t in active if not t.in_flight]
            wake = self._wake_at(idle, now) if idle else now + self.tick_every
            if deadline is not None:
                wake = min(wake, deadline)
            pause = max(0.0, min(wake - now, self.tick_every))
            self.display.tick(self.ops, now)
            if len(idle) < len(active):
                self._absorb(self._wait_for_answers(pause, len(active) - len(idle)))
            elif pause > 0:
                self.sleep(pause)

    def _drain(self) -> list[tuple[Any, Any]]:
        answers = []
        while True:
            try:
                answers.append(self._results.get_nowait())
            except queue.Empty:
                return answers

    def _wait_for_answers(self, seconds: float, in_flight: int) -> list[tuple[Any, Any]]:
        """Up to `seconds`, but no longer than until the first answer of a poll in flight."""
        if self.real_clock:
            # Answers that come close together are taken in one pass of the loop, not a pass
            # each: a pass looks at every operation, and a wake-up per answer cost more CPU than
            # the answers (1,000 operations, 1,000 answers a second).
            hold = min(seconds, self._passed_at + COALESCE - time.monotonic())
            if hold > 0:
                time.sleep(hold)
                seconds -= hold
            try:
                first = self._results.get(timeout=seconds) if seconds > 0 else self._results.get_nowait()
            except queue.Empty:
                return []
            self._passed_at = time.monotonic()
            return [first, *self._drain()]
        # An injected clock stands still while polls are out: take every answer that comes
        # within `grace` real seconds, in the operations' order, so a test run is the same
        # every time; only when none comes (a poll stuck for good) does the clock move on.
        answers: list[tuple[Any, Any]] = []
        give_up = time.monotonic() + self.grace
        while len(answers) < in_flight:
            try:
                answers.append(self._results.get(timeout=max(0.0, give_up - time.monotonic())))
            except queue.Empty:
                break
        if not answers and seconds > 0:
            self.sleep(seconds)
        order = {id(t): i for i, t in enumerate(self.ops)} if len(answers) > 1 else {}
        return sorted(answers, key=lambda a: order.get(id(a[0]), 0))

    def _absorb(self, answers: list[tuple[Any, Any]]) -> None:
        if not answers:
            return
        now = self.now()
        for t, result in answers:
            t.in_flight = False
            if t.done:  # answered after the watch of it ended (it cannot be, but never twice)
                continue
            if t.first_seen is None:
                t.first_seen = now
            if isinstance(result, BulkopError):
                self._failed(t, result, now)
            elif isinstance(result, BaseException):
                raise result
            else:
                self._observed(t, result, now, t.sent_at)

    def _take_due(self, active: list[Tracked], now: float) -> list[Tracked]:
        due = sorted((t for t in active if not t.in_flight and t.next_due <= now), key=lambda t: t.next_due)
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

    # ------------------------------------------------------------------ outcomes of a poll

    def _observed(self, t: Tracked, op: BulkOperation, now: float, sent: float) -> None:
        previous = t.op
        changed = previous is None or previous.raw != op.raw
        progressed = previous is None or (previous.status != op.status or previous.processed_rows != op.processed_rows)
        if progressed:
            t.changed_at = now
        t.op = op
        t.answered_at = now
        t.failures = 0
        if op.processed_rows is not None and op.status is Status.PROCESSING:
            # The rate of processing only: a sample from the queue (0 rows, for as long as it
            # waited) would drag the slope down for a whole window after the start.
            if previous is not None and previous.status is not Status.PROCESSING:
                t.rate.reset()
            t.rate.observe(now, op.processed_rows)
        if (verdict := verdicts.ended(op, self.config.max_errors, self.config.conditions)) is not None:
            t.done = True
            t.ended_at = now
            t.verdict = verdict
        else:
            t.interval = self._next_interval(t, progressed, now)
            # From when the poll went out, not when its answer came back: a slow answer must
            # not stretch every interval.
            t.next_due = sent + t.interval
        self.display.observed(t, changed, now)

    def _failed(self, t: Tracked, err: BulkopError, now: float) -> None:
        transient = isinstance(err, (ApiUnavailable, InvalidResponse)) and not err.lasting
        t.failures += 1
        if not transient or t.failures >= self.config.max_consecutive_failures:
            if transient:
                err.message = f"{err.message} ({t.failures} failed polls in a row)"
            t.error = err
            t.done = True
            t.ended_at = now
            t.verdict = verdicts.of_error(err)
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
        base = min(FAILURE_BACKOFF_MAX, 2.0 ** (failures - 1))
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

    # ------------------------------------------------------------------ verdicts

    def _verdict(self, t: Tracked) -> Verdict:
        """What became of an operation that ended (or of one still running, for now)."""
        if t.verdict is not None:
            return t.verdict
        if t.error is not None:
            return verdicts.of_error(t.error)
        if t.op is not None and t.op.finished:
            return verdicts.of_operation(t.op, self.config.max_errors)
        return (
            verdicts.timed_out(self.config.timeout, seen=t.op is not None)
            if self.timed_out
            else verdicts.stopped(seen=t.op is not None)
        )

    def _conclude(self, outcome: str) -> None:
        """Give every operation its verdict, once the watch is over."""
        for t in self.ops:
            if t.verdict is not None:
                continue
            if t.done:
                t.verdict = self._verdict(t)
            elif outcome in ("interrupted", "terminated"):
                t.verdict = verdicts.interrupted(terminated=outcome == "terminated")
            elif outcome == "timeout":
                t.verdict = verdicts.timed_out(self.config.timeout, seen=t.op is not None)
            else:
                t.verdict = verdicts.stopped(seen=t.op is not None)

    def exit_code(self) -> int:
        """The most severe of the operations' verdicts' codes (the one table: bulkop.verdict)."""
        from bulkop.errors import most_severe

        return most_severe([self._verdict(t).code for t in self.ops])
