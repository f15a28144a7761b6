"""`clawctl lab up|status|down`: a local fleet of reference agents on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import FleetOpt, FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode

lab_app = typer.Typer(help="A local fleet of reference agents on 127.0.0.1.", no_args_is_help=True)


@lab_app.command("up")
def up(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    time_scale: Annotated[float, typer.Option(help="Multiply service times (0.01: 90 s become 0.9 s).")] = 1.0,
    seed: Annotated[Optional[int], typer.Option(help="Seed the agents (agent i gets seed+i).", show_default=False)]
    = None,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Start one reference agent per fleet agent, wait until each is ready, record them in the store."""
    from clawctl.render.output import render
    from clawctl.services.lab import up as run

    env = env_of(ctx)
    render(run(fleet, env.db, time_scale=time_scale, seed=seed, clock=env.clock), output_format.value, env)
    return ExitCode.OK


@lab_app.command("status")
def status(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = OutputFormat.text) -> int:
    """Show the lab's agents: pid, endpoint, and whether each still runs and answers."""
    from clawctl.render.output import render
    from clawctl.services.lab import status as run

    env = env_of(ctx)
    result = run(env.db, fleet)
    render(result, output_format.value, env)
    return ExitCode.OK if all(a.state == "running" for a in result.agents) else ExitCode.UNREACHABLE


@lab_app.command("down")
def down(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = OutputFormat.text) -> int:
    """Stop exactly the agent processes `lab up` started (all fleets, or --fleet NAME)."""
    from clawctl.render.output import render
    from clawctl.services.lab import down as run

    env = env_of(ctx)
    render(run(env.db, fleet, clock=env.clock), output_format.value, env)
    return ExitCode.OK
