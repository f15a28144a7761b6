"""Past failover drills from the store: `clawctl failover history` and `clawctl failover report ID`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from clawctl.core.errors import InputError
from clawctl.core.failover.drill import DrillReport


@dataclass
class DrillHistory:
    view: ClassVar[str] = "drill-history"

    drills: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "drills": self.drills}


def _store_path(db: Path | None) -> Path:
    from clawctl.adapters.store import default_path

    return Path(db) if db is not None else default_path()


def drill_history(db: Path | None, *, fleet: str | None = None, limit: int = 20) -> DrillHistory:
    from clawctl.adapters.store import open_store

    path = _store_path(db)
    if not path.exists():
        return DrillHistory()
    with open_store(path) as store:
        runs = store.runs(kind="drill", fleet=fleet, limit=limit)
    out = []
    for r in runs:
        s = r["summary"]
        out.append({"drill_id": r["id"], "fleet": r["fleet"], "started_at": r["started_at"], "mode": s.get("mode"),
                    "target": s.get("target"), "status": r["status"],
                    "objectives": [{k: o.get(k) for k in ("name", "target", "measured", "met")}
                                   for o in s.get("objectives", [])]})
    return DrillHistory(out)


def stored_drill(db: Path | None, drill_id: int) -> DrillReport:
    from clawctl.adapters.store import open_store

    path = _store_path(db)
    if not path.exists():
        raise InputError(f"{path}: no store yet, so no drill {drill_id}")
    with open_store(path) as store:
        run = store.run(drill_id)
    if run is None or run["kind"] != "drill":
        raise InputError(f"{path}: no drill with id {drill_id} (see `clawctl failover history`)")
    report = DrillReport.from_dict(run["summary"])
    report.drill_id = drill_id
    return report
