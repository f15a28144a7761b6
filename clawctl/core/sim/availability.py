"""When each agent can take requests during a run, and what that means before the run starts (pure).

Read from a built :class:`~clawctl.core.sim.spec.RunSpec`: business-hours edges (``avail0``, ``tr_*``),
failures (``--fail``), weights and the request types' eligibility. The simulate service uses it to warn
about a run in which requests can only queue, and the report to mark closed and failed periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clawctl.core.limits import rough_duration


@dataclass
class AgentTimeline:
    """One agent over a run: its slots, when it is open (business hours) and when it is down (``--fail``)."""

    id: str
    slots: int
    weight: int
    open: list[tuple[float, float]] = field(default_factory=list)  # seconds from the start, within the horizon
    down: list[tuple[float, float]] = field(default_factory=list)  # failed (--fail), to its recovery or the end

    def closed(self, horizon: float) -> list[tuple[float, float]]:
        """The complement of :attr:`open` within [0, horizon]."""
        out, t = [], 0.0
        for lo, hi in self.open:
            if lo > t:
                out.append((t, min(lo, horizon)))
            t = max(t, hi)
        if t < horizon:
            out.append((t, horizon))
        return [(a, b) for a, b in out if b > a]

    def usable(self, horizon: float) -> list[tuple[float, float]]:
        """Open and not down, within [0, horizon]."""
        out = [(lo, min(hi, horizon)) for lo, hi in self.open if lo < horizon]
        for d_lo, d_hi in self.down:
            out = [piece for lo, hi in out for piece in ((lo, min(hi, d_lo)), (max(lo, d_hi), hi))
                   if piece[1] > piece[0]]
        return out


def timelines(spec, horizon: float) -> list[AgentTimeline]:
    """Every agent's timeline over [0, horizon]."""
    n = len(spec.agent_ids)
    opened: list[float | None] = [0.0 if spec.avail0[i] else None for i in range(n)]
    windows: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    for t, a, o in zip(np.asarray(spec.tr_t).tolist(), np.asarray(spec.tr_agent).tolist(),
                       np.asarray(spec.tr_open).tolist()):
        if t >= horizon:
            continue
        if o and opened[a] is None:
            opened[a] = float(t)
        elif not o and opened[a] is not None:
            if t > opened[a]:
                windows[a].append((opened[a], float(t)))
            opened[a] = None
    for i, lo in enumerate(opened):
        if lo is not None and lo < horizon:
            windows[i].append((lo, horizon))
    down: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    for f in spec.failures:
        until = getattr(f, "until", None)  # a recovery time, where the failure has one
        end = horizon if until is None else min(float(until), horizon)
        if f.at < end:
            for i in f.agents:
                down[i].append((float(f.at), end))
    return [AgentTimeline(spec.agent_ids[i], int(spec.cap[i]), int(spec.weight[i]), windows[i], sorted(down[i]))
            for i in range(n)]


def warnings(spec, horizon: float, *, drained_count: bool = False) -> list[str]:
    """One line for each reason requests of this run can only wait (or be rejected): no agent open and up at
    any time, or a request type with no eligible agent open and up at any time. ``drained_count``: agents
    with weight 0 take traffic (predictive_distribution activates them), so they count."""
    lines = timelines(spec, horizon)
    usable = [bool(t.usable(horizon)) and (t.weight > 0 or drained_count) for t in lines]
    span = f"the first {rough_duration(horizon)} from {spec.start:%a %Y-%m-%d %H:%M} UTC"
    drained = "" if drained_count or all(t.weight > 0 for t in lines) else " and not drained (weight 0)"
    why = "open" + (" and up" if spec.failures else "") + drained
    if not any(usable):
        return [f"no agent is {why} at any time in this run ({span}): every request queues until its "
                "patience runs out, or is rejected; simulate a longer run or check the agents' business_hours"]
    out = []
    elig = np.asarray(spec.elig, dtype=bool)
    for k, name in enumerate(spec.type_names):
        eligible = np.flatnonzero(elig[k])
        if spec.shares[k] <= 0 or any(usable[i] for i in eligible):
            continue
        if eligible.size == 0:
            which = "no agent is eligible for it"
        elif eligible.size == 1:
            which = f"its only eligible agent, `{spec.agent_ids[eligible[0]]}`, is not {why} at any time"
        else:
            which = f"none of its {eligible.size} eligible agents is {why} at any time"
        out.append(f"request type `{name}` ({spec.shares[k]:.0%} of traffic): {which} in this run ({span}): "
                   "its requests queue until their patience runs out, or are rejected")
    return out
