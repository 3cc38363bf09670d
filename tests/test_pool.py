"""bulkop.pool.fetch_each: the one concurrent fetch behind `get ID...`, `list --refresh` and
Client.get_many (three copies before)."""

from __future__ import annotations

import threading

import pytest

from bulkop.errors import NotFoundError
from bulkop.pool import fetch_each


@pytest.mark.parametrize("count", [0, 1, 2, 9, 40])
def test_results_come_back_in_the_order_given(count):
    gate = threading.Barrier(min(count, 4)) if count > 1 else None

    def call(i: int):
        if gate is not None and i < 4:
            gate.wait(10)  # the first four run at the same time: answers arrive in any order
        return i

    assert fetch_each([lambda i=i: call(i) for i in range(count)], workers=8) == list(range(count))


def test_an_error_returned_is_a_result_not_a_raise():
    """A call's outcome may be the BulkopError it met (an exception object): it is returned."""
    err = NotFoundError("gone")
    assert fetch_each([lambda: 1, lambda: err, lambda: 3], workers=2) == [1, err, 3]


@pytest.mark.parametrize("count", [1, 3])
def test_an_exception_raised_by_a_call_is_raised_not_lost(count):
    def bug():
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        fetch_each([bug] + [lambda: 0] * (count - 1), workers=2)


def test_client_get_many_uses_it(sim):
    from bulkop.api import Client
    from bulkop.models import BulkOperation
    from bulkop.simulator import Scenario
    from conftest import KNOCK_TOKEN

    op_id = sim.add(Scenario(name="x", total_rows=10, queued_seconds=0, duration=0))
    missing = "123e4567-e89b-12d3-a456-426614174000"
    with Client("knock", sim.base_url, api_key=KNOCK_TOKEN, retries=0) as client:
        first, second, third = client.get_many([op_id, missing, op_id])
    assert isinstance(first, BulkOperation) and str(first.id) == op_id
    assert isinstance(second, NotFoundError)
    assert isinstance(third, BulkOperation)


@pytest.mark.parametrize(
    ("ids", "workers", "error"), [("123e4567", 8, TypeError), (["a"], 0, ValueError), (["a"], -1, ValueError)]
)
def test_client_get_many_refuses_a_string_and_no_workers(ids, workers, error):
    from bulkop.api import Client

    with Client("knock", "http://127.0.0.1:9", api_key="sk_test_x", retries=0) as client, pytest.raises(error):
        client.get_many(ids, max_workers=workers)
