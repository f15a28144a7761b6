"""Lint rules for fleet files: a catalogue of families, and the engine that runs them."""

from __future__ import annotations

import importlib

from clawctl.core.lint.catalogue import FAMILIES, family_module


def load_rules() -> None:
    """Import every family module (``rules/<letter>_<family>.py``) so that its rules register themselves."""
    for prefix in FAMILIES:
        importlib.import_module(family_module(prefix))
