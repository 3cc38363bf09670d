"""Provider definitions as data: parsing errors name the key, URLs, auth, normalize, TOML round trip,
and knock.toml / saymon.toml reading exactly what today's parse_knock / parse_saymon read."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop.errors import ConfigError, ExitCode, InvalidResponse, UsageError
from bulkop.models import ErrorItem, Status
from bulkop.providers import BUILTIN_NAMES, builtin, load_builtin, parse_definition, resolve, to_toml
from bulkop.simulator import Scenario, Simulator
from provider_parsers import parse_knock, parse_saymon

ACME: dict[str, Any] = {
    "url": "{base_url}/api/jobs/{id}",
    "auth": "bearer",
    "id_pattern": "[0-9]+",
    "base_url": "https://api.acme.example",
    "headers": {"Acme-Version": "2024-01"},
    "fields": {
        "status": "job.state",
        "name": "job.title",
        "total": "job.of",
        "processed": "job.done",
        "succeeded": "job.ok",
        "failed": "job.failed",
        "error_items": "job.failures[].{id: key, collection: kind}",
        "created_at": "job.created",
        "started_at": "job.started",
        "ended_at": "job.finished",
    },
    "status": {
        "queued": ["PENDING"],
        "processing": ["RUNNING"],
        "completed": ["DONE"],
        "failed": ["ERROR", "CANCELLED"],
    },
}


def acme(**changes: Any) -> dict[str, Any]:
    table = copy.deepcopy(ACME)
    for key, value in changes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return table


def acme_with(section: str, **changes: Any) -> dict[str, Any]:
    table = copy.deepcopy(ACME)
    for key, value in changes.items():
        if value is None:
            table[section].pop(key, None)
        else:
            table[section][key] = value
    return table


class Secrets:
    def __init__(self, api_key: str | None = None, login: str | None = None, password: str | None = None) -> None:
        self.api_key, self.login, self.password = api_key, login, password


# ------------------------------------------------------------------------------- parsing errors


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (acme_with("fields", total="job.of[["), "providers.acme.fields.total: invalid JMESPath expression"),
        (acme_with("fields", name="job..title"), "providers.acme.fields.name: invalid JMESPath expression"),
        (acme_with("fields", error_items=""), "providers.acme.fields.error_items: must be a non-empty"),
        (acme_with("fields", status=None), "providers.acme.fields.status: missing"),
        (acme_with("fields", totl="x"), "providers.acme.fields: unknown key 'totl' (did you mean 'total'?)"),
        (acme(auth="oauth"), "providers.acme.auth: unknown auth 'oauth'; valid: bearer, basic, header:NAME, none"),
        (acme(auth="header:"), "providers.acme.auth: '' is not a header name"),
        (acme(auth="header:Bad Header"), "providers.acme.auth: 'Bad Header' is not a header name"),
        (acme(auth="header:Host"), "providers.acme.auth: 'Host' is not a header name"),
        (acme(url="https://api.acme.example/jobs/{id}"), "providers.acme.url: must start with '{base_url}/'"),
        (acme(url="{base_url}/jobs"), "providers.acme.url: must contain {id} exactly once"),
        (acme(url="{base_url}/jobs/job-{id}"), "providers.acme.url: must contain {id} exactly once"),
        (acme(url="{base_url}/jobs/{id}/{id}"), "providers.acme.url: must contain {id} exactly once"),
        (acme(url="{base_url}/jobs/{id}?x=1"), "providers.acme.url: the path may hold only {id}"),
        (acme(url=None), "providers.acme.url: missing"),
        (acme(url=42), "providers.acme.url: must be a string, not a number"),
        (acme(auth_scheme="ApiKey"), 'providers.acme.auth_scheme: only for auth = "header:NAME"'),
        (acme(auth="header:Authorization", auth_scheme="Api Key"), "providers.acme.auth_scheme: must be one word"),
        (acme(id_pattern="[0-9"), "providers.acme.id_pattern: not a valid regular expression"),
        (acme(base_url="ftp://x"), "providers.acme.base_url: should be an http:// or https:// URL"),
        (acme(headers={"Authorization": "x"}), "providers.acme.headers: 'Authorization' is not a header"),
        (acme(headers={"X-A": "line\nbreak"}), "providers.acme.headers.X-A: must be a printable ASCII string"),
        (acme(colour="red"), "providers.acme: unknown key 'colour'"),
        (acme(status={"done": ["DONE"]}), "providers.acme.status: unknown key 'done'"),
        (acme(status={"completed": ["DONE"], "failed": ["DONE"]}), 'providers.acme.status.failed: "DONE" is already'),
        (acme(status={"queued": ["A"]}), "providers.acme.status.completed: missing"),
        (acme(status={"completed": [1.5]}), "providers.acme.status.completed: '1.5' is not a string"),
        (acme(status=None), "providers.acme.status: missing"),
        (acme(fields=None), "providers.acme.fields: missing"),
        (acme(formats={"created_at": "unix"}), "providers.acme.formats.created_at: unknown format 'unix'"),
        (acme(formats={"total": "epoch_s"}), "providers.acme.formats: unknown key 'total'"),
        (acme(required=["nope"]), "providers.acme.required: 'nope' is not among"),
        (acme(error_message=["a[["]), "providers.acme.error_message[0]: invalid JMESPath expression"),
    ],
)
def test_definition_errors_are_config_errors_naming_the_key(table: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_definition("acme", table)
    assert info.value.exit_code == ExitCode.CONFIG
    assert expected in str(info.value)


def test_unknown_keys_are_listed_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        parse_definition("acme", acme(colour="red", size=1))
    message = str(info.value)
    assert "unknown keys 'colour', 'size'" in message
    assert "valid: url, auth, auth_scheme, id_pattern, base_url, headers" in message


def test_bad_provider_names_are_refused() -> None:
    for name in ("", "Acme", "a b", "x" * 41, "../etc"):
        with pytest.raises(ConfigError, match="invalid provider name"):
            parse_definition(name, ACME)


def test_a_valid_definition_parses_every_key() -> None:
    defn = parse_definition("acme", ACME)
    assert defn.name == "acme"
    assert defn.auth == "bearer"
    assert defn.base_url == "https://api.acme.example"
    assert dict(defn.headers) == {"Acme-Version": "2024-01"}
    assert set(defn.fields) == set(ACME["fields"])
    assert defn.status_map["failed"] == ("ERROR", "CANCELLED")
    assert defn.secrets_needed == ("api_key",)


# ------------------------------------------------------------------------------- URLs and ids


@pytest.mark.parametrize(
    ("op_id", "path"),
    [
        ("42", "/api/jobs/42"),
        (" 42 ", "/api/jobs/42"),
    ],
)
def test_build_url_checks_the_id_pattern(op_id: str, path: str) -> None:
    defn = parse_definition("acme", ACME)
    assert defn.build_url(None, op_id) == "https://api.acme.example" + path
    assert defn.build_url("http://127.0.0.1:9/base/", op_id) == "http://127.0.0.1:9/base" + path


@pytest.mark.parametrize("op_id", ["4x2", "42/../1", "", ".", "..", "x" * 100, "4\n2", "-1"])
def test_ids_failing_the_pattern_are_usage_errors_before_any_request(op_id: str) -> None:
    defn = parse_definition("acme", ACME)
    with pytest.raises(UsageError) as info:
        defn.build_url(None, op_id)
    assert info.value.exit_code == ExitCode.USAGE
    assert "is not a acme operation id" in info.value.message
    assert "\n" not in str(info.value)


def test_the_usage_error_says_what_a_valid_id_looks_like() -> None:
    with pytest.raises(UsageError) as info:
        parse_definition("acme", ACME).build_url(None, "abc")
    assert info.value.hint == "a acme id matches the pattern [0-9]+"
    with pytest.raises(UsageError) as info:
        builtin("knock").build_url(None, "not-a-uuid")
    # A definition with id_description says what an id is instead of quoting its pattern.
    assert info.value.message == (
        "'not-a-uuid' is not a Knock bulk operation id (a UUID such as 123e4567-e89b-12d3-a456-426614174000)"
    )
    assert info.value.hint is None


@pytest.mark.parametrize(
    ("op_id", "encoded"),
    [
        ("a/b", "a%2Fb"),
        ("a?b#c", "a%3Fb%23c"),
        ("a%2Fb", "a%252Fb"),
        ("node:12", "node%3A12"),
        ("é", "%C3%A9"),
        ("a b", "a%20b"),
        ("...", "..."),
    ],
)
def test_without_a_pattern_the_id_is_encoded_as_one_path_segment(op_id: str, encoded: str) -> None:
    defn = parse_definition("acme", acme(id_pattern=None, url="{base_url}/jobs/{id}/status"))
    assert defn.build_url("https://h.example", op_id) == f"https://h.example/jobs/{encoded}/status"


@pytest.mark.parametrize("op_id", ["", " ", ".", "..", "a\x1bb", "a\x00"])
def test_dot_segments_empty_and_control_ids_are_refused_even_without_a_pattern(op_id: str) -> None:
    defn = parse_definition("acme", acme(id_pattern=None))
    with pytest.raises(UsageError):
        defn.build_url(None, op_id)


def test_a_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no base URL for provider saymon"):
        builtin("saymon").build_url(None, "abc")


def test_knock_ids_are_canonical_uuids_as_today() -> None:
    knock = builtin("knock")
    upper = "123E4567-E89B-12D3-A456-426614174000"
    assert (
        knock.build_url(None, upper) == "https://api.knock.app/v1/bulk_operations/123e4567-e89b-12d3-a456-426614174000"
    )
    assert knock.check_id(" 123e4567e89b12d3a456426614174000 ") == "123e4567-e89b-12d3-a456-426614174000"


# ------------------------------------------------------------------------------- auth headers


def test_bearer_basic_header_and_none() -> None:
    bearer = parse_definition("acme", ACME)
    assert bearer.auth_headers(Secrets(api_key="sk_1")) == {"Acme-Version": "2024-01", "Authorization": "Bearer sk_1"}
    basic = parse_definition("acme", acme(auth="basic", headers=None))
    token = base64.b64encode(b"me@x.example/token:p w!").decode()
    assert basic.auth_headers({"login": "me@x.example/token", "password": "p w!"}) == {
        "Authorization": f"Basic {token}"
    }
    assert basic.secrets_needed == ("login", "password")
    header = parse_definition("acme", acme(auth="header:X-Api-Key", headers=None))
    assert header.auth_headers(Secrets(api_key="k-1")) == {"X-Api-Key": "k-1"}
    assert header.header_name == "X-Api-Key"
    scheme = parse_definition("acme", acme(auth="header:Authorization", auth_scheme="ApiKey", headers=None))
    assert scheme.auth_headers(Secrets(api_key="a2V5")) == {"Authorization": "ApiKey a2V5"}
    none = parse_definition("acme", acme(auth=None, headers=None))
    assert none.auth_headers(Secrets()) == {}
    assert none.secrets_needed == ()


@pytest.mark.parametrize("key", ["sk_1\n", "sk 1", "sk\x001", "ключ", "sk_1\r\nX-Evil: 1"])
def test_bad_api_keys_are_refused_without_echoing_them(key: str) -> None:
    for auth in ("bearer", "header:X-Api-Key"):
        defn = parse_definition("acme", acme(auth=auth))
        with pytest.raises(ConfigError) as info:
            defn.auth_headers(Secrets(api_key=key))
        assert key.strip() not in str(info.value)
        assert info.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize(
    ("login", "password"),
    [("a:b", "pw"), ("me\n", "pw"), ("me", "pw\r\n"), ("me", "pa\x1bss"), ("mé", "pw")],
)
def test_bad_basic_credentials_are_refused_without_echoing_them(login: str, password: str) -> None:
    defn = parse_definition("acme", acme(auth="basic"))
    with pytest.raises(ConfigError) as info:
        defn.auth_headers(Secrets(login=login, password=password))
    assert password.strip() not in str(info.value)


def test_missing_secrets_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="no acme API key configured"):
        parse_definition("acme", ACME).auth_headers(Secrets())
    basic = parse_definition("acme", acme(auth="basic"))
    with pytest.raises(ConfigError, match="no acme password configured"):
        basic.auth_headers(Secrets(login="me"))
    with pytest.raises(ConfigError, match="no acme login configured"):
        basic.auth_headers(Secrets(password="pw"))


# ------------------------------------------------------------------------------- normalize

BODY = {
    "job": {
        "state": "RUNNING",
        "title": "import",
        "of": 100,
        "done": 40,
        "ok": 38,
        "failed": 2,
        "failures": [{"key": "u1", "kind": "users"}, {"key": "u2", "kind": None}],
        "created": "2026-01-02T03:04:05Z",
        "started": "2026-01-02T03:04:06+02:00",
        "finished": None,
    }
}


def test_normalize_reads_every_field() -> None:
    op = parse_definition("acme", ACME).normalize("42", BODY)
    assert op.id == "42"
    assert op.provider == "acme"
    assert op.status is Status.PROCESSING
    assert (op.name, op.estimated_total_rows, op.processed_rows, op.success_count, op.error_count) == (
        "import",
        100,
        40,
        38,
        2,
    )
    assert op.error_items == (ErrorItem("u1", "users"), ErrorItem("u2", None))
    assert op.inserted_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert op.started_at is not None and op.started_at.utcoffset() is not None
    assert op.completed_at is None and op.failed_at is None
    assert op.raw is BODY


@pytest.mark.parametrize(
    ("state", "status", "end_field"),
    [
        ("DONE", Status.COMPLETED, "completed_at"),
        ("ERROR", Status.FAILED, "failed_at"),
        ("CANCELLED", Status.FAILED, "failed_at"),
    ],
)
def test_ended_at_fills_the_end_that_the_status_names(state: str, status: Status, end_field: str) -> None:
    body = copy.deepcopy(BODY)
    body["job"].update(state=state, finished="2026-01-02T04:00:00Z")
    op = parse_definition("acme", ACME).normalize("42", body)
    assert op.status is status
    assert getattr(op, end_field) == datetime(2026, 1, 2, 4, 0, tzinfo=UTC)
    other = "failed_at" if end_field == "completed_at" else "completed_at"
    assert getattr(op, other) is None


def test_absent_fields_are_none_never_invented() -> None:
    op = parse_definition("acme", ACME).normalize("42", {"job": {"state": "PENDING"}})
    assert op.status is Status.QUEUED
    assert op.name is None
    assert op.estimated_total_rows is None and op.processed_rows is None
    assert op.success_count is None and op.error_count is None
    assert op.error_items == ()
    assert op.inserted_at is None and op.started_at is None
    assert not op.counts_known


@pytest.mark.parametrize("raw", ["WAITING", "done", "", 1, True, None])
def test_an_unmapped_status_names_the_value_and_the_mapping(raw: Any) -> None:
    with pytest.raises(InvalidResponse) as info:
        parse_definition("acme", ACME).normalize("42", {"job": {"state": raw}})
    text = str(info.value)
    if raw is None:
        assert "providers.acme.fields.status = 'job.state'" in text and "missing or null" in text
    else:
        assert json.dumps(raw) in text
        assert "providers.acme.status" in text


@pytest.mark.parametrize("raw", [[1], {"a": 1}])
def test_a_structured_status_is_not_a_status(raw: Any) -> None:
    with pytest.raises(InvalidResponse, match=r"providers\.acme\.status"):
        parse_definition("acme", ACME).normalize("42", {"job": {"state": raw}})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("of", "100", "field 'total' (providers.acme.fields.total = 'job.of') should be an integer, got a string"),
        ("done", True, "should be an integer, got a boolean"),
        ("done", 1.5, "should be an integer, got a number"),
        ("done", -1, "should not be negative"),
        ("ok", 10**30, "beyond any real count"),
        ("failed", float("inf"), "should be an integer"),
        ("failed", [], "should be an integer, got an array"),
        ("title", 5, "field 'name' (providers.acme.fields.name = 'job.title') should be a string"),
        ("created", "yesterday", "should be an RFC 3339 date-time with a timezone, got 'yesterday'"),
        ("created", "2026-01-02T03:04:05", "with a timezone"),
        ("created", 1700000000, "should be a date-time string, got a number"),
        ("created", "9" * 100, "should be an RFC 3339"),
        ("failures", [{"kind": "users"}], "[0].id should be a string, got null"),
        ("failures", [{"key": "u", "kind": 3}], "[0].collection should be a string or null"),
    ],
)
def test_values_of_the_wrong_type_are_invalid_responses(field: str, value: Any, message: str) -> None:
    body = copy.deepcopy(BODY)
    body["job"][field] = value
    with pytest.raises(InvalidResponse) as info:
        parse_definition("acme", ACME).normalize("42", body)
    assert message in str(info.value)
    assert info.value.exit_code == ExitCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("value", "message"),
    [({"id": "x"}, "should be an array, got an object"), (["u1"], "[0] should be an object, got a string")],
)
def test_error_items_must_be_a_list_of_objects(value: Any, message: str) -> None:
    defn = parse_definition("acme", acme_with("fields", error_items="job.failures"))
    body = copy.deepcopy(BODY)
    body["job"]["failures"] = value
    with pytest.raises(InvalidResponse) as info:
        defn.normalize("42", body)
    assert message in str(info.value)


def test_a_projection_over_a_non_list_reads_as_absent() -> None:
    # JMESPath semantics: `a[].b` over an object is null, so the items are unknown, not an error.
    body = copy.deepcopy(BODY)
    body["job"]["failures"] = {"key": "x"}
    assert parse_definition("acme", ACME).normalize("42", body).error_items == ()


def test_integral_floats_are_counts() -> None:
    body = copy.deepcopy(BODY)
    body["job"]["of"] = 100.0
    assert parse_definition("acme", ACME).normalize("42", body).estimated_total_rows == 100


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_a_body_that_is_not_an_object_is_invalid(body: Any) -> None:
    with pytest.raises(InvalidResponse, match="expected a JSON object"):
        parse_definition("acme", ACME).normalize("42", body)


def test_expression_type_errors_are_invalid_responses_naming_the_field() -> None:
    defn = parse_definition("acme", acme_with("fields", total="sum(job.parts)"))
    body = copy.deepcopy(BODY)
    body["job"]["parts"] = ["a", "b"]
    with pytest.raises(InvalidResponse, match=r"field 'total' \(providers.acme.fields.total = 'sum\(job.parts\)'\)"):
        defn.normalize("42", body)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch_s", 1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("epoch_s", 1700000000.5, datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
        ("epoch_ms", 1458585884904, datetime(2016, 3, 21, 18, 44, 44, 904000, tzinfo=UTC)),
        ("rfc3339", "2016-03-21T18:44:44.904+00:00", datetime(2016, 3, 21, 18, 44, 44, 904000, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(fmt: str, value: Any, expected: datetime) -> None:
    defn = parse_definition("acme", acme(formats={"created_at": fmt}))
    body = copy.deepcopy(BODY)
    body["job"]["created"] = value
    assert defn.normalize("42", body).inserted_at == expected


@pytest.mark.parametrize(
    ("fmt", "value"),
    [("epoch_s", -1), ("epoch_s", 10**12), ("epoch_ms", 10**20), ("epoch_s", True), ("epoch_ms", "1458585884904")],
)
def test_bad_epoch_timestamps_are_invalid(fmt: str, value: Any) -> None:
    defn = parse_definition("acme", acme(formats={"created_at": fmt}))
    body = copy.deepcopy(BODY)
    body["job"]["created"] = value
    with pytest.raises(InvalidResponse, match="created_at"):
        defn.normalize("42", body)


def test_required_fields_must_be_present() -> None:
    defn = parse_definition("acme", acme(required=["name", "total"]))
    body = copy.deepcopy(BODY)
    del body["job"]["of"]
    with pytest.raises(InvalidResponse, match=r"field 'total' .* is missing or null \(the provider requires it\)"):
        defn.normalize("42", body)


def test_boolean_and_number_status_values_match_by_json_type() -> None:
    table = acme(status={"completed": [True, 2], "processing": [False, "true"], "queued": [0]})
    defn = parse_definition("acme", table)
    read = [defn.normalize("42", {"job": {"state": raw}}).status for raw in (True, 2, 2.0, False, "true", 0)]
    assert read == [
        Status.COMPLETED,
        Status.COMPLETED,
        Status.COMPLETED,
        Status.PROCESSING,
        Status.PROCESSING,
        Status.QUEUED,
    ]
    # 1 is not true, "false" is not false, 0 is not false
    for raw in (1, "false"):
        with pytest.raises(InvalidResponse):
            defn.normalize("42", {"job": {"state": raw}})


def test_id_field_reads_the_operation_id_from_the_body() -> None:
    defn = parse_definition("acme", acme_with("fields", id="job.key"))
    assert defn.normalize("42", {"job": {"state": "DONE", "key": 42}}).id == "42"
    assert defn.normalize("42", {"job": {"state": "DONE"}}).id == "42"
    with pytest.raises(InvalidResponse, match="field 'id'"):
        defn.normalize("42", {"job": {"state": "DONE", "key": [42]}})


def test_describe_error_tries_each_expression_in_turn() -> None:
    knock = builtin("knock")
    assert knock.describe_error({"code": "invalid_api_key", "message": "bad key"}) == "invalid_api_key: bad key"
    assert knock.describe_error({"code": "invalid_api_key", "message": 5}) == "invalid_api_key"
    assert knock.describe_error({"errors": {"detail": "Not Found"}}) == (
        "Not Found; the server does not know this route"
    )
    assert knock.describe_error({"code": 401}) is None
    assert knock.describe_error(["x"]) is None
    saymon = builtin("saymon")
    assert saymon.describe_error({"code": 401, "message": "Unauthorized"}) == "Unauthorized"
    assert saymon.describe_error({"error": "nope\x1b[2J"}) == "nope"
    assert saymon.describe_error({"detail": "x" * 500}) == "x" * 159 + "…"


# ------------------------------------------------------------------------------- TOML round trip


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_to_toml_round_trips_every_builtin(name: str) -> None:
    defn = builtin(name)
    text = to_toml(defn)
    table = tomllib.loads(text)["providers"][name]
    # Parsed eagerly here (built-ins compile their expressions at first use): every expression
    # of every built-in compiles.
    assert parse_definition(name, table, where=f"built-in provider {name}") == defn


def test_to_toml_round_trips_a_user_definition_with_every_key() -> None:
    table = acme(
        auth="header:Authorization",
        auth_scheme="Token",
        required=["name"],
        error_message=["error.message"],
        formats={"created_at": "epoch_ms"},
        description="ACME jobs",
        status={"completed": [True, "DONE"], "failed": [3]},
    )
    defn = parse_definition("acme", table)
    again = parse_definition("acme", tomllib.loads(to_toml(defn))["providers"]["acme"])
    assert again == defn
    assert to_toml(again) == to_toml(defn)


# ------------------------------------------------------------------------------- loader and resolve


def test_load_builtin_lists_every_builtin_and_parses_on_demand() -> None:
    defs = load_builtin()
    assert list(defs) == list(BUILTIN_NAMES)
    assert len(defs) >= 6 and "zendesk" in defs and "acme" not in defs
    assert defs["mailchimp"].url == "{base_url}/3.0/batches/{id}"


def test_resolve_user_definitions_and_builtins() -> None:
    assert resolve("knock", {}) is builtin("knock")
    assert resolve("acme", {"acme": ACME}).fields["status"].source == "job.state"
    with pytest.raises(ConfigError, match="unknown provider 'acme2'") as info:
        resolve("acme2", {"acme": ACME})
    assert "knock, saymon" in str(info.value.hint) and "acme" in str(info.value.hint)
    with pytest.raises(ConfigError, match=r"providers.acme.auth: unknown auth"):
        resolve("acme", {"acme": acme(auth="magic")})


@pytest.mark.parametrize("name", ["knock", "saymon", "zendesk"])
def test_a_user_definition_may_not_shadow_a_builtin(name: str) -> None:
    with pytest.raises(ConfigError, match=f"providers.{name}: '{name}' is a built-in provider") as info:
        resolve(name, {name: ACME})
    assert f"{name}-custom" in str(info.value.hint)


def test_loading_the_package_parses_nothing_and_imports_no_jmespath() -> None:
    code = (
        "import sys, bulkop.providers as p\n"
        "assert 'jmespath' not in sys.modules and 'tomllib' not in sys.modules\n"
        "p.load_builtin()\n"
        "assert 'jmespath' not in sys.modules\n"
        "p.builtin('saymon')\n"
        "assert 'jmespath' not in sys.modules  # plain paths only\n"
        "k = p.builtin('knock')\n"
        "assert 'jmespath' not in sys.modules  # its error_message expressions: at first use\n"
        "assert p.builtin.cache_info().currsize == 2\n"
        "assert k.describe_error({'code': 'not_found', 'message': 'gone'}) == 'not_found: gone'\n"
        "assert 'jmespath' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)


# ------------------------------------------------------------------------------- same as today


def _fetch(sim: Simulator, path: str, headers: dict[str, str]) -> Any:
    response = httpx.get(sim.base_url + path, headers=headers)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(total_rows=500, queued_seconds=100, duration=10),
        Scenario(total_rows=500, queued_seconds=0, duration=1e6, error_rate=0.1),
        Scenario(total_rows=500, queued_seconds=0, duration=0.0, error_rate=0.05),
        Scenario(total_rows=500, queued_seconds=0, duration=0.0, fail_at=0.0),
        Scenario(total_rows=0, queued_seconds=0, duration=0),
        Scenario(total_rows=50, queued_seconds=0, duration=0, extra_fields={"error_count": None}),
    ],
)
def test_knock_toml_reads_simulator_bodies_exactly_like_parse_knock(sim: Simulator, scenario: Scenario) -> None:
    op_id = sim.add(scenario)
    knock = builtin("knock")
    path = knock.build_url(sim.base_url, op_id)[len(sim.base_url) :]
    body = _fetch(sim, path, knock.auth_headers(Secrets(api_key=sim.knock_token)))
    assert knock.normalize(op_id, body) == parse_knock(body)


@pytest.mark.parametrize("duration", [1e6, 0.0])
def test_saymon_toml_reads_simulator_bodies_exactly_like_parse_saymon(sim: Simulator, duration: float) -> None:
    op_id = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=duration))
    saymon = builtin("saymon")
    path = saymon.build_url(sim.base_url, op_id)[len(sim.base_url) :]
    secrets = Secrets(login=sim.saymon_login, password=sim.saymon_password)
    body = _fetch(sim, path, saymon.auth_headers(secrets))
    expected = parse_saymon(op_id, body)
    assert saymon.normalize(op_id, body) == expected
    assert expected.status is (Status.COMPLETED if duration == 0 else Status.PROCESSING)


TIMESTAMP = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)).map(
    lambda d: d.isoformat().replace("+00:00", "Z")
)
COUNT = st.integers(min_value=0, max_value=2**53)
KNOCK_BODIES = st.fixed_dictionaries(
    {
        "__typename": st.text(max_size=10),
        "id": st.uuids().map(str),
        "name": st.text(max_size=20),
        "status": st.sampled_from(["queued", "processing", "completed", "failed"]),
        "estimated_total_rows": COUNT,
        "processed_rows": COUNT,
        "success_count": COUNT,
        "inserted_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    optional={
        "error_count": COUNT,
        "started_at": st.none() | TIMESTAMP,
        "completed_at": st.none() | TIMESTAMP,
        "failed_at": st.none() | TIMESTAMP,
        "progress_path": st.text(max_size=20),
        "error_items": st.lists(
            st.fixed_dictionaries(
                {"id": st.text(max_size=8)}, optional={"collection": st.none() | st.text(max_size=8)}
            ),
            max_size=4,
        ),
        "extra": st.integers(),
    },
)


@settings(max_examples=200, deadline=None)
@given(KNOCK_BODIES)
def test_knock_toml_matches_parse_knock_on_generated_bodies(body: dict[str, Any]) -> None:
    expected = parse_knock(body)
    assert builtin("knock").normalize(body["id"], body) == expected
    assert isinstance(expected.id, UUID)


@settings(max_examples=50, deadline=None)
@given(st.booleans(), st.dictionaries(st.text(max_size=5).map("x{}".format), st.integers(), max_size=3))
def test_saymon_toml_matches_parse_saymon_on_generated_bodies(finished: bool, extra: dict[str, int]) -> None:
    body = {"finished": finished, **extra}
    assert builtin("saymon").normalize("job-1", body) == parse_saymon("job-1", body)


@pytest.mark.parametrize(
    "body",
    [{}, {"finished": None}, {"finished": "true"}, {"finished": 1}, {"finished": 0}, {"finished": []}],
)
def test_saymon_toml_refuses_what_parse_saymon_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidResponse):
        parse_saymon("job-1", body)
    with pytest.raises(InvalidResponse):
        builtin("saymon").normalize("job-1", body)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "done"},
        {"status": None},
        {"name": None},
        {"processed_rows": "5"},
        {"estimated_total_rows": True},
        {"inserted_at": "2026-01-01"},
        {"id": "not-a-uuid"},
        {"error_items": [{"collection": "users"}]},
    ],
)
def test_knock_toml_refuses_what_parse_knock_refuses(change: dict[str, Any]) -> None:
    body = {
        "__typename": "BulkOperation",
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "name": "n",
        "status": "queued",
        "estimated_total_rows": 1,
        "processed_rows": 0,
        "success_count": 0,
        "inserted_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    body.update(change)
    with pytest.raises(InvalidResponse):
        parse_knock(body)
    with pytest.raises(InvalidResponse):
        builtin("knock").normalize(body["id"] or "x", body)


def test_builtin_names_list_every_file_in_the_builtin_directory() -> None:
    from pathlib import Path

    import bulkop.providers

    files = sorted(p.stem for p in (Path(bulkop.providers.__file__).parent / "builtin").glob("*.toml"))
    assert files == sorted(BUILTIN_NAMES)


PATHS = st.lists(st.sampled_from(["a", "b", "_c", "d1"]), min_size=1, max_size=3).map(".".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "_c", "d1"]), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(PATHS, JSONISH)
def test_plain_paths_read_exactly_what_jmespath_reads(path: str, body: Any) -> None:
    import jmespath

    from bulkop.providers.definition import _compile

    expr = _compile("x", path)
    assert expr.path is not None
    assert expr.search(body) == jmespath.search(path, body)


ERROR_BODIES = [
    {"code": "invalid_api_key", "message": "The API key provided is invalid", "status": 401, "type": "x"},
    {"code": "resource_missing", "message": None},
    {"code": "rate_limit_exceeded"},
    {"code": "", "message": "m"},
    {"code": 401, "message": "Unauthorized"},
    {"errors": {"detail": "404 Not Found"}},
    {"errors": {"detail": 4}},
    {"errors": "x"},
    {"message": "only a message"},
    {"error": "e", "detail": "d"},
    {"code": "x\x1b[31m", "message": "\u202eevil"},
    {"code": "c", "message": "y" * 300},
    [1, 2],
    "text",
    None,
]


@pytest.mark.parametrize("body", ERROR_BODIES)
def test_error_messages_match_todays_knock_and_saymon_modules(body: Any) -> None:
    """The Client describes an error body with its definition (api/knock.py and api/saymon.py,
    which these definitions were proved equal to, are gone)."""
    from bulkop.api import Client
    from bulkop.api.http import Response

    response = Response(400, "application/json", json.dumps(body).encode(), httpx.Headers())
    knock = Client("knock", "https://h.example", api_key="k")
    saymon = Client("saymon", "https://h.example", login="u", password="p")
    assert builtin("knock").describe_error(body) == knock._describe(response)
    assert builtin("saymon").describe_error(body) == saymon._describe(response)


def test_check_user_tables_parses_every_user_definition() -> None:
    from bulkop.providers import check_user_tables

    defs = check_user_tables({"acme": ACME, "other": acme(auth="basic")})
    assert set(defs) == {"acme", "other"} and defs["other"].auth == "basic"
    assert check_user_tables(None) == {}
    with pytest.raises(ConfigError, match=r"providers\.other\.fields\.total"):
        check_user_tables({"acme": ACME, "other": acme_with("fields", total="[")})
    with pytest.raises(ConfigError, match="is a built-in provider"):
        check_user_tables({"saymon": ACME})


def test_the_documented_example_definition_parses() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "providers.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    defn = resolve("acme", tomllib.loads(block)["providers"])
    assert defn.auth_headers(Secrets(api_key="k")) == {"Acme-Version": "2024-01", "Authorization": "Token k"}
    op = defn.normalize("42", {"job": {"state": "DONE", "title": "t", "of": 3, "key": "42", "created": 1458585884904}})
    assert (op.status, op.name, op.estimated_total_rows, op.id) == (Status.COMPLETED, "t", 3, "42")
    assert op.inserted_at == datetime(2016, 3, 21, 18, 44, 44, 904000, tzinfo=UTC)


def _saymon_normalize_id(op_id: str) -> str:
    """What api/saymon.py (removed: SAYMON is now only its definition) accepted as an id."""
    op_id = op_id.strip()
    if not op_id or len(op_id) > 200 or not op_id.isprintable() or "/" in op_id:
        raise UsageError(op_id)
    return op_id


@pytest.mark.parametrize("op_id", ["a/b", "x" * 201, "job\x00", ""])
def test_saymon_ids_refused_as_today(op_id: str) -> None:
    with pytest.raises(UsageError):
        _saymon_normalize_id(op_id)
    with pytest.raises(UsageError):
        builtin("saymon").check_id(op_id)


@pytest.mark.parametrize("op_id", ["5f0c0ffee0ddba11", "job 1", "x" * 200, "a?b"])
def test_saymon_ids_accepted_as_today(op_id: str) -> None:
    from urllib.parse import quote

    assert builtin("saymon").check_id(op_id) == _saymon_normalize_id(op_id)
    expected = f"http://h/node/api/bulk/{quote(_saymon_normalize_id(op_id), safe='')}/status"
    assert builtin("saymon").build_url("http://h", op_id) == expected
