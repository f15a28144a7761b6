"""`clawctl rule`: explain one lint rule, or list them all."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.core.errors import UsageError


def rule(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="A rule code, e.g. B001.", show_default=False)] = None,
    all_rules: Annotated[bool, typer.Option("--all", help="List every rule.")] = False,
    output_format: Annotated[str, typer.Option("--format", help="text, json or markdown (the docs page).")] = "text",
) -> int:
    """Explain a lint rule: what it checks, why, and its severity."""
    from clawctl.cli.options import state
    from clawctl.core.lint.registry import all_rules as catalogue
    from clawctl.render import rules as render

    rules = catalogue()
    if output_format not in ("text", "json", "markdown"):
        raise UsageError(f"--format {output_format}: use text, json or markdown")
    if code is None and not all_rules:
        raise UsageError("name a rule code (e.g. `clawctl rule B001`) or pass --all")
    if code is not None:
        key = code.strip().upper()
        if key not in rules:
            from clawctl.core.suggest import did_you_mean

            raise UsageError(f"no rule `{code}`{did_you_mean(key, rules)}; `clawctl rule --all` lists them")
        chosen = [rules[key]]
    else:
        chosen = list(rules.values())
    render.emit(chosen, output_format, no_color=state(ctx).no_color)
    return 0
