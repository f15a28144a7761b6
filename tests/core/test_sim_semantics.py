"""`clawctl simulate`: exact semantics, no statistics.

The routing strategies are called directly (`clawctl.core.sim.routing.choose`) on hand-made agent
arrays: nginx smooth weighted round robin, least_conn ties, Envoy p2c pick probabilities, weighted
random, scored, round robin. The engine is then checked on behaviour that must hold exactly:
determinism and common random numbers, business hours, failures and detection, arrival profiles
(Poisson counts), abandonment and queue bounds. Every engine run also goes through the identities
of ``simkit.check_identities`` (conservation of requests, Little's law for the fleet and per agent).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import oracles as o
import pytest
from simkit import EXP1, make_fleet, poisson, pool, run, spec_for

from clawctl.core.sim import layout as L
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.routing import choose
from clawctl.core.sim.spec import ALL_STRATEGIES, STRATEGY_CODES
from clawctl.core.sim.structures import HIST_LO, HIST_RATIO

# --- choose() on hand-made agent arrays ---------------------------------------------------------------


class Agents:
    """The kernel's agent arrays for ``choose``: A_WEIGHT, A_AVAIL=1, A_CAP large, A_CURW=0, loads."""

    def __init__(self, weights, loads=None, *, cap=10**9, perf=None, cap_match=None, customers=16,
                 scoring=(0.4, 0.3, 0.2, 0.1)):
        n = len(weights)
        self.ag = np.zeros((n, L.N_AG), dtype=np.int64)
        self.ag[:, L.A_WEIGHT] = weights
        self.ag[:, L.A_AVAIL] = 1
        self.ag[:, L.A_CAP] = cap
        self.ag[:, L.A_CURW] = 0
        if loads is not None:
            self.ag[:, L.A_LOAD] = loads
            self.ag[:, L.A_BUSY] = loads
        self.agf = np.zeros((n, L.N_AGF))
        self.agf[:, L.F_PERF] = 0.5 if perf is None else perf
        self.elig = np.ones((1, n), dtype=np.bool_)
        self.cap_match = np.ones((1, n)) if cap_match is None else np.array([cap_match], dtype=float)
        self.last_agent = np.full(customers, -1, dtype=np.int64)
        self.weights4 = np.array(scoring, dtype=float)
        self.excluded = np.zeros(n, dtype=np.bool_)
        self.cnt = np.zeros(L.N_CNT, dtype=np.int64)

    def pick(self, strategy: int, u1: float = 0.5, u2: float = 0.5, *, cust: int = -1, need_free: bool = False) -> int:
        return int(choose(strategy, 0, cust, u1, u2, self.ag, self.agf, self.elig, self.cap_match, self.last_agent,
                          self.weights4, need_free, self.excluded, self.cnt))

    def picks(self, strategy: int, n: int, **kw) -> list[int]:
        return [self.pick(strategy, **kw) for _ in range(n)]


def letters(picks: list[int]) -> str:
    return "".join("abcdefghij"[i] for i in picks)


@pytest.mark.parametrize("weights, expected", [((5, 1, 1), "aabacaa"), ((2, 1), "aba"), ((4, 2, 1), "abacaba")])
def test_nginx_smooth_wrr_vectors(weights, expected):
    agents = Agents(weights)
    seq = agents.picks(L.WRR, 3 * sum(weights))
    assert letters(seq) == expected * 3
    assert seq == o.nginx_swrr(list(weights), len(seq))


def test_nginx_smooth_wrr_windows_hold_each_peer_weight_times():
    rng = random.Random(5)
    for _ in range(25):
        weights = [rng.randint(1, 9) for _ in range(rng.randint(1, 6))]
        total = sum(weights)
        seq = Agents(weights).picks(L.WRR, 4 * total)
        assert seq == o.nginx_swrr(weights, len(seq))
        for start in range(len(seq) - total + 1):
            window = seq[start:start + total]
            assert [window.count(i) for i in range(len(weights))] == weights, (weights, start)


def test_least_conn_takes_the_least_conns_per_weight():
    # conns/weight compared by cross-multiplying: 3/3 = 1 beats 2/1 = 2
    assert Agents([3, 1], loads=[3, 2]).picks(L.LEAST, 5) == [0] * 5
    assert Agents([1, 1, 1], loads=[3, 1, 0]).picks(L.LEAST, 5) == [2] * 5


def test_least_conn_ties_go_through_smooth_wrr_among_the_tied():
    # a and b tie at 2/4 = 1/2 = 0.5; c (3/1) is not tied: a and b alternate as SWRR {4, 2}, c keeps current_weight 0
    agents = Agents([4, 2, 1], loads=[2, 1, 3])
    seq = agents.picks(L.LEAST, 12)
    assert seq == o.nginx_swrr([4, 2], 12)
    assert agents.ag[2, L.A_CURW] == 0
    # every peer tied (all idle): the plain SWRR sequence
    assert letters(Agents([5, 1, 1], loads=[0, 0, 0]).picks(L.LEAST, 7)) == "aabacaa"
    # equal weights, equal loads: the first peer wins the strict `>` and the order rotates
    assert letters(Agents([1, 1, 1], loads=[4, 4, 4]).picks(L.LEAST, 6)) == "abcabc"


def _p2c_grid(loads, avail=None) -> list[Fraction]:
    """Pick frequencies of p2c over every (u1, u2) cell centre of an m x m grid (m usable agents):
    each ordered pair of draws exactly once, so the frequencies are the exact pick probabilities."""
    agents = Agents([1] * len(loads), loads=loads)
    if avail is not None:
        agents.ag[:, L.A_AVAIL] = avail
    m = int(agents.ag[:, L.A_AVAIL].sum())
    counts = [0] * len(loads)
    for i in range(m):
        for j in range(m):
            counts[agents.pick(L.P2C, (i + 0.5) / m, (j + 0.5) / m)] += 1
    return [Fraction(c, m * m) for c in counts]


def test_envoy_p2c_pick_probabilities_are_exact():
    probs = _p2c_grid([3, 0, 0, 5])
    assert probs == [Fraction(3, 16), Fraction(6, 16), Fraction(6, 16), Fraction(1, 16)]
    assert [float(p) for p in probs] == pytest.approx(o.envoy_p2c_pick_probabilities([3, 0, 0, 5]), abs=1e-15)
    rng = random.Random(7)
    for _ in range(10):
        loads = [rng.randint(0, 4) for _ in range(rng.randint(2, 9))]
        got = [float(p) for p in _p2c_grid(loads)]
        assert got == pytest.approx(o.envoy_p2c_pick_probabilities(loads), abs=1e-12), loads


def test_envoy_p2c_draws_only_among_usable_agents():
    # agent b is closed: p2c behaves as on [3, 0, 5] (a, c, d)
    probs = _p2c_grid([3, 0, 0, 5], avail=[1, 0, 1, 1])
    expected = o.envoy_p2c_pick_probabilities([3, 0, 5])
    assert probs[1] == 0
    assert [float(probs[0]), float(probs[2]), float(probs[3])] == pytest.approx(expected, abs=1e-15)


def test_random_respects_weights():
    agents = Agents([3, 1, 0, 2])
    counts = [0] * 4
    for j in range(600):  # u1 at the cell centres of a 600-cell grid: each weight unit gets 100 cells
        counts[agents.pick(L.RANDOM, (j + 0.5) / 600)] += 1
    assert counts == [300, 100, 0, 200]


def test_round_robin_cycles_and_skips_unavailable_agents():
    agents = Agents([1, 5, 1, 1])  # weights do not matter to round robin
    assert agents.picks(L.RR, 8) == [0, 1, 2, 3, 0, 1, 2, 3]
    agents.ag[2, L.A_AVAIL] = 0
    assert agents.picks(L.RR, 6) == [0, 1, 3, 0, 1, 3]


def test_scored_picks_the_highest_score():
    # score = capability match x 0.4 + performance x 0.3 + (1 - busy/cap) x 0.2 + customer history x 0.1
    cap_match = [1.0, 0.5, 1.0, 1.0]
    perf = [0.5, 0.95, 0.6, 0.7]
    busy = [5, 0, 9, 2]
    agents = Agents([1, 1, 1, 1], loads=busy, cap=10, perf=perf, cap_match=cap_match)
    scores = [cm * 0.4 + p * 0.3 + (1 - b / 10) * 0.2 for cm, p, b in zip(cap_match, perf, busy)]
    best = max(range(4), key=lambda i: scores[i])
    assert best == 3
    assert agents.pick(L.SCORED) == best
    assert scores == pytest.approx([0.65, 0.685, 0.6, 0.77])
    # customer 7 was last served by agent 1: +0.1 lifts it over agent 3 (0.785 > 0.77); for agent 0 it
    # would not be enough (0.75)
    agents.last_agent[7] = 1
    assert agents.pick(L.SCORED, cust=7) == 1
    agents.last_agent[7] = 0
    assert agents.pick(L.SCORED, cust=7) == best
    assert agents.pick(L.SCORED, cust=3) == best  # no history for customer 3
    # identical agents: the first wins ties (strict >), history moves the customer to its agent
    twins = Agents([1, 1], loads=[0, 0], cap=10)
    assert twins.pick(L.SCORED) == 0
    twins.last_agent[2] = 1
    assert twins.pick(L.SCORED, cust=2) == 1


@pytest.mark.parametrize("strategy", sorted(set(STRATEGY_CODES.values())))
def test_no_strategy_picks_an_unusable_agent(strategy):
    # a drained (weight 0), b detected down, c closed, d fine, e full, f ineligible for the request type
    agents = Agents([0, 1, 1, 1, 1, 1], loads=[0, 0, 0, 3, 4, 0], cap=4)
    agents.ag[1, L.A_FAILED] = 2
    agents.ag[2, L.A_AVAIL] = 0
    agents.elig[0, 5] = False
    for u in np.linspace(0.01, 0.99, 25):
        assert agents.pick(strategy, u, 1 - u, need_free=True) == 3
    agents.ag[3, L.A_AVAIL] = 0
    assert agents.pick(strategy, 0.3, 0.6, need_free=True) == -1


# --- the engine: determinism and common random numbers -------------------------------------------

MIXED = {
    "agents": {
        "sales": {"capabilities": ["sell"], "channels": ["web"], "max_concurrent_conversations": 3,
                  "service_time": {"distribution": "lognormal", "mean": 2, "p95": 5}},
        "support": {"capabilities": ["fix"], "channels": ["web", "sms"], "max_concurrent_conversations": 4,
                    "weight": 2, "service_time": EXP1},
        "all": {"capabilities": ["sell", "fix"], "channels": ["web", "sms"], "max_concurrent_conversations": 2,
                "service_time": {"distribution": "deterministic", "mean": 1.5}},
    },
    "traffic": {"arrivals": {"rate": "8/s"}, "customers": 200,
                "mix": [{"name": "s", "share": 0.5, "channel": "web", "capabilities": ["sell"], "priority": "high"},
                        {"name": "f", "share": 0.5, "channel": "sms", "capabilities": ["fix"], "priority": "low"}],
                "queue": {"capacity": 20, "patience": "3s"}},
}


def test_same_seed_same_outcome_other_seed_differs():
    fleet = make_fleet(**MIXED)
    for strategy in ALL_STRATEGIES:
        a = run(fleet, strategy, requests=20_000, seed=5).as_dict()
        b = run(fleet, strategy, requests=20_000, seed=5).as_dict()
        c = run(fleet, strategy, requests=20_000, seed=6).as_dict()
        assert a == b
        assert a != c
        assert a["abandoned"] > 0 and a["rejected"] >= 0


def test_every_strategy_sees_the_same_arrivals_and_service_times():
    # Nobody waits (ample slots) and the agents are identical: only routing differs between strategies,
    # so the arrivals (duration mode: their count is random) and the sojourns (= service times) match.
    fleet = make_fleet(pool(4, cap=200), poisson(20))
    outs = {s: run(fleet, s, duration=3600.0, seed=9) for s in ALL_STRATEGIES}
    first = outs["least_conn"]
    assert 70_000 < first.arrived < 74_000
    for s, out in outs.items():
        assert out.arrived == first.arrived, s
        assert out.served == first.served and out.in_flight == first.in_flight, s
        assert out.sojourn.as_dict() == first.sojourn.as_dict(), s
        assert out.wait.p99 == 0.0 and out.p_wait == 0.0
    assert len({tuple(a.served for a in out.agents) for out in outs.values()}) > 1  # routing did differ


def test_central_queue_ten_single_slot_agents_equal_one_agent_with_ten_slots():
    # Central FIFO queue, identical exponential agents: a request starts as soon as any slot is free and
    # its service time is its own variate, so waits and sojourns are the same whatever the routing.
    one = run(make_fleet({"a": {"max_concurrent_conversations": 10, "service_time": EXP1}}, poisson(9)),
              "least_conn", requests=50_000, seed=3)
    ten = make_fleet(pool(10), poisson(9))
    for strategy in ALL_STRATEGIES:
        out = run(ten, strategy, requests=50_000, seed=3)
        assert out.wait.as_dict() == one.wait.as_dict(), strategy
        assert out.sojourn.as_dict() == one.sojourn.as_dict(), strategy
        assert (out.p_wait, out.served, out.in_flight) == (one.p_wait, one.served, one.in_flight), strategy
        assert out.utilization == pytest.approx(one.utilization, rel=1e-9)


def test_round_robin_spreads_arrivals_evenly():
    out = run(make_fleet(pool(7, cap=100), poisson(5)), "round_robin", requests=7_003, seed=2)
    assigned = [a.served + a.conversations for a in out.agents]  # nobody waits: served or in service
    assert sum(assigned) == 7_003 and max(assigned) - min(assigned) <= 1


def test_scored_keeps_a_returning_customer_on_its_agent():
    # One customer, two identical agents, light load: history (+0.1) outweighs the load term (0.02 per
    # busy slot of 10) until one agent has 6 more conversations than the other (Poisson(0.2): never).
    fleet = make_fleet(pool(2, cap=10), {**poisson(0.2), "customers": 1})
    out = run(fleet, "scored", requests=5_000, seed=4)
    assert out.agents[1].served < 0.01 * out.served
    balanced = run(fleet, "least_conn", requests=5_000, seed=4)
    assert min(a.served for a in balanced.agents) > 0.3 * balanced.served


def test_agent_wait_mean_is_the_mean_over_measured_requests():
    # one agent: its wait mean is the fleet's, warm-up included (it was 10% low: divided by all served)
    fleet = make_fleet({"a": {"max_concurrent_conversations": 2, "service_time": EXP1}}, poisson(1.6))
    out = run(fleet, "least_conn", requests=50_000, seed=8, warmup=0.1, little_rtol=0.15)
    assert out.agents[0].wait_mean == pytest.approx(out.wait.mean, rel=1e-12)


# --- business hours ---------------------------------------------------------------------------------

NY = {"max_concurrent_conversations": 5, "service_time": EXP1,
      "business_hours": {"timezone": "America/New_York", "schedule": "9AM-5PM weekdays"}}


def _hours_fleet():
    return make_fleet({"ny": NY, "always": {"max_concurrent_conversations": 5, "service_time": EXP1,
                                            "availability": "24/7"}}, poisson(2))


@pytest.mark.parametrize("start, utc_open", [(datetime(2026, 1, 5, tzinfo=UTC), 14),
                                             (datetime(2026, 3, 9, tzinfo=UTC), 13)],
                         ids=["EST", "EDT"])
def test_business_hour_edges_are_local_time(start, utc_open):
    # 9AM-5PM New York is 14:00-22:00 UTC in winter and 13:00-21:00 UTC after the March switch;
    # the run starts on a Monday 00:00 UTC; weekends stay closed.
    fleet = _hours_fleet()
    spec = spec_for(fleet, RunLength(duration=7 * 86400.0), start=start)
    mine = spec.tr_agent == 0
    edges = list(zip((spec.tr_t[mine] / 3600).tolist(), spec.tr_open[mine].tolist()))
    assert spec.avail0.tolist() == [0, 1]
    week = [(24 * d + h, op) for d in range(5) for h, op in ((utc_open, 1), (utc_open + 8, 0))]
    assert edges[:10] == week
    assert all(t >= 7 * 24 + utc_open for t, _ in edges[10:])  # next Monday
    # and the edges agree with the agent's own availability, minute by minute through the week
    agent = fleet.agents["ny"]
    bounds = [t * 3600 for t, _ in edges]
    for minute in range(0, 7 * 24 * 60, 7):
        at = start + timedelta(minutes=minute)
        opened = sum(1 for b in bounds if b <= minute * 60) % 2 == 1
        assert opened == agent.available_at(at), at.astimezone(ZoneInfo("America/New_York"))


def test_no_work_outside_business_hours():
    fleet = _hours_fleet()
    # Monday 00:00 UTC = Sunday 19:00 in New York; 14 h later it opens: nothing before that
    closed = run(fleet, "round_robin", duration=14 * 3600.0, seed=1)
    ny = closed.agents[0]
    assert (ny.served, ny.conversations, ny.utilization) == (0, 0, 0.0)
    assert closed.agents[1].served > 0.9 * closed.arrived
    # one more hour: round robin sends it every other request
    opened = run(fleet, "round_robin", duration=15 * 3600.0, seed=1)
    assert opened.agents[0].served > 0.4 * (opened.arrived - closed.arrived)
    # a whole week: every busy sample of the agent falls inside a window (or just after it closes,
    # finishing a conversation started before: exponential(1 s) service, so within a minute)
    week = run(fleet, "least_conn", duration=7 * 86400.0, seed=1)
    spec = spec_for(fleet, RunLength(duration=7 * 86400.0))
    edges = spec.tr_t[spec.tr_agent == 0].tolist()  # open, close, open, ... (closed at the start)
    windows = list(zip(edges[0::2], edges[1::2]))
    busy_at = [t for t, row in zip(week.series_t, week.series_agents) if row[0] > 0]
    assert busy_at and week.agents[0].served > 0
    assert all(any(lo <= t <= hi + 60 for lo, hi in windows) for t in busy_at)


def test_off_shift_agent_hands_its_own_queue_back_to_the_balancer():
    # Per-agent queues: round robin keeps the slow `ny` agent's queue full (50) until it closes at
    # 22:00 UTC; those requests then go to `always` instead of waiting 16 hours for 9AM New York.
    slow_ny = {**NY, "max_concurrent_conversations": 1, "service_time": {"distribution": "exponential", "mean": 10}}
    fleet = make_fleet({"ny": slow_ny, "always": {"max_concurrent_conversations": 1, "service_time": EXP1}},
                       poisson(0.4, discipline="per_agent", capacity=50))
    out = run(fleet, "round_robin", duration=2 * 86400.0, seed=3)
    assert out.rejected > 0 and out.agents[0].served > 0  # ny's queue did fill up while it was open
    assert sum(out.wait_hist[_bin_of(3600.0) + 1:]) == 0  # nobody waited an hour (50 x 10 s at most)


def test_drained_agent_takes_no_work_even_when_it_opens():
    # weight 0 = drained: never routed to, and it must not pull from the central queue either
    fleet = make_fleet({"a": {"max_concurrent_conversations": 1, "service_time": EXP1},
                        "d": {**NY, "weight": 0}}, poisson(2, capacity=100))
    out = run(fleet, "least_conn", duration=86400.0, seed=1)
    assert out.agents[1].served == 0 and out.agents[1].utilization == 0.0
    assert out.rejected > 0  # overloaded, so a pulling agent would have had work


# --- failures -----------------------------------------------------------------------------------------

def _failover_fleet(backups=("b",), b_cap=200, health=None):
    # round robin sends a every other request: ~30 conversations in progress (1/s x 60 s / 2) of its 40
    agents = {"a": {"max_concurrent_conversations": 40, "service_time": {"distribution": "exponential", "mean": 60},
                    "backups": list(backups)},
              "b": {"max_concurrent_conversations": b_cap, "service_time": {"distribution": "exponential", "mean": 60}}}
    return make_fleet(agents, poisson(1), {"health": health} if health else None)


def test_detection_time_is_threshold_times_interval_plus_timeout():
    out = run(_failover_fleet(), "least_conn", duration=1200.0, failures=["a@10m"])
    assert out.failures == [{"target": "a", "at": 600.0, "detected_at": 600.0 + 3 * 5 + 1}]
    custom = _failover_fleet(health={"probe_interval": "2s", "timeout": "500ms", "failure_threshold": 4})
    out = run(custom, "least_conn", duration=1200.0, failures=["a@600s"])
    assert out.failures == [{"target": "a", "at": 600.0, "detected_at": 600.0 + 4 * 2 + 0.5}]


def test_failover_moves_conversations_to_backups_with_room():
    before = run(_failover_fleet(), "round_robin", duration=600.0)  # the same arrivals, stopped at the failure
    out = run(_failover_fleet(), "round_robin", duration=1800.0, failures=["a@600s"])
    assert out.transferred > 0 and out.lost == 0
    assert out.transferred == before.agents[0].conversations  # everything a had in progress moved
    assert out.agents[0].served == before.agents[0].served  # a finished nothing after it went down
    assert out.retried > 0  # round robin kept sending to a until detection; each was retried on b
    # no backup: the same conversations are lost instead
    alone = run(_failover_fleet(backups=()), "round_robin", duration=1800.0, failures=["a@600s"])
    assert (alone.transferred, alone.lost) == (0, out.transferred)
    # a backup without room: what does not fit is lost
    full = run(_failover_fleet(b_cap=1), "round_robin", duration=1800.0, failures=["a@600s"])
    assert full.lost > 0 and full.transferred <= 1


def test_region_failure_fails_every_agent_of_the_region():
    agents = {**pool(2, cap=5, prefix="east", region="us-east"), **pool(1, cap=20, prefix="west", region="europe")}
    fleet = make_fleet(agents, poisson(2))
    out = run(fleet, "round_robin", duration=3600.0, failures=["us-east@0s"])
    assert out.failures == [{"target": "region us-east", "at": 0.0, "detected_at": 16.0}]
    by_id = {a.id: a for a in out.agents}
    assert by_id["east000"].served == 0 and by_id["east001"].served == 0
    assert by_id["west000"].served == out.served > 0
    assert out.retried > 0  # before detection round robin still tried the east agents
    healthy = run(fleet, "round_robin", duration=3600.0)
    assert all(a.served > 0 for a in healthy.agents)


# --- arrival profiles ---------------------------------------------------------------------------------

def _arrivals_between(fleet, lo: float, hi: float) -> int:
    """Arrivals in [lo, hi): runs stopped at lo and at hi see the same arrival stream before lo."""
    counts = [run(fleet, "least_conn", duration=d, seed=17).arrived if d > 0 else 0 for d in (lo, hi)]
    return counts[1] - counts[0]


def _expected(fleet, lo: float, hi: float) -> float:
    spec = spec_for(fleet, RunLength(duration=86400.0))
    t = np.linspace(lo, hi, 200_001)
    return float(np.trapezoid(spec.rate_at(t), t))


def _poisson_close(count: int, mean: float) -> None:
    # a Poisson count: within 4.5 standard deviations (two-sided 7e-6)
    assert abs(count - mean) <= 4.5 * math.sqrt(mean), (count, mean)


def _sink(arrivals: dict):
    # ample slots and no queue: the run only counts arrivals
    return make_fleet({"a": {"max_concurrent_conversations": 2000, "service_time": EXP1}},
                      {"arrivals": arrivals, "queue": {"capacity": 0}})


def test_spike_profile_multiplies_the_rate_inside_its_window():
    fleet = _sink({"rate": "1/s", "profile": "spike", "at": "6h", "duration": "10m", "multiplier": 100})
    inside = _arrivals_between(fleet, 6 * 3600.0, 6 * 3600.0 + 600)
    _poisson_close(inside, 100 * 1.0 * 600)
    _poisson_close(_arrivals_between(fleet, 0.0, 6 * 3600.0), 6 * 3600.0)
    _poisson_close(_arrivals_between(fleet, 0.0, 86400.0), 86400 + 99 * 600)


def test_diurnal_profile_peaks_at_its_hour():
    fleet = _sink({"rate": "1/s", "profile": "diurnal", "peak_multiplier": 3, "peak_at": 15})
    day = _arrivals_between(fleet, 0.0, 86400.0)
    assert _expected(fleet, 0.0, 86400.0) == pytest.approx(86400 * (1 + 3) / 2, rel=1e-9)
    _poisson_close(day, 86400 * 2)
    peak = _arrivals_between(fleet, 14.5 * 3600, 15.5 * 3600)
    trough = _arrivals_between(fleet, 2.5 * 3600, 3.5 * 3600)
    _poisson_close(peak, _expected(fleet, 14.5 * 3600, 15.5 * 3600))
    _poisson_close(trough, _expected(fleet, 2.5 * 3600, 3.5 * 3600))
    assert 2.7 < peak / trough < 3.2  # 3 x at the peak hour against the trough twelve hours away


# --- queues: patience, bounds, loss -------------------------------------------------------------------

def _bin_of(x: float) -> int:
    return int(math.log(x / HIST_LO) / math.log(HIST_RATIO)) + 2


def test_patience_overloaded_queue_abandons_and_stays_bounded():
    patience = 5.0
    impatient = make_fleet({"a": {"max_concurrent_conversations": 1, "service_time": EXP1}},
                           poisson(2, patience=f"{patience:g}s"))
    out = run(impatient, "least_conn", requests=100_000, seed=6)
    assert out.abandoned > 0.3 * out.arrived  # lam 2 against mu 1: about half must leave
    assert out.rejected == 0
    # nobody is served after waiting longer than its patience
    assert sum(out.wait_hist[_bin_of(patience) + 1:]) == 0 and out.wait.p99 <= patience * HIST_RATIO
    # the queue only holds the last `patience` seconds of arrivals: Poisson(10), max over 300 samples
    assert max(out.series_queue) <= 2 * patience + 6 * math.sqrt(2 * patience)
    assert out.utilization > 0.98  # the agent never idles while customers wait
    patient = run(make_fleet({"a": {"max_concurrent_conversations": 1, "service_time": EXP1}}, poisson(2)),
                  "least_conn", requests=100_000, seed=6)
    assert patient.abandoned == 0 and patient.queued > 0.4 * patient.arrived  # grows by lam - mu


@pytest.mark.parametrize("discipline", ["central", "per_agent"])
def test_bounded_queue_with_patience_runs_long(discipline):
    # Abandonment entries stay on the event heap after the request is served; with a small bounded
    # queue they used to overflow the heap (a segfault). The heap now drops stale entries when full.
    fleet = make_fleet(pool(2), poisson(1.9, discipline=discipline, capacity=2, patience="1000s"))
    out = run(fleet, "least_conn", requests=200_000, seed=7)
    assert out.rejected > 0 and out.served > 0.6 * out.arrived
    assert max(out.series_queue) <= (2 if discipline == "central" else 4)
    short = make_fleet(pool(2), poisson(3, discipline=discipline, capacity=5, patience="3s"))
    out = run(short, "p2c", requests=100_000, seed=7)
    assert out.abandoned > 0 and out.rejected > 0


def test_queue_capacity_zero_is_a_loss_system():
    for discipline in ("central", "per_agent"):
        fleet = make_fleet(pool(3, cap=2), poisson(6, discipline=discipline, capacity=0))
        out = run(fleet, "least_conn", requests=20_000, seed=3)
        assert out.rejected > 0 and out.abandoned == 0 and out.queued == 0
        assert out.p_wait == 0.0 and out.wait.p99 == 0.0 and max(out.series_queue) == 0
