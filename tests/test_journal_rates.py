"""The journal's rate history with many writers: what a sample means (the count and the time it
was observed) and the one consistent series every reader uses (seeded rates, the `get` chart).

Writers are real bulkop processes against the simulator, each with an explicit minimal
environment; the consistent series is checked directly with hostile inputs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bulkop.journal import Journal, Seen, consistent_series, seed_samples
from bulkop.progress import RateEstimator
from conftest import Scenario, knock_env_for


def minimal_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "BULKOP_CONFIG": os.environ["BULKOP_CONFIG"],
        "BULKOP_JOURNAL": os.environ["BULKOP_JOURNAL"],
        "NO_COLOR": "1",
        "CI": "true",
        "TZ": "UTC",
        **extra,
    }


def first_rate(stderr: str) -> float | None:
    """The rows/s of the first `processing` line of a lines display, or None without one."""
    line = next((line for line in stderr.splitlines() if "processing" in line), "")
    m = re.search(r"([\d,]+(?:\.\d+)?) rows/s", line)
    return None if m is None else float(m.group(1).replace(",", ""))


# --------------------------------------------------------------------------- real processes


@pytest.mark.slow
@pytest.mark.parametrize("watchers", [3, 5])
def test_a_new_watch_seeds_the_true_rate_while_several_watches_write_one_journal(make_sim, watchers):
    """Several watches of one operation write one journal at once, each sampling when it
    flushes; a new watch's first line must show the operation's real rate, not the slope of
    their interleaved samples."""
    sim = make_sim()
    true_rate = 111  # 100,000 rows over 900 s, the finding's operation
    op = sim.add(Scenario(queued_seconds=0, total_rows=100_000, rows_per_second=true_rate, name="users.identify"))
    env = minimal_env(knock_env_for(sim))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bulkop", "watch", op, "--interval", str(0.3 + 0.13 * i), "--display", "lines"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(watchers)
    ]
    try:
        time.sleep(8)
        rates = []
        for _ in range(2):  # while they keep writing
            r = subprocess.run(
                [sys.executable, "-m", "bulkop", "watch", op, "--display", "lines", "--timeout", "0.5s"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 124, r.stderr
            rates.append(first_rate(r.stderr))
            time.sleep(1.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(15)
    for rate in rates:
        assert rate is not None, rates
        assert abs(rate - true_rate) <= 0.25 * true_rate, rates
