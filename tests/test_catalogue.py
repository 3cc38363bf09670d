"""The built-in catalogue: each API's documented example response, and each API served by the
simulator at its route with its auth, fetched with a plain httpx GET and read by its definition."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulkop.errors import InvalidResponse
from bulkop.models import ErrorItem, Status
from bulkop.providers import builtin
from bulkop.simulator import Scenario, Simulator

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
CATALOGUE = ("zendesk", "auth0", "mailchimp", "elasticsearch")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Secrets:
    def __init__(self, sim: Simulator) -> None:
        self.api_key = sim.knock_token
        self.login = sim.saymon_login
        self.password = sim.saymon_password


# ------------------------------------------------------------------------------- documented examples


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_provider_has_a_cited_fixture(name: str) -> None:
    source = (FIXTURES / f"{name}.source.txt").read_text()
    assert "https://" in source
    assert "seen 2026-12-01" in source.lower()
    assert isinstance(fixture(name), dict)


def test_zendesk_documented_example() -> None:
    op = builtin("zendesk").normalize("dd9321f29967688b27bc9499ebb4ae8d", fixture("zendesk"))
    assert op.status is Status.COMPLETED
    assert op.id == "dd9321f29967688b27bc9499ebb4ae8d"
    # total and progress are null in the example: unknown, not 0
    assert op.estimated_total_rows is None and op.processed_rows is None
    assert op.progress_path == "https://example.zendesk.com/api/v2/job_statuses/dd9321f299676c9499ebb4ae8d.json"
    assert op.provider == "zendesk"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", Status.QUEUED),
        ("working", Status.PROCESSING),
        ("completed", Status.COMPLETED),
        ("failed", Status.FAILED),
    ],
)
def test_zendesk_documented_status_values(raw: str, status: Status) -> None:
    body = copy.deepcopy(fixture("zendesk"))
    body["job_status"].update(status=raw, total=2, progress=1)
    op = builtin("zendesk").normalize("dd9321f29967688b27bc9499ebb4ae8d", body)
    assert (op.status, op.estimated_total_rows, op.processed_rows) == (status, 2, 1)


def test_auth0_documented_example_placeholder_is_refused_then_reads_with_a_real_date() -> None:
    auth0 = builtin("auth0")
    body = fixture("auth0")
    with pytest.raises(InvalidResponse) as info:
        auth0.normalize("job_0000000000000001", body)
    assert "created_at" in str(info.value) and "'<string>'" in str(info.value)
    body = {**body, "created_at": "2026-12-01T10:00:00.000Z"}
    op = auth0.normalize("job_0000000000000001", body)
    assert op.status is Status.QUEUED  # "pending"
    assert op.id == "job_0000000000000001"
    assert op.name == "users_import"
    assert (op.estimated_total_rows, op.success_count, op.error_count) == (0, 0, 0)
    assert op.processed_rows == 0  # the summary's users: inserted + updated + failed
    assert op.inserted_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_auth0_summary_sums_inserted_and_updated() -> None:
    body = {**fixture("auth0"), "created_at": "2026-12-01T10:00:00Z", "status": "completed"}
    body["summary"] = {"failed": 1, "updated": 2, "inserted": 3, "total": 6}
    op = builtin("auth0").normalize("job_0000000000000001", body)
    assert (op.status, op.success_count, op.error_count, op.estimated_total_rows) == (Status.COMPLETED, 5, 1, 6)
    del body["summary"]
    op = builtin("auth0").normalize("job_0000000000000001", body)
    assert (op.success_count, op.error_count, op.estimated_total_rows) == (None, None, None)


def test_mailchimp_documented_example() -> None:
    op = builtin("mailchimp").normalize("abc123", fixture("mailchimp"))
    assert op.status is Status.COMPLETED
    assert (op.estimated_total_rows, op.processed_rows, op.error_count) == (10, 10, 0)
    assert op.success_count is None  # not sent; never computed behind the API's back
    assert op.inserted_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert op.completed_at == datetime(2024, 1, 15, 10, 31, 12, tzinfo=UTC)
    assert op.failed_at is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("pending", Status.QUEUED),
        ("preprocessing", Status.PROCESSING),
        ("started", Status.PROCESSING),
        ("finalizing", Status.PROCESSING),
        ("finished", Status.COMPLETED),
    ],
)
def test_mailchimp_documented_status_values(raw: str, status: Status) -> None:
    body = {**fixture("mailchimp"), "status": raw, "completed_at": None}
    assert builtin("mailchimp").normalize("abc123", body).status is status


def test_elasticsearch_documented_example() -> None:
    op = builtin("elasticsearch").normalize("r1A2WoRbTwKZ516z6NEs5A:36619", fixture("elasticsearch"))
    assert op.status is Status.COMPLETED
    assert op.name == "reindex from [my-index-1] to [my-index-2]"
    assert (op.estimated_total_rows, op.processed_rows) == (2695491, 0)
    assert op.started_at is None  # removed from the example: unknown
    assert op.error_count is None and op.error_items == ()


def test_elasticsearch_running_failed_and_failures() -> None:
    es = builtin("elasticsearch")
    body = copy.deepcopy(fixture("elasticsearch"))
    body["completed"] = False
    body["task"]["status"].update(created=10, updated=5, deleted=1)
    body["task"]["start_time_in_millis"] = 1458585884904
    op = es.normalize("n:1", body)
    assert (op.status, op.processed_rows) == (Status.PROCESSING, 16)
    assert op.started_at == datetime(2016, 3, 21, 18, 44, 44, 904000, tzinfo=UTC)
    body["completed"] = True
    body["response"] = {"failures": [{"index": "i", "id": 7, "cause": {}}, {"index": "j", "id": "x"}]}
    op = es.normalize("n:1", body)
    assert op.status is Status.COMPLETED
    assert op.error_count == 2
    assert op.error_items == (ErrorItem("7", "i"), ErrorItem("x", "j"))
    body["error"] = {"type": "search_phase_execution_exception", "reason": "all shards failed"}
    assert es.normalize("n:1", body).status is Status.FAILED
    assert es.describe_error({"error": {"type": "t", "reason": "no such task"}, "status": 404}) == "no such task"


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("zendesk", "dd9321f29967688b27bc9499ebb4ae8d", "dd93/21"),
        ("auth0", "job_0000000000000001", "0000000000000001"),
        ("mailchimp", "abc123", "abc-123"),
        ("elasticsearch", "oTUltX4IQMOUUVeiohTt8A:124", "oTUltX4IQMOUUVeiohTt8A"),
    ],
)
def test_catalogue_id_patterns(name: str, good: str, bad: str) -> None:
    from bulkop.errors import UsageError

    defn = builtin(name)
    assert defn.check_id(good) == good
    with pytest.raises(UsageError):
        defn.check_id(bad)


# ------------------------------------------------------------------------------- served by the simulator

STATES = {
    "queued": Scenario(queued_seconds=1e6),
    "processing": Scenario(queued_seconds=0, duration=1e6, total_rows=1000),
    "completed": Scenario(queued_seconds=0, duration=0, total_rows=1000, error_rate=0.01),
    "failed": Scenario(queued_seconds=0, duration=1e6, total_rows=1000, fail_at=0.0),
}
# Mailchimp has no failed batch: the simulator reports it finished (errors counted), as the API does.
# An Elasticsearch task has no queued state: `completed: false` is all it says until it ends.
EXPECTED = {(provider, state): Status(state) for provider in CATALOGUE for state in STATES} | {
    ("mailchimp", "failed"): Status.COMPLETED,
    ("elasticsearch", "queued"): Status.PROCESSING,
}


def _get(sim: Simulator, name: str, op_id: str, secrets: Any) -> tuple[httpx.Response, str]:
    defn = builtin(name)
    url = defn.build_url(sim.base_url, op_id)
    return httpx.get(url, headers=defn.auth_headers(secrets)), url


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("name", CATALOGUE)
def test_simulator_serves_each_catalogue_provider_in_each_state(sim: Simulator, name: str, state: str) -> None:
    scenario = Scenario(**{**STATES[state].to_dict(), "provider": name, "name": f"{name} import"})
    op_id = sim.add(scenario)
    response, url = _get(sim, name, op_id, Secrets(sim))
    assert response.status_code == 200, response.text
    op = builtin(name).normalize(op_id, response.json())
    assert op.status is EXPECTED[(name, state)]
    assert op.provider == name
    assert str(op.id) == op_id
    assert op.raw == response.json()
    # the server saw the provider's own route, with the credential in the provider's header
    (request,) = sim.requests_for(op_id)
    assert request.path == url[len(sim.base_url) :]
    scheme = {"zendesk": "Basic", "auth0": "Bearer", "mailchimp": "Basic", "elasticsearch": "ApiKey"}[name]
    assert request.headers["authorization"].startswith(scheme + " ")
    if state == "completed" and name != "auth0":
        assert op.estimated_total_rows == 1000
        assert op.processed_rows == 1000


def test_simulator_counts_match_across_providers(sim: Simulator) -> None:
    """The same completed scenario reads the same counts wherever the API reports them."""
    ops = {}
    for name in CATALOGUE:
        op_id = sim.add(Scenario(provider=name, queued_seconds=0, duration=0, total_rows=200, error_rate=0.05))
        response, _ = _get(sim, name, op_id, Secrets(sim))
        ops[name] = builtin(name).normalize(op_id, response.json())
    assert ops["mailchimp"].error_count == 10
    assert ops["auth0"].error_count == 10 and ops["auth0"].success_count == 190
    assert ops["elasticsearch"].error_count == 10 and len(ops["elasticsearch"].error_items) == 10
    assert ops["zendesk"].processed_rows == ops["mailchimp"].processed_rows == 200


@pytest.mark.parametrize("name", CATALOGUE)
def test_wrong_credentials_and_unknown_ids_answer_in_the_providers_shape(sim: Simulator, name: str) -> None:
    defn = builtin(name)
    op_id = sim.add(Scenario(provider=name))

    class Wrong:
        api_key, login, password = "sk_wrong", "demo", "wrong"

    response, _ = _get(sim, name, op_id, Wrong())
    assert response.status_code == 401
    assert defn.describe_error(response.json())
    other = {"zendesk": "0" * 32, "auth0": "job_0", "mailchimp": "0", "elasticsearch": "x:0"}[name]
    response, _ = _get(sim, name, other, Secrets(sim))
    assert response.status_code == 404
    assert defn.describe_error(response.json())


def test_an_operation_is_served_only_at_its_own_providers_route(sim: Simulator) -> None:
    op_id = sim.add(Scenario(provider="zendesk", id="abc123"))
    response, _ = _get(sim, "mailchimp", op_id, Secrets(sim))
    assert response.status_code == 404


def test_catalogue_scenarios_keep_rate_limits_and_fixed_bodies(sim: Simulator) -> None:
    op_id = sim.add(Scenario(provider="auth0", rate_limit=1, body={"status": "weird"}))
    response, _ = _get(sim, "auth0", op_id, Secrets(sim))
    assert response.status_code == 429
    assert builtin("auth0").describe_error(response.json())
    response, _ = _get(sim, "auth0", op_id, Secrets(sim))
    assert response.json() == {"status": "weird"}
    with pytest.raises(InvalidResponse, match=r'is "weird", not one of .* providers.auth0.status'):
        builtin("auth0").normalize(op_id, response.json())


def test_scenarios_name_the_catalogue_providers() -> None:
    with pytest.raises(ValueError, match=r"provider must be one of .*'elasticsearch'"):
        Scenario(provider="hubspot")
    for name in CATALOGUE:
        assert Scenario(provider=name).provider == name
