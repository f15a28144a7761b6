"""`clawctl failover plan FLEET`: backup chains and coverage, single points of failure, regions, predicted
detection, and simulated recovery figures for each agent and region.

The simulation (skipped with ``simulate=False`` or when the fleet has no ``traffic``):

- Utilisation: the fleet's traffic in short runs (``RUN_REQUESTS`` requests, or as long as the
  detection and the service times need, at most ``MAX_RUN_REQUESTS``) centred on ``PHASES_PER_DAY``
  instants a day over the reference week (business hours make one instant unrepresentative). An
  agent's utilisation is its busy share while it is open, the first ``WARMUP`` of each run left out
  (runs start empty).
- Failures: each agent (at most ``MAX_AGENT_TARGETS``, the ones with the largest expected load) and
  each region is failed at ``RUNS_PER_TARGET`` of those instants, spread over the ones when it is
  open, in the middle of the run centred there. The run at instant ``p`` has seed ``SEED + p``, with
  and without the failure, so the two see the same requests (common random numbers): ``turned_away``
  is the difference.
  The simulator moves conversations to the first direct backup with a free slot at detection
  (``F x I + T``) or loses them; the recovery time is that detection time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from clawctl.adapters.clock import utc_now
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso_now
from clawctl.core.errors import UsageError
from clawctl.core.failover.plan import FailoverPlan, make_plan, masks_of, region_names
from clawctl.core.failover.plan_predict import (
    SimRun,
    SimTarget,
    Simulation,
    phase_instants,
    spread,
    utilization_while_open,
)
from clawctl.core.failover.plan_week import open_at
from clawctl.core.fleet import Fleet
from clawctl.services.validate import load_fleet

RUN_REQUESTS = 5_000
MAX_RUN_REQUESTS = 20_000
MAX_RUN_S = 2 * 86400.0
PHASES_PER_DAY = 4
RUNS_PER_TARGET = 4
MAX_AGENT_TARGETS = 50
WARMUP = 0.2
WARM_SERVICES = 3  # a failure comes at least this many mean service times into its run (95% of steady state)
AGENT_RUN_BUDGET = 20_000  # agents x failed agents: big fleets fail fewer agents (each run costs per agent)
SEED = 1


def plan(path: str, db: Path | None = None, *, simulate: bool = True, clock: Clock = utc_now) -> FailoverPlan:
    """The plan for the fleet in ``path``. ``db`` is not used: a plan reads the fleet and records nothing."""
    fleet = load_fleet(path)
    masks = masks_of(fleet)
    notes: list[str] = []
    util = simulation = None
    if not simulate:
        notes.append("not simulated (--no-sim): no utilisation, capacity headroom or recovery figures")
    elif fleet.traffic is None:
        notes.append("the fleet has no `traffic`: no utilisation, capacity headroom or recovery figures "
                     "(they come from simulating the fleet's traffic)")
    elif not fleet.agents:
        notes.append("the fleet has no agents to simulate")
    else:
        try:
            util, simulation = _simulate(fleet, masks, notes)
        except UsageError as exc:
            notes.append(f"not simulated: {exc}")
    return make_plan(fleet, name=fleet_name(fleet), generated_at=iso_now(clock), util=util, simulation=simulation,
                     notes=notes, masks=masks)


def agent_targets(n_agents: int) -> int:
    """How many agents the plan fails: MAX_AGENT_TARGETS, fewer in fleets of over 400 agents (at least 10)."""
    return min(MAX_AGENT_TARGETS, max(10, AGENT_RUN_BUDGET // max(n_agents, 1)))


def _simulate(fleet: Fleet, masks: dict[str, int],
              notes: list[str]) -> tuple[dict[str, float | None] | None, Simulation | None]:
    from clawctl.core.sim.engine import RunLength
    from clawctl.core.sim.engine import simulate as run_one
    from clawctl.core.sim.spec import Failure, build

    probe = build(fleet, horizon=1.0)
    rate = probe.max_rate
    if fleet.traffic is not None and fleet.traffic.arrivals is None:
        notes.append(f"no `traffic.arrivals`: simulated at the simulator's default, 80% of the fleet's capacity "
                     f"({rate * 60:,.4g}/min)")
    if rate <= 0:
        notes.append("traffic.arrivals.rate is 0: nothing to simulate")
        return None, None
    detect = probe.detect
    base = RUN_REQUESTS / rate
    want = max(base, 2 * detect + 60, 2 * WARM_SERVICES * float(probe.mean.max()))
    run_s = min(want, max(base, MAX_RUN_REQUESTS / rate), MAX_RUN_S)
    if run_s / 2 < detect + 1:
        notes.append(f"not simulated: detection takes {detect:g}s, more than half of the longest run the plan makes "
                     f"({run_s:,.0f}s, {MAX_RUN_REQUESTS:,} requests at this fleet's peak rate)")
        return None, None
    strategy = fleet.load_balancing.strategy
    length = RunLength(duration=run_s)
    room = int(2 * run_s * rate) + 1_000
    instants = phase_instants(PHASES_PER_DAY)
    specs, baseline, samples = [], [], []
    for p, at in enumerate(instants):
        start = at - timedelta(seconds=run_s / 2)
        spec = build(fleet, horizon=run_s * 1.05 + 3600, start=start)
        if spec.qcap < 0:  # unbounded: bounded by what can arrive in a run, never reached (the simulator
            spec = replace(spec, qcap=float(room))  # sizes its waiting room by the bound)
        out = run_one(spec, strategy, length, SEED + p)
        specs.append(spec)
        baseline.append(out.rejected + out.abandoned)
        samples.append((start, out.series_t, out.series_agents))
    ids = specs[0].agent_ids
    util = utilization_while_open(samples, ids, [int(c) for c in specs[0].cap], masks, [WARMUP * run_s] * len(samples))
    index = {a: i for i, a in enumerate(ids)}
    objectives = fleet.failover.objectives

    def fail(kind: str, name: str, members: list[str], objective: float) -> SimTarget:
        target = SimTarget(kind, name, members if kind == "region" else [], detect, objective,
                           objectives.session_preservation)
        open_phases = [p for p, at in enumerate(instants) if any(open_at(masks[a], at) for a in members)]
        if not open_phases:
            target.note = "never open in the reference week: nothing to fail over"
        label = name if kind == "agent" else f"region {name}"
        for p in spread(open_phases, RUNS_PER_TARGET):
            spec = replace(specs[p], failures=[Failure(run_s / 2, [index[a] for a in members], label)])
            out = run_one(spec, strategy, length, SEED + p)
            target.runs.append(SimRun(instants[p], out.transferred, out.lost,
                                      max(0, out.rejected + out.abandoned - baseline[p])))
        return target

    agents = list(fleet.agents.values())
    ranked = sorted(agents, key=lambda a: -(a.max_concurrent_conversations * (util.get(a.id) or 0.0)))
    most = agent_targets(len(agents))
    chosen = {a.id for a in ranked[:most]}
    targets = [fail("agent", a.id, [a.id], objectives.agent_recovery) for a in agents if a.id in chosen]
    for region in region_names(fleet):
        members = [a.id for a in agents if a.region == region]
        if members:
            targets.append(fail("region", region, members, objectives.regional_recovery))
    if len(agents) > most:
        notes.append(f"failures simulated for the {most} agents with the largest expected load of "
                     f"{len(agents):,}; the other {len(agents) - most:,} are not simulated")
    notes.append(f"simulated ({strategy}, seeds {SEED} to {SEED + len(instants) - 1}): {len(instants)} runs of "
                 f"{run_s:,.0f}s spread over a week for utilisation; each agent and region failed at up to "
                 f"{RUNS_PER_TARGET} instants when it is open, in the middle of such a run; conversations move to the "
                 f"first direct backup with a free slot at detection ({detect:g}s) or are lost; the recovery site "
                 "and the chain past direct backups are not used by the simulator")
    return util, Simulation(strategy, SEED, round(run_s * probe.mean_rate()), run_s, len(instants), targets)
