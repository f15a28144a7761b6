"""The store under real processes: concurrent writers lose nothing; SIGKILL mid-batch loses the whole batch.

Each test drives real Python processes (``subprocess`` running a small script) against one real SQLite file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clawctl.adapters.store import SCHEMA_VERSION, open_store

WRITERS = 4
WRITES_EACH = 1_000
DEADLINE_S = 90  # a hung writer fails the test instead of hanging the suite

# One writer: import, say "ready", wait for the starting gun, then open the (possibly not yet created) store
# and make WRITES_EACH separate write transactions, one runs row each, tagged with a unique marker.
WRITER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from clawctl.adapters.store import open_store

    db, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)
    with open_store(Path(db)) as store:
        for i in range(count):
            with store.write() as tx:
                tx.execute(
                    "INSERT INTO runs (kind, started_at, status, summary) VALUES ('metrics', ?, ?, ?)",
                    [f"{time.time():.6f}", name, json.dumps({"marker": f"{name}-{i}"})],
                )
    print("done", flush=True)
""")

# A child that commits one batch, then dies by SIGKILL in the middle of a second, much larger one.
KILLED = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from clawctl.adapters.store import open_store

    db, first, second, signal_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    store = open_store(Path(db))
    with store.write() as tx:
        run = tx.execute("INSERT INTO runs (kind, started_at, status) VALUES ('metrics', 'a', 'committed')").lastrowid
        # sqlite-utils' own API inside the batch: it nests in savepoints, never commits our transaction
        tx["samples"].insert_all(
            {"run_id": run, "at": f"t{i}", "agent_id": f"agent_{i % 14}", "state": "ready",
             "metrics": json.dumps({"cpu": i % 100})} for i in range(first)
        )
    print("committed", flush=True)
    with store.write() as tx:
        run = tx.execute("INSERT INTO runs (kind, started_at, status) VALUES ('drill', 'b', 'doomed')").lastrowid
        for i in range(second):
            tx.execute("INSERT INTO events (run_id, at, event, detail) VALUES (?, ?, ?, ?)",
                       [run, f"t{i}", "probe", json.dumps({"n": i, "pad": "x" * 40})])
            if i + 1 == signal_at:
                print("inside", flush=True)
        print("all rows written, not committed", flush=True)
        time.sleep(120)  # never reached in the test: the parent kills us first; this keeps the batch open
    print("committed twice", flush=True)
""")


# An opener: for each round, wait for that round's starting gun, then create-or-open the round's fresh store.
OPENER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from clawctl.adapters.store import open_store
    from clawctl.core.errors import ClawctlError

    folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
    print("ready", flush=True)
    for k in range(rounds):
        go = folder / f"go{k}"
        while not go.exists():
            pass
        try:
            open_store(folder / f"round{k}.db").close()
            print(f"opened {k}", flush=True)
        except ClawctlError as err:
            print(f"failed {k}: {err}", flush=True)
""")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")  # never the real home, even if a path were missing
    env.pop("CLAWCTL_DB", None)
    return env


def _spawn(script: str, args: list[str], tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(tmp_path), cwd=tmp_path)


def _expect_line(proc: subprocess.Popen, wanted: str, deadline: float) -> None:
    line = proc.stdout.readline().strip()  # blocking, but the child prints it within seconds or dies
    if line != wanted:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"child said {line!r} instead of {wanted!r} (exit {proc.returncode}):\n{err}")
    if time.monotonic() > deadline:
        pytest.fail(f"child took too long to say {wanted!r}")


def _kill_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        try:
            proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass


def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "shared.db"
    go = tmp_path / "go"
    names = [f"w{n}" for n in range(WRITERS)]
    procs = [_spawn(WRITER, [str(db), name, str(WRITES_EACH), str(go)], tmp_path) for name in names]
    deadline = time.monotonic() + DEADLINE_S
    try:
        for proc in procs:
            _expect_line(proc, "ready", deadline)
        go.touch()  # all four start at once, also racing to create and migrate the store
        for proc, name in zip(procs, names):
            remaining = max(1.0, deadline - time.monotonic())
            try:
                out, err = proc.communicate(timeout=remaining)
            except subprocess.TimeoutExpired:
                pytest.fail(f"writer {name} hung (no exit within {DEADLINE_S} s)")
            assert proc.returncode == 0, f"writer {name} failed:\n{err}"
            assert out.strip() == "done", out
    finally:
        _kill_all(procs)

    with open_store(db) as store:
        assert store.integrity() == ["ok"]
        assert store.schema_version() == SCHEMA_VERSION
        assert store.db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION  # each migration applied once
        rows = store.db.execute("SELECT status, json_extract(summary, '$.marker') FROM runs").fetchall()
    assert len(rows) == WRITERS * WRITES_EACH
    markers = {marker for _, marker in rows}
    assert markers == {f"{name}-{i}" for name in names for i in range(WRITES_EACH)}
    per_writer = {name: sum(1 for status, _ in rows if status == name) for name in names}
    assert per_writer == dict.fromkeys(names, WRITES_EACH)


def test_sigkill_in_the_middle_of_a_large_batch_leaves_all_or_nothing(tmp_path):
    db = tmp_path / "killed.db"
    wal = Path(f"{db}-wal")
    first, second, signal_at = 20_000, 200_000, 100_000
    proc = _spawn(KILLED, [str(db), str(first), str(second), str(signal_at)], tmp_path)
    deadline = time.monotonic() + DEADLINE_S
    try:
        _expect_line(proc, "committed", deadline)
        committed_wal = wal.stat().st_size
        _expect_line(proc, "inside", deadline)  # 100,000 rows into the open 200,000-row batch
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        # The uncommitted batch had reached the disk (SQLite spills its cache into the WAL), so the crash
        # is a real test of recovery, not of a transaction that only lived in memory.
        assert wal.stat().st_size > committed_wal
    finally:
        _kill_all([proc])

    with open_store(db) as store:
        assert store.integrity() == ["ok"]
        count = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        assert count in (0, second)  # all or nothing; here nothing, since the child never got to commit
        assert count == 0
        assert store.db.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("committed",)]
        # the batch that completed before the kill is entirely there
        assert store.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == first
        # and the store takes new writes after the crash
        with store.write() as tx:
            tx.execute("INSERT INTO runs (kind, started_at, status) VALUES ('sim', 'c', 'after')")
        assert store.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def test_processes_creating_the_same_fresh_store_at_once_all_succeed(tmp_path):
    """The first use races: several processes switch a new file to WAL and migrate it at the same moment."""
    openers, rounds = 6, 25
    procs = [_spawn(OPENER, [str(tmp_path), str(rounds)], tmp_path) for _ in range(openers)]
    deadline = time.monotonic() + DEADLINE_S
    try:
        for proc in procs:
            _expect_line(proc, "ready", deadline)
        for k in range(rounds):
            (tmp_path / f"go{k}").touch()
            for proc in procs:
                _expect_line(proc, f"opened {k}", deadline)
    finally:
        _kill_all(procs)
    for k in range(rounds):
        with open_store(tmp_path / f"round{k}.db") as store:
            assert store.db.execute("SELECT version FROM schema_version").fetchall() == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
            assert store.integrity() == ["ok"]
