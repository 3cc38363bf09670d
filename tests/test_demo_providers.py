"""`bulkop demo --provider NAME` says what will happen with that provider, and it happens; the
percentage beside the counts comes from those counts."""

from __future__ import annotations

import re

import pytest

from bulkop.commands.demo import demo_plan
from conftest import run_process

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("provider", "code", "banner", "stopped"),
    [
        (None, 1, "(one is meant to fail)", r"users\.bulk_delete \S+ failed 60% 4,800/8,000"),
        ("knock", 1, "(one is meant to fail)", r".* failed 60% 4,800/8,000"),
        ("zendesk", 1, "(one is meant to fail)", r".* failed 60% 4,800/8,000"),
        ("auth0", 1, "(one is meant to fail)", r".* failed 60% 4,800/8,000"),
        ("elasticsearch", 1, "(one is meant to fail)", r".* failed 60% 4,800/8,000"),
        (
            "mailchimp",
            0,
            "(one stops part-way with errors; mailchimp has no failed state, so it ends completed with its "
            "errors counted, and the demo exits 0)",
            r".* completed 60% 4,800/8,000 errors \d+",
        ),
        (
            "saymon",
            0,
            "(one stops part-way; SAYMON reports only whether an operation is finished, so every one ends "
            "finished and the demo exits 0)",
            r".* finished",
        ),
    ],
)
def test_the_demo_says_what_happens_with_each_provider(provider, code, banner, stopped) -> None:
    args = ["demo", "--speed", "40", "--display", "lines"] + (["--provider", provider] if provider else [])
    p = run_process(args, timeout=60)
    assert p.returncode == code, p.stderr
    assert banner in p.stderr
    assert ", as planned)" in p.stderr and "see above" not in p.stderr
    assert re.search(f"^{TIMESTAMP} {stopped}", p.stderr, re.M), p.stderr
    assert not re.search(r"100% 4,800/8,000", p.stderr)
    if code == 0:
        assert "meant to fail" not in p.stderr
        assert not re.search(r"summary: [^\n]*failed", p.stderr), p.stderr


@pytest.mark.parametrize("provider", ["knock", "saymon", "zendesk", "auth0", "mailchimp", "elasticsearch"])
def test_a_plan_expecting_a_failure_is_made_only_for_a_provider_with_a_failed_state(provider) -> None:
    from bulkop.providers import builtin

    plan = demo_plan(provider)
    has_failed = bool(builtin(provider).status_map.get("failed"))
    assert (plan.exit_code == 1) is has_failed
    assert ("meant to fail" in plan.banner) is has_failed
