"""`clawctl simulate FLEET --sweep KEY=V1,V2,...`: a grid of runs, one row per point, with confidence
intervals from replications, on all cores or a Dask cluster.

Keys: ``rate`` (300/min, 5/s), ``strategy``, ``patience`` (a fixed wait: 30s), ``slots@GROUP`` (every
agent of GROUP at that many slots) and ``agents@GROUP`` (GROUP at that many agents); GROUP is an agent
id, a region or a domain. Every point runs on the same seeds (common random numbers), so the
differences between rows are the changes, not noise.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.clock import utc_now
from clawctl.core import limits
from clawctl.core.agent_records import fleet_name
from clawctl.core.capacity.groups import Group, with_agents, with_slots
from clawctl.core.capacity.search import mean_ci
from clawctl.core.env import Clock, iso_now
from clawctl.core.errors import UsageError
from clawctl.core.sim.spec import STRATEGY_CODES, build
from clawctl.core.sim.task import SimTask, replication_seeds, run_task

KEYS = ("rate", "strategy", "patience", "slots@GROUP", "agents@GROUP")
MAX_POINTS = 10_000


@dataclass
class SweepOptions:
    sweeps: list[str]
    replications: int = 1
    seed: int = 1
    requests: int | None = None
    duration: float | None = None
    warmup: float = 0.1
    workers: int | None = None
    scheduler: str | None = None
    force: bool = False


@dataclass
class PointRow:
    values: dict[str, str]
    strategy: str
    figures: dict[str, tuple[float | None, float]]  # name -> (mean over replications, 95% half-width)

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 6)  # noqa: E731
        return {"point": self.values, "strategy": self.strategy,
                **{k: r(m) for k, (m, _) in self.figures.items()},
                "ci95": {k: r(h) for k, (_, h) in self.figures.items()}}


@dataclass
class SweepReport:
    view: ClassVar[str] = "sweep"

    fleet: str
    keys: list[str]
    replications: int
    seed: int
    requests: int | None
    duration: float | None
    runner: str
    rows: list[PointRow] = field(default_factory=list)
    simulations: int = 0
    elapsed_s: float = 0.0
    run_id: int | None = None

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet, "keys": self.keys, "replications": self.replications,
                "seed": self.seed, "requests": self.requests, "duration": self.duration, "runner": self.runner,
                "simulations": self.simulations, "elapsed_s": round(self.elapsed_s, 3), "run_id": self.run_id,
                "points": [r.as_dict() for r in self.rows]}


def _typed(adapter: str, text: str, key: str) -> float:
    from pydantic import TypeAdapter, ValidationError

    from clawctl.core.model import types

    try:
        return float(TypeAdapter(getattr(types, adapter)).validate_python(text))
    except ValidationError:
        example = {"Rate": "300/min, 5/s", "Duration": "30s, 2m"}[adapter]
        raise UsageError(f"--sweep {key}: `{text}` is not a {adapter.lower()} ({example})") from None


def _group(fleet, name: str, key: str) -> Group:
    if name in fleet.agents:
        return Group(name, (name,))
    for attr in ("region", "domain"):
        ids = tuple(a.id for a in fleet.agents.values() if getattr(a, attr) == name)
        if ids:
            return Group(name, ids)
    from clawctl.core.suggest import did_you_mean

    known = sorted({*fleet.agents, *(a.region for a in fleet.agents.values() if a.region),
                    *(a.domain for a in fleet.agents.values() if a.domain)})
    raise UsageError(f"--sweep {key}: no agent, region or domain `{name}`{did_you_mean(name, known)}")


def parse(fleet, sweeps: list[str]) -> list[tuple[str, list[str], list]]:
    """``["rate=5/s,10/s", ...]`` -> [(key, texts, values)], checked against the fleet."""
    out = []
    seen = set()
    for item in sweeps:
        key, sep, rest = item.partition("=")
        key = key.strip()
        texts = [v.strip() for v in rest.split(",") if v.strip()]
        if not sep or not texts:
            raise UsageError(f"--sweep {item!r}: write KEY=V1,V2,... (keys: {', '.join(KEYS)})")
        if key in seen:
            raise UsageError(f"--sweep {key}: given twice; put all its values in one --sweep")
        seen.add(key)
        head, _, group = key.partition("@")
        if head == "rate":
            values: list = [_typed("Rate", t, key) if not t.replace(".", "", 1).isdigit() else float(t) for t in texts]
            if any(not 0 < v <= limits.MAX_RATE_PER_S for v in values):
                raise UsageError(f"--sweep {key}: rates above 0 and at most {limits.MAX_RATE_PER_S:,.0f}/s")
        elif head == "strategy":
            bad = [t for t in texts if t not in STRATEGY_CODES]
            if bad:
                from clawctl.core.suggest import did_you_mean

                raise UsageError(f"--sweep strategy: unknown `{bad[0]}`{did_you_mean(bad[0], STRATEGY_CODES)}")
            values = texts
        elif head == "patience":
            values = [_typed("Duration", t, key) for t in texts]
            if any(v <= 0 for v in values):
                raise UsageError("--sweep patience: above 0")
        elif head in ("slots", "agents") and group:
            found = _group(fleet, group, key)
            try:
                values = [(found, int(t)) for t in texts]
            except ValueError:
                raise UsageError(f"--sweep {key}: whole numbers ({', '.join(texts)})") from None
            top = limits.MAX_SLOTS_PER_AGENT if head == "slots" else 10_000
            if any(not 1 <= n <= top for _, n in values):
                raise UsageError(f"--sweep {key}: between 1 and {top:,}")
        else:
            raise UsageError(f"--sweep {key}: unknown key; one of {', '.join(KEYS)}")
        out.append((key, texts, values))
    return out


def _apply(fleet, key: str, value):
    head = key.partition("@")[0]
    if head == "rate":
        from clawctl.core.model.fleet_file import Arrivals, Traffic

        traffic = fleet.traffic or Traffic()
        arrivals = traffic.arrivals.model_copy(update={"rate": value}) if traffic.arrivals else Arrivals(rate=value)
        return replace(fleet, traffic=traffic.model_copy(update={"arrivals": arrivals}))
    if head == "patience":
        from clawctl.core.model.fleet_file import Traffic

        traffic = fleet.traffic or Traffic()
        return replace(fleet, traffic=traffic.model_copy(
            update={"queue": traffic.queue.model_copy(update={"patience": value})}))
    group, n = value
    if head == "slots":
        return with_slots(fleet, group, n * len(group.agent_ids))
    return with_agents(fleet, group, n)


def sweep(path: str, options: SweepOptions, db: Path | None = None, *, store: bool = True,
          progress: Callable[[str, float], None] | None = None, clock: Clock = utc_now) -> SweepReport:
    from clawctl.adapters.sim_pool import runner
    from clawctl.services.simulate import SimOptions, run_length
    from clawctl.services.validate import load_fleet

    if not 1 <= options.replications <= 1000:
        raise UsageError("--replications must be between 1 and 1000")
    if not 0 <= options.seed <= limits.MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {limits.MAX_SEED}")
    fleet = load_fleet(path)
    axes = parse(fleet, options.sweeps)
    points = list(itertools.product(*[list(zip(texts, values)) for _, texts, values in axes]))
    if len(points) > MAX_POINTS:
        raise UsageError(f"--sweep: {len(points):,} points; at most {MAX_POINTS:,}")
    length = run_length(fleet, SimOptions(requests=options.requests, duration=options.duration))
    seeds = replication_seeds(options.seed, options.replications)
    tasks, labels = [], []
    cost = 0.0
    for point in points:
        variant, strategy, values = fleet, fleet.load_balancing.strategy, {}
        for (key, _, _), (text, value) in zip(axes, point):
            values[key] = text
            if key == "strategy":
                strategy = value
            else:
                variant = _apply(variant, key, value)
        probe = build(variant, horizon=1.0)
        if length.requests is not None and probe.mean_rate() <= 0:
            raise UsageError("the traffic's rate is 0: simulate a --duration instead")
        horizon = length.horizon(probe)
        if horizon > limits.MAX_DURATION_S:
            raise UsageError(f"point {values}: the run is longer than a year; ask for fewer --requests")
        spec = build(variant, horizon=horizon * 1.05 + 86400)
        expected = length.requests if length.requests is not None else probe.mean_rate() * horizon
        cost += limits.sim_estimate_s(expected, [strategy], len(spec.agent_ids)) * len(seeds)
        labels.append((values, strategy))
        tasks += [SimTask(spec, strategy, s, length.requests, length.duration, options.warmup) for s in seeds]
    _check_cost(cost, len(tasks), options)
    report = SweepReport(fleet_name(fleet), [k for k, _, _ in axes], options.replications, options.seed,
                         length.requests, length.duration, "")
    started = time.perf_counter()
    with runner(options.workers, options.scheduler) as pool:
        report.runner = pool.where
        outcomes = pool.map(run_task, tasks)
    report.elapsed_s = time.perf_counter() - started
    report.simulations = len(tasks)
    r = len(seeds)
    for i, (values, strategy) in enumerate(labels):
        runs = outcomes[i * r:(i + 1) * r]
        report.rows.append(PointRow(values, strategy, _figures(runs)))
    if progress is not None:
        progress("sweep", 1.0)
    if store:
        report.run_id = _record(report, db, clock)
    return report


def _check_cost(cost: float, runs: int, options: SweepOptions) -> None:
    """Refuse a sweep whose compute estimate, spread over the workers, passes the simulator's bound."""
    from clawctl.adapters.sim_pool import cores

    if options.force:
        return
    workers = 1 if options.scheduler else max(1, options.workers or cores())
    wall = cost / min(workers, runs)
    if wall > limits.SIM_MAX_ESTIMATE_S:
        raise UsageError(f"this sweep would take about {limits.rough_duration(wall)} to compute ({runs:,} runs"
                         f"{f' on {workers} processes' if workers > 1 else ''}), over the bound of "
                         f"{limits.rough_duration(limits.SIM_MAX_ESTIMATE_S)}: fewer points, --replications or "
                         "--requests, or add --force to run it anyway")


def _figures(runs) -> dict[str, tuple[float | None, float]]:
    def stat(get) -> tuple[float | None, float]:
        vals = [v for v in (get(o) for o in runs) if v is not None and not (isinstance(v, float) and math.isnan(v))]
        return mean_ci(vals) if vals else (None, 0.0)

    return {
        "served": stat(lambda o: float(o.served)),
        "sla_attainment": stat(lambda o: o.sla_attainment),
        "p_wait": stat(lambda o: o.p_wait),
        "wait_mean": stat(lambda o: o.wait.mean),
        "wait_p95": stat(lambda o: o.wait.p95),
        "abandoned_share": stat(lambda o: o.abandoned / o.arrived if o.arrived else None),
        "utilization": stat(lambda o: o.utilization),
    }


def _record(report: SweepReport, db: Path | None, clock: Clock) -> int:
    from clawctl.adapters.store import open_store

    now = iso_now(clock)
    with open_store(db) as store, store.write():
        return store.record_run("sweep", store.fleet_id(report.fleet, now), now, now, "completed", report.as_dict())
