"""The reference agent's behaviour, pure: a seeded generator and explicit clock values, no sockets."""

from __future__ import annotations

import copy
import random
import re

import pytest

from clawctl.core import refagent, refagent_sessions
from clawctl.core.refagent import (
    BUCKETS,
    MAX_FIELD_CHARS,
    MAX_IMPORT_SESSIONS,
    MAX_LATENCY,
    MAX_LEASE,
    MAX_SESSION_BYTES,
    AgentInfo,
    ApiError,
    Budget,
    ReferenceAgent,
    state_hash,
    weight,
)
from clawctl.core.service_time import make

STAMP = "2026-01-01T00:00:00.000Z"


def agent(*, cap: int = 2, mean: float = 10.0, kind: str = "deterministic", seed: int = 7,
          channels: list[str] | None = None, time_scale: float = 1.0) -> ReferenceAgent:
    info = AgentInfo("a1", channels=channels if channels is not None else ["email", "sms"],
                     max_concurrent_conversations=cap, service_time=make(kind, mean))
    ref = ReferenceAgent(info, random.Random(seed), time_scale=time_scale)
    ref.started = True
    return ref


def start(ref: ReferenceAgent, customer: str, now: float, **extra) -> tuple[dict, float]:
    taken = ref.start_conversation({"customer_id": customer, "channel": "email", "type": "question", **extra},
                                   now, f"t{now}")
    return taken.body, taken.service


# ---------------------------------------------------------------------------------- capacity and expiry


def test_capacity_429_at_max_concurrent_conversations():
    ref = agent(cap=2)
    start(ref, "c1", 0.0)
    start(ref, "c2", 0.0)
    with pytest.raises(ApiError) as err:
        start(ref, "c3", 1.0)
    assert err.value.status == 429
    assert ref.counters.rejected == 1
    assert len(ref.active) == 2


def test_a_customer_mid_conversation_takes_no_new_slot():
    ref = agent(cap=1)
    first, _ = start(ref, "c1", 0.0)
    again, service = start(ref, "c1", 1.0)
    assert again == first and service == 0.0
    assert len(ref.active) == 1


def test_expiry_frees_slots_at_the_drawn_service_time():
    ref = agent(cap=1, mean=10.0, time_scale=0.5)  # deterministic 10 s, scaled: 5 s
    body, service = start(ref, "c1", 100.0)
    assert service == pytest.approx(5.0)
    assert ref.expire(104.9, "t") == []
    with pytest.raises(ApiError) as err:
        start(ref, "c2", 104.9)
    assert err.value.status == 429
    assert ref.expire(105.0, "t") == [body["session_id"]]
    assert not ref.active
    start(ref, "c2", 105.0)  # the slot is free again


def test_start_conversation_says_whether_the_conversation_is_new():
    ref = agent(cap=1, mean=10.0, time_scale=0.5)
    first = ref.start_conversation({"customer_id": "c1"}, 0.0, STAMP)
    assert first.new and first.service == pytest.approx(5.0) and ref.active[first.body["session_id"]] == 5.0
    turn = ref.start_conversation({"customer_id": "c1"}, 1.0, STAMP)  # mid-conversation: another turn
    assert turn == (first.body, 0.0, False)
    ref.expire(5.0, STAMP)
    again = ref.start_conversation({"customer_id": "c1"}, 6.0, STAMP)  # the same session, a new conversation
    assert again.new and again.body == first.body and ref.active[first.body["session_id"]] == 11.0


def test_service_times_are_drawn_from_the_distribution_with_the_seed():
    drawn = []
    for _ in range(2):
        ref = agent(cap=100, kind="exponential", mean=90.0, seed=42, time_scale=0.01)
        drawn.append([start(ref, f"c{i}", 0.0)[1] for i in range(20)])
    assert drawn[0] == drawn[1]  # the same seed, the same service times
    assert len(set(drawn[0])) == 20  # really drawn, not a constant
    assert 0.1 < sum(drawn[0]) / 20 < 3.0  # around 90 s x 0.01


def test_session_ids_come_from_the_seeded_generator():
    ids = [start(agent(seed=3), "c1", 0.0)[0]["session_id"] for _ in range(2)]
    assert ids[0] == ids[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids[0])


def test_bad_requests():
    ref = agent()
    for body in ({}, {"customer_id": ""}, {"customer_id": 5}):
        with pytest.raises(ApiError) as err:
            ref.start_conversation(body, 0.0, STAMP)
        assert err.value.status == 400
    with pytest.raises(ApiError) as err:
        start(ref, "c1", 0.0, channel="wechat")  # not one of the agent's channels
    assert err.value.status == 400


# ------------------------------------------------------------------------------------------- sessions


def test_a_returning_customer_keeps_the_session_and_its_history_grows():
    ref = agent(cap=1, mean=10.0)
    first, _ = start(ref, "c1", 0.0)
    sid = first["session_id"]
    ref.expire(10.0, "end-1")
    before = copy.deepcopy(ref.get_session(sid))
    second, _ = start(ref, "c1", 20.0, type="billing")
    assert second["session_id"] == sid
    after = ref.get_session(sid)
    assert after["history"][: len(before["history"])] == before["history"]
    assert len(after["history"]) > len(before["history"])
    events = [h["event"] for h in after["history"]]
    assert events == ["conversation_started", "conversation_ended", "conversation_started"]
    assert after["extracted_data"]["types"] == ["question", "billing"]
    assert len(after["agent_interactions"]) == 2
    assert [s["id"] for s in ref.list_sessions()["sessions"]] == [sid]


def test_state_hash_is_stable_and_follows_the_history():
    ref = agent()
    sid = start(ref, "c1", 0.0)[0]["session_id"]
    one, two = ref.get_session(sid), ref.get_session(sid)
    assert one["state_hash"] == two["state_hash"]
    assert one["state_hash"].startswith("sha256:")
    assert state_hash(one) == one["state_hash"]  # recomputable by anyone from the context
    assert state_hash({**one, "updated_at": "another time"}) == one["state_hash"]  # updated_at is not state
    summary = ref.list_sessions()["sessions"][0]
    assert set(summary) == {"id", "customer_id", "channel", "state_hash", "updated_at"}
    assert summary["state_hash"] == one["state_hash"]
    ref.expire(10.0, "end")  # history grows: the hash changes
    assert ref.get_session(sid)["state_hash"] != one["state_hash"]


def test_state_hash_does_not_depend_on_key_order():
    ctx = {"id": "s", "customer_id": "c", "channel": None, "history": [{"b": 1, "a": 2}], "extracted_data": {},
           "agent_interactions": []}
    assert state_hash(ctx) == state_hash(dict(reversed(list(ctx.items()))))


def test_get_unknown_session_is_404():
    with pytest.raises(ApiError) as err:
        agent().get_session("nope")
    assert err.value.status == 404


def test_import_is_idempotent_by_id_and_keeps_the_state_hash():
    source = agent(seed=1)
    sid = start(source, "c1", 0.0)[0]["session_id"]
    source.expire(10.0, "end")
    ctx = copy.deepcopy(source.get_session(sid))
    target = agent(seed=2)
    body = {"sessions": [ctx], "transfer": {"from": "a1", "reason": "drill"}}
    first = target.import_sessions(copy.deepcopy(body), STAMP)
    assert first == {"imported": [sid], "rejected": [], "transfer": {"from": "a1", "reason": "drill"}}
    assert target.get_session(sid)["state_hash"] == ctx["state_hash"]
    assert target.get_session(sid)["history"] == ctx["history"]
    second = target.import_sessions(copy.deepcopy(body), STAMP)
    assert second["imported"] == [sid] and second["rejected"] == []
    assert len(target.list_sessions()["sessions"]) == 1
    # The imported customer comes back to the new agent: the same session grows there.
    again = start(target, "c1", 20.0)[0]
    assert again["session_id"] == sid
    assert target.get_session(sid)["history"][:2] == ctx["history"]


def test_import_rejects_a_damaged_context():
    source = agent()
    sid = start(source, "c1", 0.0)[0]["session_id"]
    ctx = copy.deepcopy(source.get_session(sid))
    damaged = copy.deepcopy(ctx)
    damaged["history"].append({"role": "customer", "event": "injected"})  # hash no longer matches
    missing = {k: v for k, v in ctx.items() if k != "customer_id"}
    target = agent(seed=9)
    out = target.import_sessions({"sessions": [damaged, missing, "not an object"]}, STAMP)
    assert out["imported"] == []
    reasons = [r["reason"] for r in out["rejected"]]
    assert "state_hash" in reasons[0]
    assert reasons[1] == "missing customer_id"
    assert reasons[2] == "not an object"
    assert [r["id"] for r in out["rejected"]] == [sid, sid, None]
    assert target.list_sessions() == {"sessions": []}
    with pytest.raises(ApiError) as err:
        target.import_sessions({"sessions": "nope"}, STAMP)
    assert err.value.status == 400


# ---------------------------------------------------------------------------------- faults and readiness


def test_fault_lease_reverts_at_until():
    ref = agent()
    out = ref.set_fault({"mode": "slow", "latency": 0.2, "lease": 5}, 100.0)
    assert out == {"mode": "slow", "latency": 0.2, "error_rate": 0.0, "lease": 5.0}
    assert ref.current_fault(104.999).mode == "slow"
    assert ref.current_fault(105.0).mode == "none"
    assert ref.fault.mode == "none"  # reverted by itself, nothing was called but the clock


def test_fault_defaults_and_validation():
    ref = agent()
    out = ref.set_fault({"mode": "error"}, 0.0)
    assert out["error_rate"] == 1.0 and out["lease"] == 60.0
    assert ref.current_fault(59.0).mode == "error" and ref.current_fault(60.0).mode == "none"
    assert ref.set_fault({"mode": "none"}, 0.0)["lease"] == 0
    assert ref.set_fault({"mode": "none", "lease": 0}, 0.0)["mode"] == "none"  # no lease needed to end a fault
    for bad in ({"mode": "explode"}, {"mode": "slow", "latency": -1}, {"mode": "error", "error_rate": 2},
                {"mode": "hang", "lease": 3601}, {"mode": "hang", "lease": "soon"}):
        with pytest.raises(ApiError) as err:
            ref.set_fault(bad, 0.0)
        assert err.value.status == 400


@pytest.mark.parametrize("mode,body,cut", [
    ("crash", {}, 2), ("hang", {}, 2), ("error", {}, 2), ("error", {"error_rate": 0}, 0),
    ("slow", {"latency": 1}, 0), ("unready", {}, 0), ("none", {}, 0),
])
def test_cut_by_fault_ends_the_conversations_a_fault_cuts_short(mode, body, cut):
    """crash and hang cut every conversation in progress, error each one at error_rate; the others none."""
    ref = agent(cap=2)
    ids = [start(ref, c, 0.0)[0]["session_id"] for c in ("c1", "c2")]
    ref.set_fault({"mode": mode, **body}, 1.0)
    out = ref.cut_by_fault("t-cut")
    assert out == ids[:cut] and len(ref.active) == 2 - cut
    for sid in out:
        assert ref.sessions[sid].history[-1] == {"role": "agent", "event": "conversation_cut", "fault": mode,
                                                 "at": "t-cut"}
        assert ref.sessions[sid].updated_at == "t-cut"
    assert len(ref.sessions) == 2  # the sessions stay; only the conversations end
    if cut:
        start(ref, "c3", 2.0)  # a slot is free again (the server, not the core, refuses requests during a fault)
    assert ref.budget.used == sum(s.size for s in ref.sessions.values())


def test_an_error_fault_cuts_each_conversation_with_its_rate():
    ref = agent(cap=400, seed=11)
    for i in range(400):
        start(ref, f"c{i}", 0.0)
    ref.set_fault({"mode": "error", "error_rate": 0.25}, 1.0)
    cut = ref.cut_by_fault(STAMP)
    assert 60 <= len(cut) <= 140  # binomial(400, 0.25): mean 100, sd 8.7
    assert len(ref.active) == 400 - len(cut)


def test_drain_cuts_no_conversation():
    ref = agent(cap=2)
    body, _ = start(ref, "c1", 0.0)
    ref.draining = True
    assert ref.cut_by_fault(STAMP) == []
    assert ref.expire(10.0, STAMP) == [body["session_id"]]  # it ends at its end time


def test_the_session_store_names_stay_importable_from_refagent():
    for name in ("ApiError", "Budget", "Session", "state_hash", "weight", "MAX_SESSIONS", "MAX_EVENTS"):
        assert getattr(refagent, name) is getattr(refagent_sessions, name)


def test_readiness_bodies():
    ref = agent()
    ref.started = False
    assert ref.readiness(0.0) == (503, {"ready": False, "failing": ["startup"]})
    ref.started = True
    assert ref.readiness(0.0) == (200, {"ready": True, "failing": []})
    ref.draining = True
    assert ref.readiness(0.0) == (503, {"ready": False, "failing": ["gateway-draining"]})
    with pytest.raises(ApiError) as err:
        start(ref, "c1", 0.0)
    assert err.value.status == 503
    ref.draining = False
    ref.set_fault({"mode": "unready", "lease": 2}, 0.0)
    assert ref.readiness(1.0) == (503, {"ready": False, "failing": ["fault-injected"]})
    with pytest.raises(ApiError) as err:
        start(ref, "c1", 1.0)
    assert err.value.status == 503
    assert ref.readiness(2.0) == (200, {"ready": True, "failing": []})
    start(ref, "c1", 2.0)


# ------------------------------------------------------------------------------------------- metrics


def _series(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics_text_series_and_histogram():
    ref = agent(cap=3)
    start(ref, "c1", 0.0)
    start(ref, "c2", 0.0)
    for seconds in (0.003, 0.02, 0.02, 0.7, 30.0):
        ref.counters.observe(seconds)
    ref.counters.ok, ref.counters.error, ref.counters.rejected = 3, 1, 1
    text = ref.metrics_text(12.5, 0.25)
    assert text.endswith("\n")
    s = _series(text)
    assert s["clawctl_agent_active_conversations"] == 2
    assert s["clawctl_agent_max_conversations"] == 3
    assert s['clawctl_agent_requests_total{outcome="ok"}'] == 3
    assert s['clawctl_agent_requests_total{outcome="error"}'] == 1
    assert s['clawctl_agent_requests_total{outcome="rejected"}'] == 1
    assert s["clawctl_agent_cpu_percent"] == 12.5
    assert s["clawctl_agent_memory_percent"] == 0.25
    for name in ("active_conversations", "max_conversations", "response_time_seconds", "requests_total",
                 "cpu_percent", "memory_percent"):
        assert f"# TYPE clawctl_agent_{name} " in text
    assert "# TYPE clawctl_agent_response_time_seconds histogram" in text
    buckets = [s[f'clawctl_agent_response_time_seconds_bucket{{le="{b}"}}'] for b in BUCKETS]
    assert buckets == sorted(buckets)  # cumulative
    assert s['clawctl_agent_response_time_seconds_bucket{le="0.005"}'] == 1
    assert s['clawctl_agent_response_time_seconds_bucket{le="0.025"}'] == 3
    assert s['clawctl_agent_response_time_seconds_bucket{le="1.0"}'] == 4
    assert s['clawctl_agent_response_time_seconds_bucket{le="10.0"}'] == 4
    assert s['clawctl_agent_response_time_seconds_bucket{le="+Inf"}'] == 5
    assert s["clawctl_agent_response_time_seconds_count"] == 5
    assert s["clawctl_agent_response_time_seconds_sum"] == pytest.approx(30.743)


def test_metrics_text_of_a_fresh_agent():
    s = _series(agent().metrics_text(0.0, 0.0))
    assert s['clawctl_agent_response_time_seconds_bucket{le="+Inf"}'] == 0
    assert s["clawctl_agent_response_time_seconds_count"] == 0
    assert s["clawctl_agent_active_conversations"] == 0


# ---------------------------------------------------------------------------------- hardening


@pytest.mark.parametrize("body", [
    {"mode": "slow", "latency": float("nan")}, {"mode": "slow", "latency": float("inf")},
    {"mode": "slow", "latency": 1e308}, {"mode": "slow", "latency": 10**400}, {"mode": "slow", "latency": 3600.001},
    {"mode": "slow", "latency": -0.5}, {"mode": "slow", "latency": "0.2"}, {"mode": "slow", "latency": True},
    {"mode": "hang", "lease": float("nan")}, {"mode": "hang", "lease": float("inf")}, {"mode": "hang", "lease": 0},
    {"mode": "error", "error_rate": float("nan")}, {"mode": "error", "error_rate": -0.1}, {"mode": ["slow"]},
    {"mode": None},
])
def test_set_fault_refuses_non_finite_huge_and_non_numeric_values(body):
    ref = agent()
    with pytest.raises(ApiError) as err:
        ref.set_fault(body, 0.0)
    assert err.value.status == 400
    assert ref.fault.mode == "none"


def test_set_fault_takes_the_documented_bounds():
    ref = agent()
    assert ref.set_fault({"mode": "slow", "latency": MAX_LATENCY, "lease": MAX_LEASE}, 0.0)["latency"] == MAX_LATENCY
    assert ref.set_fault({"mode": "slow", "latency": 0, "lease": None}, 0.0)["lease"] == 60.0  # null: the default
    assert ref.set_fault({"mode": "error", "error_rate": None}, 0.0)["error_rate"] == 1.0


@pytest.mark.parametrize("body", [
    {"customer_id": "c" * (MAX_FIELD_CHARS + 1)}, {"customer_id": 5}, {"customer_id": ""},
    {"customer_id": "c", "channel": {"x": 1}}, {"customer_id": "c", "channel": "e" * 300},
    {"customer_id": "c", "type": ["a"]}, {"customer_id": "c", "type": "t" * 300},
])
def test_conversation_fields_are_strings_of_bounded_length(body):
    with pytest.raises(ApiError) as err:
        agent(channels=[]).start_conversation(body, 0.0, STAMP)
    assert err.value.status == 400


def _context(sid: str, customer: str, **extra) -> dict:
    ctx = {"id": sid, "customer_id": customer, "channel": None, "history": [], "extracted_data": {},
           "agent_interactions": [], "updated_at": STAMP, **extra}
    ctx["state_hash"] = state_hash(ctx)
    return ctx


def test_an_imported_types_entry_that_is_not_a_list_is_left_alone():
    """An imported context with `extracted_data.types` of 5 made the next conversation raise (a 500)."""
    ref = agent()
    ref.import_sessions({"sessions": [_context("s1", "c1", extracted_data={"types": 5})]}, STAMP)
    body, _ = start(ref, "c1", 0.0)
    assert body == {"session_id": "s1"}
    assert ref.sessions["s1"].extracted_data == {"types": 5}
    assert ref.sessions["s1"].history[-1]["event"] == "conversation_started"


def test_state_hash_takes_lone_surrogates():
    ctx = _context("s1", "c1", history=[{"note": "\ud800"}])
    assert ctx["state_hash"].startswith("sha256:")
    out = agent().import_sessions({"sessions": [ctx]}, STAMP)
    assert out["imported"] == ["s1"] and out["rejected"] == []


def test_import_limits_are_413_and_nothing_is_imported():
    ref = agent()
    with pytest.raises(ApiError) as err:
        ref.import_sessions({"sessions": [_context(f"s{i}", "c") for i in range(MAX_IMPORT_SESSIONS + 1)]}, STAMP)
    assert err.value.status == 413
    big = _context("big", "c", history=["x" * MAX_SESSION_BYTES])
    with pytest.raises(ApiError) as err:
        ref.import_sessions({"sessions": [_context("ok", "c"), big]}, STAMP)
    assert err.value.status == 413
    assert ref.sessions == {} and ref.budget.used == 0


def test_the_session_store_is_bounded_by_count(monkeypatch):
    monkeypatch.setattr(refagent_sessions, "MAX_SESSIONS", 3)
    ref = agent(cap=1, mean=10.0)
    for i in range(5):
        start(ref, f"c{i}", i * 20.0)  # each conversation is over before the next starts
        ref.expire(i * 20.0 + 10.0, STAMP)
    assert len(ref.sessions) == 3 and [s.customer_id for s in ref.sessions.values()] == ["c2", "c3", "c4"]
    assert set(ref.by_customer) == {"c2", "c3", "c4"}
    out = ref.import_sessions({"sessions": [_context("i1", "x1"), _context("i2", "x2")]}, STAMP)
    assert out["imported"] == ["i1", "i2"] and list(ref.sessions)[1:] == ["i1", "i2"]
    assert next(iter(ref.sessions.values())).customer_id == "c4"
    with pytest.raises(ApiError) as err:  # more than the whole store: refused, not half imported
        ref.import_sessions({"sessions": [_context(f"j{i}", "y") for i in range(4)]}, STAMP)
    assert err.value.status == 413 and len(ref.sessions) == 3


def test_the_session_store_is_bounded_by_memory_shared_by_the_agents_of_a_process():
    budget = Budget(limit=200_000)
    one, two = agent(seed=1), agent(seed=2)
    one.budget = two.budget = budget
    payload = ["x" * 1000] * 20  # about 21 kB of strings per session
    for i in range(30):
        one.import_sessions({"sessions": [_context(f"a{i}", f"c{i}", history=list(payload))]}, STAMP)
    assert budget.used <= budget.limit
    assert 0 < len(one.sessions) < 30 and "a29" in one.sessions  # the newest stay, the oldest made room
    assert budget.used == sum(s.size for s in one.sessions.values())
    with pytest.raises(ApiError) as err:  # the other agent cannot take what only the first one's sessions hold
        two.import_sessions({"sessions": [_context(f"b{i}", "c", history=list(payload)) for i in range(10)]}, STAMP)
    assert err.value.status == 413
    assert weight([{}] * 10) > len("[{},{},{},{},{},{},{},{},{},{}]") * 10  # Python objects, not JSON bytes


def test_a_session_keeps_its_newest_events(monkeypatch):
    monkeypatch.setattr(refagent_sessions, "MAX_EVENTS", 5)
    ref = agent(cap=1)
    start(ref, "c1", 0.0)
    for i in range(20):
        ref.start_conversation({"customer_id": "c1", "type": f"t{i}"}, 1.0 + i, f"at{i}")  # turns, mid-conversation
    session = ref.sessions[ref.by_customer["c1"]]
    assert len(session.history) == 5 and session.history[-1]["at"] == "at19"
    assert ref.budget.used == session.size > 0
