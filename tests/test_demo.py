"""`bulkop demo` and `bulkop demo serve`, end to end in real subprocesses."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bulkop.simulator.scenario import Scenario, fields_markdown
from conftest import minimal_env, run_cli, run_process

README = Path(__file__).resolve().parent.parent / "README.md"
FIELDS = [f.name for f in dataclasses.fields(Scenario)]

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.mark.slow
def test_demo_watches_every_operation_to_its_end_in_lines(tmp_path):
    """`bulkop demo --speed 20 --display lines`: the four demo operations all reach an end
    state, one of them fails as planned (exit 1). The user's credentials and config are not
    used: bogus ones in the environment change nothing."""
    bogus = {
        "KNOCK_API_KEY": "sk_live_must_not_be_used",
        "BULKOP_BASE_URL": "http://127.0.0.1:9",
        "BULKOP_PROVIDER": "saymon",
        "BULKOP_CONFIG": str(tmp_path / "absent.toml"),
    }
    p = run_process(["demo", "--speed", "20", "--display", "lines"], bogus, timeout=60)
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    finals = [line for line in p.stderr.splitlines() if "(watched " in line or "(took " in line]
    assert len(finals) == 4, p.stderr
    expected = [
        r"users\.identify \S+ completed 100% 1,000/1,000",
        r"objects\.bulk_set \S+ completed 100% 50,000/50,000",
        r"users\.bulk_delete \S+ failed 60% 4,800/8,000",
        r"demo-saymon:[0-9a-f]{24} finished",
    ]
    for pattern in expected:
        assert [line for line in finals if re.search(f"^{TIMESTAMP} {pattern}", line)], (pattern, p.stderr)
    assert "summary: 2 completed · 1 finished · 1 failed" in p.stderr
    assert "an operation failed, as planned" in p.stderr
    assert "Traceback" not in p.stderr


class Serve:
    """`bulkop demo serve --port 0` in the background, with what it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bulkop", "demo", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=minimal_env(),
        )
        self.banner = ""

    def read_banner(self, timeout: float = 20.0) -> str:
        """Read stdout (unbuffered, so select() sees every byte) past the usage examples."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"New operations" not in data or not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    pytest.fail(f"demo serve printed no usage text in {timeout} s: {data!r}")
                chunk = os.read(fd, 65536)
                if not chunk:
                    pytest.fail(f"demo serve exited early ({self.proc.wait()}): {data!r}")
                data += chunk
        self.banner = data.decode()
        return self.banner

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(signum)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err.decode()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.load(e)


def test_demo_serve_prints_how_to_use_it_serves_both_apis_and_stops_on_ctrl_c():
    """`demo serve --port 0` prints its base URL, a token and example ids; the Knock route
    answers the printed token with a BulkOperation and a wrong one with Knock's 401 error
    shape; the SAYMON route wants its Basic credentials; SIGINT stops it with exit 130 and no
    traceback."""
    serve = Serve()
    try:
        banner = serve.read_banner()
        base_url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)
        token = re.search(r"KNOCK_API_KEY=(\S+)", banner).group(1)
        knock_ids = re.search(r"bulkop watch ((?:\S+ ?)+)\n", banner).group(1).split()
        login, password = re.search(r"curl -u ([^:\s]+):(\S+) ", banner).groups()
        saymon_id = re.search(r"/node/api/bulk/([0-9a-f]+)/status", banner).group(1)
        assert len(knock_ids) == 3
        assert f"export KNOCK_API_KEY={token} KNOCK_BASE_URL={base_url}" in banner

        status, body = get(f"{base_url}/v1/bulk_operations/{knock_ids[0]}", {"Authorization": f"Bearer {token}"})
        assert status == 200
        assert body["__typename"] == "BulkOperation" and body["id"] == knock_ids[0]
        assert body["status"] in ("queued", "processing", "completed", "failed")

        status, body = get(f"{base_url}/v1/bulk_operations/{knock_ids[0]}", {"Authorization": "Bearer sk_wrong"})
        assert status == 401
        assert set(body) == {"code", "message", "status", "type"} and body["status"] == 401

        basic = base64.b64encode(f"{login}:{password}".encode()).decode()
        status, body = get(f"{base_url}/node/api/bulk/{saymon_id}/status", {"Authorization": f"Basic {basic}"})
        assert status == 200 and isinstance(body["finished"], bool)
        status, _ = get(f"{base_url}/node/api/bulk/{saymon_id}/status")
        assert status == 401
    finally:
        code, err = serve.stop(signal.SIGINT)
    assert code == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err


# -- scenarios: documented once, checked the same way everywhere -------------------------------------


def test_demo_serve_help_documents_every_scenario_field_with_type_default_and_meaning():
    result = run_process(["demo", "serve", "--help"])
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--scenario" in text and "POST /_sim/operations" in text
    rows = fields_markdown().splitlines()[2:]
    assert len(rows) == len(FIELDS)
    for row in rows:
        name, json_type, default, doc = (cell.strip() for cell in row.strip("| ").split(" | ", 3))
        expected = f"{name.strip('`')} ({json_type}, default {default.strip('`')}): {doc}"
        assert " ".join(expected.split()) in text, expected


def test_readme_lists_every_scenario_field_exactly_as_generated():
    """The README's table is fields_markdown() verbatim: regenerate it from the dataclass when a
    field changes (python -c 'from bulkop.simulator.scenario import fields_markdown; print(fields_markdown())')."""
    assert fields_markdown() in README.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"totl_rows": 5}', "unknown scenario field 'totl_rows' (did you mean 'total_rows'?); valid fields: "),
        ('{"fail-at": 0.5}', "unknown scenario field 'fail-at' (did you mean 'fail_at'?); valid fields: "),
        ('{"nope": 1, "nada": 2}', "unknown scenario fields 'nope', 'nada'; valid fields: "),
        ('{"total_rows": "5000"}', "total_rows must be of type integer, not a string"),
        ('{"error_rate": 1.5}', "error_rate must be within 0..1"),
        ('{"fault": "explode"}', "fault must be one of"),
        ('{"provider": "github"}', "provider must be one of"),
        ('[{"name": "ok"}, {"latency": -1}]', "scenario 2 of 2: invalid scenario: latency must be >= 0"),
        ('"fail_at=0.5"', "a scenario must be a JSON object, not str"),
        ("{nope", "not JSON"),
        ('{"id": "x"}', None),
    ],
)
def test_demo_serve_refuses_a_bad_scenario_in_one_line_exit_2(value, expected):
    args = ["demo", "serve", "--port", "0", "--scenario", value]
    if expected is None:  # the same id twice: the second cannot be added
        args += ["--scenario", value]
        expected = "operation 'x' already exists"
    result = run_cli(args)
    assert (result.code, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bulkop: error: --scenario"), result.stderr
    assert expected in result.stderr
    if "unknown scenario field" in expected:
        assert ", ".join(FIELDS) in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_serve_reads_scenarios_from_a_file_and_refuses_a_bad_one(tmp_path):
    missing = run_cli(["demo", "serve", "--scenario", f"@{tmp_path / 'absent.json'}"])
    assert missing.code == 2 and "cannot read the file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "fine"}, {"rate_limt": 2}]))
    result = run_cli(["demo", "serve", "--scenario", f"@{bad}"])
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert f"--scenario @{bad}: scenario 2 of 2: unknown scenario field 'rate_limt'" in result.stderr
    assert "did you mean 'rate_limit'?" in result.stderr and ", ".join(FIELDS) in result.stderr


def test_demo_serve_serves_the_scenarios_given_inline_and_from_a_file(tmp_path):
    """`--scenario` adds operations beside the demo ones; the banner lists them; they answer as
    described (here a fixed body, and a SAYMON job from a file)."""
    more = tmp_path / "more.json"
    more.write_text(json.dumps([{"provider": "saymon", "id": "nightly-7", "duration": 0, "queued_seconds": 0}]))
    serve = Serve("--scenario", '{"id": "mine", "name": "mine", "body": {"status": "odd", "n": [1]}}',
                  "--scenario", f"@{more}")  # fmt: skip
    try:
        banner = serve.read_banner()
        base_url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)
        assert 'knock mine  "mine"' in banner and "saymon nightly-7" in banner
        status, body = get(f"{base_url}/v1/bulk_operations/mine", {"Authorization": "Bearer sk_test_bulkop_demo"})
        assert (status, body) == (200, {"status": "odd", "n": [1]})
        basic = base64.b64encode(b"demo:demo-password").decode()
        status, body = get(f"{base_url}/node/api/bulk/nightly-7/status", {"Authorization": f"Basic {basic}"})
        assert (status, body) == (200, {"finished": True})
        status, body = get(f"{base_url}/node/api/bulk/nightly-7")
        assert (status, body) == (404, {"code": 404, "message": "Not Found"})
    finally:
        code, err = serve.stop(signal.SIGINT)
    assert code == 130 and "Traceback" not in err


@pytest.fixture
def taken_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("how", ["in-process", "subprocess"])
def test_demo_serve_on_a_port_in_use_says_so_in_one_line_exit_2(taken_port, how):
    args = ["demo", "serve", "--port", str(taken_port)]
    if how == "in-process":
        r = run_cli(args)
        code, out, err = r.code, r.stdout, r.stderr
    else:
        p = run_process(args)
        code, out, err = p.returncode, p.stdout, p.stderr
    assert (code, out) == (2, ""), err
    assert err == f"bulkop: error: port {taken_port} is in use; pick another with --port (0: any free port)\n"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("no-such-host.invalid", "cannot listen on 'no-such-host.invalid'"),
        ("192.0.2.77", "no such address on this machine"),  # TEST-NET-1: never a local address
        ("", "--host is empty"),
        ("   ", "--host is empty"),
    ],
)
def test_demo_serve_on_a_bad_host_is_a_usage_error_in_one_line(host, expected):
    r = run_cli(["demo", "serve", "--port", "0", "--host", host])
    assert (r.code, r.stdout) == (2, ""), r.stderr
    assert r.stderr.count("\n") == 1 and expected in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def test_demo_serve_permission_denied_is_a_usage_error(monkeypatch):
    # Binding a port below 1024 is refused to non-root users; the suite may run as root, where
    # it cannot be provoked, so the operating system's answer is given by the socket itself.
    import errno
    import socket

    def refuse(self, address):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    r = run_cli(["demo", "serve", "--port", "80"])
    assert (r.code, r.stdout) == (2, ""), r.stderr
    assert r.stderr.startswith("bulkop: error: permission denied to listen on port 80; pick another with --port")
