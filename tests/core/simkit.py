"""Shared helpers of the simulator tests (not a test module): fleets written as dicts, one run built
the way `clawctl simulate` builds it, and the identities that every run must satisfy.

Used by test_sim_oracles.py (statistical) and test_sim_semantics.py (exact).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from clawctl.core.fleet import Fleet, merge
from clawctl.core.model.fleet_file import FleetFile
from clawctl.core.sim.engine import RunLength, simulate
from clawctl.core.sim.spec import DEFAULT_START, RunSpec, build
from clawctl.core.sim.stats import Outcome

EXP1 = {"distribution": "exponential", "mean": 1}
LOGN1 = {"distribution": "lognormal", "mean": 1, "sigma": 1}
DET1 = {"distribution": "deterministic", "mean": 1}


def make_fleet(agents: dict, traffic: dict | None = None, load_balancing: dict | None = None) -> Fleet:
    """A fleet from a fleet-file document, validated and merged as `load_fleet` does (no findings)."""
    doc: dict = {"agents": agents}
    if traffic is not None:
        doc["traffic"] = traffic
    if load_balancing is not None:
        doc["load_balancing"] = load_balancing
    fleet, findings = merge([("test.yaml", FleetFile.model_validate(doc))])
    assert not findings, findings
    return fleet


def pool(n: int, cap: int = 1, service: dict = EXP1, prefix: str = "a", **extra) -> dict:
    """``n`` identical agents ``a000``, ``a001``, ... with ``cap`` slots each."""
    width = max(3, len(str(n - 1)))
    return {f"{prefix}{i:0{width}d}": {"max_concurrent_conversations": cap, "service_time": service, **extra}
            for i in range(n)}


def poisson(rate_per_s: float, **queue) -> dict:
    """``traffic`` with Poisson arrivals at ``rate_per_s`` and the given ``queue`` keys."""
    out: dict = {"arrivals": {"rate": f"{rate_per_s}/s"}}
    if queue:
        out["queue"] = queue
    return out


def spec_for(fleet: Fleet, length: RunLength, *, failures: Sequence[str] = (),
             start: datetime = DEFAULT_START) -> RunSpec:
    """The RunSpec `services.simulate` builds: once for the rate, then with the run's horizon * 1.05 + 1 day."""
    probe = build(fleet, horizon=1.0, start=start, failures=list(failures))
    horizon = length.horizon(probe)
    return build(fleet, horizon=horizon * 1.05 + 86400, start=start, failures=list(failures))


def run(fleet: Fleet, strategy: str, *, requests: int | None = None, duration: float | None = None,
        seed: int = 1, warmup: float = 0.0, failures: Sequence[str] = (), start: datetime = DEFAULT_START,
        little_rtol: float | None = None) -> Outcome:
    """One run, checked against the identities (``check_identities``) before it is returned."""
    length = RunLength(requests=requests, duration=duration)
    spec = spec_for(fleet, length, failures=failures, start=start)
    out = simulate(spec, strategy, length, seed, warmup=warmup)
    check_identities(out, spec, little_rtol=little_rtol)
    return out


def _finite(x: float) -> float:
    return x if x is not None and math.isfinite(x) else 0.0


def _always_served(o: Outcome, spec: RunSpec) -> bool:
    """Every request type has an agent that is always open, up and not drained."""
    steady = (spec.weight > 0) & (spec.avail0 == 1)
    steady[np.unique(spec.tr_agent)] = False
    return not o.failures and bool((spec.elig & steady).any(axis=1).all())


def _scv(spec: RunSpec, i: int) -> float:
    kind = int(spec.kind[i])
    if kind == 0:
        return 1.0
    if kind == 1:
        return math.expm1(float(spec.sigma[i]) ** 2)
    return 0.0


def check_identities(o: Outcome, spec: RunSpec, *, little_rtol: float | None = None) -> None:
    """What holds on every run, whatever the routing.

    1. Conservation (exact): arrived = served + rejected + abandoned + lost + in flight; the agents'
       served add up; in flight = waiting + conversations in progress.
    2. Little's law for the fleet, L = lambda * W, on the sample path. With no warm-up every departure is
       measured, so the time integral of the number in system is the sum of the sojourns of the served,
       plus exactly `patience` for each abandoned request, plus the partial stays of the requests still
       in flight (and, after a failure, of lost conversations). The first part is an exact lower bound;
       each unfinished request adds at most its wait so far (its patience, or about the waits measured,
       when every request type always has an open agent; else up to the whole run) plus part of one
       service time. With a warm-up the area covers the whole run but W only the measured part: for a
       system started empty, L over the whole run lies between (1 - warmup share) and 1 times the steady
       L, so the caller's statistical tolerance ``little_rtol`` (the W tolerance of the test) widens
       that band.
    3. Little's law per agent: busy area = utilisation * slots * T = served * mean service time, up to
       the sampling noise of a sum of `served` service times (6 sigma, sigma = mean * sqrt(scv * served))
       and the conversations still in progress at the end (at most ~12 mean service times each).
       Skipped after a failure: frozen, moved and lost conversations break it by design.
    """
    # 1. conservation
    assert o.arrived == o.served + o.rejected + o.abandoned + o.lost + o.in_flight, o
    assert sum(a.served for a in o.agents) == o.served
    assert o.in_flight == o.queued + sum(a.conversations for a in o.agents)
    assert 0 <= o.overflow <= o.rejected
    assert 0.0 <= o.utilization <= 1.0 + 1e-9
    assert all(0.0 <= a.utilization <= 1.0 + 1e-9 for a in o.agents)
    for p in (o.sla_attainment, o.p_wait):
        assert p is None or 0.0 <= p <= 1.0
    for s in (o.wait, o.sojourn):
        if not math.isnan(s.mean):
            assert 0.0 <= s.p50 <= s.p95 <= s.p99, s
    # 2. Little's law for the fleet
    T = o.elapsed_sim_s
    area = o.mean_in_system * T
    patience = spec.patience if math.isfinite(spec.patience) else 0.0
    if o.served:
        if o.warmup_s == 0.0:
            counted = o.sojourn.mean * o.served + o.abandoned * patience
            assert area >= counted * (1 - 1e-9), (area, counted)
            unfinished = o.in_flight + o.lost
            if o.failures or (spec.per_agent and spec.tr_t.size):
                # a request waiting in the queue of an agent that fails or goes off shift is routed again,
                # and rejected when no agent can take it: it stayed a while, yet counts as rejected
                unfinished += o.rejected
            if _always_served(o, spec):
                # an unfinished request has waited (at most its patience, else a time like the waits
                # measured) and been served for part of its service time (20 means covers any tail here)
                waited = patience or 10 * max(_finite(o.wait.p99), _finite(o.sojourn.p99), o.sojourn.mean)
                stay = waited + 20 * float(spec.mean.max())
            else:
                stay = T  # closed hours, drained or failed agents: a request may wait out the whole run
            assert area - counted <= unfinished * stay + 1e-9 * area, (area, counted, unfinished, stay)
        else:
            assert little_rtol is not None, "a run with a warm-up needs little_rtol"
            lam_eff = (o.arrived - o.rejected) / T
            ratio = o.mean_in_system / (lam_eff * o.sojourn.mean)
            share = o.warmup_s / T
            assert (1 - share) * (1 - little_rtol) <= ratio <= 1 + little_rtol, (ratio, share, little_rtol)
    # 3. Little's law per agent
    if o.failures or o.transferred or o.lost:
        return
    for i, a in enumerate(o.agents):
        mean = float(spec.mean[i])
        busy = a.utilization * float(spec.cap[i]) * T
        expected = a.served * mean
        allowance = 6 * mean * math.sqrt(_scv(spec, i) * max(a.served, 1)) + mean * (1 + 12 * a.conversations)
        assert abs(busy - expected) <= allowance, (a, busy, expected, allowance)
