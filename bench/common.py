"""What every suite shares: the simulator process, the child environment and the run's size."""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness import clean_env

from bulkop.simulator.external import SimulatorProcess


@dataclass
class Bench:
    """One benchmark run: a simulator in its own process and the settings of this run."""

    sim: SimulatorProcess
    home: str  # an empty config dir, so no developer profile leaks in
    quick: bool
    extra: dict[str, Any] = field(default_factory=dict)  # raw data for results.json

    @property
    def base_url(self) -> str:
        return self.sim.base_url

    @property
    def token(self) -> str:
        return self.sim.info["knock_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a child that talks to the simulator's Knock API."""
        return clean_env(
            {"KNOCK_API_KEY": self.token, "BULKOP_BASE_URL": self.base_url, "KNOCK_BASE_URL": self.base_url, **extra},
            home=self.home,
        )

    def url(self, op_id: str) -> str:
        return f"{self.base_url}/v1/bulk_operations/{op_id}"

    def body_size(self, op_id: str) -> int:
        """Bytes in the operation's body as the API sends it (compact JSON)."""
        conn = http.client.HTTPConnection(urlsplit(self.base_url).netloc, timeout=30)
        try:
            conn.request("GET", f"/v1/bulk_operations/{op_id}", headers=self.headers)
            return len(conn.getresponse().read())
        finally:
            conn.close()

    def add(self, **scenario: Any) -> str:
        """Create one Knock operation on the simulator and return its id."""
        return self.sim.add(scenario)["id"]

    def add_many(self, scenarios: list[dict[str, Any]]) -> list[str]:
        return [op["id"] for op in self.sim.add_many(scenarios)]
