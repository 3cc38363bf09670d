"""`bulkop demo` and `bulkop demo serve`, end to end in real subprocesses."""

from __future__ import annotations

import base64
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
from typing import Any

import pytest

from conftest import run_process

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
        r"demo-saymon:[0-9a-f]{24} completed",
    ]
    for pattern in expected:
        assert [line for line in finals if re.search(f"^{TIMESTAMP} {pattern}", line)], (pattern, p.stderr)
    assert "summary: 3 completed · 1 failed" in p.stderr
    assert "an operation failed, as planned" in p.stderr
    assert "Traceback" not in p.stderr


class Serve:
    """`bulkop demo serve --port 0` in the background, with what it printed."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bulkop", "demo", "serve", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
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
