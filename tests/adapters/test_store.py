"""The control store on real SQLite files: schema, pragmas, refusals that leave files untouched, atomic batches."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clawctl.adapters import store_schema
from clawctl.adapters.store import MIGRATIONS, SCHEMA_VERSION, default_path, open_store
from clawctl.cli.main import main
from clawctl.core.errors import ExitCode, InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path, monkeypatch):
    """Whatever a test forgets, the store never lands in the real home directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAWCTL_DB", raising=False)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def _tables(conn: sqlite3.Connection) -> dict[str, set[str]]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                        "AND name NOT LIKE 'sqlite_%'")]
    return {name: {r[1] for r in conn.execute(f"PRAGMA table_info({name})")} for name in names}


def _migration_tables() -> dict[str, set[str]]:
    """Tables and columns named in the CREATE TABLE statements of MIGRATIONS (constraints left out)."""
    out: dict[str, set[str]] = {}
    for _, sql in MIGRATIONS:
        for stmt in store_schema._statements(sql):
            dropped = re.match(r"DROP TABLE (\w+)", stmt)
            renamed = re.match(r"ALTER TABLE (\w+) RENAME TO (\w+)", stmt)
            if dropped:
                out.pop(dropped.group(1))
            if renamed:
                out[renamed.group(2)] = out.pop(renamed.group(1))
            head = re.match(r"CREATE TABLE (\w+)\s*\((.*)\)\s*;?\s*$", stmt, re.S)
            if not head:
                continue
            columns: set[str] = set()
            for part in re.split(r",(?![^()]*\))", head.group(2)):
                word = part.strip().split(None, 1)[0] if part.strip() else ""
                if word and word.upper() not in ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"):
                    columns.add(word)
            out[head.group(1)] = columns
    return out


def _documented_tables() -> dict[str, set[str]]:
    """The `| table | columns | what |` rows of docs/store.md's schema section."""
    text = (ROOT / "docs" / "store.md").read_text()
    section = text.split("## Schema", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"`\w+`", cells[0]):
            out[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[1]))
    return out


# ------------------------------------------------------------------------------------------------ schema


def test_migrations_create_the_latest_schema(tmp_path):
    with open_store(tmp_path / "s.db") as store:
        assert SCHEMA_VERSION == 4
        assert store.schema_version() == 4
        tables = _tables(store.conn)
        rows = store.conn.execute("SELECT version, applied_at FROM schema_version").fetchall()
    assert set(tables) == {"schema_version", "fleets", "fleet_versions", "agents", "runs", "samples", "events",
                           "lab_processes"}
    assert tables == {"schema_version": {"version", "applied_at"}, **_migration_tables()}
    assert [v for v, _ in rows] == [1, 2, 3, 4]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0][1])  # ISO 8601 UTC, ms (docs/store.md)


def test_every_table_and_column_of_the_migrations_is_documented():
    documented = _documented_tables()
    created = _migration_tables()
    assert created, "no CREATE TABLE statement found in MIGRATIONS"
    for table, columns in created.items():
        assert table in documented, f"docs/store.md does not describe table `{table}`"
        missing = columns - documented[table]
        assert not missing, f"docs/store.md does not name {sorted(missing)} of table `{table}`"
    # and the docs name nothing that does not exist
    assert set(documented) == set(created) | {"schema_version"}
    for table, columns in created.items():
        assert documented[table] == columns, table


def test_the_documented_schema_version_and_run_kinds_are_the_current_ones():
    text = (ROOT / "docs" / "store.md").read_text()
    assert f"## Schema (version {SCHEMA_VERSION})" in text
    section = text.split("## Schema", 1)[1].split("\n## ", 1)[0]
    versions = [int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)]
    assert versions == [v for v, _ in MIGRATIONS], "docs/store.md has no row per migration"
    runs = next(line for line in section.splitlines() if line.startswith("| `runs` |"))
    for kind in store_schema.RUN_KINDS:
        assert f"`{kind}`" in runs, f"docs/store.md does not name the run kind `{kind}`"


def test_opening_twice_is_idempotent(tmp_path):
    path = tmp_path / "s.db"
    with open_store(path) as store:
        with store.write() as db:
            db.execute("INSERT INTO fleets (name, created_at) VALUES ('f', 'now')")
        first = _tables(store.conn)
    with open_store(path) as store:
        assert _tables(store.conn) == first
        assert store.conn.execute("SELECT version FROM schema_version").fetchall() == [(1,), (2,), (3,), (4,)]
        assert store.conn.execute("SELECT name FROM fleets").fetchall() == [("f",)]
        assert store.integrity() == ["ok"]


def test_wal_busy_timeout_foreign_keys_synchronous(tmp_path):
    with open_store(tmp_path / "s.db") as store:
        conn = store.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced, not just declared
            with store.write() as db:
                db.execute("INSERT INTO samples (run_id, at, agent_id, state) VALUES (999, 'a', 'x', 'ready')")


# ---------------------------------------------------------------------------------------- refusals, exit 3


def _newer_wal_store(path: Path) -> None:
    with open_store(path) as store, store.write() as db:
        db.execute("INSERT INTO schema_version VALUES (?, 'later')", [SCHEMA_VERSION + 1])


def _newer_rollback_journal_store(path: Path) -> None:
    """A newer store that is not (yet) in WAL mode: switching it to WAL would rewrite its header."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    conn.execute("CREATE TABLE future (x)")
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", [SCHEMA_VERSION + 1])
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make", [_newer_wal_store, _newer_rollback_journal_store], ids=["wal", "rollback-journal"])
def test_a_store_from_a_newer_clawctl_is_refused_and_left_untouched(tmp_path, make, capsys):
    path = tmp_path / "newer.db"
    make(path)
    before, files = _sha(path), _siblings(path)
    with pytest.raises(InputError) as err:
        open_store(path)
    assert err.value.exit_code == ExitCode.UNREADABLE == 3
    assert "newer clawctl" in err.value.message and f"schema {SCHEMA_VERSION + 1}" in err.value.message
    assert _sha(path) == before

    assert main(["--db", str(path), "store", "check"]) == 3
    out, errtext = capsys.readouterr()
    assert out == ""
    assert errtext.count("\n") == 1 and errtext.startswith("clawctl: error: store ") and "newer" in errtext
    assert _sha(path) == before
    if make is _newer_rollback_journal_store:
        assert _siblings(path) == files  # not even a -wal or -shm appeared


@pytest.mark.parametrize("content", [b"hello", b"hello, this is a plain text file and no database at all\n" * 50,
                                     b"\x00" * 4096], ids=["short", "text", "zeros"])
def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path, content, capsys):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        open_store(path)
    assert err.value.exit_code == 3
    assert "not a SQLite database" in err.value.message and str(path) in err.value.message
    assert path.read_bytes() == content
    assert _siblings(path) == {"notes.db"}  # no -wal, -shm or -journal either

    assert main(["--db", str(path), "agents", "list"]) == 3
    _, errtext = capsys.readouterr()
    assert errtext.count("\n") == 1 and "not a SQLite database" in errtext
    assert path.read_bytes() == content


def test_a_missing_folder_for_an_explicit_path_is_named_and_not_created(tmp_path, capsys):
    folder = tmp_path / "no" / "such"
    with pytest.raises(InputError) as err:
        open_store(folder / "s.db")
    assert err.value.exit_code == 3
    assert f"folder {folder} does not exist" in err.value.message
    assert not (tmp_path / "no").exists()

    assert main(["--db", str(folder / "s.db"), "store", "check"]) == 3
    _, errtext = capsys.readouterr()
    assert errtext == f"clawctl: error: store {folder / 's.db'}: folder {folder} does not exist\n"


def test_a_folder_given_as_the_store_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        open_store(tmp_path)


def test_the_default_location_creates_its_folders(tmp_path, monkeypatch):
    xdg = tmp_path / "fresh" / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    assert default_path() == xdg / "clawctl" / "clawctl.db"
    with open_store() as store:
        assert store.path == xdg / "clawctl" / "clawctl.db"
        assert store.schema_version() == SCHEMA_VERSION
    assert (xdg / "clawctl" / "clawctl.db").is_file()


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with open_store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION


# A child without the power to ignore file permissions. Root (as in many CI containers) writes into a chmod 0o555
# folder regardless, so as root the child drops CAP_DAC_OVERRIDE with util-linux's setpriv.
_DROP = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def _unprivileged(tmp_path: Path, folder: Path) -> list[str]:
    prefix = _DROP if os.geteuid() == 0 and shutil.which("setpriv") else []
    probe = subprocess.run([*prefix, sys.executable, "-c",
                            "import sys, pathlib; (pathlib.Path(sys.argv[1]) / 'probe').write_text('x')", str(folder)],
                           capture_output=True, env=_child_env(tmp_path))
    if probe.returncode == 0:
        (folder / "probe").unlink(missing_ok=True)
        pytest.skip("this user can write into a chmod 0o555 folder (root without setpriv to drop "
                    "CAP_DAC_OVERRIDE), so a read-only folder cannot be simulated here")
    return prefix


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLAWCTL_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with open_store(folder / "existing.db") as store, store.write() as db:
        db.execute("INSERT INTO fleets (name, created_at) VALUES ('f', 'now')")
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("name", ["new.db", "existing.db"])
@pytest.mark.parametrize("verb", [["store", "check"], ["apply", str(ROOT / "examples" / "multi-region.yaml")]],
                         ids=["check", "apply"])
def test_a_read_only_folder_is_one_clear_line_and_exit_3(tmp_path, read_only_folder, name, verb):
    prefix = _unprivileged(tmp_path, read_only_folder)
    path = read_only_folder / name
    before = _sha(path) if path.exists() else None
    proc = subprocess.run([*prefix, sys.executable, "-m", "clawctl.cli.main", "--db", str(path), *verb],
                          capture_output=True, text=True, env=_child_env(tmp_path), timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"clawctl: error: store {path}: ")
    assert "Traceback" not in proc.stderr
    assert ("read-only" in proc.stderr) or ("folder writable" in proc.stderr)
    assert (_sha(path) if path.exists() else None) == before


def test_a_read_only_store_file_reads_but_refuses_to_write_with_exit_3(tmp_path):
    folder = tmp_path / "rw"
    folder.mkdir()
    path = folder / "s.db"
    open_store(path).close()
    path.chmod(0o444)
    try:
        prefix = _unprivileged(tmp_path, _read_only_probe_folder(tmp_path))
        run = [*prefix, sys.executable, "-m", "clawctl.cli.main", "--db", str(path)]
        reads = subprocess.run([*run, "agents", "list"], capture_output=True, text=True, env=_child_env(tmp_path))
        assert reads.returncode == 0, reads.stderr
        writes = subprocess.run([*run, "apply", str(ROOT / "examples" / "multi-region.yaml")], capture_output=True,
                                text=True, env=_child_env(tmp_path))
        assert writes.returncode == 3, writes.stderr
        assert writes.stderr == f"clawctl: error: store {path}: read-only (the file or its folder cannot be written)\n"
    finally:
        path.chmod(0o644)


def _read_only_probe_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "probe-ro"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    return folder


# ------------------------------------------------------------------------------------------------ batches


def test_a_batch_that_raises_leaves_nothing_behind(tmp_path):
    path = tmp_path / "s.db"
    with open_store(path) as store:
        with pytest.raises(RuntimeError, match="half-way"):
            with store.write() as db:
                run = db.execute("INSERT INTO runs (kind, started_at, status) VALUES ('drill', 'a', 'x')").lastrowid
                # sqlite-utils' own API nests in savepoints and must not commit the batch early
                db["events"].insert_all({"run_id": run, "at": f"t{i}", "event": "probe"} for i in range(500))
                assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 500
                raise RuntimeError("half-way")
        assert not store.conn.in_transaction
        assert store.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
        assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
        # a failing statement part-way (a foreign key) undoes the statements before it too
        with pytest.raises(sqlite3.IntegrityError):
            with store.write() as db:
                db.execute("INSERT INTO fleets (name, created_at) VALUES ('kept?', 'now')")
                db.execute("INSERT INTO lab_processes (fleet_id, agent_id, pid, started_at, proc_start, endpoint) "
                           "VALUES (424242, 'a', 1, 'now', 'now', 'http://x')")
        assert store.db.execute("SELECT COUNT(*) FROM fleets").fetchone()[0] == 0
        # and the store takes the next batch
        with store.write() as db:
            db.execute("INSERT INTO fleets (name, created_at) VALUES ('next', 'now')")
    with open_store(path) as store:
        assert store.db.execute("SELECT name FROM fleets").fetchall() == [("next",)]
        assert store.integrity() == ["ok"]


def _v1_store(path: Path) -> None:
    """A store exactly as clawctl with schema 1 left it, with a run that has events and samples."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for statement in store_schema._statements(MIGRATIONS[0][1]):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000Z')")
    conn.execute("INSERT INTO fleets (id, name, created_at) VALUES (1, 'prod', 'then')")
    conn.execute("INSERT INTO runs (id, kind, fleet_id, started_at, status, summary) VALUES (7, 'sim', 1, 'then', "
                 "'completed', '{\"arrived\": 3}')")
    conn.execute("INSERT INTO events (run_id, at, event, detail) VALUES (7, 'then', 'agents:p2c', '[]')")
    conn.execute("INSERT INTO samples (run_id, at, agent_id, state) VALUES (7, 'then', 'a', 'ready')")
    conn.close()


def test_a_schema_1_store_is_upgraded_in_place_keeping_every_row(tmp_path):
    path = tmp_path / "old.db"
    _v1_store(path)
    with open_store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.runs() == [{"id": 7, "kind": "sim", "fleet": "prod", "started_at": "then", "finished_at": None,
                                 "status": "completed", "summary": {"arrived": 3}}]
        assert store.counts_or_none()["events"] == 1 and store.counts_or_none()["samples"] == 1
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.integrity() == ["ok"]
        with store.write():  # the new kind is accepted, and the cascade still works on the rebuilt table
            store.record_run("traffic", 1, "now", "now", "completed", {}, [("now", "e", {})])
            store.db.execute("DELETE FROM runs WHERE id = 7")
        assert store.counts_or_none()["events"] == 1 and store.counts_or_none()["samples"] == 0
        indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "runs_kind_started" in indexes


def test_an_unknown_run_kind_is_still_refused_by_the_schema(tmp_path):
    with open_store(tmp_path / "s.db") as store:
        with pytest.raises(sqlite3.IntegrityError):
            with store.write():
                store.db.execute("INSERT INTO runs (kind, started_at, status) VALUES ('bogus', 'now', 'x')")
