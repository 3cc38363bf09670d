"""The journal's rate history with many writers: what a sample means (the count and the time it
was observed) and the one consistent series every reader uses (seeded rates, the `get` chart).

Writers are real bulkop processes against the simulator, each with an explicit minimal
environment; the consistent series is checked directly with hostile inputs.
"""

from __future__ import annotations

import itertools
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
from helpers import EPOCH, cli, journal_env, tty_cli


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
    env = journal_env(knock_env_for(sim), CI="true")
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
        for target in ([op], ["--unfinished"], [op]):  # while they keep writing
            r = subprocess.run(
                [sys.executable, "-m", "bulkop", "watch", *target, "--display", "lines", "--timeout", "0.5s"],
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
        assert abs(rate - true_rate) <= 0.1 * true_rate, rates


# --------------------------------------------------------------------------- what a sample means


def test_a_watch_samples_the_count_at_the_time_of_its_poll_not_of_its_write(tmp_path):
    """Two watches: A polled at 10.0 (count 1,000) but writes at 10.9; B polled at 10.8 (count
    1,089) and wrote at 10.85. Stamped with write times, A's older count came 50 ms after B's
    newer one: a pair going backwards. Stamped with poll times, the series is in order."""
    from bulkop.models import BulkOperation, Status
    from bulkop.watch.engine import RateLimiter, Tracked
    from bulkop.watch.journal import JournalView

    path = tmp_path / "j.sqlite3"
    epoch = 1_000_000.0  # the wall clock is the watch's clock + epoch
    clock = {"t": 0.0}

    def view(journal: Journal) -> tuple[JournalView, Tracked]:
        def fetch() -> BulkOperation:
            raise AssertionError("not polled")

        tracked = Tracked("k", "op", None, fetch, RateLimiter(10.0))
        v = JournalView(journal, {"k": ("knock", "h")}, lambda: epoch + clock["t"], lambda: clock["t"])
        return v, tracked

    def poll(v: JournalView, tr: Tracked, sent: float, answered: float, rows: int) -> None:
        tr.sent_at = sent
        tr.op = BulkOperation(id="op", status=Status.PROCESSING, provider="knock", processed_rows=rows)
        v.observed(tr, True, answered)

    a, ta = view(Journal(path))
    b, tb = view(Journal(path))
    poll(a, ta, 9.98, 10.02, 1_000)
    poll(b, tb, 10.78, 10.82, 1_089)
    clock["t"] = 10.85
    b.flush()
    clock["t"] = 10.9
    a.flush()  # older than B's sample: adds nothing
    clock["t"] = 11.9
    poll(a, ta, 11.88, 11.92, 1_210)
    a.flush()
    samples = Journal(path).samples(Seen(None, "knock", "h", "op"))
    assert samples == [(pytest.approx(epoch + 10.8), 1_089), (pytest.approx(epoch + 11.9), 1_210)]
    assert [p for _, p in samples] == sorted(p for _, p in samples)


def test_record_stamps_samples_with_the_observation_time_never_after_the_write(tmp_path):
    j = Journal(tmp_path / "j.sqlite3")
    key = Seen(None, "knock", "h", "a")
    seen = lambda rows, at, status="processing", **kw: Seen(  # noqa: E731
        None, "knock", "h", "a", status, word=status, processed_rows=rows, observed_at=at, **kw
    )
    j.record([seen(10, 100.0)], 100.9)
    j.record([seen(20, 101.0)], 101.05)
    j.record([seen(15, 100.5)], 101.1)  # an older observation, written late: not a newer sample
    j.record([seen(30, 500.0)], 102.0)  # stamped after its write (a clock ahead): at the write
    j.record([seen(40, 110.0, "completed", ended_at=103.0)], 110.5)
    assert j.samples(key) == [(100.0, 10), (101.0, 20), (102.0, 30), (103.0, 40)]


def test_a_sample_from_a_clock_far_ahead_does_not_block_the_others(tmp_path):
    j = Journal(tmp_path / "j.sqlite3")
    key = Seen(None, "knock", "h", "a")
    j.record([Seen(None, "knock", "h", "a", "processing", processed_rows=10)], 100.0)
    j.record([Seen(None, "knock", "h", "a", "processing", processed_rows=99)], 3_700.0)  # an hour ahead
    for t in range(101, 106):
        j.record([Seen(None, "knock", "h", "a", "processing", processed_rows=10 * (t - 99))], float(t))
    assert len(j.samples(key)) == 7
    # Readers leave the future out; the rest seeds the real 10 rows/s.
    assert consistent_series(j.samples(key), now=106.0)[-1] == (105.0, 60)
    (t0, r0), (t1, r1) = seed_samples(j.samples(key), 15, now=106.0)
    assert (r1 - r0) / (t1 - t0) == pytest.approx(10)


# --------------------------------------------------------------------------- the consistent series


def rate_of(seed: list[tuple[float, int]]) -> float:
    (t0, r0), (t1, r1) = seed
    return (r1 - r0) / (t1 - t0)


def steady(n: int, rate: float = 100.0, dt: float = 1.0, t0: float = 1000.0) -> list[tuple[float, int]]:
    return [(t0 + i * dt, round(rate * i * dt)) for i in range(n)]


def test_the_finding_interleaved_writers_seed_the_true_rate():
    """Three watches, each flushing a second apart with its last poll's count stamped at the
    write: the finding's pairs 55 ms apart with 157 fewer rows. Read as stored, the endpoints
    gave thousands of rows/s; the consistent series gives 111."""
    rate = 111.0
    samples = []
    for k in range(12):
        for w, lag in enumerate((0.1, 0.9, 1.4)):
            t = 1000.0 + k + w * 0.33 + 0.055
            samples.append((t, round(rate * (t - lag - 1000.0))))  # the count `lag` s old
    assert rate_of(seed_samples(samples, 15)) == pytest.approx(rate, rel=0.1)
    series = consistent_series(samples)
    assert all(b[0] - a[0] >= 0.3 and b[1] >= a[1] for a, b in itertools.pairwise(series))


@pytest.mark.parametrize(
    "name, samples, rate",
    [
        ("in order", steady(10), 100.0),
        ("shuffled", steady(10)[::2] + steady(10)[1::2], 100.0),
        ("reversed", steady(10)[::-1], 100.0),
        ("duplicates", steady(10) + steady(10) + [(1004.0, 400)] * 5, 100.0),
        ("a count going backwards", [*steady(10), (1004.5, 0), (1005.5, 10)], 100.0),
        ("one backwards", [*steady(10)[:5], (1005.0, 350), *steady(10)[6:]], 100.0),
        ("a pair 50 ms apart", [*steady(10), (1009.05, 1100), (1009.1, 800)], 100.0),
        ("a huge jump", [*steady(10)[:5], (1005.0, 10**12), *steady(10)[6:]], 100.0),
        ("a huge jump at the end", [*steady(10), (1010.0, 10**15)], 100.0),
        ("NaN and infinite times", [*steady(10), (float("nan"), 5), (float("inf"), 10**9)], 100.0),
        ("negative counts", [(999.0, -5), *steady(10)], 100.0),
        ("a slow start", [(900.0, 0), (950.0, 0), *steady(10, t0=1000.0)], 100.0),
    ],
)
def test_hostile_series_seed_the_real_rate_or_nothing(name, samples, rate):
    seed = seed_samples(samples, 15)
    assert seed, name
    assert rate_of(seed) == pytest.approx(rate, rel=0.05), (name, seed)
    t1, r1 = seed[-1]
    assert abs(r1 - rate * (t1 - 1000.0)) <= rate, (name, seed)  # it ends on the real line


@pytest.mark.parametrize(
    "name, samples",
    [
        ("nothing", []),
        ("one point", [(1000.0, 10)]),
        ("two points", [(1000.0, 10), (1010.0, 1010)]),
        ("two points 50 ms apart", [(1000.0, 10), (1000.05, 300)]),
        ("many points within a second", [(1000.0 + i / 50, i * 7) for i in range(40)]),
        ("three points over 2 s", [(1000.0, 0), (1001.0, 100), (1002.0, 200)]),
        ("no progress", [(1000.0 + i, 500) for i in range(10)]),
        ("only backwards", [(1000.0 + i, 1000 - i) for i in range(10)]),
        ("all in the future", steady(10, t0=5000.0)),
    ],
)
def test_series_too_short_or_inconsistent_seed_no_rate(name, samples):
    assert seed_samples(samples, 15, now=1100.0) == [], name


def test_a_restart_from_zero_under_the_same_id_seeds_from_the_new_run_only():
    old = steady(20, rate=500.0)  # 9,500 rows at 500 rows/s
    new = [(1030.0 + i, 50 * i) for i in range(8)]  # again from 0, at 50 rows/s
    series = consistent_series(old + new)
    assert series[0] == (1030.0, 0) and series[-1] == (1037.0, 350)
    assert rate_of(seed_samples(old + new, 15)) == pytest.approx(50)
    # Just after the restart (one low point) it is noise, not yet a restart.
    assert consistent_series([*old, (1030.0, 0)]) == old


def test_the_seed_feeds_the_rate_estimator_so_the_first_poll_continues_the_line():
    rate = RateEstimator()
    samples = steady(12, rate=111.0)
    for t, rows in seed_samples([*samples, (1011.05, 900)], rate.window):  # and a stale pair
        rate.observe(t, rows)
    assert rate.rate() == pytest.approx(111, rel=0.02)
    rate.observe(1013.0, 111 * 13)  # the first poll
    assert rate.rate() == pytest.approx(111, rel=0.02)


def test_merged_points_are_their_mean_and_gaps_are_at_least_a_second():
    series = consistent_series([(1000.0, 100), (1000.4, 140), (1000.8, 180), (1002.0, 300)])
    assert series == [(pytest.approx(1000.4), 140), (1002.0, 300)]


# --------------------------------------------------------------------------- the `get` chart


@pytest.mark.parametrize(
    "hostile",
    [
        [(25.05, 50)],  # a count going backwards, 50 ms after a write
        [(30.02, 10**9)],  # a huge jump
        [(25.05, 50), (30.02, 10**9), (15.0, 150), (15.0, 150), (20.04, 180)],  # all at once
        [(9_000.0, 90_000)],  # from a clock far ahead
    ],
)
def test_get_draws_its_chart_from_the_consistent_series(frozen_sim, clock, env, hostile):
    """Samples as an older bulkop (or several writers) left them: the chart and the average are
    of the consistent series: 10 rows/s throughout, bars of about one height (a stale count
    merged with a close one dents it a little; never a bar near 0 or one towering over the rest)."""
    import sqlite3

    op = frozen_sim.add(Scenario(queued_seconds=0, total_rows=10_000, rows_per_second=10))
    for t in (0, 10, 20, 30):
        clock.t = t
        assert cli(clock, ["get", op, "-o", "json"], env).code == 0
    conn = sqlite3.connect(os.environ["BULKOP_JOURNAL"])
    with conn:
        (key,) = conn.execute("SELECT key FROM operations WHERE id = ?", (op,)).fetchone()
        conn.executemany(
            "INSERT INTO samples (op, t, processed) VALUES (?, ?, ?)",
            [(key, EPOCH.timestamp() + t, rows) for t, rows in hostile],
        )
    conn.close()
    clock.t = 40
    r = tty_cli(clock, ["get", op, "-o", "table"], env)
    line = next(line for line in r.stdout.splitlines() if line.startswith("Throughput"))
    assert "avg 10.0 rows/s over 40s" in line, line
    bars = line.split()[1]
    assert set(bars) <= set("▆▇█"), line
