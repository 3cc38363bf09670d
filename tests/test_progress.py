"""Progress math: fraction done, throughput and ETA, for any counts an API may send."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkop.models import BulkOperation, Status
from bulkop.progress import RateEstimator, eta, fraction, fraction_of, remaining_rows

# Properties run on a possibly busy machine: no per-example deadline, fewer examples.
FAST = settings(deadline=None, max_examples=60)

COUNTS = st.integers(min_value=-(10**12), max_value=10**15)
ROWS = st.integers(min_value=0, max_value=10**12)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


def op(status: Status = Status.PROCESSING, processed: int | None = 0, estimated: int | None = 1000) -> BulkOperation:
    return BulkOperation(id="x", status=status, processed_rows=processed, estimated_total_rows=estimated)


# --------------------------------------------------------------------------- fraction


@FAST
@given(st.sampled_from(list(Status)), COUNTS, COUNTS)
def test_fraction_is_within_0_and_1_or_unknown(status, processed, estimated):
    f = fraction(op(status, processed, estimated))
    if f.value is not None:
        assert math.isfinite(f.value)
        assert 0.0 <= f.value <= 1.0
        assert 0 <= f.percent <= 100


@FAST
@given(ROWS, ROWS, st.integers(min_value=1, max_value=10**12))
def test_fraction_is_monotone_in_processed_rows(a, b, estimated):
    low, high = sorted((a, b))
    f_low, f_high = fraction_of(low, estimated), fraction_of(high, estimated)
    assert f_low.value <= f_high.value


@FAST
@given(ROWS, st.integers(min_value=1, max_value=10**12))
def test_overrun_is_flagged_exactly_when_processed_exceeds_the_estimate(processed, estimated):
    f = fraction(op(Status.PROCESSING, processed, estimated))
    assert f.overrun is (processed > estimated)
    if f.overrun:
        assert f.value == 1.0


@FAST
@given(ROWS, st.sampled_from([Status.QUEUED, Status.PROCESSING, Status.FAILED]))
def test_zero_estimate_is_indeterminate_unless_completed(processed, status):
    assert fraction(op(status, processed, 0)).value is None
    assert fraction(op(Status.COMPLETED, processed, 0)).value == 1.0


@FAST
@given(st.one_of(st.none(), ROWS), st.one_of(st.none(), ROWS))
def test_completed_percent_comes_from_the_counts_it_is_shown_with(processed, estimated):
    """Completed with counts: processed of estimated (never 100% beside 4,800/8,000, as a
    Mailchimp batch "finished" after errors showed); without usable counts: whole."""
    f = fraction(op(Status.COMPLETED, processed, estimated))
    if processed is not None and estimated:
        assert f == fraction(op(Status.PROCESSING, processed, estimated))
        assert f.value == (1.0 if processed >= estimated else processed / estimated)
    else:
        assert f.value == 1.0
    assert f.overrun is (processed is not None and estimated is not None and processed > estimated > 0)


@pytest.mark.parametrize(("processed", "estimated", "shown"), [(4800, 8000, "60%"), (1000, 1000, "100%"), (0, 5, "0%")])
def test_completed_percent_shown_agrees_with_its_counts(processed, estimated, shown):
    """The percentage every view prints (fmt.percent of the fraction), beside the counts of `get`."""
    from bulkop.render import fmt, text

    completed = op(Status.COMPLETED, processed, estimated)
    assert fmt.percent(fraction(completed)) == shown
    shown_text = text.operation_text(completed, None)
    assert f"progress:\t{shown}\nprocessed:\t{processed}\nestimated:\t{estimated}\n" in shown_text


def test_unknown_counts_are_unknown_not_zero():
    assert fraction(op(Status.PROCESSING, None, None)).value is None
    assert fraction(op(Status.PROCESSING, None, 1000)).value is None


def test_some_values():
    assert fraction(op(processed=420, estimated=1000)).value == pytest.approx(0.42)
    assert fraction(op(processed=420, estimated=1000)).percent == 42
    assert fraction(op(processed=999, estimated=1000)).percent == 99  # never rounds up to 100
    assert fraction(op(processed=-5, estimated=1000)).value == 0.0
    assert fraction(op(Status.QUEUED, 0, 1000)).value == 0.0


# --------------------------------------------------------------------------- RateEstimator


OBSERVATIONS = st.lists(st.tuples(ANY_FLOAT, st.integers(min_value=-(10**18), max_value=10**18)), max_size=30)


@FAST
@given(OBSERVATIONS)
def test_rate_is_never_negative_nan_or_infinite(observations):
    est = RateEstimator()
    for t, rows in observations:
        est.observe(t, rows)
        rate = est.rate()
        assert rate is None or (math.isfinite(rate) and rate >= 0.0)


REALISTIC = st.lists(
    st.tuples(st.floats(min_value=0.001, max_value=120), st.integers(min_value=-(10**6), max_value=10**6)),
    min_size=1,
    max_size=40,
)


@FAST
@given(REALISTIC)
def test_rate_stays_sane_through_stalls_and_restarts(steps):
    """Polls at increasing times; counters that jump, stall or go back (a restarted job)."""
    est = RateEstimator()
    t, rows = 0.0, 0
    est.observe(t, rows)
    for dt, delta in steps:
        t += dt
        rows = max(0, rows + delta)
        est.observe(t, rows)
        rate = est.rate()
        assert rate is None or (math.isfinite(rate) and rate >= 0.0)


def test_steady_progress_converges_on_the_true_rate():
    est = RateEstimator()
    for i in range(200):
        est.observe(i * 0.5, i * 50)  # 100 rows/s, polled every 0.5 s
    assert est.rate() == pytest.approx(100, rel=0.01)


def test_jittery_polling_keeps_the_rate_steady():
    est = RateEstimator()
    t = 0.0
    for i in range(400):
        t += 0.2 if i % 2 else 1.8
        est.observe(t, int(t * 100))
    assert est.rate() == pytest.approx(100, rel=0.05)


def test_rate_decays_while_stalled_and_stall_is_reported():
    est = RateEstimator(stall_after=30)
    for i in range(60):
        est.observe(i, i * 100)
    before = est.rate()
    for i in range(60, 100):
        est.observe(i, 5900)  # no progress for 40 s
    assert est.rate() < before * 0.05
    assert est.rate() >= 0.0
    assert not est.stalled(59 + 29)
    assert est.stalled(59 + 30)


def test_counter_going_back_starts_afresh():
    est = RateEstimator()
    for i in range(20):
        est.observe(i, i * 1000)  # 1,000 rows/s
    est.observe(20, 0)  # the job restarted
    assert est.rate() is None  # the old rate says nothing about the new run
    est.observe(21, 10)
    assert est.rate() == pytest.approx(10)


def test_no_rate_before_two_observations_and_nonsense_times_are_ignored():
    est = RateEstimator()
    assert est.rate() is None
    est.observe(10.0, 100)
    assert est.rate() is None
    est.observe(10.0, 500)  # same instant: no rate can be computed
    est.observe(9.0, 600)  # clock went back
    est.observe(float("nan"), 700)
    assert est.rate() is None
    est.observe(11.0, 200)
    assert est.rate() == pytest.approx(100)


# --------------------------------------------------------------------------- eta


@FAST
@given(
    st.one_of(st.none(), st.integers(min_value=-(10**15), max_value=10**15)),
    st.one_of(st.none(), ANY_FLOAT),
    st.booleans(),
)
def test_eta_is_none_or_finite_and_not_negative(remaining, rate, stalled):
    seconds = eta(remaining, rate, stalled=stalled)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0.0)


def test_eta_is_unknown_when_stalled_or_without_rate_or_counts():
    assert eta(100, 10.0, stalled=True) is None
    assert eta(None, 10.0) is None
    assert eta(100, None) is None
    assert eta(100, 0.0) is None
    assert eta(100, -1.0) is None


def test_eta_values():
    assert eta(100, 10.0) == 10.0
    assert eta(0, 10.0) == 0.0
    assert eta(0, None) is None  # (no rate yet: unknown, even if nothing is left)
    assert eta(-5, 10.0) == 0.0


@FAST
@given(st.one_of(st.none(), ROWS), st.one_of(st.none(), ROWS))
def test_remaining_rows(processed, estimated):
    left = remaining_rows(op(processed=processed, estimated=estimated))
    if processed is None or not estimated:
        assert left is None
    else:
        assert left == max(0, estimated - processed)


@FAST
@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.floats(min_value=0.001, max_value=1e6),
)
def test_eta_matches_remaining_over_rate(left, processed, rate):
    assert remaining_rows(op(processed=processed, estimated=processed + left)) == left
    assert eta(left, rate) == pytest.approx(left / rate)
