"""Read-only views of the store: `agents list`, `history`, `store path`, `store check`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.store import RUN_KINDS, SCHEMA_VERSION, default_path, open_store
from clawctl.core.errors import ExitCode, UsageError

MAX_LIMIT = 1_000_000


def store_path(db: Path | None) -> Path:
    return Path(db) if db is not None else default_path()


@dataclass
class AgentList:
    view: ClassVar[str] = "agents"

    rows: list[dict]

    def as_dict(self) -> dict:
        return {"schema_version": 1, "agents": self.rows}


@dataclass
class RunHistory:
    view: ClassVar[str] = "history"

    rows: list[dict]
    kind: str | None = None  # the filters asked for (not in the JSON): "no runs match" tells them from an empty store
    fleet: str | None = None

    @property
    def filtered(self) -> bool:
        return self.kind is not None or self.fleet is not None

    def as_dict(self) -> dict:
        return {"schema_version": 1, "runs": self.rows}


def list_agents(db: Path | None, fleet: str | None = None) -> AgentList:
    with open_store(db) as store:
        if fleet is not None and store.find_fleet(fleet) is None:
            known = store.fleet_names()
            raise UsageError(f"no fleet `{fleet}` in the store (applied: {', '.join(known) or 'none'})")
        return AgentList(store.agents(fleet))


def history(db: Path | None, kind: str | None = None, fleet: str | None = None, limit: int = 50) -> RunHistory:
    if kind is not None and kind not in RUN_KINDS:
        raise UsageError(f"--kind {kind}: use one of {', '.join(RUN_KINDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT:,}")
    with open_store(db) as store:
        return RunHistory(store.runs(kind, fleet, limit), kind, fleet)


@dataclass
class StoreCheck:
    view: ClassVar[str] = "store-check"

    path: str
    schema_version: int
    supported_version: int
    integrity: list[str]
    counts: dict[str, int | None]

    @property
    def ok(self) -> bool:
        return self.integrity == ["ok"] and self.schema_version == self.supported_version

    @property
    def exit_code(self) -> ExitCode:
        """3 for a damaged store (it cannot be read as it is), 1 for any other problem."""
        if self.integrity != ["ok"]:
            return ExitCode.UNREADABLE
        return ExitCode.OK if self.ok else ExitCode.FINDINGS

    def as_dict(self) -> dict:
        # `schema_version` is this JSON shape's version, as in every output; the store's own schema is
        # `store_schema_version` (until schema 2 the two were both 1 and shared one key)
        return {"schema_version": 1, "path": self.path, "ok": self.ok, "store_schema_version": self.schema_version,
                "supported_version": self.supported_version, "integrity": self.integrity, "counts": self.counts}


def check_store(db: Path | None) -> StoreCheck:
    with open_store(db) as store:
        return StoreCheck(str(store.path), store.schema_version(), SCHEMA_VERSION, store.integrity(),
                          store.counts_or_none())
