"""How a watch ends early (--fail-fast, --timeout): what each operation's verdict says is true.

The watch engine on an injected clock, with fetch functions of the test's own that answer
when the test lets them (threading events), so the order in which answers reach the watcher
is fixed, not left to thread timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from bulkop.errors import BulkopError, ExitCode
from bulkop.models import BulkOperation, Status
from bulkop.verdict import Kind
from bulkop.watch.engine import RateLimiter, Tracked, WatchConfig, Watcher
from helpers import FakeClock, operation

WAIT = 10.0  # real seconds a test waits for a thread at most (never reached when all is well)


class Held:
    """A fetch that answers `op` only once `release` is set (or never, if it is not)."""

    def __init__(self, op: BulkOperation) -> None:
        self.op = op
        self.release = threading.Event()

    def __call__(self) -> BulkOperation:
        self.release.wait(WAIT)
        return self.op


class Choreography:
    """A Display that lets the next answer through when it is told of one, and waits until
    that answer is in the watcher's queue before the watcher goes on."""

    def __init__(self, steps: dict[str, Held], clock: FakeClock | None = None, jump_at: str = "") -> None:
        self.steps = steps  # when the operation named by the key is observed, release this one
        self.clock, self.jump_at = clock, jump_at  # and when `jump_at` is, a minute passes
        self.watcher: Watcher | None = None
        self.outcome: str | None = None

    def _let_through(self, held: Held) -> None:
        assert self.watcher is not None
        held.release.set()
        give_up = time.monotonic() + WAIT
        while self.watcher._results.qsize() == 0 and time.monotonic() < give_up:
            time.sleep(0.001)

    def started(self, ops: Sequence[Tracked], now: float) -> None:
        pass

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        if self.clock is not None and t.key == self.jump_at:
            self.clock.t += 60.0
        if (held := self.steps.pop(t.key, None)) is not None:
            self._let_through(held)

    def failed_poll(self, t: Tracked, err: BulkopError, retry_in: float | None, now: float) -> None:
        pass

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        pass

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        self.outcome = outcome


def tracked(key: str, fetch: Held) -> Tracked:
    return Tracked(key=key, label=key, profile=None, fetch=fetch, bucket=RateLimiter(1000.0, 0.0))


def test_fail_fast_takes_the_answers_already_received_before_it_concludes():
    """`running` answers first; when it is seen, `failing` answers; when that failure is seen
    (the watch will stop), `done`'s answer is already in the queue: it completed, and its
    verdict says so, not "not finished, no longer watched". `silent` never answered: "not
    checked", which is true, where "not finished" would be a guess."""
    clock = FakeClock()
    running = Held(operation(0, Status.PROCESSING, 10))
    failing = Held(operation(1, Status.FAILED, 20, errors=3))
    done = Held(operation(2, Status.COMPLETED, 1000))
    silent = Held(operation(3, Status.COMPLETED, 1000))
    running.release.set()
    display = Choreography({"running": failing, "failing": done})
    ops = [tracked("running", running), tracked("failing", failing), tracked("done", done), tracked("silent", silent)]
    watcher = Watcher(ops, WatchConfig(fail_fast=True), display, now=clock.now, sleep=clock.sleep, grace=0.05)
    display.watcher = watcher
    try:
        code = watcher.run()
    finally:
        silent.release.set()
    assert display.outcome == "fail-fast"
    assert code == ExitCode.FAILED
    verdicts = {t.key: t.verdict for t in ops}
    assert all(v is not None for v in verdicts.values())
    assert verdicts["failing"].kind is Kind.FAILED  # type: ignore[union-attr]
    assert verdicts["done"].kind is Kind.COMPLETED, verdicts["done"]  # type: ignore[union-attr]
    assert verdicts["running"].kind is Kind.STOPPED  # type: ignore[union-attr]
    assert verdicts["running"].reason == "not finished, no longer watched: --fail-fast stopped the watch"  # type: ignore[union-attr]
    assert verdicts["silent"].kind is Kind.STOPPED  # type: ignore[union-attr]
    assert verdicts["silent"].reason == "not checked (--fail-fast stopped the watch)"  # type: ignore[union-attr]


def test_timeout_takes_the_answers_already_received_before_it_concludes():
    """The deadline passes while `done`'s answer waits in the queue: it completed, so it did
    not time out. (`running` answers, then `later`, whose answer brings the deadline and
    lets `done` answer.)"""
    clock = FakeClock()
    running = Held(operation(0, Status.PROCESSING, 10))
    later = Held(operation(1, Status.PROCESSING, 10))
    done = Held(operation(2, Status.COMPLETED, 1000))
    running.release.set()
    display = Choreography({"running": later, "later": done}, clock, jump_at="later")
    ops = [tracked("running", running), tracked("later", later), tracked("done", done)]
    watcher = Watcher(ops, WatchConfig(timeout=30), display, now=clock.now, sleep=clock.sleep, grace=0.05)
    display.watcher = watcher
    code = watcher.run()
    assert display.outcome == "timeout" and code == ExitCode.TIMEOUT
    assert ops[2].verdict is not None and ops[2].verdict.kind is Kind.COMPLETED, ops[2].verdict
    assert ops[0].verdict is not None and ops[0].verdict.kind is Kind.TIMED_OUT
