"""Rates and percentiles between two scrapes (clawctl.core.top.rates): quantiles against hand-computed
values, counter resets, missing values, and the reference agent's real metrics between two scrapes."""

from __future__ import annotations

import math
import random
from dataclasses import astuple, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.core.refagent import AgentInfo, ReferenceAgent
from clawctl.core.service_time import make
from clawctl.core.top.rates import Interval, interval, quantile
from clawctl.core.top.scrape import Scrape, parse

INF = math.inf
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])

# 10 observations: 2 at or under 0.1 s, 4 in (0.1, 0.5], 2 in (0.5, 1], 2 over 1 s
TEN = ((0.1, 2.0), (0.5, 6.0), (1.0, 8.0), (INF, 10.0))


# ------------------------------------------------------------------------ quantile


@pytest.mark.parametrize("q, expected", [
    (0.5, 0.4),  # rank 5 in (0.1, 0.5]: 3 of its 4 -> 0.1 + 0.4 * 3/4
    (0.25, 0.15),  # rank 2.5: 0.5 of 4 -> 0.1 + 0.4 * 0.5/4
    (0.1, 0.05),  # rank 1 in the lowest bucket, from 0: 0.1 * 1/2
    (0.2, 0.1),  # rank 2 exactly at the lowest bucket's count -> its upper bound
    (0.7, 0.75),  # rank 7 in (0.5, 1]: 1 of 2 -> 0.5 + 0.5 * 1/2
    (0.8, 1.0),
    (0.95, 1.0),  # rank 9.5 falls in +Inf: the highest finite bound
    (1.0, 1.0),
])
def test_quantile_interpolates_as_histogram_quantile_does(q, expected):
    assert quantile(q, TEN) == pytest.approx(expected)


def test_quantile_sorts_buckets_and_merges_equal_bounds():
    shuffled = ((INF, 10.0), (0.5, 4.0), (1.0, 8.0), (0.1, 2.0), (0.5, 2.0))
    assert quantile(0.5, shuffled) == pytest.approx(0.4)


def test_a_lowest_bound_at_or_below_zero_is_returned_as_is():
    assert quantile(0.1, ((-1.0, 5.0), (1.0, 8.0), (INF, 10.0))) == -1.0
    assert quantile(0.1, ((0.0, 5.0), (1.0, 8.0), (INF, 10.0))) == 0.0


@pytest.mark.parametrize("buckets", [
    (),
    ((INF, 3.0),),  # fewer than two buckets
    ((0.5, 1.0), (1.0, 2.0)),  # no +Inf bucket
    ((0.5, 0.0), (INF, 0.0)),  # no observations
    ((0.5, 3.0), (1.0, 2.0), (INF, 4.0)),  # counts going down: not a histogram
    ((0.5, -1.0), (INF, 4.0)),
    ((0.5, math.nan), (INF, 4.0)),
    ((math.nan, 1.0), (INF, 4.0)),
    ((0.5, 1.0), (INF, INF)),
])
def test_quantile_of_no_histogram_is_none(buckets):
    assert quantile(0.5, buckets) is None


@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan])
def test_a_quantile_outside_0_1_is_a_callers_mistake(q):
    with pytest.raises(ValueError):
        quantile(q, TEN)


# ------------------------------------------------------------------------ interval

BASE = Scrape(active=2.0, capacity=10.0, cpu=40.0, memory=30.0, ok=100.0, error=5.0, rejected=1.0,
              rt_sum=50.0, rt_count=106.0, buckets=((0.1, 40.0), (0.5, 90.0), (1.0, 100.0), (INF, 106.0)))


def later(**changes) -> Scrape:
    return replace(BASE, **changes)


def test_without_a_previous_scrape_only_gauges_are_known():
    iv = interval(None, BASE, 2.0)
    assert iv == Interval(seconds=2.0, active=2.0, capacity=10.0, cpu=40.0, memory=30.0)


def test_figures_over_an_interval_come_from_the_deltas():
    cur = later(active=3.0, cpu=55.0, ok=108.0, error=6.0, rejected=2.0, rt_sum=53.8, rt_count=116.0,
                buckets=((0.1, 40.0 + 2), (0.5, 90.0 + 6), (1.0, 100.0 + 8), (INF, 106.0 + 10)))
    iv = interval(BASE, cur, 4.0)
    assert (iv.active, iv.capacity, iv.cpu, iv.memory) == (3.0, 10.0, 55.0, 30.0)  # gauges: the newer scrape
    assert iv.requests_per_s == pytest.approx((8 + 1 + 1) / 4.0)
    assert iv.error_rate == pytest.approx(10.0)
    assert iv.response_time_ms == pytest.approx(3.8 / 10 * 1000)
    assert iv.p50_ms == pytest.approx(400.0)  # the deltas are TEN
    assert iv.p95_ms == pytest.approx(1000.0)
    assert not iv.restarted


def test_an_interval_without_requests_has_no_error_rate_nor_response_time():
    iv = interval(BASE, BASE, 1.0)
    assert iv.requests_per_s == 0.0
    assert (iv.error_rate, iv.response_time_ms, iv.p50_ms, iv.p95_ms) == (None, None, None, None)


def test_a_counter_that_went_down_is_a_restart_and_counts_its_new_value():
    cur = later(ok=8.0, error=2.0, rejected=0.0, rt_sum=1.2, rt_count=10.0, buckets=TEN)
    iv = interval(BASE, cur, 5.0)
    assert iv.restarted
    assert iv.requests_per_s == pytest.approx(10 / 5.0)
    assert iv.error_rate == pytest.approx(20.0)
    assert iv.response_time_ms == pytest.approx(120.0)
    assert iv.p50_ms == pytest.approx(400.0)


def test_one_counter_going_down_restarts_them_all():
    # ok went on rising past its old value after the restart; error shows the restart
    cur = later(ok=120.0, error=2.0, rejected=0.0)
    iv = interval(BASE, cur, 1.0)
    assert iv.restarted
    assert iv.requests_per_s == pytest.approx(122.0)  # not 20 + ... from a difference across the restart
    assert iv.error_rate == pytest.approx(2 / 122 * 100)


def test_a_bucket_going_down_is_a_restart():
    cur = later(buckets=((0.1, 1.0), (0.5, 95.0), (1.0, 100.0), (INF, 106.0)))
    iv = interval(BASE, cur, 1.0)
    assert iv.restarted
    assert iv.p50_ms == pytest.approx(quantile(0.5, cur.buckets) * 1000)


def test_changed_histogram_bounds_are_a_restart():
    cur = later(buckets=((0.25, 1.0), (INF, 2.0)))
    iv = interval(BASE, cur, 1.0)
    assert iv.restarted and iv.p50_ms == pytest.approx(250.0)  # rank 1 of 2: the whole lowest bucket


def test_non_monotonic_bucket_deltas_give_no_percentiles():
    cur = later(buckets=((0.1, 45.0), (0.5, 91.0), (1.0, 100.0), (INF, 107.0)))  # +5 at 0.1 but +1 at 0.5
    iv = interval(BASE, cur, 1.0)
    assert not iv.restarted and iv.p50_ms is None and iv.p95_ms is None


@pytest.mark.parametrize("seconds", [None, 0.0, -1.0, math.nan, math.inf])
def test_without_a_usable_period_there_are_no_rates_but_ratios_remain(seconds):
    iv = interval(BASE, later(ok=110.0, error=10.0), seconds)
    assert iv.requests_per_s is None and iv.seconds is None
    assert iv.error_rate == pytest.approx(5 / 15 * 100)


def test_a_counter_missing_from_either_scrape_gives_no_delta():
    assert interval(later(error=None), later(error=9.0), 1.0).error_rate is None
    assert interval(BASE, later(rt_sum=None, rt_count=116.0), 1.0).response_time_ms is None
    assert interval(later(buckets=()), BASE, 1.0).p95_ms is None


def test_a_missing_outcome_counts_zero_but_a_missing_error_counter_leaves_no_error_rate():
    iv = interval(later(rejected=None, error=None), later(rejected=None, error=None, ok=110.0), 2.0)
    assert iv.requests_per_s == pytest.approx(5.0) and iv.error_rate is None


def test_an_openclaw_gateway_counts_requests_from_its_histogram():
    before = Scrape(rt_sum=4.0, rt_count=10.0, buckets=((1.0, 8.0), (INF, 10.0)))
    after = Scrape(rt_sum=10.0, rt_count=14.0, buckets=((1.0, 10.0), (INF, 14.0)))
    iv = interval(before, after, 2.0)
    assert iv.requests_per_s == pytest.approx(2.0)
    assert iv.error_rate is None
    assert iv.response_time_ms == pytest.approx(1500.0)
    assert iv.p50_ms == pytest.approx(1000.0)  # rank 2 of 4 exactly fills le=1 (2 of the 4)


def test_an_overflowing_figure_is_no_value():
    iv = interval(Scrape(ok=0.0, rt_sum=0.0, rt_count=0.0), Scrape(ok=1e308, rt_sum=1e308, rt_count=1e-300), 1e-300)
    assert iv.requests_per_s is None and iv.response_time_ms is None


# ------------------------------------------------------------------------ the reference agent, two real scrapes


def test_two_scrapes_of_the_reference_agent():
    info = AgentInfo("a1", max_concurrent_conversations=5, service_time=make("deterministic", 10.0))
    ref = ReferenceAgent(info, random.Random(3))
    ref.started = True
    for seconds in (0.003, 0.2, 40.0):
        ref.counters.observe(seconds)
    ref.counters.ok, ref.counters.error = 2, 1
    first = parse(ref.metrics_text(10.0, 20.0).encode())
    # the interval: 8 requests: 0.03, 0.04, 0.3, 0.3, 0.4, 0.7, 3.0, 12.0 s; 6 ok, 1 error, 1 rejected
    for seconds in (0.03, 0.04, 0.3, 0.3, 0.4, 0.7, 3.0, 12.0):
        ref.counters.observe(seconds)
    ref.counters.ok, ref.counters.error, ref.counters.rejected = 8, 2, 1
    ref.start_conversation({"customer_id": "c1"}, 0.0, "t0")
    second = parse(ref.metrics_text(30.0, 21.0).encode())
    iv = interval(first, second, 2.0)
    assert (iv.active, iv.capacity, iv.cpu, iv.memory) == (1.0, 5.0, 30.0, 21.0)
    assert iv.requests_per_s == pytest.approx(8 / 2.0)
    assert iv.error_rate == pytest.approx(1 / 8 * 100)
    assert iv.response_time_ms == pytest.approx(sum((0.03, 0.04, 0.3, 0.3, 0.4, 0.7, 3.0, 12.0)) / 8 * 1000, abs=1e-3)
    # deltas by le: 0.05: 2, 0.1: 2, 0.25: 2, 0.5: 5, 1.0: 6, 2.5: 6, 5: 7, 10: 7, +Inf: 8
    # p50: rank 4 in (0.25, 0.5] holding 3: 0.25 + 0.25 * (4-2)/3
    assert iv.p50_ms == pytest.approx((0.25 + 0.25 * 2 / 3) * 1000)
    # p95: rank 7.6 beyond le=10 (7): the +Inf bucket gives the highest finite bound
    assert iv.p95_ms == pytest.approx(10_000.0)
    assert not iv.restarted


# ------------------------------------------------------------------------ properties

COUNTS = st.one_of(st.none(), st.floats(0, 1e12))


@st.composite
def scrapes(draw) -> Scrape:
    bounds = draw(st.sampled_from([(0.1, 1.0, INF), (0.005, 0.5, 10.0, INF), (1.0, INF)]))
    counts = sorted(draw(st.lists(st.floats(0, 1e9), min_size=len(bounds), max_size=len(bounds))))
    buckets = draw(st.sampled_from([tuple(zip(bounds, counts)), ()]))
    return Scrape(*(draw(COUNTS) for _ in range(9)), buckets=buckets)


@PROPERTIES
@given(prev=st.one_of(st.none(), scrapes()), cur=scrapes(),
       seconds=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_interval_never_raises_and_gives_finite_figures_or_none(prev, cur, seconds):
    iv = interval(prev, cur, seconds)
    for value in astuple(iv)[:-1]:
        assert value is None or (isinstance(value, float) and math.isfinite(value))
    if iv.p50_ms is not None and iv.p95_ms is not None:
        assert 0 <= iv.p50_ms <= iv.p95_ms <= 10_000.0
    if iv.error_rate is not None:
        assert 0 <= iv.error_rate <= 100


@PROPERTIES
@given(counts=st.lists(st.integers(0, 1000), min_size=2, max_size=8), q=st.floats(0.01, 1.0))
def test_a_quantile_lies_in_the_bucket_its_rank_falls_in(counts, q):
    bounds = [0.1 * 2 ** i for i in range(len(counts) - 1)] + [INF]
    cumulative = [sum(counts[:i + 1]) for i in range(len(counts))]
    result = quantile(q, tuple(zip(bounds, cumulative)))
    if cumulative[-1] == 0:
        assert result is None
        return
    rank = q * cumulative[-1]
    b = next(i for i, c in enumerate(cumulative) if c >= rank)
    if b == len(counts) - 1:
        assert result == bounds[-2]
    else:
        assert (bounds[b - 1] if b else 0.0) <= result <= bounds[b]
