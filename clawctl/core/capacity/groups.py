"""Groups of agents (by region, domain or agent) and the fleet variants a capacity search tries (pure).

A variant is the fleet with some groups' slots or agent counts changed; the fleet itself is never
modified. Agents added to a group are copies of its agents in turn, the one with the most slots first
(then by id): a region of sales, support and billing specialists grows by more of each kind, not by
copies of one of them, whose requests may not be the ones waiting. A copy of ``x`` is named
``x-cap<N>``. Agents are removed from a group last added first, then by id from the end; backups naming
a removed agent are dropped by the simulator as for any unknown id.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from clawctl.core.errors import UsageError
from clawctl.core.fleet import Fleet

GROUP_BY = ("region", "domain", "agent")
VARY = ("slots", "agents")
NO_GROUP = "(none)"


@dataclass(frozen=True)
class Group:
    name: str
    agent_ids: tuple[str, ...]

    def slots(self, fleet: Fleet) -> int:
        return sum(fleet.agents[a].max_concurrent_conversations for a in self.agent_ids)


def groups(fleet: Fleet, by: str) -> list[Group]:
    """The fleet's agents grouped ``by`` region, domain or agent (agents without one: ``(none)``)."""
    if by not in GROUP_BY:
        raise UsageError(f"--group-by {by}: one of {', '.join(GROUP_BY)}")
    out: dict[str, list[str]] = {}
    for agent in fleet.agents.values():
        key = agent.id if by == "agent" else (getattr(agent, by) or NO_GROUP)
        out.setdefault(key, []).append(agent.id)
    return [Group(name, tuple(ids)) for name, ids in sorted(out.items())]


def units_today(fleet: Fleet, group: Group, vary: str) -> int:
    return group.slots(fleet) if vary == "slots" else len(group.agent_ids)


def by_size(fleet: Fleet, group: Group) -> list:
    """The group's agents in the order they are copied: the most slots first, then by id."""
    return sorted((fleet.agents[a] for a in group.agent_ids),
                  key=lambda a: (-a.max_concurrent_conversations, group.agent_ids.index(a.id)))


def _spread(total: int, caps: list[int]) -> list[int]:
    """``total`` slots over agents as evenly as possible (at least one each), the larger agents first."""
    n = len(caps)
    base, extra = divmod(total, n)
    order = sorted(range(n), key=lambda i: -caps[i])
    out = [base] * n
    for i in order[:extra]:
        out[i] += 1
    return out


def with_slots(fleet: Fleet, group: Group, total: int) -> Fleet:
    """The fleet with ``total`` slots spread over the group's agents (at least one slot each)."""
    ids = group.agent_ids
    total = max(total, len(ids))
    caps = _spread(total, [fleet.agents[a].max_concurrent_conversations for a in ids])
    agents = dict(fleet.agents)
    for a, cap in zip(ids, caps):
        clone = copy.copy(agents[a])
        clone.max_concurrent_conversations = cap
        agents[a] = clone
    return replace(fleet, agents=agents)


def copies(fleet: Fleet, group: Group, count: int) -> dict[str, str]:
    """``count`` new agents for the group, in order: ``{new id: id of the agent it copies}``, the group's
    agents taken in turn (:func:`by_size`)."""
    order = [a.id for a in by_size(fleet, group)]
    out: dict[str, str] = {}
    taken = set(fleet.agents)
    n = {a: 0 for a in order}
    i = 0
    while len(out) < count:
        source = order[i % len(order)]
        i += 1
        while True:
            n[source] += 1
            name = f"{source}-cap{n[source]}"
            if name not in taken:
                break
        taken.add(name)
        out[name] = source
    return out


def added_ids(fleet: Fleet, group: Group, count: int) -> list[str]:
    return list(copies(fleet, group, count))


def with_agents(fleet: Fleet, group: Group, count: int) -> Fleet:
    """The fleet with the group at ``count`` agents (at least one): copies added (:func:`copies`), or agents
    removed."""
    count = max(count, 1)
    ids = list(group.agent_ids)
    agents = dict(fleet.agents)
    if count > len(ids):
        for name, source in copies(fleet, group, count - len(ids)).items():
            clone = copy.copy(fleet.agents[source])
            clone.id = name
            agents[name] = clone
    else:
        for name in ids[count:]:
            del agents[name]
    return replace(fleet, agents=agents)


def variant(fleet: Fleet, found: list[Group], vary: str, units: dict[str, int]) -> Fleet:
    """The fleet with each named group at ``units`` (slots or agents)."""
    out = fleet
    for g in found:
        if g.name in units:
            out = with_slots(out, g, units[g.name]) if vary == "slots" else with_agents(out, g, units[g.name])
    return out
