"""A damaged or odd store never gives exit 70: one line on stderr and exit 3 (or the command's answer)."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from clawctl.cli.main import run
from clawctl.core.env import Env
from conftest import FIXED_NOW

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
OTHER = str(ROOT / "examples" / "enterprise-session-management.yaml")
COMMANDS = (("store", "check"), ("agents", "list"), ("history",), ("apply", OTHER), ("lab", "status"))


def clawctl(db: Path, *argv: str) -> tuple[int, str, str]:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: FIXED_NOW, db=db, environ={})
    code = run(list(argv), env)
    return code, env.stdout.getvalue(), env.stderr.getvalue()


def one_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return 1 <= len(lines) <= 2 and all(ln.startswith("clawctl: ") for ln in lines) and "Traceback" not in err


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Path:
    """A store with fleets, versions, agents, runs and events, checkpointed into its main file."""
    db = tmp_path_factory.mktemp("store") / "healthy.db"
    assert clawctl(db, "apply", EXAMPLE)[0] == 0
    assert clawctl(db, "simulate", EXAMPLE, "--requests", "300", "--compare", "--format", "json")[0] == 0
    assert clawctl(db, "apply", str(ROOT / "examples" / "geographic-distribution.yaml"))[0] == 0
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def test_every_zeroed_page_is_reported_never_a_crash(healthy, tmp_path):
    """One 4 KiB page of zeros at each position in turn; every verb that reads the store is tried."""
    pages = healthy.stat().st_size // 4096
    assert pages >= 10
    damaged_seen = 0
    for page in range(pages):
        db = tmp_path / f"page{page}.db"
        shutil.copy(healthy, db)
        with open(db, "r+b") as fh:
            fh.seek(page * 4096)
            fh.write(b"\0" * 4096)
        for argv in COMMANDS:
            code, out, err = clawctl(db, *argv)
            assert code in (0, 1, 3, 4), (page, argv, code, err)
            if code == 3:
                assert one_line(err), (page, argv, err)
                damaged_seen += 1
        check = clawctl(db, "store", "check", "--format", "json")
        if check[0] == 3 and check[1]:
            assert '"ok": false' in check[1]
    assert damaged_seen >= pages  # most pages hold something a verb reads


def test_store_check_reports_damage_with_exit_3_and_says_what_is_wrong(healthy, tmp_path):
    db = tmp_path / "bad.db"
    shutil.copy(healthy, db)
    with open(db, "r+b") as fh:  # the third page: a table's root, not the schema on page one
        fh.seek(2 * 4096)
        fh.write(b"\0" * 4096)
    code, out, err = clawctl(db, "store", "check")
    assert code == 3
    assert "PROBLEM" in out and "integrity_check" in out and "None" not in out
    assert err.startswith(f"clawctl: error: store {db}: damaged")


def test_a_file_where_the_folder_should_be_is_one_line_exit_3(tmp_path):
    (tmp_path / "afile").write_text("x")
    code, out, err = clawctl(tmp_path / "afile" / "x.db", "history")
    assert (code, out) == (3, "") and one_line(err) and "is not a folder" in err


@pytest.mark.parametrize("special", ["/dev/null", "fifo"])
def test_a_device_or_fifo_is_refused_and_nothing_is_created_beside_it(tmp_path, special):
    path = Path(special) if special.startswith("/") else tmp_path / "store.fifo"
    if special == "fifo":
        os.mkfifo(path)
    before = set(path.parent.iterdir()) if special == "fifo" else {p for p in Path("/dev").glob("null*")}
    code, out, err = clawctl(path, "history")
    assert (code, out) == (3, "") and one_line(err) and "not a regular file" in err
    after = set(path.parent.iterdir()) if special == "fifo" else {p for p in Path("/dev").glob("null*")}
    assert after == before  # no -journal, -wal or -shm beside it
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("limit", ["0", "1000001", "100000000000000000000"])
def test_history_limit_out_of_range_is_a_usage_error(tmp_path, limit):
    code, out, err = clawctl(tmp_path / "s.db", "history", "--limit", limit)
    assert (code, out) == (2, "") and one_line(err) and "--limit must be between 1 and 1,000,000" in err
