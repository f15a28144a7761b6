"""The pure parts of `clawctl failover plan`: backup chains, coverage, business hours on the reference
week, capacity headroom, single points of failure, regions, the detection model and the helpers the
service's simulations use. Every fleet is written here; every expected figure is worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clawctl.core.failover.plan import (
    SPOF_KINDS,
    FailoverPlan,
    agent_plan,
    backup_chain,
    direct_backups,
    make_plan,
    masks_of,
    region_names,
    region_plan,
)
from clawctl.core.failover.plan_predict import (
    Detection,
    SimRun,
    SimTarget,
    Simulation,
    active_range,
    detection,
    phase_instants,
    spread,
    utilization_while_open,
)
from clawctl.core.failover.plan_week import (
    ALWAYS,
    REFERENCE_WEEK,
    SLOTS,
    hours_label,
    open_at,
    open_mask,
    open_matrix,
    share,
    week_step,
)
from clawctl.core.fleet import Fleet, merge
from clawctl.core.model.fleet_file import FleetFile

NOW = "2026-01-05T09:30:00.000Z"


def fleet_of(agents: dict, **sections) -> Fleet:
    fleet, findings = merge([("test.yaml", FleetFile.model_validate({"agents": agents, **sections}))])
    assert not findings, findings
    return fleet


def plan_of(fleet: Fleet, util=None, simulation=None) -> FailoverPlan:
    return make_plan(fleet, name="t", generated_at=NOW, util=util, simulation=simulation)


def spof_kinds(plan: FailoverPlan) -> list[tuple[str, str]]:
    assert {s.kind for s in plan.spofs} <= set(SPOF_KINDS)
    return [(s.kind, s.target) for s in plan.spofs]


LONDON_9_17 = {"timezone": "Europe/London", "start": "09:00", "end": "17:00", "days": "weekdays"}
NEW_YORK_9_17 = {"timezone": "America/New_York", "start": "09:00", "end": "17:00", "days": "weekdays"}
TOKYO_9_17 = {"timezone": "Asia/Tokyo", "schedule": "9AM-5PM weekdays"}


# -- backup chains ------------------------------------------------------------------------------------------
def test_the_chain_lists_direct_backups_in_order_then_their_backups_breadth_first():
    fleet = fleet_of({"a": {"backups": ["b", "c"]}, "b": {"backups": ["d"]}, "c": {"backups": ["e", "d"]},
                      "d": {}, "e": {}})
    chain = backup_chain(fleet, "a")
    assert [(link.id, link.depth, link.via) for link in chain] == [
        ("b", 1, None), ("c", 1, None), ("d", 2, "b"), ("e", 2, "c")]


def test_a_cycle_in_the_backups_ends_the_chain_instead_of_looping():
    fleet = fleet_of({"a": {"backups": ["b"]}, "b": {"backups": ["c"]}, "c": {"backups": ["a", "b"]}})
    assert [link.id for link in backup_chain(fleet, "a")] == ["b", "c"]
    mutual = fleet_of({"x": {"backups": ["y"]}, "y": {"backups": ["x"]}})
    assert [link.id for link in backup_chain(mutual, "x")] == ["y"]


def test_the_chain_stops_at_depth_three():
    fleet = fleet_of({"a": {"backups": ["b"]}, "b": {"backups": ["c"]}, "c": {"backups": ["d"]},
                      "d": {"backups": ["e"]}, "e": {}})
    assert [(link.id, link.depth) for link in backup_chain(fleet, "a")] == [("b", 1), ("c", 2), ("d", 3)]
    assert [link.id for link in backup_chain(fleet, "a", depth=1)] == ["b"]


def test_unknown_repeated_and_self_backups_are_skipped():
    # B001/B002/B003 are lint's; the model accepts these ids, the plan only follows real agents
    fleet = fleet_of({"a": {"backups": ["ghost", "b", "b", "a"]}, "b": {}})
    assert direct_backups(fleet, fleet.agents["a"]) == ["b"]
    assert [link.id for link in backup_chain(fleet, "a")] == ["b"]


# -- coverage -----------------------------------------------------------------------------------------------
def test_coverage_names_the_channels_and_capabilities_no_backup_serves():
    fleet = fleet_of({
        "a": {"channels": ["email", "sms", "voice"], "capabilities": ["refunds", "invoices"], "backups": ["b", "c"]},
        "b": {"channels": ["email"], "capabilities": ["refunds"]},
        "c": {"channels": ["sms"], "capabilities": []},
    })
    plan = plan_of(fleet)
    a = plan.agents[0]
    assert a.coverage.channels_covered == ["email", "sms"] and a.coverage.channels_missing == ["voice"]
    assert a.coverage.capabilities_covered == ["refunds"] and a.coverage.capabilities_missing == ["invoices"]
    each = {b.id: (b.channels_missing, b.capabilities_missing) for b in a.each}
    assert each == {"b": (["sms", "voice"], ["invoices"]), "c": (["email", "voice"], ["refunds", "invoices"])}
    gap = next(s for s in plan.spofs if s.target == "a")
    assert gap.kind == "backup-gap" and "voice" in gap.detail and "invoices" in gap.detail


def test_a_drained_backup_covers_nothing():
    fleet = fleet_of({"a": {"channels": ["email"], "backups": ["b"]}, "b": {"channels": ["email"], "weight": 0}})
    plan = plan_of(fleet)
    assert plan.agents[0].each[0].drained
    assert plan.agents[0].coverage.channels_missing == ["email"]
    assert ("no-backup", "a") in spof_kinds(plan)


# -- business hours -----------------------------------------------------------------------------------------
def test_an_agent_without_hours_or_24_7_is_always_open():
    fleet = fleet_of({"a": {}, "b": {"availability": "24/7"}, "c": {"business_hours": LONDON_9_17}})
    masks = masks_of(fleet)
    assert masks["a"] == masks["b"] == ALWAYS
    assert masks["c"].bit_count() == 5 * 8 * 4  # 40 hours a week, in quarter hours
    assert hours_label(fleet.agents["a"]) == "always" and hours_label(fleet.agents["b"]) == "24/7"
    assert hours_label(fleet.agents["c"]) == "09:00-17:00 Mon-Fri Europe/London"


def test_hours_coverage_compares_each_agent_in_its_own_time_zone():
    # London 9-17 is 09-17 UTC in January; New York 9-17 is 14-22 UTC: three hours of eight overlap
    fleet = fleet_of({"ldn": {"business_hours": LONDON_9_17, "backups": ["nyc"]},
                      "nyc": {"business_hours": NEW_YORK_9_17, "backups": ["ldn"]}})
    plan = plan_of(fleet)
    assert plan.agents[0].coverage.hours == pytest.approx(3 / 8)
    assert plan.agents[1].coverage.hours == pytest.approx(3 / 8)
    assert ("hours-gap", "ldn") in spof_kinds(plan)
    assert "62%" in next(s.detail for s in plan.spofs if s.target == "ldn")  # 5 of 8 hours, 25 h a week


def test_a_24_7_agent_is_covered_only_while_a_backup_is_open():
    # Tokyo 9-17 weekdays is 00-08 UTC: 40 of the week's 168 hours; London adds 09-17 UTC: 80 of 168
    fleet = fleet_of({"a": {"availability": "24/7", "backups": ["tyo", "ldn"]},
                      "tyo": {"business_hours": TOKYO_9_17}, "ldn": {"business_hours": LONDON_9_17}})
    a = plan_of(fleet).agents[0]
    assert [b.hours for b in a.each] == [pytest.approx(40 / 168), pytest.approx(40 / 168)]
    assert a.coverage.hours == pytest.approx(80 / 168)
    assert a.open_hours_per_week == 168


def test_an_overnight_shift_is_covered_across_midnight():
    # 22:00-06:00 Mon-Fri in UTC: a backup open 00:00-06:00 daily covers 6 of each 8 hours
    fleet = fleet_of({"night": {"business_hours": {"timezone": "UTC", "schedule": "22:00-06:00 Mon-Fri"},
                                "backups": ["early"]},
                      "early": {"business_hours": {"timezone": "UTC", "schedule": "00:00-06:00 daily"}}})
    a = plan_of(fleet).agents[0]
    assert a.open_hours_per_week == 40
    assert a.coverage.hours == pytest.approx(6 / 8)


def test_week_steps_repeat_every_week():
    assert week_step(REFERENCE_WEEK) == 0
    assert week_step(REFERENCE_WEEK + timedelta(minutes=16)) == 1
    assert week_step(REFERENCE_WEEK - timedelta(minutes=1)) == SLOTS - 1
    assert week_step(REFERENCE_WEEK + timedelta(days=14, hours=1)) == 4
    fleet = fleet_of({"ldn": {"business_hours": LONDON_9_17}})
    mask = open_mask(fleet.agents["ldn"])
    assert open_at(mask, datetime(2026, 3, 2, 10, tzinfo=timezone.utc))  # a Monday, weeks later
    assert not open_at(mask, datetime(2026, 3, 7, 10, tzinfo=timezone.utc))  # a Saturday
    assert share(mask, ALWAYS) == pytest.approx(40 / 168) and share(ALWAYS, 0) is None


def test_the_open_matrix_holds_the_masks_bits():
    m = open_matrix([0b101, ALWAYS, 0])
    assert m.shape == (3, SLOTS)
    assert list(m[0, :4]) == [True, False, True, False] and m[1].all() and not m[2].any()


# -- capacity -----------------------------------------------------------------------------------------------
def test_headroom_is_the_backups_free_slots_against_the_agents_expected_load():
    fleet = fleet_of({"a": {"max_concurrent_conversations": 10, "backups": ["b", "c"]},
                      "b": {"max_concurrent_conversations": 4}, "c": {"max_concurrent_conversations": 6}})
    plan = plan_of(fleet, util={"a": 0.5, "b": 0.5, "c": 0.75})
    cap = plan.agents[0].coverage.capacity
    assert cap.load == pytest.approx(5.0) and cap.spare == pytest.approx(2.0 + 1.5) and cap.ok is False
    assert ("capacity", "a") in spof_kinds(plan)
    roomy = plan_of(fleet, util={"a": 0.3, "b": 0.0, "c": 0.5})
    assert roomy.agents[0].coverage.capacity.ok is True
    assert ("capacity", "a") not in spof_kinds(roomy)


def test_without_utilisations_headroom_is_unknown_and_no_capacity_gap_is_claimed():
    fleet = fleet_of({"a": {"backups": ["b"]}, "b": {}})
    plan = plan_of(fleet)
    cap = plan.agents[0].coverage.capacity
    assert (cap.load, cap.spare, cap.ok) == (None, None, None)
    assert plan.agents[0].utilization is None
    partial = plan_of(fleet, util={"a": 0.5, "b": None})
    cap = partial.agents[0].coverage.capacity
    assert cap.unmeasured == ["b"] and cap.spare == 0 and cap.ok is False


# -- single points of failure -------------------------------------------------------------------------------
def test_agents_without_backups_are_single_points_of_failure():
    plan = plan_of(fleet_of({"a": {}, "b": {"backups": ["a"]}}))
    assert spof_kinds(plan) == [("no-backup", "a")]


def test_a_backup_that_is_the_only_backup_of_many_agents_is_listed_with_its_count():
    agents = {f"a{i}": {"backups": ["hub"]} for i in range(3)}
    agents |= {"b": {"backups": ["hub", "a0"]}, "hub": {"backups": ["a0"]}}
    plan = plan_of(fleet_of(agents))
    shared = [s for s in plan.spofs if s.kind == "shared-backup"]
    assert len(shared) == 1 and shared[0].target == "hub" and shared[0].agents == ["a0", "a1", "a2"]
    assert "3 agents" in shared[0].detail
    two = plan_of(fleet_of({"a0": {"backups": ["hub"]}, "a1": {"backups": ["hub"]}, "hub": {"backups": ["a0"]}}))
    assert not [s for s in two.spofs if s.kind == "shared-backup"]


def test_regions_without_a_recovery_site_or_with_an_empty_one_are_single_points_of_failure():
    fleet = fleet_of({"e1": {"region": "eu", "backups": ["u1"]}, "u1": {"region": "us", "backups": ["e1"]},
                      "a1": {"region": "ap", "backups": ["u1"]}},
                     failover={"regions": {"eu": {"recovery_site": "us"}, "us": {"recovery_site": "mars"},
                                           "ap": {"recovery_site": "ap"}}})
    kinds = spof_kinds(plan_of(fleet))
    assert ("region-empty-site", "us") in kinds and ("region-no-site", "ap") in kinds
    assert not [k for k in kinds if k[1] == "eu"]
    bare = fleet_of({"e1": {"region": "eu", "backups": ["u1"]}, "u1": {"region": "us", "backups": ["e1"]}})
    assert ("region-no-site", "eu") in spof_kinds(plan_of(bare))


def test_a_region_whose_backups_all_sit_inside_it_is_flagged():
    fleet = fleet_of({"e1": {"region": "eu", "backups": ["e2"]}, "e2": {"region": "eu", "backups": ["u1"]},
                      "e3": {"region": "eu"}, "u1": {"region": "us", "backups": ["e1"]}},
                     failover={"regions": {"eu": {"recovery_site": "us"}, "us": {"recovery_site": "eu"}}})
    plan = plan_of(fleet)
    eu = next(r for r in plan.regions if r.name == "eu")
    assert eu.same_region_backups == ["e1"]  # e3 has no backup at all: a no-backup of its own
    assert next(s for s in plan.spofs if s.kind == "same-region-backups").agents == ["e1"]
    assert ("no-backup", "e3") in spof_kinds(plan)


# -- regions ------------------------------------------------------------------------------------------------
def test_a_region_lists_its_agents_its_site_and_what_the_site_does_not_cover():
    fleet = fleet_of({
        "e1": {"region": "eu", "channels": ["email", "line"], "capabilities": ["refunds"], "backups": ["u1"],
               "business_hours": LONDON_9_17, "max_concurrent_conversations": 10},
        "u1": {"region": "us", "channels": ["email"], "backups": ["e1"], "business_hours": NEW_YORK_9_17,
               "max_concurrent_conversations": 4},
        "u2": {"region": "us", "channels": ["sms"], "weight": 0, "capabilities": ["refunds"], "backups": ["e1"]},
    }, failover={"regions": {"eu": {"recovery_site": "us"}, "us": {"recovery_site": "eu"},
                             "af": {"recovery_site": "eu"}}})
    assert region_names(fleet) == ["eu", "us", "af"]
    masks = masks_of(fleet)
    eu = region_plan(fleet, "eu", masks, {"e1": 0.5, "u1": 0.25, "u2": 0.0})
    assert eu.agents == ["e1"] and eu.recovery_site == "us" and eu.site_agents == ["u1", "u2"]
    assert eu.channels_missing == ["line"] and eu.capabilities_missing == ["refunds"]  # u2 is drained
    assert eu.hours == pytest.approx(3 / 8)
    assert eu.capacity.load == pytest.approx(5.0) and eu.capacity.spare == pytest.approx(3.0)
    plan = plan_of(fleet, util={"e1": 0.5, "u1": 0.25, "u2": 0.0})
    gap = next(s for s in plan.spofs if s.kind == "region-gap" and s.target == "eu")
    assert "line" in gap.detail and "refunds" in gap.detail and "capacity" in gap.detail
    af = next(r for r in plan.regions if r.name == "af")
    assert af.agents == [] and not [s for s in plan.spofs if s.target == "af"]


# -- detection ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("interval, timeout, threshold, expected", [
    (5.0, 1.0, 3, (10.0, 16.0)),  # refused before a probe: 2 more probes; hung after one: 3 intervals + timeout
    (2.0, 0.5, 1, (0.0, 2.5)),
    (10.0, 3.0, 5, (40.0, 53.0)),
])
def test_active_detection_ranges_from_threshold_minus_one_intervals_to_threshold_intervals_plus_timeout(
        interval, timeout, threshold, expected):
    assert active_range(interval, timeout, threshold) == expected


def _lb(max_fails: int, fail_timeout: str, timeout: str = "1s") -> dict:
    return {"health": {"probe_interval": "5s", "timeout": timeout, "failure_threshold": 3},
            "passive": {"max_fails": max_fails, "fail_timeout": fail_timeout}}


def test_passive_detection_is_zero_to_max_fails_timeouts():
    fleet = fleet_of({"a": {}}, load_balancing=_lb(3, "30s"))
    d = detection(fleet.load_balancing, fleet.failover.objectives)
    assert d.passive == (0.0, 3.0) and not d.passive_trap
    shape = d.as_dict()
    assert shape["active"]["min_s"] == 10.0 and shape["active"]["max_s"] == 16.0 and shape["active"]["met"]
    assert shape["passive"]["first_failure"] == {"min_s": 0.0, "max_s": 1.0}
    assert shape["simulated_s"] == 16.0


@pytest.mark.parametrize("max_fails, fail_timeout, timeout, trap", [
    (2, "30s", "40s", True),   # the research note's case: max_fails > 1, timeout over fail_timeout
    (3, "30s", "20s", True),   # failures 20s apart: never three within 30s
    (3, "30s", "15s", False),  # 15s apart: the third lands exactly 30s after the first
    (1, "10s", "60s", False),  # one failure is enough
])
def test_the_nginx_trap_is_flagged_when_failures_one_at_a_time_never_gather(max_fails, fail_timeout, timeout, trap):
    fleet = fleet_of({"a": {}}, load_balancing=_lb(max_fails, fail_timeout, timeout))
    plan = plan_of(fleet)
    assert plan.detection.passive_trap is trap
    assert any("nginx trap" in n for n in plan.notes) is trap
    assert (plan.detection.passive[1] is None) is trap


def test_max_fails_zero_turns_passive_checks_off():
    fleet = fleet_of({"a": {}}, load_balancing=_lb(0, "10s"))
    d = plan_of(fleet).detection
    assert d.passive is None and d.as_dict()["passive"]["enabled"] is False


def test_a_detection_slower_than_the_objective_is_noted():
    fleet = fleet_of({"a": {}}, load_balancing={"health": {"probe_interval": "10s", "timeout": "5s",
                                                           "failure_threshold": 3}},
                     failover={"objectives": {"detection": "30s"}})
    plan = plan_of(fleet)
    assert plan.detection.active == (20.0, 35.0)
    assert plan.detection.as_dict()["active"]["met"] is False
    assert any("over the detection objective" in n for n in plan.notes)


# -- the simulation's helpers -------------------------------------------------------------------------------
def test_phase_instants_fall_mid_way_through_equal_parts_of_each_day():
    instants = phase_instants(4)
    assert len(instants) == 28
    assert instants[0] == REFERENCE_WEEK + timedelta(hours=3) and instants[-1] == REFERENCE_WEEK + timedelta(days=6,
                                                                                                          hours=21)


def test_spread_picks_items_evenly():
    assert spread(list(range(28)), 4) == [3, 10, 17, 24]
    assert spread([1, 2], 4) == [1, 2]
    assert spread([], 4) == []


def test_utilisation_counts_only_samples_when_the_agent_is_open_and_after_the_warm_up():
    fleet = fleet_of({"ldn": {"business_hours": LONDON_9_17, "max_concurrent_conversations": 4},
                      "all": {"max_concurrent_conversations": 2}, "never": {"business_hours": {
                          "timezone": "UTC", "schedule": "9AM-5PM Sat"}}})
    masks = masks_of(fleet)
    start = REFERENCE_WEEK + timedelta(hours=8)  # Monday 08:00 UTC: London opens at 09:00
    times = [600.0, 1800.0, 3600.0 + 60, 7200.0]  # 08:10, 08:30, 09:01, 10:00
    busy = [[4, 2, 0], [4, 2, 0], [2, 1, 0], [1, 0, 0]]
    util = utilization_while_open([(start, times, busy)], ["ldn", "all", "never"], [4, 2, 1], masks, [1000.0])
    assert util["ldn"] == pytest.approx((2 + 1) / (4 * 2))  # 09:01 and 10:00 only
    assert util["all"] == pytest.approx((2 + 1 + 0) / (2 * 3))  # 08:10 is in the warm-up
    assert util["never"] is None


def test_simulated_figures_sum_the_runs_and_judge_the_objectives():
    at = REFERENCE_WEEK + timedelta(hours=3)
    t = SimTarget("agent", "a", [], 16.0, 120.0, 99.0, [SimRun(at, 9, 1, 5), SimRun(at + timedelta(days=1), 0, 0, 0),
                                                        SimRun(at + timedelta(days=2), 3, 3, 2)])
    assert (t.transferred, t.lost, t.turned_away) == (12, 4, 7)
    assert t.preservation == pytest.approx(75.0)
    assert t.worst.at == at + timedelta(days=2)
    d = t.as_dict()
    assert d["objectives"] == {"recovery_s": 120.0, "recovery_met": True, "preservation_pct": 99.0,
                               "preservation_met": False}
    assert d["worst_at"] == "2026-01-07T03:00:00Z" and d["runs"][1]["preservation_pct"] is None
    idle = SimTarget("region", "eu", ["e1"], 16.0, 300.0, 99.0, [SimRun(at, 0, 0, 0)])
    assert idle.preservation is None and idle.as_dict()["objectives"]["preservation_met"] is None
    never = SimTarget("agent", "n", [], 16.0, 10.0, 99.0, note="never open")
    assert never.as_dict()["objectives"]["recovery_met"] is None


# -- the result ---------------------------------------------------------------------------------------------
def test_the_plan_as_json_has_schema_version_1_first_and_every_section():
    fleet = fleet_of({"a": {"region": "eu", "backups": ["b"], "channels": ["email"]},
                      "b": {"region": "us", "channels": ["email"], "backups": ["a"]}},
                     failover={"regions": {"eu": {"recovery_site": "us"}}})
    sim = Simulation("least_conn", 1, 5000, 1440.0, 28, [SimTarget("agent", "a", [], 16.0, 120.0, 99.95)])
    d = plan_of(fleet, util={"a": 0.5, "b": 0.25}, simulation=sim).as_dict()
    assert list(d) == ["schema_version", "fleet", "generated_at", "objectives", "agents", "regions",
                       "single_points_of_failure", "detection", "simulation", "notes"]
    assert d["schema_version"] == 1 and d["generated_at"] == NOW
    objectives = {k: v for k, v in d["objectives"].items() if k not in ("defaults", "missed")}
    assert objectives == {"detection_s": 30.0, "agent_recovery_s": 120.0, "regional_recovery_s": 300.0,
                          "session_preservation_pct": 99.95}
    # the fleet sets no objective: every one is the default; `missed` lists the predicted misses
    assert d["objectives"]["defaults"] == ["detection", "agent_recovery", "regional_recovery",
                                           "session_preservation"]
    assert isinstance(d["objectives"]["missed"], list)
    assert list(d["agents"][0]) == ["id", "region", "capacity", "weight", "hours", "open_hours_per_week",
                                    "utilization", "backups", "chain", "each_backup", "coverage"]
    assert d["agents"][0]["coverage"] == {
        "channels": {"covered": ["email"], "missing": []}, "capabilities": {"covered": [], "missing": []},
        "hours": 1.0, "capacity": {"load": 5.0, "spare": 7.5, "ok": True, "unmeasured": []}}
    assert d["agents"][0]["each_backup"] == [{"id": "b", "drained": False, "channels_missing": [],
                                              "capabilities_missing": [], "hours": 1.0, "spare": 7.5}]
    assert d["agents"][0]["chain"] == [{"id": "b", "depth": 1, "via": None}]
    assert list(d["regions"][0]) == ["name", "agents", "recovery_site", "site_agents", "channels_missing",
                                     "capabilities_missing", "hours", "capacity", "same_region_backups"]
    assert d["single_points_of_failure"] == [{"kind": "region-no-site", "target": "us",
                                              "detail": "region has no recovery site (failover.regions)",
                                              "agents": ["b"]}]
    assert list(d["simulation"]) == ["strategy", "seed", "requests_per_run", "run_s", "baseline_runs", "agents",
                                     "regions"]
    assert list(d["simulation"]["agents"][0]) == ["kind", "target", "agents", "transferred", "lost",
                                                  "preservation_pct", "turned_away", "recovery_s", "objectives",
                                                  "worst_at", "runs", "note"]
    assert d["simulation"]["regions"] == []
    assert FailoverPlan.view == "failover-plan"


def test_a_plan_is_made_for_every_agent_in_fleet_order():
    fleet = fleet_of({"z": {}, "a": {"backups": ["z"]}})
    masks = masks_of(fleet)
    assert [agent_plan(fleet, a, masks).id for a in fleet.agents.values()] == ["z", "a"]
    assert isinstance(plan_of(fleet).detection, Detection)
