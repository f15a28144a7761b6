from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from clawctl.core.fleet import merge
from clawctl.core.model import Agent, AgentSpec, FleetFile
from clawctl.core.model.base import strip_user_keys


def fleet(**agents):
    return FleetFile.model_validate({"agents": agents})


def test_defaults_are_inherited_unless_the_agent_sets_its_own():
    model = FleetFile.model_validate({
        "defaults": {"region": "europe", "max_concurrent_conversations": 20, "channels": ["email"]},
        "agents": {"a": {"channels": ["sms"]}, "b": None},
    })
    f, findings = merge([("f.yaml", model)])
    assert not findings
    a, b = f.agents["a"], f.agents["b"]
    assert (a.region, a.max_concurrent_conversations, a.channels) == ("europe", 20, ["sms"])
    assert (b.region, b.channels, b.weight, b.type, b.endpoint_kind) == ("europe", ["email"], 1, "general", "clawctl")
    assert b.service_time.distribution == "lognormal" and b.service_time.mean == 90 and b.service_time.p95 == 240


def test_strict_types_do_not_coerce():
    with pytest.raises(ValidationError) as err:
        fleet(a={"weight": "3"})
    assert err.value.errors()[0]["type"] == "int_type"


@pytest.mark.parametrize("agent, kind", [
    ({"timezone": "Mars/Olympus"}, "clawctl_timezone"),
    ({"endpoint": "ftp://x"}, "clawctl_url"),
    ({"endpoint": "http://user:pw@host:1"}, "clawctl_literal_secret"),
    ({"auth": {"token_env": "T", "token": "abc"}}, "clawctl_literal_secret"),
    ({"business_hours": {"timezone": "UTC", "schedule": "9AM-6PM someday"}}, "clawctl_schedule"),
    ({"business_hours": {"timezone": "UTC"}}, "clawctl_schedule"),
    ({"service_time": {"distribution": "lognormal", "mean": "90s", "p95": "30s"}}, "clawctl_range"),
    ({"service_time": {"distribution": "exponential", "mean": "90s", "sigma": 1.0}}, "clawctl_range"),
    ({"max_concurrent_conversations": 0}, "greater_than_equal"),
    ({"colour": "blue"}, "extra_forbidden"),
])
def test_bad_agent_values_raise_typed_errors(agent, kind):
    with pytest.raises(ValidationError) as err:
        fleet(a=agent)
    assert kind in {e["type"] for e in err.value.errors()}


def test_agent_ids_follow_the_pattern():
    with pytest.raises(ValidationError) as err:
        fleet(**{"Sales Agent": {}})
    assert err.value.errors()[0]["type"] == "clawctl_agent_id"
    with pytest.raises(ValidationError):
        fleet(**{"a" * 64: {}})
    fleet(**{"a" * 63: {}, "emea-sales_1": {}})


def test_user_keys_are_stripped_at_any_depth_without_copying_clean_data():
    data = {"agents": {"a": {"x-owner": "me", "channels": ["sms"]}}, "x-notes": 1}
    stripped = strip_user_keys(data)
    assert stripped == {"agents": {"a": {"channels": ["sms"]}}}
    assert data["x-notes"] == 1  # the original is untouched
    clean = {"agents": {"a": {}}}
    assert strip_user_keys(clean) is clean
    FleetFile.model_validate(stripped)


def _agent(**spec) -> Agent:
    return Agent("a", AgentSpec.model_validate(spec), None)


def test_availability_uses_business_hours_in_the_agents_zone():
    agent = _agent(timezone="Asia/Singapore", business_hours={"schedule": "9AM-6PM weekdays"})
    # Monday 2026-11-23 01:00 UTC is 09:00 in Singapore (UTC+8).
    assert agent.available_at(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))
    assert not agent.available_at(datetime(2026, 11, 23, 0, 59, tzinfo=timezone.utc))


def test_business_hours_zone_wins_over_agent_zone():
    agent = _agent(timezone="Asia/Singapore", business_hours={"timezone": "Europe/London", "start": "09:00",
                                                              "end": "17:00"})
    assert agent.available_at(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc))
    assert not agent.available_at(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))


def test_always_available_without_hours_or_with_24_7():
    at = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
    assert _agent().available_at(at)
    assert _agent(availability="24/7").available_at(at)


def test_merge_reports_duplicate_agents_and_sections():
    one = FleetFile.model_validate({"agents": {"a": {}}, "traffic": {"sla": {"wait": "30s"}}})
    two = FleetFile.model_validate({"agents": {"a": {}, "b": {}}, "traffic": {"sla": {"wait": "10s"}}})
    f, findings = merge([("one.yaml", one), ("two.yaml", two)])
    assert sorted(f.agents) == ["a", "b"]
    assert f.agents["a"].file == "one.yaml"
    assert {(x.code, x.file) for x in findings} == {("A001", "two.yaml"), ("S006", "two.yaml")}
    assert f.traffic.sla.wait == 30


@pytest.mark.parametrize("hours", [
    {"schedule": "9AM-6PM weekdays"}, {"schedule": "22:00-06:00 Mon,Wed,Fri"},
    {"start": "09:00", "end": "17:30"}, {"start": "9AM", "end": "5PM", "days": ["mon", "tue"]},
    {"start": "09:00", "end": "17:00", "days": "Mon-Fri"},
])
def test_business_hours_are_the_parsed_window_every_time(hours):
    """The window is parsed when the model is validated and again (from a cache) when asked for:
    the same value as parsing it afresh, each time."""
    from clawctl.core import schedule as sched
    from clawctl.core.model.agent import BusinessHours

    model = BusinessHours.model_validate({"timezone": "UTC", **hours})
    expected = sched.parse_schedule(hours["schedule"]) if "schedule" in hours else \
        sched.hours_from_parts(hours["start"], hours["end"], hours.get("days"))
    assert model.hours == expected and model.hours == model.hours
    assert model == BusinessHours.model_validate({"timezone": "UTC", **hours})
