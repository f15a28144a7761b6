"""`clawctl apply`: validate, then record a content-addressed fleet version and update the registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.clock import utc_now
from clawctl.adapters.store import Store, open_store
from clawctl.core.agent_records import (
    AgentDiff,
    agent_record,
    canonical_json,
    content_digest,
    diff_agents,
    digest,
    fleet_name,
)
from clawctl.core.env import Clock, iso_now
from clawctl.core.errors import UsageError
from clawctl.core.findings import Severity
from clawctl.core.fleet import Fleet
from clawctl.core.lint.masking import mask_data, mask_strings, redact
from clawctl.core.lint.report import LintReport
from clawctl.core.lint.rules.x_secrets import credential_shaped
from clawctl.services.validate import ValidateOptions, check


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
    view: ClassVar[str] = "apply"

    report: LintReport
    store: str = ""
    fleets: list[FleetApplied] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "store": self.store, "fleets": [f.as_dict() for f in self.fleets]}

    @property
    def refused(self) -> bool:
        return self.report.failed


def apply(paths: Sequence[str], db: Path | None = None, *, clock: Clock = utc_now) -> ApplyResult:
    """Refuse on any error finding; otherwise record each fleet found in ``paths``, atomically.

    Nothing the secret screen flags is stored, even when its finding was suppressed: each flagged
    value is stored as ``***`` (a URL keeps its scheme, host and path) in the files' content and in
    the agent rows, and the digests are taken of what is stored.
    """
    checked = check(paths, ValidateOptions(fail_on=Severity.ERROR))
    result = ApplyResult(report=checked.report)
    if result.refused:
        return result
    _refuse_name_clashes(checked.fleets)
    with open_store(db) as store:
        result.store = str(store.path)
        with store.write():
            for fleet in checked.fleets:
                files = {name: mask_data(checked.data[name], checked.secrets.get(name, []))
                         for name in fleet.files if name in checked.data}
                secrets = {flag.value for name in fleet.files for flag in checked.secrets.get(name, [])}
                result.fleets.append(_record(store, fleet, files, secrets, iso_now(clock)))
    return result


def _refuse_name_clashes(fleets: Sequence[Fleet]) -> None:
    """Two fleets of one apply that the store would keep under one name (unnamed files with the same
    stem, `us/prod.yaml` and `eu/prod.yaml`) would overwrite each other's registry: refuse."""
    seen: dict[str, Fleet] = {}
    for fleet in fleets:
        name = fleet_name(fleet)
        other = seen.setdefault(name, fleet)
        if other is not fleet:
            raise UsageError(f"{other.files[0]} and {fleet.files[0]} are two fleets that would both be stored as "
                             f"`{name}`; give each its own `metadata.name` (files merge only when they share one)")


def _record(store: Store, fleet: Fleet, files: dict[str, object], secrets: set[str], at: str) -> FleetApplied:
    name = fleet_name(fleet)
    if name in secrets or credential_shaped(name):
        name = redact(name)
    address = content_digest(files)
    fleet_id = store.fleet_id(name, at)
    records = {agent_id: _masked(agent_record(agent), secrets) for agent_id, agent in fleet.agents.items()}
    digests = {agent_id: digest(rec) for agent_id, rec in records.items()}
    changes = diff_agents(store.agent_digests(fleet_id), digests)
    existing = store.version_with_digest(fleet_id, address)
    unchanged = existing is not None and store.current_digest(fleet_id) == address and changes.empty
    if existing is not None:
        version_id = existing  # the same content again, or a return to an earlier version
    else:
        version_id = store.add_version(fleet_id, address, at, sorted(files), canonical_json(files), len(records))
    if not unchanged:
        store.put_agents(fleet_id, version_id, [{**records[a], "digest": digests[a]}
                                                for a in changes.added + changes.changed], at)
        store.remove_agents(fleet_id, changes.removed)
    summary = {"version_id": version_id, "digest": address, "unchanged": unchanged, "added": changes.added,
               "changed": changes.changed, "removed": changes.removed}
    store.record_run("apply", fleet_id, at, at, "unchanged" if unchanged else "applied", summary)
    return FleetApplied(name, version_id, address, unchanged, sorted(files), changes)


def _masked(record: dict, secrets: set[str]) -> dict:
    """An agent's registry row with every flagged value masked, and every value shaped like a
    credential by itself (an endpoint the model normalised)."""
    masked = mask_strings(record, secrets)
    assert isinstance(masked, dict)
    return masked
