"""A real loopback HTTP server faking the Knock and SAYMON bulk-operation APIs (stdlib only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bulkop.simulator.scenario import Scenario, demo_scenarios
    from bulkop.simulator.server import RecordedRequest, Simulator

__all__ = ["RecordedRequest", "Scenario", "Simulator", "demo_scenarios"]


def __getattr__(name: str) -> Any:
    # The server (http.server, socketserver, email...) loads only when used: the CLI imports the
    # scenario module for `demo serve --help` on every start.
    if name in ("RecordedRequest", "Simulator"):
        from bulkop.simulator import server

        return getattr(server, name)
    if name in ("Scenario", "demo_scenarios"):  # lazy too: scenario imports faults, a sibling
        from bulkop.simulator import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
