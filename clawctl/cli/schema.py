"""`clawctl schema`: the fleet file's JSON Schema (draft-07), for editors and other tools."""

from __future__ import annotations


def schema() -> int:
    """Print the fleet file's JSON Schema (draft-07), generated from the fleet model."""
    import json
    import sys

    from clawctl.services.schema import fleet_schema

    sys.stdout.write(json.dumps(fleet_schema(), indent=2) + "\n")
    return 0
