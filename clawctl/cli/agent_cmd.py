"""`clawctl agent serve`: run one reference agent (or a whole fleet behind one port)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from clawctl.cli.options import env_of
from clawctl.core.errors import ExitCode

agent_app = typer.Typer(help="The reference agent: agent API v1 with real state.", no_args_is_help=True)


@agent_app.command("serve")
def serve(
    ctx: typer.Context,
    agent_id: Annotated[Optional[str], typer.Option("--id", help="The agent's id (its entry in --fleet).",
                                                    show_default=False)] = None,
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on; any but loopback needs a token for every "
                                            "agent.")] = "127.0.0.1",
    fleet: Annotated[Optional[str], typer.Option(help="Fleet file with the agent's entry.", show_default=False)]
    = None,
    token_env: Annotated[Optional[str], typer.Option(help="Env var holding the bearer token for /v1, for every "
                                                     "agent served (default: each agent's auth.token_env).",
                                                     show_default=False)] = None,
    time_scale: Annotated[float, typer.Option(help="Multiply service times (0.01: a 90 s conversation takes "
                                                   "0.9 s); above 0, at most 1000.")] = 1.0,
    seed: Annotated[Optional[int], typer.Option(help="Seed for service times and ids.", show_default=False)] = None,
    ready_file: Annotated[Optional[Path], typer.Option(help="Write {pid, port, endpoint} here once listening.",
                                                       show_default=False)] = None,
    all_agents: Annotated[bool, typer.Option("--all", help="Serve every agent of --fleet under /agents/<id>/.")]
    = False,
) -> int:
    """Run a reference agent: probes, metrics, conversations, sessions, drain and fault injection."""
    from clawctl.services.agent_serve import ServeOptions
    from clawctl.services.agent_serve import serve as run

    env = env_of(ctx)

    def announce(bound: int) -> None:
        env.stderr.write(f"clawctl agent serving on http://{host}:{bound}\n")
        env.stderr.flush()

    run(ServeOptions(agent_id, port, host, fleet, token_env, time_scale, seed, ready_file, all_agents),
        on_ready=announce)
    return ExitCode.OK
