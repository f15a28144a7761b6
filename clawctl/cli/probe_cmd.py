"""`clawctl probe FLEET`: one probe of every agent; exit 0 all ready, 1 some not ready, 4 some down."""

from __future__ import annotations

from typing import Annotated

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of


def probe(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    timeout: Annotated[float, typer.Option(help="Total deadline per agent, seconds (above 0, at most 600).")] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Agents probed at once (1 to 10,000).", min=1)] = 200,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates.")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Probe every agent once (readiness and metrics) and print its state."""
    from clawctl.render.output import render
    from clawctl.services.probe import probe_fleet

    env = env_of(ctx)
    report = probe_fleet(fleet, env.db, timeout=timeout, concurrency=concurrency, verify_tls=not insecure,
                         clock=env.clock)
    render(report, output_format.value, env)
    return report.exit_code
