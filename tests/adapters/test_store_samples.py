"""The recording verbs of `clawctl top` on a real SQLite file: samples in, retention by time and by count."""

from __future__ import annotations

import pytest

from clawctl.adapters.store import open_store
from clawctl.core.errors import InputError


def at(second: int) -> str:
    return f"2026-11-30T10:{second // 60:02d}:{second % 60:02d}.000Z"


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "store.db") as s:
        with s.write():
            fid = s.fleet_id("f", at(0))
            s.run_id = s.record_run("metrics", fid, at(0), None, "running", {"interval": 1.0})
        yield s


def test_samples_come_back_in_order_with_their_figures(store):
    with store.write():
        store.add_samples(store.run_id, [(at(1), "a", "ready", {"cpu": 1.5}), (at(1), "b", "down", {})])
        store.add_samples(store.run_id, [(at(2), "a", "ready", {"cpu": 2.5, "detail": "x"})])
    assert list(store.samples(store.run_id)) == [(at(1), "a", "ready", {"cpu": 1.5}), (at(1), "b", "down", {}),
                                                 (at(2), "a", "ready", {"cpu": 2.5, "detail": "x"})]
    assert store.sample_count(store.run_id) == 3 and store.sample_count() == 3


def test_retention_by_time_deletes_only_older_samples(store):
    with store.write():
        for s in range(10):
            store.add_samples(store.run_id, [(at(s), "a", "ready", {}), (at(s), "b", "ready", {})])
        assert store.prune_samples(before=at(7)) == 14
    assert [row[0] for row in store.samples(store.run_id)] == [at(7), at(7), at(8), at(8), at(9), at(9)]


def test_retention_by_count_keeps_the_newest(store):
    with store.write():
        for s in range(5):
            store.add_samples(store.run_id, [(at(s), "a", "ready", {})])
        assert store.prune_samples(keep=2) == 3
        assert store.prune_samples(keep=2) == 0
    assert [row[0] for row in store.samples(store.run_id)] == [at(3), at(4)]


def test_finish_run_closes_it_with_its_summary(store):
    with store.write():
        store.finish_run(store.run_id, at(9), "completed", {"cycles": 9})
    run = store.run(store.run_id)
    assert run["status"] == "completed" and run["finished_at"] == at(9) and run["summary"] == {"cycles": 9}
    assert store.run(12345) is None


def test_a_damaged_store_is_one_input_error(tmp_path):
    path = tmp_path / "bad.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(InputError):
        with open_store(path) as s:
            s.sample_count()
