"""`bulkop get`: fetch operations and show them as a Rich view, plain text, JSON or JSON lines."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from bulkop.commands.list import record_seen, show_history
from bulkop.commands.targets import Target, resolve_targets
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
    codes: list[int] = []
    for target, r in zip(targets, results, strict=True):
        if isinstance(r, BulkopError):
            ctx.report(r)
            codes.append(r.exit_code)
        elif opts.exit_status:
            from bulkop.commands.status import report_verdict
            from bulkop.verdict import of_operation

            verdict = of_operation(r)
            report_verdict(ctx, verdict, str(r.id), r.name, target.explicit_profile)
            codes.append(verdict.code)
    return most_severe(codes)


def fetch_all(targets: list[Target]) -> list[BulkOperation | BulkopError]:
    """Fetch concurrently (bounded), keeping the order given; one failure hides no other."""

    def one(t: Target) -> BulkOperation | BulkopError:
        try:
            return t.client.get(t.id)
        except BulkopError as e:
            return e

    from bulkop.pool import fetch_each

    return fetch_each([functools.partial(one, t) for t in targets], MAX_CONCURRENCY)


def write(ops: list[BulkOperation], output: str, opts: Options, ctx: Context) -> None:
    out = ctx.stdout
    if output == "json":
        # One id: the body exactly as sent; several: each item says which operation it is.
        data = ops[0].to_json() if len(opts.ids) == 1 else [op.to_json_record() for op in ops]
        out.write(dumps(data, indent=2) + "\n")
    elif output == "jsonl":
        for op in ops:
            out.write(dumps(op.to_json_record()) + "\n")
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
            console.print(operation_view(ops[0], now, all_errors=opts.all_errors, width=console.width))
        else:
            console.print(operations_table(ops, now, width=console.width))
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
