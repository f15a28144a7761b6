"""The pure parts of a failover drill: the detection model, placing sessions on backups, objectives."""

from __future__ import annotations

import pytest

from clawctl.core.failover.drill import DrillReport, Objective, detection_range, in_conversation, place


def ctx(i: int, talking: bool) -> dict:
    events = [{"event": "conversation_started"}]
    if not talking:
        events.append({"event": "conversation_ended"})
    return {"id": f"s{i}", "history": events}


def test_detection_range_is_threshold_minus_one_intervals_to_threshold_intervals_plus_the_timeout():
    assert detection_range(5.0, 1.0, 3) == (10.0, 16.0)
    assert detection_range(2.0, 0.5, 1) == (0.0, 2.5)


@pytest.mark.parametrize("history, talking", [
    ([], False), ([{"event": "conversation_started"}], True),
    ([{"event": "conversation_started"}, {"event": "conversation_ended"}], False),
    ([{"event": "conversation_started"}, {"event": "conversation_cut"}], False),
    ([{"event": "conversation_ended"}, {"event": "message"}], True), (["junk", None], False),
])
def test_in_conversation_reads_the_last_conversation_event(history, talking):
    assert in_conversation({"history": history}) is talking


def test_sessions_in_conversation_need_a_free_slot_in_backup_order():
    talking = [ctx(i, True) for i in range(6)]
    out, lost = place(talking, ["a", "b"], {"a": 3, "b": 2})
    assert [c["id"] for c in out["a"]] == ["s0", "s1", "s2"] and [c["id"] for c in out["b"]] == ["s3", "s4"]
    assert [c["id"] for c in lost] == ["s5"]


def test_idle_sessions_are_shared_by_the_free_slots_left():
    idle = [ctx(i, False) for i in range(10)]
    out, lost = place(idle + [ctx(99, True)], ["a", "b"], {"a": 4, "b": 2})
    # s99 takes one of a's slots: 3 and 2 left, so the ten idle sessions go 6 and 4
    assert not lost and len(out["a"]) == 1 + 6 and len(out["b"]) == 4
    out, _ = place(idle, ["a", "b"], {"a": 0, "b": 0})
    assert len(out["a"]) == 10 and out["b"] == []
    out, lost = place(idle, [], {})
    assert out == {} and len(lost) == 10


def test_objectives_are_met_at_or_under_their_target_and_preservation_at_or_over():
    assert Objective("detection", 30, "s", measured=30).met is True
    assert Objective("detection", 30, "s", measured=30.1).met is False
    assert Objective("session_preservation", 99.95, "%", measured=99.95).met is True
    assert Objective("session_preservation", 99.95, "%", measured=99.9).met is False
    assert Objective("detection", 30, "s").met is None


def test_a_report_passes_only_when_every_measured_objective_is_met_and_round_trips():
    r = DrillReport("f", "live", {"agent": "a"}, objectives=[Objective("detection", 30, "s", 16, 12),
                                                             Objective("session_preservation", 99.95, "%", 100, 98)])
    r.decide()
    assert r.status == "failed"
    r.objectives[1].measured = 100.0
    r.decide()
    assert r.status == "passed"
    again = DrillReport.from_dict(r.as_dict())
    assert again.as_dict() == r.as_dict()
    r.objectives = [Objective("detection", 30, "s")]
    r.decide()
    assert r.status == "failed"  # nothing measured is not a pass
