"""`clawctl failover plan|drill|history|report`: plan failovers, drill them (simulated and live), read past drills."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode, UsageError

failover_app = typer.Typer(help="Plan failovers and drill them, simulated and live, with measured objectives.",
                           no_args_is_help=True)


class DrillFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    junit = "junit"


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class PlanFailOn(str, Enum):
    spof = "spof"
    missed = "missed"
    never = "never"


class Mode(str, Enum):
    sim = "sim"
    live = "live"


class Fault(str, Enum):
    crash = "crash"
    hang = "hang"
    unready = "unready"


STATUS_CODES = {"passed": ExitCode.OK, "dry_run": ExitCode.OK, "failed": ExitCode.FINDINGS,
                "aborted": ExitCode.ABORTED, "restore_failed": ExitCode.RESTORE_FAILED}


@failover_app.command("plan")
def plan(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    no_sim: Annotated[bool, typer.Option("--no-sim", help="Skip the simulated recovery figures.")] = False,
    fail_on: Annotated[PlanFailOn, typer.Option("--fail-on", help="Exit 1 when an objective is predicted missed "
                                                                   "(missed), also on any single point of failure "
                                                                   "(spof), or never.", case_sensitive=False)]
    = PlanFailOn.missed,
    output_format: Annotated[PlanFormat, typer.Option("--format", "-f", help="text, json or markdown.",
                                                      case_sensitive=False)] = PlanFormat.text,
) -> int:
    """Each agent's backup chain and coverage, single points of failure, regions, predicted detection."""
    from clawctl.render.output import render
    from clawctl.services.failover_plan import plan as make_plan

    env = env_of(ctx)
    result = make_plan(fleet, env.db, simulate=not no_sim, clock=env.clock)
    render(result, output_format.value, env)
    failing = {PlanFailOn.missed: bool(result.missed()),
               PlanFailOn.spof: bool(result.missed() or result.spofs),
               PlanFailOn.never: False}[fail_on]
    return ExitCode.FINDINGS if failing else ExitCode.OK


@failover_app.command("drill")
def drill(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Argument(help="The fleet file.")],
    agent: Annotated[Optional[str], typer.Option(help="The agent to fail.", show_default=False)] = None,
    region: Annotated[Optional[str], typer.Option(help="The region to fail (all its agents).",
                                                  show_default=False)] = None,
    mode: Annotated[Mode, typer.Option(help="sim: through the simulator; live: on the running agents.")] = Mode.live,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the steady state and predict; inject nothing.")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before injecting the fault.")] = False,
    fault: Annotated[Fault, typer.Option(help="What the target suffers: crash (refuses new connections until "
                                               "the drill clears it), hang, or unready.")] = Fault.crash,
    lease: Annotated[Optional[float], typer.Option(help="Seconds the fault lasts at most, even if clawctl dies; "
                                                        "default from the detection model.", show_default=False)]
    = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated prediction and of the fault's phase.")] = 1,
    fault_command: Annotated[Optional[str], typer.Option(help="OpenClaw gateways: a shell command that faults the "
                                                              "target (env CLAWCTL_DRILL_AGENT, CLAWCTL_DRILL_ENDPOINT)"
                                                              "; default: the gateway's suspend RPC.",
                                                         show_default=False)] = None,
    restore_command: Annotated[Optional[str], typer.Option(help="OpenClaw gateways: the shell command that restores "
                                                                "it (needed with --fault-command).",
                                                           show_default=False)] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the drill.")] = False,
    output_format: Annotated[DrillFormat, typer.Option("--format", "-f", help="text, json, markdown or junit.",
                                                       case_sensitive=False)] = DrillFormat.text,
) -> int:
    """Fail an agent or a region, detect it, move its sessions to the backups, measure, and restore."""
    from clawctl.render.console import isatty
    from clawctl.render.output import render
    from clawctl.services.failover_drill import DrillOptions
    from clawctl.services.failover_drill import drill as run_drill

    env = env_of(ctx)
    confirm = None
    if mode == Mode.live and not dry_run and not yes:
        import sys

        if not sys.stdin.isatty() or not isatty(env.stderr):
            raise UsageError("a live drill injects a fault: confirm with --yes (stdin is not a terminal to ask on)")

        def confirm(question: str) -> bool:
            return typer.confirm(question, default=False, err=True)

    options = DrillOptions(agent, region, mode.value, dry_run, fault.value, lease, seed, store=not no_store,
                           fault_command=fault_command, restore_command=restore_command)
    report = run_drill(fleet, options, env.db, clock=env.clock, confirm=confirm)
    render(report, output_format.value, env)
    if report.interrupted:
        return ExitCode.INTERRUPTED
    return STATUS_CODES.get(report.status, ExitCode.FINDINGS)


@failover_app.command("history")
def history(
    ctx: typer.Context,
    fleet: Annotated[Optional[str], typer.Option(help="Only this fleet's drills (its name).", show_default=False)]
    = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 20,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Past drills, newest first: target, mode, status and each objective."""
    from clawctl.render.output import render
    from clawctl.services.failover_store import drill_history

    env = env_of(ctx)
    render(drill_history(env.db, fleet=fleet, limit=limit), output_format.value, env)
    return ExitCode.OK


@failover_app.command("report")
def report(
    ctx: typer.Context,
    drill_id: Annotated[int, typer.Argument(help="The drill's id (see `clawctl failover history`).")],
    output_format: Annotated[DrillFormat, typer.Option("--format", "-f", help="text, json, markdown or junit.",
                                                       case_sensitive=False)] = DrillFormat.markdown,
) -> int:
    """One past drill's report, from the store."""
    from clawctl.render.output import render
    from clawctl.services.failover_store import stored_drill

    env = env_of(ctx)
    found = stored_drill(env.db, drill_id)
    render(found, output_format.value, env)
    return ExitCode.OK
