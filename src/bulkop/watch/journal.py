"""The journal's part in a watch: operations piped in recorded before the first poll, each
operation's rate seeded from its samples, and a display that records each batch of
observations in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bulkop.journal import Journal, Seen, host_of, seed_rate, seen_in_json, seen_json, seen_op
from bulkop.watch.engine import Display, Tracked

if TYPE_CHECKING:
    from bulkop.context import Context

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
        batch, self._pending = list(self._pending.values()), {}
        if not batch or not self.journal.enabled:  # (one that broke mid-watch has said so once)
            return
        wall = self.wall()
        offset = None if self.mono is None else wall - self.mono()  # watch clock → epoch
        self.journal.record(
            [
                seen_op(op, profile=profile, host=host, observed_at=None if offset is None else at + offset)
                for op, profile, host, at in batch
            ],
            wall,
        )


def seed_watch(ctx: Context, targets: Sequence[Any], tracked: Sequence[Any]) -> Any:
    """Before a watch's first poll: seed each operation's rate from the journal's samples and
    return the Display that records every batch of observations."""
    journal = ctx.journal()
    if not journal.enabled:
        return Display()  # nothing to seed from, nothing to record: a view that hears no event
    where = {}
    wall, mono = ctx.wall().timestamp(), ctx.now()
    by_key = {f"{t.profile or ''}:{t.id}": t for t in targets}
    for tr in tracked:
        target = by_key.get(tr.key)
        if target is None:
            continue
        where[tr.key] = (target.settings.provider, host_of(target.settings.base_url))
        # seed_rate reads only the consistent, recent running phase
        key = Seen(target.profile, target.settings.provider, where[tr.key][1], target.id)
        seed_rate(tr.rate, journal.samples(key), mono_now=mono, wall_now=wall)
    # Samples are stamped with the time of the poll that saw them (on the watch's clock, moved
    # to the epoch when written), so several watches writing at once agree.
    return JournalView(journal, where, lambda: ctx.wall().timestamp(), ctx.now)


def record_piped(ctx: Context, text: str, targets: Sequence[Any]) -> None:
    """`watch -`: record the operations read from stdin (with what a bulk endpoint's JSON says
    of them) before the first poll, so an interrupted watch leaves them in the journal."""
    if not text.strip():
        return
    from bulkop.watch.command import read_ids  # watch.command imports this module

    objects: list[dict[str, Any]] = []
    for chunk in [text, *text.splitlines()]:
        try:
            objects += seen_in_json(json.loads(chunk))
        except (ValueError, RecursionError):
            continue
        if chunk is text:
            break
    by_id: dict[str, dict[str, Any]] = {}
    for data in objects:
        by_id.setdefault(str(data["id"]).strip().lower(), data)
    piped = {raw.strip() for raw in read_ids(text)}
    seen = []
    for t in targets:
        if t.label.strip() not in piped:
            continue
        data = by_id.get(str(t.id).lower(), {})
        host = host_of(t.settings.base_url)
        seen.append(seen_json(data, profile=t.profile, provider=t.settings.provider, host=host, op_id=t.id))
    if seen:
        ctx.journal().record(seen, ctx.wall().timestamp(), samples=False)
