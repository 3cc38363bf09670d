"""`bulkop watch`: poll operations to their end; live view in a terminal, lines in CI, NDJSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bulkop.commands.list import unfinished_refs
from bulkop.commands.targets import Target, resolve_targets
from bulkop.context import Context
from bulkop.errors import BulkopError, UsageError, WatchTimeout
from bulkop.models import BulkOperation
from bulkop.watch.engine import Display, Displays, RateLimiter, Tracked, WatchConfig, Watcher
from bulkop.watch.journal import record_piped, seed_watch

if TYPE_CHECKING:
    from bulkop.conditions import Conditions


@dataclass
class Options:
    ids: list[str]
    output: str = "text"  # text | json (NDJSON on stdout)
    display: str | None = None  # live | lines | quiet; None: live in a terminal, else lines
    fail_fast: bool = False
    flags: dict[str, Any] = field(default_factory=dict)
    unfinished: bool = False  # add every unfinished operation in the journal seen within `since`
    since: float = 86400.0
    next_step: str | None = None  # instead of each failure's next command (`bulkop demo`)
    conditions: Conditions | None = None  # --until / --fail-if, compiled (bulkop.conditions.parse)


def read_ids(text: str) -> list[str]:
    """Ids from stdin: one per line, or what a Knock bulk endpoint returns (an object, a list,
    or lines of objects), so `curl -X POST … | bulkop watch -` works."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except (ValueError, RecursionError):
        whole = None
    if whole is not None:
        return _ids_from_json(whole)
    ids: list[str] = []
    for n, line in enumerate(stripped.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("{", "[")):
            try:
                ids += _ids_from_json(json.loads(line))
            except (ValueError, RecursionError):
                raise UsageError(
                    f"stdin line {n} is not valid JSON", hint="give one id per line, or BulkOperation JSON"
                ) from None
        else:
            ids.append(line)
    return ids


def _ids_from_json(data: Any) -> list[str]:
    items = data if isinstance(data, list) else [data]
    ids = []
    for item in items:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            ids.append(item["id"])
        elif isinstance(item, dict) and isinstance(item.get("bulk_operation"), dict):
            ids += _ids_from_json(item["bulk_operation"])
        else:
            raise UsageError("stdin JSON has no operation id", hint='expected a BulkOperation object with an "id"')
    return ids


def run(opts: Options, ctx: Context) -> int:
    given, piped = list(opts.ids), list[str]()
    if opts.unfinished and not (given := given + unfinished_refs(opts.since, opts.flags, ctx)):
        ctx.stderr.write("bulkop: no unfinished operations in the journal\n")
        return 0
    ids = _collect_ids(given, ctx, piped)
    targets = resolve_targets(ids, opts.flags, ctx)
    record_piped(ctx, "\n".join(piped), targets)  # before the first poll
    settings = targets[0].settings
    config = WatchConfig(
        interval=settings.interval,
        timeout=settings.timeout,
        max_errors=settings.max_errors,
        max_consecutive_failures=max(1, settings.max_consecutive_failures),
        fail_fast=opts.fail_fast,
        conditions=opts.conditions,
    )
    mode = _mode(opts, ctx)
    views = _views(mode, opts, ctx)
    if opts.conditions is not None:
        opts.conditions.warn = _warner(ctx)
    tracked = track(targets, ctx.now())
    for t in tracked:
        t.next_step = opts.next_step
    views.append(seed_watch(ctx, targets, tracked))  # rate from the journal; record
    watcher = Watcher(
        tracked,
        config,
        Displays(views),
        now=ctx.now,
        sleep=ctx.sleep,
        tick_every=0.25 if mode == "live" else 1.0,
    )
    from bulkop.errors import ExitCode, Terminated

    try:
        code = watcher.run()
    except (KeyboardInterrupt, Terminated) as e:
        # The one `bulkop: interrupted` (or `terminated`) line, with the one next step: how to
        # pick up again.
        word, stop = (
            ("terminated", ExitCode.TERMINATED) if isinstance(e, Terminated) else ("interrupted", ExitCode.INTERRUPTED)
        )
        resume = _resume_command(watcher.ops, opts, ctx)
        ctx.stderr.write(f"bulkop: {word}" + (f"; resume with: {resume}" if resume else "") + "\n")
        ctx.stderr.flush()
        return int(stop)
    if watcher.timed_out:
        left = sum(1 for t in watcher.ops if not t.done)
        ctx.report(
            WatchTimeout(
                f"timed out after {settings.values['timeout'].value:g}s with {left} operation"
                f"{'s' if left != 1 else ''} not finished",
                hint="raise --timeout, or check the operation with `bulkop get`",
            )
        )
    if mode != "lines":  # the lines view has already said it, in its place
        from bulkop.render.watch_common import full_id, verdict_line

        for t in watcher.ops:
            if t.error is not None:
                # One `bulkop: error:` line, as every command reports an error, naming the
                # operation when the message does not (one of several may be the one).
                op_id = full_id(t)
                if op_id not in t.error.message:
                    t.error.message = f"{op_id}: {t.error.message}"
                ctx.report(t.error)
            elif mode == "quiet" and (line := verdict_line(t)) and not _until_met(t):
                # Quiet is silent about a success, --until's too; the live view said it below
                # its frame.
                ctx.stderr.write(f"bulkop: {line}\n")
        ctx.stderr.flush()
    return code


def _until_met(t: Tracked) -> bool:
    from bulkop.verdict import Kind

    return t.verdict is not None and t.verdict.kind is Kind.UNTIL_MET


def _warner(ctx: Context) -> Callable[[str], None]:
    """A warning during the watch: above the live frame (not through it), else on stderr."""

    def warn(message: str) -> None:
        if ctx.debug_sink is not None:
            from bulkop.sanitize import clean_message

            ctx.debug_sink(f"bulkop: warning: {clean_message(message)}")
        else:
            ctx.warn(message)
            ctx.stderr.flush()

    return warn


RESUME_IDS = 5  # a resume hint lists this many ids at most


def _resume_command(ops: Sequence[Tracked], opts: Options, ctx: Context) -> str | None:
    """How to watch again what was left, as a command that works: the journal's
    `watch --unfinished` when the journal holds every one of them as unfinished (not when
    it is off, nor when one was never answered), else the ids themselves. None where no
    command works (`bulkop demo`)."""
    if opts.next_step is not None:
        return None
    left = [t for t in ops if not t.done] or list(ops)
    if _journal_keeps_unfinished(left, opts, ctx):
        profiles = {t.hint_profile for t in left}
        where = f"-p {profiles.pop()} " if len(profiles) == 1 and None not in profiles else ""
        return f"bulkop {where}watch --unfinished"
    refs = [f"{t.hint_profile}:{t.op_id}" if t.hint_profile else t.op_id for t in left]
    if len(refs) <= RESUME_IDS:
        return "bulkop watch " + " ".join(refs)
    shown = " ".join(refs[:RESUME_IDS])
    return f"bulkop watch {shown} and the other {len(refs) - RESUME_IDS} ids ({len(refs):,} operations not finished)"


def _journal_keeps_unfinished(left: Sequence[Tracked], opts: Options, ctx: Context) -> bool:
    """Whether `bulkop watch --unfinished` (its default --since) would watch every one of them."""
    try:
        if not ctx.journal().enabled:
            return False
        from bulkop.commands.list import unfinished_refs

        kept = set(unfinished_refs(DEFAULT_SINCE, opts.flags, ctx))
    except Exception:  # a journal that cannot be read now (busy, damaged): the ids say it surely
        return False
    return all((f"{t.profile}:{t.op_id}" if t.profile else t.op_id) in kept for t in left)


DEFAULT_SINCE = 86400.0  # `watch --unfinished` without --since: seen within 24 hours


def _collect_ids(given: list[str], ctx: Context, piped: list[str] | None = None) -> list[str]:
    ids: list[str] = []
    for raw in given:
        if raw == "-":
            if ctx.isatty(ctx.stdin):
                raise UsageError(
                    "`-` reads ids from stdin, but stdin is a terminal",
                    hint="pipe ids in, e.g. `echo $ID | bulkop watch -`",
                )
            text = read_stdin(ctx, _stdin_cap(ctx))
            from_stdin = read_ids(text)
            if not from_stdin:
                raise UsageError(
                    "stdin had no operation ids (it was empty, or only blank lines and comments)",
                    hint="pipe one id per line, or BulkOperation JSON, e.g. `echo $ID | bulkop watch -`",
                )
            ids += from_stdin
            if piped is not None:
                piped.append(text)
        else:
            ids.append(raw)
    if not ids:
        raise UsageError("no operation ids given", hint="pass ids as arguments, or `-` to read them from stdin")
    ids = list(dict.fromkeys(raw.strip() for raw in ids))  # `yes $ID | bulkop watch -`: one operation
    if len(ids) > MAX_OPERATIONS:
        raise UsageError(
            f"{len(ids):,} distinct operation ids given; watch follows at most {MAX_OPERATIONS:,}",
            hint="split them across several `bulkop watch` runs",
        )
    return ids


# One watch follows at most this many operations; stdin is read up to the body cap
# (max_body_size, BULKOP_MAX_BODY_SIZE), so `yes $ID | bulkop watch -` cannot grow without end.
MAX_OPERATIONS = 10_000
_STDIN_CHUNK = 1 << 16


def _stdin_cap(ctx: Context) -> int:
    from bulkop.settings import BY_NAME

    try:
        return int(ctx.settings().max_body_size)
    except BulkopError:  # a bad setting is reported where it is used; cap stdin by the default
        return int(BY_NAME["max_body_size"].default)


def read_stdin(ctx: Context, cap: int) -> str:
    """All of stdin, read in chunks (a signal ends the wait), refused beyond `cap` bytes.
    A UTF-8 byte order mark before the first id is not part of it."""
    chunks: list[str] = []
    size = 0
    while chunk := ctx.stdin.read(_STDIN_CHUNK):
        size += len(chunk.encode("utf-8", "surrogateescape"))
        if size > cap:
            raise UsageError(
                f"stdin holds more than {cap:,} bytes of ids (the cap is max_body_size)",
                hint="pipe fewer ids, or raise BULKOP_MAX_BODY_SIZE",
            )
        chunks.append(chunk)
    return "".join(chunks).removeprefix("\ufeff")


def track(targets: list[Target], now: float) -> list[Tracked]:
    """One Tracked per distinct operation; one rate limit (RateLimiter) per profile."""
    buckets: dict[str | None, RateLimiter] = {}
    tracked: dict[str, Tracked] = {}
    for target in targets:
        key = f"{target.profile or ''}:{target.id}"
        if key in tracked:
            continue  # the same operation named twice is watched once
        if target.profile not in buckets:
            buckets[target.profile] = RateLimiter(target.settings.max_rps, now)
        tracked[key] = Tracked(
            key=key,
            label=target.label if target.profile is None else f"{target.profile}:{target.id}",
            profile=target.profile,
            hint_profile=target.explicit_profile,
            op_id=target.id,
            fetch=_fetcher(target),
            bucket=buckets[target.profile],
        )
    return list(tracked.values())


def _fetcher(target: Target) -> Callable[[], BulkOperation]:
    client, op_id = target.client, target.id

    def fetch() -> BulkOperation:
        # The watcher owns retries during a watch (backoff, Retry-After for the whole profile).
        return client.get(op_id, retries=0)

    return fetch


def _mode(opts: Options, ctx: Context) -> str:
    """live, lines or quiet: --display, else live in a terminal and lines elsewhere."""
    if opts.display is not None:
        return opts.display
    return "live" if ctx.isatty(ctx.stderr) and not ctx.in_ci and ctx.env.get("TERM") != "dumb" else "lines"


def _views(mode: str, opts: Options, ctx: Context) -> list[Display]:
    """The on-screen view of `mode` (none when quiet), and the NDJSON writer under -o json."""
    views: list[Display] = []
    if mode == "live":
        from bulkop.watch.live import LiveDisplay

        live = LiveDisplay(ctx.console(ctx.stderr), ctx.wall)
        ctx.debug_sink = live.log
        views.append(live)
    elif mode == "lines":
        from bulkop.watch.lines import LinesDisplay

        github = ctx.env.get("GITHUB_ACTIONS", "").lower() == "true"
        views.append(
            LinesDisplay(ctx.stderr, ctx.wall, github=github, step_summary=ctx.env.get("GITHUB_STEP_SUMMARY") or None)
        )
    if opts.output == "json":
        from bulkop.watch.ndjson import JsonLinesDisplay

        views.append(JsonLinesDisplay(ctx))
    return views
