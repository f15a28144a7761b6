"""`clawctl simulate`: run the fleet's traffic through each strategy, summarise, store the run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import numpy as np

from clawctl.adapters.clock import utc_now
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso_now
from clawctl.core import limits
from clawctl.core.errors import UsageError
from clawctl.core.sim import availability, jit
from clawctl.core.sim.availability import AgentTimeline
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.engine import simulate as run_one
from clawctl.core.sim.spec import ALL_STRATEGIES, DEFAULT_START, STRATEGY_CODES, build, check_failure_times
from clawctl.core.sim.stats import Outcome
from clawctl.core.sim.strategies import PREDICTIVE
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
    force: bool = False  # run even when the cost estimate passes limits.SIM_MAX_ESTIMATE_S


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
    warnings: list[str] = field(default_factory=list)  # why requests can only queue (availability.warnings)
    timelines: list[AgentTimeline] = field(default_factory=list)  # each agent's slots, hours and failures
    sla_wait: float | None = None

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet, "seed": self.seed, "requests": self.requests,
                "duration": self.duration, "elapsed_s": round(self.elapsed_s, 3), "run_id": self.run_id,
                "warnings": list(self.warnings), "results": [r.as_dict() for r in self.results]}


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
    from clawctl.adapters.gc_headroom import gc_headroom

    # a fleet of thousands of agents is a large heap of models: at CPython's default threshold the cyclic
    # collector walks it hundreds of times (a quarter of the run at 10,000 agents; docs/benchmarks.md)
    with gc_headroom():
        return _simulate(path, options, db, store=store, progress=progress, clock=clock)


def _simulate(path: str, options: SimOptions, db: Path | None, *, store: bool,
              progress: Callable[[str, float], None] | None, clock: Clock) -> SimReport:
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
    horizon = _horizon(length, spec)
    check_failure_times(spec, horizon)  # every --fail time within the run
    expected = length.requests if length.requests is not None else spec.mean_rate() * horizon
    if not options.force:
        check_cost(expected, strategies, len(spec.agent_ids))
    spec = build(fleet, horizon=horizon * 1.05 + 86400, start=options.start, failures=list(options.failures))
    jit.prefer(interpret=expected * len(strategies) < jit.INTERPRET_MAX and len(spec.agent_ids) <= jit.INTERPRET_AGENTS)
    started = time.perf_counter()
    report = SimReport(fleet_name(fleet), options.seed, length.requests, length.duration, 0.0,
                       agent_ids=spec.agent_ids, timelines=availability.timelines(spec, horizon * 1.05 + 3600),
                       sla_wait=spec.sla_wait,
                       warnings=availability.warnings(spec, horizon,
                                                      drained_count=any(s in PREDICTIVE for s in strategies)))
    if fleet.traffic is None or fleet.traffic.arrivals is None:
        report.warnings.insert(0, f"the fleet has no traffic.arrivals: simulating Poisson arrivals at "
                                  f"{spec.rate * 60:,.1f}/min, 80% of every agent's slots over its mean service "
                                  "time, whatever their business hours; set traffic.arrivals.rate for real figures")
    for strategy in strategies:
        step = (lambda frac, s=strategy: progress(s, frac)) if progress else None
        report.results.append(run_one(spec, strategy, length, options.seed, warmup=options.warmup, progress=step))
    report.elapsed_s = time.perf_counter() - started
    report.warnings += _unfinished(report.results, explained=bool(report.warnings))
    if store:
        report.run_id = _record(report, db, clock)
    return report


def _unfinished(results: Sequence, *, explained: bool) -> list[str]:
    """A warning when most of a run's requests had not finished at its end: still waiting (the fleet is
    overloaded at this rate; unless ``explained``: an earlier warning says why requests can only queue),
    or still in conversation (the run is short against the service times)."""
    out = []
    waiting = max(results, key=lambda r: r.queued, default=None)
    if not explained and waiting is not None and waiting.arrived and waiting.queued * 2 > waiting.arrived:
        out.append(f"{waiting.queued:,} of {waiting.arrived:,} requests were still waiting when the run ended "
                   f"({waiting.strategy}): the fleet cannot keep up with this rate, and the queue grew all run long")
    busy = max(results, key=lambda r: r.in_flight - r.queued, default=None)
    if busy is not None and busy.arrived and (busy.in_flight - busy.queued) * 2 > busy.arrived:
        out.append(f"{busy.in_flight - busy.queued:,} of {busy.arrived:,} requests were still in conversation when the "
                   f"run ended ({busy.strategy}): it is short against the service times, and its figures describe "
                   "only the requests that finished; ask for more --requests or a longer --duration")
    return out


def _horizon(length: RunLength, spec) -> float:
    """The run's expected length, refused past limits.MAX_DURATION_S. A request count that a time-varying rate
    cannot reach within the bound is refused from one vectorised sum first: RunLength.horizon steps minute by
    minute and takes tens of seconds to find that out for 10^10 requests."""
    too_long = None
    if length.requests is not None and spec.profile != "constant":
        step = 600.0
        mids = np.arange(step / 2, limits.MAX_DURATION_S, step)
        if float(spec.rate_at(mids).sum()) * step < length.requests:
            too_long = length.requests / spec.mean_rate()
    horizon = too_long if too_long is not None else length.horizon(spec)
    if horizon > limits.MAX_DURATION_S:
        raise UsageError(f"{length.requests:,} requests at this fleet's rate take about {horizon / 86400:,.0f} simulated "
                         f"days; the bound is {limits.human_duration(limits.MAX_DURATION_S)}: ask for fewer --requests "
                         "or a --duration")
    return horizon


def check_cost(expected: float, strategies: Sequence[str], agents: int) -> None:
    """Refuse a run whose compute estimate (limits.sim_estimate_s) passes limits.SIM_MAX_ESTIMATE_S."""
    estimate = limits.sim_estimate_s(expected, list(strategies), agents)
    if estimate > limits.SIM_MAX_ESTIMATE_S:
        many = f"{len(strategies)} strategies" if len(strategies) != 1 else "1 strategy"
        raise UsageError(f"this run would take about {limits.rough_duration(estimate)} to compute ({expected:,.0f} "
                         f"requests x {many} over {agents:,} agent{'s' if agents != 1 else ''}), over the bound of "
                         f"{limits.rough_duration(limits.SIM_MAX_ESTIMATE_S)}: ask for fewer --requests or a shorter "
                         "--duration, or add --force to run it anyway")


def _record(report: SimReport, db: Path | None, clock: Clock) -> int:
    from clawctl.adapters.store import open_store

    now = iso_now(clock)
    summary = report.as_dict()
    for r in summary["results"]:
        r.pop("agents", None)  # per-agent rows go in events, one per strategy
    events = [(now, f"agents:{r.strategy}", r.as_dict()["agents"]) for r in report.results]
    with open_store(db) as store, store.write():
        return store.record_run("sim", store.fleet_id(report.fleet, now), now, now, "completed", summary, events)
