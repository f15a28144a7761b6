"""What one simulation run needs, in plain numbers: built from a fleet and the command's options (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from clawctl.core.errors import UsageError
from clawctl.core.fleet import Fleet
from clawctl.core.model.types import zone
from clawctl.core.sim import strategies

# Every name `clawctl simulate --strategy` accepts (the strategies and the algorithm names of
# `load_balancing_strategy`), and the code it runs with; --compare runs ALL_STRATEGIES.
STRATEGY_CODES = strategies.CODES
ALL_STRATEGIES = strategies.NAMES
PRIORITIES = {"high": 0, "normal": 1, "low": 2}
DEFAULT_START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday, 00:00 UTC


@dataclass
class Failure:
    at: float  # seconds from the start
    agents: list[int]
    label: str


@dataclass
class RunSpec:
    """A fleet, flattened to arrays the kernel reads."""

    agent_ids: list[str]
    cap: np.ndarray
    weight: np.ndarray
    kind: np.ndarray
    mean: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    perf: np.ndarray
    bk_ptr: np.ndarray
    bk_idx: np.ndarray
    type_names: list[str]
    shares: np.ndarray
    elig: np.ndarray  # [types, agents] bool
    cap_match: np.ndarray  # [types, agents]
    t_prio: np.ndarray
    tr_t: np.ndarray
    tr_agent: np.ndarray
    tr_open: np.ndarray
    avail0: np.ndarray
    rate: float  # base arrivals per second
    profile: str = "constant"
    peak_multiplier: float = 1.0
    peak_at: float = 12.0
    spike_at: float = 0.0
    spike_duration: float = 0.0
    spike_multiplier: float = 1.0
    customers: int = 0
    per_agent: bool = False
    qcap: float = -1.0
    patience: float = math.inf
    sla_wait: float = 30.0
    detect: float = 0.0
    scoring: tuple[float, float, float, float] = (0.4, 0.3, 0.2, 0.1)
    failures: list[Failure] = field(default_factory=list)
    start: datetime = DEFAULT_START

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """Arrival rate (per second) at times ``t`` seconds after the start."""
        base = np.full(t.shape, self.rate)
        if self.profile == "diurnal":
            hours = (t / 3600.0 + self.start.hour + self.start.minute / 60) % 24
            shape = (1 + np.cos(2 * np.pi * (hours - self.peak_at) / 24)) / 2
            base = base * (1 + (self.peak_multiplier - 1) * shape)
        elif self.profile == "spike":
            inside = (t >= self.spike_at) & (t < self.spike_at + self.spike_duration)
            base = np.where(inside, base * self.spike_multiplier, base)
        return base

    @property
    def max_rate(self) -> float:
        if self.profile == "diurnal":
            return self.rate * self.peak_multiplier
        if self.profile == "spike":
            return self.rate * max(1.0, self.spike_multiplier)
        return self.rate

    def mean_rate(self) -> float:
        if self.profile == "diurnal":
            return self.rate * (1 + self.peak_multiplier) / 2
        return self.rate


def _performance(agent) -> float:
    """The scored strategy's performance term from the agent's prior: 0.6 x max(0, 1 - (response time
    in ms - 1000) / 4000) + 0.4 x satisfaction; 0.5 with no prior (no history)."""
    p = agent.performance
    if p is None or (p.response_time is None and p.satisfaction is None):
        return 0.5
    rt_ms = (p.response_time if p.response_time is not None else 1.0) * 1000
    sat = p.satisfaction if p.satisfaction is not None else 0.5
    return 0.6 * max(0.0, 1 - (rt_ms - 1000) / 4000) + 0.4 * sat


def _add_edges(edges: list[tuple[float, int, int]], i: int, windows: list[tuple[float, float]],
               horizon: float) -> int:
    """Append agent i's open/close edges for ``windows``; return whether it is open at time 0."""
    for lo, hi in windows:
        if lo > 0:
            edges.append((lo, i, 1))
        if hi < horizon:
            edges.append((hi, i, 0))
    return 1 if windows and windows[0][0] <= 0 < windows[0][1] else 0


def _windows(agent, start: datetime, horizon: float) -> list[tuple[float, float]] | None:
    """Open intervals (seconds from start) of an agent with business hours, or None (always open)."""
    hours = agent.hours
    if hours is None:
        return None
    tz = zone(agent.hours_zone_name or "UTC")
    local_start = start.astimezone(tz)
    day = local_start.date() - timedelta(days=1)
    end_day = (start + timedelta(seconds=horizon)).astimezone(tz).date() + timedelta(days=1)
    out: list[tuple[float, float]] = []
    while day <= end_day:
        if day.weekday() in hours.days and hours.ever_open:
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            length = (hours.end - hours.start) % (24 * 60) or 24 * 60
            opens = (midnight + timedelta(minutes=hours.start)).astimezone(timezone.utc)
            closes = opens + timedelta(minutes=length)
            a, b = (opens - start).total_seconds(), (closes - start).total_seconds()
            if b > 0 and a < horizon:
                if out and a <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], b))
                else:
                    out.append((a, b))
        day += timedelta(days=1)
    return out


def build(fleet: Fleet, *, horizon: float, start: datetime = DEFAULT_START, failures: list[str] = ()) -> RunSpec:
    agents = list(fleet.agents.values())
    if not agents:
        raise UsageError("the fleet has no agents to simulate")
    ids = [a.id for a in agents]
    index = {a: i for i, a in enumerate(ids)}
    dists = [a.service_time.dist for a in agents]
    kinds = {"exponential": 0, "lognormal": 1, "deterministic": 2}
    bk_ptr, bk_idx = [0], []
    for a in agents:
        bk_idx += [index[b] for b in a.backups if b in index and b != a.id]
        bk_ptr.append(len(bk_idx))
    traffic = fleet.traffic
    mix = traffic.mix if traffic and traffic.mix else None
    if mix:
        names = [m.name for m in mix]
        shares = np.array([m.share for m in mix], dtype=float)
        elig = np.array([[(m.channel is None or m.channel in a.channels) and set(m.capabilities) <= set(a.capabilities)
                          for a in agents] for m in mix], dtype=np.bool_)
        cap_match = np.array([[1.0 if not m.capabilities else len(set(m.capabilities) & set(a.capabilities))
                               / len(m.capabilities) for a in agents] for m in mix])
        prio = np.array([PRIORITIES[m.priority] for m in mix], dtype=np.int64)
    else:
        names, shares = ["all"], np.array([1.0])
        elig = np.ones((1, len(agents)), dtype=np.bool_)
        cap_match = np.ones((1, len(agents)))
        prio = np.array([1], dtype=np.int64)
    edges: list[tuple[float, int, int]] = []
    avail0 = np.ones(len(agents), dtype=np.int64)
    for i, a in enumerate(agents):
        wins = _windows(a, start, horizon)
        if wins is None:
            continue
        avail0[i] = _add_edges(edges, i, wins, horizon)
    edges.sort()
    lb = fleet.load_balancing
    health = lb.health
    arrivals = traffic.arrivals if traffic and traffic.arrivals else None
    queue = traffic.queue if traffic else None
    spec = RunSpec(
        agent_ids=ids,
        cap=np.array([a.max_concurrent_conversations for a in agents], dtype=np.int64),
        weight=np.array([a.weight for a in agents], dtype=np.int64),
        kind=np.array([kinds[d.kind] for d in dists], dtype=np.int64),
        mean=np.array([d.mean for d in dists]), mu=np.array([d.mu for d in dists]),
        sigma=np.array([d.sigma for d in dists]), perf=np.array([_performance(a) for a in agents]),
        bk_ptr=np.array(bk_ptr, dtype=np.int64), bk_idx=np.array(bk_idx, dtype=np.int64),
        type_names=names, shares=shares / shares.sum(), elig=elig, cap_match=cap_match, t_prio=prio,
        tr_t=np.array([e[0] for e in edges], dtype=float), tr_agent=np.array([e[1] for e in edges], dtype=np.int64),
        tr_open=np.array([e[2] for e in edges], dtype=np.int64), avail0=avail0,
        rate=arrivals.rate if arrivals else _default_rate(agents),
        customers=traffic.customers or 0 if traffic else 0,
        per_agent=bool(queue and queue.discipline == "per_agent"),
        qcap=float(queue.capacity) if queue and queue.capacity is not None else -1.0,
        patience=float(queue.patience) if queue and queue.patience else math.inf,
        sla_wait=traffic.sla.wait if traffic else 30.0,
        detect=health.failure_threshold * health.probe_interval + health.timeout,
        scoring=(lb.scoring.capability, lb.scoring.performance, lb.scoring.load, lb.scoring.customer_history),
        start=start,
    )
    if arrivals is not None:
        spec.profile = arrivals.profile
        spec.peak_multiplier = arrivals.peak_multiplier or 1.0
        spec.peak_at = arrivals.peak_at if arrivals.peak_at is not None else 12.0
        spec.spike_at = arrivals.at or 0.0
        spec.spike_duration = arrivals.duration or 0.0
        spec.spike_multiplier = arrivals.multiplier or 1.0
    spec.failures = [_failure(text, fleet, index) for text in failures]
    spec.failures.sort(key=lambda f: f.at)
    return spec


def _default_rate(agents) -> float:
    """Without `traffic.arrivals`: 80% of the fleet's capacity (capacity / mean service time)."""
    return 0.8 * sum(a.max_concurrent_conversations / a.service_time.mean for a in agents)


def _failure(text: str, fleet: Fleet, index: dict[str, int]) -> Failure:
    from clawctl.core.units import parse_duration

    target, sep, when = text.rpartition("@")
    if not sep or not target:
        raise UsageError(f"--fail {text}: write AGENT@TIME or REGION@TIME, e.g. eu_sales@10m")
    try:
        at = parse_duration(when)
    except ValueError as exc:
        raise UsageError(f"--fail {text}: {exc}") from None
    if target in index:
        return Failure(at, [index[target]], target)
    region = [index[a.id] for a in fleet.agents.values() if a.region == target]
    if region:
        return Failure(at, region, f"region {target}")
    from clawctl.core.suggest import did_you_mean

    regions = sorted({a.region for a in fleet.agents.values() if a.region})
    raise UsageError(f"--fail {text}: no agent or region `{target}`{did_you_mean(target, list(index) + regions)}")


FORECAST_LEAD = 1800.0  # predictive_distribution: drained agents come on this long before a forecast peak


def _timeline(spec: RunSpec, i: int, horizon: float) -> list[tuple[float, float]]:
    """Agent i's open intervals over [0, horizon], from its initial state and its edges."""
    out: list[tuple[float, float]] = []
    opened = 0.0 if spec.avail0[i] else None
    for t, a, o in zip(spec.tr_t, spec.tr_agent, spec.tr_open):
        if a != i:
            continue
        if o and opened is None:
            opened = float(t)
        elif not o and opened is not None:
            out.append((opened, float(t)))
            opened = None
    if opened is not None:
        out.append((opened, horizon))
    return out


def _peak_windows(spec: RunSpec, horizon: float) -> list[tuple[float, float]]:
    """When the forecast rate (FORECAST_LEAD ahead) or the current rate is above the mean rate."""
    if spec.profile == "constant":
        return []
    step = 60.0
    grid = np.arange(0.0, horizon + step, step)
    mean = spec.mean_rate() if spec.profile == "diurnal" else spec.rate
    hot = (spec.rate_at(grid + FORECAST_LEAD) > mean * (1 + 1e-9)) | (spec.rate_at(grid) > mean * (1 + 1e-9))
    out: list[tuple[float, float]] = []
    start = None
    for t, h in zip(grid, hot):
        if h and start is None:
            start = float(t)
        elif not h and start is not None:
            out.append((start, float(t)))
            start = None
    if start is not None:
        out.append((start, float(grid[-1])))
    return out


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def predictive(spec: RunSpec, horizon: float) -> RunSpec:
    """`predictive_distribution`: drained (`weight: 0`) agents take traffic, with weight 1, from
    FORECAST_LEAD before each forecast peak of `traffic.arrivals` (diurnal or spike) until it ends,
    within their own hours. Routing is least_conn."""
    drained = [i for i in range(len(spec.agent_ids)) if spec.weight[i] == 0]
    peaks = _peak_windows(spec, horizon)
    if not drained or not peaks:
        return spec
    keep = ~np.isin(spec.tr_agent, drained)
    edges = list(zip(spec.tr_t[keep].tolist(), spec.tr_agent[keep].tolist(), spec.tr_open[keep].tolist()))
    avail0 = spec.avail0.copy()
    weight = spec.weight.copy()
    for i in drained:
        windows = _intersect(_timeline(spec, i, horizon), peaks)
        weight[i] = 1
        avail0[i] = _add_edges(edges, i, windows, horizon)
    edges.sort()
    return replace(spec, weight=weight, avail0=avail0, tr_t=np.array([e[0] for e in edges], dtype=float),
                   tr_agent=np.array([e[1] for e in edges], dtype=np.int64),
                   tr_open=np.array([e[2] for e in edges], dtype=np.int64))
