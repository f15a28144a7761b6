"""`clawctl agent serve`: build reference agents from a fleet file (or flags) and serve them."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
from dataclasses import dataclass
from pathlib import Path

from clawctl import __version__
from clawctl.core.errors import UsageError
from clawctl.core.model.agent import Agent
from clawctl.core.refagent import AgentInfo, Budget, ReferenceAgent
from clawctl.services.probe import check_number
from clawctl.services.validate import load_fleet


@dataclass
class ServeOptions:
    agent_id: str | None
    port: int = 0
    host: str = "127.0.0.1"
    fleet: str | None = None
    token_env: str | None = None
    time_scale: float = 1.0
    seed: int | None = None
    ready_file: Path | None = None
    all_agents: bool = False


def info_for(agent: Agent) -> AgentInfo:
    return AgentInfo(
        id=agent.id, version=__version__, domain=agent.domain, region=agent.region,
        capabilities=list(agent.capabilities), channels=list(agent.channels),
        max_concurrent_conversations=agent.max_concurrent_conversations,
        service_time=agent.service_time.dist,
    )


MAX_TIME_SCALE = 1000.0  # --time-scale: 1 is real time; 1000 makes a 90 s conversation last a day


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine: a loopback address, or `localhost`.

    Any other host name counts as not loopback (it may resolve anywhere), and so do the empty host
    and `0.0.0.0` / `::` (every interface).
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(env_name: str | None, who: str) -> str | None:
    """The token in the variable ``env_name`` (None without one); a missing, empty or unusable value is a usage error.

    The message names the variable, never its value.
    """
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise UsageError(f"{who}: the token variable {env_name} is not set (or empty)")
    if not all("!" <= ch <= "~" for ch in value):
        raise UsageError(f"{who}: the token in {env_name} must be printable ASCII without spaces")
    return value


def build(options: ServeOptions) -> tuple[dict[str, ReferenceAgent], dict[str, str | None]]:
    """The agents to serve and each one's token (None: its /v1 routes are open, on loopback only).

    The token rule: with ``--token-env NAME`` every agent takes the token in NAME; otherwise each agent
    takes the token in its own ``auth.token_env`` from the fleet, and an agent without `auth` has none.
    """
    check_number("--time-scale", options.time_scale, low=0, high=MAX_TIME_SCALE)
    rng_seed = options.seed if options.seed is not None else random.SystemRandom().getrandbits(32)
    agents: dict[str, ReferenceAgent] = {}
    budget = Budget()  # one session store size for every agent of the process
    token_envs: dict[str, str | None] = {}
    if options.fleet:
        fleet = load_fleet(options.fleet)
        if options.all_agents:
            chosen = list(fleet.agents.values())
        else:
            if options.agent_id not in fleet.agents:
                from clawctl.core.suggest import did_you_mean

                raise UsageError(f"{options.fleet}: no agent `{options.agent_id}`"
                                 f"{did_you_mean(options.agent_id or '', fleet.agents)}")
            chosen = [fleet.agents[options.agent_id]]
        for i, agent in enumerate(chosen):
            agents[agent.id] = ReferenceAgent(info_for(agent), random.Random(rng_seed + i),
                                              time_scale=options.time_scale, budget=budget)
            token_envs[agent.id] = agent.auth.token_env if agent.auth is not None else None
    else:
        if options.all_agents:
            raise UsageError("--all needs --fleet")
        if not options.agent_id:
            raise UsageError("give --id (and --fleet to read the agent's entry)")
        agents[options.agent_id] = ReferenceAgent(AgentInfo(id=options.agent_id, version=__version__),
                                                  random.Random(rng_seed), time_scale=options.time_scale,
                                                  budget=budget)
        token_envs[options.agent_id] = None
    if options.token_env is not None:
        shared = resolve_token(options.token_env, "--token-env")
        tokens = {agent_id: shared for agent_id in agents}
    else:
        tokens = {agent_id: resolve_token(name, f"agent {agent_id}") for agent_id, name in token_envs.items()}
    open_agents = [agent_id for agent_id, token in tokens.items() if token is None]
    if open_agents and not is_loopback(options.host):
        which = "" if len(agents) == 1 else \
            f" (agents without one: {', '.join(open_agents[:5])}{', ...' if len(open_agents) > 5 else ''})"
        raise UsageError(f"refusing to serve on {options.host} without a token{which}: admin and fault routes "
                         "would be open to anyone who can reach it; set --token-env NAME (or auth.token_env "
                         "in the fleet) to a variable holding the token, or use --host 127.0.0.1")
    return agents, tokens


def serve(options: ServeOptions, on_ready=None) -> None:
    from clawctl.adapters.agent_server import AgentServer, serve_forever

    agents, tokens = build(options)
    server = AgentServer(agents, tokens=tokens, many=options.all_agents)
    try:
        asyncio.run(serve_forever(server, options.host, options.port, options.ready_file, on_ready))
    except OSError as exc:
        raise UsageError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
