"""`clawctl validate`: lint fleet files for a terminal or for CI."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from clawctl.cli.options import (
    CodesOpt,
    FailOn,
    FormatOpt,
    LintFormat,
    Paths,
    split_codes,
    state,
)
from clawctl.core.findings import Severity


def validate(
    ctx: typer.Context,
    paths: Paths = None,
    output_format: FormatOpt = None,
    select: CodesOpt = None,
    ignore: CodesOpt = None,
    fail_on: Annotated[FailOn, typer.Option(help="Lowest severity that makes the exit code 1.")] = FailOn.error,
    statistics: Annotated[bool, typer.Option("--statistics", help="Count findings per rule instead of listing them.")]
    = False,
    stdin_filename: Annotated[Optional[str], typer.Option(help="Name to show for `-` (stdin).")] = None,
) -> int:
    """Lint fleet files: YAML hygiene, the schema, and the fleet as a whole (backups, hours, traffic)."""
    from clawctl import __version__
    from clawctl.render import findings as render
    from clawctl.services.validate import ValidateOptions
    from clawctl.services.validate import validate as run

    fmt = output_format or (LintFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else LintFormat.text)
    report = run(paths or [], ValidateOptions(
        select=split_codes(select) or ["ALL"],
        ignore=split_codes(ignore),
        fail_on=Severity(fail_on.value),
        stdin_filename=stdin_filename,
    ))
    render.emit(report, fmt.value, statistics=statistics, no_color=state(ctx).no_color, version=__version__)
    return int(report.exit_code)
