"""Hardening: a credential goes in one place only, the Authorization header to its own host.

Known secrets are configured three ways (environment variables; a profile written by
`config add` with the secret on stdin; a profile that names a variable to read it from) for
both APIs. Every command runs through success and every error path, in every output mode, with
and without --debug; stdout, stderr, the config directory and every file bulkop wrote (the
GitHub step summary) are scanned for the secret, for pieces of it and for its Basic-auth base64
form. The simulator records what it received, so the test also checks where the secret went.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from bulkop.simulator import Simulator
from conftest import KNOCK_TOKEN, SAYMON_LOGIN, SAYMON_PASSWORD, Result, run_cli
from helpers import MISSING_ID, CannedServer, FakeClock, basic_credentials, done, free_port

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

WRONG_KNOCK_TOKEN = "sk_test_WRONG7a6b5c4d3e2f1a0b"
WRONG_SAYMON_PASSWORD = "wr0ng-Pa55word-Q7"
SECRET = {"knock": KNOCK_TOKEN, "saymon": SAYMON_PASSWORD}
WRONG = {"knock": WRONG_KNOCK_TOKEN, "saymon": WRONG_SAYMON_PASSWORD}


def leaked_forms(secret: str) -> list[str]:
    """The secret, its encodings, and every 10-character piece of it (a truncated leak is a leak)."""
    forms = {
        secret,
        quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode().rstrip("="),
        basic_credentials(password=secret).rstrip("="),
    }
    forms |= {secret[i : i + 10] for i in range(len(secret) - 9)}
    return sorted(forms)


ALL_FORMS = sorted({f for s in [*SECRET.values(), *WRONG.values()] for f in leaked_forms(s)})


def assert_no_secret(text: str, where: str) -> None:
    found = [form for form in ALL_FORMS if form in text]
    assert found == [], f"secret material {found} in {where}:\n{text}"


# --------------------------------------------------------------------------- the matrix

# (command, output mode): every command with every output it has.
MODES = [
    ("get", ["-o", "text"]),
    ("get", ["-o", "table"]),
    ("get", ["-o", "json"]),
    ("get", ["-o", "jsonl"]),
    ("status", []),
    ("status", ["-o", "json"]),
    ("watch", ["--display", "lines"]),
    ("watch", ["-o", "json", "--display", "quiet"]),
]
ALL_RUNS = [(command, mode, debug) for command, mode in MODES for debug in (False, True)]
CASES = [
    "ok",
    "wrong-secret",
    "not-found",
    "server-error",
    "invalid-response",
    "redirect",
    "refused",
    "timeout",
    "usage",
    "config",
]
EXPECTED = {
    "ok": 0,
    "wrong-secret": 4,
    "not-found": 5,
    "server-error": 6,
    "invalid-response": 6,
    "redirect": 6,
    "refused": 6,
    "timeout": 6,
    "usage": 2,
    "config": 7,
}
SOURCES = [
    ("knock", "env"),
    ("knock", "profile"),
    ("knock", "profile-env"),
    ("saymon", "env"),
    ("saymon", "profile"),
    ("saymon", "profile-env"),
]


def runs_for(source: str, case: str) -> list[tuple[str, list[str], bool]]:
    """Success with secrets from the environment: every command × output mode × verbosity.
    Elsewhere a selection that rotates over the cases, so that across them every mode and
    verbosity meets every source, while the whole matrix stays within seconds."""
    if case == "ok":
        if source == "env":
            return ALL_RUNS
        if source == "profile":
            return [(c, m, i % 2 == 1) for i, (c, m) in enumerate(MODES)]
        return [(c, m, True) for c, m in MODES[::2]]
    if case == "wrong-secret":
        return {"env": ALL_RUNS[1::2], "profile": ALL_RUNS[0::4], "profile-env": ALL_RUNS[3::8]}[source]
    if case == "timeout":  # each costs a real --request-timeout
        runs = [("get", ["-o", "text"], True), ("watch", ["--display", "lines"], False)]
        return runs if source == "env" else runs[1:]
    start = CASES.index(case) * 3 + {"env": 0, "profile": 5, "profile-env": 11}[source]
    count = 2 if source == "env" else 1
    return [ALL_RUNS[(start + 7 * k) % len(ALL_RUNS)] for k in range(count)]


@dataclass
class Setup:
    """What one (provider, source) needs: the environment, profiles, and the files to scan."""

    provider: str
    source: str
    sim: Simulator
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    profile_flag: list[str] = field(default_factory=list)  # selects the profile with the wrong secret


def configure(provider: str, source: str, sim: Simulator, home: Path) -> Setup:
    s = Setup(provider, source, sim, home)
    summary = home / "step-summary.md"
    s.env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    if provider == "saymon":
        s.env["BULKOP_PROVIDER"] = "saymon"
    if source == "env":
        s.env["BULKOP_BASE_URL"] = sim.base_url
        if provider == "knock":
            s.env["KNOCK_API_KEY"] = KNOCK_TOKEN
        else:
            s.env |= {"SAYMON_LOGIN": SAYMON_LOGIN, "SAYMON_PASSWORD": SAYMON_PASSWORD}
        return s
    for name, secret in (("good", SECRET[provider]), ("bad", WRONG[provider])):
        args = ["config", "add", name, "--provider", provider, "--base-url", sim.base_url]
        if provider == "saymon":
            args += ["--login", SAYMON_LOGIN]
        stdin = ""
        if source == "profile":
            stdin = secret + "\n"
        else:
            variable = f"BULKOP_TEST_{name.upper()}_SECRET"
            args += ["--api-key-env" if provider == "knock" else "--password-env", variable]
            s.env[variable] = secret
        r = run_cli(["--debug", *args], s.env, stdin=stdin)
        assert r.code == 0, r.stderr
        assert_no_secret(r.stdout + r.stderr, f"`{' '.join(args)}`")
    return s


def case_env_and_id(s: Setup, case: str, elsewhere: CannedServer) -> tuple[dict[str, str], list[str], str]:
    """Environment changes, extra global options, and the operation id for one case."""
    provider, env, extra = s.provider, dict(s.env), []
    op_id = MISSING_ID if provider == "knock" else "missing-job"
    scenario = {
        "ok": done(),
        "wrong-secret": done(),
        "server-error": done(server_errors=1000),
        "invalid-response": done(fault="html_200"),
        "timeout": done(fault="hang"),
        "redirect": done(fault="redirect", redirect_to=f"{elsewhere.url}/v1/bulk_operations/{MISSING_ID}"),
    }.get(case)
    if scenario is not None:
        import dataclasses

        op_id = s.sim.add(dataclasses.replace(scenario, provider=provider))
    if case == "wrong-secret":
        if s.source == "env":
            env["KNOCK_API_KEY" if provider == "knock" else "SAYMON_PASSWORD"] = WRONG[provider]
        else:
            extra = ["--profile", "bad"]
    elif case == "refused":
        env["BULKOP_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    elif case == "usage":
        op_id = "not/an id"
    elif case == "config":
        if s.source == "env":  # a pasted secret with a line break: refused without being echoed
            env["KNOCK_API_KEY" if provider == "knock" else "SAYMON_PASSWORD"] = SECRET[provider] + "\n"
        else:
            extra = ["--profile", "nope"]
    return env, extra, op_id


def argv(command: str, mode: list[str], debug: bool, op_id: str, extra: list[str], case: str) -> list[str]:
    timeout = "0.3" if case == "timeout" else "0.5"
    args = [command, op_id, *mode, *extra, "--request-timeout", timeout]
    if command == "watch":
        args += ["--interval", "0.2", "--max-consecutive-failures", "1"]
    else:
        args += ["--retries", "0"]
    return [*args, "--debug"] if debug else args


def expected_authorization(provider: str, secret: str) -> str:
    return f"Bearer {secret}" if provider == "knock" else f"Basic {basic_credentials(password=secret)}"


def scan_files(home: Path, s: Setup) -> None:
    """Only the config file may hold a secret, and only the stored one, once, in a 0600 file."""
    config_file = home / "config" / "config.toml"
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes().decode("utf-8", "replace")
        if path == config_file and s.source == "profile":
            assert data.count(SECRET[s.provider]) == 1 and data.count(WRONG[s.provider]) == 1, data
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            data = data.replace(SECRET[s.provider], "").replace(WRONG[s.provider], "")
        assert_no_secret(data, str(path))
    assert list(home.rglob("*.tmp")) == []  # no temporary copy of the config left behind


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "source"), SOURCES, ids=[f"{p}-{s}" for p, s in SOURCES])
def test_a_secret_never_leaves_the_authorization_header(sim, tmp_path, provider, source):
    with CannedServer(host="127.0.0.2") as elsewhere:
        s = configure(provider, source, sim, tmp_path)
        for case in CASES:
            sim.clear_requests()
            env, extra, op_id = case_env_and_id(s, case, elsewhere)
            for command, mode, debug in runs_for(source, case):
                args = argv(command, mode, debug, op_id, extra, case)
                clock = FakeClock()
                r: Result = run_cli(args, env, now=clock.now, sleep=clock.sleep)
                shown = f"{case}: `bulkop {' '.join(args)}` → {r.code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
                assert r.code == EXPECTED[case], shown
                assert "Traceback" not in r.stderr, shown
                assert_no_secret(r.stdout, shown)
                assert_no_secret(r.stderr, shown)
            used = WRONG[provider] if case == "wrong-secret" else SECRET[provider]
            for request in sim.requests:
                assert request.headers.get("authorization") == expected_authorization(provider, used), request
                others = {k: v for k, v in request.headers.items() if k != "authorization"}
                assert_no_secret(f"{request.path} {others}", "a request's path or other headers")
        scan_files(tmp_path, s)
        assert elsewhere.requests == []  # nothing, and so no credential, followed a redirect
        assert (tmp_path / "step-summary.md").exists()  # the scan covered a file bulkop wrote


# --------------------------------------------------------------------------- profile management


@pytest.mark.parametrize("provider", ["knock", "saymon"])
def test_config_commands_never_show_a_secret(sim, tmp_path, provider):
    secret, key = SECRET[provider], "api_key" if provider == "knock" else "password"
    s = configure(provider, "profile", sim, tmp_path)
    env = {**s.env, "KNOCK_API_KEY": KNOCK_TOKEN, "SAYMON_PASSWORD": SAYMON_PASSWORD}
    runs: list[tuple[list[str], str, int]] = [
        (["config", "list"], "", 0),
        (["config", "list", "-o", "json"], "", 0),
        (["config", "list", "-o", "table"], "", 0),
        (["config", "show"], "", 0),
        (["config", "show", "good", "-o", "json"], "", 0),
        (["config", "show", "bad", "-o", "table"], "", 0),
        (["--debug", "config", "show", "--profile", "good", "--base-url", sim.base_url], "", 0),
        (["config", "set", "good", key], secret + "\n", 0),  # from stdin
        (["config", "set", "good", key, secret], "", 2),  # as an argument: refused, not echoed
        (["config", "set", "nope", key], secret + "\n", 7),
        (
            [
                "config",
                "add",
                "good",
                "--provider",
                provider,
                "--base-url",
                sim.base_url,
                *(["--login", SAYMON_LOGIN] if provider == "saymon" else []),
            ],
            secret + "\n",
            7,
        ),  # exists
        (["config", "use", "bad"], "", 0),
        (["config", "unset", "bad", "retries"], "", 0),
        (["config", "path"], "", 0),
        (["config", "set", "bad", f"{key}_env", "BULKOP_TEST_VAR"], "", 0),  # the stored secret goes
        (["config", "show"], "", 0),  # bad is the default, not chosen: the env's secret wins, masked
        (["config", "remove", "bad"], "", 0),
    ]
    for args, stdin, code in runs:
        r = run_cli(args, env, stdin=stdin)
        shown = f"`bulkop {' '.join(args)}` → {r.code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        assert r.code == code, shown
        assert "Traceback" not in r.stderr, shown
        assert_no_secret(r.stdout + r.stderr, shown)
    text = (tmp_path / "config" / "config.toml").read_text()
    assert text.count(secret) == 1 and WRONG[provider] not in text  # `good` keeps its one; `bad` is gone
    for path in (p for p in tmp_path.rglob("*") if p.is_file() and p.name != "config.toml"):
        assert_no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))


def test_the_scan_would_catch_a_leak():
    """Guard for this file: the forms scanned include pieces and the Basic-auth encoding."""
    assert basic_credentials(password=SAYMON_PASSWORD).rstrip("=") in ALL_FORMS
    assert KNOCK_TOKEN[-10:] in ALL_FORMS and "sk_t…0c" not in ALL_FORMS  # what `config show` prints
    with pytest.raises(AssertionError):
        assert_no_secret(f"Authorization: Basic {basic_credentials(password=SAYMON_PASSWORD)}", "a debug line")
    assert os.environ.get("KNOCK_API_KEY") is None  # the isolation fixture keeps the real ones out
