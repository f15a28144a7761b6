"""`clawctl failover plan`: the plan as tables (text) or a Markdown document.

Both views are built from the same sections: agents, regions, single points of failure, detection,
simulated failures and notes. Every string from the fleet file goes through ``terminal_safe``; in
Markdown, table cells also have their pipes escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

from clawctl.core.env import Env
from clawctl.core.failover.plan import AgentPlan, FailoverPlan, RegionPlan
from clawctl.core.failover.plan_predict import ACTIVE_FORMULA, PASSIVE_FORMULA, SimTarget
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe


@dataclass
class _Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    right: frozenset[str] = frozenset()


@dataclass
class _Lines:
    title: str
    lines: list[str] = field(default_factory=list)


def _pct(share: float | None, digits: int = 0) -> str:
    return "-" if share is None else f"{100 * share:.{digits}f}%"


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120 or seconds % 60:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"


def _names(ids: list[str], most: int = 4) -> str:
    shown = ", ".join(ids[:most])
    return shown + (f" +{len(ids) - most}" if len(ids) > most else "") if ids else "-"


def _missing(channels: list[str], capabilities: list[str]) -> str:
    parts = [f"{label} {', '.join(miss)}" for label, miss in (("channels:", channels), ("capabilities:", capabilities))
             if miss]
    return "; ".join(parts) if parts else "none"


def _headroom(load: float | None, spare: float | None, ok: bool | None) -> str:
    if load is None or spare is None:
        return "-"
    return f"{spare:.0f} free / {load:.0f} load" + ("" if ok else " SHORT")


def _sim_cell(t: SimTarget | None) -> str:
    if t is None:
        return "-"
    if not t.runs:
        return "never open"
    if t.preservation is None:
        return "nothing in progress"
    return f"{t.preservation:.1f}% kept, {t.lost:,} lost"


def _agent_row(a: AgentPlan, sim: dict[str, SimTarget]) -> list[str]:
    further = [f"{link.id} (via {link.via})" for link in a.chain if link.depth > 1]
    drained = [b.id for b in a.each if b.drained]
    backups = _names(a.backups) + (f" (drained: {', '.join(drained)})" if drained else "")
    cov = a.coverage
    if not a.backups:
        return [a.id, a.region or "-", a.hours, _pct(a.utilization), "-", "-", "everything (no backups)", "-", "-",
                _sim_cell(sim.get(a.id))]
    return [a.id, a.region or "-", a.hours, _pct(a.utilization), backups, _names(further, 3),
            _missing(cov.channels_missing, cov.capabilities_missing), _pct(cov.hours),
            _headroom(cov.capacity.load, cov.capacity.spare, cov.capacity.ok), _sim_cell(sim.get(a.id))]


def _region_row(r: RegionPlan, sim: dict[str, SimTarget]) -> list[str]:
    site = r.recovery_site or "none"
    return [r.name, str(len(r.agents)), site, str(len(r.site_agents)),
            _missing(r.channels_missing, r.capabilities_missing) if r.site_agents else "-",
            _pct(r.hours) if r.site_agents else "-",
            _headroom(r.capacity.load, r.capacity.spare, r.capacity.ok), _names(r.same_region_backups, 3),
            _sim_cell(sim.get(r.name))]


def _objective(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "MISSED")


def _default(plan: FailoverPlan, objective: str) -> str:
    """" (default)" after an objective the fleet file does not set."""
    return " (default)" if objective in plan.defaults else ""


def _recovery(t: SimTarget) -> str:
    return "regional_recovery" if t.kind == "region" else "agent_recovery"


def _sections(plan: FailoverPlan) -> list[_Table | _Lines]:
    sim = plan.simulation
    by_agent = {t.target: t for t in sim.targets if t.kind == "agent"} if sim else {}
    by_region = {t.target: t for t in sim.targets if t.kind == "region"} if sim else {}
    out: list[_Table | _Lines] = []
    agents = _Table("Agents and their backups",
                    ["AGENT", "REGION", "HOURS", "UTIL", "BACKUPS", "THEN", "NOT COVERED", "HOURS COVERED",
                     "HEADROOM", "SIMULATED FAILURE"], right=frozenset({"UTIL", "HOURS COVERED"}))
    agents.rows = [_agent_row(a, by_agent) for a in plan.agents]
    out.append(agents)
    if plan.regions:
        regions = _Table("Regions and recovery sites",
                         ["REGION", "AGENTS", "RECOVERY SITE", "SITE AGENTS", "NOT COVERED AT SITE", "HOURS COVERED",
                          "SITE HEADROOM", "BACKUPS ONLY INSIDE", "SIMULATED FAILURE"],
                         right=frozenset({"AGENTS", "SITE AGENTS", "HOURS COVERED"}))
        regions.rows = [_region_row(r, by_region) for r in plan.regions]
        out.append(regions)
    spofs = _Lines(f"Single points of failure ({len(plan.spofs)})")
    for s in plan.spofs:
        also = f" [{_names(s.agents, 6)}]" if s.agents else ""
        spofs.lines.append(f"{s.kind}: {s.target}: {s.detail}{also}")
    if not plan.spofs:
        spofs.lines.append("none found")
    out.append(spofs)
    d = plan.detection
    lo, hi = d.active
    det = _Lines("Predicted detection")
    det.lines.append(f"active health checks: {_s(lo)} to {_s(hi)}  ({ACTIVE_FORMULA[0]} .. {ACTIVE_FORMULA[1]}, "
                     f"I = {_s(d.probe_interval)}, T = {_s(d.timeout)}, F = {d.failure_threshold}); objective "
                     f"{_s(d.objective)}{_default(plan, 'detection')}: {_objective(hi <= d.objective)}")
    passive = d.passive
    if passive is None:
        det.lines.append("passive checks: off (max_fails 0)")
    else:
        det.lines.append(f"passive checks (nginx): {_s(passive[0])} to {_s(passive[1])}  ({PASSIVE_FORMULA[0]} .. "
                         f"{PASSIVE_FORMULA[1]}, max_fails {d.max_fails}, fail_timeout {_s(d.fail_timeout)}, "
                         f"T = {_s(d.timeout)}); the first failed request is retried on another agent after 0s "
                         f"to {_s(d.timeout)}")
    det.lines.append(f"the simulator detects at {_s(d.simulated)}")
    out.append(det)
    if sim is not None and sim.targets:
        o = plan.objectives
        seeds = f"seeds {sim.seed} to {sim.seed + sim.baseline_runs - 1}"
        table = _Table(f"Simulated failures ({sim.strategy}, runs of {_s(round(sim.run_s))}, {seeds})",
                       ["TARGET", "KIND", "IN PROGRESS", "MOVED", "LOST", "KEPT",
                        f"KEPT >= {o.session_preservation:g}%{_default(plan, 'session_preservation')}", "RECOVERY",
                        "RECOVERY OBJECTIVE", "TURNED AWAY",
                        "WORST AT"],
                       right=frozenset({"IN PROGRESS", "MOVED", "LOST", "KEPT", "RECOVERY", "TURNED AWAY"}))
        for t in sim.targets:
            info = t.as_dict()
            objectives = info["objectives"]
            table.rows.append([
                t.target, t.kind, f"{t.transferred + t.lost:,}", f"{t.transferred:,}", f"{t.lost:,}",
                "-" if t.preservation is None else f"{t.preservation:.1f}%", _objective(objectives["preservation_met"]),
                _s(t.recovery_s) if t.runs else "-",
                f"{_s(t.objective_recovery_s)}{_default(plan, _recovery(t))}: {_objective(objectives['recovery_met'])}",
                f"{t.turned_away:,}", info["worst_at"] or (t.note or "-")])
        out.append(table)
    if plan.notes:
        out.append(_Lines("Notes", list(plan.notes)))
    return out


def _headline(plan: FailoverPlan) -> str:
    missed = len(plan.missed())
    return (f"failover plan for fleet {plan.fleet}: {len(plan.agents)} agents, {len(plan.regions)} regions, "
            f"{len(plan.spofs)} single points of failure, "
            + (f"{missed} objective{'s' if missed != 1 else ''} predicted missed" if missed else
               "no objective predicted missed"))


def text(plan: FailoverPlan, env: Env) -> None:
    console = console_for(env)
    console.print(Text(safe(_headline(plan)), style="bold"))
    for section in _sections(plan):
        console.print()
        if isinstance(section, _Table):
            table = Table(box=None, header_style="bold", pad_edge=False, title=safe(section.title),
                          title_justify="left", title_style="bold")
            for h in section.headers:
                table.add_column(h, justify="right" if h in section.right else "left")
            for row in section.rows:
                table.add_row(*(safe(cell) for cell in row))
            console.print(table)
        else:
            console.print(Text(safe(section.title), style="bold"))
            for line in section.lines:
                console.print(f"  {safe(line)}")


def _md(cell: str) -> str:
    return safe(cell).replace("|", "\\|")


def markdown(plan: FailoverPlan, env: Env) -> str:
    lines = [f"# Failover plan: {_md(plan.fleet)}", "", _md(_headline(plan)) + ".", "",
             f"Generated {plan.generated_at}.", ""]
    for section in _sections(plan):
        lines += [f"## {_md(section.title)}", ""]
        if isinstance(section, _Table):
            lines.append("| " + " | ".join(_md(h) for h in section.headers) + " |")
            lines.append("|" + "|".join("---:" if h in section.right else "---" for h in section.headers) + "|")
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in section.rows]
        else:
            lines += [f"- {_md(line)}" for line in section.lines]
        lines.append("")
    return "\n".join(lines)
