"""The routing index (clawctl/core/sim/index.py) picks exactly what the scanning pick functions pick.

Every strategy runs twice on the same seed, with the index and without it (``index.ENABLED = False``: each
pick scans every agent through ``routing.choose``, as before issue 15), and the two outcomes must be equal
in every field: counts, waits, per-agent figures, the sampled series and the wait histogram. The fleets are
drawn at random (fixed seeds) to reach what the index must keep true: eligibility classes, weights 0 to 4
(0: drained), slot counts, business hours opening and closing, central and per-agent queues, bounded queues
with patience, failures (with and without recovery) whose picks are retried, repeat customers.

A second test drives the index directly: random changes to the agents' state, each followed by
``index.touch``, and after each a pick from the index and a pick by the scan on copies of the state.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from simkit import make_fleet, spec_for

from clawctl.core.sim import index
from clawctl.core.sim import layout as L
from clawctl.core.sim.engine import RunLength, simulate
from clawctl.core.sim.routing import choose
from clawctl.core.sim.spec import ALL_STRATEGIES, STRATEGY_CODES

CAPS = ("billing", "tech", "sales")
CHANNELS = ("chat", "email")


def random_fleet(seed: int, *, per_agent: bool) -> tuple[object, list[str]]:
    """A fleet of 12 to 40 agents in two regions with a 3-type mix, and the failures to run it with."""
    rng = random.Random(seed)
    n = rng.randint(12, 40)
    agents = {}
    for i in range(n):
        spec: dict = {"max_concurrent_conversations": rng.randint(1, 4), "weight": rng.choice((0, 1, 1, 2, 3, 4)),
                      "capabilities": rng.sample(CAPS, rng.randint(1, 3)), "channels": rng.sample(CHANNELS, rng.randint(1, 2)),
                      "region": f"r{i % 2}",
                      "service_time": {"distribution": rng.choice(("exponential", "lognormal", "deterministic")),
                                       "mean": f"{rng.randint(20, 90)}s"},
                      "performance": {"satisfaction": rng.choice((0.5, 0.8, 0.9))}}
        if rng.random() < 0.3:  # business hours within the run (UTC, the run starts Monday 00:00)
            start = rng.choice(("00:10", "00:30", "01:00"))
            spec["business_hours"] = {"timezone": "UTC", "start": start, "end": rng.choice(("00:50", "01:20", "02:00")),
                                      "days": ["mon"]}
        agents[f"a{i:02d}"] = spec
    for name, spec in agents.items():
        spec["backups"] = [b for b in rng.sample(sorted(agents), 2) if b != name]
    mix = [{"name": "t_bill", "share": 0.4, "capabilities": ["billing"]},
           {"name": "t_tech", "share": 0.4, "channel": "chat", "capabilities": ["tech"], "priority": "high"},
           {"name": "t_any", "share": 0.2, "priority": "low"}]
    slots = sum(a["max_concurrent_conversations"] for a in agents.values() if a["weight"])
    queue: dict = {"discipline": "per_agent" if per_agent else "central"}
    if rng.random() < 0.5:
        queue["capacity"] = rng.choice((0, 3, 20))
    if rng.random() < 0.6:
        queue["patience"] = rng.choice(("90s", {"distribution": "exponential", "mean": "60s"}))
    traffic = {"arrivals": {"rate": f"{slots * rng.uniform(0.5, 1.2) / 55:.3f}/s"}, "mix": mix, "queue": queue,
               "customers": 30}
    lb = {"strategy": "least_conn", "scoring": {"capability": 0.4, "performance": 0.3, "load": 0.2,
                                                "customer_history": rng.choice((0.0, 0.1))}}
    fleet = make_fleet(agents, traffic, lb)
    victim = rng.choice(sorted(agents))
    failures = [f"{victim}@{rng.randint(300, 900)}s-{rng.randint(1000, 2000)}s", f"r{rng.randint(0, 1)}@2500s"]
    return fleet, failures


def _outcome(out) -> dict:
    return dataclasses.asdict(out)


@pytest.mark.parametrize("seed", range(8))
def test_every_strategy_picks_the_same_with_the_index_as_by_scanning(seed, monkeypatch):
    fleet, failures = random_fleet(seed, per_agent=seed % 2 == 1)
    length = RunLength(duration=3600.0)
    spec = spec_for(fleet, length, failures=failures)
    monkeypatch.setattr(index, "SCAN_BELOW", 0)  # the index even for a small fleet
    for strategy in (*ALL_STRATEGIES, "predictive_distribution"):
        monkeypatch.setattr(index, "ENABLED", True)
        fast = simulate(spec, strategy, length, seed)
        monkeypatch.setattr(index, "ENABLED", False)
        scan = simulate(spec, strategy, length, seed)
        assert fast.arrived > 500, strategy
        assert _outcome(fast) == _outcome(scan), (seed, strategy)


def test_the_random_fleets_reach_what_the_index_keeps():
    """The fleets above do exercise retries, transfers, abandonment, rejection, requeueing and closed hours."""
    seen = {"retried": 0, "transferred": 0, "abandoned": 0, "rejected": 0, "lost": 0}
    for seed in range(8):
        fleet, failures = random_fleet(seed, per_agent=seed % 2 == 1)
        length = RunLength(duration=3600.0)
        spec = spec_for(fleet, length, failures=failures)
        assert spec.tr_t.size and (spec.weight == 0).any()
        for strategy in ("least_conn", "p2c"):
            out = simulate(spec, strategy, length, seed)
            for k in seen:
                seen[k] += getattr(out, k)
    assert all(v > 0 for v in seen.values()), seen


# --- the index driven directly --------------------------------------------------------------------------------
def _state(seed: int):
    rng = np.random.default_rng(seed)
    n, types = int(rng.integers(5, 60)), 3
    ag = np.zeros((n, L.N_AG), dtype=np.int64)
    ag[:, L.A_CAP] = rng.integers(1, 5, n)
    ag[:, L.A_WEIGHT] = rng.choice([0, 1, 2, 3, 5], n)
    ag[:, L.A_AVAIL] = 1
    agf = np.zeros((n, L.N_AGF))
    agf[:, L.F_PERF] = rng.choice([0.2, 0.5, 0.9], n)
    elig = rng.random((types, n)) < 0.6
    cap_match = np.ones((types, n))

    class Spec:
        agent_ids = [f"a{i}" for i in range(n)]

    Spec.elig, Spec.cap_match, Spec.weight = elig, cap_match, ag[:, L.A_WEIGHT].copy()
    return rng, ag, agf, elig, cap_match, Spec


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@pytest.mark.parametrize("per_agent", [False, True], ids=["central", "per_agent"])
def test_index_and_scan_agree_pick_by_pick(seed, strategy, per_agent, monkeypatch):
    monkeypatch.setattr(index, "SCAN_BELOW", 0)
    rng, ag, agf, elig, cap_match, spec = _state(seed)
    n = ag.shape[0]
    code = STRATEGY_CODES[strategy]
    weights4 = np.array([0.4, 0.3, 0.2, 0.1])
    excluded = np.zeros(n, dtype=np.bool_)
    ix = index.build(spec, code, per_agent, 1000, excluded, weights4)
    assert index.indexed(ix)
    index.fill(ag, agf, ix)
    scan_ag, scan_cnt, cnt = ag.copy(), np.zeros(L.N_CNT, dtype=np.int64), np.zeros(L.N_CNT, dtype=np.int64)
    last = np.full(8, -1, dtype=np.int64)
    scan_last = last.copy()
    for step in range(400):
        i = int(rng.integers(n))
        what = rng.random()
        if what < 0.35 and ag[i, L.A_BUSY] < ag[i, L.A_CAP]:
            ag[i, L.A_BUSY] += 1
            ag[i, L.A_LOAD] += 1
        elif what < 0.6 and ag[i, L.A_BUSY] > 0:
            ag[i, L.A_BUSY] -= 1
            ag[i, L.A_LOAD] -= 1
        elif what < 0.7 and per_agent:
            ag[i, L.A_LOAD] += 1  # a request joins its own queue
        elif what < 0.8:
            ag[i, L.A_AVAIL] = 1 - ag[i, L.A_AVAIL]
        elif what < 0.85:
            ag[i, L.A_FAILED] = int(rng.choice([0, 1, 2]))
        elif what < 0.9:
            excluded[i] = not excluded[i]
        index.touch(i, ag, agf, ix)
        for col in (L.A_BUSY, L.A_LOAD, L.A_AVAIL, L.A_FAILED):
            scan_ag[i, col] = ag[i, col]
        k, cust = int(rng.integers(3)), int(rng.integers(-1, 8))
        u1, u2 = float(rng.random()), float(rng.random())
        got = int(index.choose(code, k, cust, u1, u2, ag, elig, last, cnt, ix))
        want = int(choose(code, k, cust, u1, u2, scan_ag, agf, elig, cap_match, scan_last, weights4, not per_agent,
                          excluded, scan_cnt))
        assert got == want, (step, strategy, got, want)
        assert cnt[L.RR_PTR] == scan_cnt[L.RR_PTR]
        if got >= 0 and cust >= 0 and rng.random() < 0.5:
            last[cust] = scan_last[cust] = got
