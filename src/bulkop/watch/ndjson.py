"""`watch -o json`: NDJSON on stdout, one object per observed change and a last one per operation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bulkop.context import Context
from bulkop.render.jsonout import dumps
from bulkop.watch.engine import Display, Tracked


class JsonLinesDisplay(Display):
    """NDJSON on stdout: one object per observed change; each operation's last record is
    `"final": true` with its `"verdict"` and `"reason"`, however its watch ended."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._final: set[str] = set()

    def observed(self, t: Tracked, changed: bool, now: float) -> None:
        if not changed and not t.done:
            return
        self._write(t)

    def _write(self, t: Tracked) -> None:
        from bulkop.render.fmt import rfc3339
        from bulkop.render.watch_common import full_id

        # The operation as the API sent it, wrapped so that no field of ours can collide.
        record: dict[str, Any] = {
            "observed_at": rfc3339(self.ctx.wall()),
            "profile": t.profile,
            "id": full_id(t),
            # The status word every view shows (SAYMON: finished / not finished), next to the
            # body as sent, so that one jq filter reads the status of any provider.
            "status": t.op.status_word if t.op is not None else None,
            "operation": t.op.to_json_record() if t.op is not None else None,
        }
        if t.verdict is not None:
            record["final"] = True
            record["verdict"] = t.verdict.kind.value
            record["reason"] = t.verdict.reason
            if t.verdict.condition is not None:  # which of --until / --fail-if ended it
                record["condition"] = t.verdict.condition.to_json()
            self._final.add(t.key)
        self.ctx.stdout.write(dumps(record) + "\n")
        self.ctx.stdout.flush()

    def finished(self, ops: Sequence[Tracked], now: float, outcome: str) -> None:
        for t in ops:  # those that ended without a last answer: an error, --timeout, Ctrl-C
            if t.key not in self._final:
                self._write(t)
