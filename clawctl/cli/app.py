"""The typer application: global options and the verbs, one module each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from clawctl import __version__
from clawctl.cli import rule as rule_cmd
from clawctl.cli import schema as schema_cmd
from clawctl.cli import validate as validate_cmd
from clawctl.cli.options import env_of

app = typer.Typer(
    name="clawctl",
    help="Operations toolkit for fleets of OpenClaw AI agents: lint, simulate, watch and drill them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clawctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[Optional[Path], typer.Option(
        "--db", envvar="CLAWCTL_DB", help="The control store (SQLite). Default: $XDG_DATA_HOME/clawctl/clawctl.db.",
        show_default=False)] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal (NO_COLOR works too).")]
    = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    env = env_of(ctx)  # the one main.run made (tests inject theirs), else the process's
    env.db = db if db is not None else env.db
    env.no_color = no_color or env.no_color
    ctx.obj = env


from clawctl.cli import demo_cmd, init_cmd  # noqa: E402

app.command("demo")(demo_cmd.demo)

app.command("init")(init_cmd.init)
app.command("validate")(validate_cmd.validate)
app.command("schema")(schema_cmd.schema)
app.command("rule")(rule_cmd.rule)

from clawctl.cli import store_cmds  # noqa: E402

app.command("apply")(store_cmds.apply)
app.add_typer(store_cmds.agents_app, name="agents")
app.command("history")(store_cmds.history)
app.add_typer(store_cmds.store_app, name="store")

from clawctl.cli import agent_cmd  # noqa: E402

app.add_typer(agent_cmd.agent_app, name="agent")

from clawctl.cli import probe_cmd  # noqa: E402

app.command("probe")(probe_cmd.probe)

from clawctl.cli import lab_cmd  # noqa: E402

app.add_typer(lab_cmd.lab_app, name="lab")

from clawctl.cli import simulate_cmd  # noqa: E402

app.command("simulate")(simulate_cmd.simulate)

from clawctl.cli import capacity_cmd  # noqa: E402

app.command("capacity")(capacity_cmd.capacity)

from clawctl.cli import traffic_cmd  # noqa: E402

app.command("traffic")(traffic_cmd.traffic)

from clawctl.cli import export_cmd  # noqa: E402

app.add_typer(export_cmd.export_app, name="export")

from clawctl.cli import top_cmd  # noqa: E402

app.command("top")(top_cmd.top)

from clawctl.cli import failover_cmd  # noqa: E402

app.add_typer(failover_cmd.failover_app, name="failover")

from clawctl.cli import openclaw_cmd  # noqa: E402

app.add_typer(openclaw_cmd.openclaw_app, name="openclaw")
app.add_typer(openclaw_cmd.import_app, name="import")
