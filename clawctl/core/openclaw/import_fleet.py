"""An openclaw.json as a fleet file (``clawctl import openclaw``): the text, and what was mapped. Pure.

What comes from OpenClaw (each mapping is documented in docs/cli.md, "import"):

- **agents**: the roster, either shape. An id outside clawctl's ``[a-z0-9][a-z0-9_-]*`` (63 chars) is
  renamed (OpenClaw allows a leading ``_`` and 64 characters) and keeps its OpenClaw id in ``x-openclaw-id``.
- **channels**: per agent, the channels of the bindings that name it (``route`` and ``acp``), plus, for
  the fallback owner (routing tier 9: the default or sole agent), every configured channel that no
  unconditional channel-wide binding (``accountId: "*"``) takes whole. Channel ids and OpenClaw's aliases
  become clawctl's (:data:`CHANNEL_IDS`: ``openclaw-weixin`` and ``weixin`` -> ``wechat``, ``teams`` ->
  ``msteams``, ...). Disabled channels (``enabled: false``) are left out.
- **max_concurrent_conversations**: the agent's ``maxConcurrent``, else ``agents.defaults.maxConcurrent``
  (floored, at least 1: the gateway's own reading). It caps the gateway's one ``main`` lane, which
  every agent shares.
- **isolation**: a ``session_isolation`` level per distinct sandbox (``agents.defaults.sandbox`` merged
  with the agent's own), see :func:`level_of`.
- **endpoint**: ``endpoint_kind: openclaw`` and ``http(s)://<host>:<gateway.port>``; without
  ``gateway.port`` a commented placeholder. **auth**: ``token_env`` names a variable, never a value: the
  ``${VAR}`` or env SecretRef that ``gateway.auth.token`` (or ``password``) names, else
  ``OPENCLAW_GATEWAY_TOKEN`` (``OPENCLAW_GATEWAY_PASSWORD`` in password mode); none for ``mode: none``.

What OpenClaw has no notion of (domain, region, capabilities, languages, hours, service time, backups,
load balancing, traffic) is written as commented-out keys under ``TODO(clawctl)`` for the user to fill.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from clawctl.core.openclaw.model import OCConfig
from clawctl.core.openclaw.routing import (
    fallback_owner,
    ignored_because,
    norm_agent,
    norm_channel,
    tier,
)

# OpenClaw channel ids and aliases (src/channels/ids.ts, 2026.9.6) that clawctl spells otherwise.
CHANNEL_IDS = {
    "openclaw-weixin": "wechat", "weixin": "wechat", "webchat": "website_chat", "lark": "feishu",
    "gchat": "googlechat", "google-chat": "googlechat", "imsg": "imessage", "internet-relay-chat": "irc",
    "teams": "msteams", "nc": "nextcloud-talk", "nc-talk": "nextcloud-talk", "twitch-chat": "twitch",
    "zl": "zalo", "zlu": "zalouser",
}
DEFAULT_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"
DEFAULT_PASSWORD_ENV = "OPENCLAW_GATEWAY_PASSWORD"
MAX_CAPACITY = 100_000  # clawctl's max_concurrent_conversations ceiling (core/limits.py)
_FLEET_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_MODE_RANK = {"all": 0, "non-main": 1, "off": 2}
_SCOPE_RANK = {"session": 0, "agent": 1, "shared": 2}
_CONTAINERS = ("docker", "podman", "openshell", "crabbox")


@dataclass(frozen=True, slots=True)
class Level:
    """One distinct sandbox: its clawctl ``session_isolation`` level."""

    mode: str  # off | non-main | all
    scope: str  # session | agent | shared
    backend: str  # docker | podman | ssh | openshell | crabbox | ...
    network: str | None  # docker.network for docker/podman ("none" by default), else None

    @property
    def name(self) -> str:
        if self.mode == "off":
            return "openclaw-host"
        name = f"openclaw-{self.mode}-{self.scope}"
        if self.backend != "docker":
            name += f"-{_slug(self.backend)}"
        if self.network not in (None, "none"):
            name += "-net"
        return name

    @property
    def memory_isolation(self) -> str | None:
        """``all`` in a container backend: container_level; ``off`` and ``non-main`` (the main session's
        tools run on the host): none; a remote backend (ssh, ...): not ours to say (None)."""
        if self.mode != "all":
            return "none"
        return "container_level" if self.backend in _CONTAINERS else None

    @property
    def network_segmentation(self) -> bool | None:
        if self.mode == "off":
            return False
        return None if self.network is None else self.network == "none"

    def rank(self) -> tuple:
        return (_MODE_RANK.get(self.mode, 3), _SCOPE_RANK.get(self.scope, 3), self.network_segmentation is not True,
                self.name)


@dataclass(slots=True)
class ImportedAgent:
    openclaw_id: str
    id: str
    channels: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)  # channel -> what gave it
    max_concurrent: int | None = None
    level: Level | None = None


@dataclass(slots=True)
class FleetImport:
    name: str
    agents: list[ImportedAgent]
    levels: list[Level]
    endpoint: str | None
    token_env: str | None
    text: str = ""
    notes: list[str] = field(default_factory=list)  # what the user should know (never a secret)
    suggestions: list[dict] = field(default_factory=list)  # openclaw.json fragments the notes propose


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _q(value: str) -> str:
    """A YAML scalar for ``value``: plain when every YAML reader keeps it a string, else double-quoted."""
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    """Text safe inside a ``#`` comment: one line, no control characters."""
    return "".join(c if c.isprintable() else "?" for c in text)


def fleet_id(openclaw_id: str, taken: set[str]) -> str:
    """A clawctl agent id for ``openclaw_id``, unique among ``taken``."""
    base = norm_agent(openclaw_id).lstrip("_-")[:63].rstrip("_-") or "agent"
    if not _FLEET_ID.fullmatch(base):
        base = "agent"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate, n = base[:63 - len(suffix)] + suffix, n + 1
    return candidate


def channel_id(openclaw_channel: str) -> str:
    channel = norm_channel(openclaw_channel)
    return CHANNEL_IDS.get(channel, channel)


def capacity(value: object) -> int | None:
    """``maxConcurrent`` as the gateway reads it (floored, at least 1), capped at clawctl's ceiling."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return min(MAX_CAPACITY, max(1, math.floor(value)))


def level_of(config: OCConfig, sandbox: dict | None) -> Level:
    """The level of an agent's sandbox: ``agents.defaults.sandbox`` with the agent's own keys over it
    (``docker`` merged key by key). Defaults as OpenClaw's: mode off, scope agent, backend docker, and
    no network for docker/podman."""
    base = _get(config.data, "agents", "defaults", "sandbox")
    merged = {**(base if isinstance(base, dict) else {}), **(sandbox or {})}
    docker = {**(_get(base, "docker") or {}), **(_get(sandbox, "docker") or {})} \
        if isinstance(_get(base, "docker") or {}, dict) and isinstance(_get(sandbox, "docker") or {}, dict) else {}
    mode = merged.get("mode") if merged.get("mode") in _MODE_RANK else "off"
    scope = merged.get("scope") if merged.get("scope") in _SCOPE_RANK else "agent"
    backend = merged.get("backend") if isinstance(merged.get("backend"), str) and merged.get("backend") else "docker"
    network = None
    if backend in ("docker", "podman"):
        network = docker.get("network") if isinstance(docker.get("network"), str) else "none"
    return Level(mode, scope if mode != "off" else "agent", backend if mode != "off" else "docker",
                 network if mode != "off" else None)


def _token_env(config: OCConfig, notes: list[str], suggestions: list[dict]) -> str | None:
    auth = _get(config.data, "gateway", "auth")
    auth = auth if isinstance(auth, dict) else {}
    mode = auth.get("mode")
    if mode in ("none", "trusted-proxy"):
        notes.append(f"gateway.auth.mode is {mode}: no token_env written")
        return None
    key = "password" if mode == "password" else "token"
    default = DEFAULT_PASSWORD_ENV if key == "password" else DEFAULT_TOKEN_ENV
    value = auth.get(key)
    if isinstance(value, dict) and value.get("source") == "env" and isinstance(value.get("id"), str):
        return value["id"] if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value["id"]) else default
    if isinstance(value, str):
        ref = _ENV_REF.fullmatch(value.strip())
        if ref:
            return ref.group(1)
        notes.append(f"gateway.auth.{key} holds a literal secret; it is not copied: set {default} where "
                     f"clawctl runs, and let openclaw.json read it from there too: {key}: \"${{{default}}}\"")
        suggestions.append({"gateway": {"auth": {key: f"${{{default}}}"}}})
    elif value is not None:
        notes.append(f"gateway.auth.{key} is a SecretRef clawctl cannot follow: set {default} where clawctl runs")
    return default


def _endpoint(config: OCConfig) -> tuple[str | None, str]:
    """(the gateway's base URL or None without gateway.port, a comment for the line)."""
    gateway = _get(config.data, "gateway")
    bind = _get(gateway, "bind")
    host = "127.0.0.1"
    custom = _get(gateway, "customBindHost")
    if bind == "custom" and isinstance(custom, str) and re.fullmatch(r"[A-Za-z0-9.-]+", custom):
        host = custom
    scheme = "https" if _get(gateway, "tls", "enabled") is True else "http"
    where = "" if bind in (None, "loopback", "custom") else f"; gateway.bind is {bind}: use the address clawctl reaches"
    if config.gateway_port is None:
        return None, ("TODO(clawctl): gateway.port is not set; OpenClaw listens on 18789 unless --port or "
                      f"OPENCLAW_GATEWAY_PORT says otherwise{where}")
    at = f" ({_at(config.gateway_port_pos, config)})" if config.gateway_port_pos else ""
    return f"{scheme}://{host}:{config.gateway_port}", f"gateway.port{at}{where}"


def _at(pos, config: OCConfig) -> str:
    return f"line {pos.line}" if pos.file == config.path else f"{pos.file}:{pos.line}"


def plan(config: OCConfig) -> FleetImport:
    """What the fleet file will say, before it is written out."""
    notes: list[str] = []
    taken: set[str] = set()
    agents: list[ImportedAgent] = []
    by_norm: dict[str, ImportedAgent] = {}
    for oc in config.agents:
        if norm_agent(oc.id) in by_norm:
            notes.append(f"agent {oc.id} is configured twice: the first entry is kept")
            continue
        agent = ImportedAgent(oc.id, fleet_id(oc.id, taken), level=level_of(config, oc.sandbox))
        taken.add(agent.id)
        agent.max_concurrent = capacity(oc.max_concurrent if oc.max_concurrent is not None
                                        else config.default_max_concurrent)
        if agent.id != oc.id:
            notes.append(f"agent {oc.id} is {agent.id} in the fleet (clawctl ids are [a-z0-9][a-z0-9_-]*, "
                         "63 characters at most)")
        agents.append(agent)
        by_norm[norm_agent(oc.id)] = agent
    disabled = {cid for cid, ch in config.channels.items() if ch.raw.get("enabled") is False}
    owner_id, _ = fallback_owner(config)
    owner = by_norm.get(norm_agent(owner_id)) if owner_id else None
    for b in config.bindings:
        if ignored_because(b) is not None and b.type != "acp" or not norm_channel(b.channel):
            continue
        target = by_norm.get(norm_agent(b.agent_id)) if (b.agent_id or "").strip() else owner
        if target is None:
            notes.append(f"bindings[{b.index}] ({_at(b.pos, config)}) names agent {b.agent_id}, which is not "
                         "configured: left out")
            continue
        if norm_channel(b.channel) in disabled:
            continue
        kind = " (acp)" if b.type == "acp" else ""
        _add(target, channel_id(b.channel), f"bindings[{b.index}]{kind} {_at(b.pos, config)}")
    if owner is not None:
        whole = {norm_channel(b.channel) for b in config.bindings if tier(b) == 8 and not b.roles}
        for cid in config.channels:
            if norm_channel(cid) not in whole and norm_channel(cid) not in disabled:
                _add(owner, channel_id(cid), "unbound traffic (routing tier 9: the fallback owner)")
    for agent in agents:
        if not agent.channels:
            notes.append(f"agent {agent.openclaw_id}: no binding routes to it")
    levels = sorted({a.level for a in agents if a.level is not None}, key=Level.rank)
    endpoint, _ = _endpoint(config)
    suggestions: list[dict] = []
    token_env = _token_env(config, notes, suggestions)
    if endpoint is None:
        notes.append("gateway.port is not set: the endpoint is left commented out (OpenClaw's default port is 18789)")
    result = FleetImport(_fleet_name(config), agents, levels, endpoint, token_env, notes=notes,
                         suggestions=suggestions)
    result.text = render(config, result)
    return result


def _add(agent: ImportedAgent, channel: str, source: str) -> None:
    if channel not in agent.channels:
        agent.channels.append(channel)
    agent.sources.setdefault(channel, []).append(source)


def _fleet_name(config: OCConfig) -> str:
    """``openclaw``, or the profile (``~/.openclaw-work/openclaw.json`` -> ``openclaw-work``)."""
    parts = config.path.replace("\\", "/").rsplit("/", 2)
    folder = parts[-2].lstrip(".") if len(parts) >= 2 else ""
    name = _slug(folder)
    return name if name.startswith("openclaw") else "openclaw"


# -- the text ---------------------------------------------------------------------------------------------
_TODO_DEFAULTS = (
    "# TODO(clawctl): what OpenClaw has no notion of; every agent inherits these unless it sets its own",
    "# region: us-east",
    "# timezone: Europe/Berlin",
    "# availability: 24/7  # or business_hours: {timezone: Europe/Berlin, schedule: 9AM-6PM weekdays}",
    "# service_time: {distribution: lognormal, mean: 90s, p95: 240s}  # for `clawctl simulate`",
)
_TODO_AGENT = (
    "# TODO(clawctl): what OpenClaw has no notion of",
    "# type: specialized",
    "# domain: customer_support",
    "# capabilities: [refund_handling]",
    "# languages: [english]",
    "# backups: []  # agents that take over its sessions when it fails",
)
_TODO_TAIL = (
    "# TODO(clawctl): how clawctl simulates, watches and drills this fleet. OpenClaw itself routes by bindings",
    "# (most specific wins; `clawctl openclaw route`) and balances no load: a strategy here is advisory.",
    "# load_balancing:",
    "#   strategy: least_conn",
    "# monitoring:",
    "#   thresholds: {response_time: 2000ms, error_rate: 5}",
    "# failover:",
    "#   objectives: {detection: 30s, agent_recovery: 2m}",
    "# traffic:",
    "#   arrivals: {rate: 120/min}",
)


def render(config: OCConfig, plan_: FleetImport) -> str:
    """The fleet file: YAML written by hand (the core parses no YAML and imports no writer), every string
    plain only where no YAML reader retypes it."""
    out = [f"# Fleet file written by `clawctl import openclaw` from {_comment(config.path)}.",
           "# From OpenClaw: the agents, their channels (bindings), capacity (maxConcurrent), isolation",
           "# (sandbox), the gateway's endpoint and the NAME of its token variable; no token is ever copied.",
           "# clawctl needs more than openclaw.json says: each TODO(clawctl) below is yours to fill in.",
           "apiVersion: clawctl/v1", "kind: Fleet", "metadata:", f"  name: {_q(plan_.name)}",
           "  labels:", "    source: openclaw", "  # owner: TODO(clawctl)", "defaults:", "  endpoint_kind: openclaw"]
    endpoint, why = _endpoint(config)
    if endpoint is None:
        out.append(f"  # endpoint: http://127.0.0.1:18789  # {_comment(why)}")
    else:
        out.append(f"  endpoint: {_q(endpoint)}  # {_comment(why)}")
    if plan_.token_env is not None:
        out += ["  auth:", f"    token_env: {_q(plan_.token_env)}  # a variable's name: clawctl never copies a token"]
    default_cap = capacity(config.default_max_concurrent)
    if default_cap is not None:
        out.append(f"  max_concurrent_conversations: {default_cap}  # agents.defaults.maxConcurrent: the "
                   "gateway's main lane, which all its agents share")
    else:
        out.append("  # max_concurrent_conversations: 8  # TODO(clawctl): agents.defaults.maxConcurrent is not "
                   "set; OpenClaw then runs max(8, 4 x CPUs)")
    out += ["  " + line for line in _TODO_DEFAULTS]
    out.append("agents:" if plan_.agents else "agents: {}  # TODO(clawctl): openclaw.json configures no agent")
    for agent in plan_.agents:
        out.append(f"  {_q(agent.id)}:")
        if agent.id != agent.openclaw_id:
            out.append(f"    x-openclaw-id: {json.dumps(agent.openclaw_id, ensure_ascii=False)}")
        if agent.channels:
            out.append("    channels:")
            out += [f"      - {_q(c)}  # {_comment('; '.join(agent.sources[c]))}" for c in agent.channels]
        else:
            out.append("    channels: []  # no binding routes to it: it receives nothing until one does")
        if agent.max_concurrent is not None and agent.max_concurrent != default_cap:
            out.append(f"    max_concurrent_conversations: {agent.max_concurrent}  # its maxConcurrent")
        if agent.level is not None:
            lv = agent.level
            said = "no sandbox (mode off)" if lv.mode == "off" else \
                f"sandbox mode {lv.mode}, scope {lv.scope}, backend {lv.backend}"
            out.append(f"    isolation: {_q(lv.name)}  # {_comment(said)}")
        out += ["    " + line for line in _TODO_AGENT]
    if plan_.levels:
        out += ["session_isolation:",
                "  # One level per distinct sandbox, strictest first. OpenClaw says nothing of encryption, audit",
                "  # logging or data classes: TODO(clawctl) add them (encryption: none | AES-128 | AES-256 |",
                "  # AES-256-GCM; audit_logging: none | basic | standard | comprehensive; data_classes: [...]).",
                "  security_levels:"]
        for lv in plan_.levels:
            out.append(f"    - level: {_q(lv.name)}")
            if lv.memory_isolation is not None:
                why = {"container_level": "every session's tools run in a sandbox container",
                       "none": "tools run on the gateway's host" if lv.mode == "off"
                       else "the main session's tools run on the gateway's host"}[lv.memory_isolation]
                out.append(f"      memory_isolation: {lv.memory_isolation}  # {why}")
            else:
                out.append(f"      # memory_isolation: TODO(clawctl): the {_comment(lv.backend)} backend's host decides")
            if lv.network_segmentation is not None:
                said = "sandbox.docker.network " + (lv.network or "") if lv.network else "no sandbox"
                out.append(f"      network_segmentation: {'true' if lv.network_segmentation else 'false'}  "
                           f"# {_comment(said)}")
    out += list(_TODO_TAIL)
    return "\n".join(out) + "\n"
