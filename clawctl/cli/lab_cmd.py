"""`clawctl lab up|status|down`: a local fleet of reference agents on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import state
from clawctl.cli.store_cmds import DataFormat, FleetOpt, FormatOpt

lab_app = typer.Typer(help="A local fleet of reference agents on 127.0.0.1.", no_args_is_help=True)


@lab_app.command("up")
def up(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    time_scale: Annotated[float, typer.Option(help="Multiply service times (0.01: 90 s become 0.9 s).")] = 1.0,
    seed: Annotated[Optional[int], typer.Option(help="Seed the agents (agent i gets seed+i).", show_default=False)]
    = None,
    output_format: FormatOpt = DataFormat.text,
) -> int:
    """Start one reference agent per fleet agent, wait until each is ready, record them in the store."""
    from clawctl.render import lab as render
    from clawctl.services.lab import up as run

    glob = state(ctx)
    render.render(run(fleet, glob.db, time_scale=time_scale, seed=seed), output_format.value, verb="up",
                  no_color=glob.no_color)
    return 0


@lab_app.command("status")
def status(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = DataFormat.text) -> int:
    """Show the lab's agents: pid, endpoint, and whether each still runs and answers."""
    from clawctl.render import lab as render
    from clawctl.services.lab import status as run

    glob = state(ctx)
    result = run(glob.db, fleet)
    render.render(result, output_format.value, verb="status", no_color=glob.no_color)
    return 0 if all(a.state == "running" for a in result.agents) else 4


@lab_app.command("down")
def down(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = DataFormat.text) -> int:
    """Stop exactly the agent processes `lab up` started (all fleets, or --fleet NAME)."""
    from clawctl.render import lab as render
    from clawctl.services.lab import down as run

    glob = state(ctx)
    render.render(run(glob.db, fleet), output_format.value, verb="down", no_color=glob.no_color)
    return 0
