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
    until: float | None = None  # when the agents come back (--fail AGENT@T1-T2), seconds from the start
    text: str = ""  # as given to --fail


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
    patience: float = math.inf  # fixed patience, or the mean of a drawn one (inf: requests wait for ever)
    patience_dist: str = "fixed"  # fixed | exponential | lognormal (drawn per request by the engine)
    patience_mu: float = 0.0  # lognormal: the underlying normal's mean and sigma
    patience_sigma: float = 0.0
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


def _hours_key(agent) -> tuple | None:
    """What an agent's open windows depend on (its availability, zone and business hours: every field of
    the model), or None without business hours."""
    bh = agent.business_hours
    if bh is None:
        return None
    return agent.availability, agent.timezone, tuple(tuple(v) if isinstance(v, list) else v
                                                     for v in bh.__dict__.values())


def _dists(agents) -> list:
    """Each agent's service-time distribution (agents with the same service_time share one)."""
    made: dict[tuple, object] = {}
    out = []
    for a in agents:
        st = a.service_time
        key = (st.distribution, st.mean, st.p95, st.sigma)
        out.append(made[key] if key in made else made.setdefault(key, st.dist))
    return out


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
    dists = _dists(agents)
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
        # per agent profile (capabilities, channels), then spread to its agents: fleets share profiles
        profiles: dict[tuple[frozenset, frozenset], int] = {}
        of = np.array([profiles.setdefault((frozenset(a.capabilities), frozenset(a.channels)), len(profiles))
                       for a in agents], dtype=np.int64)
        elig = np.array([[(m.channel is None or m.channel in chans) and set(m.capabilities) <= caps
                          for caps, chans in profiles] for m in mix], dtype=np.bool_)[:, of]
        cap_match = np.array([[1.0 if not m.capabilities else len(set(m.capabilities) & caps) / len(m.capabilities)
                               for caps, _ in profiles] for m in mix])[:, of]
        prio = np.array([PRIORITIES[m.priority] for m in mix], dtype=np.int64)
    else:
        names, shares = ["all"], np.array([1.0])
        elig = np.ones((1, len(agents)), dtype=np.bool_)
        cap_match = np.ones((1, len(agents)))
        prio = np.array([1], dtype=np.int64)
    edges: list[tuple[float, int, int]] = []
    avail0 = np.ones(len(agents), dtype=np.int64)
    seen: dict[tuple, list[tuple[float, float]] | None] = {}  # agents with the same hours share their windows
    for i, a in enumerate(agents):
        key = _hours_key(a)
        if key is None:
            wins = _windows(a, start, horizon)
        else:
            wins = seen[key] if key in seen else seen.setdefault(key, _windows(a, start, horizon))
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
        **_patience(queue.patience if queue else None),
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
    _one_failure_at_a_time(spec.failures, ids)
    return spec


def _patience(value) -> dict:
    """RunSpec's patience fields from `traffic.queue.patience`: seconds (fixed), a Patience (drawn), or none."""
    if value is None or (isinstance(value, (int, float)) and not value):
        return {"patience": math.inf}
    if isinstance(value, (int, float)):
        return {"patience": float(value)}
    dist = value.dist
    if dist.kind == "deterministic":
        return {"patience": float(dist.mean)}
    return {"patience": float(dist.mean), "patience_dist": dist.kind, "patience_mu": float(dist.mu),
            "patience_sigma": float(dist.sigma)}


def _default_rate(agents) -> float:
    """Without `traffic.arrivals`: 80% of the fleet's capacity (capacity / mean service time)."""
    return 0.8 * sum(a.max_concurrent_conversations / a.service_time.mean for a in agents)


def _failure(text: str, fleet: Fleet, index: dict[str, int]) -> Failure:
    """``AGENT@TIME``, ``REGION@TIME``, or with a recovery ``AGENT@FROM-TO`` (times from the start)."""
    from clawctl.core.units import parse_duration

    target, sep, when = text.rpartition("@")
    if not sep or not target:
        raise UsageError(f"--fail {text}: write AGENT@TIME or REGION@TIME, or AGENT@FROM-TO (back at TO), e.g. "
                         "eu_sales@10m or eu_sales@10m-40m")
    start, dash, end = when.partition("-")
    try:
        at = parse_duration(start)
        until = parse_duration(end) if dash else None
    except ValueError as exc:
        raise UsageError(f"--fail {text}: {exc}") from None
    if until is not None and until <= at:
        raise UsageError(f"--fail {text}: the recovery time ({end}) must be after the failure ({start})")
    if target in index:
        return Failure(at, [index[target]], target, until, text)
    region = [index[a.id] for a in fleet.agents.values() if a.region == target]
    if region:
        return Failure(at, region, f"region {target}", until, text)
    from clawctl.core.suggest import did_you_mean

    regions = sorted({a.region for a in fleet.agents.values() if a.region})
    raise UsageError(f"--fail {text}: no agent or region `{target}`{did_you_mean(target, list(index) + regions)}")


def _one_failure_at_a_time(failures: list[Failure], ids: list[str]) -> None:
    """An agent named by two --fail (itself or its region) must be back from the first before the second."""
    down: dict[int, Failure] = {}
    for f in failures:  # sorted by time
        for a in f.agents:
            before = down.get(a)
            if before is not None and (before.until is None or f.at < before.until):
                same = f"twice (--fail {f.text})" if before.text == f.text else \
                    f"in --fail {before.text} and --fail {f.text}"
                raise UsageError(f"--fail: agent `{ids[a]}` is named {same}, and would fail again while it is "
                                 "down; give each agent one failure at a time (FROM-TO ends one)")
            down[a] = f


def check_failure_times(spec: RunSpec, horizon: float) -> None:
    """Every --fail time falls within the run (``horizon``: its expected end, seconds from the start)."""
    from clawctl.core.units import format_duration

    end = format_duration(round(horizon, 3))
    for f in spec.failures:
        late = f.at if f.at >= horizon else (f.until if f.until is not None and f.until > horizon else None)
        if late is not None:
            who = f.label if f.label.startswith("region ") else f"agent `{f.label}`"
            what = "fails" if late == f.at else "comes back"
            raise UsageError(f"--fail {f.text or f.label}: the run ends at about {end}, before {who} {what} (at "
                             f"{format_duration(late)}); give an earlier time, or a longer --duration or more --requests")


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
