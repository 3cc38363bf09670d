"""Providers as data, wired through the CLI: messages for built-ins, `config set provider`,
and every built-in catalogue provider end to end against the simulator."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulkop import verdict
from bulkop.errors import ConfigError, UsageError
from bulkop.providers import builtin, parse_definition, to_table
from bulkop.render.text import status_line
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, Scenario, run_cli, run_process
from helpers import FakeClock


@pytest.fixture
def demo_profile(isolated_env):
    isolated_env.parent.mkdir(parents=True, exist_ok=True)
    isolated_env.write_text(
        '[profiles.demo]\nprovider = "knock"\nbase_url = "https://h.example"\n\n'
        '[providers.acme]\nurl = "{base_url}/jobs/{id}"\nbase_url = "https://acme.example"\n'
        '[providers.acme.fields]\nstatus = "state"\n[providers.acme.status]\ncompleted = ["DONE"]\n'
    )
    return isolated_env


@pytest.mark.parametrize(("typed", "guess"), [("knok", "knock"), ("zendsk", "zendesk"), ("acmee", "acme")])
def test_config_set_an_unknown_provider_is_a_usage_error_naming_it_and_a_guess(demo_profile, typed, guess):
    before = demo_profile.read_text()
    r = run_cli(["config", "set", "demo", "provider", typed])
    assert r.code == 2, r.stderr
    known = "knock, saymon, zendesk, auth0, mailchimp, elasticsearch, acme"
    assert r.stderr.startswith(f"bulkop: error: provider should be one of {known}, not "), r.stderr
    assert f"{typed!r}" in r.stderr and f"did you mean {guess!r}?" in r.stderr
    assert demo_profile.read_text() == before


def test_config_set_an_unknown_provider_lists_them_all_when_nothing_is_close(demo_profile):
    r = run_cli(["config", "set", "demo", "provider", "kafka"])
    assert r.code == 2 and "not 'kafka'" in r.stderr and "did you mean" not in r.stderr, r.stderr


@pytest.mark.parametrize("provider", ["acme", "zendesk", "saymon"])
def test_config_set_takes_a_built_in_or_configured_provider(demo_profile, provider):
    r = run_cli(["config", "set", "demo", "provider", provider])
    assert r.code == 0, r.stderr
    assert f'provider = "{provider}"' in demo_profile.read_text()


# --------------------------------------------------------------------------- the catalogue, end to end


CATALOGUE = ("zendesk", "auth0", "mailchimp", "elasticsearch")
# What each API reports of a completed job of 200 rows, 10 of them failed (the simulator's
# shapes follow each API's documentation): (processed, total, errors); None: not reported.
COMPLETED = {
    "zendesk": (200, 200, None),  # progress of total; no error count
    "auth0": (200, 200, 10),  # summary: inserted + updated + failed of total
    "mailchimp": (200, 200, 10),  # finished_operations, errored_operations
    "elasticsearch": (200, 200, 10),  # task.status.created…, response.failures
}


def catalogue_config(path, sim) -> None:
    """One profile per catalogue provider, each with the credential its auth reads."""
    lines = []
    for name in CATALOGUE:
        auth = builtin(name).auth
        basic = f'login = "{SAYMON_LOGIN}"\npassword = "{SAYMON_PASSWORD}"'
        secret = basic if auth == "basic" else f'api_key = "{KNOCK_TOKEN}"'
        lines.append(f'[profiles.{name}]\nprovider = "{name}"\nbase_url = "{sim.base_url}"\n{secret}\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    os.chmod(path, 0o600)


@pytest.fixture
def catalogue(isolated_env, make_sim):
    clock = FakeClock(start=0.0)
    sim = make_sim(clock=clock)
    catalogue_config(isolated_env, sim)
    return sim, clock


def served_body(sim, name: str, op_id: str) -> Any:
    """The body the simulator serves for this operation, fetched outside bulkop."""
    defn = builtin(name)

    class Secrets:
        api_key, login, password = KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD

    response = httpx.get(defn.build_url(sim.base_url, op_id), headers=defn.auth_headers(Secrets()))
    assert response.status_code == 200, response.text
    return response.json()


def done(name: str, **more: Any) -> Scenario:
    options = {"queued_seconds": 0, "duration": 0, "total_rows": 200, "error_rate": 0.05, **more}
    return Scenario(provider=name, name=f"{name} import", **options)


@pytest.mark.parametrize("name", CATALOGUE)
def test_get_json_prints_each_catalogue_body_exactly_as_served(catalogue, name):
    sim, clock = catalogue
    op_id = sim.add(done(name))
    r = run_cli(["get", f"{name}:{op_id}", "-o", "json"], now=clock)
    assert r.code == 0, r.stderr
    (request,) = sim.requests_for(op_id)
    assert request.path == builtin(name).build_url(sim.base_url, op_id)[len(sim.base_url) :]
    assert json.loads(r.stdout) == served_body(sim, name, op_id)


@pytest.mark.parametrize("name", CATALOGUE)
def test_get_jsonl_of_two_catalogue_operations_says_which_is_which(catalogue, name):
    sim, clock = catalogue
    a, b = sim.add(done(name)), sim.add(done(name))
    r = run_cli(["get", f"{name}:{a}", f"{name}:{b}", "-o", "jsonl"], now=clock)
    assert r.code == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    for record, op_id in zip(records, (a, b), strict=True):
        body = served_body(sim, name, op_id)
        assert record == (body if "id" in body else {"id": op_id, **body})


@pytest.mark.parametrize("name", CATALOGUE)
def test_get_text_shows_the_normalised_values(catalogue, name):
    sim, clock = catalogue
    op_id = sim.add(done(name))
    r = run_cli(["get", f"{name}:{op_id}", "-o", "text"], now=clock)
    assert r.code == 0, r.stderr
    fields = dict(line.split(":\t", 1) for line in r.stdout.splitlines() if ":\t" in line)
    processed, total, errors = COMPLETED[name]
    assert fields["id"] == op_id and fields["provider"] == name and fields["status"] == "completed"
    assert (fields["processed"], fields["estimated"]) == (str(processed), str(total))
    assert fields["errors"] == ("unknown" if errors is None else str(errors))
    assert fields["progress"] == "100%"


@pytest.mark.parametrize("name", CATALOGUE)
def test_get_table_shows_the_normalised_values(catalogue, name):
    sim, clock = catalogue
    op_id = sim.add(done(name))
    r = run_cli(["get", f"{name}:{op_id}", "-o", "table"], now=clock)
    assert r.code == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
    assert "completed" in rows["Status"] and name in rows["Provider"]
    processed, total, errors = COMPLETED[name]
    assert f"{processed} / {total} processed" in rows["Rows"]
    assert ("unknown errors" if errors is None else f"{errors} errors") in rows["Results"]


# Per state: the simulator scenario, what `status` prints first, and its exit code. Mailchimp
# has no failed batch (its errored operations are counted among the finished ones), and an
# Elasticsearch task has no queued state.
STATES = {
    "queued": (dict(queued_seconds=1e6), "queued", 3),
    "processing": (dict(queued_seconds=0, duration=1e6), "processing", 3),
    "completed": (dict(queued_seconds=0, duration=0), "completed", 0),
    "failed": (dict(queued_seconds=0, duration=1e6, fail_at=0.0), "failed", 1),
}
DIFFERENT = {("mailchimp", "failed"): ("completed", 0), ("elasticsearch", "queued"): ("processing", 3)}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("name", CATALOGUE)
def test_status_exit_code_and_line_for_every_state(catalogue, name, state):
    sim, clock = catalogue
    scenario, word, code = STATES[state]
    word, code = DIFFERENT.get((name, state), (word, code))
    op_id = sim.add(Scenario(provider=name, total_rows=1000, **scenario))
    r = run_cli(["status", f"{name}:{op_id}"], now=clock)
    assert r.code == code, (r.stdout, r.stderr)
    assert r.stdout.startswith(word), r.stdout
    r = run_cli(["status", f"{name}:{op_id}", "-o", "json"], now=clock)
    assert r.code == code and json.loads(r.stdout)["status"] == word, r.stdout


@pytest.mark.parametrize("name", CATALOGUE)
def test_watch_lines_follows_a_catalogue_operation_to_its_end(catalogue, name):
    sim, clock = catalogue
    op_id = sim.add(done(name, duration=30.0))
    args = ["watch", f"{name}:{op_id}", "--display", "lines", "--interval", "5"]
    r = run_cli(args, now=clock, sleep=clock.sleep)
    assert r.code == 0, r.stderr
    final = [line for line in r.stderr.splitlines() if op_id in line and "completed" in line]
    assert final, r.stderr
    processed, total, _ = COMPLETED[name]
    assert f"100% {processed}/{total}" in final[-1], final[-1]
    assert len(sim.requests_for(op_id)) > 1  # it polled while the operation ran


@pytest.mark.parametrize("name", CATALOGUE)
def test_watch_lines_exits_1_when_a_catalogue_operation_fails(catalogue, name):
    sim, clock = catalogue
    op_id = sim.add(Scenario(provider=name, queued_seconds=0, duration=60, total_rows=100, fail_at=0.5))
    args = ["watch", f"{name}:{op_id}", "--display", "lines", "--interval", "5"]
    r = run_cli(args, now=clock, sleep=clock.sleep)
    expected = 0 if name == "mailchimp" else 1  # a Mailchimp batch finishes, errors counted
    assert r.code == expected, r.stderr


# --------------------------------------------------------------------------- behaviour from data, not names


FLAG = {
    "url": "{base_url}/flags/{id}",
    "title": "Flagpole",
    "fields": {"status": "done"},
    "status": {"processing": [False], "completed": [True]},
    "status_words": {"processing": "still going", "completed": "over"},
}


def test_status_words_of_a_user_definition_drive_every_view_and_the_verdict():
    defn = parse_definition("flag", FLAG)
    running, ended = defn.normalize("1", {"done": False}), defn.normalize("1", {"done": True})
    assert (running.status_word, ended.status_word) == ("still going", "over")
    assert (status_line(running), status_line(ended)) == ("still going", "over")
    v = verdict.of_operation(ended, max_errors=0)
    assert v.code == 1 and "(Flagpole reports no error counts)" in v.reason
    assert v.hint == "drop --max-errors for Flagpole operations"
    assert to_table(defn)["status_words"] == FLAG["status_words"]
    assert parse_definition("flag", to_table(defn)) == defn


def test_a_definition_that_counts_errors_gets_no_unknown_errors_excuse():
    defn = parse_definition("flag", {**FLAG, "fields": {"status": "done", "failed": "bad"}})
    v = verdict.of_operation(defn.normalize("1", {"done": True}), max_errors=0)
    assert v.hint is None and "reports no error counts" not in v.reason


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ({"finished": "x"}, "status_words"),
        ({"completed": ""}, "status_words.completed"),
        ({"completed": 1}, "status_words.completed"),
        ("x", "status_words"),
    ],
)
def test_bad_status_words_are_configuration_errors_naming_the_key(words, key):
    with pytest.raises(ConfigError, match=rf"providers\.flag\.{key}"):
        parse_definition("flag", {**FLAG, "status_words": words})


@pytest.mark.parametrize("name", ["knock", "saymon", *CATALOGUE])
def test_titles_and_nouns_name_what_a_refused_id_should_be(name):
    defn = builtin(name)
    with pytest.raises(UsageError) as info:
        defn.check_id("bad/id\x01")
    assert f"is not a {defn.operation_noun} id" in info.value.message


def test_an_elasticsearch_task_with_no_failures_has_zero_errors_and_a_running_one_unknown():
    es = builtin("elasticsearch")
    status = {"total": 3, "created": 3, "updated": 0, "deleted": 0}
    body = {"completed": True, "task": {"status": status}, "response": {"failures": []}}
    assert es.normalize("n:1", body).error_count == 0
    body = {"completed": False, "task": {"status": {"total": 3, "created": 1, "updated": 0, "deleted": 0}}}
    assert es.normalize("n:1", body).error_count is None


# --------------------------------------------------------------------------- bulkop demo --provider


@pytest.mark.slow
@pytest.mark.parametrize("name", CATALOGUE)
def test_demo_serves_its_operations_as_a_catalogue_providers(tmp_path, name):
    """`bulkop demo --provider NAME -o json`: every demo operation lives at NAME's route in the
    simulator, is read by NAME's definition, and reaches its end (one fails as planned, but a
    Mailchimp batch never fails as a whole). The user's credentials are not used."""
    bogus = {"KNOCK_API_KEY": "sk_live_must_not_be_used", "BULKOP_CONFIG": str(tmp_path / "absent.toml")}
    p = run_process(["demo", "--provider", name, "--speed", "50", "-o", "json"], bogus, timeout=60)
    assert p.returncode == (0 if name == "mailchimp" else 1), p.stderr
    events = [json.loads(line) for line in p.stdout.splitlines()]
    last = {e["id"]: e for e in events if e.get("operation") is not None}
    assert len(last) == 4, p.stdout
    assert {e["profile"] for e in events} == {f"demo-{name}"}
    assert sorted(e["status"] for e in last.values()) == sorted(FATES[name])
    for op_id, e in last.items():
        builtin(name).check_id(op_id)  # an id in the provider's own format
        assert builtin(name).normalize(op_id, e["operation"]).status_word == e["status"]
    assert "Traceback" not in p.stderr


# The demo's four fates (3 complete, 1 fails at 60%) as each API reports them.
FATES = {
    "zendesk": ["completed", "completed", "completed", "failed"],
    "auth0": ["completed", "completed", "completed", "failed"],
    "mailchimp": ["completed", "completed", "completed", "completed"],
    "elasticsearch": ["completed", "completed", "completed", "failed"],
}


@pytest.mark.parametrize(("given", "guess"), [("zendsk", "zendesk"), ("acme", None)])
def test_demo_refuses_a_provider_the_simulator_does_not_serve(given, guess):
    r = run_cli(["demo", "--provider", given])
    assert r.code == 2, r.stderr
    assert f"not {given!r}" in r.stderr and "zendesk, auth0, mailchimp, elasticsearch" in r.stderr
    assert (f"did you mean {guess!r}" in r.stderr) if guess else "did you mean" not in r.stderr


# --------------------------------------------------------------------------- docs/providers.md is true


DOC = Path(__file__).resolve().parent.parent / "docs" / "providers.md"


def test_the_documented_table_is_a_valid_definition_and_says_what_it_means():
    (block,) = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    defn = parse_definition("acme", tomllib.loads(block)["providers"]["acme"])
    assert defn.operation_noun == "ACME import job"
    assert defn.auth_headers({"api_key": "k"})["Authorization"] == "Token k"
    body = {"job": {"state": "DONE", "key": "42", "title": "t", "of": 3, "done": 3, "ok": 2, "failed": 1}}
    op = defn.normalize("42", body)
    assert (op.status_word, op.processed_rows, op.known_error_count) == ("finished", 3, 1)
    with pytest.raises(UsageError, match=r"'x' is not a ACME import job id \(a number such as 42\)"):
        defn.check_id("x")
    assert "not wired" not in DOC.read_text()


def test_the_documented_commands_work_with_a_documented_catalogue_provider(isolated_env, make_sim):
    sim = make_sim()
    args = ["config", "add", "zd", "--provider", "zendesk", "--base-url", sim.base_url, "--login", SAYMON_LOGIN]
    r = run_cli(args, stdin=SAYMON_PASSWORD)
    assert r.code == 0, r.stderr
    op_id = sim.add(done("zendesk"))
    r = run_cli(["-p", "zd", "status", op_id])
    assert (r.code, r.stdout) == (0, "completed 200/200, errors unknown\n"), r.stderr
    r = run_cli(["watch", f"zd:{op_id}", "--display", "lines"])
    assert r.code == 0, r.stderr


# --------------------------------------------------------------------------- Knock and SAYMON say what they said


def test_a_missing_knock_key_gets_the_knock_definitions_own_hint_and_nothing_else():
    r = run_cli(["get", "123e4567-e89b-12d3-a456-426614174000", "--base-url", "http://127.0.0.1:9"])
    assert r.code == 7
    assert r.stderr == (
        "bulkop: error: no Knock API key configured; export KNOCK_API_KEY, or add a profile with "
        "`bulkop config add NAME --provider knock`\n"
    )


@pytest.mark.parametrize(("env", "missing"), [({}, "login"), ({"SAYMON_LOGIN": "ops"}, "password")])
def test_missing_saymon_credentials_get_the_saymon_definitions_own_hint(env, missing):
    r = run_cli(["get", "--provider", "saymon", "--base-url", "http://127.0.0.1:9", "abc"], env)
    assert r.code == 7
    assert r.stderr == (
        f"bulkop: error: no SAYMON {missing} configured; export SAYMON_LOGIN and SAYMON_PASSWORD, or add a "
        "profile with `bulkop config add NAME --provider saymon --base-url URL`\n"
    )


@pytest.mark.parametrize("op_id", [".", ".."])
def test_a_dot_saymon_id_is_refused_as_one_that_would_leave_its_path_segment(op_id):
    env = {"SAYMON_LOGIN": "ops", "SAYMON_PASSWORD": "pw"}
    r = run_cli(["get", "--provider", "saymon", "--base-url", "http://127.0.0.1:9", op_id], env)
    assert r.code == 2
    assert r.stderr == (
        f"bulkop: error: {op_id!r} is not a SAYMON bulk operation id "
        "(an id cannot be . or .., nor hold /, \\, ?, #, %, ;, spaces or control characters)\n"
    )


@pytest.mark.parametrize(
    ("provider", "why"),
    [
        ("saymon", "SAYMON is self-hosted"),
        ("zendesk", "each Zendesk account has its own address, https://SUBDOMAIN.zendesk.com"),
        ("mailchimp", "the address names your account's data center"),
    ],
)
def test_no_base_url_says_why_the_provider_has_none(provider, why):
    env = {"SAYMON_LOGIN": "ops", "SAYMON_PASSWORD": "pw"}
    r = run_cli(["get", "--provider", provider, "abc"], env)
    assert r.code == 7, r.stderr
    assert f"no base URL for {provider}; {why}" in r.stderr and "pass --base-url" in r.stderr


def test_a_refused_saymon_credential_gets_the_saymon_hint(make_sim):
    sim = make_sim()
    op_id = sim.add(Scenario(provider="saymon", queued_seconds=0, duration=0))
    env = {"SAYMON_LOGIN": SAYMON_LOGIN, "SAYMON_PASSWORD": "wrong", "BULKOP_BASE_URL": sim.base_url}
    r = run_cli(["get", "--provider", "saymon", op_id], env)
    assert r.code == 4
    assert r.stderr.endswith(
        "; check SAYMON_LOGIN/SAYMON_PASSWORD or a profile's login and password "
        "(`bulkop config add NAME --provider saymon`)\n"
    ), r.stderr


def test_hint_keys_of_a_user_definition_replace_the_generic_hints_and_round_trip():
    table = {**FLAG, "auth": "bearer", "secret_hint": "export FLAG_KEY", "auth_hint": "check FLAG_KEY"}
    defn = parse_definition("flag", {**table, "base_url_help": "each flagpole has its own"})
    with pytest.raises(ConfigError) as info:
        defn.auth_headers({})
    assert (info.value.message, info.value.hint) == ("no Flagpole API key configured", "export FLAG_KEY")
    assert parse_definition("flag", to_table(defn)) == defn
    assert {"secret_hint", "auth_hint", "base_url_help"} <= set(to_table(defn))
