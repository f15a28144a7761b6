"""`clawctl apply`, `agents list`, `history`, `store path`, `store check`: the control store's verbs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.adapters.store_schema import RUN_KINDS
from clawctl.cli.options import FleetOpt, FormatOpt, OutputFormat, Paths, env_of
from clawctl.core.errors import ExitCode

agents_app = typer.Typer(help="The agent registry that `apply` keeps.", no_args_is_help=True)
store_app = typer.Typer(help="Where the control store is, and whether it is sound.", no_args_is_help=True)


def apply(ctx: typer.Context, paths: Paths = None, output_format: FormatOpt = OutputFormat.text) -> int:
    """Validate fleet files, then record them in the store as a new version and show what changed."""
    from clawctl.render.output import render
    from clawctl.services.apply import apply as run

    env = env_of(ctx)
    result = run(paths or [], env.db, clock=env.clock)
    if result.refused:
        render(result.report, output_format.value, env)
        env.stderr.write("clawctl: error: not applied: the fleet has error findings\n")
        return ExitCode.FINDINGS
    render(result, output_format.value, env)
    counts = result.report.counts()
    if counts["warning"] or counts["info"]:
        env.stderr.write(f"clawctl: note: applied with {counts['warning']} warnings and {counts['info']} infos "
                         "(`clawctl validate` lists them)\n")
    return ExitCode.OK


@agents_app.command("list")
def agents_list(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = OutputFormat.text) -> int:
    """List the agents recorded by `apply`, with their endpoints and backups."""
    from clawctl.render.output import render
    from clawctl.services.store_views import list_agents

    env = env_of(ctx)
    render(list_agents(env.db, fleet), output_format.value, env)
    return ExitCode.OK


def history(
    ctx: typer.Context,
    kind: Annotated[Optional[str], typer.Option("--kind", help=f"Only runs of this kind: {', '.join(RUN_KINDS)}.",
                                                show_default=False)] = None,
    fleet: FleetOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs, newest first.")] = 50,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """List recorded runs, newest first, one line each: applies, simulations, sweeps, capacity searches, live
    traffic, drills and `top` recordings."""
    from clawctl.render.output import render
    from clawctl.services.store_views import history as runs

    env = env_of(ctx)
    render(runs(env.db, kind, fleet, limit), output_format.value, env)
    return ExitCode.OK


@store_app.command("path")
def store_path(ctx: typer.Context) -> int:
    """Print the path of the control store (from --db, CLAWCTL_DB or the XDG default)."""
    from clawctl.services.store_views import store_path as where

    env = env_of(ctx)
    env.stdout.write(f"{where(env.db)}\n")
    return ExitCode.OK


@store_app.command("check")
def store_check(ctx: typer.Context, output_format: FormatOpt = OutputFormat.text) -> int:
    """Check the store: SQLite's integrity_check and the schema version."""
    from clawctl.render.output import render
    from clawctl.services.store_views import check_store

    env = env_of(ctx)
    result = check_store(env.db)
    render(result, output_format.value, env)
    if result.exit_code == ExitCode.UNREADABLE:
        env.stderr.write(f"clawctl: error: store {result.path}: damaged; restore a backup, or move the file away "
                         "to start a new store\n")
    return result.exit_code
