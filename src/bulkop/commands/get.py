"""`bulkop get`: fetch operations and show them as a Rich view, plain text, JSON or JSON lines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bulkop.commands.list import record_seen, show_history
from bulkop.commands.targets import Target, outcome_code, resolve_targets
from bulkop.context import Context
from bulkop.errors import BulkopError, most_severe
from bulkop.models import BulkOperation
from bulkop.render.jsonout import dumps

MAX_CONCURRENCY = 8


@dataclass
class Options:
    ids: list[str]
    output: str | None = None  # table | text | json | jsonl; None: table in a terminal, else text
    all_errors: bool = False
    exit_status: bool = False
    flags: dict[str, Any] = field(default_factory=dict)


def run(opts: Options, ctx: Context) -> int:
    targets = resolve_targets(opts.ids, opts.flags, ctx)
    results = fetch_all(targets)
    found = [r for r in results if isinstance(r, BulkOperation)]
    output = opts.output or ("table" if ctx.isatty(ctx.stdout) else "text")
    if found:
        write(found, output, opts, ctx)
    record_seen(ctx, targets, results)  # after the output: a busy journal never delays it
    if found and output == "table" and len(targets) == 1:
        show_history(ctx, targets[0], found[0])
    codes = []
    for r in results:
        if isinstance(r, BulkopError):
            ctx.report(r)
            codes.append(r.exit_code)
        elif opts.exit_status:
            codes.append(outcome_code(r))
    return most_severe(codes)


def fetch_all(targets: list[Target]) -> list[BulkOperation | BulkopError]:
    """Fetch concurrently (bounded), keeping the order given; one failure hides no other."""

    def one(t: Target) -> BulkOperation | BulkopError:
        try:
            return t.client.get(t.id)
        except BulkopError as e:
            return e

    if len(targets) <= 1:
        return [one(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENCY, len(targets))) as pool:
        return list(pool.map(one, targets))


def write(ops: list[BulkOperation], output: str, opts: Options, ctx: Context) -> None:
    out = ctx.stdout
    if output == "json":
        data = ops[0].to_json() if len(opts.ids) == 1 else [op.to_json() for op in ops]
        out.write(dumps(data, indent=2) + "\n")
    elif output == "jsonl":
        for op in ops:
            out.write(dumps(op.to_json()) + "\n")
    elif output == "text":
        from bulkop.render.text import operation_text, operations_text

        now = ctx.wall()
        if len(ops) == 1:
            out.write(operation_text(ops[0], now, all_errors=opts.all_errors) + "\n")
        else:
            out.write(operations_text(ops) + "\n")
    else:
        from bulkop.render.table import TABLE_ITEMS_MAX, error_item_lines, operation_view, operations_table

        now = ctx.wall()
        console = ctx.console(out)
        if len(ops) == 1:
            console.print(operation_view(ops[0], now, all_errors=opts.all_errors))
        else:
            console.print(operations_table(ops, now))
        if opts.all_errors:
            _write_all_error_items(ops if len(ops) > 1 else [], console, out)
            if len(ops) == 1 and len(ops[0].error_items) > TABLE_ITEMS_MAX:
                _write_lines(error_item_lines(ops[0]), out)
    out.flush()


def _write_all_error_items(ops: list[BulkOperation], console: Any, out: Any) -> None:
    """--errors with several ids: each operation's items after the table."""
    from bulkop.render.table import TABLE_ITEMS_MAX, error_item_lines, error_items_table

    for op in ops:
        if len(op.error_items) > TABLE_ITEMS_MAX:
            _write_lines(error_item_lines(op), out)
        elif op.error_items:
            console.print(error_items_table(op, all_errors=True))


def _write_lines(lines: Any, out: Any, chunk: int = 4096) -> None:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            out.write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        out.write("\n".join(batch) + "\n")
