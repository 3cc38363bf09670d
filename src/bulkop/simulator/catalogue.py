"""The catalogue APIs the simulator fakes: each one's route, auth and JSON shape per lifecycle state.

Shapes follow each API's public documentation (see src/bulkop/providers/builtin/NAME.toml and
tests/fixtures/providers/). Kept stdlib-only and free of bulkop.providers, so the simulator stays
an independent witness of what the definitions must read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bulkop.simulator.operation import Operation, State


@dataclass(frozen=True)
class Api:
    """One catalogue API: its route around the id, and the auth it checks (bearer, basic or a header)."""

    name: str
    prefix: str
    suffix: str
    auth: str  # "bearer" | "basic" | "apikey" (Authorization: <auth> <credential>)

    def path(self, op_id: str) -> str:
        return f"{self.prefix}{op_id}{self.suffix}"


CATALOGUE: dict[str, Api] = {
    "zendesk": Api("zendesk", "/api/v2/job_statuses/", "", "basic"),
    "auth0": Api("auth0", "/api/v2/jobs/", "", "bearer"),
    "mailchimp": Api("mailchimp", "/3.0/batches/", "", "basic"),
    "elasticsearch": Api("elasticsearch", "/_tasks/", "", "apikey"),
}


def new_id(provider: str, bits: int) -> str:
    """An id in the provider's own format, from random bits."""
    if provider == "auth0":
        return f"job_{bits & (2**64 - 1):016x}"
    if provider == "mailchimp":
        return f"{bits & (2**40 - 1):010x}"
    if provider == "elasticsearch":
        return f"oTUltX4IQMOUUVeiohTt8A:{bits % 1_000_000}"
    return f"{bits:032x}"


def body(op: Operation, state: State, base_url: str, stamp: Any) -> dict[str, Any]:
    """The provider's JSON object for this state; `stamp(sim_seconds)` gives its RFC 3339 text."""
    s = op.scenario
    provider = s.provider
    total, processed, errors = s.reported_total_rows, state.processed_rows, state.error_count
    finished = state.status in ("completed", "failed")
    if provider == "zendesk":
        status = {"processing": "working"}.get(state.status, state.status)
        message = None
        if state.status == "completed":
            message = f"Completed at {stamp(state.completed)}"
        elif state.status == "failed":
            message = "Failed: the job worker stopped"
        return {
            "job_status": {
                "id": op.id,
                "url": base_url + op.path + ".json",
                "job_type": s.name,
                "total": total,
                "progress": processed,
                "status": status,
                "message": message,
                "results": None,
            }
        }
    if provider == "auth0":
        job: dict[str, Any] = {
            "status": {"queued": "pending"}.get(state.status, state.status),
            "type": "users_import",
            "id": op.id,
            "created_at": stamp(op.created),
            "connection_id": "con_0000000000000001",
        }
        if state.status == "processing":
            job["percentage_done"] = (100 * processed // total) if total else 0
        if finished:
            job["summary"] = {"failed": errors, "updated": 0, "inserted": processed - errors, "total": total}
        if state.status == "failed":
            job["status_details"] = "The import stopped"
        return job
    if provider == "mailchimp":
        # Mailchimp has no failed batch: errored operations are counted among the finished ones.
        status = {"queued": "pending", "processing": "started"}.get(state.status, "finished")
        end = state.completed if state.completed is not None else state.failed
        return {
            "id": op.id,
            "status": status,
            "total_operations": total,
            "finished_operations": processed,
            "errored_operations": errors,
            "submitted_at": stamp(op.created),
            "completed_at": stamp(end) if end is not None else None,
            "response_body_url": base_url + "/responses/" + op.id + ".tar.gz" if finished else "",
        }
    if provider == "elasticsearch":
        node, _, number = op.id.partition(":")
        start_ms = _epoch_ms(op.epoch, state.started if state.started is not None else op.created)
        task: dict[str, Any] = {
            "completed": finished,
            "task": {
                "node": node,
                "id": int(number) if number.isdigit() else 0,
                "type": "transport",
                "action": "indices:data/write/reindex",
                "status": {
                    "total": total,
                    "updated": 0,
                    "created": processed,
                    "deleted": 0,
                    "batches": 1 + processed // 1000,
                    "version_conflicts": 0,
                    "noops": 0,
                },
                "description": s.name,
                "start_time_in_millis": start_ms,
                "running_time_in_nanos": 0,
                "cancellable": True,
                "headers": {},
            },
        }
        if state.status == "completed":
            task["response"] = {
                "took": 1,
                "timed_out": False,
                "total": total,
                "created": processed,
                "failures": [
                    {"index": "items", "id": item["id"], "cause": {"type": "mapper_parsing_exception"}, "status": 400}
                    for item in op.error_items(errors)
                ],
            }
        if state.status == "failed":
            task["error"] = {"type": "search_phase_execution_exception", "reason": "all shards failed"}
        return task
    raise ValueError(f"not a catalogue provider: {provider}")


def error_body(provider: str, status: int, reason: str) -> bytes:
    """The provider's error shape for an HTTP status."""
    shape: dict[str, Any]
    if provider == "zendesk":
        shape = {"error": reason.replace(" ", ""), "description": reason}
    elif provider == "auth0":
        shape = {"statusCode": status, "error": reason, "message": f"{reason} (simulated)"}
    elif provider == "mailchimp":
        shape = {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": reason,
            "status": status,
            "detail": f"{reason} (simulated)",
            "instance": "",
        }
    else:
        shape = {"error": {"type": "status_exception", "reason": reason}, "status": status}
    return json.dumps(shape, separators=(",", ":")).encode()


def _epoch_ms(epoch: datetime, sim_seconds: float) -> int:
    return int((epoch.timestamp() + sim_seconds) * 1000)
