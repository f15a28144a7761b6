"""The store's verbs, on a real SQLite file: what services call instead of writing SQL."""

from __future__ import annotations

import pytest

from clawctl.adapters.store import open_store

AT = "2026-01-05T09:30:00.000Z"


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "store.db") as s:
        yield s


def test_fleets_are_created_once_and_found_by_name(store):
    with store.write():
        first = store.fleet_id("prod", AT)
        assert store.fleet_id("prod", "later") == first
        store.fleet_id("alpha", AT)
    assert store.find_fleet("prod") == first and store.find_fleet("nope") is None
    assert store.fleet_names() == ["alpha", "prod"]


def test_a_run_is_recorded_with_its_events_in_one_batch(store):
    with store.write():
        fleet_id = store.fleet_id("prod", AT)
        run_id = store.record_run("sim", fleet_id, AT, AT, "completed", {"arrived": 3},
                                  [(AT, "agents:least_conn", [{"id": "a"}]), (AT, "agents:p2c", [])])
    assert store.runs() == [{"id": run_id, "kind": "sim", "fleet": "prod", "started_at": AT, "finished_at": AT,
                             "status": "completed", "summary": {"arrived": 3}}]
    events = list(store.db["events"].rows_where("run_id = ?", [run_id], order_by="id"))
    assert [(e["event"], e["detail"]) for e in events] == [("agents:least_conn", '[{"id": "a"}]'),
                                                           ("agents:p2c", "[]")]


def test_a_failed_batch_leaves_no_run_and_no_events(store):
    with pytest.raises(RuntimeError):
        with store.write():
            store.record_run("sim", None, AT, AT, "completed", {}, [(AT, "e", {})])
            raise RuntimeError("crash mid-batch")
    assert store.counts()["runs"] == 0 and store.counts()["events"] == 0


def test_runs_filter_by_kind_and_fleet_newest_first_within_the_limit(store):
    with store.write():
        a, b = store.fleet_id("a", AT), store.fleet_id("b", AT)
        ids = [store.record_run(kind, fid, AT, AT, "ok", {"n": i})
               for i, (kind, fid) in enumerate([("apply", a), ("sim", a), ("sim", b), ("apply", None)])]
    assert [r["id"] for r in store.runs()] == ids[::-1]
    assert [r["id"] for r in store.runs(kind="sim")] == [ids[2], ids[1]]
    assert [r["id"] for r in store.runs(fleet="a")] == [ids[1], ids[0]]
    assert [r["id"] for r in store.runs(limit=1)] == [ids[3]]


def test_the_registry_is_replaced_and_pruned_by_agent(store):
    record = {"agent_id": "a", "digest": "d1", "type": "sales", "domain": "sales", "region": "eu", "endpoint": None,
              "endpoint_kind": "reference", "token_env": "TOKEN", "capabilities": ["x"], "channels": ["web"],
              "backups": ["b"], "max_concurrent_conversations": 5, "weight": 1}
    with store.write():
        fid = store.fleet_id("prod", AT)
        v1 = store.add_version(fid, "v1", AT, ["f.yaml"], "{}", 2)
        store.put_agents(fid, v1, [record, {**record, "agent_id": "b", "backups": []}], AT)
    assert store.agent_digests(fid) == {"a": "d1", "b": "d1"}
    with store.write():
        v2 = store.add_version(fid, "v2", AT, ["f.yaml"], "{}", 1)
        store.put_agents(fid, v2, [{**record, "digest": "d2"}], AT)
        store.remove_agents(fid, ["b"])
    rows = store.agents("prod")
    assert [(r["id"], r["version_id"], r["capabilities"], r["token_env"]) for r in rows] == [("a", v2, ["x"], "TOKEN")]
    assert store.version_with_digest(fid, "v1") == v1 and store.version_with_digest(fid, "zzz") is None


def test_the_current_digest_follows_the_last_apply_not_the_newest_version(store):
    with store.write():
        fid = store.fleet_id("prod", AT)
        store.add_version(fid, "old", AT, [], "{}", 0)
        assert store.current_digest(fid) == "old"  # no apply run yet: the newest version
        store.add_version(fid, "new", AT, [], "{}", 0)
        store.record_run("apply", fid, AT, AT, "applied", {"digest": "new"})
        store.record_run("apply", fid, AT, AT, "applied", {"digest": "old"})  # a revert
    assert store.current_digest(fid) == "old"


def test_lab_processes_are_listed_until_closed(store):
    with store.write():
        fid = store.fleet_id("lab", AT)
        one = store.add_lab_process(fid, "a", 101, "1.000", "http://127.0.0.1:1", AT)
        two = store.add_lab_process(fid, "b", 102, "2.000", "http://127.0.0.1:2", AT)
    assert [(p.agent_id, p.pid, p.fleet) for p in store.lab_processes(fleet="lab")] == [("a", 101, "lab"),
                                                                                        ("b", 102, "lab")]
    with store.write():
        store.close_lab_processes([one], AT)
    assert [p.id for p in store.lab_processes(fid)] == [two]
    assert store.lab_processes(fleet="other") == []
