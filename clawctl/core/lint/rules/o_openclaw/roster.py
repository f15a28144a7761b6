"""O rules on the agent roster: shared directories, default agents, ownership, duplicate ids."""

from __future__ import annotations

from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import rule
from clawctl.core.lint.rules.o_openclaw.common import OpenClawContext, agent_path, at, line_of, path_key, related
from clawctl.core.openclaw.model import OCConfig
from clawctl.core.openclaw.routing import norm_agent


def _shared(config: OCConfig, attr: str, key: str, code: str, why: str) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for i, agent in enumerate(config.agents):
        value = getattr(agent, attr)
        if not isinstance(value, str) or not value.strip():
            continue
        norm = path_key(value)
        if norm not in first:
            first[norm] = i
            continue
        j = first[norm]
        other = config.agents[j]
        path = (*agent_path(config, i), key)
        other_path = (*agent_path(config, j), key)
        yield at(code, f"agent `{agent.id}` uses {key} `{value}`, as agent `{other.id}` does "
                       f"({line_of(config, other_path)}); {why}", config, path,
                 related=(related(config, other_path, f"agent `{other.id}` uses it first"),))


@rule("O002", "shared-agent-dir", Severity.ERROR, "Two agents of one config share an `agentDir`.", """
    `agentDir` holds an agent's own state: its auth profiles, session store and credentials. Two
    agents with one `agentDir` overwrite each other's sessions and invalidate each other's tokens;
    OpenClaw refuses such a config ("Duplicate agentDir detected"). Give each agent its own, or drop
    the override (the default is `<state dir>/agents/<id>/agent`). Directories are compared as
    written, after `a//b` and `a/b/` are normalised: `~/x` and `/home/me/x` are not recognised as one.
""", target="openclaw")
def shared_agent_dir(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        yield from _shared(config, "agent_dir", "agentDir", "O002",
                           "each agent needs its own (auth and session state would collide)")


@rule("O003", "shared-workspace", Severity.WARNING, "Two agents of one config share a `workspace`.", """
    The workspace holds an agent's files, memory and bootstrap documents (`AGENTS.md`, `SOUL.md`, ...).
    Agents that share one read and overwrite each other's notes and persona. OpenClaw accepts it, so
    this is a warning; give each agent its own folder unless the sharing is deliberate.
""", target="openclaw")
def shared_workspace(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        yield from _shared(config, "workspace", "workspace", "O003",
                           "agents sharing a workspace overwrite each other's files and memory")


@rule("O005", "no-default-agent", Severity.ERROR,
      "An `agents.list` roster of several agents with no `default: true`.", """
    In the old roster shape (`agents.list`, up to OpenClaw 2026.7) the agent marked `default: true`
    takes every message no binding matches. Without one, older gateways silently gave that traffic to
    the first entry; OpenClaw 2026.8 and later refuse the roster until one agent is marked, or the
    config says `agents.ownership: "explicit"` (unbound traffic then fails closed). A roster of
    one agent needs no marker.
""", target="openclaw")
def no_default_agent(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        if config.shape != "list" or len(config.agents) < 2 or config.ownership == "explicit":
            continue
        if not any(a.default for a in config.agents):
            yield at("O005", f"{len(config.agents)} agents in agents.list and none is `default: true`: mark the "
                             "agent that takes unbound traffic, or set `agents.ownership: \"explicit\"`",
                     config, ("agents", "ownership"), at_key=True)


@rule("O006", "several-default-agents", Severity.ERROR, "More than one agent marked `default: true`.", """
    One agent at most takes the traffic no binding matches. OpenClaw refuses a roster with several
    `default: true` markers ("must contain at most one default=true entry"); keep the marker on one.
    In the new shape (`agents.entries`) `default` is retired: prefer `agents.ownership: "explicit"`.
""", target="openclaw")
def several_default_agents(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        marked = [i for i, a in enumerate(config.agents) if a.default]
        first = config.agents[marked[0]].id if marked else ""
        for i in marked[1:]:
            yield at("O006", f"agent `{config.agents[i].id}` is `default: true`, and so is agent `{first}`; "
                             "keep the marker on one agent", config, (*agent_path(config, i), "default"),
                     related=(related(config, (*agent_path(config, marked[0]), "default"),
                                      f"agent `{first}` is marked first"),))


@rule("O007", "missing-explicit-ownership", Severity.ERROR,
      "An `agents.entries` roster of several agents without `agents.ownership: \"explicit\"`.", """
    From OpenClaw 2026.8.1 a roster is `agents.entries`, and a fleet of several agents has no default
    agent: it is stamped `agents.ownership: "explicit"`, so traffic no binding matches fails closed
    instead of going to whichever agent came first. The gateway refuses a multi-agent `entries` roster
    without the stamp (unless one legacy `default: true` marker is left). `explicit` is its only value.
""", target="openclaw")
def missing_explicit_ownership(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        if config.shape != "entries":
            continue
        value = config.data.get("agents", {}).get("ownership") if isinstance(config.data.get("agents"), dict) \
            else None
        if value is not None and value != "explicit":
            yield at("O007", "`agents.ownership` takes one value, \"explicit\"", config, ("agents", "ownership"))
            continue
        marked = sum(1 for a in config.agents if a.default)
        if len(config.agents) >= 2 and value is None and marked != 1:
            yield at("O007", f"{len(config.agents)} agents in agents.entries and no `agents.ownership: \"explicit\"`: "
                             "the gateway refuses a multi-agent roster without it", config,
                     ("agents", "ownership"), at_key=True)


@rule("O014", "duplicate-agent-id", Severity.ERROR, "Two `agents.list` entries with one agent id.", """
    Agent ids are compared as OpenClaw normalises them (lowercased; characters other than letters,
    digits, `_` and `-` folded to `-`), so `Sales` and `sales` are one agent. The gateway cannot load
    two agents under one id (the 2026.8 migration to `agents.entries` fails on it). The new shape,
    keyed by id, cannot repeat an id.
""", target="openclaw")
def duplicate_agent_id(ctx: OpenClawContext) -> Iterator[Finding]:
    for config in ctx.configs:
        if config.shape != "list":
            continue
        first: dict[str, int] = {}
        for i, agent in enumerate(config.agents):
            norm = norm_agent(agent.id)
            if norm not in first:
                first[norm] = i
                continue
            other_path = (*agent_path(config, first[norm]), "id")
            yield at("O014", f"agent id `{agent.id}` is already defined ({line_of(config, other_path)})", config,
                     (*agent_path(config, i), "id"),
                     related=(related(config, other_path, "first defined here"),))
