"""`clawctl apply`, `agents list`, `history`, `store path`, `store check`: the control store's verbs."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from clawctl.cli.options import Paths, state


class DataFormat(str, Enum):
    text = "text"
    json = "json"


FormatOpt = Annotated[DataFormat, typer.Option("--format", "-f", help="text or json.", case_sensitive=False)]
FleetOpt = Annotated[Optional[str], typer.Option("--fleet", help="Only this fleet (its `metadata.name`).",
                                                 show_default=False)]

agents_app = typer.Typer(help="The agent registry that `apply` keeps.", no_args_is_help=True)
store_app = typer.Typer(help="Where the control store is, and whether it is sound.", no_args_is_help=True)


def apply(ctx: typer.Context, paths: Paths = None, output_format: FormatOpt = DataFormat.text) -> int:
    """Validate fleet files, then record them in the store as a new version and show what changed."""
    from clawctl import __version__
    from clawctl.render import findings as render_findings
    from clawctl.render import store as render
    from clawctl.services.apply import apply as run

    glob = state(ctx)
    result = run(paths or [], glob.db)
    if result.refused:
        render_findings.emit(result.report, "text" if output_format == DataFormat.text else "json",
                             no_color=glob.no_color, version=__version__)
        typer.echo("clawctl: error: not applied: the fleet has error findings", err=True)
        return 1
    render.applied(result, output_format.value, no_color=glob.no_color)
    counts = result.report.counts()
    if counts["warning"] or counts["info"]:
        typer.echo(f"clawctl: note: applied with {counts['warning']} warnings and {counts['info']} infos "
                   "(`clawctl validate` lists them)", err=True)
    return 0


@agents_app.command("list")
def agents_list(ctx: typer.Context, fleet: FleetOpt = None, output_format: FormatOpt = DataFormat.text) -> int:
    """List the agents recorded by `apply`, with their endpoints and backups."""
    from clawctl.render import store as render
    from clawctl.services.store_views import list_agents

    glob = state(ctx)
    render.agents(list_agents(glob.db, fleet), output_format.value, no_color=glob.no_color)
    return 0


def history(
    ctx: typer.Context,
    kind: Annotated[Optional[str], typer.Option("--kind", help="apply, sim, drill or metrics.", show_default=False)]
    = None,
    fleet: FleetOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs, newest first.")] = 50,
    output_format: FormatOpt = DataFormat.text,
) -> int:
    """List recorded runs: applies, simulations, drills and metric recordings."""
    from clawctl.render import store as render
    from clawctl.services.store_views import history as runs

    glob = state(ctx)
    render.history(runs(glob.db, kind, fleet, limit), output_format.value, no_color=glob.no_color)
    return 0


@store_app.command("path")
def store_path(ctx: typer.Context) -> int:
    """Print the path of the control store (from --db, CLAWCTL_DB or the XDG default)."""
    from clawctl.services.store_views import store_path as where

    typer.echo(str(where(state(ctx).db)))
    return 0


@store_app.command("check")
def store_check(ctx: typer.Context, output_format: FormatOpt = DataFormat.text) -> int:
    """Check the store: SQLite's integrity_check and the schema version."""
    from clawctl.render import store as render
    from clawctl.services.store_views import check_store

    glob = state(ctx)
    result = check_store(glob.db)
    render.store_check(result, output_format.value, no_color=glob.no_color)
    return 0 if result.ok else 1
