"""`bulkop providers`: list, show and check, through the real CLI (in-process and subprocesses),
with a temp config dir, the catalogue's documentation fixtures and the project's simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bulkop.providers import BUILTIN_NAMES
from bulkop.simulator import Scenario, Simulator
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, minimal_env, run_cli, run_process
from helpers import LocalServer, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
CATALOGUE = ("zendesk", "auth0", "mailchimp", "elasticsearch")
README = Path(__file__).resolve().parent.parent / "README.md"

ACME = """
[providers.acme]
description = "ACME import jobs"
url = "{base_url}/api/jobs/{id}"
auth = "bearer"
id_pattern = "[0-9]+"
base_url = "https://api.acme.example"
headers = { "Acme-Version" = "2024-01" }
[providers.acme.fields]
status = "job.state"
id = "job.id"
name = "job.title"
total = "job.of"
processed = "job.done"
succeeded = "job.ok"
failed = "job.failed"
error_items = "job.failures[].{id: key, collection: kind}"
created_at = "job.created"
[providers.acme.status]
queued = ["PENDING"]
processing = ["RUNNING"]
completed = ["DONE"]
failed = ["ERROR", "CANCELLED"]
"""
SECRET = "sk_acme_do_not_print_0123456789"
PASSWORD = "pw-do-not-print-9876"


def acme_job(state: str = "RUNNING", **more: Any) -> dict[str, Any]:
    job = {
        "id": "42",
        "state": state,
        "title": "Import users",
        "of": 1000,
        "done": 250,
        "ok": 248,
        "failed": 2,
        "failures": [{"key": "row-17", "kind": "users"}, {"key": "row-90", "kind": "users"}],
        "created": "2026-12-01T10:00:00Z",
    }
    return {"job": {**job, **more}}


def config_path() -> Path:
    return Path(os.environ["BULKOP_CONFIG"])


def with_profiles(definitions: str = ACME) -> Path:
    """Definitions plus profiles holding secrets: nothing `providers` prints may contain them."""
    profiles = (
        f'[profiles.acme]\nprovider = "acme"\napi_key = "{SECRET}"\n'
        f'[profiles.zd]\nprovider = "zendesk"\nbase_url = "https://x.zendesk.com"\n'
        f'login = "me@example.com/token"\npassword = "{PASSWORD}"\n'
    )
    return write_config('default_profile = "acme"\n' + definitions + profiles)


def fixture_path(name: str) -> str:
    return str(FIXTURES / f"{name}.json")


# ------------------------------------------------------------------------------------------ list


def test_list_piped_is_one_tab_separated_row_per_builtin_provider_in_a_real_process() -> None:
    p = run_process(["providers"])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split("\t") == ["NAME", "SOURCE", "AUTH", "URL", "DESCRIPTION"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == list(BUILTIN_NAMES)
    assert all(len(r) == 5 and r[1] == "built-in" and all(r) for r in rows)
    assert rows[0][:4] == ["knock", "built-in", "bearer", "{base_url}/v1/bulk_operations/{id}"]
    assert rows[-1][2] == "header:Authorization"
    assert p.stderr == ""


@pytest.mark.parametrize("args", [["providers"], ["providers", "list"]])
def test_list_json_gives_every_provider_with_its_source(args: list[str]) -> None:
    path = with_profiles()
    r = run_cli([*args, "-o", "json"])
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["name"] for d in data] == [*BUILTIN_NAMES, "acme"]
    acme = data[-1]
    assert acme == {
        "name": "acme",
        "source": "config",
        "path": str(path),
        "auth": "bearer",
        "url": "{base_url}/api/jobs/{id}",
        "base_url": "https://api.acme.example",
        "description": "ACME import jobs",
        "error": None,
    }
    assert data[0]["source"] == "built-in" and data[0]["path"] is None
    assert data[0]["base_url"] == "https://api.knock.app" and data[1]["base_url"] is None  # saymon: none


def test_list_jsonl_text_and_table_agree() -> None:
    path = with_profiles()
    jsonl = run_cli(["providers", "-o", "jsonl"])
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["name"] for r in records] == [*BUILTIN_NAMES, "acme"]
    text = run_cli(["providers", "list", "-o", "text"])
    assert text.stdout.splitlines()[-1].split("\t") == [
        "acme",
        str(path),
        "bearer",
        "{base_url}/api/jobs/{id}",
        "ACME import jobs",
    ]
    table = run_cli(["providers", "-o", "TABLE"], env={"COLUMNS": "140"})
    assert table.code == 0, table.stderr
    assert re.search(r"^acme\s+config\s+bearer\s+\{base_url\}/api/jobs/\{id\}\s+ACME import jobs", table.stdout, re.M)
    assert f"config: {path}" in table.stdout
    # 80 columns: the description gives way, name, auth and URL stay whole
    narrow = run_cli(["providers", "-o", "table"])
    assert "DESCRIPTION" not in narrow.stdout and "header:Authorization" in narrow.stdout
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines())


BROKEN = {
    "unknown auth": ('[providers.bad]\nurl = "{base_url}/x/{id}"\nauth = "oauth"\n', "providers.bad.auth"),
    "bad expression": (
        '[providers.bad]\nurl = "{base_url}/x/{id}"\n[providers.bad.fields]\nstatus = "a[["\n'
        '[providers.bad.status]\ncompleted = ["x"]\n',
        "providers.bad.fields.status",
    ),
    "url not under base_url": (
        '[providers.bad]\nurl = "https://evil.example/x/{id}"\n[providers.bad.fields]\nstatus = "s"\n'
        '[providers.bad.status]\ncompleted = ["x"]\n',
        "providers.bad.url",
    ),
    "no completed value": (
        '[providers.bad]\nurl = "{base_url}/x/{id}"\n[providers.bad.fields]\nstatus = "s"\n'
        '[providers.bad.status]\nfailed = ["x"]\n',
        "providers.bad.status.completed",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_definition_is_listed_with_its_error_and_the_exit_code_is_7(case: str) -> None:
    definition, key = BROKEN[case]
    path = write_config(ACME + definition)
    r = run_cli(["providers", "-o", "text"])
    assert r.code == 7
    rows = {line.split("\t")[0]: line.split("\t") for line in r.stdout.splitlines()[1:]}
    assert set(rows) == {*BUILTIN_NAMES, "acme", "bad"}  # the others are still listed
    assert rows["acme"][2] == "bearer"
    assert rows["bad"][2:4] == ["-", "-"] and rows["bad"][4].startswith(f"BROKEN: {key}")
    assert r.stderr.count("\n") == 1 and f"{path}: {key}" in r.stderr and r.stderr.startswith("bulkop: error:")
    j = run_cli(["providers", "-o", "json"])
    assert j.code == 7
    bad = json.loads(j.stdout)[-1]
    assert bad["name"] == "bad" and bad["auth"] is None and bad["error"]["message"].startswith(key)
    assert json.loads(j.stderr)["error"]["exit_code"] == 7  # errors as JSON under -o json
    shown = run_cli(["providers", "show", "bad"])
    assert shown.code == 7 and key in shown.stderr and shown.stdout == ""
    checked = run_cli(["providers", "check", "bad", fixture_path("zendesk")])
    assert checked.code == 7 and key in checked.stderr


def test_a_definition_named_like_a_builtin_is_listed_as_shadowing_it() -> None:
    write_config(ACME.replace("acme", "zendesk"))
    r = run_cli(["providers", "-o", "json"])
    assert r.code == 7
    data = json.loads(r.stdout)
    assert [(d["name"], d["source"]) for d in data if d["name"] == "zendesk"] == [
        ("zendesk", "built-in"),
        ("zendesk", "config"),
    ]
    assert "is a built-in provider and cannot be redefined" in data[-1]["error"]["message"]
    assert "[providers.zendesk-custom]" in data[-1]["error"]["hint"]
    table = run_cli(["providers", "-o", "table"], env={"COLUMNS": "200"})
    assert re.search(r"^zendesk\s+config\s+BROKEN\s+-\s+BROKEN: providers.zendesk:", table.stdout, re.M)


# ------------------------------------------------------------------------------------------ show


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_show_prints_a_builtin_as_toml_that_loads_back(name: str) -> None:
    r = run_cli(["providers", "show", name])
    assert r.code == 0, r.stderr
    assert r.stdout.startswith(f"# The built-in provider {name}.")
    doc = tomllib.loads(r.stdout)
    assert list(doc["providers"]) == [name]
    copy = run_cli(["providers", "show", name, "--as", f"my-{name}"])
    assert copy.code == 0, copy.stderr
    assert not copy.stdout.startswith("#")
    assert tomllib.loads(copy.stdout)["providers"][f"my-{name}"] == doc["providers"][name]


@pytest.mark.parametrize("name", CATALOGUE)
def test_a_copy_printed_by_show_reads_every_fixture_as_the_builtin_does(name: str) -> None:
    printed = run_cli(["providers", "show", name, "--as", "copy"]).stdout
    write_config(printed)
    assert run_cli(["providers", "show", "copy"]).stdout == printed  # a fixed point
    body = json.loads(Path(fixture_path(name)).read_text())
    if name == "auth0":
        body["created_at"] = "2026-12-01T10:00:00Z"  # the documentation's placeholder, made a date
    stdin = json.dumps(body)
    builtin = run_cli(["providers", "check", name, "-", "-o", "json"], stdin=stdin)
    copied = run_cli(["providers", "check", "copy", "-", "-o", "json"], stdin=stdin)
    assert builtin.code == copied.code == 0, builtin.stderr + copied.stderr
    assert json.loads(copied.stdout) == {**json.loads(builtin.stdout), "provider": "copy"}


def test_a_copy_printed_by_show_gets_the_same_operation_from_the_simulator(sim: Simulator) -> None:
    printed = run_cli(["providers", "show", "zendesk", "--as", "acme-zd"]).stdout
    profile = (
        f'[profiles.copy]\nprovider = "acme-zd"\nbase_url = "{sim.base_url}"\n'
        f'login = "{SAYMON_LOGIN}"\npassword = "{SAYMON_PASSWORD}"\n'
        f'[profiles.orig]\nprovider = "zendesk"\nbase_url = "{sim.base_url}"\n'
        f'login = "{SAYMON_LOGIN}"\npassword = "{SAYMON_PASSWORD}"\n'
    )
    write_config(printed + profile)
    op_id = sim.add(Scenario(provider="zendesk", name="tickets", queued_seconds=0, duration=0, total_rows=30))
    orig = run_cli(["-p", "orig", "get", op_id, "-o", "json"])
    copy = run_cli(["-p", "copy", "get", op_id, "-o", "json"])
    assert orig.code == copy.code == 0, orig.stderr + copy.stderr
    assert json.loads(copy.stdout) == json.loads(orig.stdout)
    orig_text = run_cli(["-p", "orig", "get", op_id, "-o", "text", "--no-journal"]).stdout
    copy_text = run_cli(["-p", "copy", "get", op_id, "-o", "text", "--no-journal"]).stdout
    assert copy_text == orig_text.replace("provider:\tzendesk", "provider:\tacme-zd")
    assert run_cli(["-p", "copy", "status", op_id]).code == 0


def test_show_json_and_user_definitions() -> None:
    with_profiles()
    r = run_cli(["providers", "show", "acme"])
    assert r.code == 0 and not r.stdout.startswith("#")  # a user's own: nothing to warn about
    assert tomllib.loads(r.stdout)["providers"]["acme"]["headers"] == {"Acme-Version": "2024-01"}
    j = run_cli(["providers", "show", "ACME", "-o", "json"])
    assert j.code == 0, j.stderr
    data = json.loads(j.stdout)
    assert data["name"] == "acme" and data["fields"]["error_items"] == "job.failures[].{id: key, collection: kind}"


@pytest.mark.parametrize("command", [["show"], ["check"]])
@pytest.mark.parametrize(("typo", "guess"), [("zendsk", "zendesk"), ("acm", "acme"), ("knok", "knock")])
def test_an_unknown_name_is_exit_2_with_a_did_you_mean(command: list[str], typo: str, guess: str) -> None:
    with_profiles()
    extra = [fixture_path("zendesk")] if command == ["check"] else []
    r = run_cli(["providers", *command, typo, *extra])
    assert r.code == 2
    assert f"unknown provider {typo!r}; did you mean {guess!r}?" in r.stderr
    assert "acme" in r.stderr and r.stdout == ""


def test_an_unknown_name_without_a_close_match_lists_the_providers() -> None:
    r = run_cli(["providers", "show", "salesforce", "-o", "json"])
    assert r.code == 2
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "usage" and "did you mean" not in err["message"]
    assert "knock, saymon, zendesk" in err["hint"]


@pytest.mark.parametrize(("new", "words"), [("knock", "built-in"), ("Has Space", "invalid provider name"), ("", "")])
def test_show_as_refuses_a_name_config_toml_would_refuse(new: str, words: str) -> None:
    r = run_cli(["providers", "show", "zendesk", "--as", new])
    assert r.code == 2
    assert words in r.stderr and r.stdout == ""


def test_show_and_list_never_print_a_profile_secret() -> None:
    with_profiles()
    for args in (
        ["providers"],
        ["providers", "-o", "json"],
        ["providers", "-o", "table"],
        ["providers", "show", "acme"],
        ["providers", "show", "zendesk"],
        ["providers", "show", "acme", "-o", "json"],
        ["providers", "check", "acme", "-"],
        ["providers", "check", "acme", "-", "-o", "json"],
    ):
        r = run_cli(args, stdin=json.dumps(acme_job()))
        assert r.code == 0, (args, r.stderr)
        for secret in (SECRET, PASSWORD, "me@example.com"):
            assert secret not in r.stdout + r.stderr, args


HOSTILE = "ACME \x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 [bold]jobs[/bold] \u202eevil \x9b2J"


def test_control_characters_and_markup_in_a_description_are_shown_safely() -> None:
    escaped = json.dumps(HOSTILE)  # a TOML basic string takes JSON's escapes
    write_config(ACME.replace('"ACME import jobs"', escaped))
    outputs = {}
    for mode in ("text", "table", "json", "jsonl"):
        r = run_cli(["providers", "-o", mode], env={"COLUMNS": "250"})
        assert r.code == 0, r.stderr
        outputs[mode] = r.stdout
    shown = run_cli(["providers", "show", "acme"])
    outputs["show"] = shown.stdout
    for mode, out in outputs.items():
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", out), mode
    assert "[bold]jobs[/bold]" in outputs["table"]  # markup printed as text, never interpreted
    assert "\tACME red link [bold]jobs[/bold] evil \n" in outputs["text"]  # whole escape sequences dropped
    assert json.loads(outputs["json"])[-1]["description"] == HOSTILE  # JSON keeps the data, escaped
    # show's TOML reads back to the very same description
    assert tomllib.loads(outputs["show"])["providers"]["acme"]["description"] == HOSTILE


# ----------------------------------------------------------------------------------------- check


def test_check_zendesk_documentation_example() -> None:
    r = run_cli(["providers", "check", "zendesk", fixture_path("zendesk"), "-o", "json"])
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["id"] == "dd9321f29967688b27bc9499ebb4ae8d"
    assert (data["status"], data["raw_status"], data["finished"]) == ("completed", "completed", True)
    assert data["total"] is None and data["processed"] is None  # null in the example: unknown, not 0


def test_check_mailchimp_documentation_example() -> None:
    r = run_cli(["providers", "check", "mailchimp", fixture_path("mailchimp"), "-o", "json"])
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["id"], data["status"], data["raw_status"]) == ("abc123", "completed", "finished")
    assert (data["total"], data["processed"], data["failed"], data["succeeded"]) == (10, 10, 0, None)
    assert (data["created_at"], data["completed_at"]) == ("2024-01-15T10:30:00Z", "2024-01-15T10:31:12Z")


def test_check_elasticsearch_documentation_example() -> None:
    r = run_cli(["providers", "check", "elasticsearch", fixture_path("elasticsearch"), "-o", "json"])
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["name"] == "reindex from [my-index-1] to [my-index-2]"
    assert (data["status"], data["raw_status"]) == ("completed", True)
    assert (data["total"], data["processed"], data["failed"]) == (2695491, 0, None)
    assert data["id"] == "-"  # the task body does not repeat its id: the one asked is unknown
    given = run_cli(
        ["providers", "check", "elasticsearch", fixture_path("elasticsearch"), "--id", "r1A2WoRbTwKZ516z6NEs5A:36619"]
    )
    assert given.code == 0 and "id:\tr1A2WoRbTwKZ516z6NEs5A:36619" in given.stdout


def test_check_auth0_documentation_example_is_an_invalid_answer_naming_the_field() -> None:
    # The documented example's created_at is the placeholder "<string>": a live answer like it
    # would be refused, so check says so, with the exit code of a live invalid answer.
    r = run_cli(["providers", "check", "auth0", fixture_path("auth0")])
    assert r.code == 6
    assert "an invalid auth0 operation" in r.stderr and "providers.auth0.fields.created_at" in r.stderr
    assert "'<string>'" in r.stderr and r.stdout == ""
    body = {**json.loads(Path(fixture_path("auth0")).read_text()), "created_at": "2026-12-01T10:00:00.000Z"}
    ok = run_cli(["providers", "check", "auth0", "-", "-o", "json"], stdin=json.dumps(body))
    assert ok.code == 0, ok.stderr
    assert (json.loads(ok.stdout)["status"], json.loads(ok.stdout)["raw_status"]) == ("queued", "pending")


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("saymon", {"finished": True}, "finished"),
        ("saymon", {"finished": False}, "not finished"),
        ("knock", None, "completed"),
    ],
)
def test_check_knock_and_saymon_bodies(name: str, body: Any, status: str, sim: Simulator) -> None:
    if body is None:  # Knock's body as its simulator sends it
        import httpx

        op_id = sim.add(Scenario(queued_seconds=0, duration=0, total_rows=100))
        body = httpx.get(
            f"{sim.base_url}/v1/bulk_operations/{op_id}", headers={"Authorization": f"Bearer {KNOCK_TOKEN}"}
        ).json()
    extra = ["--id", "5f0c8a2b9e1d4c3b2a190817"] if name == "saymon" else []
    r = run_cli(["providers", "check", name, "-", "-o", "json", *extra], stdin=json.dumps(body))
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == status


def test_check_text_and_table_render_as_get_does() -> None:
    with_profiles()
    sample = Path(os.environ["BULKOP_CONFIG"]).parent / "sample.json"
    sample.write_text(json.dumps(acme_job()))
    text = run_cli(["providers", "check", "acme", str(sample)])  # piped: text
    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    for line in ("id:\t42", "provider:\tacme", "name:\tImport users", "status:\tprocessing", "processed:\t250"):
        assert line in lines
    assert "error_item:\tusers/row-17" in lines
    table = run_cli(["providers", "check", "acme", str(sample), "-o", "table"])
    assert table.code == 0 and "Import users" in table.stdout and "250 / 1,000" in table.stdout


def test_check_an_unmapped_status_names_the_value_and_the_mapping_to_edit() -> None:
    with_profiles()
    for raw, shown in (("WAITING", '"WAITING"'), (7, "7"), (True, "true")):
        r = run_cli(["providers", "check", "acme", "-"], stdin=json.dumps(acme_job(raw)))
        assert r.code == 6, r.stderr
        assert f"is {shown}, not one of" in r.stderr and "map it in providers.acme.status" in r.stderr
        assert r.stderr.startswith("bulkop: error: stdin: an invalid acme operation: field 'status'")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"job": {"title": "x"}}, "field 'status' (providers.acme.fields.status = 'job.state') is missing or null"),
        ([1, 2], "expected a JSON object, got an array"),
        (acme_job(done="250"), "field 'processed' (providers.acme.fields.processed = 'job.done') should be an integer"),
        (acme_job(created="yesterday"), "should be an RFC 3339 date-time"),
    ],
)
def test_check_an_invalid_body_is_exit_6_naming_the_field(body: Any, words: str) -> None:
    with_profiles()
    r = run_cli(["providers", "check", "acme", "-"], stdin=json.dumps(body))
    assert r.code == 6
    assert words in r.stderr


def test_check_a_missing_required_field_of_a_builtin() -> None:
    body = json.loads(Path(fixture_path("zendesk")).read_text())
    knockish = {"id": "123e4567-e89b-12d3-a456-426614174000", "status": "completed"}
    r = run_cli(["providers", "check", "knock", "-", "-o", "json"], stdin=json.dumps(knockish))
    assert r.code == 6
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "invalid_response" and "(the provider requires it)" in err["message"]
    assert "providers.knock.fields." in err["message"]
    del body["job_status"]
    r = run_cli(["providers", "check", "zendesk", "-"], stdin=json.dumps(body))
    assert r.code == 6 and "providers.zendesk.fields.status" in r.stderr


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}", "stdin is not JSON"),
        ("", "stdin is not JSON"),
        ('{"job": ', "stdin is not JSON (Expecting value at line 1 column 9)"),
        ("<html>\x1b[2Jbad gateway</html>", "'<html>bad gateway</html>'"),
    ],
)
def test_check_a_body_that_is_not_json_is_exit_6(data: str, words: str) -> None:
    with_profiles()
    r = run_cli(["providers", "check", "acme", "-"], stdin=data)
    assert r.code == 6
    assert words in r.stderr and "curl -s" in r.stderr and "\x1b" not in r.stderr


def test_check_a_body_beyond_max_body_size_is_refused_as_a_live_one_would_be() -> None:
    with_profiles()
    big = json.dumps(acme_job(title="x" * 5000))
    r = run_cli(["providers", "check", "acme", "-"], stdin=big, env={"BULKOP_MAX_BODY_SIZE": "4096"})
    assert r.code == 6 and "more than 4.0 KiB" in r.stderr
    assert run_cli(["providers", "check", "acme", "-"], stdin=big).code == 0


def test_check_id_is_checked_like_get_and_must_match_the_body() -> None:
    with_profiles()
    body = json.dumps(acme_job())
    assert run_cli(["providers", "check", "acme", "-", "--id", "42"], stdin=body).code == 0
    other = run_cli(["providers", "check", "acme", "-", "--id", "43"], stdin=body)
    assert other.code == 6 and "it is about operation '42', not the one asked for (43)" in other.stderr
    bad = run_cli(["providers", "check", "acme", "-", "--id", "abc"], stdin=body)
    assert bad.code == 2 and "matches the pattern [0-9]+" in bad.stderr
    uuid = run_cli(["providers", "check", "knock", "-", "--id", "not-a-uuid"], stdin="{}")
    assert uuid.code == 2


def test_check_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.json", tmp_path):
        r = run_cli(["providers", "check", "zendesk", str(path)])
        assert r.code == 2 and f"cannot read {path}" in r.stderr


def test_check_needs_no_credentials_and_makes_no_request() -> None:
    # No profile, no key, a base URL nobody answers at: check reads the file and nothing else.
    write_config(ACME.replace("https://api.acme.example", "http://192.0.2.1:9"))
    r = run_cli(["providers", "check", "acme", "-"], stdin=json.dumps(acme_job("DONE")))
    assert r.code == 0, r.stderr
    assert "status:\tcompleted" in r.stdout


def test_check_with_a_definition_only_in_a_file(tmp_path: Path) -> None:
    definition = tmp_path / "acme.toml"
    definition.write_text(ACME)
    body = json.dumps(acme_job("DONE"))
    r = run_cli(["providers", "check", "acme", "-", "--definition", str(definition), "-o", "json"], stdin=body)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "completed"
    # a built-in's name is fine there: nothing but this command reads that file
    definition.write_text(run_cli(["providers", "show", "zendesk"]).stdout.replace('"working"', '"busy"'))
    zd = json.loads(Path(fixture_path("zendesk")).read_text())
    zd["job_status"]["status"] = "busy"
    r = run_cli(["providers", "check", "zendesk", "-", "--definition", str(definition)], stdin=json.dumps(zd))
    assert r.code == 0 and "status:\tprocessing" in r.stdout, r.stderr
    missing = run_cli(["providers", "check", "acme", "-", "--definition", str(definition)], stdin=body)
    assert missing.code == 2 and "has no [providers.acme] table" in missing.stderr and "zendesk" in missing.stderr
    definition.write_text(ACME.replace('"bearer"', '"magic"'))
    broken = run_cli(["providers", "check", "acme", "-", "--definition", str(definition)], stdin=body)
    assert broken.code == 7 and f"{definition}: providers.acme.auth" in broken.stderr


def test_check_reads_stdin_and_files_in_a_real_process(tmp_path: Path) -> None:
    with_profiles()
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(acme_job("DONE")))
    p = run_process(["providers", "check", "acme", str(sample), "-o", "json"])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "completed"
    p = run_process(["providers", "check", "acme", "-"], stdin=json.dumps(acme_job("CANCELLED")))
    assert p.returncode == 0 and "status:\tfailed" in p.stdout, p.stderr
    p = run_process(["providers", "check", "acme", "-"], stdin=json.dumps(acme_job("LOST")))
    assert p.returncode == 6 and '"LOST"' in p.stderr and "Traceback" not in p.stderr


# ------------------------------------------------------------------------------------- help, README


@pytest.mark.parametrize("sub", [[], ["list"], ["show"], ["check"]])
def test_help_has_examples(sub: list[str]) -> None:
    p = run_process(["providers", *sub, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert p.returncode == 0, p.stderr
    assert "Examples:" in p.stdout and "bulkop providers" in p.stdout


class Server(LocalServer):
    """Answers every GET with one JSON body, and remembers what it was asked."""

    def __init__(self, body: Any) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.data = json.dumps(body).encode()
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.path, dict(handler.headers)))
        self.reply(handler, 200, self.data)


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Any job API\n", 1)[1].split("\n## ", 1)[0]


def _blocks(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def test_readme_any_job_api_example_runs(tmp_path: Path) -> None:
    """README's worked definition: its config.toml, its sample.json, and the commands it shows,
    with the output it shows (the base URL pointed at this test's server)."""
    section = _readme_section()
    (config,) = _blocks(section, "toml")
    (sample,) = _blocks(section, "json")
    (tmp_path / "sample.json").write_text(sample)
    with Server(json.loads(sample)) as server:
        write_config(config.replace("https://api.acme.example", server.url))
        sessions = _blocks(section, "shell-session")
        assert sessions
        for block in sessions:
            command, *output = block.splitlines()
            words = command.removeprefix("$ ").split()
            while "=" in words[0]:  # ACME_API_KEY=… : the test sets it
                words.pop(0)
            assert words[0] == "bulkop", command
            args = words[1:]
            r = subprocess.run(
                [sys.executable, "-m", "bulkop", *args],
                env=minimal_env(ACME_API_KEY="acme-secret-key"),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
            )
            assert r.returncode == 0, (command, r.stderr)
            produced = {" ".join(line.split()) for line in r.stdout.splitlines()}
            for line in output:
                if line.strip():
                    assert " ".join(line.split()) in produced, (command, line, r.stdout)
        assert server.requests, "the README's get reached the server"
        path, headers = server.requests[0]
        assert path == "/api/jobs/42"
        assert headers["Authorization"] == "Bearer acme-secret-key" and headers["Acme-Version"] == "2024-01"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("bulkop providers show ", [*BUILTIN_NAMES, "acme"]),
        ("bulkop providers check a", ["auth0", "acme"]),
        ("bulkop providers show m", ["mailchimp"]),
    ],
)
def test_names_complete_from_builtins_and_config(words: str, expected: list[str]) -> None:
    with_profiles()
    p = run_process([], env={"_BULKOP_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": "3"})
    assert p.returncode == 0, p.stderr
    assert [line.removeprefix("plain,") for line in p.stdout.splitlines()] == expected


def test_names_complete_even_when_the_config_is_broken() -> None:
    write_config("[providers\n")
    p = run_process(
        [], env={"_BULKOP_COMPLETE": "bash_complete", "COMP_WORDS": "bulkop providers show k", "COMP_CWORD": "3"}
    )
    assert p.returncode == 0 and p.stdout.splitlines() == ["plain,knock"] and p.stderr == ""


def test_a_config_file_that_is_not_toml_is_exit_7_naming_it() -> None:
    path = write_config("[providers\n")
    for args in (["providers"], ["providers", "show", "knock"], ["providers", "check", "knock", "-"]):
        r = run_cli(args, stdin="{}")
        assert r.code == 7 and f"{path}: invalid TOML" in r.stderr and r.stdout == "", args
