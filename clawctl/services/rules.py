"""`clawctl rule`: look rules up in the catalogue."""

from __future__ import annotations

from clawctl.core.errors import UsageError
from clawctl.core.lint.catalogue import all_rules as catalogue
from clawctl.core.lint.report import RuleList
from clawctl.core.suggest import did_you_mean


def explain(code: str | None, *, all_rules: bool = False) -> RuleList:
    """One rule by code (any case), or every rule with ``all_rules``."""
    rules = catalogue()
    if code is None and not all_rules:
        raise UsageError("name a rule code (e.g. `clawctl rule B001`) or pass --all")
    if code is None:
        return RuleList(list(rules.values()))
    key = code.strip().upper()
    if key not in rules:
        raise UsageError(f"no rule `{code}`{did_you_mean(key, rules)}; `clawctl rule --all` lists them")
    return RuleList([rules[key]])

