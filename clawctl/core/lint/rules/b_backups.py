"""B: backups. Every backup names a real agent elsewhere, and can take over what it backs up."""

from __future__ import annotations

from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import finding, rule
from clawctl.core.lint.context import LintContext
from clawctl.core.model.agent import Agent
from clawctl.core.suggest import did_you_mean


@rule("B001", "unknown-backup", Severity.ERROR, "A backup names no agent of the fleet.", """
    Each entry of `backups` must be the id of an agent in one of the fleet's files. When a fleet is
    split over files, pass all of them to `clawctl validate` so backups across files resolve.
""")
def unknown_backup(ctx: LintContext) -> Iterator[Finding]:
    agents = ctx.fleet.agents
    for agent in agents.values():
        for i, backup in enumerate(agent.backups):
            if backup not in agents:
                hint = did_you_mean(backup, agents)
                if hint == f" (did you mean `{agent.id}`?)":  # never the agent itself (that would be B002)
                    hint = did_you_mean(backup, [a for a in agents if a != agent.id])
                yield finding("B001", f"backup `{backup}` of agent `{agent.id}` names no agent in the fleet{hint}",
                              agent.file, _backup_path(agent, i))


def _backup_path(agent, i: int) -> tuple:
    """Backups may come from `defaults`; point at the agent's own list when it has one."""
    if agent.spec.backups is not None:
        return ("agents", agent.id, "backups", i)
    return ("defaults", "backups", i)


@rule("B002", "self-backup", Severity.ERROR, "An agent lists itself as its own backup.", """
    A backup takes over when the agent fails; the agent itself cannot.
""")
def self_backup(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        for i, backup in enumerate(agent.backups):
            if backup == agent.id:
                yield finding("B002", f"agent `{agent.id}` lists itself as a backup", agent.file, _backup_path(agent, i))


@rule("B003", "duplicate-backup", Severity.WARNING, "The same backup listed twice for one agent.", """
    Backups are tried in order; a repeat adds nothing and usually hides a typo.
""")
def duplicate_backup(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        seen: set[str] = set()
        for i, backup in enumerate(agent.backups):
            if backup in seen:
                yield finding("B003", f"backup `{backup}` is listed twice for agent `{agent.id}`",
                              agent.file, _backup_path(agent, i))
            seen.add(backup)


@rule("B004", "backup-capabilities", Severity.WARNING, "A backup lacks capabilities of the agent it backs up.", """
    When the agent fails, its conversations move to its backups. A backup that lacks a capability the
    agent has cannot finish those conversations. Together, an agent's backups should cover all its
    capabilities; the finding names the first backup and what the backups miss.
""")
def backup_capabilities(ctx: LintContext) -> Iterator[Finding]:
    yield from _coverage(ctx, "capabilities", "B004")


@rule("B005", "backup-channels", Severity.WARNING, "A backup does not serve channels of the agent it backs up.", """
    Sessions arrive on channels; a backup that does not serve the agent's channels cannot take its
    sessions over. Together, an agent's backups should serve all its channels.
""")
def backup_channels(ctx: LintContext) -> Iterator[Finding]:
    yield from _coverage(ctx, "channels", "B005")


def _coverage(ctx: LintContext, attr: str, code: str) -> Iterator[Finding]:
    backups_of = _backups(ctx)
    have = _sets(ctx, attr)
    for agent in ctx.fleet.agents.values():
        backups = backups_of[agent.id]
        needed = have[agent.id]
        if not backups or not needed:
            continue
        covered = have[backups[0].id]
        if needed <= covered:
            continue  # the first backup covers it all (team mates usually do)
        for backup in backups[1:]:
            covered = covered | have[backup.id]
        missing = needed - covered
        if missing:
            names = ", ".join(f"`{m}`" for m in sorted(missing))
            what = "capabilities" if attr == "capabilities" else "channels"
            yield finding(code, f"no backup of agent `{agent.id}` covers its {what} {names}",
                          agent.file, _backup_path(agent, 0))


def _backups(ctx: LintContext) -> dict[str, list[Agent]]:
    """Each agent's backups that are other agents of the fleet, each once, in order (for B004 to B006;
    computed once per fleet)."""
    memo = ctx.memo.get("backups")
    if memo is None:
        agents = ctx.fleet.agents
        memo = ctx.memo["backups"] = {
            agent.id: [agents[b] for b in dict.fromkeys(agent.backups) if b in agents and b != agent.id]
            for agent in agents.values()
        }
    return memo  # type: ignore[return-value]


def _sets(ctx: LintContext, attr: str) -> dict[str, frozenset[str]]:
    """Each agent's capabilities or channels as a set (computed once per fleet)."""
    key = f"sets:{attr}"
    memo = ctx.memo.get(key)
    if memo is None:
        memo = ctx.memo[key] = {agent.id: frozenset(getattr(agent, attr)) for agent in ctx.fleet.agents.values()}
    return memo  # type: ignore[return-value]


@rule("B006", "backup-same-region", Severity.WARNING, "Every backup sits in the agent's own region.", """
    A regional outage takes an agent and its same-region backups down together. At least one backup
    should live in another region (or the region's `failover.regions` recovery site).
""")
def backup_same_region(ctx: LintContext) -> Iterator[Finding]:
    backups_of = _backups(ctx)
    for agent in ctx.fleet.agents.values():
        backups = backups_of[agent.id]  # (a backup listed twice changes nothing here)
        if agent.region and backups and all(b.region == agent.region for b in backups):
            yield finding("B006", f"every backup of agent `{agent.id}` is in its own region `{agent.region}`; "
                          "a regional outage takes them all", agent.file, _backup_path(agent, 0))


@rule("B007", "no-backup", Severity.INFO, "An agent with no backup.", """
    When it fails, its sessions are lost and its traffic goes to whoever else can serve it.
""")
def no_backup(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        if not agent.backups:
            yield finding("B007", f"agent `{agent.id}` has no backup", agent.file, ("agents", agent.id), at_key=True)
