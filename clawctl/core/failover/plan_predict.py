"""The predicted figures of a failover plan (pure): detection time from the health settings, and the
simulated failures the service hands in.

Active health checks (``load_balancing.health``: interval I, timeout T, threshold F): a fault lands
at a uniformly random phase of the probe interval. Fastest, the agent refuses just before a probe: the
F-th failed probe comes (F-1) x I later. Slowest, it hangs just after a probe: the first failing probe
starts I later and the F-th times out at F x I + T. The simulator detects at F x I + T.

Passive checks (``load_balancing.passive``, nginx semantics as clawctl's live router has them:
``max_fails`` failed requests within ``fail_timeout`` take the agent out): the first failed request is
retried on the next agent at once when refused, after the request timeout T when the agent hangs; the
agent is out after ``max_fails`` failures: at once when they come back to back (refused), after
``max_fails x T`` when a hung agent fails one request at a time. The fleet file sets no request
timeout, so T is the health ``timeout``. ``max_fails: 0`` turns passive checks off. The trap (failover
research note, section 4): when ``(max_fails - 1) x T > fail_timeout`` (``max_fails > 1`` with T over
``fail_timeout`` is the case the note names), failures one at a time never gather within
``fail_timeout`` and a hung agent is never taken out by passive checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from clawctl.core.failover.drill import (
    detection_range as active_range,  # one detection model
)
from clawctl.core.failover.plan_week import REFERENCE_WEEK, SLOTS, STEP_MIN, open_matrix
from clawctl.core.model.fleet_file import LoadBalancing, Objectives

ACTIVE_FORMULA = ("(F-1) x I", "F x I + T")
PASSIVE_FORMULA = ("0 (refused, failures back to back)", "max_fails x T (hung, one request at a time)")


# -- detection ----------------------------------------------------------------------------------------------
@dataclass
class Detection:
    probe_interval: float
    timeout: float
    failure_threshold: int
    max_fails: int
    fail_timeout: float
    objective: float

    @property
    def active(self) -> tuple[float, float]:
        return active_range(self.probe_interval, self.timeout, self.failure_threshold)

    @property
    def simulated(self) -> float:
        """The simulator's detection: the slow end of the active range."""
        return self.active[1]

    @property
    def passive_disabled(self) -> bool:
        return self.max_fails == 0

    @property
    def passive_trap(self) -> bool:
        return self.max_fails > 1 and (self.max_fails - 1) * self.timeout > self.fail_timeout

    @property
    def passive(self) -> tuple[float, float | None] | None:
        """(0, max_fails x T); the slow end None when a hung agent is never taken out; None when off."""
        if self.passive_disabled:
            return None
        return 0.0, None if self.passive_trap else self.max_fails * self.timeout

    def as_dict(self) -> dict:
        lo, hi = self.active
        passive = self.passive
        return {
            "active": {"probe_interval_s": self.probe_interval, "timeout_s": self.timeout,
                       "failure_threshold": self.failure_threshold, "min_s": _r(lo), "max_s": _r(hi),
                       "formula": {"min": ACTIVE_FORMULA[0], "max": ACTIVE_FORMULA[1]},
                       "objective_s": self.objective, "met": hi <= self.objective},
            "passive": {"max_fails": self.max_fails, "fail_timeout_s": self.fail_timeout, "timeout_s": self.timeout,
                        "enabled": not self.passive_disabled,
                        "first_failure": {"min_s": 0.0, "max_s": self.timeout},
                        "min_s": None if passive is None else passive[0],
                        "max_s": None if passive is None else _r(passive[1]),
                        "formula": {"min": PASSIVE_FORMULA[0], "max": PASSIVE_FORMULA[1]},
                        "trap": self.passive_trap},
            "simulated_s": _r(self.simulated),
        }


def detection(lb: LoadBalancing, objectives: Objectives) -> Detection:
    h, p = lb.health, lb.passive
    return Detection(h.probe_interval, h.timeout, h.failure_threshold, p.max_fails, p.fail_timeout,
                     objectives.detection)


def detection_notes(d: Detection) -> list[str]:
    out = []
    if d.passive_trap:
        out.append(f"nginx trap (passive checks): a hung agent fails one request per timeout ({d.timeout:g}s), so "
                   f"max_fails {d.max_fails} failures span {(d.max_fails - 1) * d.timeout:g}s, more than fail_timeout "
                   f"{d.fail_timeout:g}s: passive checks never take it out, only active health checks detect it "
                   "(failover research note, section 4)")
    if d.active[1] > d.objective:
        out.append(f"active detection may take {d.active[1]:g}s, over the detection objective of {d.objective:g}s")
    return out


# -- simulated failures -------------------------------------------------------------------------------------
def phase_instants(per_day: int = 4) -> list[datetime]:
    """Instants spread over the reference week: ``per_day`` a day, at the middle of equal parts of it."""
    step = 24 / per_day
    return [REFERENCE_WEEK + timedelta(hours=step / 2 + step * k) for k in range(7 * per_day)]


def spread(items: Sequence, k: int) -> list:
    """``k`` items evenly spread over ``items`` (all of them when there are no more than ``k``)."""
    n = len(items)
    if n <= k:
        return list(items)
    return [items[int((j + 0.5) * n / k)] for j in range(k)]


def utilization_while_open(runs: Sequence[tuple[datetime, Sequence[float], Sequence[Sequence[int]]]],
                           ids: Sequence[str], caps: Sequence[int], masks: Mapping[str, int],
                           skip_before: Sequence[float]) -> dict[str, float | None]:
    """Each agent's busy share while it is open, over simulated runs: ``(start, sample times, busy
    conversations per sample and agent)``; samples before ``skip_before[run]`` (the warm-up) are left out.
    None for an agent open in no sample."""
    opened = open_matrix([masks[a] for a in ids])  # [agents, steps]
    busy = np.zeros(len(ids))
    seen = np.zeros(len(ids))
    for (start, times, per_agent), skip in zip(runs, skip_before):
        t = np.asarray(times, dtype=float)
        keep = t >= skip
        if not keep.any():
            continue
        offset = (start - REFERENCE_WEEK).total_seconds()
        steps = (np.floor((t[keep] + offset) / (STEP_MIN * 60)).astype(np.int64)) % SLOTS
        is_open = opened[:, steps].T  # [samples, agents]
        rows = np.asarray(per_agent, dtype=float).reshape(len(t), len(ids))[keep]
        busy += (rows * is_open).sum(axis=0)
        seen += is_open.sum(axis=0)
    cap = np.asarray(caps, dtype=float)
    return {a: (min(1.0, float(busy[i] / (cap[i] * seen[i]))) if seen[i] else None) for i, a in enumerate(ids)}


@dataclass
class SimRun:
    at: datetime  # the failure instant
    transferred: int
    lost: int
    turned_away: int  # requests rejected or abandoned beyond the same run without the failure (at least 0)

    def as_dict(self) -> dict:
        return {"at": _iso(self.at), "transferred": self.transferred, "lost": self.lost,
                "preservation_pct": _r(_pct(self.transferred, self.lost)), "turned_away": self.turned_away}


@dataclass
class SimTarget:
    kind: str  # agent | region
    target: str
    agents: list[str]
    recovery_s: float  # the simulator moves sessions at detection
    objective_recovery_s: float
    objective_preservation_pct: float
    runs: list[SimRun] = field(default_factory=list)
    note: str = ""

    @property
    def transferred(self) -> int:
        return sum(r.transferred for r in self.runs)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.runs)

    @property
    def turned_away(self) -> int:
        return sum(r.turned_away for r in self.runs)

    @property
    def preservation(self) -> float | None:
        return _pct(self.transferred, self.lost)

    @property
    def worst(self) -> SimRun | None:
        scored = [r for r in self.runs if r.transferred + r.lost]
        return min(scored, key=lambda r: (_pct(r.transferred, r.lost), -r.lost)) if scored else None

    def as_dict(self) -> dict:
        pres = self.preservation
        worst = self.worst
        return {"kind": self.kind, "target": self.target, "agents": self.agents,
                "transferred": self.transferred, "lost": self.lost, "preservation_pct": _r(pres),
                "turned_away": self.turned_away, "recovery_s": _r(self.recovery_s),
                "objectives": {"recovery_s": self.objective_recovery_s,
                               "recovery_met": self.recovery_s <= self.objective_recovery_s if self.runs else None,
                               "preservation_pct": self.objective_preservation_pct,
                               "preservation_met": None if pres is None else pres >= self.objective_preservation_pct},
                "worst_at": None if worst is None else _iso(worst.at),
                "runs": [r.as_dict() for r in self.runs], "note": self.note}


@dataclass
class Simulation:
    strategy: str
    seed: int  # the first run's; run p of the week has seed + p, with and without its failures
    requests_per_run: int
    run_s: float
    baseline_runs: int
    targets: list[SimTarget] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "seed": self.seed, "requests_per_run": self.requests_per_run,
                "run_s": _r(self.run_s), "baseline_runs": self.baseline_runs,
                "agents": [t.as_dict() for t in self.targets if t.kind == "agent"],
                "regions": [t.as_dict() for t in self.targets if t.kind == "region"]}


def _pct(transferred: int, lost: int) -> float | None:
    total = transferred + lost
    return None if total == 0 else 100.0 * transferred / total


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
