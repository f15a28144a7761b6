"""Which agent an OpenClaw gateway gives a message to: bindings, most specific first. Pure.

This mirrors ``resolveAgentRoute`` of OpenClaw 2026.9.6 (``src/routing/resolve-route.ts``,
``binding-scope.ts``, ``account-id.ts``; the documented order is docs/channels/channel-routing.md).

**A binding's tier** (:func:`tier`) is fixed by the most specific field it sets, the bucket the gateway
indexes it under; the other fields it sets must match too (AND):

====  =====================================  =================================================
tier  the binding sets                       it matches when
====  =====================================  =================================================
1     ``peer`` with an id                    the message's peer has that kind and id
2     (a tier-1 binding, reached by thread)  the message's *parent* peer has that kind and id
3     ``peer`` with id ``"*"``               the message has a peer of that kind
4     ``guildId`` + ``roles``                that guild, and the member has one of the roles
5     ``guildId``                            that guild
6     ``teamId``                             that team
7     ``accountId`` other than ``"*"``, or   the message arrives on that account; an omitted
      no ``accountId`` at all                ``accountId`` means account ``default``
8     ``accountId: "*"``                     any account of the channel
9     (no binding matched)                   the fallback owner, see :func:`fallback_owner`
====  =====================================  =================================================

:func:`tier` never returns 2: a tier-1 binding *matches* at tier 2 when only the parent peer fits. It
returns :data:`IGNORED` (0) for bindings the gateway leaves out of routing (``type: acp``, no channel,
a peer without a valid kind or id). Every binding must match the channel (case-insensitive) and the
account (``"*"`` any; else the normalised id, ``""`` being ``default``). Peer kinds ``group`` and
``channel`` match each other; ``dm`` is ``direct``. Ids are compared trimmed and case-sensitive;
channel and account ids lowercased. ``roles`` match when the member has any one of them.

**Ties.** The lowest tier that matched wins; within it, the first binding in config order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from clawctl.core.openclaw.model import TIERS, OCBinding, OCChannel, OCConfig, Peer

IGNORED = 0  # tier(): the gateway does not route by this binding
DEFAULT_ACCOUNT = "default"  # OpenClaw's DEFAULT_ACCOUNT_ID
DEFAULT_AGENT = "main"  # OpenClaw's DEFAULT_AGENT_ID
TIER_NAMES = {n: (name, text) for n, name, text in TIERS}
MATCHED_BY = {1: "binding.peer", 2: "binding.peer.parent", 3: "binding.peer.wildcard", 4: "binding.guild+roles",
              5: "binding.guild", 6: "binding.team", 7: "binding.account", 8: "binding.channel", 9: "default"}
PEER_KINDS = ("direct", "group", "channel")
_VALID_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.IGNORECASE)
_INVALID_CHARS = re.compile(r"[^a-z0-9_-]+")
_BLOCKED_KEYS = frozenset({"__proto__", "constructor", "prototype"})


@dataclass(frozen=True, slots=True)
class Message:
    """An inbound message as routing sees it. ``account`` None: the account ``default``."""

    channel: str
    account: str | None = None
    peer: Peer | None = None
    parent_peer: Peer | None = None  # the thread's parent conversation
    guild_id: str | None = None
    team_id: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(slots=True)
class Considered:
    """One binding and what became of it. ``outcome``: won | lower-tier | later | no-match | ignored."""

    binding: OCBinding
    tier: int  # the binding's own tier (IGNORED for bindings routing leaves out)
    outcome: str
    matched_tier: int | None  # the tier it matched this message at, None when it did not match
    field: str | None  # no-match: the field that failed (channel, accountId, peer, guildId, teamId, roles)
    reason: str


@dataclass(slots=True)
class Decision:
    """``outcome``: routed (``agent_id`` receives it), nobody (no binding and no fallback owner: the gateway
    refuses the message), unknown-agent (the deciding binding names an agent that is not configured)."""

    message: Message  # with the account routing used
    outcome: str
    agent_id: str | None
    tier: int  # 1-9
    binding: OCBinding | None  # the deciding binding (None at tier 9)
    reason: str
    considered: list[Considered] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suggestion: dict | None = None  # a binding to add to openclaw.json when nobody receives the message

    @property
    def matched_by(self) -> str:
        """OpenClaw's own name for the decision (``matchedBy`` in its debug log)."""
        return MATCHED_BY[self.tier]


# -- normalisation, as the gateway does it ----------------------------------------------------------------
def norm_channel(value: str | None) -> str:
    return (value or "").strip().lower()


def norm_account(value: str | None) -> str:
    """``normalizeAccountId``: blank -> ``default``; lowercased, other characters folded to ``-``."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_ACCOUNT
    low = text.lower()
    if not _VALID_ID.fullmatch(text):
        low = _INVALID_CHARS.sub("-", low).strip("-")[:64]
    return low if low and low not in _BLOCKED_KEYS else DEFAULT_ACCOUNT


def norm_agent(value: str | None) -> str:
    """``normalizeAgentId``: like an account id; nothing left -> ``main``."""
    text = (value or "").strip()
    low = text.lower()
    if not _VALID_ID.fullmatch(text):
        low = _INVALID_CHARS.sub("-", low).strip("-")[:64]
    return low or DEFAULT_AGENT


def norm_id(value: object) -> str:
    return str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def norm_kind(value: str | None) -> str | None:
    kind = (value or "").strip().lower()
    kind = "direct" if kind == "dm" else kind
    return kind if kind in PEER_KINDS else None


def kinds_match(a: str | None, b: str | None) -> bool:
    return a == b or {a, b} == {"group", "channel"}


def _peer_key(peer: Peer | None) -> tuple[str, str] | None:
    """(kind, id) with ``channel`` folded into ``group`` as the gateway's peer index does; None when invalid."""
    if peer is None:
        return None
    kind, pid = norm_kind(peer.kind), norm_id(peer.id)
    if kind is None or not pid:
        return None
    return ("group" if kind == "channel" else kind, pid)


def _roles(binding: OCBinding) -> frozenset[str] | None:
    return frozenset(binding.roles) if binding.roles else None


# -- a binding on its own ---------------------------------------------------------------------------------
def ignored_because(binding: OCBinding) -> str | None:
    """Why routing leaves ``binding`` out, or None when it takes part."""
    if binding.type == "acp":
        return "an ACP binding (type: acp): resolved by the ACP layer, not by routing"
    if not norm_channel(binding.channel):
        return "no match.channel"
    if binding.peer is not None and _peer_key(binding.peer) is None:
        return "match.peer needs a kind (direct, group, channel) and an id; the gateway skips it"
    return None


def tier(binding: OCBinding) -> int:
    """The binding's tier, 1-8 (never 2: see the module doc), or :data:`IGNORED`."""
    if ignored_because(binding) is not None:
        return IGNORED
    if binding.peer is not None:
        return 3 if norm_id(binding.peer.id) == "*" else 1
    if norm_id(binding.guild_id):
        return 4 if binding.roles else 5
    if norm_id(binding.team_id):
        return 6
    return 8 if (binding.account_id or "").strip() == "*" else 7


def _account_pattern(binding: OCBinding) -> str:
    return "*" if (binding.account_id or "").strip() == "*" else norm_account(binding.account_id)


def same_match(a: OCBinding, b: OCBinding) -> bool:
    """Whether ``a`` and ``b`` match exactly the same messages (so the later of the two never wins).

    Compared as the gateway normalises them: channel, account pattern (omitted = ``default``), peer
    (``group`` = ``channel``), guild, team, and roles as a set. Bindings routing ignores match nothing
    and are never "the same" as anything."""
    if tier(a) == IGNORED or tier(b) == IGNORED:
        return False
    return (norm_channel(a.channel), _account_pattern(a), _peer_key(a.peer), norm_id(a.guild_id),
            norm_id(a.team_id), _roles(a)) == \
           (norm_channel(b.channel), _account_pattern(b), _peer_key(b.peer), norm_id(b.guild_id),
            norm_id(b.team_id), _roles(b))


def _scope(binding: OCBinding, msg: Message) -> tuple[str, str] | None:
    """``routeBindingScopeMatches``: guild, team and roles; (field, why) for the first that fails."""
    guild, team = norm_id(binding.guild_id), norm_id(binding.team_id)
    if guild and guild != norm_id(msg.guild_id):
        return "guildId", f"guildId {guild} wanted, the message's is {norm_id(msg.guild_id) or 'none'}"
    if team and team != norm_id(msg.team_id):
        return "teamId", f"teamId {team} wanted, the message's is {norm_id(msg.team_id) or 'none'}"
    roles = _roles(binding)
    if roles and not roles & set(msg.roles):
        have = ", ".join(msg.roles) or "none"
        return "roles", f"one of roles {', '.join(sorted(roles))} wanted, the member has {have}"
    return None


def _peer_text(peer: Peer | None) -> str:
    return f"{norm_kind(peer.kind) or peer.kind}:{norm_id(peer.id)}" if peer else "none"


def _match(binding: OCBinding, msg: Message) -> tuple[int | None, str | None, str]:
    """(the tier ``binding`` matches ``msg`` at or None, the failing field, why)."""
    why = ignored_because(binding)
    if why is not None:
        return None, None, why
    if norm_channel(binding.channel) != norm_channel(msg.channel):
        return None, "channel", f"channel {norm_channel(binding.channel)}, the message's is {norm_channel(msg.channel)}"
    pattern, account = _account_pattern(binding), norm_account(msg.account)
    if pattern != "*" and pattern != account:
        said = "accountId omitted: only account default" if not (binding.account_id or "").strip() \
            else f"accountId {pattern}"
        return None, "accountId", f"{said}; the message arrives on {account}"
    own = tier(binding)
    if own == 1:
        key = _peer_key(binding.peer)
        if msg.peer is not None and _peer_key(msg.peer) == key:
            failed = _scope(binding, msg)
            return (1, None, "exact peer") if failed is None else (None, *failed)
        if msg.parent_peer is not None and _peer_key(msg.parent_peer) == key:
            failed = _scope(binding, msg)
            return (2, None, "parent peer (thread)") if failed is None else (None, *failed)
        seen = _peer_text(msg.peer) + (f" (parent {_peer_text(msg.parent_peer)})" if msg.parent_peer else "")
        return None, "peer", f"peer {_peer_text(binding.peer)} wanted, the message's is {seen}"
    if own == 3:
        kind = norm_kind(binding.peer.kind) if binding.peer else None
        if msg.peer is None or not kinds_match(kind, norm_kind(msg.peer.kind)):
            return None, "peer", f"a {kind} peer wanted, the message's is {_peer_text(msg.peer)}"
    if own == 4 and not msg.roles:
        return None, "roles", "guildId + roles: the member has no roles"
    failed = _scope(binding, msg)
    if failed is not None:
        return None, *failed
    return own, None, TIER_NAMES[own][1]


def matches(binding: OCBinding, message: Message) -> tuple[bool, str]:
    """Whether ``binding`` applies to ``message`` (every field it sets matches), and why (not)."""
    at, failed, why = _match(binding, message)
    if at is None:
        return False, (f"{failed}: {why}" if failed else f"ignored: {why}")
    return True, f"matches at tier {at} ({TIER_NAMES[at][1]})"


# -- the whole config -------------------------------------------------------------------------------------
def _system_agent(config: OCConfig) -> str | None:
    agents = config.data.get("agents") if isinstance(config.data, dict) else None
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    system = defaults.get("systemAgent") if isinstance(defaults, dict) else None
    value = system.get("agentId") if isinstance(system, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _roster(config: OCConfig) -> dict[str, str]:
    """normalised id -> the id as configured (the first of duplicates)."""
    out: dict[str, str] = {}
    for agent in config.agents:
        out.setdefault(norm_agent(agent.id), agent.id)
    return out


def fallback_owner(config: OCConfig) -> tuple[str | None, str]:
    """Tier 9: who gets a message no binding matched, and why; (None, why) when nobody does.

    OpenClaw 2026.9.6 (``tryResolveLegacyCompatibilityAgentId``, then ``resolveDefaultAgentId``):
    with ``agents.ownership: explicit``, ``agents.defaults.systemAgent.agentId`` when it names a configured
    agent, else the sole agent, else nobody (fails closed); otherwise the one agent marked ``default: true``,
    else the sole agent, else ``main`` when the file has no roster at all, else nobody. Gateways before
    2026.8 took the first ``agents.list`` entry instead of refusing."""
    roster = _roster(config)
    if config.ownership == "explicit":
        system = _system_agent(config)
        if system is not None and norm_agent(system) in roster:
            return roster[norm_agent(system)], "agents.defaults.systemAgent.agentId (ownership: explicit)"
        if len(config.agents) == 1:
            return config.agents[0].id, "the sole agent"
        return None, (f"ownership: explicit and {len(roster)} agents: unbound traffic fails closed" if roster
                      else "no agents are configured")
    marked = [a for a in config.agents if a.default or a.raw.get("default") is True]
    if len(marked) == 1:
        return marked[0].id, "the default agent (default: true)"
    if len(config.agents) == 1:
        return config.agents[0].id, "the sole agent"
    if not roster and config.shape == "none":
        return DEFAULT_AGENT, "no agent roster: the implicit agent main"
    if not roster:
        return None, "no agents are configured"
    why = "several agents marked default: true" if marked else "no agent is marked default: true"
    return None, f"{len(roster)} agents and {why}: unbound traffic has no owner"


def _resolve_agent(config: OCConfig, agent_id: str | None) -> tuple[str | None, str | None]:
    """``pickFirstExistingAgentId``: (the configured agent a binding's ``agentId`` names, a note)."""
    if not (agent_id or "").strip():
        owner, why = fallback_owner(config)
        return owner, f"the binding names no agent: {why}"
    roster = _roster(config)
    wanted = norm_agent(agent_id)
    if wanted in roster:
        return roster[wanted], None
    if wanted == DEFAULT_AGENT:
        return DEFAULT_AGENT, "agentId main is not in the roster; OpenClaw maps it to its built-in agent main"
    if not roster:
        return wanted, None
    return None, f"the binding names agent {agent_id}, which is not configured: the gateway refuses the route"


def _channel(config: OCConfig, channel: str) -> OCChannel | None:
    wanted = norm_channel(channel)
    return next((ch for cid, ch in config.channels.items() if norm_channel(cid) == wanted), None)


def default_account(config: OCConfig, channel: str) -> tuple[str, str]:
    """The account a message on ``channel`` arrives on when none is named, and where that comes from:
    ``channels.<id>.defaultAccount``, else ``default`` when configured (or no accounts are), else the first
    account id in sorted order (docs/concepts/multi-agent.md, "Multiple accounts")."""
    ch = _channel(config, channel)
    if ch is None:
        return DEFAULT_ACCOUNT, "the default account"
    if ch.default_account:
        return norm_account(ch.default_account), f"channels.{ch.id}.defaultAccount"
    accounts = sorted(norm_account(a) for a in ch.accounts)
    if not accounts or DEFAULT_ACCOUNT in accounts:
        return DEFAULT_ACCOUNT, "the channel's default account"
    return accounts[0], f"the first of channels.{ch.id}.accounts (no defaultAccount)"


def route(config: OCConfig, message: Message) -> Decision:
    """The agent ``message`` goes to, the tier and binding that decided it, and every binding's fate.
    A message without an account arrives on the channel's :func:`default_account`."""
    notes = []
    if message.account is None:
        account, source = default_account(config, message.channel)
        message = replace(message, account=account)
        notes.append(f"no account given: account {account}, {source}")
    rows = []
    for b in config.bindings:
        at, failed, why = _match(b, message)
        rows.append([b, tier(b), at, failed, why])
    matched = [r for r in rows if r[2] is not None]
    winner = min(matched, key=lambda r: r[2]) if matched else None  # min keeps the first of equals: config order
    considered = []
    for b, own, at, failed, why in rows:
        if own == IGNORED:
            outcome, text = "ignored", f"ignored: {why}"
        elif at is None:
            outcome, text = "no-match", f"no match: {why}"
        elif winner is not None and b is winner[0]:
            outcome, text = "won", f"won at tier {at} ({why})"
        elif at > winner[2]:
            outcome = "lower-tier"
            text = (f"matched at tier {at} ({TIER_NAMES[at][1]}), but tier {winner[2]} "
                    f"({TIER_NAMES[winner[2]][1]}) is more specific")
        else:
            outcome = "later"
            text = f"matched at tier {at} too, but bindings[{winner[0].index}] comes first in config order"
        considered.append(Considered(b, own, outcome, at, failed, text))
    notes += _notes(config, message)
    if winner is not None:
        b, at = winner[0], winner[2]
        agent, note = _resolve_agent(config, b.agent_id)
        if note:
            notes.append(note)
        outcome = "routed" if agent is not None else "unknown-agent"
        reason = f"bindings[{b.index}] matched at tier {at} ({TIER_NAMES[at][1]})"
        return Decision(message, outcome, agent, at, b, reason, considered, notes)
    agent, why = fallback_owner(config)
    suggestion = None
    if agent is None:
        suggestion = {"agentId": "<agentId>", "match": {"channel": norm_channel(message.channel),
                                                        "accountId": norm_account(message.account)}}
    return Decision(message, "routed" if agent else "nobody", agent, 9, None, f"no binding matched: {why}",
                    considered, notes, suggestion)


def _notes(config: OCConfig, message: Message) -> list[str]:
    notes = []
    channel = _channel(config, message.channel)
    if config.channels and channel is None:
        notes.append(f"channels.{norm_channel(message.channel)} is not configured in this file")
    omitted = [b for b in config.bindings if not (b.account_id or "").strip()
               and norm_channel(b.channel) == norm_channel(message.channel)]
    if channel is not None and omitted and channel.default_account \
            and norm_account(channel.default_account) != DEFAULT_ACCOUNT:
        notes.append(f"channels.{channel.id}.defaultAccount is {channel.default_account}, but a binding without "
                     "accountId matches only the account named default (OpenClaw 2026.9.6 routing)")
    return notes
