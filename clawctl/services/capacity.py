"""`clawctl capacity`: how many slots or agents each group needs to meet the SLA, answered by simulation.

1. The traffic: the fleet's own (its profile and run length), or with `--at-peak` its peak rate held
   for the run, starting at the peak's hour of the reference week (business hours apply as then);
   `--rate` or `--growth` changes it.
2. A first run of today's fleet says how the traffic spreads over the groups; Erlang C gives each
   group a first answer from its share (core/capacity/erlang.py).
3. The search (core/capacity/search.py) judges candidates by `--replications` runs each, on the same
   seeds for every candidate, side by side on all cores or on a Dask cluster (adapters/sim_pool.py).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.clock import utc_now
from clawctl.core import limits
from clawctl.core.agent_records import fleet_name
from clawctl.core.capacity import erlang
from clawctl.core.capacity.groups import (
    GROUP_BY,
    VARY,
    Group,
    groups,
    units_today,
    variant,
)
from clawctl.core.capacity.search import Evaluation, judge, search
from clawctl.core.env import Clock, iso_now
from clawctl.core.errors import UsageError
from clawctl.core.sim.spec import DEFAULT_START, STRATEGY_CODES, RunSpec, build
from clawctl.core.sim.task import SimTask, replication_seeds, run_task

DEFAULT_TARGET = 0.95
GROWTH_CEILING = 64  # no group is searched past this many times its units today
# "95% < 20s", or as a percentile of the wait: "p95 < 20s" (spaces anywhere between the parts)
_SLA = re.compile(r"^\s*(?:(?P<pct>\d+(?:\.\d+)?)\s*%|[pP](?P<pq>\d+(?:\.\d+)?))\s*<=?\s*(?P<wait>\S.*?)\s*$")


@dataclass
class CapacityOptions:
    sla: str | None = None
    at_peak: bool = False
    group_by: str = "region"
    vary: str = "slots"
    rate: str | None = None
    growth: str | None = None
    requests: int | None = None
    duration: float | None = None
    replications: int = 5
    seed: int = 1
    workers: int | None = None
    scheduler: str | None = None
    write: str | None = None
    reduce: bool = False  # let groups go below today (else the search only adds)
    force: bool = False  # run even when the estimate passes the simulator's bound


@dataclass
class GroupRow:
    name: str
    agents: list[str]
    today: int
    estimate: int  # Erlang C
    needed: int | None
    sla_today: float | None
    sla_after: float | None
    ci_after: float
    utilization_today: float
    utilization_after: float | None
    added: list[str] = field(default_factory=list)  # agents added (vary agents)

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 6)
        return {"group": self.name, "agents": self.agents, "today": self.today, "erlang_c": self.estimate,
                "needed": self.needed, "change": None if self.needed is None else self.needed - self.today,
                "sla_today": r(self.sla_today), "sla_after": r(self.sla_after), "sla_after_ci95": r(self.ci_after),
                "utilization_today": r(self.utilization_today), "utilization_after": r(self.utilization_after),
                "added_agents": self.added}


@dataclass
class CapacityReport:
    view: ClassVar[str] = "capacity"

    fleet: str
    target: float
    wait: float
    sla_source: str
    group_by: str
    vary: str
    strategy: str
    rate: float
    at_peak: bool
    replications: int
    seed: int
    requests: int | None
    duration: float | None
    runner: str
    met: bool
    met_in: int  # replications of the answer in which every group met the target
    fleet_sla_today: float | None
    fleet_sla_after: float | None
    fleet_ci_after: float
    rows: list[GroupRow] = field(default_factory=list)
    candidates: int = 0
    simulations: int = 0
    elapsed_s: float = 0.0
    written: str | None = None
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 6)
        return {"schema_version": 1, "fleet": self.fleet, "sla": {"target": self.target, "wait_s": self.wait,
                "source": self.sla_source}, "group_by": self.group_by, "vary": self.vary,
                "strategy": self.strategy, "rate_per_s": round(self.rate, 6), "at_peak": self.at_peak,
                "replications": self.replications, "seed": self.seed, "requests": self.requests,
                "duration": self.duration, "runner": self.runner, "met": self.met, "met_in": self.met_in,
                "fleet_sla_today": r(self.fleet_sla_today), "fleet_sla_after": r(self.fleet_sla_after),
                "fleet_sla_after_ci95": r(self.fleet_ci_after), "groups": [g.as_dict() for g in self.rows],
                "candidates": self.candidates, "simulations": self.simulations,
                "elapsed_s": round(self.elapsed_s, 3), "written": self.written, "run_id": self.run_id,
                "notes": self.notes}


def parse_sla(text: str) -> tuple[float, float]:
    """``"95% < 20s"`` (or ``"p95 < 20s"``) -> (0.95, 20.0)."""
    from pydantic import TypeAdapter, ValidationError

    from clawctl.core.model.types import Duration

    m = _SLA.match(text)
    if not m:
        raise UsageError(f"--sla {text!r}: write it as a share and a wait, e.g. \"95% < 20s\" or \"p95 < 20s\"")
    pct = float(m["pct"] or m["pq"])
    given = m["wait"]
    wait_text = re.sub(r"\s+", "", given)  # "20 s" as "20s"
    if not 0 < pct < 100:
        raise UsageError(f"--sla {text!r}: the share must be above 0% and below 100%")
    try:
        wait = float(TypeAdapter(Duration).validate_python(wait_text))
    except ValidationError:
        raise UsageError(f"--sla {text!r}: `{given}` is not a duration (20s, 2m, 1h30m)") from None
    if not 0 <= wait <= limits.MAX_DURATION_S:
        raise UsageError(f"--sla {text!r}: the wait must be between 0 and {limits.human_duration(limits.MAX_DURATION_S)}")
    return round(pct / 100, 12), wait


def _rate(text: str) -> float:
    from pydantic import TypeAdapter, ValidationError

    from clawctl.core.model.types import Rate

    try:
        value = float(text) if re.fullmatch(r"\d+(\.\d+)?", text.strip()) else float(
            TypeAdapter(Rate).validate_python(text))
    except ValidationError:
        raise UsageError(f"--rate {text!r}: a rate such as 300/min, 5/s or 18000/h") from None
    if not 0 < value <= limits.MAX_RATE_PER_S:
        raise UsageError(f"--rate {text!r}: above 0 and at most {limits.MAX_RATE_PER_S:,.0f}/s")
    return value


def _growth(text: str) -> float:
    m = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%\s*", text)
    if not m:
        raise UsageError(f"--growth {text!r}: a percentage such as 30% (or -10%)")
    factor = 1 + float(m[1]) / 100
    if factor <= 0 or factor > limits.MAX_MULTIPLIER:
        raise UsageError(f"--growth {text!r}: between -100% (excluded) and {limits.MAX_MULTIPLIER * 100 - 100:,.0f}%")
    return factor


class _Plan:
    """What every candidate's runs share: the traffic, the run length, the seeds."""

    def __init__(self, fleet, options: CapacityOptions, target: float, wait: float) -> None:
        from clawctl.services.simulate import run_length

        self.fleet, self.target, self.wait = fleet, target, wait
        self.strategy = fleet.load_balancing.strategy
        if options.rate is not None and options.growth is not None:
            raise UsageError("give --rate or --growth, not both")
        base = build(fleet, horizon=1.0)
        self.start = DEFAULT_START
        self.profile_at_peak = options.at_peak
        self.offset = 0.0
        if options.at_peak:
            if base.profile == "diurnal":
                self.offset = base.peak_at * 3600.0
            elif base.profile == "spike":
                self.offset = base.spike_at
            self.start = DEFAULT_START + timedelta(seconds=self.offset)
        rate = base.max_rate if options.at_peak else base.rate
        if options.rate is not None:
            rate = _rate(options.rate)
        elif options.growth is not None:
            rate *= _growth(options.growth)
        self.rate = rate
        self.base_rate_factor = rate / base.rate if base.rate else 1.0
        from clawctl.services.simulate import SimOptions

        self.length = run_length(fleet, SimOptions(requests=options.requests, duration=options.duration))
        probe = self._spec(fleet, 1.0)
        if self.length.requests is not None and probe.mean_rate() <= 0:
            raise UsageError("the traffic's rate is 0: nothing to staff for")
        self.horizon = self.length.horizon(probe)
        if self.horizon > limits.MAX_DURATION_S:
            raise UsageError("the run is longer than a year at this rate: ask for fewer --requests")
        if not 1 <= options.replications <= 1000:
            raise UsageError("--replications must be between 1 and 1000")
        if not 0 <= options.seed <= limits.MAX_SEED:
            raise UsageError(f"--seed must be between 0 and {limits.MAX_SEED}")
        self.seeds = replication_seeds(options.seed, options.replications)
        expected = self.length.requests if self.length.requests is not None else probe.mean_rate() * self.horizon
        self.run_cost = limits.sim_estimate_s(expected, [self.strategy], len(probe.agent_ids))

    def _spec(self, fleet, horizon: float) -> RunSpec:
        spec = build(fleet, horizon=horizon, start=self.start)
        if self.profile_at_peak:
            spec = replace(spec, profile="constant", rate=self.rate)
        else:
            spec = replace(spec, rate=spec.rate * self.base_rate_factor)
        return spec

    def tasks(self, fleet) -> list[SimTask]:
        spec = self._spec(fleet, self.horizon * 1.05 + 86400)
        return [SimTask(spec, self.strategy, seed, self.length.requests, self.length.duration) for seed in self.seeds]


def _figures(outcome, members: dict[str, list[str]], spec_caps: dict[str, int]) -> dict:
    by_id = {a.id: a for a in outcome.agents}
    span = outcome.elapsed_sim_s
    groups_out = {}
    for name, ids in members.items():
        rows = [by_id[i] for i in ids]
        groups_out[name] = (sum(a.measured for a in rows), sum(a.within_sla for a in rows),
                            sum(a.utilization * spec_caps[a.id] * span for a in rows),
                            sum(spec_caps[a.id] * span for a in rows))
    return {"groups": groups_out, "fleet_sla": outcome.sla_attainment, "arrived": outcome.arrived,
            "span": span, "served": {a.id: a.served for a in outcome.agents}}


def _members(fleet, found: list[Group], by: str) -> dict[str, list[str]]:
    """Each group's agents in this (variant) fleet: its own, plus copies named after one of them."""
    out = {g.name: [a for a in g.agent_ids if a in fleet.agents] for g in found}
    owner = {a: g.name for g in found for a in g.agent_ids}
    for agent_id in fleet.agents:
        if agent_id not in owner:
            base = agent_id.rsplit("-cap", 1)[0]
            out[owner[base]].append(agent_id)
    return out


def capacity(path: str, options: CapacityOptions, db: Path | None = None, *, store: bool = True,
             progress: Callable[[str, float], None] | None = None, clock: Clock = utc_now) -> CapacityReport:
    from clawctl.adapters.sim_pool import runner
    from clawctl.services.validate import load_fleet

    if options.group_by not in GROUP_BY:
        raise UsageError(f"--group-by {options.group_by}: one of {', '.join(GROUP_BY)}")
    if options.vary not in VARY:
        raise UsageError(f"--vary {options.vary}: one of {', '.join(VARY)}")
    fleet = load_fleet(path)
    source = "--sla"
    if options.sla is not None:
        target, wait = parse_sla(options.sla)
    else:
        wait = fleet.traffic.sla.wait if fleet.traffic else 30.0
        target, source = DEFAULT_TARGET, "traffic.sla.wait, default share 95%"
    if fleet.load_balancing.strategy not in STRATEGY_CODES:  # pragma: no cover (the model checks it)
        raise UsageError(f"unknown strategy {fleet.load_balancing.strategy}")
    fleet.traffic = _with_sla(fleet.traffic, wait)  # the runs count waits within this SLA
    plan = _Plan(fleet, options, target, wait)
    if options.write:
        from clawctl.services.capacity_write import check_destination

        check_destination(fleet, options.write)  # before the search, not after it
    _check_cost(plan, options)
    found = groups(fleet, options.group_by)
    today = {g.name: units_today(fleet, g, options.vary) for g in found}
    floor = {g.name: (len(g.agent_ids) if options.vary == "slots" else 1) for g in found}
    if not options.reduce:
        floor = dict(today)
    started = time.perf_counter()
    report = CapacityReport(fleet_name(fleet), target, wait, source, options.group_by, options.vary, plan.strategy,
                            plan.rate, options.at_peak, options.replications, options.seed, plan.length.requests,
                            plan.length.duration, "", False, 0, None, None, 0.0)
    sims = 0

    with runner(options.workers, options.scheduler) as pool:
        report.runner = pool.where

        def evaluate(cands: list[dict[str, int]]) -> list[Evaluation]:
            nonlocal sims
            fleets = [variant(fleet, found, options.vary, c) for c in cands]
            tasks = [t for f in fleets for t in plan.tasks(f)]
            outcomes = pool.map(run_task, tasks)
            sims += len(tasks)
            out = []
            r = len(plan.seeds)
            for i, (c, f) in enumerate(zip(cands, fleets)):
                members = _members(f, found, options.group_by)
                caps = {a.id: a.max_concurrent_conversations for a in f.agents.values()}
                runs = [_figures(o, members, caps) for o in outcomes[i * r:(i + 1) * r]]
                out.append(judge(c, runs, target))
            if progress is not None:
                progress("search", min(0.99, sims / (sims + 10 * r)))
            return out

        (now,) = evaluate([today])
        estimate = _erlang(fleet, found, now, plan, options.vary)
        ceiling = {n: max(floor[n], today[n] * GROWTH_CEILING, estimate[n] * 2) for n in estimate}
        result = search({n: min(max(estimate[n], floor[n]), ceiling[n]) for n in estimate}, evaluate, target,
                        floor=floor, ceiling=ceiling, max_up=200)
    report.elapsed_s = time.perf_counter() - started
    report.candidates, report.simulations = result.steps + 1, sims
    best = result.best()
    report.met = best is not None
    report.met_in = best.met_in if best else 0
    report.fleet_sla_today = now.fleet_sla
    report.fleet_sla_after = best.fleet_sla if best else None
    report.fleet_ci_after = best.fleet_ci if best else 0.0
    for g in found:
        after = best.groups[g.name] if best else None
        needed = result.answer[g.name] if result.answer else None
        added = []
        if options.vary == "agents" and needed is not None and needed > today[g.name]:
            from clawctl.core.capacity.groups import added_ids

            added = added_ids(fleet, g, needed - today[g.name])
        report.rows.append(GroupRow(g.name, list(g.agent_ids), today[g.name], estimate[g.name], needed,
                                    now.groups[g.name].sla, after.sla if after else None,
                                    after.ci if after else 0.0, now.groups[g.name].utilization,
                                    after.utilization if after else None, added))
    thin = [g for g in report.rows if g.sla_after is not None and g.ci_after > g.sla_after - target]
    if thin:
        names = ", ".join(f"{g.name} ({(g.sla_after - target) * 100:+.1f} points, ±{g.ci_after * 100:.1f})"
                          for g in thin)
        report.notes.append(f"the margin over the target is inside the 95% interval for {names}: more "
                            "--replications or a longer run (--requests) would narrow it")
    if not report.met:
        report.notes += _stuck_notes(result.stuck, options.vary, today)
    if options.write and result.answer is not None:
        from clawctl.services.capacity_write import write_fleet

        report.notes += write_fleet(path, options.write, fleet, found, options.vary, result.answer, today)
        report.written = options.write
    if store:
        report.run_id = _record(report, db, clock)
    return report


TYPICAL_CANDIDATES = 30  # what a search usually judges (the examples: 5 to 40)


def _check_cost(plan: _Plan, options: CapacityOptions) -> None:
    """Refuse a search whose estimate (a typical number of candidates, each its replications, over the
    workers) passes the simulator's bound."""
    from clawctl.adapters.sim_pool import cores

    if options.force:
        return
    workers = 1 if options.scheduler else max(1, options.workers or cores())
    runs = len(plan.seeds)
    wall = plan.run_cost * runs * TYPICAL_CANDIDATES / min(workers, runs)
    if wall > limits.SIM_MAX_ESTIMATE_S:
        raise UsageError(f"this search would take about {limits.rough_duration(wall)} to compute (about "
                         f"{TYPICAL_CANDIDATES} candidates x {runs} runs), over the bound of "
                         f"{limits.rough_duration(limits.SIM_MAX_ESTIMATE_S)}: fewer --requests or --replications, "
                         "or add --force to run it anyway")


def _with_sla(traffic, wait: float):
    if traffic is None:
        from clawctl.core.model.fleet_file import Traffic

        traffic = Traffic()
    return traffic.model_copy(update={"sla": traffic.sla.model_copy(update={"wait": wait})})


def _stuck_notes(stuck: dict[str, str], vary: str, today: dict[str, int]) -> list[str]:
    """Why the search ended unmet, one note per cause."""
    from clawctl.core.capacity.search import FLEET, STALL

    unit = "slots" if vary == "slots" else "agents"
    out = []
    flat = sorted(n for n, why in stuck.items() if why == "no gain")
    if flat:
        what = ", ".join("the fleet as a whole" if n == FLEET else f"group {n}" for n in flat)
        out.append(f"not met: {what} levels off below the target: {STALL} steps of more {unit} in a row gained "
                   f"less and less, too little to reach it; its requests wait for something more {unit} do not "
                   "give (business hours at this time, an eligible agent, the queue's capacity or patience); "
                   "check `clawctl simulate --agents` at the same rate")
    capped = sorted(n for n, why in stuck.items() if why == "ceiling")
    if capped:
        out.append(f"not met: {', '.join(f'group {n}' for n in capped)} would need more than "
                   f"{GROWTH_CEILING}x today's {unit} (the search's ceiling); the SLA is out of reach at this rate")
    if any(why == "steps" for why in stuck.values()):
        out.append("not met within 200 steps up")
    return out


def _erlang(fleet, found: list[Group], now: Evaluation, plan: _Plan, vary: str) -> dict[str, int]:
    """Erlang C's answer per group, from the share of today's traffic each group served."""
    runs = now.raw
    arrived = sum(r["arrived"] for r in runs)
    span = sum(r["span"] for r in runs)
    rate = arrived / span if span else plan.rate
    served = {}
    for g in found:
        served[g.name] = sum(r["served"].get(a, 0) for r in runs for a in g.agent_ids)
    total = sum(served.values()) or 1
    out = {}
    for g in found:
        lam = rate * served[g.name] / total
        agents = [fleet.agents[a] for a in g.agent_ids]
        slots = sum(a.max_concurrent_conversations for a in agents)
        mean = sum(a.service_time.mean * a.max_concurrent_conversations for a in agents) / slots
        c = erlang.servers_needed(lam, mean, plan.wait, plan.target) if lam > 0 else 0
        if vary == "slots":
            out[g.name] = max(c, len(agents))
        else:
            out[g.name] = max(1, math.ceil(c * len(agents) / slots))  # the group's mean slots per agent
    return out


def _record(report: CapacityReport, db: Path | None, clock: Clock) -> int:
    from clawctl.adapters.store import open_store

    now = iso_now(clock)
    with open_store(db) as store, store.write():
        return store.record_run("capacity", store.fleet_id(report.fleet, now), now, now,
                                "completed" if report.met else "not_met", report.as_dict())
