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


def example_names() -> list[str]:
    """The example fleets shipped in the package (the repository's examples/)."""
    folder = resources.files("clawctl").joinpath("data/examples")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def example_text(name: str) -> str:
    names = example_names()
    if name.removesuffix(".yaml") not in names:
        from clawctl.core.suggest import did_you_mean

        raise UsageError(f"--example {name}: no such example{did_you_mean(name, names)}; "
                         f"one of {', '.join(names)}")
    return resources.files("clawctl").joinpath(f"data/examples/{name.removesuffix('.yaml')}.yaml").read_text(
        encoding="utf-8")


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


def init(path: str = "fleet.yaml", *, schema: bool = True, example: str | None = None) -> InitResult:
    """Write the starter fleet (or a shipped example) at ``path``, refusing an existing file, and, unless
    told not to or one is there already, the JSON Schema beside it."""
    text = example_text(example) if example is not None else starter_text()
    target = Path(path)
    if target.is_dir():
        target = target / "fleet.yaml"
    if not target.parent.exists():
        raise InputError(f"{target.parent}: no such folder")
    _write_new(target, text)
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
