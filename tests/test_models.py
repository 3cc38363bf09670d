"""Parsing what each API sends into BulkOperation, against Knock's contract and SAYMON's shape."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop.errors import ExitCode, InvalidResponse
from bulkop.models import ErrorItem, Status, parse_timestamp
from helpers import REQUIRED
from provider_parsers import parse_knock, parse_saymon

# Properties run on a possibly busy machine: no per-example deadline, fewer examples.
FAST = settings(deadline=None, max_examples=60)

# The contract's example object (contract/knock-bulk-operations-openapi.yml), in processing.
EXAMPLE = {
    "__typename": "BulkOperation",
    "completed_at": None,
    "error_count": 0,
    "error_items": [],
    "estimated_total_rows": 1000,
    "failed_at": None,
    "id": "123e4567-e89b-12d3-a456-426614174000",
    "inserted_at": "2024-05-22T12:00:00Z",
    "name": "Bulk operation name",
    "processed_rows": 0,
    "progress_path": "https://api.switchboard.com/v1/bulk_operations/123e4567-e89b-12d3-a456-426614174000",
    "started_at": None,
    "status": "processing",
    "success_count": 0,
    "updated_at": "2024-05-22T12:00:00Z",
}
OPTIONAL = ["completed_at", "error_count", "error_items", "failed_at", "progress_path", "started_at"]


def with_(**changes) -> dict:
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return data


def without(*names: str) -> dict:
    return {k: v for k, v in copy.deepcopy(EXAMPLE).items() if k not in names}


def invalid(data) -> str:
    with pytest.raises(InvalidResponse) as e:
        parse_knock(data)
    assert e.value.exit_code == ExitCode.UNAVAILABLE == 6
    return e.value.message


# --------------------------------------------------------------------------- Knock: valid


def test_contract_example_parses():
    op = parse_knock(copy.deepcopy(EXAMPLE))
    assert op.id == UUID(EXAMPLE["id"])
    assert op.status is Status.PROCESSING and not op.finished
    assert op.provider == "knock"
    assert (op.estimated_total_rows, op.processed_rows, op.success_count, op.error_count) == (1000, 0, 0, 0)
    assert op.inserted_at == datetime(2024, 5, 22, 12, tzinfo=UTC)
    assert op.started_at is None and op.completed_at is None and op.failed_at is None
    assert op.error_items == ()
    assert op.counts_known
    assert op.typename == "BulkOperation"


@pytest.mark.parametrize("name", OPTIONAL)
def test_optional_fields_may_be_absent(name):
    op = parse_knock(without(name))
    assert op.id == UUID(EXAMPLE["id"])


@pytest.mark.parametrize("name", ["started_at", "completed_at", "failed_at"])
def test_nullable_timestamps_accept_null_and_a_value(name):
    assert getattr(parse_knock(with_(**{name: None})), name) is None
    value = parse_knock(with_(**{name: "2024-05-22T12:03:04.5+02:00"}))
    assert getattr(value, name) == datetime(2024, 5, 22, 10, 3, 4, 500000, tzinfo=UTC)


def test_error_items_with_and_without_collection():
    op = parse_knock(
        with_(error_items=[{"id": "u1", "collection": "users"}, {"id": "u2", "collection": None}, {"id": "u3"}])
    )
    assert op.error_items == (ErrorItem("u1", "users"), ErrorItem("u2", None), ErrorItem("u3"))


def test_integral_floats_are_integers():
    op = parse_knock(with_(processed_rows=12.0, estimated_total_rows=1e3))
    assert (op.processed_rows, op.estimated_total_rows) == (12, 1000)
    assert isinstance(op.processed_rows, int)


@pytest.mark.parametrize("status", ["queued", "processing", "completed", "failed"])
def test_every_status(status):
    op = parse_knock(with_(status=status))
    assert op.status.value == status
    assert op.finished is (status in ("completed", "failed"))


def test_uppercase_uuid_is_accepted():
    op = parse_knock(with_(id=EXAMPLE["id"].upper()))
    assert op.id == UUID(EXAMPLE["id"])


# --------------------------------------------------------------------------- Knock: invalid


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_field_is_named(name):
    message = invalid(without(name))
    assert f"'{name}'" in message and "missing" in message


@pytest.mark.parametrize(
    "name",
    REQUIRED,
)
def test_null_where_the_contract_forbids_it(name):
    message = invalid(with_(**{name: None}))
    assert f"'{name}'" in message and "null" in message


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("estimated_total_rows", "1000", "should be an integer, got a string"),
        ("processed_rows", True, "should be an integer, got a boolean"),
        ("success_count", 1.5, "should be an integer, got a number"),
        ("error_count", [], "should be an integer, got an array"),
        ("processed_rows", float("inf"), "should be an integer"),
        ("processed_rows", float("nan"), "should be an integer"),
        ("name", 42, "should be a string, got a number"),
        ("__typename", {}, "should be a string, got an object"),
        ("progress_path", False, "should be a string, got a boolean"),
        ("status", "done", 'is "done", not one of "queued", "processing", "completed", "failed"'),
        ("status", "COMPLETED", "not one of"),
        ("id", "not-a-uuid", "should be a UUID"),
        ("id", 7, "should be a UUID"),
        ("inserted_at", "yesterday", "RFC 3339"),
        ("inserted_at", "2024-05-22T12:00:00", "with a timezone"),
        ("updated_at", 1716379200, "should be a date-time string, got a number"),
        ("started_at", "2024-13-40T00:00:00Z", "RFC 3339"),
        ("error_items", {"id": "x"}, "= 'error_items') should be an array, got an object"),
        ("error_items", ["x"], "= 'error_items')[0] should be an object, got a string"),
        ("error_items", [{"collection": "users"}], "= 'error_items')[0].id should be a string, got null"),
        ("error_items", [{"id": 5}], "= 'error_items')[0].id should be a string"),
        (
            "error_items",
            [{"id": "a"}, {"id": "b", "collection": 1}],
            "= 'error_items')[1].collection should be a string or null",
        ),
    ],
)
def test_wrong_types_are_named(name, value, words):
    message = invalid(with_(**{name: value}))
    assert f"'{name}" in message
    assert words in message


@pytest.mark.parametrize(
    ("data", "kind"), [([], "an array"), (None, "null"), ("x", "a string"), (3, "a number"), (True, "a boolean")]
)
def test_top_level_must_be_an_object(data, kind):
    assert f"got {kind}" in invalid(data)


def test_bad_values_are_quoted_not_interpreted():
    message = invalid(with_(id="\x1b[2J" + "x" * 200))
    assert "\x1b" not in message  # repr() shows it as text
    assert len(message) < 150  # and only the start of a long value


# --------------------------------------------------------------------------- round trip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FAST
@given(st.dictionaries(st.text(max_size=15).map("x-{}".format), JSON, max_size=5))
def test_unknown_fields_survive_to_json(extra):
    data = with_(**extra)
    assert parse_knock(data).to_json() == data


def test_to_json_is_the_object_as_sent_including_key_order():
    data = with_(zzz_new="later", aaa_new=[1])
    assert list(parse_knock(data).to_json()) == list(data)


# --------------------------------------------------------------------------- SAYMON


def test_saymon_finished_maps_to_completed():
    op = parse_saymon("job-1", {"finished": True})
    assert op.status is Status.COMPLETED and op.finished
    assert op.provider == "saymon" and op.id == "job-1"
    assert op.processed_rows is None and op.estimated_total_rows is None  # unknown, not 0
    assert not op.counts_known
    assert op.to_json() == {"finished": True}  # the body exactly as sent
    assert op.to_json_record() == {"id": "job-1", "finished": True}
    assert op.status_word == "finished"  # SAYMON does not say whether it succeeded


def test_saymon_not_finished_maps_to_processing():
    op = parse_saymon("job-2", {"finished": False, "extra": 1})
    assert op.status is Status.PROCESSING and not op.finished
    assert op.to_json() == {"finished": False, "extra": 1}
    assert op.status_word == "not finished"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({}, "= 'finished') is missing or null"),
        ({"finished": "true"}, 'is "true", not one of false, true'),
        ({"finished": 1}, "is 1, not one of false, true"),
        ({"finished": None}, "= 'finished') is missing or null"),
        ([True], "got an array"),
        (None, "got null"),
    ],
)
def test_saymon_invalid(data, words):
    # Read by saymon.toml: the message names bulkop's field and the body's key.
    with pytest.raises(InvalidResponse) as e:
        parse_saymon("job", data)
    assert words in e.value.message


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T12:00:00Z", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00.123456Z", datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-22T13:00:00+01:00", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00", None),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


@FAST
@given(st.text(max_size=40))
def test_parse_timestamp_never_raises_and_never_returns_naive(text):
    parsed = parse_timestamp(text)
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01t00:00:00z", "2026-01-01T00:00:00+00:00"),  # RFC 3339 §5.6: t and z in any case
        ("2026-01-01t12:30:00+02:00", "2026-01-01T12:30:00+02:00"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59+00:00"),  # a leap second: the second before
        ("2016-12-31T23:59:60.250Z", "2016-12-31T23:59:59.250000+00:00"),
        ("2016-12-31t23:59:60z", "2016-12-31T23:59:59+00:00"),
    ],
)
def test_every_rfc_3339_spelling_is_read(text, expected):
    parsed = parse_timestamp(text)
    assert parsed is not None and parsed.isoformat() == expected


@pytest.mark.parametrize("text", ["2026-01-01T00:00:61Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60", "60"])
def test_a_second_past_a_leap_second_is_still_refused(text):
    assert parse_timestamp(text) is None
