"""The agent registry: what `apply` records for each agent, and how two versions differ (pure)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from clawctl.core.fleet import Fleet
from clawctl.core.model.agent import Agent


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def content_digest(files: dict[str, object]) -> str:
    """A fleet version's address: its files' data, independent of file names and order."""
    return digest(sorted(canonical_json(data) for data in files.values()))


def agent_record(agent: Agent) -> dict:
    """The registry row for one agent, defaults applied. Holds the token's variable name only."""
    return {
        "agent_id": agent.id,
        "type": agent.type,
        "domain": agent.domain,
        "region": agent.region,
        "endpoint": agent.endpoint,
        "endpoint_kind": agent.endpoint_kind,
        "token_env": agent.auth.token_env if agent.auth else None,
        "capabilities": list(agent.capabilities),
        "channels": list(agent.channels),
        "backups": list(agent.backups),
        "max_concurrent_conversations": agent.max_concurrent_conversations,
        "weight": agent.weight,
    }


def fleet_name(fleet: Fleet) -> str:
    """`metadata.name`, else the first file's name without its folder and suffix."""
    if fleet.metadata and fleet.metadata.name:
        return fleet.metadata.name
    first = fleet.files[0] if fleet.files else "fleet"
    stem = first.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem or "fleet"


@dataclass
class AgentDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def diff_agents(old: dict[str, str], new: dict[str, str]) -> AgentDiff:
    """Compare ``agent id -> record digest`` maps."""
    out = AgentDiff()
    for agent_id, d in sorted(new.items()):
        if agent_id not in old:
            out.added.append(agent_id)
        elif old[agent_id] != d:
            out.changed.append(agent_id)
        else:
            out.unchanged += 1
    out.removed = sorted(set(old) - set(new))
    return out
