"""SimulatorProcess: run `python -m bulkop.simulator` as a child and drive it over /_sim/."""

from __future__ import annotations

import http.client
import json
import selectors
import signal
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

from bulkop.simulator.scenario import Scenario


class SimulatorProcess:
    """A simulator in its own process (benchmarks, subprocess tests); stdlib HTTP client only.

    `info` holds the announced JSON line: base_url, knock_token, saymon_login,
    saymon_password and ids (scenario name → id for --demo / --scenarios).
    """

    def __init__(self, *args: str, python: str = sys.executable, startup_timeout: float = 10.0):
        self.args = list(args)
        self.python = python
        self.startup_timeout = startup_timeout
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SimulatorProcess:
        self._proc = subprocess.Popen(
            [self.python, "-m", "bulkop.simulator", *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        try:
            self.info = json.loads(self._read_announcement())
        except BaseException:
            self.stop()
            raise
        return self

    def _read_announcement(self) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            if not selector.select(self.startup_timeout):
                raise TimeoutError(f"simulator did not announce itself in {self.startup_timeout} s")
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator exited with {self._proc.wait()} before announcing")
        return line

    def stop(self, timeout: float = 5.0) -> int:
        """SIGINT, then SIGKILL if it does not exit in time; returns the exit status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"])

    def add(self, scenario: Scenario | dict[str, Any]) -> dict[str, str]:
        """Add one operation; returns {"id", "provider", "path", "url"}."""
        added: dict[str, str] = self._call("POST", "/_sim/operations", _plain(scenario))
        return added

    def add_many(self, scenarios: list[Scenario | dict[str, Any]]) -> list[dict[str, str]]:
        added: list[dict[str, str]] = self._call("POST", "/_sim/operations/batch", [_plain(s) for s in scenarios])
        return added

    def request_counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = self._call("GET", "/_sim/requests")
        return counts

    def reset(self) -> None:
        self._call("POST", "/_sim/reset", {})

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        url = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
        try:
            body = None if payload is None else json.dumps(payload).encode()
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = json.loads(response.read())
        finally:
            conn.close()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data.get('error', data)}")
        return data


def _plain(scenario: Scenario | dict[str, Any]) -> dict[str, Any]:
    return scenario.to_dict() if isinstance(scenario, Scenario) else scenario
