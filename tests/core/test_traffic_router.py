"""The live router picks through the simulator's own `choose` on the simulator's agent table, and keeps
that table true to what happened: slots, per-agent queues, passive health, business hours, affinity."""

from __future__ import annotations

import numpy as np
import oracles as o
import pytest
from simkit import make_fleet, pool, spec_for

from clawctl.core.sim import layout as L
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.strategies import NAMES
from clawctl.core.traffic.router import OUT, Router


def router(agents: dict, strategy: str, **kw) -> Router:
    fleet = make_fleet(agents, traffic={"arrivals": {"rate": "1/s"}, "customers": 10})
    return Router(spec_for(fleet, RunLength(requests=10)), strategy, **kw)


def weighted(*weights: int, cap: int = 100) -> dict:
    return {name: {"max_concurrent_conversations": cap, "weight": w} for name, w in zip("abcdefg", weights)}


@pytest.mark.parametrize("weights", [[5, 1, 1], [2, 1], [4, 2, 1], [1, 1, 1], [3, 0, 2]])
def test_weighted_round_robin_follows_nginx_smooth_wrr(weights):
    r = router(weighted(*weights), "weighted_round_robin")
    n = 3 * sum(weights)
    picks = []
    for _ in range(n):
        i = r.pick(0, -1, 0.5, 0.5, need_free=True)
        r.started(i, -1)
        picks.append(i)
    expected = o.nginx_swrr([w for w in weights if w > 0], n)
    live = [i for i, w in enumerate(weights) if w > 0]
    assert picks == [live[j] for j in expected]


def test_round_robin_cycles_and_skips_an_agent_taken_out():
    r = router(weighted(1, 1, 1), "round_robin", max_fails=1, fail_timeout=5.0)
    assert [r.pick(0, -1, 0.5, 0.5, need_free=True) for _ in range(4)] == [0, 1, 2, 0]
    assert r.failed(1, t=0.0) is True and r.is_out(1)
    assert [r.pick(0, -1, 0.5, 0.5, need_free=True) for _ in range(4)] == [2, 0, 2, 0]
    assert r.advance(5.0) == [1] and not r.is_out(1)  # back after fail_timeout
    assert sorted({r.pick(0, -1, 0.5, 0.5, need_free=True) for _ in range(3)}) == [0, 1, 2]


def test_least_conn_never_picks_a_busier_agent_while_a_lighter_one_is_free():
    rng = np.random.default_rng(5)
    r = router(weighted(1, 2, 1, 3, cap=4), "least_conn")
    busy: list[int] = []
    for _ in range(2000):
        if busy and rng.random() < 0.5:
            r.ended(busy.pop(int(rng.integers(len(busy)))))
            continue
        i = r.pick(0, -1, rng.random(), rng.random(), need_free=True)
        ag = r.ag
        free = [j for j in range(4) if ag[j, L.A_BUSY] < ag[j, L.A_CAP]]
        if not free:
            assert i == -1
            continue
        best = min(ag[j, L.A_LOAD] / ag[j, L.A_WEIGHT] for j in free)
        assert i in free and ag[i, L.A_LOAD] / ag[i, L.A_WEIGHT] == best
        r.started(i, -1)
        busy.append(i)


def test_p2c_takes_the_second_draw_only_when_strictly_less_loaded():
    r = router(weighted(1, 1, 1, 1), "p2c")
    r.started(0, -1)
    r.started(0, -1)
    r.started(2, -1)
    # u1 picks index 0 (load 2), u2 index 2 (load 1): the second wins
    assert r.pick(0, -1, 0.1, 0.6, need_free=True) == 2
    # both draws on equal loads: the first draw wins the tie
    assert r.pick(0, -1, 0.3, 0.9, need_free=True) == 1


@pytest.mark.parametrize("strategy", NAMES)
def test_every_strategy_picks_exactly_as_its_pick_function_on_the_same_table(strategy):
    """The router adds no rule of its own: a copy of its table through the strategy's pick function
    gives the same agent, request after request, with the same side effects on the table."""
    from clawctl.core.sim.strategies import BY_NAME

    rng = np.random.default_rng(11)
    r = router(pool(6, cap=3), strategy)
    fn = BY_NAME[strategy].pick_function
    for _ in range(300):
        k, cust, u1, u2 = 0, int(rng.integers(10)), rng.random(), rng.random()
        ag, cnt = r.ag.copy(), r.cnt.copy()
        direct = fn(k, cust, u1, u2, ag, r.agf, r.spec.elig, r.spec.cap_match, r.last_agent.copy(), r.weights4,
                    True, r.excluded, cnt)
        live = r.pick(k, cust, u1, u2, need_free=True)
        assert live == direct and np.array_equal(ag, r.ag) and np.array_equal(cnt, r.cnt)
        if live >= 0:
            r.started(live, cust)
        busy = np.nonzero(r.ag[:, L.A_BUSY])[0]
        if len(busy) and rng.random() < 0.5:
            r.ended(int(rng.choice(busy)))


def test_passive_health_counts_failures_within_the_window_only():
    r = router(weighted(1, 1), "round_robin", max_fails=3, fail_timeout=10.0)
    assert not r.failed(0, 0.0) and not r.failed(0, 11.0) and not r.failed(0, 22.0)  # spread out: stays in
    assert not r.failed(0, 23.0)
    assert r.failed(0, 24.0) and r.ag[0, L.A_FAILED] == OUT  # three within 10 s: out for 10 s
    assert r.advance(33.9) == [] and r.is_out(0)
    assert r.advance(34.0) == [0] and not r.is_out(0)
    r.failed(0, 35.0)
    r.succeeded(0)  # a success forgets earlier failures
    assert not r.failed(0, 36.0) and not r.failed(0, 37.0)


def test_max_fails_zero_never_takes_an_agent_out():
    r = router(weighted(1), "round_robin", max_fails=0)
    assert not any(r.failed(0, float(t)) for t in range(20))


def test_the_customer_stays_with_the_agent_that_holds_the_session():
    r = router(weighted(1, 1, 1, cap=1), "round_robin", max_fails=1)
    assert r.holder(4, 0) == -1  # a new customer
    r.started(2, 4)
    assert r.holder(4, 0) == -1  # its agent is busy (one slot)
    r.ended(2)
    assert r.holder(4, 0) == 2
    r.failed(2, 0.0)
    assert r.holder(4, 0) == -1  # taken out: the balancer decides


def test_business_hours_open_and_close_agents_as_fleet_time_passes():
    agents = {"day": {"business_hours": {"start": "09:00", "end": "17:00"}, "timezone": "UTC"},
              "night": {"availability": "24/7"}}
    r = router(agents, "round_robin")
    assert r.ag[0, L.A_AVAIL] == 0  # the run starts Monday 00:00 UTC
    assert r.pick(0, -1, 0.5, 0.5, need_free=True) == 1
    assert r.advance(9 * 3600) == [0]
    assert r.ag[0, L.A_AVAIL] == 1
    r.advance(17 * 3600)
    assert r.ag[0, L.A_AVAIL] == 0


def test_avoid_excludes_agents_for_one_pick_only():
    r = router(weighted(1, 1), "round_robin")
    assert r.pick(0, -1, 0.5, 0.5, need_free=True, avoid={0}) == 1
    assert not r.excluded.any()
