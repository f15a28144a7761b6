"""`clawctl export prometheus-sd FLEET [-o FILE]`: the fleet as Prometheus file_sd targets."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode

export_app = typer.Typer(help="Export the fleet for other tools (Prometheus service discovery).",
                         no_args_is_help=True)


@export_app.command("prometheus-sd")
def prometheus_sd(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="Write the file_sd JSON here (atomically: a temporary file, then a rename); "
                               "default: stdout.", show_default=False)] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Write Prometheus file_sd targets (labels fleet, agent, region, domain) for every agent with an endpoint."""
    from clawctl.render.export import notes
    from clawctl.render.output import render
    from clawctl.services.export import export_prometheus_sd

    env = env_of(ctx)
    result = export_prometheus_sd(fleet, env.db, output=output)
    notes(result, env)
    render(result, output_format.value, env)
    return ExitCode.OK
