"""`clawctl schema`: the fleet file's JSON Schema (draft-07), for editors and other tools."""

from __future__ import annotations

import typer

from clawctl.cli.options import env_of
from clawctl.core.errors import ExitCode


def schema(ctx: typer.Context) -> int:
    """Print the fleet file's JSON Schema (draft-07), generated from the fleet model."""
    import json

    from clawctl.services.schema import fleet_schema

    env_of(ctx).stdout.write(json.dumps(fleet_schema(), indent=2) + "\n")
    return ExitCode.OK
