"""Ids that hold ':' (an Elasticsearch task is NODE:TASK): `PROFILE:ID` is a profile prefix only
when PROFILE is a configured profile; otherwise the whole argument is the id when it is a valid
id of the provider in use, else an unknown profile (with a did-you-mean)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

import pytest

from conftest import KNOCK_TOKEN, Scenario, Simulator, run_cli, run_process
from helpers import LocalServer, write_config

NODE = "oTUltX4IQMOUUVeiohTt8A"


def es_profile(sim: Simulator, name: str = "es") -> str:
    return f'[profiles.{name}]\nprovider = "elasticsearch"\nbase_url = "{sim.base_url}"\napi_key = "{KNOCK_TOKEN}"\n'


def es_task(sim: Simulator) -> str:
    op_id = sim.add(Scenario(provider="elasticsearch", queued_seconds=0, duration=0, total_rows=10))
    assert op_id.count(":") == 1
    return op_id


# ----------------------------------------------------------------------------- the catalogue's ES


@pytest.mark.parametrize(
    ("config_head", "args"),
    [
        ("", ["-p", "es"]),  # the profile chosen with -p
        ('default_profile = "es"\n', []),  # the default profile
        ("", ["--profile=es"]),
    ],
)
@pytest.mark.parametrize("command", ["get", "status"])
def test_a_node_task_id_is_the_id_for_the_profile_in_use(sim, config_head, args, command) -> None:
    write_config(config_head + es_profile(sim))
    op_id = es_task(sim)
    r = run_cli([command, *args, op_id])
    assert r.code == 0, r.stderr
    assert "unknown profile" not in r.stderr
    (request,) = sim.requests_for(op_id)
    assert unquote(request.path).endswith(f"/_tasks/{op_id}")


def test_a_node_task_id_with_the_profile_in_the_env(sim) -> None:
    write_config(es_profile(sim))
    op_id = es_task(sim)
    r = run_cli(["get", op_id], env={"BULKOP_PROFILE": "es"})
    assert r.code == 0, r.stderr


def test_profile_prefix_before_a_node_task_id_still_splits_at_the_first_colon(sim) -> None:
    write_config(es_profile(sim))
    op_id = es_task(sim)
    r = run_cli(["get", f"es:{op_id}", "-o", "json"])
    assert r.code == 0, r.stderr
    (request,) = sim.requests_for(op_id)
    assert unquote(request.path).endswith(f"/_tasks/{op_id}")


def test_watch_reads_node_task_ids_from_stdin(sim) -> None:
    write_config(es_profile(sim))
    ids = [es_task(sim), es_task(sim)]
    r = run_cli(
        ["watch", "-p", "es", "-", "-o", "json", "--interval", "1"], stdin="\n".join(ids) + "\n", sleep=lambda s: None
    )
    assert r.code == 0, r.stderr
    for op_id in ids:
        assert sim.requests_for(op_id)


def test_watch_stdin_in_a_real_process(sim, tmp_path) -> None:
    config = tmp_path / "proc-config.toml"
    config.write_text(es_profile(sim))
    config.chmod(0o600)
    op_id = es_task(sim)
    p = run_process(
        ["watch", "-p", "es", "-", "--interval", "1"],
        env={"BULKOP_CONFIG": str(config), "BULKOP_NO_JOURNAL": "1"},
        stdin=op_id + "\n",
    )
    assert p.returncode == 0, p.stderr
    assert op_id in p.stdout + p.stderr


def test_provider_flag_without_a_key_says_the_key_is_missing_not_unknown_profile(sim) -> None:
    write_config(es_profile(sim))
    op_id = es_task(sim)
    r = run_cli(["get", "--provider", "elasticsearch", "--base-url", sim.base_url, op_id])
    assert "unknown profile" not in r.stderr
    assert r.code == 7 and "api key" in r.stderr.lower(), r.stderr
    assert not sim.requests_for(op_id)


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("prdo:123e4567-e89b-12d3-a456-426614174000", "prdo"),  # Knock (default): a mistyped profile
        ("esx:NODE:1", "esx"),
        ("e:0000", "e"),
    ],
)
def test_a_mistyped_profile_is_still_an_unknown_profile_with_did_you_mean(sim, typed, named) -> None:
    write_config(es_profile(sim) + es_profile(sim, "prod"))
    r = run_cli(["get", typed])
    assert r.code == 2, r.stderr
    assert f"unknown profile {named!r}" in r.stderr
    assert "profiles: es, prod" in r.stderr


def test_a_mistyped_profile_for_an_es_profile_when_the_whole_is_not_a_task_id(sim) -> None:
    write_config(es_profile(sim) + es_profile(sim, "prod"))
    # NODE:TASK:MORE matches no ES id, so `prdo` is a mistyped profile
    r = run_cli(["get", "-p", "es", f"prdo:{NODE}:1"])
    assert r.code == 2 and "unknown profile 'prdo'" in r.stderr and "did you mean 'prod'" in r.stderr


def test_a_profile_named_like_a_node_is_a_profile(sim) -> None:
    """A configured name always reads as the prefix; `es:NODE:TASK` names the id whole."""
    op_id = es_task(sim)
    node = op_id.partition(":")[0]
    write_config(es_profile(sim) + es_profile(sim, node))
    r = run_cli(["get", "-p", "es", op_id])
    # read as profile NODE, id TASK: not an ES task id
    assert r.code == 2 and "is not a" in r.stderr, r.stderr
    r = run_cli(["get", f"es:{op_id}"])
    assert r.code == 0, r.stderr


def test_last_names_a_node_task_id_seen_through_a_profile(sim) -> None:
    write_config(es_profile(sim))
    op_id = es_task(sim)
    assert run_cli(["get", "-p", "es", op_id]).code == 0
    listed = run_cli(["list", "-o", "json"])
    assert json.loads(listed.stdout)[0]["id"] == op_id
    r = run_cli(["get", "@last", "-o", "json"])
    assert r.code == 0, r.stderr
    assert len(sim.requests_for(op_id)) == 2


# ------------------------------------------------------------- a provider of the user's own (flags)


TASKS = """
[providers.tasks]
url = "{base_url}/t/{id}"
auth = "none"
id_pattern = "[A-Za-z0-9_-]+:[0-9:]+"  # one repeated part each: bounded matching (docs/providers.md)
[providers.tasks.fields]
status = "state"
total = "of"
processed = "done"
[providers.tasks.status]
processing = ["RUNNING"]
completed = ["DONE"]
failed = ["ERROR"]
"""


class Server(LocalServer):
    def __init__(self) -> None:
        self.paths: list[str] = []
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        self.paths.append(handler.path)
        self.reply(handler, 200, json.dumps({"state": "DONE", "of": 4, "done": 4}).encode())


@pytest.mark.parametrize("op_id", ["node:1", "node:1:2", "a_b-c:10:20:30"])
def test_ids_with_several_colons_given_with_flags_only(op_id) -> None:
    write_config(TASKS + '[profiles.prod]\nprovider = "knock"\n')
    with Server() as server:
        r = run_cli(["get", "--provider", "tasks", "--base-url", server.url, op_id])
        assert r.code == 0, r.stderr
        assert [unquote(p) for p in server.paths] == [f"/t/{op_id}"]
        # @last: the journal holds the id alone (no profile), read back whole
        again = run_cli(["get", "--provider", "tasks", "--base-url", server.url, "@last"])
        assert again.code == 0, again.stderr
        assert [unquote(p) for p in server.paths] == [f"/t/{op_id}"] * 2


def test_last_with_another_provider_says_the_id_is_not_its_own() -> None:
    write_config(TASKS)
    with Server() as server:
        assert run_cli(["get", "--provider", "tasks", "--base-url", server.url, "node:7"]).code == 0
    # Knock, by default: the journal's id is no typo of a profile
    r = run_cli(["get", "@last"], env={"KNOCK_API_KEY": KNOCK_TOKEN})
    assert r.code == 2
    assert "unknown profile" not in r.stderr and "'node:7' is not a" in r.stderr, r.stderr


def test_completion_offers_profiles_but_not_after_a_colon() -> None:
    from bulkop.cli.common import complete_ids

    write_config(TASKS + '[profiles.es]\nprovider = "tasks"\n')
    assert "es:" in complete_ids("e")
    assert complete_ids(f"{NODE}:") == []
