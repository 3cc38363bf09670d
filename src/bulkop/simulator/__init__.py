"""A real loopback HTTP server faking the Knock and SAYMON bulk-operation APIs (stdlib only)."""

from bulkop.simulator.scenario import Scenario, demo_scenarios
from bulkop.simulator.server import RecordedRequest, Simulator

__all__ = ["RecordedRequest", "Scenario", "Simulator", "demo_scenarios"]
