"""O rules on bindings and channels: unknown agents and channels, shadowed bindings, implicit accounts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import rule
from clawctl.core.lint.rules.o_openclaw.common import (
    KNOWN_CHANNELS,
    ROUTED_CHANNELS,
    OpenClawContext,
    at,
    line_of,
    related,
)
from clawctl.core.openclaw.model import TIERS, OCBinding, OCConfig
from clawctl.core.openclaw.reader import NOT_CHANNELS
from clawctl.core.openclaw.routing import (
    DEFAULT_AGENT,
    IGNORED,
    norm_account,
    norm_agent,
    norm_channel,
    norm_id,
    norm_kind,
    same_match,
    tier,
)
from clawctl.core.suggest import did_you_mean

_TIER_TEXT = {n: text for n, _, text in TIERS}


def _roster_name(config: OCConfig) -> str:
    return {"list": "agents.list", "entries": "agents.entries"}.get(config.shape, "the config (it has no roster)")


@rule("O001", "unknown-binding-agent", Severity.ERROR, "A binding names an agent the roster does not define.", """
    `bindings[].agentId` must name an agent of `agents.list` or `agents.entries`, compared as OpenClaw
    normalises ids (lowercased; other characters than letters, digits, `_` and `-` folded to `-`).
    The gateway refuses the config ("Unknown agent id"). `main` is accepted without a roster entry:
    OpenClaw maps it to its built-in agent. ACP bindings (`type: "acp"`) are checked too.
""", target="openclaw")
def unknown_binding_agent(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        roster = {norm_agent(a.id): a.id for a in config.agents}
        names = list(roster.values())
        for b in config.bindings:
            if b.agent_id is None or not b.agent_id.strip():
                continue
            wanted = norm_agent(b.agent_id)
            if wanted in roster or wanted == DEFAULT_AGENT:
                continue
            hint = did_you_mean(b.agent_id, names, case_insensitive=True)
            yield at("O001", f"bindings[{b.index}] routes to agent `{b.agent_id}`, which {_roster_name(config)} "
                             f"does not define{hint}", config, ("bindings", b.index, "agentId"))


def _key(b: OCBinding, account: str | None = None) -> tuple:
    """What a binding matches, normalised as the gateway does (``routing.same_match`` confirms)."""
    pattern = account or ("*" if (b.account_id or "").strip() == "*" else norm_account(b.account_id))
    peer = None
    if b.peer is not None:
        kind = norm_kind(b.peer.kind)
        peer = ("group" if kind == "channel" else kind, norm_id(b.peer.id))
    return (tier(b), norm_channel(b.channel), pattern, peer, norm_id(b.guild_id), norm_id(b.team_id),
            frozenset(b.roles) if b.roles else None)


@rule("O004", "shadowed-binding", Severity.WARNING, "A binding that can never win.", """
    OpenClaw routes a message by the most specific tier that matches (exact peer, parent peer, peer
    wildcard, guild + roles, guild, team, exact account, any account) and, within a tier, the first
    binding in config order. A later binding of the same tier that matches exactly the same messages
    as an earlier one (same channel, account, peer, guild, team and roles, compared as the gateway
    normalises them) never receives anything; nor does one whose only difference is a named
    `accountId` where the earlier one says `accountId: "*"` (which also matches that account).
    OpenClaw accepts such a config without a word. Remove the later binding, or make it more specific.
""", target="openclaw")
def shadowed_binding(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        first: dict[tuple, OCBinding] = {}
        for b in config.bindings:
            own = tier(b)
            if own == IGNORED:
                continue
            key = _key(b)
            winner = first.get(key)
            if winner is not None and not same_match(winner, b):
                winner = None
            if winner is None and key[2] != "*":  # an earlier `accountId: "*"` of the same tier covers it
                wide = first.get(_key(b, "*"))
                if wide is not None and _key(wide)[0] == own and same_match(wide, replace(b, account_id="*")):
                    winner = wide
            if winner is None:
                first.setdefault(key, b)
                continue
            where = ("bindings", winner.index, "match")
            yield at("O004", f"bindings[{b.index}] can never win: bindings[{winner.index}] "
                             f"({line_of(config, where)}) comes first in the same tier ({_TIER_TEXT[own]}) and "
                             "matches every message this one matches", config, ("bindings", b.index, "match"),
                     at_key=True, related=(related(config, where, f"bindings[{winner.index}] wins", at_key=True),))


PEER_KINDS = ("direct", "group", "channel")


@rule("O015", "invalid-peer-kind", Severity.ERROR,
      "A binding's `match.peer` without a valid `kind` and `id`.", """
    `match.peer` needs `kind`, one of `direct`, `group` or `channel` exactly as written here, and an
    `id` (`"*"` for any peer of that kind). OpenClaw 2026.9 refuses anything else, the old alias `dm`
    and capitalised kinds included ("Invalid input (allowed: direct, group, channel)"); before that,
    routing silently skipped such a binding. Write `direct` for `dm`.
""", target="openclaw")
def invalid_peer_kind(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        for b in config.bindings:
            peer = b.raw.get("match", {}).get("peer") if isinstance(b.raw.get("match"), dict) else None
            if peer is None:
                continue
            if not isinstance(peer, dict):
                yield at("O015", f"bindings[{b.index}]: `match.peer` is an object `{{kind, id}}`", config,
                         ("bindings", b.index, "match", "peer"))
                continue
            kind = peer.get("kind")
            if kind not in PEER_KINDS:
                hint = " (`dm` is now `direct`)" if isinstance(kind, str) and kind.strip().lower() == "dm" else ""
                shown = f"`{kind}`" if isinstance(kind, str) else "missing"
                yield at("O015", f"bindings[{b.index}]: peer kind {shown} is not one of direct, group, channel{hint}",
                         config, ("bindings", b.index, "match", "peer", "kind") if "kind" in peer
                         else ("bindings", b.index, "match", "peer"), at_key="kind" not in peer)
            elif b.peer is None or not norm_id(b.peer.id):
                yield at("O015", f"bindings[{b.index}]: the peer has no `id` (write `\"*\"` for any {kind} peer)",
                         config, ("bindings", b.index, "match", "peer"), at_key=True)


@rule("O008", "implicit-account", Severity.WARNING,
      "A binding without `accountId` on a channel that has several accounts.", """
    A binding that leaves out `accountId` matches only the channel's account `default` (OpenClaw
    2026.9 routing; `defaultAccount` does not change that). On a channel with several accounts under
    `channels.<id>.accounts` that is rarely what was meant: name the account, or write
    `accountId: "*"` for all of them.
""", target="openclaw")
def implicit_account(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        by_norm = {norm_channel(cid): ch for cid, ch in config.channels.items()}
        for b in config.bindings:
            if (b.account_id or "").strip() or tier(b) == IGNORED:
                continue
            channel = by_norm.get(norm_channel(b.channel))
            if channel is None or len(channel.accounts) < 2:
                continue
            shown = ", ".join(sorted(channel.accounts)[:5]) + (", ..." if len(channel.accounts) > 5 else "")
            yield at("O008", f"bindings[{b.index}] names no accountId, so it matches only the account `default`; "
                             f"channels.{channel.id} has {len(channel.accounts)} accounts ({shown}): name one, or "
                             "write `accountId: \"*\"` for all", config, ("bindings", b.index, "match"), at_key=True)


@rule("O009", "unknown-openclaw-channel", Severity.ERROR, "A key of `channels` that is not an OpenClaw channel.", """
    `channels.<id>` configures one channel; OpenClaw refuses an id it does not know ("unknown channel
    id"). Known: the channels of OpenClaw 2026.9.6 (`whatsapp`, `telegram`, `discord`, `slack`,
    `signal`, `imessage`, `googlechat`, `msteams`, `matrix`, ... `a2a`, `qa-channel`), the documented
    plugin channels (`qqbot`, `yuanbao`, `wecom`, `openclaw-weixin` with its aliases `weixin` and
    `wechat`, `openclaw-zaloclawbot`), and the keys `defaults` and `modelByChannel`. A channel that a
    plugin of your own adds is reported too: `--ignore O009` for such a config.
""", target="openclaw")
def unknown_channel(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        channels = config.data.get("channels")
        if not isinstance(channels, dict):
            continue
        for cid in channels:
            if cid in KNOWN_CHANNELS or cid in NOT_CHANNELS:
                continue
            yield at("O009", f"unknown channel `{cid}`{did_you_mean(cid, KNOWN_CHANNELS)}: the gateway refuses "
                             "channels it does not know", config, ("channels", cid), at_key=True)


@rule("O010", "binding-unknown-channel", Severity.WARNING,
      "A binding for a channel that OpenClaw does not know and the config does not configure.", """
    `match.channel` is compared with the channel of each inbound message; a misspelt id (`telegarm`)
    matches nothing, silently: OpenClaw accepts the binding. Known ids are those of O009 and
    `webchat`, plus any channel configured under `channels` in the same config.
""", target="openclaw")
def binding_unknown_channel(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        configured = {norm_channel(cid) for cid in config.channels}
        for b in config.bindings:
            channel = norm_channel(b.channel)
            if not channel or channel in ROUTED_CHANNELS or channel in configured:
                continue
            yield at("O010", f"bindings[{b.index}] is for channel `{b.channel}`, which OpenClaw does not know"
                             f"{did_you_mean(channel, ROUTED_CHANNELS)}: it matches no message",
                     config, ("bindings", b.index, "match", "channel"))
