"""`bulkop list`: the operations in the journal, newest first; and the journal's hooks into
get, status and watch (record what was fetched, `@last`, `--unfinished`, re-attach)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bulkop.context import Context
from bulkop.errors import BulkopError, UsageError, most_severe
from bulkop.journal import UNFINISHED, Entry, Journal, host_of, seen_op
from bulkop.models import BulkOperation
from bulkop.render.jsonout import dumps

LAST = "@last"
DEFAULT_LIMIT = 50


@dataclass
class Options:
    statuses: list[str] = field(default_factory=list)
    profile: str | None = None
    since: float | None = 7 * 86400.0  # seconds back from now; None: all
    limit: int | None = DEFAULT_LIMIT
    output: str | None = None  # table | text | json | jsonl; None: table in a terminal, else text
    refresh: bool = False
    flags: dict[str, Any] = field(default_factory=dict)


def run(opts: Options, ctx: Context) -> int:
    journal: Journal = ctx.journal()
    now = ctx.wall().timestamp()
    since = None if opts.since is None else now - opts.since
    profile = opts.profile or ctx.profile
    if profile is not None:
        check_profile(profile, journal, ctx)
    codes: list[int] = []
    if opts.refresh:
        stale = journal.entries(since=since, statuses=UNFINISHED, profile=profile)
        codes = _refresh(stale, opts.flags, ctx)
    entries = journal.entries(since=since, statuses=opts.statuses, profile=profile, limit=opts.limit)
    output = opts.output or ("table" if ctx.isatty(ctx.stdout) else "text")
    out = ctx.stdout
    if output == "json":
        out.write(dumps([e.to_json() for e in entries], indent=2) + "\n")
    elif output == "jsonl":
        for e in entries:
            out.write(dumps(e.to_json()) + "\n")
    elif entries and output == "text":
        from bulkop.render.journal import entries_text

        out.write(entries_text(entries, now) + "\n")
    elif entries:
        from bulkop.render.journal import entries_table

        console = ctx.console(out)
        console.print(entries_table(entries, ctx.wall(), width=console.width))
    if not entries and output in ("table", "text"):
        why = _nothing(opts, profile, since) if journal.path is not None else _journal_off(ctx)
        ctx.stderr.write(f"bulkop: {why}\n")
    out.flush()
    return most_severe(codes)


def _journal_off(ctx: Context) -> str:
    """Why nothing can be listed when the journal is off: which switch turned it off."""
    if ctx.no_journal:
        switch = "--no-journal"
    elif ctx.env.get("BULKOP_NO_JOURNAL"):
        switch = "BULKOP_NO_JOURNAL"
    else:
        switch = "`journal = false` in the config file"
    return f"the journal is off ({switch}), so there is nothing to list"


def _nothing(opts: Options, profile: str | None, since: float | None) -> str:
    """Why the list is empty, on stderr (stdout stays empty for scripts)."""
    what = "no operations"
    if opts.statuses:
        what += " " + " or ".join(repr(s) for s in opts.statuses)
    what += f" seen through profile {profile!r}" if profile is not None else " in the journal"
    return what + (" (try --since all)" if since is not None else "")


def check_profile(profile: str, journal: Journal, ctx: Context) -> None:
    """`--profile NAME` must name a profile of the config or one the journal has seen: a typo is
    a usage error with a did-you-mean, not an empty list."""
    from bulkop.settings import known_profiles

    configured = set(ctx.config().profiles)
    if profile in configured or not journal.enabled:
        return
    seen = journal.profiles()
    if profile in seen:
        return
    names = {name: None for name in sorted(configured | seen)}
    raise UsageError(f"unknown profile {profile!r} ({known_profiles(profile, names)})", hint="bulkop config list")


def _refresh(entries: list[Entry], flags: dict[str, Any], ctx: Context) -> list[int]:
    """Fetch the unfinished entries again (those the current settings can reach); record them."""
    from bulkop.commands.get import fetch_all
    from bulkop.commands.targets import resolve_targets

    refs = reachable(entries, flags, ctx)
    if not refs:
        return []
    targets = resolve_targets(refs, flags, ctx)
    results = fetch_all(targets)
    record_seen(ctx, targets, results)
    codes: list[int] = []
    for r in results:
        if isinstance(r, BulkopError):
            ctx.report(r)
            codes.append(r.exit_code)
    return codes


def reachable(entries: Sequence[Entry], flags: dict[str, Any], ctx: Context) -> list[str]:
    """The refs of entries that the settings of their profile point at (same provider and host):
    an id is never sent, with credentials, to an account other than the one it was seen on."""
    profiles = ctx.config().profiles
    refs = []
    account: dict[str | None, tuple[str, str] | None] = {}
    for e in entries:
        if e.profile is not None and e.profile not in profiles:
            continue
        if e.profile not in account:
            try:
                s = ctx.settings(flags, e.profile)
                account[e.profile] = (s.provider, host_of(s.base_url))
            except BulkopError:
                account[e.profile] = None
        if account[e.profile] == (e.provider, e.host):
            refs.append(e.ref)
    return refs


# --------------------------------------------------------------------------- hooks


def record_seen(ctx: Context, targets: Sequence[Any], results: Sequence[Any]) -> None:
    """Record what `get`/`status` fetched (Target, result pairs; errors are skipped)."""
    seen = [
        seen_op(r, profile=t.profile, host=host_of(t.settings.base_url))
        for t, r in zip(targets, results, strict=False)
        if isinstance(r, BulkOperation)
    ]
    if seen:
        ctx.journal().record(seen, ctx.wall().timestamp())


def expand_refs(ids: Sequence[str], ctx: Context) -> list[str]:
    """`@last` → the most recently seen operation (as PROFILE:ID when it was seen through one)."""
    if LAST not in (i.strip() for i in ids):
        return list(ids)
    journal = ctx.journal()
    latest = journal.entries(limit=1)
    if not latest:
        why = "the journal is off" if not journal.enabled else "the journal holds no operation yet"
        raise UsageError(f"{LAST} names the most recent operation, but {why}", hint="give an operation id")
    entry = latest[0]
    ref = entry.ref if entry.profile in ctx.config().profiles else entry.id
    return [ref if i.strip() == LAST else i for i in ids]


def unfinished_refs(since: float, flags: dict[str, Any], ctx: Context) -> list[str]:
    """`watch --unfinished`: every operation last seen queued or processing within `since` s."""
    entries = ctx.journal().entries(since=ctx.wall().timestamp() - since, statuses=UNFINISHED)
    return reachable(entries, flags, ctx)


def show_history(ctx: Context, target: Any, op: BulkOperation) -> None:
    """`get` in a terminal: throughput over the operation's own running interval (its start
    and end as the server says them, else the sampled span) from the journal's samples."""
    from bulkop.journal import Seen, consistent_series, running_series
    from bulkop.render.journal import throughput_view

    journal = ctx.journal()
    if not journal.enabled or not ctx.isatty(ctx.stdout):
        return
    key = Seen(target.profile, target.settings.provider, host_of(target.settings.base_url), target.id)
    end = op.completed_at or op.failed_at
    series, n = running_series(
        consistent_series(journal.samples(key), now=ctx.wall().timestamp()),
        started_at=None if op.started_at is None else op.started_at.timestamp(),
        ended_at=None if end is None else end.timestamp(),
        final_rows=op.processed_rows,
    )
    view = throughput_view(series, samples=n)
    if view is not None:
        ctx.console(ctx.stdout).print(view)
