"""A: agents one by one (duplicate ids, hours, channels, time zones, weights)."""

from __future__ import annotations

from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import declare, finding, rule
from clawctl.core.lint.context import LintContext
from clawctl.core.suggest import did_you_mean

# OpenClaw's channel ids plus the three clawctl adds.
KNOWN_CHANNELS = (
    # OpenClaw's configurable channels, as its channel documentation listed them on 2026-08-22 (the
    # 2026.8.x releases). `weixin` and `wechat` are aliases of `openclaw-weixin`; OpenClaw's internal
    # `webchat` channel cannot be configured.
    "whatsapp", "telegram", "discord", "slack", "signal", "imessage", "googlechat", "msteams", "matrix",
    "mattermost", "irc", "line", "feishu", "nextcloud-talk", "nostr", "qqbot", "synology-chat", "tlon",
    "twitch", "zalo", "zalouser", "sms", "buzz", "clickclack", "raft", "reef", "yuanbao", "wecom",
    "openclaw-weixin", "weixin", "wechat", "openclaw-zaloclawbot",
    # clawctl's own
    "email", "website_chat", "voice",
)

_KNOWN = frozenset(KNOWN_CHANNELS)

declare("A001", "duplicate-agent", Severity.ERROR, "An agent id defined in two files of one fleet.", """
    Files of one fleet merge their `agents`; each id may appear once. The finding names the other file.
""")


@rule("A002", "hours-conflict", Severity.ERROR, "An agent sets both `availability` and `business_hours`.", """
    `availability: 24/7` and `business_hours` contradict each other; keep one. With neither, the
    agent is always available.
""")
def hours_conflict(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        if agent.availability is not None and agent.business_hours is not None:
            spec = agent.spec
            key = "availability" if spec.availability is not None else "business_hours"
            yield finding("A002", f"agent `{agent.id}` sets both `availability: 24/7` and `business_hours`; keep one",
                          agent.file, ("agents", agent.id, key), at_key=True)


@rule("A003", "unknown-channel", Severity.WARNING, "A channel id that OpenClaw and clawctl do not know.", """
    Channel ids are OpenClaw's (`whatsapp`, `telegram`, `slack`, ...) plus `email`, `website_chat` and
    `voice`. An unknown id is usually a typo; the message suggests the nearest known one.
""")
def unknown_channel(ctx: LintContext) -> Iterator[Finding]:
    from_defaults: set[str] = set()  # files whose `defaults.channels` were checked
    for agent in ctx.fleet.agents.values():
        if agent.spec.channels is not None:
            base: tuple = ("agents", agent.id, "channels")
        elif agent.channels and agent.file not in from_defaults:
            from_defaults.add(agent.file)  # inherited: report the defaults once, not once per agent
            base = ("defaults", "channels")
        else:
            continue
        for i, channel in enumerate(agent.channels):
            if channel not in _KNOWN:
                yield finding("A003", f"unknown channel `{channel}`{did_you_mean(channel, KNOWN_CHANNELS)}",
                              agent.file, (*base, i))
    traffic = ctx.fleet.traffic
    if traffic and traffic.mix:
        for i, entry in enumerate(traffic.mix):
            if entry.channel and entry.channel not in _KNOWN:
                yield finding("A003", f"unknown channel `{entry.channel}`{did_you_mean(entry.channel, KNOWN_CHANNELS)}",
                              ctx.fleet.where("traffic"), ("traffic", "mix", i, "channel"))


@rule("A004", "hours-without-zone", Severity.ERROR, "Business hours with no time zone to read them in.", """
    Business hours are evaluated in the agent's own time zone: `business_hours.timezone`, or else the
    agent's `timezone`. With neither, "9AM" means nothing.
""")
def hours_without_zone(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        if agent.business_hours is not None and not agent.hours_zone_name:
            yield finding("A004", f"agent `{agent.id}` has business hours but no time zone; "
                          "set `business_hours.timezone` or `timezone`",
                          agent.file, ("agents", agent.id, "business_hours"), at_key=True)


@rule("A005", "zone-mismatch", Severity.WARNING, "`business_hours.timezone` differs from the agent's `timezone`.", """
    An agent whose hours are kept in one zone while it says it lives in another is usually a copy-paste
    slip. The hours are evaluated in `business_hours.timezone`.
""")
def zone_mismatch(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        hours = agent.business_hours
        if hours is not None and hours.timezone and agent.timezone and hours.timezone != agent.timezone:
            yield finding("A005", f"agent `{agent.id}` lives in `{agent.timezone}` but keeps hours in "
                          f"`{hours.timezone}`", agent.file, ("agents", agent.id, "business_hours", "timezone"))


@rule("A006", "never-available", Severity.WARNING, "Business hours that never open.", """
    A window whose start equals its end, or with no days, never opens: the agent never takes work.
""")
def never_available(ctx: LintContext) -> Iterator[Finding]:
    for agent in ctx.fleet.agents.values():
        if not agent.ever_available():
            yield finding("A006", f"agent `{agent.id}` is never available: its business hours never open",
                          agent.file, ("agents", agent.id, "business_hours"), at_key=True)


@rule("A007", "all-drained", Severity.WARNING, "Every agent has `weight: 0`: nothing takes traffic.", """
    Weight 0 means drained. A fleet whose every agent is drained serves nothing until one is resumed.
""")
def all_drained(ctx: LintContext) -> Iterator[Finding]:
    agents = list(ctx.fleet.agents.values())
    if agents and all(a.weight == 0 for a in agents):
        first = agents[0]
        yield finding("A007", "every agent has `weight: 0`; the fleet takes no traffic", first.file,
                      ("agents", first.id), at_key=True)
