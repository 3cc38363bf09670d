"""The watch engine on an injected clock: polling intervals, rate limit, errors, exit codes.

Every test drives `bulkop.watch.engine.Watcher` with a fake clock (time moves only when the
watcher sleeps) and fake `fetch` functions that play an operation's life as test data: they
build the `BulkOperation` a server would send at that instant and record when they were asked.
Nothing of bulkop is replaced; a minute of polling takes milliseconds and is deterministic.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop.api.http import RateLimited
from bulkop.errors import (
    ApiUnavailable,
    AuthError,
    BulkopError,
    ExitCode,
    InvalidResponse,
    NotFoundError,
)
from bulkop.models import BulkOperation, Status
from bulkop.watch.engine import AUTO_MAX, AUTO_MIN, JITTER, RateLimiter, Tracked, WatchConfig, Watcher
from helpers import FakeClock, operation

EPS = 1e-6  # float slack when comparing instants computed by summing sleeps


# --------------------------------------------------------------------------- test doubles


@dataclass
class Job:
    """One operation's life on the fake clock, served to the watcher as its `fetch`.

    Queued until `start`, rows grow linearly to `total` at `end`, then completed (or failed at
    `fail_at`, a time). `script` maps a call number (1-based) to an error to raise instead.
    """

    clock: FakeClock
    n: int = 0
    start: float = 0.0
    end: float = 10.0
    total: int = 1000
    errors: int = 0
    fail_at: float | None = None
    script: dict[int, BulkopError] = field(default_factory=dict)
    always: Callable[[], BulkopError] | None = None
    calls: list[float] = field(default_factory=list)
    seen: list[Status | None] = field(default_factory=list)  # None where an error was raised

    def state(self, t: float) -> BulkOperation:
        if self.fail_at is not None and t >= self.fail_at:
            rows = self._rows(self.fail_at)
            return operation(self.n, Status.FAILED, rows, self.total, self.errors)
        if t < self.start:
            return operation(self.n, Status.QUEUED, 0, self.total)
        if t >= self.end:
            return operation(self.n, Status.COMPLETED, self.total, self.total, self.errors)
        return operation(self.n, Status.PROCESSING, self._rows(t), self.total)

    def _rows(self, t: float) -> int:
        if t <= self.start:
            return 0
        return int(self.total * min(1.0, (t - self.start) / (self.end - self.start)))

    def __call__(self) -> BulkOperation:
        t = self.clock.t
        self.calls.append(t)
        err = self.always() if self.always is not None else self.script.get(len(self.calls))
        if err is not None:
            self.seen.append(None)
            raise err
        op = self.state(t)
        self.seen.append(op.status)
        return op

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.calls, self.calls[1:], strict=False)]


@dataclass
class Event:
    kind: str
    key: str
    now: float
    changed: bool = False
    retry_in: float | None = None
    eta: float | None = None
    interval: float | None = None


class RecordingDisplay:
    """A Display (the watcher's protocol for views) that writes down what it was told."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.outcome: str | None = None

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        self.events.append(Event("started", "", now))

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        self.events.append(Event("observed", t.key, now, changed, eta=t.eta(now), interval=t.interval))

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        self.events.append(Event("failed", t.key, now, retry_in=retry_in))

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        pass

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        self.outcome = outcome

    def of(self, key: str, kind: str = "observed") -> list[Event]:
        return [e for e in self.events if e.key == key and e.kind == kind]


def track(jobs: Sequence[Job], limiters: Sequence[RateLimiter] | RateLimiter | None = None) -> list[Tracked]:
    """Tracked operations for the jobs; by default one profile whose rate limit never binds."""
    if limiters is None:
        limiters = RateLimiter(1000.0, 0.0)
    if isinstance(limiters, RateLimiter):
        limiters = [limiters] * len(jobs)
    return [
        Tracked(key=f"op{i}", label=f"op{i}", profile=None, fetch=job, bucket=limiter)
        for i, (job, limiter) in enumerate(zip(jobs, limiters, strict=True))
    ]


def watch(clock: FakeClock, ops: list[Tracked], **config: object) -> tuple[int, Watcher, RecordingDisplay]:
    display = RecordingDisplay()
    watcher = Watcher(ops, WatchConfig(**config), display, now=clock.now, sleep=clock.sleep)  # type: ignore[arg-type]
    code = watcher.run()
    return code, watcher, display


def most_in_any_second(times: list[float]) -> int:
    """The largest number of instants inside one half-open window [t, t + 1 s)."""
    ts = sorted(times)
    return max((bisect.bisect_left(ts, t + 1.0 - EPS) - i for i, t in enumerate(ts)), default=0)


# --------------------------------------------------------------------------- polling intervals


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_auto_interval_grows_by_half_while_idle_and_levels_off_at_15s(seed):
    """A queued operation that does not move: each gap is ~1.5x the previous (±10 % jitter)
    until the 15 s ceiling, and never beyond it (plus jitter)."""
    clock = FakeClock()
    job = Job(clock, start=400.0, end=401.0)
    code, _, _ = watch(clock, track([job]), seed=seed)
    assert code == ExitCode.OK
    gaps = [g for g, t in zip(job.gaps(), job.calls[1:], strict=True) if t < job.start]
    assert len(gaps) > 12
    assert 1 - JITTER - EPS <= gaps[0] <= 1 + JITTER + EPS  # the first interval: about a second
    for previous, gap in itertools.pairwise(gaps):
        assert AUTO_MIN <= gap <= AUTO_MAX * (1 + JITTER) + EPS
        if previous * 1.5 < AUTO_MAX * (1 - JITTER):  # not at the ceiling yet: ×1.5, jittered
            assert 1.5 * (1 - JITTER) - EPS <= gap / previous <= 1.5 * (1 + JITTER) + EPS
    assert all(gap >= AUTO_MAX * (1 - JITTER) - EPS for gap in gaps[-5:])  # levelled off at ~15 s


def test_progress_brings_the_auto_interval_back_to_about_a_second(clock):
    """After a long idle stretch (interval grown to ~15 s), the first poll that sees rows
    move resets the pace to about one second."""
    job = Job(clock, start=120.0, end=200.0, total=80_000)
    code, _, display = watch(clock, track([job]), seed=7)
    assert code == ExitCode.OK
    idle_gaps = [g for g, t in zip(job.gaps(), job.calls[1:], strict=True) if t < job.start]
    assert max(idle_gaps) > 10  # it did slow down while idle
    moving = [e for e in display.of("op0") if job.start + 2 < e.now < job.end - 2]
    assert moving, "no observation while the operation was processing"
    for e in moving:
        assert e.interval is not None and 1 - JITTER - EPS <= e.interval <= 1 + JITTER + EPS


def test_auto_interval_shrinks_to_the_eta_near_the_end():
    """When the ETA is under a second the next poll comes at about the ETA (never under 0.5 s),
    so the end is seen promptly rather than up to a second late."""
    shrunk = 0
    for seed in range(20):
        clock = FakeClock()
        job = Job(clock, start=0.0, end=10.0, total=1000)
        code, _, display = watch(clock, track([job]), seed=seed)
        assert code == ExitCode.OK
        observed = display.of("op0")
        for e, following in itertools.pairwise(observed):
            gap = following.now - e.now
            if e.eta is not None and e.eta < 1.0:
                assert AUTO_MIN - EPS <= gap <= max(AUTO_MIN, e.eta) * (1 + JITTER) + EPS, (seed, e, gap)
                shrunk += gap < 0.9
        assert clock.t - job.end <= 1 + JITTER + EPS  # the completion was seen within ~a second
    assert shrunk > 0, "no poll was brought forward by the ETA in 20 runs"


def test_fixed_interval_is_exact_whatever_happens(clock):
    """`--interval 2.5`: every gap is exactly 2.5 s, idle or busy, for every operation (no jitter)."""
    jobs = [Job(clock, n=i, start=10.0 + i, end=30.0 + 3 * i) for i in range(3)]
    code, _, _ = watch(clock, track(jobs, RateLimiter(10.0, 0.0)), interval=2.5)
    assert code == ExitCode.OK
    for job in jobs:
        assert len(job.calls) > 10
        assert job.gaps() == pytest.approx([2.5] * (len(job.calls) - 1), abs=EPS)


def test_jitter_keeps_operations_out_of_lockstep_within_ten_percent(clock):
    """Thirty operations started together do not poll together a second later: each second poll
    lands within ±10 % of the 1 s interval, and they are spread out."""
    jobs = [Job(clock, n=i, start=0.0, end=100.0) for i in range(30)]
    code, _, _ = watch(clock, track(jobs), seed=1, timeout=3.0)
    assert code == ExitCode.TIMEOUT
    second_polls = [job.calls[1] for job in jobs]
    assert all(1 - JITTER - EPS <= t <= 1 + JITTER + EPS for t in second_polls)
    assert len({round(t, 6) for t in second_polls}) >= 25


# --------------------------------------------------------------------------- politeness


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(lambda: _with_retry_after(RateLimited("rate limited (429)"), 7.0), id="429"),
        pytest.param(lambda: _with_retry_after(ApiUnavailable("failing (503)"), 7.0), id="503-with-retry-after"),
    ],
)
def test_retry_after_pauses_every_operation_of_the_profile_to_the_second(clock, error):
    """A 429 with Retry-After: 7 on one operation: neither it nor any other operation of the same
    profile is polled for 7 s; the paused one is polled again right after (within the second);
    another profile's operation goes on being polled meanwhile."""
    a = Job(clock, n=0, start=0.0, end=30.0, script={3: error()})
    b = Job(clock, n=1, start=0.0, end=30.0)
    c = Job(clock, n=2, start=0.0, end=30.0)
    profile_p, profile_q = RateLimiter(10.0, 0.0), RateLimiter(10.0, 0.0)
    code, _, display = watch(clock, track([a, b, c], [profile_p, profile_p, profile_q]), interval=1.0)
    assert code == ExitCode.OK
    t429 = a.calls[2]
    assert display.of("op0", "failed")[0].retry_in == 7.0
    for job in (a, b):
        resumed = [t for t in job.calls if t > t429 + EPS]
        assert resumed and t429 + 7.0 - EPS <= resumed[0] < t429 + 8.0
    assert [t for t in c.calls if t429 < t < t429 + 7.0], "the other profile was paused too"


def _with_retry_after(err: ApiUnavailable, seconds: float) -> ApiUnavailable:
    err.retry_after = seconds
    return err


def test_rate_limiter_does_not_lend_capacity_from_the_future():
    """Asking when a request could go at a later instant (what the loop does for an operation
    due later) must not let more requests through now."""
    limiter = RateLimiter(2.0, 0.0)
    assert limiter.take(0.0) and limiter.take(0.0)
    assert not limiter.take(0.0)
    limiter.next_available(10.0)  # an operation due at t=10 s asks when it could go
    assert not limiter.take(0.0), "a third request in the first second"
    assert not limiter.take(0.5)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    rate=st.floats(min_value=0.05, max_value=50.0),
    start=st.floats(min_value=0.0, max_value=1e6),
    rng=st.randoms(use_true_random=False),
)
def test_rate_limiter_refusal_always_names_an_instant_that_works(rate, start, rng):
    """Whenever a request is refused, `next_available` names a later instant, and at that
    instant the request goes through. (If it named `now`, the loop would spin without sleeping
    forever: on an injected clock, time never moves; on the real one, a CPU burns.) Monotonic
    clocks read large numbers, so float rounding is exercised from arbitrary start times."""
    limiter = RateLimiter(rate, start)
    t = start
    for _ in range(200):
        if limiter.take(t):
            t += rng.choice([0.0, rng.uniform(0.0, 1.0 / rate)])
            continue
        wake = limiter.next_available(t)
        assert wake > t, f"refused at t={t!r} (rate {rate!r}), and told to try again at {wake!r}"
        assert limiter.take(wake), f"refused again at t={wake!r}, the instant it named (rate {rate!r})"
        t = wake


def test_max_rps_is_never_exceeded_in_any_sliding_second(clock):
    """Forty operations of one profile, polled every second, with max_rps 4: whatever window of
    one second is looked at, the API never got more than 4 requests in it."""
    jobs = [Job(clock, n=i, start=0.0, end=20.0) for i in range(40)]
    code, _, _ = watch(clock, track(jobs, RateLimiter(4.0, 0.0)), interval=1.0)
    assert code == ExitCode.OK
    polls = [t for job in jobs for t in job.calls]
    assert len(polls) > 80
    assert most_in_any_second(polls) <= 4


def test_many_operations_at_a_low_max_rps_reach_the_end(clock):
    """Fifty operations sharing max_rps 5 all get watched to completion (the loop keeps sleeping
    and polling; it must never spin on a limiter that says 'now' but refuses)."""
    jobs = [Job(clock, n=i, start=0.0, end=20.0) for i in range(50)]
    code, _, _ = watch(clock, track(jobs, RateLimiter(5.0, 0.0)), interval=0.5)
    assert code == ExitCode.OK
    assert all(job.seen[-1] is Status.COMPLETED for job in jobs)


def test_a_finished_operation_is_never_polled_again(clock):
    """Operations ending at different times: each is asked exactly until it reports an end
    state, while the others go on being watched."""
    jobs = [
        Job(clock, n=0, start=0.0, end=2.0),
        Job(clock, n=1, start=0.0, end=50.0, fail_at=5.0),
        Job(clock, n=2, start=1.0, end=9.0),
        Job(clock, n=3, start=0.0, end=40.0),
    ]
    code, _, _ = watch(clock, track(jobs))
    assert code == ExitCode.FAILED
    for job in jobs:
        assert job.seen[-1] in (Status.COMPLETED, Status.FAILED)
        assert all(s is not None and not s.finished for s in job.seen[:-1])
    assert max(jobs[3].calls) > max(jobs[0].calls + jobs[1].calls + jobs[2].calls)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make_error",
    [
        pytest.param(lambda: ApiUnavailable("127.0.0.1:9: connection refused"), id="unavailable"),
        pytest.param(lambda: InvalidResponse("answered HTTP 200 with text/html, not JSON"), id="invalid-response"),
    ],
)
def test_transient_errors_back_off_then_give_up_after_max_consecutive_failures(clock, make_error):
    """Every poll fails: retried after ~1 s, ~2 s, ~4 s, ~8 s (±25 %), and after the 5th failure
    in a row the operation ends with exit 6, saying how many polls failed."""
    job = Job(clock, always=make_error)
    code, watcher, display = watch(clock, track([job]), max_consecutive_failures=5)
    assert code == ExitCode.UNAVAILABLE
    assert len(job.calls) == 5
    for k, gap in enumerate(job.gaps()):
        assert 0.75 * 2**k - EPS <= gap <= 1.25 * 2**k + EPS
    (t,) = watcher.ops
    assert t.error is not None and "5 failed polls in a row" in t.error.message
    assert [e.retry_in is None for e in display.of("op0", "failed")] == [False] * 4 + [True]


def test_only_consecutive_failures_count(clock):
    """Three failures, a good poll, three more failures: with a limit of 4 it never gives up."""
    down = ApiUnavailable("connection refused")
    job = Job(clock, start=0.0, end=60.0, script={n: down for n in (2, 3, 4, 6, 7, 8)})
    code, watcher, _ = watch(clock, track([job]), max_consecutive_failures=4, interval=5.0)
    assert code == ExitCode.OK
    assert job.seen[-1] is Status.COMPLETED
    assert watcher.ops[0].failures == 0 and watcher.ops[0].error is None


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(AuthError("refused the credentials (401)"), ExitCode.AUTH, id="401"),
        pytest.param(NotFoundError("not found (404)"), ExitCode.NOT_FOUND, id="404"),
    ],
)
def test_auth_and_not_found_end_that_operation_at_once(clock, error, code):
    """A 401 or 404 is not retried: that operation is asked once and ends with its exit code;
    the other operation is still watched to its end."""
    bad = Job(clock, n=0, script={1: error})
    good = Job(clock, n=1, start=1.0, end=6.0)
    exit_code, watcher, _ = watch(clock, track([bad, good]), max_consecutive_failures=10)
    assert exit_code == code
    assert len(bad.calls) == 1
    assert good.seen[-1] is Status.COMPLETED
    assert watcher.ops[0].error is error


# --------------------------------------------------------------------------- exit codes


def _ending(kind: str) -> Callable[[FakeClock, int], Job]:
    def make(clock: FakeClock, n: int) -> Job:
        if kind == "completed":
            return Job(clock, n=n, start=0.0, end=3.0)
        if kind == "with-3-errors":
            return Job(clock, n=n, start=0.0, end=3.0, errors=3)
        if kind == "failed":
            return Job(clock, n=n, start=0.0, end=30.0, fail_at=2.0)
        if kind == "unfinished":
            return Job(clock, n=n, start=0.0, end=10_000.0)
        errors = {
            "auth": lambda: AuthError("401"),
            "not-found": lambda: NotFoundError("404"),
            "unavailable": lambda: ApiUnavailable("503"),
        }
        return Job(clock, n=n, always=errors[kind])

    return make


@pytest.mark.parametrize(
    ("endings", "config", "expected"),
    [
        (["completed", "completed"], {}, ExitCode.OK),
        (["completed", "failed"], {}, ExitCode.FAILED),
        (["with-3-errors"], {}, ExitCode.OK),
        (["with-3-errors"], {"max_errors": 3}, ExitCode.OK),
        (["with-3-errors"], {"max_errors": 2}, ExitCode.FAILED),
        (["failed", "not-found"], {}, ExitCode.NOT_FOUND),
        (["not-found", "unavailable"], {}, ExitCode.UNAVAILABLE),
        (["unavailable", "auth"], {}, ExitCode.AUTH),
        (["completed", "unfinished"], {"timeout": 60.0}, ExitCode.TIMEOUT),
        (["auth", "failed", "unfinished"], {"timeout": 60.0}, ExitCode.TIMEOUT),
    ],
    ids=lambda v: "+".join(v) if isinstance(v, list) else None,
)
def test_exit_code_is_the_most_severe_outcome(clock, endings, config, expected):
    """One exit code for several operations: timeout > auth > unavailable > not found >
    failed (incl. over --max-errors) > ok."""
    jobs = [_ending(kind)(clock, n) for n, kind in enumerate(endings)]
    code, _, _ = watch(clock, track(jobs), max_consecutive_failures=3, **config)
    assert code == expected


def test_timeout_stops_polling_at_the_deadline(clock):
    """--timeout 30s on an operation that needs an hour: no poll at or after 30 s, exit 124,
    and the display is told the watch ended by timeout."""
    job = Job(clock, start=0.0, end=3600.0)
    code, watcher, display = watch(clock, track([job]), timeout=30.0)
    assert code == ExitCode.TIMEOUT
    assert watcher.timed_out and display.outcome == "timeout"
    assert max(job.calls) < 30.0
    assert clock.t == pytest.approx(30.0, abs=EPS)


def test_fail_fast_stops_at_the_first_failure(clock):
    """--fail-fast: once one operation fails, the other (still running) is no longer polled
    and the exit code is that failure's (not 'unfinished')."""
    failing = Job(clock, n=0, start=0.0, end=60.0, fail_at=3.0)
    long = Job(clock, n=1, start=0.0, end=600.0)
    code, _, display = watch(clock, track([failing, long]), fail_fast=True)
    assert code == ExitCode.FAILED
    assert display.outcome == "fail-fast"
    assert max(long.calls) <= max(failing.calls)
    assert clock.t < 10


def test_without_fail_fast_every_operation_is_watched_to_its_end(clock):
    failing = Job(clock, n=0, start=0.0, end=60.0, fail_at=3.0)
    long = Job(clock, n=1, start=0.0, end=120.0)
    code, _, display = watch(clock, track([failing, long]))
    assert code == ExitCode.FAILED
    assert display.outcome == "done"
    assert long.seen[-1] is Status.COMPLETED


def test_fail_fast_on_an_auth_error_exits_4(clock):
    refused = Job(clock, n=0, script={1: AuthError("401")})
    long = Job(clock, n=1, start=0.0, end=600.0)
    code, _, display = watch(clock, track([refused, long]), fail_fast=True)
    assert code == ExitCode.AUTH
    assert display.outcome == "fail-fast"
    assert len(long.calls) <= 1


def test_only_changes_are_reported_as_changed(clock):
    """The display is told `changed` only when the operation's content differs from last time
    (what the NDJSON writer and the live view rely on to stay quiet)."""
    job = Job(clock, start=20.0, end=25.0)
    code, _, display = watch(clock, track([job]), interval=1.0)
    assert code == ExitCode.OK
    flags = [e.changed for e in display.of("op0")]
    states = [(s, job.state(t).processed_rows) for s, t in zip(job.seen, job.calls, strict=True)]
    expected = [i == 0 or states[i] != states[i - 1] for i in range(len(states))]
    assert flags == expected
    assert flags.count(False) >= 15  # the queued stretch was not reported again and again


def test_polling_threads_are_a_small_fixed_pool(clock):
    """However many operations and however slow the server, at most WORKERS polls are out at
    once (issue 14: a small fixed pool, not a pool that grows with latency). (Real sleeps:
    the fetches take real time, which the fake clock cannot stand for.)"""
    import threading
    import time as real_time

    from bulkop.watch.engine import WORKERS

    in_flight = 0
    most = 0
    lock = threading.Lock()

    def slow(job: Job) -> Callable[[], BulkOperation]:
        def fetch() -> BulkOperation:
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            real_time.sleep(0.02)
            with lock:
                in_flight -= 1
            return job()

        return fetch

    jobs = [Job(clock, n=i, start=0.0, end=3.0) for i in range(16)]
    ops = track(jobs)
    for op, job in zip(ops, jobs, strict=True):
        op.fetch = slow(job)
    code, _, _ = watch(clock, ops, interval=1.0)
    assert code == ExitCode.OK
    assert 1 < most <= WORKERS


class Stuck:
    """A fetch that never answers until released (a server that trickles forever)."""

    def __init__(self) -> None:
        import threading

        self.calls = 0
        self.release = threading.Event()

    def __call__(self) -> BulkOperation:
        self.calls += 1
        self.release.wait(60)
        raise ApiUnavailable("released")


class TickingDisplay(RecordingDisplay):
    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[float] = []

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        self.ticks.append(now)


@pytest.mark.parametrize("stuck_first", [True, False])
def test_a_stuck_poll_holds_neither_other_answers_nor_the_ticks(clock, stuck_first):
    """Issue 12 #3: one operation's poll never returns; the other is reported as soon as it
    ends, the loop keeps ticking (heartbeats) to --timeout, and the stuck one is never polled
    again while its poll is out."""
    stuck = Stuck()
    job = Job(clock, n=1, start=0.0, end=3.0)
    ops = track([stuck, job] if stuck_first else [job, stuck])  # type: ignore[list-item]
    display = TickingDisplay()
    watcher = Watcher(
        ops, WatchConfig(interval=1.0, timeout=20.0), display, now=clock.now, sleep=clock.sleep, grace=0.01
    )
    try:
        code = watcher.run()
    finally:
        stuck.release.set()
    assert code == ExitCode.TIMEOUT
    fast = next(t for t in ops if t.fetch is job)
    assert fast.done and fast.verdict is not None and fast.verdict.kind.value == "completed"
    done_at = [e.now for e in display.of(fast.key) if e.kind == "observed"][-1]
    assert done_at <= 3.0 + 1.0 + EPS  # seen within one interval of its end, not at --timeout
    assert stuck.calls == 1
    assert display.ticks and max(display.ticks) >= 19.0  # the loop ticked on while it waited
    assert all(b - a <= 1.0 + EPS for a, b in zip(display.ticks, display.ticks[1:], strict=False))
    slow = next(t for t in ops if t.fetch is stuck)
    assert slow.verdict is not None and slow.verdict.kind.value == "timed_out"


def test_heartbeat_lines_come_while_every_poll_is_stuck(clock):
    """The lines view's 60 s heartbeat is a promise: it holds while no poll ever answers."""
    import io
    from datetime import UTC, datetime

    from bulkop.watch.lines import LinesDisplay

    stuck = Stuck()
    out = io.StringIO()
    display = LinesDisplay(out, lambda: datetime(2026, 1, 1, tzinfo=UTC))
    ops = track([stuck])  # type: ignore[list-item]
    watcher = Watcher(
        ops, WatchConfig(interval=1.0, timeout=130.0), display, now=clock.now, sleep=clock.sleep, grace=0.01
    )
    try:
        code = watcher.run()
    finally:
        stuck.release.set()
    assert code == ExitCode.TIMEOUT
    lines = out.getvalue().splitlines()
    assert sum(" waiting" in line for line in lines) >= 2, lines  # at 60 s and 120 s


# --------------------------------------------------------------------------- the polling pool


def _run_pool(job_seconds: float, jobs: int, watch_for: float) -> tuple[int, int]:
    """Submit `jobs` jobs of `job_seconds` each to a pool of at most 6 starting with 2, call
    keep_up() as the watch loop does; return (workers at the end, most jobs running at once)."""
    import queue
    import threading
    import time

    from bulkop.pool import DaemonPool

    running = peak = 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(job_seconds)
        with lock:
            running -= 1

    results: queue.SimpleQueue[tuple[object, object]] = queue.SimpleQueue()
    pool = DaemonPool(6, results, start=2)  # the maximum is a parameter: 6 here
    for n in range(jobs):
        pool.submit(n, job)
    end = time.monotonic() + watch_for
    while time.monotonic() < end:
        pool.keep_up()
        time.sleep(0.02)
    for _ in range(jobs):
        results.get(timeout=30)
    pool.shutdown()
    return pool.workers, peak


def test_the_pool_grows_while_polls_wait_for_a_worker():
    # A slow API: twelve polls of 0.5 s each would take 3 s on two threads; they wait, so the
    # pool grows (one thread per BEHIND seconds of waiting) up to its maximum.
    workers, peak = _run_pool(job_seconds=0.5, jobs=12, watch_for=1.0)
    assert workers == 6
    assert peak > 2


def test_the_pool_stays_small_while_it_keeps_up():
    # A fast API: the polls never wait long for one of the two threads, so no third is started.
    workers, peak = _run_pool(job_seconds=0.0, jobs=20, watch_for=0.5)
    assert workers == 2
    assert peak <= 2


def test_the_pool_stays_small_when_polls_wait_for_the_cpu_not_the_network():
    # Many fast polls at once (1,000 operations): they wait for a thread, but each takes 10 ms,
    # so more threads would only share the CPU; the pool does not grow.
    workers, _ = _run_pool(job_seconds=0.01, jobs=150, watch_for=0.6)
    assert workers == 2


def test_the_collector_is_off_while_a_process_starts_and_back_on_for_a_long_run():
    import subprocess
    import sys

    from conftest import minimal_env

    code = (
        "import gc, bulkop.collector as c\n"
        "c.hold()\n"
        "assert not gc.isenabled()\n"
        "c.long_running()\n"
        "assert gc.isenabled() and gc.get_freeze_count() > 0\n"
    )
    subprocess.run([sys.executable, "-c", code], env=minimal_env(), check=True, timeout=60)


def test_long_running_leaves_an_in_process_caller_s_collector_alone():
    import gc

    from bulkop.collector import long_running

    frozen = gc.get_freeze_count()
    long_running()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_pool_grows_past_requests_that_never_come_back():
    # A server that holds every request: none completes to tell how slow it is, but the ones
    # in flight are already slow, so the polls waiting behind them get threads of their own.
    workers, peak = _run_pool(job_seconds=2.0, jobs=4, watch_for=0.8)
    assert workers == 4
    assert peak == 4
