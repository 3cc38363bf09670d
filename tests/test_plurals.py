"""A count and its noun agree in every view: `1 error`, `2 errors`, never `1 errors`."""

from __future__ import annotations

import pytest

from bulkop.simulator import Scenario
from conftest import run_cli
from helpers import VALID_KNOCK


def completed(errors: int, op_id: str) -> dict:
    return {
        **VALID_KNOCK,
        "id": op_id,
        "status": "completed",
        "processed_rows": 10,
        "estimated_total_rows": 10,
        "success_count": 10 - errors,
        "error_count": errors,
        "completed_at": VALID_KNOCK["inserted_at"],
    }


@pytest.mark.parametrize(
    ("args", "one", "two"),
    [
        (["get", "{id}", "-o", "table"], "9 succeeded, 1 error", "8 succeeded, 2 errors"),
        (["status", "{id}"], "completed 10/10, 1 error", "completed 10/10, 2 errors"),
        (["watch", "{id}", "--display", "lines", "--max-errors", "0"], "with 1 error,", "with 2 errors,"),
    ],
)
def test_one_error_is_singular(sim, knock_env, args, one, two):
    for count, said in ((1, one), (2, two)):
        op_id = f"0000000{count}-0000-4000-8000-000000000000"
        sim.add(Scenario(id=op_id, name="x", body=completed(count, op_id)))
        r = run_cli([a.format(id=op_id) for a in args], knock_env)
        shown = r.stdout + r.stderr
        assert "1 errors" not in shown
        assert said in shown, shown
