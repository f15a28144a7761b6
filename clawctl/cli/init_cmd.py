"""`clawctl init [PATH]`: write a commented starter fleet file (and its schema for the editor)."""

from __future__ import annotations

from typing import Annotated

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of
from clawctl.core.errors import ExitCode


def init(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Where to write it (a folder: fleet.yaml in it).")] = "fleet.yaml",
    no_schema: Annotated[bool, typer.Option("--no-schema", help="Do not write fleet.schema.json beside it.")]
    = False,
    example: Annotated[str | None, typer.Option(
        "--example", metavar="NAME",
        help="Write one of the shipped example fleets instead: multi-region, enterprise-session-management, "
             "geographic-distribution, multi-agent-specialization.")] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Write a commented starter fleet file that validates clean and simulates; never over an existing file."""
    from clawctl.render.output import render
    from clawctl.services.init import init as write

    env = env_of(ctx)
    render(write(path, schema=not no_schema, example=example), output_format.value, env)
    return ExitCode.OK
