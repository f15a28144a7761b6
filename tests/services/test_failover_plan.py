"""`clawctl failover plan` through its service and the one output path: the example fleets, a region
failure in a fleet written here, --no-sim, the cap on simulated agents, and the text, Markdown and
JSON views (terminal-safe)."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clawctl.core.env import Env
from clawctl.core.failover.plan import make_plan
from clawctl.core.fleet import merge
from clawctl.core.model.fleet_file import FleetFile
from clawctl.render.output import render
from clawctl.services import failover_plan
from clawctl.services.failover_plan import plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)


def clock() -> datetime:
    return NOW


def env() -> Env:
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=clock, environ={"NO_COLOR": "1"})


@pytest.fixture(scope="module")
def multi_region():
    return plan(str(EXAMPLES / "multi-region.yaml"), None, clock=clock)


# Two regions. eu1 is backed up in us, eu2 only by eu1 (its own region), us1 by eu1. least_conn sends
# us1 three conversations for each one of eu1 and eu2 (weight 3): about 36, 12 and 12 of the 60 in progress.
TWO_REGIONS = """
agents:
  eu1: {region: eu, channels: [email], max_concurrent_conversations: 100, backups: [us1],
        service_time: {distribution: exponential, mean: 60s}}
  eu2: {region: eu, channels: [email], max_concurrent_conversations: 40, backups: [eu1],
        service_time: {distribution: exponential, mean: 60s}}
  us1: {region: us, channels: [email], max_concurrent_conversations: 80, weight: 3, backups: [eu1],
        service_time: {distribution: exponential, mean: 60s}}
failover:
  regions:
    eu: {recovery_site: us}
    us: {recovery_site: eu}
traffic:
  arrivals: {rate: 1/s}
  requests: 2000
"""


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet") / "two.yaml"
    path.write_text(TWO_REGIONS)
    return path


def test_the_multi_region_example_gets_every_agent_and_region_simulated(multi_region):
    d = multi_region.as_dict()
    assert d["schema_version"] == 1 and d["fleet"] == "acme-global-customer-care"
    assert d["generated_at"] == "2026-01-05T09:30:00.000Z"
    assert len(d["agents"]) == 14 and [r["name"] for r in d["regions"]] == ["us-east", "europe", "asia_pacific"]
    us_sales = d["agents"][0]
    assert us_sales["backups"] == ["eu_sales", "apac_sales"]
    # its backups together cover its channels and capabilities (the example is written so), not its hours:
    # eu_sales (09-17 UTC) and apac_sales (01-10 UTC) on weekdays cover 80 of a 24/7 agent's 168 hours
    assert us_sales["coverage"]["channels"]["missing"] == [] and us_sales["coverage"]["capabilities"]["missing"] == []
    assert us_sales["coverage"]["hours"] == pytest.approx(80 / 168, abs=1e-4)
    assert all(0 <= a["utilization"] <= 1 for a in d["agents"])
    sim = d["simulation"]
    assert len(sim["agents"]) == 14 and [r["target"] for r in sim["regions"]] == ["us-east", "europe", "asia_pacific"]
    assert sim["requests_per_run"] <= failover_plan.MAX_RUN_REQUESTS
    for t in sim["agents"] + sim["regions"]:
        assert t["recovery_s"] == d["detection"]["simulated_s"] == 16.0
        assert 1 <= len(t["runs"]) <= failover_plan.RUNS_PER_TARGET
        assert t["transferred"] == sum(r["transferred"] for r in t["runs"])
        if t["transferred"] + t["lost"]:
            assert t["preservation_pct"] == pytest.approx(100 * t["transferred"] / (t["transferred"] + t["lost"]),
                                                          abs=1e-3)
    us_east = sim["regions"][0]
    assert us_east["agents"] == ["us_sales", "us_sales_enterprise", "us_support", "us_support_night", "us_billing"]
    assert us_east["transferred"] + us_east["lost"] > 0
    assert d["detection"]["active"]["min_s"] == 10.0 and d["detection"]["active"]["max_s"] == 16.0
    kinds = {s["kind"] for s in d["single_points_of_failure"]}
    assert "no-backup" not in kinds and "hours-gap" in kinds


def test_failures_are_placed_when_the_target_is_open(multi_region):
    from clawctl.core.failover.plan_week import open_at

    fleet_agents = {a.id: a for a in multi_region.agents}
    eu_sales = next(t for t in multi_region.simulation.targets if t.target == "eu_sales")
    assert fleet_agents["eu_sales"].hours.startswith("09:00-17:00 Mon-Fri")
    for run in eu_sales.runs:  # 09:00 or 15:00 UTC, a weekday
        assert run.at.weekday() < 5 and 9 <= run.at.hour < 17
    assert all(open_at((1 << 672) - 1, r.at) for r in eu_sales.runs)


def test_a_region_failure_moves_what_backups_outside_it_can_take_and_loses_the_rest(two_regions):
    p = plan(str(two_regions), None, clock=clock)
    sim = {t.target: t for t in p.simulation.targets}
    eu = sim["eu"]
    assert eu.kind == "region" and eu.agents == ["eu1", "eu2"]
    # eu1's conversations go to us1; eu2's only backup (eu1) is down with it
    assert eu.transferred > 0 and eu.lost > 0
    assert 0 < eu.preservation < 100
    assert sim["eu2"].preservation == 100.0  # alone, eu2 fails over to eu1, which has room
    assert sim["us"].preservation == 100.0  # us1's conversations fit on eu1
    same = [s for s in p.spofs if s.kind == "same-region-backups"]
    assert [(s.target, s.agents) for s in same] == [("eu", ["eu2"])]
    assert eu.recovery_s == p.detection.simulated == 16.0
    d = p.as_dict()["simulation"]["regions"][0]
    assert d["objectives"]["recovery_met"] is True and d["objectives"]["preservation_met"] is False


def test_the_plan_is_the_same_every_time(two_regions):
    first = plan(str(two_regions), None, clock=clock).as_dict()
    assert plan(str(two_regions), None, clock=clock).as_dict() == first


def test_no_sim_gives_coverage_and_detection_without_figures(two_regions):
    p = plan(str(two_regions), None, simulate=False, clock=clock)
    assert p.simulation is None and all(a.utilization is None for a in p.agents)
    assert p.agents[0].coverage.capacity.ok is None
    assert any("--no-sim" in n for n in p.notes)
    assert p.as_dict()["simulation"] is None


def test_the_simulated_agents_are_capped_and_the_cap_is_noted(two_regions, monkeypatch):
    monkeypatch.setattr(failover_plan, "MAX_AGENT_TARGETS", 1)
    p = plan(str(two_regions), None, clock=clock)
    agents = [t for t in p.simulation.targets if t.kind == "agent"]
    assert len(agents) == 1 and [t.target for t in p.simulation.targets if t.kind == "region"] == ["eu", "us"]
    assert agents[0].target == "us1"  # the largest expected load
    assert any("failures simulated for the 1 agents" in n and "the other 2" in n for n in p.notes)


def test_traffic_without_arrivals_is_simulated_at_the_default_rate(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(TWO_REGIONS.replace("  arrivals: {rate: 1/s}\n", "").replace("requests: 2000", "requests: 500"))
    p = plan(str(path), None, clock=clock)
    assert p.simulation is not None and any("80% of the fleet's capacity (176/min)" in n for n in p.notes)


def test_big_fleets_fail_fewer_agents():
    assert failover_plan.agent_targets(14) == 50
    assert failover_plan.agent_targets(1_000) == 20
    assert failover_plan.agent_targets(100_000) == 10


def test_a_fleet_without_traffic_is_planned_without_simulating():
    p = plan(str(EXAMPLES / "multi-agent-specialization.yaml"), None, clock=clock)
    assert p.simulation is None and any("no `traffic`" in n for n in p.notes)
    assert [(s.kind, s.target) for s in p.spofs] == [
        ("no-backup", "sales_agent"), ("no-backup", "support_agent"), ("no-backup", "billing_agent")]
    assert p.regions == []
    assert [a.hours for a in p.agents] == ["09:00-18:00 Mon-Fri America/New_York", "24/7",
                                           "08:00-17:00 Mon-Fri America/New_York"]


def test_regions_without_recovery_sites_are_single_points_of_failure():
    p = plan(str(EXAMPLES / "geographic-distribution.yaml"), None, clock=clock)
    kinds = [(s.kind, s.target) for s in p.spofs]
    assert ("region-no-site", "europe") in kinds and ("region-no-site", "asia_pacific") in kinds
    assert p.agents[0].open_hours_per_week == 56  # 09:00-17:00 without days: daily


@pytest.mark.parametrize("example", ["enterprise-session-management.yaml", "geographic-distribution.yaml",
                                     "multi-agent-specialization.yaml"])
def test_every_example_renders_in_every_format(example):
    p = plan(str(EXAMPLES / example), None, clock=clock)
    for fmt in ("text", "markdown", "json"):
        e = env()
        render(p, fmt, e)
        assert e.stdout.getvalue() and not e.stderr.getvalue()


def test_the_text_view_shows_each_section(multi_region):
    e = env()
    render(multi_region, "text", e)
    out = e.stdout.getvalue()
    for heading in ("failover plan for fleet acme-global-customer-care: 14 agents, 3 regions",
                    "Agents and their backups", "Regions and recovery sites", "Single points of failure",
                    "Predicted detection", "active health checks: 10s to 16s", "Simulated failures", "Notes"):
        assert heading in out, heading
    assert "us_sales" in out and "eu_sales, apac_sales" in out


def test_the_markdown_view_is_tables_and_lists(multi_region):
    e = env()
    render(multi_region, "markdown", e)
    out = e.stdout.getvalue()
    assert out.startswith("# Failover plan: acme-global-customer-care\n")
    assert "## Agents and their backups" in out and "| AGENT | REGION |" in out
    assert "## Predicted detection" in out and "- active health checks: 10s to 16s" in out


def test_json_is_as_dict_with_its_shape_pinned(multi_region):
    e = env()
    render(multi_region, "json", e)
    d = json.loads(e.stdout.getvalue())
    assert d == json.loads(json.dumps(multi_region.as_dict()))
    assert list(d) == ["schema_version", "fleet", "generated_at", "objectives", "agents", "regions",
                       "single_points_of_failure", "detection", "simulation", "notes"]
    assert list(d["detection"]) == ["active", "passive", "simulated_s"]
    assert list(d["detection"]["active"]) == ["probe_interval_s", "timeout_s", "failure_threshold", "min_s", "max_s",
                                              "formula", "objective_s", "met"]
    assert list(d["detection"]["passive"]) == ["max_fails", "fail_timeout_s", "timeout_s", "enabled", "first_failure",
                                               "min_s", "max_s", "formula", "trap"]
    region = d["simulation"]["regions"][0]
    assert list(region["runs"][0]) == ["at", "transferred", "lost", "preservation_pct", "turned_away"]
    assert list(region["objectives"]) == ["recovery_s", "recovery_met", "preservation_pct", "preservation_met"]
    assert list(d["single_points_of_failure"][0]) == ["kind", "target", "detail", "agents"]
    assert list(d["objectives"]) == ["detection_s", "agent_recovery_s", "regional_recovery_s",
                                     "session_preservation_pct", "defaults", "missed"]
    assert d["objectives"]["defaults"] == []  # the example sets all four
    assert list(d["objectives"]["missed"][0]) == ["objective", "kind", "target", "predicted", "objective_value"]
    assert {m["objective"] for m in d["objectives"]["missed"]} == {"session_preservation"}


HOSTILE = "a\x1b[2Jb\x07c\rd\ne\u202ef|g"


def test_text_from_the_fleet_file_is_escaped_in_text_and_markdown():
    doc = {"agents": {"a": {"region": HOSTILE, "channels": [HOSTILE], "backups": ["b"]}, "b": {"region": "x"}},
           "metadata": {"name": HOSTILE}, "failover": {"regions": {HOSTILE: {"recovery_site": HOSTILE}}}}
    fleet, _ = merge([("hostile.yaml", FleetFile.model_validate(doc))])
    p = make_plan(fleet, name=HOSTILE, generated_at="2026-01-05T09:30:00.000Z")
    for fmt in ("text", "markdown"):
        e = env()
        render(p, fmt, e)
        out = e.stdout.getvalue()
        assert not [ch for ch in out if unicodedata.category(ch) in {"Cc", "Cf"} and ch != "\n"], fmt
        assert "\\x1b[2J" in out
    e = env()
    render(p, "markdown", e)
    assert "a\\x1b[2Jb\\x07c\\rd\\ne\\u202ef\\|g" in e.stdout.getvalue()


# -- the exit code: CI gates on it --------------------------------------------------------------------------
NO_SPOF = "metadata: {name: pair}\nagents:\n  a: {backups: [b]}\n  b: {backups: [a]}\n"
SPOF = "metadata: {name: lonely}\nagents:\n  a: {}\n  b: {backups: [a]}\n"
SLOW = NO_SPOF + "failover:\n  objectives: {detection: 5s}\n"  # the default health checks take up to 16 s


def write(tmp_path, text: str) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, fail_on, code", [
    (NO_SPOF, None, 0), (SPOF, None, 0), (SPOF, "spof", 1), (SLOW, None, 1), (SLOW, "missed", 1),
    (SLOW, "spof", 1), (SLOW, "never", 0), (SPOF, "never", 0),
])
def test_plan_exits_1_when_an_objective_is_predicted_missed(cli, tmp_path, text, fail_on, code):
    args = ["failover", "plan", write(tmp_path, text), "--no-sim"] + (["--fail-on", fail_on] if fail_on else [])
    run = cli(*args, "-f", "json")
    assert run.code == code, run.err
    missed = json.loads(run.out)["objectives"]["missed"]
    assert missed == ([{"objective": "detection", "kind": "fleet", "target": "pair", "predicted": 16.0,
                        "objective_value": 5.0}] if text == SLOW else [])


def test_a_simulated_failure_that_misses_its_objective_fails_the_plan(cli, two_regions):
    run = cli("failover", "plan", str(two_regions))
    assert run.code == 1, run.err
    head = run.out.splitlines()[0]
    assert re.search(r", [1-9]\d* objectives? predicted missed$", head), head
    assert "MISSED" in run.out  # the region's session preservation (see the region test above)
    assert cli("failover", "plan", str(two_regions), "--fail-on", "never", "-f", "markdown").code == 0


def test_objectives_the_fleet_does_not_set_are_shown_as_the_defaults(cli, tmp_path):
    run = cli("failover", "plan", write(tmp_path, NO_SPOF), "--no-sim")
    assert run.code == 0, run.err
    assert "objective 30s (default): met" in run.out
    assert "objectives at clawctl's defaults (detection 30s, agent_recovery 120s, regional_recovery 300s, " \
           "session_preservation 99.95%): the fleet has no `failover.objectives`" in run.out
    doc = cli("failover", "plan", write(tmp_path, NO_SPOF), "--no-sim", "-f", "json").json()
    assert doc["objectives"]["defaults"] == ["detection", "agent_recovery", "regional_recovery",
                                             "session_preservation"]
    slow = cli("failover", "plan", write(tmp_path, SLOW), "--no-sim")
    assert "objective 5s: MISSED" in slow.out and "objective 5s (default)" not in slow.out
    assert "(detection" not in slow.out and "agent_recovery 120s" in slow.out  # the other three are defaults
