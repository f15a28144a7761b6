"""The control store: one SQLite file (sqlite-utils), safe under concurrent writers and crashes.

- WAL journal, a busy timeout, foreign keys on.
- Every logical batch is one ``BEGIN IMMEDIATE`` transaction (:meth:`Store.write`): writers queue
  on the lock up front instead of deadlocking on an upgrade, and a killed process leaves either the
  whole batch or none of it.
- Ordered migrations run by themselves on open; a store written by a newer clawctl is refused, not
  altered. The schema is documented in docs/store.md (a test keeps the two in step).
"""

from __future__ import annotations

import json
import os
import functools
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from clawctl.adapters.store_samples import SAMPLE_VERBS, SampleVerbs
from clawctl.adapters.store_schema import (
    MIGRATIONS,
    RUN_KINDS,
    SCHEMA_VERSION,
    TABLES,
    migrate,
    refuse_foreign,
    refuse_newer,
    version,
)
from clawctl.adapters.store_schema import store_error as _fail
from clawctl.core.errors import InputError

__all__ = ["MIGRATIONS", "RUN_KINDS", "SCHEMA_VERSION", "LabProcess", "Store", "default_path", "open_store"]

BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


@dataclass(frozen=True)
class LabProcess:
    """A `lab_processes` row still open: an agent process `lab up` started and `lab down` has not stopped."""

    id: int
    fleet: str
    agent_id: str
    pid: int
    proc_start: str
    endpoint: str
    started_at: str


def default_path() -> Path:
    """``$XDG_DATA_HOME/clawctl/clawctl.db``, else ``~/.local/share/clawctl/clawctl.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clawctl" / "clawctl.db"


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """A store verb: a damaged, locked or unwritable store is one line and exit 3, never a traceback."""

    @functools.wraps(method)
    def verb(self: "Store", *args: object, **kwargs: object) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if _is_condition(exc):
                raise _fail(self.path, _explain(exc)) from None
            raise

    return verb


class Store(SampleVerbs):
    """An open store. Use :func:`open_store`; close it (or use it as a context manager) when done."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.db = Database(conn)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[Database]:
        """One logical batch: all of it is committed, or none of it.

        A store that cannot be written (a read-only file, a lock held past the busy timeout, a full disk)
        is an :class:`InputError` (exit 3), not an internal error.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _unwritable(self.path, exc) from None
        try:
            yield self.db
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass  # a damaged file may fail the rollback too; the first error is the one to report
            if isinstance(exc, sqlite3.DatabaseError) and _is_condition(exc):
                raise _fail(self.path, _explain(exc)) from None
            raise

    # -- fleets ------------------------------------------------------------------------------------
    @_guarded
    def fleet_id(self, name: str, at: str) -> int:
        """The id of fleet ``name``, created (at time ``at``) if new. Call inside :meth:`write`."""
        found = self.find_fleet(name)
        if found is not None:
            return found
        return int(self.db["fleets"].insert({"name": name, "created_at": at}).last_pk)

    @_guarded
    def find_fleet(self, name: str) -> int | None:
        for row in self.db["fleets"].rows_where("name = ?", [name], select="id"):
            return int(row["id"])
        return None

    @_guarded
    def fleet_names(self) -> list[str]:
        return [row["name"] for row in self.db["fleets"].rows_where(select="name", order_by="name")]

    # -- apply: versions and the agent registry -----------------------------------------------------
    @_guarded
    def agent_digests(self, fleet_id: int) -> dict[str, str]:
        """``agent id -> digest`` of the fleet's registry as it stands."""
        rows = self.db["agents"].rows_where("fleet_id = ?", [fleet_id], select="agent_id, digest")
        return {row["agent_id"]: row["digest"] for row in rows}

    @_guarded
    def version_with_digest(self, fleet_id: int, digest: str) -> int | None:
        for row in self.db["fleet_versions"].rows_where("fleet_id = ? AND digest = ?", [fleet_id, digest],
                                                        select="id"):
            return int(row["id"])
        return None

    @_guarded
    def current_digest(self, fleet_id: int) -> str | None:
        """The digest of the version in force: the last one applied, which after a revert is not the newest row."""
        for row in self.db["runs"].rows_where("kind = 'apply' AND fleet_id = ?", [fleet_id], select="summary",
                                             order_by="id DESC", limit=1):
            try:
                got = json.loads(row["summary"] or "{}").get("digest")
            except (ValueError, AttributeError):
                got = None
            if isinstance(got, str):
                return got
        for row in self.db["fleet_versions"].rows_where("fleet_id = ?", [fleet_id], select="digest",
                                                        order_by="id DESC", limit=1):
            return row["digest"]
        return None

    @_guarded
    def add_version(self, fleet_id: int, digest: str, at: str, files: list[str], content: str,
                    agent_count: int) -> int:
        return int(self.db["fleet_versions"].insert({
            "fleet_id": fleet_id, "digest": digest, "applied_at": at, "files": json.dumps(files),
            "content": content, "agent_count": agent_count}).last_pk)

    @_guarded
    def put_agents(self, fleet_id: int, version_id: int, records: list[dict], at: str) -> None:
        """Insert or replace registry rows; ``records`` hold `agent_record` fields plus ``digest``."""
        rows = [{
            "fleet_id": fleet_id, "agent_id": r["agent_id"], "version_id": version_id, "digest": r["digest"],
            "type": r["type"], "domain": r["domain"], "region": r["region"], "endpoint": r["endpoint"],
            "endpoint_kind": r["endpoint_kind"], "token_env": r["token_env"],
            "capabilities": json.dumps(r["capabilities"]), "channels": json.dumps(r["channels"]),
            "backups": json.dumps(r["backups"]), "max_concurrent_conversations": r["max_concurrent_conversations"],
            "weight": r["weight"], "updated_at": at} for r in records]
        if rows:
            self.db["agents"].upsert_all(rows, pk=("fleet_id", "agent_id"))

    @_guarded
    def remove_agents(self, fleet_id: int, agent_ids: list[str]) -> None:
        for agent_id in agent_ids:
            self.db["agents"].delete_where("fleet_id = ? AND agent_id = ?", [fleet_id, agent_id])

    @_guarded
    def agents(self, fleet: str | None = None) -> list[dict]:
        """The registry, JSON columns decoded, ordered by fleet name and agent id."""
        sql = ("SELECT f.name AS fleet, a.agent_id AS id, a.type, a.domain, a.region, a.endpoint, a.endpoint_kind, "
               "a.token_env, a.capabilities, a.channels, a.backups, a.max_concurrent_conversations, a.weight, "
               "a.version_id, a.updated_at FROM agents a JOIN fleets f ON f.id = a.fleet_id")
        params: list = []
        if fleet is not None:
            sql += " WHERE f.name = ?"
            params.append(fleet)
        rows = self.db.execute_returning_dicts(sql + " ORDER BY f.name, a.agent_id", params)
        for row in rows:
            for key in ("capabilities", "channels", "backups"):
                row[key] = json.loads(row[key])
        return rows

    # -- runs and their events ----------------------------------------------------------------------
    @_guarded
    def record_run(self, kind: str, fleet_id: int | None, started_at: str, finished_at: str | None, status: str,
                   summary: dict, events: Iterable[tuple[str, str, object]] = ()) -> int:
        """One run and its events (``(at, event, detail)``; detail is stored as JSON). Call inside :meth:`write`."""
        run_id = int(self.db["runs"].insert({
            "kind": kind, "fleet_id": fleet_id, "started_at": started_at, "finished_at": finished_at,
            "status": status, "summary": json.dumps(summary)}).last_pk)
        rows = [{"run_id": run_id, "at": at, "event": event, "detail": json.dumps(detail)}
                for at, event, detail in events]
        if rows:
            self.db["events"].insert_all(rows)
        return run_id

    @_guarded
    def runs(self, kind: str | None = None, fleet: str | None = None, limit: int = 50) -> list[dict]:
        """Recorded runs, newest first, summaries decoded."""
        sql = ("SELECT r.id, r.kind, f.name AS fleet, r.started_at, r.finished_at, r.status, r.summary "
               "FROM runs r LEFT JOIN fleets f ON f.id = r.fleet_id WHERE 1=1")
        params: list = []
        if kind is not None:
            sql += " AND r.kind = ?"
            params.append(kind)
        if fleet is not None:
            sql += " AND f.name = ?"
            params.append(fleet)
        rows = self.db.execute_returning_dicts(sql + " ORDER BY r.id DESC LIMIT ?", [*params, limit])
        for row in rows:
            row["summary"] = json.loads(row["summary"] or "{}")
        return rows

    # -- lab processes ------------------------------------------------------------------------------
    @_guarded
    def lab_processes(self, fleet_id: int | None = None, *, fleet: str | None = None) -> list[LabProcess]:
        """Lab agents not yet marked stopped, oldest first (all fleets, or one by id or name)."""
        sql = ("SELECT l.id, f.name, l.agent_id, l.pid, l.proc_start, l.endpoint, l.started_at FROM lab_processes l "
               "JOIN fleets f ON f.id = l.fleet_id WHERE l.stopped_at IS NULL")
        params: list = []
        if fleet_id is not None:
            sql += " AND l.fleet_id = ?"
            params.append(fleet_id)
        if fleet is not None:
            sql += " AND f.name = ?"
            params.append(fleet)
        return [LabProcess(*row) for row in self.db.execute(sql + " ORDER BY l.id", params).fetchall()]

    @_guarded
    def add_lab_process(self, fleet_id: int, agent_id: str, pid: int, proc_start: str, endpoint: str,
                        at: str) -> int:
        return int(self.db["lab_processes"].insert({
            "fleet_id": fleet_id, "agent_id": agent_id, "pid": pid, "started_at": at, "proc_start": proc_start,
            "endpoint": endpoint}).last_pk)

    @_guarded
    def set_lab_endpoint(self, row_id: int, endpoint: str) -> None:
        self.db["lab_processes"].update(row_id, {"endpoint": endpoint})

    @_guarded
    def close_lab_processes(self, row_ids: Iterable[int], at: str) -> None:
        for row_id in row_ids:
            self.db["lab_processes"].update(row_id, {"stopped_at": at})

    # -- the store itself ---------------------------------------------------------------------------
    @_guarded
    def counts(self) -> dict[str, int]:
        return {table: self.db[table].count for table in TABLES}

    @_guarded
    def schema_version(self) -> int:
        return version(self.conn)

    def integrity(self) -> list[str]:
        """SQLite's integrity_check: ``["ok"]``, or what is wrong (a check that cannot run says why)."""
        try:
            return [row[0] for row in self.conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            return [f"integrity_check could not run: {exc}"]

    def counts_or_none(self) -> dict[str, int | None]:
        """Rows per table, None for a table that cannot be read (a damaged store, for `store check`)."""
        out: dict[str, int | None] = {}
        for table in TABLES:
            try:
                out[table] = self.db[table].count
            except sqlite3.DatabaseError:
                out[table] = None
        return out


for _verb in SAMPLE_VERBS:  # the recording verbs live in store_samples.py; guarded like every verb
    setattr(Store, _verb, _guarded(getattr(SampleVerbs, _verb)))


def open_store(path: Path | None = None, *, create_parents: bool | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``path`` or the default location.

    The default location's folders are created; an explicit path's folder must exist.
    """
    explicit = path is not None
    target = Path(path) if explicit else default_path()
    if create_parents is None:
        create_parents = not explicit
    kind = _kind(target)
    if kind == "folder":
        raise _fail(target, "is a folder, not a file")
    if kind == "special":  # /dev/null, a FIFO, a device: SQLite would put a journal beside it
        raise _fail(target, "is not a regular file")
    parent = target.parent
    parent_kind = _kind(parent)
    if parent_kind not in ("folder", "missing"):
        raise _fail(target, f"{parent} is not a folder")
    if parent_kind == "missing":
        if not create_parents:
            raise _fail(target, f"folder {parent} does not exist")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _fail(target, f"cannot create folder {parent}: {exc.strerror or exc}") from None
    if target.exists() and not os.access(target, os.R_OK):
        raise _fail(target, "permission denied")
    _check_header(target)
    try:
        conn = sqlite3.connect(str(target), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise _fail(target, _explain(exc)) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if refuse_newer(conn, target) == 0:  # before anything writes: switching to WAL rewrites the header
            refuse_foreign(conn, target)
        mode = _switch_to_wal(conn)
        if str(mode).lower() != "wal":
            raise _fail(target, f"cannot switch to WAL journal (got {mode}); is the folder writable?")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, target)
    except InputError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _fail(target, _explain(exc)) from None
    return Store(target, conn)


def _kind(path: Path) -> str:
    """``file``, ``folder``, ``special`` (device, FIFO, socket), ``missing``, or ``blocked`` (a file in the way)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "blocked"
    except OSError:
        return "missing"  # unreadable: the later steps say why in their own words
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "special"


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode = WAL``, retried while busy: two processes creating the store at once may
    both hold a read lock and want to upgrade, and SQLite then fails one at once, without the busy handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _check_header(path: Path) -> None:
    """A non-empty file that does not start with SQLite's magic string is not ours to touch."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or exc}") from None
    if head != b"SQLite format 3\x00":
        raise _fail(path, "not a SQLite database (refusing to touch it)")


_CONDITIONS = ("readonly", "read-only", "locked", "disk is full", "disk I/O error", "unable to open", "malformed",
               "not a database", "database corrupt")


def _is_condition(exc: sqlite3.Error) -> bool:
    """A state of the store or its disk, as opposed to a bug in clawctl's SQL."""
    return any(word in str(exc) for word in _CONDITIONS)


def _unwritable(path: Path, exc: sqlite3.OperationalError) -> Exception:
    return _fail(path, _explain(exc)) if _is_condition(exc) else exc


def _explain(exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return "read-only (the file or its folder cannot be written)"
    if "unable to open" in text:
        return "cannot be opened or created (is its folder writable?)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"damaged ({text}); `clawctl store check` shows what is wrong; restore a backup, or move the "
                "file away to start a new store")
    if "locked" in text:
        return f"busy: another process held its lock for over {BUSY_TIMEOUT_MS // 1000} s ({text})"
    return text
