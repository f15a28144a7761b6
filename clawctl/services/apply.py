"""`clawctl apply`: validate, then record a content-addressed fleet version and update the registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from clawctl.adapters.store import Store, open_store
from clawctl.core.findings import Severity
from clawctl.core.fleet import Fleet
from clawctl.core.lint.report import LintReport
from clawctl.core.registry import (
    AgentDiff,
    agent_record,
    canonical_json,
    content_digest,
    diff_agents,
    digest,
    fleet_name,
)
from clawctl.services.validate import ValidateOptions, check


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FleetApplied:
    fleet: str
    version_id: int
    digest: str
    unchanged: bool
    files: list[str]
    diff: AgentDiff

    def as_dict(self) -> dict:
        return {
            "fleet": self.fleet, "version_id": self.version_id, "digest": self.digest, "unchanged": self.unchanged,
            "files": self.files, "added": self.diff.added, "changed": self.diff.changed,
            "removed": self.diff.removed,
        }


@dataclass
class ApplyResult:
    report: LintReport
    store: str = ""
    fleets: list[FleetApplied] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.report.failed


def apply(paths: Sequence[str], db: Path | None = None, *, now: Callable[[], datetime] = utc_now) -> ApplyResult:
    """Refuse on any error finding; otherwise record each fleet found in ``paths``, atomically."""
    checked = check(paths, ValidateOptions(fail_on=Severity.ERROR))
    result = ApplyResult(report=checked.report)
    if result.refused:
        return result
    with open_store(db) as store:
        result.store = str(store.path)
        with store.write():
            for fleet in checked.fleets:
                files = {name: checked.data[name] for name in fleet.files if name in checked.data}
                result.fleets.append(_record(store, fleet, files, iso(now())))
    return result


def _record(store: Store, fleet: Fleet, files: dict[str, object], at: str) -> FleetApplied:
    db = store.db
    name = fleet_name(fleet)
    address = content_digest(files)
    fleet_id = store.fleet_id(name, at)
    records = {agent_id: agent_record(agent) for agent_id, agent in fleet.agents.items()}
    digests = {agent_id: digest(rec) for agent_id, rec in records.items()}
    old = dict(db.execute("SELECT agent_id, digest FROM agents WHERE fleet_id = ?", [fleet_id]).fetchall())
    changes = diff_agents(old, digests)
    existing = db.execute("SELECT id FROM fleet_versions WHERE fleet_id = ? AND digest = ?",
                          [fleet_id, address]).fetchone()
    current = _current_digest(store, fleet_id)
    unchanged = existing is not None and current == address and changes.empty
    if existing is not None:
        version_id = existing[0]  # the same content again, or a return to an earlier version
    else:
        version_id = db.execute(
            "INSERT INTO fleet_versions (fleet_id, digest, applied_at, files, content, agent_count) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [fleet_id, address, at, json.dumps(sorted(files)), canonical_json(files), len(records)],
        ).lastrowid
    if not unchanged:
        for agent_id in changes.added + changes.changed:
            rec = records[agent_id]
            db.execute(
                "INSERT OR REPLACE INTO agents (fleet_id, agent_id, version_id, digest, type, domain, region, "
                "endpoint, endpoint_kind, token_env, capabilities, channels, backups, "
                "max_concurrent_conversations, weight, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [fleet_id, agent_id, version_id, digests[agent_id], rec["type"], rec["domain"], rec["region"],
                 rec["endpoint"], rec["endpoint_kind"], rec["token_env"], json.dumps(rec["capabilities"]),
                 json.dumps(rec["channels"]), json.dumps(rec["backups"]), rec["max_concurrent_conversations"],
                 rec["weight"], at],
            )
        for agent_id in changes.removed:
            db.execute("DELETE FROM agents WHERE fleet_id = ? AND agent_id = ?", [fleet_id, agent_id])
    summary = {"version_id": version_id, "digest": address, "unchanged": unchanged, "added": changes.added,
               "changed": changes.changed, "removed": changes.removed}
    db.execute("INSERT INTO runs (kind, fleet_id, started_at, finished_at, status, summary) VALUES (?,?,?,?,?,?)",
               ["apply", fleet_id, at, at, "unchanged" if unchanged else "applied", json.dumps(summary)])
    return FleetApplied(name, version_id, address, unchanged, sorted(files), changes)


def _current_digest(store: Store, fleet_id: int) -> str | None:
    """The digest of the version in force: the last one applied, which after a revert is not the newest row."""
    db = store.db
    last = db.execute("SELECT summary FROM runs WHERE kind = 'apply' AND fleet_id = ? ORDER BY id DESC LIMIT 1",
                      [fleet_id]).fetchone()
    if last is not None:
        try:
            got = json.loads(last[0] or "{}").get("digest")
        except (ValueError, AttributeError):
            got = None
        if isinstance(got, str):
            return got
    row = db.execute("SELECT digest FROM fleet_versions WHERE fleet_id = ? ORDER BY id DESC LIMIT 1",
                     [fleet_id]).fetchone()
    return row[0] if row else None
