"""`clawctl traffic FLEET`: send the fleet's traffic to running agents and measure what customers see."""

from __future__ import annotations

from typing import Annotated

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode


def traffic(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    requests: Annotated[int | None, typer.Option(help="Arrivals to send.", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(help="Fleet time to send for instead, e.g. 10m.",
                                                    show_default=False)] = None,
    rate: Annotated[str | None, typer.Option(help="Arrival rate, as in the fleet file (`120/min`, `2/s`); a bare "
                                                  "number is per second. Overrides the fleet's.",
                                             show_default=False)] = None,
    strategy: Annotated[str | None, typer.Option(help="Strategy; default the fleet's.", show_default=False)]
    = None,
    time_scale: Annotated[float, typer.Option(help="Real seconds per fleet second, as in `agent serve`.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same arrivals as `simulate`.")] = 1,
    compare_sim: Annotated[bool, typer.Option("--compare-sim", help="Also simulate the same arrivals; show both.")]
    = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run in the store.")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Send the fleet's traffic to running agents, routed live by its strategy, and measure it."""
    from clawctl.core.errors import UsageError
    from clawctl.core.units import parse_duration, parse_rate
    from clawctl.render.output import render
    from clawctl.render.progress import progress_bar
    from clawctl.services.traffic import TrafficOptions
    from clawctl.services.traffic import traffic as run

    env = env_of(ctx)
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    per_second = None
    if rate is not None:
        try:
            per_second = float(rate) if rate.strip().replace(".", "", 1).isdigit() else parse_rate(rate)
        except ValueError as exc:
            raise UsageError(f"--rate {rate}: {exc}") from None
    options = TrafficOptions(requests, seconds, per_second, strategy, time_scale, seed, compare_sim=compare_sim,
                             store=not no_store)
    with progress_bar(env) as step:
        result = run(fleet, options, env.db, clock=env.clock, progress=step)
    render(result, output_format.value, env)
    return ExitCode.INTERRUPTED if result.interrupted else ExitCode.OK
