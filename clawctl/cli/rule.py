"""`clawctl rule`: explain one lint rule, or list them all."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import RuleFormat, RuleFormatOpt, env_of
from clawctl.core.errors import ExitCode


def rule(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="A rule code, e.g. B001.", show_default=False)] = None,
    all_rules: Annotated[bool, typer.Option("--all", help="List every rule.")] = False,
    output_format: RuleFormatOpt = RuleFormat.text,
) -> int:
    """Explain a lint rule: what it checks, why, and its severity."""
    from clawctl.render.output import render
    from clawctl.services.rules import explain

    env = env_of(ctx)
    render(explain(code, all_rules=all_rules), output_format.value, env)
    return ExitCode.OK
