"""Read-only views of the store: `agents list`, `history`, `store path`, `store check`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clawctl.adapters.store import SCHEMA_VERSION, default_path, open_store
from clawctl.core.errors import UsageError

RUN_KINDS = ("apply", "sim", "drill", "metrics")


def store_path(db: Path | None) -> Path:
    return Path(db) if db is not None else default_path()


def list_agents(db: Path | None, fleet: str | None = None) -> list[dict]:
    with open_store(db) as store:
        if fleet is not None and store.db.execute("SELECT 1 FROM fleets WHERE name = ?", [fleet]).fetchone() is None:
            known = [r[0] for r in store.db.execute("SELECT name FROM fleets ORDER BY name")]
            raise UsageError(f"no fleet `{fleet}` in the store (applied: {', '.join(known) or 'none'})")
        sql = (
            "SELECT f.name AS fleet, a.agent_id AS id, a.type, a.domain, a.region, a.endpoint, a.endpoint_kind, "
            "a.token_env, a.capabilities, a.channels, a.backups, a.max_concurrent_conversations, a.weight, "
            "a.version_id, a.updated_at FROM agents a JOIN fleets f ON f.id = a.fleet_id"
        )
        params: list = []
        if fleet is not None:
            sql += " WHERE f.name = ?"
            params.append(fleet)
        rows = store.db.execute_returning_dicts(sql + " ORDER BY f.name, a.agent_id", params)
    for row in rows:
        for key in ("capabilities", "channels", "backups"):
            row[key] = json.loads(row[key])
    return rows


def history(db: Path | None, kind: str | None = None, fleet: str | None = None, limit: int = 50) -> list[dict]:
    if kind is not None and kind not in RUN_KINDS:
        raise UsageError(f"--kind {kind}: use one of {', '.join(RUN_KINDS)}")
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    with open_store(db) as store:
        sql = ("SELECT r.id, r.kind, f.name AS fleet, r.started_at, r.finished_at, r.status, r.summary "
               "FROM runs r LEFT JOIN fleets f ON f.id = r.fleet_id WHERE 1=1")
        params: list = []
        if kind is not None:
            sql += " AND r.kind = ?"
            params.append(kind)
        if fleet is not None:
            sql += " AND f.name = ?"
            params.append(fleet)
        rows = store.db.execute_returning_dicts(sql + " ORDER BY r.id DESC LIMIT ?", [*params, limit])
    for row in rows:
        row["summary"] = json.loads(row["summary"] or "{}")
    return rows


@dataclass
class StoreCheck:
    path: str
    schema_version: int
    supported_version: int
    integrity: list[str]
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.integrity == ["ok"] and self.schema_version == self.supported_version

    def as_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok, "schema_version": self.schema_version,
                "supported_version": self.supported_version, "integrity": self.integrity, "counts": self.counts}


def check_store(db: Path | None) -> StoreCheck:
    with open_store(db) as store:
        tables = ("fleets", "fleet_versions", "agents", "runs", "samples", "events", "lab_processes")
        counts = {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        return StoreCheck(str(store.path), store.schema_version(), SCHEMA_VERSION, store.integrity(), counts)
