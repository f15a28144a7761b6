"""A failover drill through the simulator: the fleet's traffic, the target failed half-way, detection after the
fleet's health settings (the simulator's ``detect``: ``failure_threshold x probe_interval + timeout``),
conversations in progress moved to the first backup with a free slot or lost. The predicted figures of
a live drill, and the whole of a ``--mode sim`` drill."""

from __future__ import annotations

from datetime import datetime, timedelta

from clawctl.core.failover.drill import detection_range
from clawctl.core.failover.plan_week import SLOTS, STEP_MIN, open_at, open_mask
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.engine import simulate as run_one
from clawctl.core.sim.spec import DEFAULT_START, build

PREDICT_REQUESTS = 20_000


def predict(fleet, targets: list[str], *, seed: int = 1, requests: int = PREDICT_REQUESTS) -> dict:
    """Predicted detection (the model's range and the simulator's worst case), conversations moved and
    lost, preservation and recovery time. Without traffic in the fleet, only the detection model."""
    health = fleet.load_balancing.health
    low, high = detection_range(health.probe_interval, health.timeout, health.failure_threshold)
    out: dict = {"detection_range_s": [low, high], "detection_s": high}
    if fleet.traffic is None or fleet.traffic.arrivals is None:
        out["note"] = "no traffic in the fleet: only the detection model is predicted"
        return out
    length = RunLength(requests=requests)
    probe = build(fleet, horizon=1.0)
    if probe.mean_rate() <= 0:
        out["note"] = "the fleet's arrival rate is 0: only the detection model is predicted"
        return out
    horizon = length.horizon(probe)
    at = horizon / 2
    instant = _open_instant(fleet, targets)
    if instant is None:
        out["note"] = "the targets are never open together in a week: the failure lands in closed hours"
        instant = DEFAULT_START + timedelta(seconds=at)
    spec = build(fleet, horizon=horizon * 1.05 + 86400, start=instant - timedelta(seconds=at),
                 failures=[f"{t}@{at:.6f}s" for t in targets])
    result = run_one(spec, fleet.load_balancing.strategy, length, seed, warmup=0.0)
    moved, lost = result.transferred, result.lost
    total = moved + lost
    out.update({"detection_s": spec.detect, "conversations_moved": moved, "conversations_lost": lost,
                "session_preservation": 100.0 * moved / total if total else 100.0,
                "recovery_s": spec.detect, "requests": requests, "failed_at_s": round(at, 3),
                "strategy": fleet.load_balancing.strategy, "seed": seed, "failed_at": instant.isoformat()})
    return out


def _open_instant(fleet, targets: list[str]) -> datetime | None:
    """The first quarter hour of the reference week when every target is open (the drill fails them
    there, half-way through the simulated run), or None."""
    masks = [open_mask(fleet.agents[t]) for t in targets]
    for k in range(SLOTS):
        instant = DEFAULT_START + timedelta(minutes=k * STEP_MIN)
        if all(open_at(m, instant) for m in masks):
            return instant
    return None
