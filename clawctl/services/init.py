"""`clawctl init [PATH]`: a commented starter fleet file, and the schema beside it for the editor's modeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar

from clawctl.core.errors import InputError, UsageError

SCHEMA_NAME = "fleet.schema.json"  # the starter's modeline: `# yaml-language-server: $schema=fleet.schema.json`


@dataclass
class InitResult:
    view: ClassVar[str] = "init"

    fleet: str
    schema: str | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet, "schema": self.schema, "notes": self.notes}


def starter_text() -> str:
    return resources.files("clawctl").joinpath("data/starter.yaml").read_text(encoding="utf-8")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``: never over an existing file, and never half-written (exclusive
    create of a temporary file, then a link into place, which fails if the name was taken meanwhile)."""
    tmp = path.with_name(f".{path.name}.clawctl-init.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        try:
            path.hardlink_to(tmp)
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise UsageError(f"{path}: already exists; give another path, or remove it first") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write it ({exc.strerror or exc})") from None


def init(path: str = "fleet.yaml", *, schema: bool = True) -> InitResult:
    """Write the starter fleet at ``path`` (refusing an existing file) and, unless told not to or one is
    there already, the JSON Schema beside it."""
    target = Path(path)
    if target.is_dir():
        target = target / "fleet.yaml"
    if not target.parent.exists():
        raise InputError(f"{target.parent}: no such folder")
    _write_new(target, starter_text())
    result = InitResult(str(target), None)
    if schema:
        import json

        from clawctl.services.schema import fleet_schema

        beside = target.parent / SCHEMA_NAME
        if beside.exists():
            result.notes.append(f"{beside} is already there: kept as it is")
        else:
            _write_new(beside, json.dumps(fleet_schema(), indent=2) + "\n")
            result.schema = str(beside)
    return result
