"""`bulkop status`: one line and an exit code a shell loop can use (0 done, 1 failed, 3 not yet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bulkop.commands.list import record_seen
from bulkop.commands.targets import resolve_targets
from bulkop.context import Context
from bulkop.progress import fraction
from bulkop.render.jsonout import dumps
from bulkop.verdict import Verdict, explain, of_operation

if TYPE_CHECKING:
    from bulkop.conditions import Conditions


@dataclass
class Options:
    id: str
    output: str = "text"  # text | json
    flags: dict[str, Any] = field(default_factory=dict)
    conditions: Conditions | None = None  # --until / --fail-if, compiled (bulkop.conditions.parse)


def run(opts: Options, ctx: Context) -> int:
    (target,) = resolve_targets([opts.id], opts.flags, ctx)
    op = target.client.get(target.id)
    if opts.conditions is not None:
        opts.conditions.warn = ctx.warn
    verdict = of_operation(op, conditions=opts.conditions)
    if opts.output == "json":
        f = fraction(op)
        data = {
            "id": str(op.id),
            "provider": op.provider,
            "status": op.status_word,
            "finished": op.finished,
            "processed_rows": op.processed_rows,
            "estimated_total_rows": op.estimated_total_rows,
            "percent": None if f.value is None else round(f.value * 100, 1),
            "error_count": op.known_error_count,
            "exit_code": verdict.code,
            "verdict": verdict.kind.value,
            "reason": verdict.reason,
        }
        if verdict.condition is not None:  # which of --until / --fail-if decided
            data["condition"] = verdict.condition.to_json()
        ctx.stdout.write(dumps(data) + "\n")
    else:
        from bulkop.render.text import status_line

        # The state, and the condition that decided when one did: `processing 52% (…); until: …`,
        # in the verdict's words (they say when the provider's own status disagrees).
        from bulkop.sanitize import clean

        said = f"; {clean(verdict.reason)}" if verdict.condition is not None else ""
        ctx.stdout.write(status_line(op) + said + "\n")
    ctx.stdout.flush()
    report_verdict(ctx, verdict, str(op.id), op.name, target.explicit_profile)
    record_seen(ctx, [target], [op])  # after the output: a busy journal never delays it
    return verdict.code


def report_verdict(ctx: Context, verdict: Verdict, op_id: str, name: str | None, profile: str | None) -> None:
    """On stderr, when an operation is why the command exits non-zero: which, why, what next.
    (Not under -o json: stdout carries the verdict there, and stderr holds only JSON errors.)"""
    if not verdict.needs_action or ctx.json_errors:
        return
    from bulkop.sanitize import clean

    ctx.stderr.write(f"bulkop: {clean(explain(verdict, op_id, name, profile))}\n")
    ctx.stderr.flush()
