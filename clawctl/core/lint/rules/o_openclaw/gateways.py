"""O rules on the gateway as a whole: clawctl's keys inside openclaw.json, and several configs given
together sharing a port or a state directory."""

from __future__ import annotations

from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import rule
from clawctl.core.lint.rules.o_openclaw.common import (
    DEFAULT_PORT,
    OpenClawContext,
    agent_path,
    at,
    line_of,
    path_key,
    related,
)
from clawctl.core.openclaw.model import OCConfig

# Keys of clawctl's fleet format (docs/fleet-format.md), in the spellings people carry over, that OpenClaw's
# strict schema has no place for: at the top level, and in an agent (agents.defaults, agents.list[],
# agents.entries.<id>). Checked against `openclaw config schema` of 2026.9.6: none is an OpenClaw key there.
FLEET_TOP = ("apiVersion", "kind", "metadata", "defaults", "domain", "region", "regions", "business_hours",
             "businessHours", "load_balancing", "loadBalancing", "load_balancing_strategy", "monitoring",
             "failover", "traffic", "session_isolation", "sessionIsolation")
FLEET_AGENT = ("domain", "region", "regions", "business_hours", "businessHours", "availability", "timezone",
               "weight", "backups", "capabilities", "languages", "channels", "max_concurrent_conversations",
               "maxConcurrentConversations", "endpoint", "endpoint_kind", "endpointKind", "isolation",
               "data_access", "service_time", "performance", "load_balancing", "loadBalancing", "type")


@rule("O011", "clawctl-only-key", Severity.ERROR, "A clawctl fleet key inside openclaw.json.", """
    Domains, regions, business hours, weights, backups and load balancing are clawctl's: they live in
    the fleet file and clawctl's store, never in openclaw.json. OpenClaw validates its config strictly,
    so one such key stops the gateway from starting (and a supervisor restarts it in a loop). Checked
    at the top level (`load_balancing`, `traffic`, `failover`, `metadata`, ...) and in every agent
    (`agents.defaults`, `agents.list[]`, `agents.entries.<id>`: `domain`, `region`, `business_hours`,
    `timezone`, `weight`, `backups`, `capabilities`, `channels`, ...), in snake and camel case.
""", target="openclaw")
def clawctl_only_key(ctx: OpenClawContext) -> Iterator[Finding]:
    why = ("a clawctl fleet key: OpenClaw's strict schema refuses it and the gateway would not start; "
           "keep it in the fleet file")
    for config in ctx.configs:
        for key in config.data:
            if key in FLEET_TOP:
                yield at("O011", f"`{key}` is {why}", config, (key,), at_key=True)
        agents = config.data.get("agents")
        if not isinstance(agents, dict):
            continue
        places = []
        if isinstance(agents.get("defaults"), dict):
            places.append((("agents", "defaults"), agents["defaults"]))
        places += [(agent_path(config, i), agent.raw) for i, agent in enumerate(config.agents)]
        for path, spec in places:
            for key in spec:
                if key in FLEET_AGENT:
                    yield at("O011", f"`{key}` is {why}", config, (*path, key), at_key=True)


def _port_place(config: OCConfig) -> tuple[tuple, bool]:
    if config.gateway_port is not None:
        return ("gateway", "port"), False
    if isinstance(config.data.get("gateway"), dict):
        return ("gateway",), True
    return (), False


@rule("O012", "shared-gateway-port", Severity.ERROR, "Two configs given together use one gateway port.", """
    Configs given to one `clawctl validate` run are taken to be gateways of one deployment. Each
    gateway needs its own `gateway.port` (18789 when unset): the second one cannot bind it. OpenClaw
    derives more ports from the base port (browser control at +2, CDP up to +110), so keep base ports
    at least 120 apart (docs/gateway/multiple-gateways.md). `--port` and `OPENCLAW_GATEWAY_PORT`
    override the file at run time; clawctl reads the file only.
""", target="openclaw")
def shared_gateway_port(ctx: OpenClawContext) -> Iterator[Finding]:
    first: dict[int, OCConfig] = {}
    for config in ctx.configs:
        port = config.gateway_port if config.gateway_port is not None else DEFAULT_PORT
        other = first.setdefault(port, config)
        if other is config:
            continue
        path, at_key = _port_place(config)
        other_path, other_key = _port_place(other)
        unset = "" if config.gateway_port is not None else " (gateway.port is unset: the default)"
        yield at("O012", f"gateway port {port}{unset} is also the port of {other.path} "
                         f"({line_of(other, other_path) if other_path else other.path}): each gateway needs its own",
                 config, path, at_key=at_key,
                 related=(related(other, other_path, f"{other.path} uses port {port}", at_key=other_key),))


def _state_places(config: OCConfig) -> Iterator[tuple[str, str, tuple, str]]:
    """(what, normalised path, JSON path, as written) of each directory a gateway keeps state in."""
    if config.state_dir:
        yield "state directory", path_key(config.state_dir), (), config.state_dir
    defaults = config.data.get("agents", {}).get("defaults") if isinstance(config.data.get("agents"), dict) else None
    if isinstance(defaults, dict) and isinstance(defaults.get("workspace"), str) and defaults["workspace"].strip():
        yield "workspace", path_key(defaults["workspace"]), ("agents", "defaults", "workspace"), defaults["workspace"]
    for i, agent in enumerate(config.agents):
        if agent.agent_dir and agent.agent_dir.strip():
            yield "agentDir", path_key(agent.agent_dir), (*agent_path(config, i), "agentDir"), agent.agent_dir
        if agent.workspace and agent.workspace.strip():
            yield "workspace", path_key(agent.workspace), (*agent_path(config, i), "workspace"), agent.workspace


@rule("O013", "shared-state-dir", Severity.ERROR, "Two configs given together share a state directory.", """
    Each gateway keeps its sessions, credentials, locks and caches in its own state directory
    (`OPENCLAW_STATE_DIR`, `~/.openclaw` by default) and its agents' state in their `agentDir` and
    `workspace`. Gateways that share one corrupt each other's state; OpenClaw lets only one gateway
    own a state directory. Reported when two configs given together name the same `agentDir` or
    `workspace` (an agent's, or `agents.defaults.workspace`), or are the `openclaw.json` of the same
    folder reached by two paths (the folder holding `openclaw.json` is its state directory in
    OpenClaw's layout). Paths are compared as written (normalised), `~` unexpanded.
""", target="openclaw")
def shared_state_dir(ctx: OpenClawContext) -> Iterator[Finding]:
    first: dict[tuple[str, str], tuple[OCConfig, tuple]] = {}
    for config in ctx.configs:
        mine: set[tuple[str, str]] = set()
        for what, norm, path, shown in _state_places(config):
            kind = "state" if what == "state directory" else "dir"  # a workspace may not be an agentDir either
            key = (kind, norm)
            if key in mine:
                continue  # shared within one config: O002/O003
            mine.add(key)
            seen = first.setdefault(key, (config, path))
            if seen[0] is config:
                continue
            other, other_path = seen
            where = line_of(other, other_path) if other_path else other.path
            yield at("O013", f"{what} `{shown}` is also used by {other.path} ({where}): two gateways must not "
                             "share state (sessions, credentials, locks)", config, path, at_key=not path,
                     related=(related(other, other_path, f"{other.path} uses it"),))
