"""The parts of an openclaw.json that clawctl reads, normalised over both roster shapes. Pure.

Every value keeps where it came from (:class:`Pos`: the file, after ``$include`` resolution the included
file, and the 1-based line and column), so a finding points at the place to edit. Secrets and
``${VAR}`` references are kept as written (opaque strings), never resolved.

Roster shapes (research/openclaw-surface.md, section 3):
- ``list``: up to 2026.7, ``agents.list[]`` entries with ``id`` and an optional ``default: true``;
- ``entries``: from 2026.8.1, ``agents.entries{id: {...}}`` with ``agents.ownership`` (``explicit``).

Bindings route a message to exactly one agent, most specific first (tiers 1-9, :data:`TIERS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TIERS = (
    (1, "peer", "exact peer"),
    (2, "parent-peer", "parent peer (thread inheritance)"),
    (3, "peer-wildcard", "peer wildcard (id \"*\")"),
    (4, "guild-roles", "guildId + roles"),
    (5, "guild", "guildId"),
    (6, "team", "teamId"),
    (7, "account", "exact accountId"),
    (8, "channel", "channel-wide (accountId \"*\")"),
    (9, "default", "the default agent (old shape) or the sole agent (new shape)"),
)


@dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(slots=True)
class OCAgent:
    id: str
    pos: Pos
    default: bool = False  # `default: true`: the old shape's marker (a legacy one left in entries counts too)
    agent_dir: str | None = None
    agent_dir_pos: Pos | None = None
    workspace: str | None = None
    workspace_pos: Pos | None = None
    max_concurrent: int | None = None  # its own, else agents.defaults.maxConcurrent
    sandbox: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    pointer: str = ""  # its JSON pointer in the merged document (/agents/list/0, /agents/entries/main)


@dataclass(slots=True)
class Peer:
    kind: str | None  # direct | group | channel (dm: deprecated alias of direct)
    id: str | None  # "*" is the wildcard


@dataclass(slots=True)
class OCBinding:
    index: int  # its place in bindings[] (config order decides ties within a tier)
    agent_id: str | None
    pos: Pos
    channel: str | None = None
    account_id: str | None = None  # None: only the channel's default account; "*": any account
    peer: Peer | None = None
    guild_id: str | None = None
    team_id: str | None = None
    roles: tuple[str, ...] = ()
    type: str = "route"  # route | acp
    comment: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    pointer: str = ""  # its JSON pointer in the merged document (/bindings/3)


@dataclass(slots=True)
class OCChannel:
    id: str
    pos: Pos
    accounts: tuple[str, ...] = ()  # channels.<id>.accounts keys
    default_account: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OCConfig:
    path: str  # the file given
    shape: str  # "list" | "entries" | "none" (no roster)
    agents: list[OCAgent]
    bindings: list[OCBinding]
    channels: dict[str, OCChannel]
    ownership: str | None = None  # agents.ownership (new shape)
    gateway_port: int | None = None
    gateway_port_pos: Pos | None = None
    state_dir: str | None = None  # OPENCLAW_STATE_DIR is the environment's; a config may set gateway paths
    default_max_concurrent: int | None = None  # agents.defaults.maxConcurrent
    data: dict[str, Any] = field(default_factory=dict)  # the merged document ($include resolved)
    positions: dict[str, Pos] = field(default_factory=dict)  # JSON pointer ("/agents/list/0/id") -> where
    files: tuple[str, ...] = ()  # the config and every file it included
    # The reader's record (clawctl.core.openclaw.source.ConfigSource): each file's text and the span of every
    # value, with ends and keys, for findings and code frames. None for a config built by hand.
    source: Any = field(default=None, repr=False, compare=False)

    def agent(self, agent_id: str) -> OCAgent | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def where(self, pointer: str) -> Pos:
        """Where ``pointer`` (or its nearest ancestor) was written."""
        while pointer not in self.positions and pointer:
            pointer = pointer.rsplit("/", 1)[0]
        return self.positions.get(pointer, Pos(self.path, 1, 1))
