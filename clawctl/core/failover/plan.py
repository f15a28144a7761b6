"""`clawctl failover plan`: what each agent's backups cover, the fleet's single points of failure, its
regions and recovery sites, how soon a failure is detected, and what simulated failures cost (pure).

Coverage is computed here from the fleet; business hours are compared on the reference week
(``plan_week``); detection and the simulated figures are in ``plan_predict`` (the service runs the
simulations and hands in their figures and each agent's utilisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from clawctl.core.failover.plan_predict import Detection, Simulation, detection, detection_notes
from clawctl.core.failover.plan_week import STEP_MIN, hours_label, open_mask, share
from clawctl.core.fleet import Fleet
from clawctl.core.model.agent import Agent
from clawctl.core.model.fleet_file import Objectives

CHAIN_DEPTH = 3
SHARED_MIN = 3  # a backup that is the only backup of this many agents is a single point of failure


# -- backups ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    id: str
    depth: int  # 1: a direct backup
    via: str | None  # the agent it backs up in the chain (None at depth 1)

    def as_dict(self) -> dict:
        return {"id": self.id, "depth": self.depth, "via": self.via}


def direct_backups(fleet: Fleet, agent: Agent) -> list[str]:
    """The agent's backups in order: known agents only (unknown ids are lint's B001), no repeats, not itself."""
    return [b for b in dict.fromkeys(agent.backups) if b in fleet.agents and b != agent.id]


def backup_chain(fleet: Fleet, agent_id: str, depth: int = CHAIN_DEPTH) -> list[Link]:
    """Backups, then the backups' backups, breadth first to ``depth``; an agent appears once (cycles end)."""
    seen = {agent_id}
    out: list[Link] = []
    frontier = [agent_id]
    for level in range(1, depth + 1):
        nxt = []
        for parent in frontier:
            for b in direct_backups(fleet, fleet.agents[parent]):
                if b not in seen:
                    seen.add(b)
                    out.append(Link(b, level, parent if level > 1 else None))
                    nxt.append(b)
        frontier = nxt
    return out


def _load(agent: Agent, util: Mapping[str, float | None] | None) -> float | None:
    u = None if util is None else util.get(agent.id)
    return None if u is None else agent.max_concurrent_conversations * u


def _spare(agent: Agent, util: Mapping[str, float | None] | None) -> float | None:
    u = None if util is None else util.get(agent.id)
    return None if u is None else agent.max_concurrent_conversations * max(0.0, 1.0 - u)


@dataclass
class Capacity:
    load: float | None  # expected conversations of the agent (region): capacity x utilisation
    spare: float | None  # free slots of its backups (recovery site): capacity x (1 - utilisation)
    unmeasured: list[str] = field(default_factory=list)  # backups without a utilisation, left out of `spare`

    @property
    def ok(self) -> bool | None:
        return None if self.load is None or self.spare is None else self.spare >= self.load

    def as_dict(self) -> dict:
        return {"load": _r(self.load), "spare": _r(self.spare), "ok": self.ok, "unmeasured": self.unmeasured}


def capacity(loaded: Sequence[Agent], backing: Sequence[Agent], util: Mapping[str, float | None] | None) -> Capacity:
    """The expected load of ``loaded`` against the free slots of ``backing``. An agent without a
    utilisation (open in no simulated sample) adds no load and no free slots; it is listed as unmeasured
    when it backs up."""
    loads = [v for v in (_load(a, util) for a in loaded) if v is not None]
    load = sum(loads) if loads else None
    if util is None:
        return Capacity(load, None)
    spares = {b.id: _spare(b, util) for b in backing}
    return Capacity(load, sum(v for v in spares.values() if v is not None),
                    [b for b, v in spares.items() if v is None])


@dataclass
class BackupCover:
    id: str
    drained: bool  # weight 0: takes no sessions
    channels_missing: list[str]
    capabilities_missing: list[str]
    hours: float | None  # share of the agent's open time this backup is open in
    spare: float | None

    def as_dict(self) -> dict:
        return {"id": self.id, "drained": self.drained, "channels_missing": self.channels_missing,
                "capabilities_missing": self.capabilities_missing, "hours": _r(self.hours), "spare": _r(self.spare)}


@dataclass
class Coverage:
    """What the agent's direct backups cover together (drained backups cover nothing)."""

    channels_covered: list[str]
    channels_missing: list[str]
    capabilities_covered: list[str]
    capabilities_missing: list[str]
    hours: float | None  # share of the agent's open time at least one backup is open in (None: never open)
    capacity: Capacity

    def as_dict(self) -> dict:
        return {"channels": {"covered": self.channels_covered, "missing": self.channels_missing},
                "capabilities": {"covered": self.capabilities_covered, "missing": self.capabilities_missing},
                "hours": _r(self.hours), "capacity": self.capacity.as_dict()}


@dataclass
class AgentPlan:
    id: str
    region: str | None
    capacity: int
    weight: int
    hours: str
    open_hours_per_week: float
    utilization: float | None
    backups: list[str]
    chain: list[Link]
    each: list[BackupCover]
    coverage: Coverage

    def as_dict(self) -> dict:
        return {"id": self.id, "region": self.region, "capacity": self.capacity, "weight": self.weight,
                "hours": self.hours, "open_hours_per_week": self.open_hours_per_week,
                "utilization": _r(self.utilization), "backups": self.backups,
                "chain": [link.as_dict() for link in self.chain], "each_backup": [b.as_dict() for b in self.each],
                "coverage": self.coverage.as_dict()}


def _split(wanted: Sequence[str], have: set[str]) -> tuple[list[str], list[str]]:
    wanted = list(dict.fromkeys(wanted))
    return [w for w in wanted if w in have], [w for w in wanted if w not in have]


def agent_plan(fleet: Fleet, agent: Agent, masks: Mapping[str, int],
               util: Mapping[str, float | None] | None = None) -> AgentPlan:
    ids = direct_backups(fleet, agent)
    backups = [fleet.agents[b] for b in ids]
    live = [b for b in backups if b.weight > 0]
    mine = masks[agent.id]
    each = [BackupCover(b.id, b.weight == 0, _split(agent.channels, set(b.channels))[1],
                        _split(agent.capabilities, set(b.capabilities))[1], share(masks[b.id], mine),
                        _spare(b, util)) for b in backups]
    union = 0
    for b in live:
        union |= masks[b.id]
    ch = _split(agent.channels, {c for b in live for c in b.channels})
    cap = _split(agent.capabilities, {c for b in live for c in b.capabilities})
    coverage = Coverage(ch[0], ch[1], cap[0], cap[1], share(union, mine), capacity([agent], live, util))
    return AgentPlan(agent.id, agent.region, agent.max_concurrent_conversations, agent.weight, hours_label(agent),
                     mine.bit_count() * STEP_MIN / 60, None if util is None else util.get(agent.id), ids,
                     backup_chain(fleet, agent.id), each, coverage)


# -- regions ------------------------------------------------------------------------------------------------
@dataclass
class RegionPlan:
    name: str
    agents: list[str]
    recovery_site: str | None
    site_agents: list[str]
    channels_missing: list[str]  # served in the region, not at the recovery site
    capabilities_missing: list[str]
    hours: float | None  # share of the region's open time (any agent open) some site agent is open in
    capacity: Capacity
    same_region_backups: list[str]  # agents whose backups all sit in the region: a regional outage takes all

    def as_dict(self) -> dict:
        return {"name": self.name, "agents": self.agents, "recovery_site": self.recovery_site,
                "site_agents": self.site_agents, "channels_missing": self.channels_missing,
                "capabilities_missing": self.capabilities_missing, "hours": _r(self.hours),
                "capacity": self.capacity.as_dict(), "same_region_backups": self.same_region_backups}


def region_names(fleet: Fleet) -> list[str]:
    """Regions with agents (first appearance), then those only named in ``failover.regions``."""
    names = [a.region for a in fleet.agents.values() if a.region]
    return list(dict.fromkeys([*names, *fleet.failover.regions]))


def region_plan(fleet: Fleet, name: str, masks: Mapping[str, int],
                util: Mapping[str, float | None] | None = None) -> RegionPlan:
    members = [a for a in fleet.agents.values() if a.region == name]
    entry = fleet.failover.regions.get(name)
    site = entry.recovery_site if entry is not None else None
    at_site = [a for a in fleet.agents.values() if site is not None and site != name and a.region == site]
    live = [a for a in at_site if a.weight > 0]
    ch = _split([c for a in members for c in a.channels], {c for a in live for c in a.channels})
    cap = _split([c for a in members for c in a.capabilities], {c for a in live for c in a.capabilities})
    mine = site_mask = 0
    for a in members:
        mine |= masks[a.id]
    for a in live:
        site_mask |= masks[a.id]
    live_backups = {a.id: [b for b in direct_backups(fleet, a) if fleet.agents[b].weight > 0] for a in members}
    stranded = [a for a, backups in live_backups.items()  # (no backup at all is a `no-backup` of its own)
                if backups and all(fleet.agents[b].region == name for b in backups)]
    return RegionPlan(name, [a.id for a in members], site, [a.id for a in at_site], ch[1], cap[1],
                      share(site_mask, mine), capacity(members, live, util), stranded)


# -- single points of failure -------------------------------------------------------------------------------
@dataclass
class Spof:
    kind: str
    target: str
    detail: str
    agents: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "target": self.target, "detail": self.detail, "agents": self.agents}


SPOF_KINDS = ("no-backup", "backup-gap", "hours-gap", "capacity", "shared-backup", "region-no-site",
              "region-empty-site", "region-gap", "same-region-backups")


def single_points(agents: Sequence[AgentPlan], regions: Sequence[RegionPlan],
                  shared_min: int = SHARED_MIN) -> list[Spof]:
    """The fleet's single points of failure, agent by agent (kinds in :data:`SPOF_KINDS`, in order), then
    shared backups, then region by region."""
    out: list[Spof] = []
    for a in agents:
        cov = a.coverage
        live = [b.id for b in a.each if not b.drained]
        if not live:
            drained = " (its backups are drained: weight 0)" if a.backups else ""
            out.append(Spof("no-backup", a.id, f"no backup takes its sessions{drained}"))
            continue
        if cov.channels_missing or cov.capabilities_missing:
            parts = [f"{label}: {', '.join(miss)}" for label, miss in
                     (("channels", cov.channels_missing), ("capabilities", cov.capabilities_missing)) if miss]
            out.append(Spof("backup-gap", a.id, "no backup serves " + "; ".join(parts)))
        if cov.hours is not None and cov.hours < 1.0:
            out.append(Spof("hours-gap", a.id, f"no backup is open in {100 * (1 - cov.hours):.0f}% of its open "
                                               f"hours ({(1 - cov.hours) * a.open_hours_per_week:.4g} h a week)"))
        if cov.capacity.ok is False:
            out.append(Spof("capacity", a.id, f"its backups have {cov.capacity.spare:.1f} free slots for an "
                                              f"expected {cov.capacity.load:.1f} conversations"))
    only: dict[str, list[str]] = {}
    for a in agents:
        live = [b.id for b in a.each if not b.drained]
        if len(live) == 1:
            only.setdefault(live[0], []).append(a.id)
    for backup, relying in only.items():
        if len(relying) >= shared_min:
            out.append(Spof("shared-backup", backup, f"the only backup of {len(relying)} agents", relying))
    for r in regions:
        if not r.agents:
            continue
        if r.recovery_site is None or r.recovery_site == r.name:
            why = "has no recovery site" if r.recovery_site is None else "names itself as its recovery site"
            out.append(Spof("region-no-site", r.name, f"region {why} (failover.regions)", r.agents))
        elif not r.site_agents:
            out.append(Spof("region-empty-site", r.name, f"its recovery site `{r.recovery_site}` has no agents",
                            r.agents))
        else:
            parts = [f"{label}: {', '.join(miss)}" for label, miss in
                     (("channels", r.channels_missing), ("capabilities", r.capabilities_missing)) if miss]
            if r.capacity.ok is False:
                parts.append(f"capacity: {r.capacity.spare:.1f} free slots for {r.capacity.load:.1f} conversations")
            if parts:
                out.append(Spof("region-gap", r.name, f"recovery site `{r.recovery_site}` lacks " + "; ".join(parts)))
        if r.same_region_backups:
            n = len(r.same_region_backups)
            out.append(Spof("same-region-backups", r.name, f"{n} agent{'s' if n > 1 else ''} with backups only "
                                                           "inside the region: a regional outage takes them all",
                            r.same_region_backups))
    return out


# -- the plan ---------------------------------------------------------------------------------------------
OBJECTIVE_NAMES = ("detection", "agent_recovery", "regional_recovery", "session_preservation")


@dataclass(frozen=True)
class Missed:
    """An objective the plan predicts missed: ``detection`` (the fleet), or a simulated failure's
    recovery or session preservation (``kind`` agent or region, ``target`` its name)."""

    objective: str
    kind: str  # fleet | agent | region
    target: str
    predicted: float
    goal: float

    def as_dict(self) -> dict:
        return {"objective": self.objective, "kind": self.kind, "target": self.target,
                "predicted": _r(self.predicted), "objective_value": self.goal}


@dataclass
class FailoverPlan:
    view: ClassVar[str] = "failover-plan"

    fleet: str
    generated_at: str
    objectives: Objectives
    agents: list[AgentPlan]
    regions: list[RegionPlan]
    spofs: list[Spof]
    detection: Detection
    simulation: Simulation | None = None
    notes: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)  # objectives the fleet does not set: clawctl's defaults

    def missed(self) -> list[Missed]:
        """The objectives predicted missed: the slowest active detection over ``detection``, and each
        simulated failure's recovery or session preservation under its objective."""
        out: list[Missed] = []
        hi = self.detection.active[1]
        if hi > self.detection.objective:
            out.append(Missed("detection", "fleet", self.fleet, hi, self.detection.objective))
        for t in self.simulation.targets if self.simulation is not None else []:
            met = t.as_dict()["objectives"]
            recovery = "regional_recovery" if t.kind == "region" else "agent_recovery"
            if met["recovery_met"] is False:
                out.append(Missed(recovery, t.kind, t.target, t.recovery_s, t.objective_recovery_s))
            if met["preservation_met"] is False:
                out.append(Missed("session_preservation", t.kind, t.target, t.preservation or 0.0,
                                  t.objective_preservation_pct))
        return out

    def as_dict(self) -> dict:
        o = self.objectives
        return {"schema_version": 1, "fleet": self.fleet, "generated_at": self.generated_at,
                "objectives": {"detection_s": o.detection, "agent_recovery_s": o.agent_recovery,
                               "regional_recovery_s": o.regional_recovery,
                               "session_preservation_pct": o.session_preservation,
                               "defaults": list(self.defaults),
                               "missed": [m.as_dict() for m in self.missed()]},
                "agents": [a.as_dict() for a in self.agents], "regions": [r.as_dict() for r in self.regions],
                "single_points_of_failure": [s.as_dict() for s in self.spofs],
                "detection": self.detection.as_dict(),
                "simulation": None if self.simulation is None else self.simulation.as_dict(),
                "notes": list(self.notes)}


def defaulted_objectives(fleet: Fleet) -> list[str]:
    """The objectives (:data:`OBJECTIVE_NAMES`) the fleet file does not set, so clawctl's defaults apply:
    all of them without a ``failover`` block or without ``failover.objectives``."""
    if "failover" not in fleet.section_file or "objectives" not in fleet.failover.model_fields_set:
        return list(OBJECTIVE_NAMES)
    given = fleet.failover.objectives.model_fields_set
    return [name for name in OBJECTIVE_NAMES if name not in given]


def masks_of(fleet: Fleet) -> dict[str, int]:
    return {a.id: open_mask(a) for a in fleet.agents.values()}


def make_plan(fleet: Fleet, *, name: str, generated_at: str, util: Mapping[str, float | None] | None = None,
              simulation: Simulation | None = None, notes: Sequence[str] = (),
              masks: Mapping[str, int] | None = None) -> FailoverPlan:
    """The whole plan; ``util`` is each agent's busy share while open (None: not simulated)."""
    masks = masks if masks is not None else masks_of(fleet)
    agents = [agent_plan(fleet, a, masks, util) for a in fleet.agents.values()]
    regions = [region_plan(fleet, r, masks, util) for r in region_names(fleet)]
    det = detection(fleet.load_balancing, fleet.failover.objectives)
    defaults = defaulted_objectives(fleet)
    if defaults:
        o = fleet.failover.objectives
        values = {"detection": f"{o.detection:g}s", "agent_recovery": f"{o.agent_recovery:g}s",
                  "regional_recovery": f"{o.regional_recovery:g}s",
                  "session_preservation": f"{o.session_preservation:g}%"}
        where = "the fleet has no `failover.objectives`" if len(defaults) == len(OBJECTIVE_NAMES) else \
            "not set in `failover.objectives`"
        notes = [*notes, "objectives at clawctl's defaults (" + ", ".join(f"{n} {values[n]}" for n in defaults)
                 + f"): {where}"]
    return FailoverPlan(name, generated_at, fleet.failover.objectives, agents, regions,
                        single_points(agents, regions), det, simulation, [*notes, *detection_notes(det)], defaults)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
