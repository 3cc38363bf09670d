"""The journal's watch display: each batch of observations recorded in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bulkop.journal import Journal, seen_op
from bulkop.watch.engine import Display, Tracked

FLUSH_EVERY = 2.0  # seconds of the watch's clock between journal writes while it runs


class JournalView(Display):
    """A watch Display that records each batch of observations in one transaction."""

    def __init__(
        self,
        journal: Journal,
        where: Mapping[str, tuple[str, str]],
        wall: Callable[[], float],
        mono: Callable[[], float] | None = None,
    ) -> None:
        self.journal = journal
        self.where = where  # Tracked.key → (provider, host)
        self.wall = wall
        self.mono = mono  # the watch's clock (the `now` of its events); None: observations at write time
        # Tracked.key → (the latest operation, profile, host, when it was observed on the
        # watch's clock): turned into rows only when written, so an operation polled many times
        # between two writes costs one row, sampled at the time of its poll.
        self._pending: dict[str, tuple[Any, str | None, str, float]] = {}
        self._flushed_at: float | None = None

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        where = self.where.get(t.key)
        if where is None or t.op is None:
            return
        # The count is the server's somewhere between the poll's request and its answer.
        sent = t.sent_at
        self._pending[t.key] = (t.op, t.profile, where[1], (sent + now) / 2 if 0 < sent <= now else now)

    def tick(self, ops: Sequence[Tracked], now: float) -> None:
        # The first observations at once, then at most one transaction per FLUSH_EVERY, an
        # operation's end included: the watch loop ticks many times a second, and a write per
        # tick (or per operation that ended, when many end close together) cost a thread and a
        # commit each, a sixth of watch's CPU per poll; a write a second doubled the CPU of a
        # watch of one operation. What is pending when the watch ends (or is stopped, SIGTERM
        # included) is written by finished(); kill -9 loses at most FLUSH_EVERY of samples.
        if self._pending and (self._flushed_at is None or now - self._flushed_at >= FLUSH_EVERY):
            self._flushed_at = now
            self.flush()

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        self.flush()

    def flush(self) -> None:
        if self._pending and not self.journal.enabled:  # it broke during the watch (it said so once)
            self._pending = {}
        if self._pending:
            batch, self._pending = list(self._pending.values()), {}
            wall = self.wall()
            offset = None if self.mono is None else wall - self.mono()  # watch clock → epoch
            self.journal.record(
                [
                    seen_op(op, profile=profile, host=host, observed_at=None if offset is None else at + offset)
                    for op, profile, host, at in batch
                ],
                wall,
            )
