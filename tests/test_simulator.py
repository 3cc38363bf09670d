"""The simulator over real HTTP on 127.0.0.1: contract, auth, lifecycle, bursts, faults, control."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import http.client
import json
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bulkop.simulator import RecordedRequest, Scenario, Simulator, demo_scenarios
from bulkop.simulator.external import SimulatorProcess
from bulkop.simulator.faults import FAULTS
from bulkop.simulator.loadtest import hammer
from bulkop.simulator.scenario import fields_help, fields_markdown
from conftest import minimal_env
from helpers import FakeClock

CONTRACT = Path(__file__).resolve().parent.parent / "contract/knock-bulk-operations-openapi.yml"
TOKEN = "sk_test_bulkop_demo"
KNOCK_AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAYMON_AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo:demo-password").decode()}


# -- a JSON-schema subset, enough for the OpenAPI contract ----------------------------------------

_ANNOTATIONS = {"description", "example", "title", "x-struct", "x-validate"}
_KEYWORDS = {"type", "required", "nullable", "enum", "format", "items", "properties"}
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _is_datetime(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


_FORMATS = {
    "uuid": lambda v: bool(_UUID.match(v)),
    "date-time": _is_datetime,
    "uri": _is_uri,
}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    unsupported = set(schema) - _ANNOTATIONS - _KEYWORDS
    assert not unsupported, f"validator does not support {unsupported} at {where}"
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    expected = schema.get("type")
    if expected is not None and not _TYPES[expected](value):
        return [f"{where}: expected {expected}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "format" in schema and not _FORMATS[schema["format"]](value):
        errors.append(f"{where}: {value!r} is not a {schema['format']}")
    errors += [f"{where}: missing {name}" for name in schema.get("required", ()) if name not in value]
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            errors += schema_errors(value[name], sub, f"{where}.{name}")
    for index, item in enumerate(value if "items" in schema else ()):
        errors += schema_errors(item, schema["items"], f"{where}[{index}]")
    return errors


@pytest.fixture(scope="module")
def bulk_operation_schema() -> dict[str, Any]:
    contract = yaml.safe_load(CONTRACT.read_text())
    return contract["components"]["schemas"]["BulkOperation"]


# -- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def sim(clock: FakeClock):
    with Simulator(clock=clock) as simulator:
        yield simulator


def request(
    sim: Simulator,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def knock(sim: Simulator, op_id: str, headers: dict[str, str] | None = None):
    return request(sim, f"/v1/bulk_operations/{op_id}", KNOCK_AUTH if headers is None else headers)


def knock_ok(sim: Simulator, op_id: str, schema: dict[str, Any]) -> dict[str, Any]:
    """GET a Knock operation, asserting 200 and that the body satisfies the OpenAPI schema."""
    status, headers, body = knock(sim, op_id)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    data = json.loads(body)
    assert schema_errors(data, schema) == []
    return data


def saymon(sim: Simulator, op_id: str, headers: dict[str, str] | None = None):
    return request(sim, f"/node/api/bulk/{op_id}/status", SAYMON_AUTH if headers is None else headers)


# -- the contract ----------------------------------------------------------------------------------

ALL_FIELDS = {
    "__typename", "id", "name", "status", "estimated_total_rows", "processed_rows",
    "success_count", "error_count", "error_items", "inserted_at", "updated_at", "started_at",
    "completed_at", "failed_at", "progress_path",
}  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "at", "status"),
    [
        (Scenario(), 0.1, "queued"),
        (Scenario(total_rows=1000, duration=10, error_rate=0.1), 5.0, "processing"),
        (Scenario(total_rows=1000, duration=10, error_rate=0.1), 11.0, "completed"),
        (Scenario(total_rows=1000, duration=10, error_rate=0.2, fail_at=0.6), 8.0, "failed"),
        (Scenario(extra_fields={"tenant": "acme", "meta": {"a": [1]}}), 100.0, "completed"),
        (Scenario(total_rows=0, estimated_total_rows=0), 1.0, "completed"),
    ],
    ids=["queued", "processing", "completed", "failed", "extra_fields", "empty"],
)
def test_every_knock_body_satisfies_the_openapi_schema(sim, clock, bulk_operation_schema, scenario, at, status):
    op_id = sim.add(scenario)
    clock.t = at
    data = knock_ok(sim, op_id, bulk_operation_schema)
    assert data["status"] == status
    assert set(data) >= ALL_FIELDS
    assert data["progress_path"] == f"{sim.base_url}/v1/bulk_operations/{op_id}"
    assert data["success_count"] + data["error_count"] == data["processed_rows"]
    assert len(data["error_items"]) == data["error_count"]
    for key, value in scenario.extra_fields.items():
        assert data[key] == value


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d.update(processed_rows="5"),
        lambda d: d.update(status="done"),
        lambda d: d.update(id="not-a-uuid"),
        lambda d: d.update(inserted_at="2026-11-22 12:00"),
        lambda d: d.update(updated_at=None),
        lambda d: d.pop("success_count"),
        lambda d: d.update(error_items=[{"collection": "users"}]),
        lambda d: d.update(error_count=True),
    ],
)
def test_the_schema_validator_rejects_what_the_contract_forbids(sim, bulk_operation_schema, mutation):
    data = knock_ok(sim, sim.add(Scenario()), bulk_operation_schema)
    mutation(data)
    assert schema_errors(data, bulk_operation_schema)


def test_timestamps_follow_the_fixed_epoch_and_simulated_time(sim, clock, bulk_operation_schema):
    op_id = sim.add(Scenario(total_rows=100, queued_seconds=2, duration=10))
    clock.t = 30
    data = knock_ok(sim, op_id, bulk_operation_schema)
    assert data["inserted_at"] == "2026-11-22T12:00:00Z"
    assert data["started_at"] == "2026-11-22T12:00:02Z"
    assert data["completed_at"] == data["updated_at"] == "2026-11-22T12:00:12Z"
    assert data["failed_at"] is None


# -- auth and errors -------------------------------------------------------------------------------


def test_knock_refuses_a_missing_or_wrong_token_in_knocks_shape(sim):
    op_id = sim.add(Scenario())
    status, headers, body = knock(sim, op_id, headers={})
    assert (status, headers["content-type"]) == (401, "application/json")
    assert json.loads(body) == {
        "code": "api_key_missing",
        "message": "No valid API key provided",
        "status": 401,
        "type": "authentication_error",
    }
    for authorization, code in [("Bearer sk_test_wrong", "invalid_api_key"), ("Basic ZGVtbzpkZW1v", "api_key_missing")]:
        status, _, body = knock(sim, op_id, headers={"Authorization": authorization})
        assert (status, json.loads(body)["code"], json.loads(body)["type"]) == (401, code, "authentication_error")


def test_unknown_operation_is_a_knock_404_and_unknown_route_the_router_404(sim):
    status, _, body = knock(sim, str(uuid.uuid4()))
    assert status == 404
    assert json.loads(body) == {
        "code": "resource_missing",
        "message": "The resource you requested does not exist",
        "status": 404,
        "type": "invalid_request_error",
    }
    saymon_id = sim.add(Scenario(provider="saymon"))
    assert json.loads(knock(sim, saymon_id)[2])["code"] == "resource_missing"
    for path in ("/v1/bulk_operation/x", "/v1/bulk_operations/", "/v1/bulk_operations/a/b", "/"):
        status, _, body = request(sim, path, KNOCK_AUTH)
        assert (status, json.loads(body)) == (404, {"errors": {"detail": "404 Not Found"}}), path


def test_non_get_on_the_knock_route_is_405_and_the_connection_stays_usable(sim):
    op_id = sim.add(Scenario())
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        conn.request("POST", f"/v1/bulk_operations/{op_id}", body=b'{"x": 1}', headers=KNOCK_AUTH)
        response = conn.getresponse()
        assert (response.status, response.getheader("Allow")) == (405, "GET, HEAD")
        response.read()
        conn.request("GET", f"/v1/bulk_operations/{op_id}", headers=KNOCK_AUTH)
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_saymon_basic_auth_and_finished_flag(sim, clock):
    op_id = sim.add(Scenario(provider="saymon", queued_seconds=1, duration=5))
    assert saymon(sim, op_id)[::2] == (200, b'{"finished":false}')
    clock.t = 6.0
    status, headers, body = saymon(sim, op_id)
    assert (status, json.loads(body)) == (200, {"finished": True})
    assert headers["content-type"] == "application/json"

    wrong = {"Authorization": "Basic " + base64.b64encode(b"demo:guess").decode()}
    for bad in ({}, wrong, KNOCK_AUTH):
        status, headers, body = saymon(sim, op_id, bad)
        assert (status, json.loads(body)) == (401, {"code": 401, "message": "Unauthorized"})
        assert headers["www-authenticate"] == 'Basic realm="saymon"'
    assert saymon(sim, "0123456789abcdef01234567")[0] == 404
    assert saymon(sim, sim.add(Scenario()))[0] == 404  # a Knock id is not a SAYMON operation


# -- methods, routes and headers: what third-party tools (Schemathesis, Prism, SDK tests) see -------

ROUTER_404 = {"errors": {"detail": "404 Not Found"}}
ROUTER_405 = {"errors": {"detail": "405 Method Not Allowed"}}
SAYMON_404 = {"code": 404, "message": "Not Found"}
SAYMON_405 = {"code": 405, "message": "Method Not Allowed"}
KNOCK_404 = {
    "code": "resource_missing",
    "message": "The resource you requested does not exist",
    "status": 404,
    "type": "invalid_request_error",
}
OTHER_METHODS = ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO", "get", "PROPFIND")


def route_classes(sim: Simulator) -> list[tuple[str, list[str], dict[str, str], tuple[int, Any], Any]]:
    """(name, paths, headers, what GET answers as (status, body check), what any other method answers)."""
    knock_id = sim.add(Scenario())
    saymon_id = sim.add(Scenario(provider="saymon"))
    is_operation = lambda b: b["__typename"] == "BulkOperation" and b["id"] == knock_id  # noqa: E731
    return [
        ("knock operation", [f"/v1/bulk_operations/{knock_id}", f"/v1/bulk_operations/{knock_id}?x=1"],
         KNOCK_AUTH, (200, is_operation), (405, ROUTER_405)),
        ("knock unknown id", [f"/v1/bulk_operations/{uuid.uuid4()}", f"/v1/bulk_operations/{saymon_id}"],
         KNOCK_AUTH, (404, KNOCK_404), (405, ROUTER_405)),
        ("saymon operation", [f"/node/api/bulk/{saymon_id}/status"],
         SAYMON_AUTH, (200, lambda b: isinstance(b["finished"], bool)), (405, SAYMON_405)),
        ("saymon unknown id", ["/node/api/bulk/0123456789abcdef01234567/status", f"/node/api/bulk/{knock_id}/status"],
         SAYMON_AUTH, (404, SAYMON_404), (405, SAYMON_405)),
        ("saymon unknown route", ["/node/api/bulks/x/status", f"/node/api/bulk/{saymon_id}", "/node/api",
                                  "/node/api/", "/node/api/objects?limit=1", "/node/api/bulk//status"],
         SAYMON_AUTH, (404, SAYMON_404), (404, SAYMON_404)),
        ("unknown route", ["/", "/v1/bulk_operations/", "/v1/bulk_operations/a/b", "/v1/users", "/node/apix",
                           "/node", "/_simx"],
         KNOCK_AUTH, (404, ROUTER_404), (404, ROUTER_404)),
    ]  # fmt: skip


def exchange(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]):
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_every_method_on_every_route_class_answers_json_in_the_routes_shape(sim):
    """GET answers per route; HEAD answers exactly like GET without the body; every other method
    (known to HTTP or not, TRACE and FOO included) gets the route's JSON 405 with `Allow: GET, HEAD`
    on a real route and the API's 404 elsewhere. All on one keep-alive connection per path, so a
    stray body byte after a HEAD or an HTML error page would break the next exchange."""
    for name, paths, auth, (get_status, get_check), (other_status, other_body) in route_classes(sim):
        for path in paths:
            conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
            try:
                status, get_headers, body = exchange(conn, "GET", path, auth)
                assert status == get_status, (name, path, body)
                assert get_check(json.loads(body)) if callable(get_check) else json.loads(body) == get_check
                assert get_headers["content-type"] == "application/json"
                assert int(get_headers["content-length"]) == len(body)
                assert "allow" not in get_headers

                status, head_headers, head_body = exchange(conn, "HEAD", path, auth)
                assert (status, head_body) == (get_status, b""), (name, path)
                assert {k: v for k, v in head_headers.items() if k != "date"} == {
                    k: v for k, v in get_headers.items() if k != "date"
                }, (name, path)

                for method in OTHER_METHODS:
                    status, headers, body = exchange(conn, method, path, auth)
                    assert (status, json.loads(body)) == (other_status, other_body), (name, path, method)
                    assert headers["content-type"] == "application/json"
                    assert headers["server"] == "bulkop-simulator"
                    if other_status == 405:
                        assert headers["allow"] == "GET, HEAD", (name, path, method)
                    else:
                        assert "allow" not in headers
                assert exchange(conn, "GET", path, auth)[0] == get_status  # still in sync
            finally:
                conn.close()


def test_head_is_recorded_and_counts_like_get(sim):
    op_id = sim.add(Scenario(rate_limit=1))
    assert request(sim, f"/v1/bulk_operations/{op_id}", KNOCK_AUTH, "HEAD")[::2] == (429, b"")
    status, headers, body = request(sim, f"/v1/bulk_operations/{op_id}", KNOCK_AUTH, "HEAD")
    assert (status, body) == (200, b"") and int(headers["content-length"]) > 100
    assert [(r.method, r.status) for r in sim.requests_for(op_id)] == [("HEAD", 429), ("HEAD", 200)]


@pytest.mark.parametrize("fault", ["huge", "gzip", "html_200", "redirect", "invalid_json"])
def test_head_on_a_fault_sends_its_head_and_no_body(sim, fault):
    """The faults that write their own body send none to HEAD: the next request on the same
    connection still gets its own answer."""
    faulty = sim.add(Scenario(fault=fault, huge_bytes=1_000_000))
    healthy = sim.add(Scenario())
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        status, headers, body = exchange(conn, "HEAD", f"/v1/bulk_operations/{faulty}", KNOCK_AUTH)
        get_status, get_headers, _ = request(sim, f"/v1/bulk_operations/{faulty}", KNOCK_AUTH)
        assert (status, body) == (get_status, b"")
        assert headers["content-length"] == get_headers["content-length"]
        assert headers["content-type"] == get_headers["content-type"]
        status, _, body = exchange(conn, "GET", f"/v1/bulk_operations/{healthy}", KNOCK_AUTH)
        assert status == 200 and json.loads(body)["id"] == healthy
    finally:
        conn.close()


def raw_exchange(sim: Simulator, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_bytes", "status", "body"),
    [
        (b"GET /v1/bulk_operations/x HTTP/1.1\r\nConnection: close\r\n\r\n", 401, None),
        (b"TRACE / HTTP/1.1\r\nConnection: close\r\n\r\n", 404, ROUTER_404),
        (b"FOO /node/api/bulk/x/status HTTP/1.1\r\nConnection: close\r\n\r\n", 405, SAYMON_405),
        (b"GET / HTTP/2.0\r\n\r\n", 505, {"errors": {"detail": "505 HTTP Version Not Supported"}}),
        (b"GET /node/api/bulk HTTP/3.0\r\n\r\n", 505, {"code": 505, "message": "HTTP Version Not Supported"}),
        (b"GARBAGE\r\n\r\n", 400, {"errors": {"detail": "400 Bad Request"}}),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, {"errors": {"detail": "400 Bad Request"}}),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, {"errors": {"detail": "414 Request-URI Too Long"}}),
    ],
    ids=["api-error", "trace", "unknown-method", "http2", "http3-saymon", "garbage", "bad-header", "long-uri"],
)
def test_server_header_has_no_trailing_space_and_malformed_requests_get_json(sim, request_bytes, status, body):
    """The bytes on the wire: `Server: bulkop-simulator` exactly (http.server appends
    " " + sys_version to its own error responses), and even a request the parser refuses gets JSON."""
    answer = raw_exchange(sim, request_bytes)
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"Server: bulkop-simulator" in lines
    assert not [line for line in lines if line != line.rstrip()]
    assert b"Content-Type: application/json" in lines
    assert f"Content-Length: {len(payload)}".encode() in lines
    if body is not None:
        assert json.loads(payload) == body


# -- lifecycle -------------------------------------------------------------------------------------


def test_lifecycle_follows_the_simulated_clock(sim, clock, bulk_operation_schema):
    op_id = sim.add(Scenario(total_rows=1000, queued_seconds=1, duration=10, error_rate=0.05))
    seen = []
    for at in (0, 0.99, 1.0, 3.5, 6.0, 10.9, 11.0, 50.0):
        clock.t = at
        seen.append(knock_ok(sim, op_id, bulk_operation_schema))
    assert [d["status"] for d in seen] == ["queued"] * 2 + ["processing"] * 4 + ["completed"] * 2
    assert [d["processed_rows"] for d in seen] == [0, 0, 0, 250, 500, 990, 1000, 1000]
    assert seen[0]["started_at"] is None and seen[2]["started_at"] == "2026-11-22T12:00:01Z"
    errors = [d["error_count"] for d in seen]
    assert errors == sorted(errors) and errors[-1] == 50
    assert all(d["completed_at"] is None for d in seen[:6])
    # updated_at moves with processed_rows only.
    assert seen[4]["updated_at"] == "2026-11-22T12:00:06Z"
    assert seen[6]["completed_at"] == seen[7]["updated_at"] == "2026-11-22T12:00:11Z"


def test_speed_multiplies_simulated_time(clock):
    with Simulator(clock=clock, speed=100) as sim:
        op_id = sim.add(Scenario(total_rows=3000, queued_seconds=0, rows_per_second=100))
        clock.t = 0.15  # 15 simulated seconds
        assert json.loads(knock(sim, op_id)[2])["processed_rows"] == 1500
        clock.t = 0.3
        assert json.loads(knock(sim, op_id)[2])["status"] == "completed"
        assert sim.now() == pytest.approx(30)


def test_fail_at_stops_processing_and_sets_failed_at(sim, clock, bulk_operation_schema):
    op_id = sim.add(Scenario(name="users.bulk_delete", total_rows=1000, duration=10, error_rate=0.1, fail_at=0.6))
    clock.t = 6.49
    assert knock_ok(sim, op_id, bulk_operation_schema)["status"] == "processing"
    clock.t = 6.5
    failed = knock_ok(sim, op_id, bulk_operation_schema)
    clock.t = 100
    assert knock_ok(sim, op_id, bulk_operation_schema) == failed
    assert failed["status"] == "failed"
    assert failed["processed_rows"] == 600
    assert failed["failed_at"] == failed["updated_at"] == "2026-11-22T12:00:06.500000Z"
    assert failed["completed_at"] is None
    assert 0 < failed["error_count"] < 100
    ids = [item["id"] for item in failed["error_items"]]
    assert len(set(ids)) == len(ids) == failed["error_count"]
    assert all(re.fullmatch(r"user_\d{5}", i) and int(i[5:]) < 600 for i in ids)
    assert {item["collection"] for item in failed["error_items"]} == {"users", None}


def test_estimated_total_rows_can_undershoot_what_is_processed(sim, clock, bulk_operation_schema):
    op_id = sim.add(Scenario(total_rows=1200, estimated_total_rows=1000, duration=1))
    clock.t = 5
    data = knock_ok(sim, op_id, bulk_operation_schema)
    assert (data["estimated_total_rows"], data["processed_rows"]) == (1000, 1200)


def test_error_items_and_ids_are_deterministic_from_the_seed(clock):
    def run(seed: int) -> tuple[str, list]:
        clock.t = 0
        with Simulator(clock=clock, seed=seed) as sim:
            op_id = sim.add(Scenario(total_rows=500, duration=1, error_rate=0.05))
            clock.t = 10
            return op_id, json.loads(knock(sim, op_id)[2])["error_items"]

    first = run(7)
    assert run(7) == first
    other = run(8)
    assert other[0] != first[0] and other[1] != first[1]


# -- bursts and latency ----------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_then_recovers(sim):
    op_id = sim.add(Scenario(rate_limit=2, retry_after="2"))
    for _ in range(2):
        status, headers, body = knock(sim, op_id)
        assert (status, headers["retry-after"]) == (429, "2")
        assert json.loads(body) == {
            "code": "rate_limit_exceeded",
            "message": "Rate limit exceeded, please retry later",
            "status": 429,
            "type": "rate_limit_error",
        }
    assert knock(sim, op_id)[0] == 200

    http_date = "Sun, 22 Nov 2026 12:00:05 GMT"
    dated = sim.add(Scenario(rate_limit=1, retry_after=http_date))
    assert knock(sim, dated)[1]["retry-after"] == http_date
    bare = sim.add(Scenario(rate_limit=1, retry_after=None))
    status, headers, _ = knock(sim, bare)
    assert status == 429 and "retry-after" not in headers


def test_server_errors_follow_the_rate_limited_requests(sim):
    op_id = sim.add(Scenario(rate_limit=1, server_errors=2, server_error_status=502))
    statuses = [knock(sim, op_id)[0] for _ in range(4)]
    assert statuses == [429, 502, 502, 200]
    body = json.loads(knock(sim, sim.add(Scenario(server_errors=1)))[2])
    assert body == {
        "code": "internal_error",
        "message": "Service Unavailable",
        "status": 503,
        "type": "api_error",
    }
    saymon_id = sim.add(Scenario(provider="saymon", server_errors=1, server_error_status=500))
    assert saymon(sim, saymon_id)[::2] == (500, b'{"code":500,"message":"Internal Server Error"}')
    assert saymon(sim, saymon_id)[0] == 200


def test_latency_delays_each_answer_in_real_seconds(sim):
    op_id = sim.add(Scenario(latency=0.15))
    started = time.monotonic()
    assert knock(sim, op_id)[0] == 200
    assert time.monotonic() - started >= 0.15


# -- connection handling ---------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(sim):
    op_id = sim.add(Scenario())
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        sockets = set()
        started = time.monotonic()
        for _ in range(20):
            conn.request("GET", f"/v1/bulk_operations/{op_id}", headers=KNOCK_AUTH)
            response = conn.getresponse()
            assert response.status == 200 and not response.will_close
            assert int(response.getheader("Content-Length")) == len(response.read())
            sockets.add(id(conn.sock))
        assert len(sockets) == 1
        # A response split across writes with Nagle on would stall ~40 ms each (delayed ACK).
        assert time.monotonic() - started < 0.4
    finally:
        conn.close()


def test_connection_close_is_honoured(sim):
    status, headers, _ = request(sim, "/nope", {"Connection": "close"})
    assert (status, headers["connection"]) == (404, "close")


def test_requests_are_recorded_with_lowercase_headers_and_status(sim):
    op_id = sim.add(Scenario())
    other = sim.add(Scenario(provider="saymon"))
    before = time.monotonic()
    knock(sim, op_id, {"Authorization": f"Bearer {TOKEN}", "X-Trace": "1"})
    request(sim, f"/v1/bulk_operations/{op_id}?expand=1", KNOCK_AUTH)
    saymon(sim, other, {})
    request(sim, "/_sim/requests")  # control routes are not recorded
    recorded = sim.requests
    assert [r.status for r in recorded] == [200, 200, 401]
    first = recorded[0]
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path) == ("GET", f"/v1/bulk_operations/{op_id}")
    assert first.headers["authorization"] == f"Bearer {TOKEN}" and first.headers["x-trace"] == "1"
    assert before <= first.time <= time.monotonic()
    assert [r.status for r in sim.requests_for(op_id)] == [200, 200]
    assert [r.status for r in sim.requests_for(other)] == [401]
    sim.clear_requests()
    assert sim.requests == []


def test_no_per_request_logging(sim, capfd):
    request(sim, "/nope")
    knock(sim, sim.add(Scenario()))
    assert capfd.readouterr() == ("", "")


def test_stop_closes_idle_keep_alive_connections_and_the_listener(clock):
    sim = Simulator(clock=clock).start()
    op_id = sim.add(Scenario())
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        conn.request("GET", f"/v1/bulk_operations/{op_id}", headers=KNOCK_AUTH)
        conn.getresponse().read()
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 1
        assert conn.sock.recv(1) == b""  # the server closed its end
    finally:
        conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()
    sim.stop()  # idempotent


# -- control API -----------------------------------------------------------------------------------


def post_json(sim: Simulator, path: str, payload: Any) -> tuple[int, Any]:
    status, _, body = request(sim, path, {"Content-Type": "application/json"}, "POST",
                              json.dumps(payload).encode())  # fmt: skip
    return status, json.loads(body)


def test_control_api_adds_lists_and_resets(sim, bulk_operation_schema):
    status, created = post_json(sim, "/_sim/operations", {"name": "users.identify", "id": None})
    assert status == 201
    assert created["provider"] == "knock"
    assert created["path"] == f"/v1/bulk_operations/{created['id']}"
    assert created["url"] == sim.base_url + created["path"]
    assert knock_ok(sim, created["id"], bulk_operation_schema)["name"] == "users.identify"

    status, batch = post_json(sim, "/_sim/operations/batch", [{"provider": "saymon", "id": "job-1"}, {"total_rows": 5}])
    assert status == 201
    assert [b["provider"] for b in batch] == ["saymon", "knock"]
    assert batch[0]["path"] == "/node/api/bulk/job-1/status"
    assert saymon(sim, "job-1")[0] == 200

    assert post_json(sim, "/_sim/operations", {"provider": "saymon", "id": "job-1"})[0] == 409
    status, error = post_json(sim, "/_sim/operations", {"totl_rows": 5})
    assert status == 400 and "totl_rows" in error["error"]
    assert post_json(sim, "/_sim/operations", {"fault": "nope"})[0] == 400
    assert post_json(sim, "/_sim/operations/batch", [{}, {"error_rate": 2}])[0] == 400
    assert request(sim, "/_sim/operations", method="POST", body=b"{nope")[0] == 400
    assert request(sim, "/_sim/operations")[0] == 405
    assert request(sim, "/_sim/elsewhere")[0] == 404

    status, _, body = request(sim, "/_sim/requests")
    counts = json.loads(body)
    assert status == 200 and counts["count"] == 2
    assert counts["by_path"] == {created["path"]: 1, batch[0]["path"]: 1}
    assert counts["by_status"] == {"200": 2}

    assert post_json(sim, "/_sim/reset", {}) == (200, {"reset": True})
    assert knock(sim, created["id"])[0] == 404
    assert sim.requests_for(created["id"])[-1].status == 404 and len(sim.requests) == 1


# -- faults ----------------------------------------------------------------------------------------

FAULT_TESTS: set[str] = set()


def fault_test(name: str):
    FAULT_TESTS.add(name)
    return lambda fn: fn


def open_fault(sim: Simulator, fault: str, timeout: float = 5.0, **fields: Any):
    op_id = sim.add(Scenario(fault=fault, **fields))
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=timeout)
    conn.request("GET", f"/v1/bulk_operations/{op_id}", headers=KNOCK_AUTH)
    return op_id, conn


@fault_test("hang")
def test_fault_hang_never_answers_until_stop(clock):
    sim = Simulator(clock=clock).start()
    op_id, conn = open_fault(sim, "hang", timeout=0.3)
    try:
        with pytest.raises(TimeoutError):
            conn.getresponse()
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 1
        assert [r.status for r in sim.requests_for(op_id)] == [0]
    finally:
        conn.close()
        sim.stop()


@fault_test("close_mid_body")
def test_fault_close_mid_body(sim):
    _, conn = open_fault(sim, "close_mid_body")
    try:
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        conn.close()


@fault_test("disconnect")
def test_fault_disconnect(sim):
    op_id, conn = open_fault(sim, "disconnect")
    try:
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()
    finally:
        conn.close()
    assert [r.status for r in sim.requests_for(op_id)] == [0]


def fault_response(sim: Simulator, fault: str, **fields: Any) -> tuple[int, dict[str, str], bytes]:
    return knock(sim, sim.add(Scenario(fault=fault, **fields)))


@fault_test("invalid_json")
@fault_test("truncated_json")
def test_faults_with_broken_json(sim):
    for fault in ("invalid_json", "truncated_json"):
        status, headers, body = fault_response(sim, fault)
        assert (status, headers["content-type"]) == (200, "application/json")
        assert int(headers["content-length"]) == len(body) > 10
        with pytest.raises(ValueError):
            json.loads(body)


@fault_test("html_200")
def test_fault_html_200(sim):
    status, headers, body = fault_response(sim, "html_200")
    assert (status, headers["content-type"]) == (200, "text/html")
    assert body.startswith(b"<html>")


@fault_test("empty_body")
def test_fault_empty_body(sim):
    status, headers, body = fault_response(sim, "empty_body")
    assert (status, headers["content-length"], body) == (200, "0", b"")


@fault_test("gzip")
def test_fault_gzip(sim, bulk_operation_schema):
    status, headers, body = fault_response(sim, "gzip")
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert schema_errors(json.loads(gzip.decompress(body)), bulk_operation_schema) == []


@fault_test("wrong_shape")
def test_fault_wrong_shape(sim, bulk_operation_schema):
    data = json.loads(fault_response(sim, "wrong_shape")[2])
    assert data["processed_rows"] == "0" and data["status"] == "queued"
    assert schema_errors(data, bulk_operation_schema)
    saymon_id = sim.add(Scenario(provider="saymon", fault="wrong_shape"))
    assert json.loads(saymon(sim, saymon_id)[2]) == {"finished": "false"}


@fault_test("huge")
def test_fault_huge_streams_exactly_huge_bytes(sim):
    size = 3 * 1024 * 1024 + 7
    status, headers, body = fault_response(sim, "huge", huge_bytes=size)
    assert (status, int(headers["content-length"]), len(body)) == (200, size, size)
    assert len(json.loads(body)["padding"]) == size - len('{"padding":""}')
    # A client that gives up early does not disturb the server.
    _, conn = open_fault(sim, "huge")
    try:
        assert conn.getresponse().read(1024).startswith(b'{"padding":"')
    finally:
        conn.close()
    assert request(sim, "/nope")[0] == 404


@fault_test("redirect")
def test_fault_redirect(sim):
    status, headers, _ = fault_response(sim, "redirect", redirect_to="http://127.0.0.2:9/x")
    assert (status, headers["location"]) == (302, "http://127.0.0.2:9/x")


def test_every_fault_has_a_test():
    assert set(FAULTS) == FAULT_TESTS


def test_faults_come_after_rate_limits(sim):
    op_id = sim.add(Scenario(rate_limit=1, fault="empty_body"))
    assert [knock(sim, op_id)[::2] for _ in range(2)][1] == (200, b"")


# -- scenarios -------------------------------------------------------------------------------------


def test_scenario_round_trips_through_json():
    scenario = Scenario(provider="saymon", id="abc", name="x", fail_at=0.5, extra_fields={"k": [1]}, fault="gzip")
    assert Scenario.from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario


@pytest.mark.parametrize(
    "data",
    [
        {"provider": "github"},
        {"error_rate": 1.5},
        {"fail_at": -0.1},
        {"rows_per_second": 0},
        {"server_error_status": 404},
        {"fault": "explode"},
        {"unknown": 1},
        [],
    ],
)
def test_invalid_scenarios_are_refused(data):
    with pytest.raises(ValueError):
        Scenario.from_dict(data)


# A value of the wrong JSON type for each annotation the scenario uses.
WRONG_TYPES = {
    "int": ["5", 5.5, True, None, [5]],
    "int | None": ["5", 5.5, False, {}],
    "float": ["0.5", True, None, float("nan"), float("inf")],
    "float | None": ["0.5", False, [], float("-inf")],
    "str": [5, None, True, ["knock"]],
    "str | None": [5, 0.5, {"a": 1}],
    "dict[str, Any]": [[], "x", None, 5],
}


def scenario_fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(Scenario))


@pytest.mark.parametrize("f", [f for f in dataclasses.fields(Scenario) if f.type != "Any"], ids=lambda f: f.name)
def test_every_field_refuses_a_value_of_the_wrong_type_naming_field_and_type(f):
    """A wrong type is a one-line error naming the field and the JSON type it takes (never a
    TypeError from a comparison deep inside), through from_dict and the constructor alike."""
    for value in WRONG_TYPES[f.type]:
        with pytest.raises(ValueError, match=rf"^invalid scenario: {f.name} must be of type \w+") as caught:
            Scenario.from_dict({f.name: value})
        assert "\n" not in str(caught.value)
        with pytest.raises(ValueError, match=f.name):
            Scenario(**{f.name: value})


def test_every_field_is_documented_with_its_type_and_default():
    help_text = fields_help()
    table = fields_markdown().splitlines()
    assert len(table) == 2 + len(scenario_fields())
    for f, row in zip(scenario_fields(), table[2:], strict=True):
        assert len(f.metadata["doc"]) > 10, f.name
        default = Scenario().to_dict()[f.name]
        assert f"  {f.name} (" in help_text and f"default {json.dumps(default)}): " in help_text
        assert row.startswith(f"| `{f.name}` | ") and f"`{json.dumps(default)}`" in row


@pytest.mark.parametrize(
    ("data", "named", "guess"),
    [
        ({"totl_rows": 5}, "'totl_rows'", "total_rows"),
        ({"failat": 0.5}, "'failat'", "fail_at"),
        ({"errorrate": 0.1, "name": "x"}, "'errorrate'", "error_rate"),
        ({"Provider": "saymon"}, "'Provider'", "provider"),
        ({"zzz": 1, "qqq": 2}, "fields 'zzz', 'qqq'", None),
    ],
)
def test_an_unknown_field_is_named_with_a_guess_and_every_valid_field(data, named, guess):
    with pytest.raises(ValueError) as caught:
        Scenario.from_dict(data)
    message = str(caught.value)
    assert "\n" not in message and named in message
    assert (f"did you mean {guess!r}?" in message) if guess else "did you mean" not in message
    assert message.endswith("valid fields: " + ", ".join(f.name for f in scenario_fields()))


@pytest.mark.parametrize("op_id", ["a/b", "a?b", "a#b", "50%", "", "has space", "tab\there", "é", "x" * 201])
def test_an_id_that_cannot_travel_in_a_url_path_is_refused(op_id):
    with pytest.raises(ValueError, match="id must be"):
        Scenario(id=op_id)


def test_body_serves_arbitrary_json_verbatim_through_auth_bursts_and_faults(sim):
    """Scenario.body: what a test needs when the answer itself is the point (missing fields,
    a list, a number): served as given to GET, headers only to HEAD, after the 429s, through faults."""
    for provider, path, auth in [("knock", "/v1/bulk_operations/{}", KNOCK_AUTH),
                                 ("saymon", "/node/api/bulk/{}/status", SAYMON_AUTH)]:  # fmt: skip
        for body in [{"status": "completed"}, [1, "two", None], 42, "text", {"finished": "yes", "é": "\u202e"}]:
            op_id = sim.add(Scenario(provider=provider, body=body))
            status, headers, raw = request(sim, path.format(op_id), auth)
            assert (status, json.loads(raw)) == (200, body), (provider, body)
            assert headers["content-type"] == "application/json"
            assert request(sim, path.format(op_id), auth, "HEAD")[::2] == (200, b"")
            assert request(sim, path.format(op_id), {})[0] == 401
    limited = sim.add(Scenario(body={"x": 1}, rate_limit=1, server_errors=1))
    assert [knock(sim, limited)[0] for _ in range(3)] == [429, 503, 200]
    zipped = sim.add(Scenario(body={"x": 1}, fault="gzip"))
    assert json.loads(gzip.decompress(knock(sim, zipped)[2])) == {"x": 1}
    with pytest.raises(ValueError, match="body must be plain JSON"):
        Scenario(body={"x": float("nan")})
    with pytest.raises(ValueError, match="body must be plain JSON"):
        Scenario(body={"x": object()})


def test_control_api_refuses_bad_scenarios_with_the_same_messages(sim):
    status, error = post_json(sim, "/_sim/operations", {"totl_rows": 5})
    assert status == 400
    assert "did you mean 'total_rows'?" in error["error"] and "valid fields: provider, id," in error["error"]
    status, error = post_json(sim, "/_sim/operations", {"total_rows": "5"})
    assert (status, error) == (400, {"error": "invalid scenario: total_rows must be of type integer, not a string"})
    status, error = post_json(sim, "/_sim/operations/batch", [{}, {"fail_at": "half"}])
    assert status == 400 and error["error"].startswith("scenario 2 of 2: invalid scenario: fail_at must be of type")
    assert post_json(sim, "/_sim/operations", [{}])[0] == 400  # one object here; lists go to /batch
    assert sim.requests == [] and sim._operations == {}
    for method in [m for m in OTHER_METHODS if m != "POST"] + ["GET", "HEAD"]:
        status, headers, body = request(sim, "/_sim/reset", method=method)
        assert (status, headers["allow"]) == (405, "POST"), method
        assert method == "HEAD" or method in json.loads(body)["error"]
    assert request(sim, "/_sim/requests", method="HEAD")[::2] == (200, b"")
    assert request(sim, "/_sim/requests", method="DELETE")[1]["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"name": "a"}, {"totl_rows": 1}]', "scenario 2 of 2: unknown scenario field 'totl_rows'"),
        ('{"error_rate": "high"}', "error_rate must be of type number"),
        ('{"fail_at": 2}', "fail_at must be within 0..1"),
        ("[1]", "a scenario must be a JSON object"),
        ("{nope", "scenarios.json"),
    ],
)
def test_entry_point_refuses_a_bad_scenarios_file_in_one_line_exit_2(tmp_path, content, expected):
    path = tmp_path / "scenarios.json"
    path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "bulkop.simulator", "--scenarios", str(path)],
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {path}: ")
    assert expected in proc.stderr


def test_demo_scenarios_tell_the_advertised_story(sim, clock, bulk_operation_schema):
    demo = demo_scenarios()
    assert [s.name for s in demo] == [
        "users.identify", "objects.bulk_set", "users.bulk_delete", "saymon nightly import",
    ]  # fmt: skip
    fast, slow, failing, nightly = (sim.add(s) for s in demo)
    clock.t = 3.9
    assert knock_ok(sim, fast, bulk_operation_schema)["status"] == "processing"
    clock.t = 4.0
    assert knock_ok(sim, fast, bulk_operation_schema)["processed_rows"] == 1000
    assert saymon(sim, nightly)[2] == b'{"finished":false}'
    clock.t = 8.0
    assert saymon(sim, nightly)[2] == b'{"finished":true}'
    failed = knock_ok(sim, failing, bulk_operation_schema)
    assert failed["status"] == "failed" and failed["error_items"]
    assert failed["processed_rows"] == 0.6 * failed["estimated_total_rows"]
    assert knock_ok(sim, slow, bulk_operation_schema)["status"] == "processing"
    clock.t = 20.0
    done = knock_ok(sim, slow, bulk_operation_schema)
    assert (done["status"], done["processed_rows"]) == ("completed", 50_000)
    assert 0 < done["error_count"] < 500


# -- processes -------------------------------------------------------------------------------------


@pytest.fixture
def buffered_stdout(monkeypatch):
    """Children get block-buffered stdout as users' do, so a missing flush would hang them."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)


@pytest.mark.usefixtures("buffered_stdout")
def test_entry_point_announces_itself_and_exits_0_on_sigint():
    with SimulatorProcess("--demo", "--speed", "50") as proc:
        info = proc.info
        assert set(info) == {"base_url", "knock_token", "saymon_login", "saymon_password", "ids"}
        assert list(info["ids"]) == [s.name for s in demo_scenarios()]
        url = urlsplit(info["base_url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        try:
            conn.request("GET", f"/v1/bulk_operations/{info['ids']['users.identify']}",
                         headers={"Authorization": f"Bearer {info['knock_token']}"})  # fmt: skip
            assert json.loads(conn.getresponse().read())["name"] == "users.identify"
        finally:
            conn.close()
        added = proc.add(Scenario(provider="saymon", id="from-test"))
        assert added["path"] == "/node/api/bulk/from-test/status"
        assert proc.request_counts()["count"] == 1
        assert proc.stop() == 0


@pytest.mark.usefixtures("buffered_stdout")
def test_entry_point_exits_0_on_sigterm_and_stays_light(tmp_path):
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(json.dumps([{"name": "a"}, {"name": "a", "provider": "saymon"}]))
    # main() as `-m` runs it, plus a report of which heavy modules the simulator pulled in.
    probe = (
        "import sys; import bulkop.simulator.__main__ as m;"
        "print([n for n in ('httpx', 'rich', 'typer') if n in sys.modules], file=sys.stderr);"
        "sys.exit(m.main(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", probe, "--scenarios", str(scenarios)],
        env=minimal_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            assert selector.select(5), "no announcement within 5 s"
        announcement = json.loads(proc.stdout.readline())
        assert list(announcement["ids"]) == ["a", "a (2)"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert proc.stderr.read() == "[]\n"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_loadtest_hammer_counts_successful_requests(sim):
    op_id = sim.add(Scenario())
    result = hammer(f"{sim.base_url}/v1/bulk_operations/{op_id}", KNOCK_AUTH, 0.2, 2)
    assert result.requests > 20 and result.errors == 0
    assert len(sim.requests) >= result.requests
    bad = hammer(f"{sim.base_url}/v1/bulk_operations/{op_id}", {}, 0.1, 1)
    assert bad.errors == bad.requests > 0
