"""`clawctl capacity FLEET`: how many slots or agents each group needs to meet the SLA, by simulation."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode


def capacity(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    sla: Annotated[Optional[str], typer.Option(
        help='The SLA, e.g. "95% < 20s"; default 95% within traffic.sla.wait.', show_default=False)] = None,
    at_peak: Annotated[bool, typer.Option("--at-peak", help="Hold the traffic's peak rate, from the peak's hour.")]
    = False,
    group_by: Annotated[str, typer.Option(help="region, domain or agent.")] = "region",
    vary: Annotated[str, typer.Option(help="slots (per group) or agents (copies of the group's largest).")]
    = "slots",
    rate: Annotated[Optional[str], typer.Option(help="Another arrival rate, e.g. 300/min.", show_default=False)]
    = None,
    growth: Annotated[Optional[str], typer.Option(help="The rate grown by a share, e.g. 30%.", show_default=False)]
    = None,
    requests: Annotated[Optional[int], typer.Option(help="Arrivals per run (default the fleet's, else 100,000).",
                                                    show_default=False)] = None,
    duration: Annotated[Optional[str], typer.Option(help="Simulated time per run instead, e.g. 2h.",
                                                    show_default=False)] = None,
    replications: Annotated[int, typer.Option(help="Runs per candidate (their seeds shared by all candidates).")]
    = 5,
    seed: Annotated[int, typer.Option(help="Same seed, same answer.")] = 1,
    allow_reduce: Annotated[bool, typer.Option("--allow-reduce", help="Let groups go below today's size.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="Local processes (default: every core; 1: this one).",
                                                   show_default=False)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Run on a Dask cluster: its scheduler's address.",
                                                     show_default=False)] = None,
    write: Annotated[Optional[str], typer.Option(help="Write the fleet with the answer to FILE (comments kept).",
                                                 show_default=False)] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run in the store.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even when the estimate says it takes over 10 minutes.")]
    = False,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """How many slots or agents each group needs to meet the SLA, answered by simulation."""
    from clawctl.core.errors import UsageError
    from clawctl.core.units import parse_duration
    from clawctl.render.output import render
    from clawctl.render.progress import progress_bar
    from clawctl.services.capacity import CapacityOptions
    from clawctl.services.capacity import capacity as run

    env = env_of(ctx)
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    options = CapacityOptions(sla, at_peak, group_by, vary, rate, growth, requests, seconds, replications, seed,
                              workers, scheduler, write, allow_reduce, force)
    with progress_bar(env, enabled=output_format == OutputFormat.text) as step:
        result = run(fleet, options, env.db, store=not no_store, progress=step, clock=env.clock)
    render(result, output_format.value, env)
    return ExitCode.OK if result.met else ExitCode.FINDINGS
