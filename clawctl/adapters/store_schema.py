"""The store's schema: ordered migrations, applied on open under the write lock.

Never edit a released migration: add the next one. docs/store.md documents the tables (a test keeps
the two in step).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clawctl.core.errors import InputError

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
    # 2: runs of kind `traffic` (live traffic, `clawctl traffic`). SQLite cannot change a CHECK
    # constraint in place: the table is rebuilt (foreign keys are off while it is, see migrate).
    (2, """
    CREATE TABLE runs_v2 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('apply', 'sim', 'drill', 'metrics', 'traffic')),
        fleet_id INTEGER REFERENCES fleets(id) ON DELETE SET NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '{}'   -- JSON
    );
    INSERT INTO runs_v2 (id, kind, fleet_id, started_at, finished_at, status, summary)
        SELECT id, kind, fleet_id, started_at, finished_at, status, summary FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;
    CREATE INDEX runs_kind_started ON runs(kind, started_at);
    """),
    # 3: `clawctl top` prunes recorded samples by time every cycle: an index on their time.
    (3, """
    CREATE INDEX samples_at ON samples(at);
    """),
    # 4: runs of kind `capacity` (`clawctl capacity`) and `sweep` (`clawctl simulate --sweep`).
    (4, """
    CREATE TABLE runs_v4 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('apply', 'sim', 'drill', 'metrics', 'traffic', 'capacity', 'sweep')),
        fleet_id INTEGER REFERENCES fleets(id) ON DELETE SET NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '{}'   -- JSON
    );
    INSERT INTO runs_v4 (id, kind, fleet_id, started_at, finished_at, status, summary)
        SELECT id, kind, fleet_id, started_at, finished_at, status, summary FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v4 RENAME TO runs;
    CREATE INDEX runs_kind_started ON runs(kind, started_at);
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
RUN_KINDS = ("apply", "sim", "drill", "metrics", "traffic", "capacity", "sweep")
TABLES = ("fleets", "fleet_versions", "agents", "runs", "samples", "events", "lab_processes")


def version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(got[0] or 0)


def store_error(path: Path, what: str) -> InputError:
    return InputError(f"store {path}: {what}")


def refuse_newer(conn: sqlite3.Connection, path: Path) -> int:
    current = version(conn)
    if current > SCHEMA_VERSION:
        raise store_error(path, f"written by a newer clawctl (schema {current}, this clawctl knows {SCHEMA_VERSION}); "
                    "upgrade clawctl — the store was not changed")
    return current


def refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """A SQLite file with tables but no clawctl schema belongs to another program: leave it alone."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if tables and "schema_version" not in tables:  # (another clawctl may have just created it)
        tables = tables[:3]
        raise store_error(path, f"a SQLite database of another program (tables {', '.join(tables)}, no clawctl schema); "
                    "refusing to touch it")


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    current = refuse_newer(conn, path)
    if current == SCHEMA_VERSION:
        return
    if current == 0:
        refuse_foreign(conn, path)
    # Rebuilding a table that others reference needs foreign keys off (dropping it would otherwise cascade);
    # the pragma only takes effect outside a transaction. foreign_key_check proves nothing dangles after.
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = refuse_newer(conn, path)  # another process may have migrated while we waited for the lock
        if current < SCHEMA_VERSION:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
            for version, sql in MIGRATIONS:
                if version > current:
                    for statement in _statements(sql):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                 (version,))
            dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise store_error(path, f"migration to schema {SCHEMA_VERSION} left {len(dangling)} rows without "
                                  "their parent; the store was not changed")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


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
