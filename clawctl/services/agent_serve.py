"""`clawctl agent serve`: build reference agents from a fleet file (or flags) and serve them."""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass
from pathlib import Path

from clawctl import __version__
from clawctl.core.errors import UsageError
from clawctl.core.model.agent import Agent
from clawctl.core.refagent import AgentInfo, ReferenceAgent
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


def resolve_token(env_name: str | None, agent_id: str) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise UsageError(f"agent {agent_id}: the token variable {env_name} is not set (or empty)")
    return value


def build(options: ServeOptions) -> tuple[dict[str, ReferenceAgent], str | None]:
    rng_seed = options.seed if options.seed is not None else random.SystemRandom().getrandbits(32)
    if options.time_scale <= 0:
        raise UsageError("--time-scale must be above 0")
    agents: dict[str, ReferenceAgent] = {}
    token_env = options.token_env
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
                                              time_scale=options.time_scale)
        if token_env is None and len(chosen) == 1 and chosen[0].auth is not None:
            token_env = chosen[0].auth.token_env
    else:
        if options.all_agents:
            raise UsageError("--all needs --fleet")
        if not options.agent_id:
            raise UsageError("give --id (and --fleet to read the agent's entry)")
        agents[options.agent_id] = ReferenceAgent(AgentInfo(id=options.agent_id, version=__version__),
                                                  random.Random(rng_seed), time_scale=options.time_scale)
    label = options.agent_id or "fleet"
    return agents, resolve_token(token_env, label)


def serve(options: ServeOptions, on_ready=None) -> None:
    from clawctl.adapters.agent_server import AgentServer, serve_forever

    agents, token = build(options)
    server = AgentServer(agents, token=token, many=options.all_agents)
    try:
        asyncio.run(serve_forever(server, options.host, options.port, options.ready_file, on_ready))
    except OSError as exc:
        raise UsageError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
