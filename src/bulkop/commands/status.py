"""`bulkop status`: one line and an exit code a shell loop can use (0 done, 1 failed, 3 not yet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bulkop.commands.list import record_seen
from bulkop.commands.targets import outcome_code, resolve_targets
from bulkop.context import Context
from bulkop.progress import fraction
from bulkop.render.jsonout import dumps


@dataclass
class Options:
    id: str
    output: str = "text"  # text | json
    flags: dict[str, Any] = field(default_factory=dict)


def run(opts: Options, ctx: Context) -> int:
    (target,) = resolve_targets([opts.id], opts.flags, ctx)
    op = target.client.get(target.id)
    if opts.output == "json":
        f = fraction(op)
        data = {
            "id": str(op.id),
            "provider": op.provider,
            "status": op.status.value,
            "finished": op.finished,
            "processed_rows": op.processed_rows,
            "estimated_total_rows": op.estimated_total_rows,
            "percent": None if f.value is None else round(f.value * 100, 1),
            "error_count": op.error_count,
            "exit_code": outcome_code(op),
        }
        ctx.stdout.write(dumps(data) + "\n")
    else:
        from bulkop.render.text import status_line

        ctx.stdout.write(status_line(op) + "\n")
    ctx.stdout.flush()
    record_seen(ctx, [target], [op])
    return outcome_code(op)
