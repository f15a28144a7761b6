"""`clawctl top [FLEET]`: every agent live, on a dashboard on a terminal, as tables or JSON elsewhere."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from clawctl.cli.options import env_of
from clawctl.core.errors import ExitCode, UsageError


class TopFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


class ExportFormat(str, Enum):
    csv = "csv"


def _retention(value: str) -> tuple[float | None, int | None]:
    """``7d`` / ``12h`` (a duration) or ``100000`` (samples); ``0`` or ``forever`` keeps everything."""
    from clawctl.core.units import parse_duration

    text = value.strip().lower()
    if text in ("0", "forever", "none"):
        return None, None
    if text.isdigit():
        return None, int(text)
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--retention {value}: {exc}; give a duration (7d) or a number of samples") from None
    if seconds <= 0:
        raise UsageError(f"--retention {value}: must be above 0")
    return seconds, None


def top(
    ctx: typer.Context,
    fleet: Annotated[str | None, typer.Argument(help="The fleet file (with --export: the run id).",
                                                show_default=False)] = None,
    interval: Annotated[str | None, typer.Option(help="Time between cycles, e.g. 2s; default the fleet's "
                                                      "monitoring.interval.", show_default=False)] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one frame (after breach_after cycles) and exit: "
                                                      "0 all ready, 1 breach or not ready, 4 an agent down.")] = False,
    count: Annotated[int | None, typer.Option(help="Print N frames and exit.", show_default=False)] = None,
    output_format: Annotated[TopFormat, typer.Option("--format", help="table, json (a document per cycle) or "
                                                                      "jsonl (a line per cycle).")] = TopFormat.table,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Record the samples in the store.")] = True,
    retention: Annotated[str, typer.Option(help="Keep recorded samples this long (7d) or this many (100000); "
                                                "0 keeps all.")] = "7d",
    replay: Annotated[int | None, typer.Option(help="Replay a recorded run (see `clawctl history --kind "
                                                    "metrics`).", show_default=False)] = None,
    speed: Annotated[float, typer.Option(help="Replay speed (2 = twice as fast; 0 = no pauses).")] = 1.0,
    export: Annotated[ExportFormat | None, typer.Option(help="Write a recorded run (its id as the argument) "
                                                             "to stdout.", show_default=False)] = None,
    prometheus: Annotated[str | None, typer.Option(help="Read the figures from this Prometheus (see `clawctl "
                                                        "export prometheus-sd`); the fleet file still names the "
                                                        "agents and their thresholds.",
                                                   show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option(help="Probe deadline per agent, seconds; default "
                                                       "min(interval, 2).", show_default=False)] = None,
) -> int:
    """Live metrics of every agent, with thresholds and the action each breach recommends."""
    env = env_of(ctx)
    if export is not None:
        return _export(env, fleet)
    if replay is not None:
        return _replay(env, replay, output_format, speed, once, count)
    if fleet is None and prometheus is not None:
        raise UsageError("--prometheus needs the fleet file too (it names the agents to show and their thresholds; "
                         "Prometheus gives the figures): clawctl top FLEET --prometheus URL")
    if fleet is None:
        raise UsageError("give the fleet file: clawctl top FLEET (or --replay RUN_ID)")
    if once and count is not None:
        raise UsageError("--once and --count go one at a time")
    from clawctl.core.units import parse_duration
    from clawctl.services.top import TopOptions

    seconds = None
    if interval is not None:
        try:
            seconds = parse_duration(interval)
        except ValueError as exc:
            raise UsageError(f"--interval {interval}: {exc}") from None
    kept_s, kept_n = _retention(retention)
    options = TopOptions(seconds, count, once, record, kept_s, kept_n, prometheus, timeout)
    from clawctl.render.console import isatty

    if not once and count is None and output_format == TopFormat.table and isatty(env.stdout):
        return _dashboard(env, fleet, options)
    return _plain(env, fleet, options, output_format)


def _plain(env, fleet: str, options, fmt: TopFormat) -> int:
    from clawctl.render.output import render
    from clawctl.services.top import watch

    def emit(frame) -> None:
        render(frame, fmt.value, env)

    try:
        last = watch(fleet, options, env.db, emit, clock=env.clock)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    if options.once and last is not None:
        return {"ok": ExitCode.OK, "breach": ExitCode.FINDINGS, "down": ExitCode.UNREACHABLE}[last.exit_status()]
    return ExitCode.OK


def _dashboard(env, fleet: str, options) -> int:
    from clawctl.render.top_app import run_dashboard
    from clawctl.services.top import TopRun

    run = TopRun(fleet, options, env.db, clock=env.clock)

    async def frames():
        async with run:
            async for frame in run.frames(None):
                yield frame

    backups = {a.id: list(a.backups) for a in run.fleet.agents.values()}
    run_dashboard(frames, title="clawctl top", interval=run.interval, backups=backups,
                  no_color=env.no_color)
    return ExitCode.OK


def _replay(env, run_id: int, fmt: TopFormat, speed: float, once: bool, count: int | None) -> int:
    import asyncio
    import math
    import time

    from clawctl.render.console import isatty
    from clawctl.render.output import render
    from clawctl.services.top import recorded, replay_frames

    if not (math.isfinite(speed) and speed >= 0):
        raise UsageError("--speed must be a number >= 0")
    if fmt == TopFormat.table and not once and count is None and isatty(env.stdout):
        from clawctl.render.top_app import run_dashboard

        run, _ = recorded(env.db, run_id)

        async def frames():
            for gap, frame in replay_frames(env.db, run_id):
                if speed > 0 and gap > 0:
                    await asyncio.sleep(gap / speed)
                yield frame

        run_dashboard(frames, title=f"clawctl top · replay of run {run_id} · {run.get('fleet')}",
                      interval=float(run["summary"].get("interval", 1.0)), backups={}, no_color=env.no_color,
                      replay_speed=speed)
        return ExitCode.OK
    shown = 0
    last = None
    for gap, frame in replay_frames(env.db, run_id):
        last = frame
        if once:
            continue
        if speed > 0 and gap > 0 and shown:
            time.sleep(gap / speed)
        render(frame, fmt.value, env)
        shown += 1
        if count is not None and shown >= count:
            break
    if last is None:
        raise UsageError(f"run {run_id} has no samples")
    if once:
        render(last, fmt.value, env)
        return {"ok": ExitCode.OK, "breach": ExitCode.FINDINGS, "down": ExitCode.UNREACHABLE}[last.exit_status()]
    return ExitCode.OK


def _export(env, run: str | None) -> int:
    from clawctl.services.top import export_csv

    if run is None or not run.isdigit():
        raise UsageError("--export csv takes a run id: clawctl top --export csv RUN_ID")
    export_csv(env.db, int(run), env.stdout)
    env.stdout.flush()
    return ExitCode.OK
