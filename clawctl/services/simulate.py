"""`clawctl simulate`: run the fleet's traffic through each strategy, summarise, store the run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.clock import utc_now
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso_now
from clawctl.core import limits
from clawctl.core.errors import UsageError
from clawctl.core.sim import jit
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.engine import simulate as run_one
from clawctl.core.sim.spec import ALL_STRATEGIES, DEFAULT_START, STRATEGY_CODES, build
from clawctl.core.sim.stats import Outcome
from clawctl.services.validate import load_fleet


@dataclass
class SimOptions:
    requests: int | None = None
    duration: float | None = None
    strategies: Sequence[str] = ()
    compare: bool = False
    seed: int = 1
    failures: Sequence[str] = ()
    warmup: float = 0.1
    start: datetime = DEFAULT_START


@dataclass
class SimReport:
    view: ClassVar[str] = "sim"

    fleet: str
    seed: int
    requests: int | None
    duration: float | None
    elapsed_s: float
    results: list[Outcome] = field(default_factory=list)
    run_id: int | None = None
    agent_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet, "seed": self.seed, "requests": self.requests,
                "duration": self.duration, "elapsed_s": round(self.elapsed_s, 3), "run_id": self.run_id,
                "results": [r.as_dict() for r in self.results]}


def _strategies(fleet, options: SimOptions) -> list[str]:
    if options.compare:
        return list(ALL_STRATEGIES)
    if options.strategies:
        for s in options.strategies:
            if s not in STRATEGY_CODES:
                from clawctl.core.suggest import did_you_mean

                raise UsageError(f"--strategy {s}: unknown{did_you_mean(s, STRATEGY_CODES)}; "
                                 f"one of {', '.join(ALL_STRATEGIES)}")
        return list(dict.fromkeys(options.strategies))
    return [fleet.load_balancing.strategy]


def run_length(fleet, options: SimOptions) -> RunLength:
    if options.requests is not None and options.duration is not None:
        raise UsageError("give --requests or --duration, not both")
    if options.requests is not None:
        if not 1 <= options.requests <= limits.MAX_REQUESTS:
            raise UsageError(f"--requests must be between 1 and {limits.MAX_REQUESTS:,}")
        return RunLength(requests=options.requests)
    if options.duration is not None:
        if not 0 < options.duration <= limits.MAX_DURATION_S:
            raise UsageError(f"--duration must be above 0 and at most {limits.human_duration(limits.MAX_DURATION_S)}")
        return RunLength(duration=options.duration)
    traffic = fleet.traffic
    if traffic is not None and traffic.requests:
        return RunLength(requests=traffic.requests)
    if traffic is not None and traffic.duration:
        return RunLength(duration=traffic.duration)
    return RunLength(requests=100_000)


def simulate(path: str, options: SimOptions, db: Path | None = None, *, store: bool = True,
             progress: Callable[[str, float], None] | None = None, clock: Clock = utc_now) -> SimReport:

    if not 0 <= options.warmup < 1:  # (NaN fails this too)
        raise UsageError("--warmup must be a share in [0, 1)")
    if not 0 <= options.seed <= limits.MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {limits.MAX_SEED}")
    fleet = load_fleet(path)
    strategies = _strategies(fleet, options)
    length = run_length(fleet, options)
    spec = build(fleet, horizon=1.0, start=options.start, failures=list(options.failures))
    if length.requests is not None and spec.mean_rate() <= 0:
        raise UsageError("traffic.arrivals.rate is 0: no request ever arrives; simulate a --duration instead")
    horizon = length.horizon(spec)
    if horizon > limits.MAX_DURATION_S:
        raise UsageError(f"{length.requests:,} requests at this fleet's rate take {horizon / 86400:,.0f} simulated days; "
                         f"the bound is {limits.human_duration(limits.MAX_DURATION_S)}: ask for fewer --requests or "
                         "a --duration")
    spec = build(fleet, horizon=horizon * 1.05 + 86400, start=options.start, failures=list(options.failures))
    expected = length.requests if length.requests is not None else spec.mean_rate() * horizon
    jit.prefer(interpret=expected * len(strategies) < jit.INTERPRET_MAX and len(spec.agent_ids) <= jit.INTERPRET_AGENTS)
    started = time.perf_counter()
    report = SimReport(fleet_name(fleet), options.seed, length.requests, length.duration, 0.0,
                       agent_ids=spec.agent_ids)
    for strategy in strategies:
        step = (lambda frac, s=strategy: progress(s, frac)) if progress else None
        report.results.append(run_one(spec, strategy, length, options.seed, warmup=options.warmup, progress=step))
    report.elapsed_s = time.perf_counter() - started
    if store:
        report.run_id = _record(report, db, clock)
    return report


def _record(report: SimReport, db: Path | None, clock: Clock) -> int:
    from clawctl.adapters.store import open_store

    now = iso_now(clock)
    summary = report.as_dict()
    for r in summary["results"]:
        r.pop("agents", None)  # per-agent rows go in events, one per strategy
    events = [(now, f"agents:{r.strategy}", r.as_dict()["agents"]) for r in report.results]
    with open_store(db) as store, store.write():
        return store.record_run("sim", store.fleet_id(report.fleet, now), now, now, "completed", summary, events)
