"""`clawctl validate`: lint fleet files for a terminal or for CI."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import (
    CodesOpt,
    FailOn,
    LintFormat,
    LintFormatOpt,
    Paths,
    env_of,
    split_codes,
)
from clawctl.core.findings import Severity


def validate(
    ctx: typer.Context,
    paths: Paths = None,
    output_format: LintFormatOpt = None,
    select: CodesOpt = None,
    ignore: CodesOpt = None,
    fail_on: Annotated[FailOn, typer.Option(help="Lowest severity that makes the exit code 1.")] = FailOn.error,
    statistics: Annotated[bool, typer.Option("--statistics", help="Count findings per rule instead of listing them.")]
    = False,
    stdin_filename: Annotated[Optional[str], typer.Option(help="Name to show for `-` (stdin).")] = None,
) -> int:
    """Lint fleet files: YAML hygiene, the schema, and the fleet as a whole (backups, hours, traffic)."""
    from clawctl.core.lint.report import LintStatistics
    from clawctl.render.output import formats, render
    from clawctl.services.validate import ValidateOptions
    from clawctl.services.validate import validate as run

    env = env_of(ctx)
    in_actions = env.environ.get("GITHUB_ACTIONS") == "true"
    fmt = output_format or (LintFormat.github if in_actions else LintFormat.text)
    report = run(paths or [], ValidateOptions(
        select=split_codes(select) or ["ALL"],
        ignore=split_codes(ignore),
        fail_on=Severity(fail_on.value),
        stdin_filename=stdin_filename,
    ))
    # --statistics counts per rule in text and json; the CI formats always carry every finding
    result = LintStatistics(report) if statistics and fmt.value in formats("lint-statistics") else report
    render(result, fmt.value, env)
    return report.exit_code
