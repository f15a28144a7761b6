"""The control store: one SQLite file (sqlite-utils), safe under concurrent writers and crashes.

- WAL journal, a busy timeout, foreign keys on.
- Every logical batch is one ``BEGIN IMMEDIATE`` transaction (:meth:`Store.write`): writers queue
  on the lock up front instead of deadlocking on an upgrade, and a killed process leaves either the
  whole batch or none of it.
- Ordered migrations run by themselves on open; a store written by a newer clawctl is refused, not
  altered. The schema is documented in docs/store.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from clawctl.core.errors import InputError

BUSY_TIMEOUT_MS = 30_000

# Each migration moves the schema from version N-1 to N. Never edit a released one: add the next.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE fleets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE fleet_versions (
        id INTEGER PRIMARY KEY,
        fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        files TEXT NOT NULL,            -- JSON list of the file names applied
        content TEXT NOT NULL,          -- canonical JSON of the files' data (never a secret: only env var names)
        agent_count INTEGER NOT NULL,
        UNIQUE (fleet_id, digest)
    );
    CREATE TABLE agents (
        fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        agent_id TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES fleet_versions(id),
        digest TEXT NOT NULL,           -- hash of the agent's resolved entry, to tell "changed"
        type TEXT, domain TEXT, region TEXT,
        endpoint TEXT, endpoint_kind TEXT,
        token_env TEXT,                 -- the NAME of the variable holding the token, never the token
        capabilities TEXT NOT NULL,     -- JSON list
        channels TEXT NOT NULL,         -- JSON list
        backups TEXT NOT NULL,          -- JSON list
        max_concurrent_conversations INTEGER NOT NULL,
        weight INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (fleet_id, agent_id)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('apply', 'sim', 'drill', 'metrics')),
        fleet_id INTEGER REFERENCES fleets(id) ON DELETE SET NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '{}'   -- JSON
    );
    CREATE INDEX runs_kind_started ON runs(kind, started_at);
    CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        state TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}'   -- JSON
    );
    CREATE INDEX samples_run_at ON samples(run_id, at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'    -- JSON
    );
    CREATE INDEX events_run ON events(run_id, id);
    CREATE TABLE lab_processes (
        id INTEGER PRIMARY KEY,
        fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        agent_id TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        proc_start TEXT NOT NULL,       -- the process's own start time, so `lab down` never kills a reused pid
        endpoint TEXT NOT NULL,
        stopped_at TEXT
    );
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def default_path() -> Path:
    """``$XDG_DATA_HOME/clawctl/clawctl.db``, else ``~/.local/share/clawctl/clawctl.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clawctl" / "clawctl.db"


class Store:
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
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _is_condition(exc):
                raise _fail(self.path, _explain(exc)) from None
            raise

    def fleet_id(self, name: str, at: str) -> int:
        """The id of fleet ``name``, created (at time ``at``) if new. Call inside :meth:`write`."""
        row = self.db.execute("SELECT id FROM fleets WHERE name = ?", [name]).fetchone()
        if row is not None:
            return row[0]
        return self.db.execute("INSERT INTO fleets (name, created_at) VALUES (?, ?)", [name, at]).lastrowid

    def schema_version(self) -> int:
        return _version(self.conn)

    def integrity(self) -> list[str]:
        return [row[0] for row in self.conn.execute("PRAGMA integrity_check")]


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(got[0] or 0)


def _fail(path: Path, what: str) -> InputError:
    return InputError(f"store {path}: {what}")


def open_store(path: Path | None = None, *, create_parents: bool | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``path`` or the default location.

    The default location's folders are created; an explicit path's folder must exist.
    """
    explicit = path is not None
    target = Path(path) if explicit else default_path()
    if create_parents is None:
        create_parents = not explicit
    if target.exists() and target.is_dir():
        raise _fail(target, "is a folder, not a file")
    parent = target.parent
    if not parent.exists():
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
        if _refuse_newer(conn, target) == 0:  # before anything writes: switching to WAL rewrites the header
            _refuse_foreign(conn, target)
        mode = _switch_to_wal(conn)
        if str(mode).lower() != "wal":
            raise _fail(target, f"cannot switch to WAL journal (got {mode}); is the folder writable?")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, target)
    except InputError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _fail(target, _explain(exc)) from None
    return Store(target, conn)


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


_CONDITIONS = ("readonly", "read-only", "locked", "disk is full", "disk I/O error", "unable to open")


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
    if "not a database" in text or "malformed" in text:
        return f"not a usable SQLite database ({text})"
    if "locked" in text:
        return f"busy: another process held its lock for over {BUSY_TIMEOUT_MS // 1000} s ({text})"
    return text


def _refuse_newer(conn: sqlite3.Connection, path: Path) -> int:
    current = _version(conn)
    if current > SCHEMA_VERSION:
        raise _fail(path, f"written by a newer clawctl (schema {current}, this clawctl knows {SCHEMA_VERSION}); "
                    "upgrade clawctl — the store was not changed")
    return current


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """A SQLite file with tables but no clawctl schema belongs to another program: leave it alone."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if tables and "schema_version" not in tables:  # (another clawctl may have just created it)
        tables = tables[:3]
        raise _fail(path, f"a SQLite database of another program (tables {', '.join(tables)}, no clawctl schema); "
                    "refusing to touch it")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    current = _refuse_newer(conn, path)
    if current == SCHEMA_VERSION:
        return
    if current == 0:
        _refuse_foreign(conn, path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _refuse_newer(conn, path)  # another process may have migrated while we waited for the lock
        if current < SCHEMA_VERSION:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
            for version, sql in MIGRATIONS:
                if version > current:
                    for statement in _statements(sql):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                 (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    out, buf = [], []
    for line in sql.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if stmt.strip(";").strip():
                out.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out
