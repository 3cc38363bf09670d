"""Which profile, URL and credential a command uses: an explicit profile wins over the SDK's
ambient variables (KNOCK_API_KEY, KNOCK_BASE_URL, SAYMON_LOGIN, SAYMON_PASSWORD), BULKOP_*
variables and flags still override it, and a mistyped profile is named as such.

Two simulators: "prod" holds the operation and knows the test token; "ambient" stands for the
demo server the tour's `export KNOCK_BASE_URL=…` points at. Each test checks which server
actually received the request and with which Authorization header.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkop.settings import SETTINGS
from bulkop.simulator import Scenario, Simulator
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, run_cli, run_process
from helpers import basic_credentials

AMBIENT_KEY = "sk_test_ambient_demo_key_0000"
AMBIENT_LOGIN, AMBIENT_PASSWORD = "demo", "demo-password-ambient"
SDK_VARS = ("KNOCK_API_KEY", "KNOCK_BASE_URL", "SAYMON_LOGIN", "SAYMON_PASSWORD")


@pytest.fixture
def prod(make_sim) -> Simulator:
    return make_sim()


@pytest.fixture
def ambient(make_sim) -> Simulator:
    return make_sim()


def done(**kw) -> Scenario:
    return Scenario(total_rows=10, queued_seconds=0, duration=0, **kw)


def add_profiles(prod: Simulator) -> None:
    """`prod` (knock, the test token, the prod server) and `other`, the default profile."""
    r = run_cli(
        ["config", "add", "other", "--provider", "knock", "--base-url", "http://127.0.0.1:9"],
        stdin="sk_test_other_profile_key_1",
    )
    assert r.code == 0, r.stderr
    r = run_cli(["config", "add", "prod", "--provider", "knock", "--base-url", prod.base_url], stdin=KNOCK_TOKEN)
    assert r.code == 0, r.stderr
    r = run_cli(
        ["config", "add", "mon", "--provider", "saymon", "--base-url", prod.base_url, "--login", SAYMON_LOGIN],
        stdin=SAYMON_PASSWORD,
    )
    assert r.code == 0, r.stderr


def ambient_env(ambient: Simulator) -> dict[str, str]:
    """What the README tour exports."""
    return {
        "KNOCK_API_KEY": AMBIENT_KEY,
        "KNOCK_BASE_URL": ambient.base_url,
        "SAYMON_LOGIN": AMBIENT_LOGIN,
        "SAYMON_PASSWORD": AMBIENT_PASSWORD,
    }


def basic(login: str, password: str) -> str:
    return "Basic " + basic_credentials(login, password)


# How the profile can be chosen explicitly, for a command on one operation id.
CHOICES = {
    "-p before the command": lambda cmd, op, name: (["-p", name, *cmd, op], {}),
    "-p after the command": lambda cmd, op, name: ([*cmd, op, "-p", name], {}),
    "--profile": lambda cmd, op, name: ([*cmd, op, "--profile", name], {}),
    "BULKOP_PROFILE": lambda cmd, op, name: ([*cmd, op], {"BULKOP_PROFILE": name}),
    "PROFILE:ID": lambda cmd, op, name: ([*cmd, f"{name}:{op}"], {}),
}
COMMANDS = {
    "get": ["get", "-o", "json"],
    "status": ["status"],
    "watch": ["watch", "--display", "quiet", "-o", "json"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("choice", sorted(CHOICES))
def test_an_explicit_knock_profile_wins_over_the_sdk_variables(prod, ambient, command, choice) -> None:
    add_profiles(prod)
    op = prod.add(done())
    args, env = CHOICES[choice](COMMANDS[command], op, "prod")
    r = run_cli(args, env={**ambient_env(ambient), **env})
    assert r.code == 0, r.stderr
    assert ambient.requests == [], "the ambient (demo) server was contacted"
    assert {q.headers["authorization"] for q in prod.requests_for(op)} == {f"Bearer {KNOCK_TOKEN}"}


@pytest.mark.parametrize("choice", ["-p before the command", "BULKOP_PROFILE", "PROFILE:ID"])
def test_an_explicit_saymon_profile_wins_over_the_sdk_variables(prod, ambient, choice) -> None:
    add_profiles(prod)
    op = prod.add(done(provider="saymon"))
    args, env = CHOICES[choice](["status"], op, "mon")
    r = run_cli(args, env={**ambient_env(ambient), **env})
    assert r.code == 0, r.stderr
    assert ambient.requests == []
    assert {q.headers["authorization"] for q in prod.requests_for(op)} == {basic(SAYMON_LOGIN, SAYMON_PASSWORD)}


def test_the_default_profile_is_not_explicit_so_the_sdk_variables_still_win(prod, ambient) -> None:
    """As AWS_ACCESS_KEY_ID beats the AWS default profile: only a named profile shuts them out."""
    add_profiles(prod)
    run_cli(["config", "use", "prod"])
    op = ambient.add(done())
    r = run_cli(["get", op, "-o", "json"], env=ambient_env(ambient))
    assert r.code == 4, r.stderr  # the ambient key, sent to the ambient server (which wants KNOCK_TOKEN)
    assert prod.requests == []
    assert {q.headers["authorization"] for q in ambient.requests_for(op)} == {f"Bearer {AMBIENT_KEY}"}
    shown = json.loads(run_cli(["config", "show", "-o", "json"], env=ambient_env(ambient)).stdout)["settings"]
    assert (shown["api_key"]["source"], shown["api_key"]["detail"]) == ("env", "KNOCK_API_KEY")
    assert shown["base_url"]["value"] == ambient.base_url


@pytest.mark.parametrize("choice", ["-p before the command", "BULKOP_PROFILE", "PROFILE:ID"])
def test_bulkop_variables_and_flags_still_override_an_explicit_profile(prod, ambient, make_sim, choice) -> None:
    add_profiles(prod)
    third = make_sim()
    op = third.add(done())
    args, env = CHOICES[choice](["get", "-o", "json"], op, "prod")
    r = run_cli(args, env={**ambient_env(ambient), **env, "BULKOP_BASE_URL": third.base_url})
    assert r.code == 0, r.stderr
    assert [q.headers["authorization"] for q in third.requests_for(op)] == [f"Bearer {KNOCK_TOKEN}"]
    op2 = third.add(done())
    args, env = CHOICES[choice](["get", "-o", "json"], op2, "prod")
    r = run_cli([*args, "--base-url", third.base_url], env={**ambient_env(ambient), **env})
    assert r.code == 0, r.stderr
    assert ambient.requests == [] and prod.requests == []


def test_an_explicit_profile_without_a_key_does_not_borrow_the_ambient_one(prod, ambient) -> None:
    run_cli(
        ["config", "add", "keyless", "--provider", "knock", "--base-url", prod.base_url, "--api-key-env", "PROD_KEY"]
    )
    op = prod.add(done())
    r = run_cli(["-p", "keyless", "get", op], env=ambient_env(ambient))
    assert r.code == 7 and "PROD_KEY" in r.stderr, r.stderr
    assert prod.requests == [] and ambient.requests == []
    r = run_cli(["-p", "keyless", "get", op, "-o", "json"], env={**ambient_env(ambient), "PROD_KEY": KNOCK_TOKEN})
    assert r.code == 0, r.stderr


def test_config_show_says_which_sdk_variables_it_did_not_use(prod, ambient) -> None:
    add_profiles(prod)
    for args, env in (
        (["config", "show", "-p", "prod"], {}),
        (["config", "show"], {"BULKOP_PROFILE": "prod"}),
        (["config", "show", "prod"], {}),
    ):
        r = run_cli([*args, "-o", "text"], env={**ambient_env(ambient), **env})
        assert r.code == 0, r.stderr
        assert "Not used: KNOCK_BASE_URL, KNOCK_API_KEY" in r.stderr, r.stderr
        rows = {line.split()[0]: line.split()[-2:] for line in r.stdout.splitlines()[3:] if line.strip()}
        assert rows["base_url"] == ["profile", "(prod)"] and rows["api_key"] == ["profile", "(prod)"], r.stdout
        assert AMBIENT_KEY not in r.stdout + r.stderr and KNOCK_TOKEN not in r.stdout + r.stderr
    r = run_cli(["config", "show", "-p", "mon", "-o", "json"], env=ambient_env(ambient))
    assert "Not used: SAYMON_LOGIN, SAYMON_PASSWORD" in r.stderr, r.stderr
    assert json.loads(r.stdout)["settings"]["login"]["value"] == SAYMON_LOGIN


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (
            ["-p", "prod"],
            {},
            [
                "profile prod (from --profile",
                "(profile prod)",
                "api_key from profile prod",
                "not used for an explicit profile: KNOCK_BASE_URL, KNOCK_API_KEY",
            ],
        ),
        ([], {"BULKOP_PROFILE": "prod"}, ["profile prod (from BULKOP_PROFILE)", "api_key from profile prod"]),
        ([], {}, ["profile other (the default_profile)", "($KNOCK_BASE_URL)", "api_key from $KNOCK_API_KEY"]),
    ],
)
def test_debug_names_the_profile_the_base_url_and_where_the_credential_came_from(
    prod, ambient, args, env, words
) -> None:
    add_profiles(prod)
    op = prod.add(done())
    r = run_cli([*args, "--debug", "status", op], env={**ambient_env(ambient), **env})
    lines = [line for line in r.stderr.splitlines() if "profile" in line and line.startswith("bulkop: debug:")]
    assert len(lines) == 1, r.stderr
    for word in words:
        assert word in lines[0], lines[0]
    for secret in (KNOCK_TOKEN, AMBIENT_KEY, "sk_test_other_profile_key_1"):
        assert secret not in r.stderr


def test_the_settings_table_and_man_page_document_the_rule() -> None:
    from bulkop import _gen

    for setting in SETTINGS:
        for var in setting.sdk_env:
            assert var in SDK_VARS
            assert f"{var} is not used for a profile chosen with -p or BULKOP_PROFILE" in setting.help
    assert sorted(v for s in SETTINGS for v in s.sdk_env) == sorted(SDK_VARS)
    assert "not mixed with a provider SDK" in Path(_gen.__file__).read_text()


# --------------------------------------------------------------------------- PROFILE:ID


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("prood", "did you mean 'prod'?"),
        ("Prod", "did you mean 'prod'?"),
        ("mno", "did you mean 'mon'?"),
        ("xyz", None),
        ("staging", None),
    ],
)
@pytest.mark.parametrize("command", [["get"], ["status"], ["watch", "--display", "quiet"]])
def test_a_mistyped_profile_prefix_is_named_as_an_unknown_profile(prod, typed, suggestion, command) -> None:
    add_profiles(prod)
    op = prod.add(done())
    r = run_cli([*command, f"{typed}:{op}"])
    assert r.code == 2, r.stderr
    assert r.stderr.count("\n") == 1
    assert f"unknown profile '{typed}'" in r.stderr and "profiles: mon, other, prod" in r.stderr, r.stderr
    assert "invalid" not in r.stderr.lower()
    assert (suggestion in r.stderr) if suggestion else ("did you mean" not in r.stderr), r.stderr
    assert prod.requests == []


def test_a_mistyped_profile_flag_suggests_the_close_one(prod) -> None:
    add_profiles(prod)
    for args, env in (
        (["-p", "prdo", "config", "show"], {}),
        (["config", "show"], {"BULKOP_PROFILE": "prdo"}),
        (["config", "use", "prdo"], {}),
    ):
        r = run_cli(args, env=env)
        assert r.code == 7 and "did you mean 'prod'?" in r.stderr and "mon, other, prod" in r.stderr, r.stderr


def test_a_prefix_with_no_profiles_at_all_says_so(prod) -> None:
    op = prod.add(done())
    r = run_cli(["get", f"prod:{op}"])
    assert r.code == 2 and "unknown profile 'prod'" in r.stderr and "profiles: none" in r.stderr, r.stderr


def test_unknown_command_suggestion_is_said_once() -> None:
    for args, suggestion in (
        (["gte"], "Did you mean 'get'?"),
        (["config", "shw"], "Did you mean 'show'?"),
        (["stauts"], "Did you mean 'status'?"),
        (["wacth"], "Did you mean 'watch'?"),
    ):
        p = run_process(args)
        assert p.returncode == 2
        assert p.stderr.count(suggestion) == 1, p.stderr
        assert p.stderr.count("\n") == 1


# --------------------------------------------------------------------------- the suite's own environment


def test_every_subprocess_in_the_suite_gets_an_explicit_environment() -> None:
    """A child that inherits the developer's environment hides bugs (PYTHONUNBUFFERED=1 hid the
    exit-120 broken pipe): every subprocess call in tests/ names env=, and none copies os.environ."""
    import ast
    import tomllib

    tests = Path(__file__).resolve().parent
    missing = []
    for path in sorted(tests.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            spawns = owner == "subprocess" and name in ("run", "Popen", "call", "check_call", "check_output")
            if spawns and not any(k.arg == "env" for k in node.keywords):
                missing.append(f"{path.name}:{node.lineno}")
        for node in ast.walk(tree):
            # dict(os.environ), {**os.environ, ...}: the whole environment, copied
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "dict"
                and node.args
                and ast.unparse(node.args[0]) == "os.environ"
            ):
                missing.append(f"{path.name}:{node.lineno} copies os.environ")
            if isinstance(node, ast.Dict) and any(
                k is None and ast.unparse(v) == "os.environ" for k, v in zip(node.keys, node.values, strict=True)
            ):
                missing.append(f"{path.name}:{node.lineno} copies os.environ")
    allowed = {"conftest.py"}  # run_cli: in-process, on the environment the isolation fixture cleaned
    assert [m for m in missing if m.split(":")[0] not in allowed] == []
    options = tomllib.loads((tests.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout"] > 0, "pytest-timeout: a hang fails one test instead of stalling CI"
