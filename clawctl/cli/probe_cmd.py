"""`clawctl probe FLEET`: one probe of every agent; exit 0 all ready, 1 some not ready, 4 some down."""

from __future__ import annotations

from typing import Annotated

import typer

from clawctl.cli.options import state
from clawctl.cli.store_cmds import DataFormat, FormatOpt


def probe(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    timeout: Annotated[float, typer.Option(help="Total deadline per agent, seconds.")] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Agents probed at once.", min=1)] = 200,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates.")] = False,
    output_format: FormatOpt = DataFormat.text,
) -> int:
    """Probe every agent once (readiness and metrics) and print its state."""
    from clawctl.render import probe as render
    from clawctl.services.probe import probe_fleet

    glob = state(ctx)
    report = probe_fleet(fleet, glob.db, timeout=timeout, concurrency=concurrency, verify_tls=not insecure)
    render.render(report, output_format.value, no_color=glob.no_color)
    return int(report.exit_code)
