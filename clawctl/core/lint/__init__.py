"""Lint rules for fleet files: a catalogue of families, and the engine that runs them."""

from __future__ import annotations

import importlib

FAMILY_MODULES = (
    "rules_yaml", "rules_schema", "rules_agents", "rules_backups", "rules_isolation", "rules_traffic",
    "rules_secrets", "suppress",
)


def load_rules() -> None:
    """Import every family module so that its rules register themselves."""
    for name in FAMILY_MODULES:
        importlib.import_module(f"clawctl.core.lint.{name}")
