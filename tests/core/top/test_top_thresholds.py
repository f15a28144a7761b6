"""Thresholds with hysteresis (clawctl.core.top.thresholds): a breach after exactly `breach_after`
samples over, cleared after exactly as many at or under, missing values changing nothing, and the
spec's action for every metric."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawctl.core.model.fleet_file import FleetFile
from clawctl.core.refagent import AgentInfo, ReferenceAgent
from clawctl.core.service_time import make
from clawctl.core.top.rates import Interval, interval
from clawctl.core.top.scrape import parse
from clawctl.core.top.thresholds import (
    ACTIONS,
    METRICS,
    NAMES,
    Breach,
    Thresholds,
    Watch,
    Watcher,
    figures,
)

# fleet-format.md, monitoring: defaults and the action each breach recommends
SPEC_ACTIONS = {"response_time": "increase_worker_processes", "cpu": "enable_request_throttling",
                "memory": "increase_cache_eviction", "error_rate": "drain_and_investigate"}
SPEC_DEFAULTS = {"response_time": 2000.0, "cpu": 80.0, "memory": 85.0, "error_rate": 5.0}


def test_every_metric_recommends_the_spec_action():
    assert ACTIONS == SPEC_ACTIONS
    assert NAMES == tuple(SPEC_ACTIONS)


def test_defaults_are_the_specs_and_the_fleet_models():
    th = Thresholds()
    assert {name: th.limit(name) for name in NAMES} == SPEC_DEFAULTS
    assert {m.name: m.default for m in METRICS} == SPEC_DEFAULTS
    assert th.breach_after == 3
    assert Thresholds.from_monitoring(None) == th
    model = FleetFile.model_validate({"agents": {"a": {}}, "monitoring": {}}).monitoring
    assert Thresholds.from_monitoring(model) == th


def test_thresholds_come_from_the_fleets_monitoring_block():
    model = FleetFile.model_validate({"agents": {"a": {}}, "monitoring": {
        "thresholds": {"response_time": "1500ms", "cpu": "70%", "memory": 90, "error_rate": "2.5%"},
        "breach_after": 2}}).monitoring
    assert Thresholds.from_monitoring(model) == Thresholds(response_time=1500.0, cpu=70.0, memory=90.0,
                                                           error_rate=2.5, breach_after=2)


@pytest.mark.parametrize("bad", [{"breach_after": 0}, {"breach_after": 2.0}, {"breach_after": True},
                                 {"cpu": math.nan}, {"memory": math.inf}, {"error_rate": "5"}])
def test_thresholds_refuse_values_the_model_would(bad):
    with pytest.raises(ValueError):
        Thresholds(**bad)


def test_an_unknown_metric_is_a_callers_mistake():
    w = Watcher()
    with pytest.raises(ValueError, match="latency"):
        w.update("a", 0.0, {"latency": 5000.0})
    assert w.watch("a", "cpu") is None  # nothing recorded
    with pytest.raises(ValueError):
        Thresholds().limit("latency")


# ------------------------------------------------------------------------ hysteresis


def feed(w: Watcher, values: list[float | None], metric: str = "cpu", agent: str = "a", t0: float = 0.0):
    out = []
    for i, v in enumerate(values):
        out = w.update(agent, t0 + i, {metric: v})
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_a_breach_needs_exactly_breach_after_samples_over(n):
    w = Watcher(Thresholds(breach_after=n))
    assert feed(w, [95.0] * (n - 1)) == []
    breaches = w.update("a", 100.0, {"cpu": 96.0})
    assert breaches == [Breach("cpu", 96.0, 80.0, "enable_request_throttling", since=100.0, at=100.0)]
    assert w.active("a") == breaches


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_a_breach_clears_after_exactly_breach_after_samples_at_or_under(n):
    w = Watcher(Thresholds(breach_after=n))
    feed(w, [95.0] * n)
    for i in range(n - 1):
        active = w.update("a", 10.0 + i, {"cpu": 80.0 if i % 2 else 20.0})  # at the threshold counts as under
        assert [b.metric for b in active] == ["cpu"]
    assert w.update("a", 20.0, {"cpu": 50.0}) == []


def test_a_value_at_the_threshold_is_not_over():
    w = Watcher(Thresholds(breach_after=1))
    assert w.update("a", 0.0, {"cpu": 80.0}) == []
    assert len(w.update("a", 1.0, {"cpu": 80.0001})) == 1


def test_one_sample_on_the_other_side_restarts_the_count():
    w = Watcher()
    assert feed(w, [90.0, 90.0, 10.0, 90.0, 90.0]) == []
    assert len(w.update("a", 5.0, {"cpu": 90.0})) == 1
    assert feed(w, [10.0, 10.0, 90.0, 10.0, 10.0], t0=6.0) != []  # a flapping value does not clear it
    assert w.update("a", 11.0, {"cpu": 10.0}) == []


def test_a_missing_value_neither_advances_nor_resets():
    w = Watcher()
    assert feed(w, [90.0, None, 90.0, None, None]) == []  # two over: not yet
    [breach] = w.update("a", 5.0, {"cpu": 91.0})  # the third over, however far apart
    assert breach.since == 5.0
    assert w.update("a", 6.0, {}) == [breach]  # a metric left out is None too
    assert feed(w, [10.0, None, 10.0, None], t0=7.0) == [Breach("cpu", 10.0, 80.0, "enable_request_throttling",
                                                                 since=5.0, at=9.0)]
    assert w.update("a", 11.0, {"cpu": 10.0}) == []


@pytest.mark.parametrize("junk", [math.nan, math.inf, -math.inf, True])
def test_a_value_that_is_not_a_finite_number_counts_as_missing(junk):
    w = Watcher()
    feed(w, [90.0, 90.0])
    assert w.update("a", 2.0, {"cpu": junk}) == []
    assert w.watch("a", "cpu").streak == 2
    assert len(w.update("a", 3.0, {"cpu": 90.0})) == 1


def test_a_breach_reports_the_latest_value_since_when_and_how_long():
    w = Watcher(Thresholds(response_time=2000.0, breach_after=2))
    w.update("a", 100.0, {"response_time": 2500.0})
    w.update("a", 101.5, {"response_time": 3000.0})
    [breach] = w.update("a", 103.0, {"response_time": 4000.0})
    assert (breach.metric, breach.value, breach.threshold, breach.action) == \
        ("response_time", 4000.0, 2000.0, "increase_worker_processes")
    assert (breach.since, breach.at) == (101.5, 103.0)
    assert breach.held(110.0) == 8.5
    [breach] = w.update("a", 104.0, {"response_time": 900.0})  # under once: still active, latest value shown
    assert (breach.value, breach.since) == (900.0, 101.5)


def test_metrics_and_agents_are_watched_independently():
    w = Watcher(Thresholds(breach_after=2))
    for t in (0.0, 1.0):
        w.update("a", t, {"cpu": 99.0, "memory": 10.0, "error_rate": 50.0, "response_time": None})
        w.update("b", t, {"cpu": 10.0, "memory": 99.0})
    assert [(b.metric, b.action) for b in w.active("a")] == [("cpu", "enable_request_throttling"),
                                                              ("error_rate", "drain_and_investigate")]
    assert [(b.metric, b.action) for b in w.active("b")] == [("memory", "increase_cache_eviction")]
    assert w.active("nobody") == []
    w.forget("a")
    assert w.active("a") == [] and len(w.active("b")) == 1


def test_figures_judge_response_time_on_the_p95():
    iv = Interval(cpu=1.0, memory=2.0, error_rate=3.0, response_time_ms=100.0, p50_ms=150.0, p95_ms=900.0)
    assert figures(iv) == {"response_time": 900.0, "cpu": 1.0, "memory": 2.0, "error_rate": 3.0}


@settings(max_examples=300, derandomize=True, database=None)
@given(n=st.integers(1, 4), values=st.lists(st.one_of(st.none(), st.sampled_from([10.0, 80.0, 90.0])), max_size=40))
def test_the_state_follows_the_last_run_of_breach_after_samples(n, values):
    watch = Watch("cpu", 80.0, n)
    for t, v in enumerate(values):
        watch.observe(float(t), v)
    # reference: read the known values as runs; a run of >= n on the other side flips the state
    active, run_side, run = False, None, 0
    for v in (v for v in values if v is not None):
        over = v > 80.0
        run = run + 1 if over == run_side else 1
        run_side = over
        if over != active and run >= n:
            active, run = over, 0
            run_side = None
    assert watch.active == active
    assert (watch.breach() is not None) == active


# ------------------------------------------------------------------------ end to end with the reference agent


def test_a_slow_reference_agent_breaches_response_time_after_three_intervals():
    info = AgentInfo("slow", max_concurrent_conversations=5, service_time=make("deterministic", 10.0))
    ref = ReferenceAgent(info, random.Random(1))
    ref.started = True
    w = Watcher(Thresholds())
    prev, seen = None, []
    for tick in range(5):
        for _ in range(20):
            ref.counters.observe(3.0)  # every answer takes 3 s, over the 2000 ms default
            ref.counters.ok += 1
        cur = parse(ref.metrics_text(10.0, 10.0).encode())
        seen.append(w.update("slow", float(tick), figures(interval(prev, cur, 1.0))))
        prev = cur
    # the first scrape has no interval (no p95); then three intervals over: active at the fourth scrape.
    # p95 of 20 answers in (2.5, 5]: rank 19 of 20 -> 2.5 + 2.5 * 19/20 = 4.875 s
    assert seen[:3] == [[], [], []]
    assert [(b.metric, b.value, b.threshold, b.action, b.since) for b in seen[3]] == \
        [("response_time", 4875.0, 2000.0, "increase_worker_processes", 3.0)]
    assert seen[4] == [Breach("response_time", 4875.0, 2000.0, "increase_worker_processes", since=3.0, at=4.0)]
