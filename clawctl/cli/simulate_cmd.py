"""`clawctl simulate FLEET`: discrete-event simulation of the fleet's traffic under each strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode


def simulate(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    requests: Annotated[Optional[int], typer.Option(help="Arrivals to simulate.", show_default=False)] = None,
    duration: Annotated[Optional[str], typer.Option(help="Simulated time instead, e.g. 8h.", show_default=False)]
    = None,
    strategy: Annotated[Optional[list[str]], typer.Option(help="Strategy (repeatable); default the fleet's.",
                                                          show_default=False)] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Every strategy on the same arrivals.")] = False,
    seed: Annotated[int, typer.Option(help="Same seed, same output.")] = 1,
    fail: Annotated[Optional[list[str]], typer.Option(
        "--fail", help="AGENT@TIME or REGION@TIME, or AGENT@FROM-TO to come back (repeatable).",
        show_default=False)] = None,
    warmup: Annotated[float, typer.Option(help="Share of the run left out of wait figures.")] = 0.1,
    agents: Annotated[bool, typer.Option("--agents", help="Also print per-agent figures.")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write charts to FILE.html or FILE.png.",
                                                   show_default=False)] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run in the store.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even when the estimate says it takes over 10 minutes.")]
    = False,
    sweep: Annotated[Optional[list[str]], typer.Option(
        "--sweep", metavar="KEY=V1,V2", help="A grid, one row per point: rate, strategy, patience, slots@GROUP, "
        "agents@GROUP (repeatable).", show_default=False)] = None,
    replications: Annotated[int, typer.Option(help="With --sweep: runs per point, for confidence intervals.")] = 1,
    workers: Annotated[Optional[int], typer.Option(help="With --sweep: local processes (default every core).",
                                                   show_default=False)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="With --sweep: a Dask scheduler's address.",
                                                     show_default=False)] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Simulate the fleet's traffic: where it goes, who queues, how long customers wait."""
    from clawctl.core.errors import UsageError
    from clawctl.core.units import parse_duration
    from clawctl.render.output import render
    from clawctl.render.progress import progress_bar
    from clawctl.render.safe import terminal_safe
    from clawctl.services.simulate import SimOptions
    from clawctl.services.simulate import simulate as run

    env = env_of(ctx)
    if sweep:
        return _sweep(env, fleet, sweep, requests, duration, seed, warmup, replications, workers, scheduler,
                      no_store, output_format, force, given=dict(strategy=strategy, compare=compare, fail=fail,
                                                          report=report, agents=agents))
    if replications != 1 or workers is not None or scheduler is not None:
        raise UsageError("--replications, --workers and --scheduler go with --sweep")
    if report is not None:  # an unwritable destination is refused before the run, which is then not recorded
        from clawctl.render.sim_report import check_report_path

        check_report_path(report)
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    options = SimOptions(requests, seconds, strategy or (), compare, seed, fail or (), warmup, force=force)
    with progress_bar(env, enabled=output_format == OutputFormat.text) as step:
        result = run(fleet, options, env.db, store=not no_store, progress=step, clock=env.clock)
    for line in result.warnings:  # before the output: a run where requests can only queue
        env.stderr.write(f"clawctl: warning: {terminal_safe(line)}\n")
    if report is not None:
        from clawctl.render.sim_report import write_report

        write_report(result, report)
    render(result, output_format.value, env, agents=agents)
    return ExitCode.OK


def _sweep(env, fleet, sweeps, requests, duration, seed, warmup, replications, workers, scheduler, no_store,
           output_format, force, given) -> int:
    from clawctl.core.errors import UsageError
    from clawctl.core.units import parse_duration
    from clawctl.render.output import render
    from clawctl.services.sweep import SweepOptions, sweep

    clash = [f"--{k}" for k, v in given.items() if v]
    if clash:
        raise UsageError(f"{clash[0]} does not go with --sweep (sweep strategies with --sweep strategy=...)")
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    result = sweep(fleet, SweepOptions(list(sweeps), replications, seed, requests, seconds, warmup, workers,
                                       scheduler, force), env.db, store=not no_store, clock=env.clock)
    render(result, output_format.value, env)
    return ExitCode.OK
