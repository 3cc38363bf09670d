"""DaemonPool: a few daemon threads that run jobs and queue each result as it is ready.

Used by the watch engine (bulkop.watch.engine) and by `get` with several ids; its own module so
that `get` loads none of the watch package.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

START_WORKERS = 2  # polling threads at first; more only when polls wait for one
BEHIND = 0.1  # seconds polls may wait for a free worker before the pool grows by one
SLOW = 0.05  # seconds per request from which waiting polls are the network's doing, not the CPU's


class DaemonPool:
    """A small set of daemon worker threads; each result goes to `results` as it is ready.

    Unlike ThreadPoolExecutor's workers, daemon threads never hold up the process's exit: a
    request stuck in the network must not delay a --timeout, Ctrl-C or SIGTERM. Results come
    back through a queue one by one, so nobody ever waits for the slowest of a batch.

    It starts with `start` workers and adds one (up to `workers`) only when polls have waited
    for a free worker for BEHIND seconds while requests take SLOW or longer: polls that wait
    behind a slow API need more threads (their time goes to the network); polls that wait behind
    a fast one are waiting for the CPU, where more threads only fight for the interpreter
    (bench/README.md, "Measurements behind the code", has the figures).
    """

    def __init__(self, workers: int, results: queue.SimpleQueue[tuple[Any, Any]], start: int = START_WORKERS) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, Callable[[], Any]] | None] = queue.SimpleQueue()
        self.results = results
        self.max_workers = workers
        self.workers = 0
        self._lock = threading.Lock()
        self._waiting = 0  # jobs submitted and not yet taken by a worker
        self._behind_since: float | None = None
        self.latency = 0.0  # seconds a request takes, a moving average over recent ones
        self._began: dict[int, float] = {}  # worker → when its request in flight began
        for _ in range(max(1, min(start, workers))):
            self._start()

    def _start(self) -> None:
        threading.Thread(target=self._work, name=f"bulkop-poll-{self.workers}", daemon=True).start()
        self.workers += 1

    def submit(self, key: Any, fn: Callable[[], Any]) -> None:
        """Run `fn` on a worker; `(key, its result or the exception it raised)` is queued."""
        with self._lock:
            self._waiting += 1
        self._jobs.put((key, fn))

    def keep_up(self) -> None:
        """One more worker when polls have been waiting for one for BEHIND (real) seconds."""
        if self.workers >= self.max_workers:
            return
        now = time.monotonic()
        # Slow: recent requests took SLOW, or one in flight has already (a hung server).
        slow = self.latency >= SLOW or any(now - began >= SLOW for began in list(self._began.values()))
        if self._waiting <= 0 or not slow:
            self._behind_since = None
        elif self._behind_since is None:
            self._behind_since = now
        elif now - self._behind_since >= BEHIND:
            self._start()
            self._behind_since = now

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            with self._lock:
                self._waiting -= 1
            key, fn = item
            began = self._began[threading.get_ident()] = time.monotonic()
            try:
                result = fn()
            except BaseException as e:  # handed to the reader of the results, never lost
                result = e
            self._began.pop(threading.get_ident(), None)
            self.latency += (time.monotonic() - began - self.latency) * 0.2
            self.results.put((key, result))

    def shutdown(self) -> None:
        """Let idle workers end; a worker stuck in the network is a daemon and is left behind."""
        for _ in range(self.workers):
            self._jobs.put(None)


def _boxed(call: Callable[[], T]) -> tuple[T]:
    """The call's value in a 1-tuple: a value comes back boxed, an exception it raised bare."""
    return (call(),)


def fetch_each(calls: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Every call at once on up to `workers` daemon threads; the results in the order given.

    A call returns its outcome (an operation, or the BulkopError it met); anything it raises is
    a bug and is raised here, not lost. The caller waits on a queue, so Ctrl-C and SIGTERM stop
    it at once, whatever the network does (an executor would join its workers, held by a
    server that never answers, before the process could exit).
    """
    if len(calls) <= 1:
        return [call() for call in calls]
    answers: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
    size = max(1, min(workers, len(calls)))
    pool = DaemonPool(size, answers, start=size)  # every request at once, from the start
    for i, call in enumerate(calls):
        pool.submit(i, functools.partial(_boxed, call))
    pool.shutdown()
    results: dict[int, T] = {}
    while len(results) < len(calls):
        i, answer = answers.get()
        if isinstance(answer, BaseException):
            raise answer
        results[i] = answer[0]
    return [results[i] for i in range(len(calls))]
