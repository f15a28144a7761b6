"""`clawctl demo`: every verb once, on a fleet shipped with clawctl, on this machine; nothing left running."""

from __future__ import annotations

from typing import Annotated

import typer

from clawctl.cli.options import env_of
from clawctl.core.errors import ExitCode


def demo(
    ctx: typer.Context,
    folder: Annotated[str, typer.Option("--dir", help="Where the demo writes its fleet file and reports.")]
    = "clawctl-demo",
    keep: Annotated[bool, typer.Option("--keep", help="Leave the lab running after a demo that ran to the end, "
                                                      "to explore (`clawctl lab down` stops it); Ctrl-C still "
                                                      "stops it.")] = False,
) -> int:
    """Validate, run a lab, send traffic, watch it, simulate, drill a failover; then stop the lab."""
    import time
    from pathlib import Path

    from clawctl.render.console import console
    from clawctl.render.demo import show
    from clawctl.services.demo import Demo

    env = env_of(ctx)
    out = console(env)
    started = time.monotonic()
    reports: list[str] = []
    try:
        with Demo(folder, env.db, keep=keep, clock=env.clock) as run:
            out.print(f"clawctl demo: the fleet {run.fleet} on this machine, every verb once "
                      f"(reports in {Path(folder).resolve()})", highlight=False)
            for step in run.steps():
                reports += show(step, env, Path(folder), Demo.TOTAL)
            show(run.stop(), env, Path(folder), Demo.TOTAL)
    except KeyboardInterrupt:
        # an interrupted demo leaves nothing running, --keep or not (services/demo.py: Demo.__exit__)
        out.print("interrupted: the demo's lab was stopped"
                  + (" (--keep keeps it only when the demo runs to the end)" if keep else ""), highlight=False)
        return ExitCode.INTERRUPTED
    out.print(f"done in {time.monotonic() - started:.0f}s. Reports: " + ", ".join(reports), highlight=False)
    out.print("next: clawctl init (a starter fleet of your own); clawctl --help; docs/cli.md", highlight=False)
    return ExitCode.OK
