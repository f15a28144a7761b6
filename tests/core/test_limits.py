"""Every size a fleet file or a flag can ask for is bounded, and the finding or error names the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawctl.core import limits

BASE = """\
apiVersion: clawctl/v1
kind: Fleet
metadata:
  name: bounds
agents:
  a:
    type: specialized
    domain: support
{agent}traffic:
  arrivals:
    rate: {rate}
{traffic}"""


def fleet(tmp_path: Path, *, agent: str = "", traffic: str = "", rate: str = "10/min") -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(BASE.format(agent=agent, traffic=traffic, rate=rate))
    return str(path)


@pytest.mark.parametrize("agent, traffic, rate, words", [
    ("    max_concurrent_conversations: 1000000000000000\n", "", "10/min",
     "`max_concurrent_conversations` must be less than or equal to 100000"),
    ("    weight: 99999999999999999999\n", "", "10/min", "`weight` must be less than or equal to 1000000"),
    ("    service_time: {mean: 400d}\n", "", "10/min", "`400d` is over 366d, the longest duration clawctl accepts"),
    ("", "  customers: 1000000000000\n", "10/min", "`customers` must be less than or equal to 10000000"),
    ("", "  requests: 99999999999999\n", "10/min", "`requests` must be less than or equal to 10000000000"),
    ("", "  duration: 5000d\n", "10/min", "`5000d` is over 366d"),
    ("", "  queue: {capacity: 100000000000000}\n", "10/min", "`capacity` must be less than or equal to 1000000000"),
    ("", "", "2000000/s", "`2000000/s` is over 1,000,000/s, the highest rate clawctl accepts"),
])
def test_an_oversized_value_is_a_finding_that_names_the_bound(cli, tmp_path, agent, traffic, rate, words):
    r = cli("validate", fleet(tmp_path, agent=agent, traffic=traffic, rate=rate), "--format", "json")
    assert r.code == 1
    messages = [f["message"] for f in __import__("json").loads(r.out)["findings"] if f["severity"] == "error"]
    assert [m for m in messages if words in m], messages


def test_the_bounds_leave_room_for_real_fleets(cli):
    root = Path(__file__).resolve().parents[2]
    assert cli("validate", str(root / "examples")).code == 0


def test_a_fleet_too_wide_to_simulate_is_refused_before_allocating(cli, tmp_path):
    agents = "".join(f"  a{i}:\n    type: specialized\n    domain: support\n" for i in range(2000))
    path = tmp_path / "wide.yaml"
    path.write_text("apiVersion: clawctl/v1\nkind: Fleet\nmetadata:\n  name: wide\n"
                    "defaults:\n  max_concurrent_conversations: 100000\nagents:\n" + agents)
    r = cli("simulate", str(path), "--requests", "10", "--no-store")
    assert r.code == 2 and r.out == ""
    assert "GiB for its state, over the bound of 2 GiB: 2,000 agents x 100,000 slots" in r.err


@pytest.mark.parametrize("flags, words", [
    (["--seed", "-1"], "--seed must be between 0 and"),
    (["--seed", str(2**64)], "--seed must be between 0 and"),
    (["--requests", "0"], "--requests must be between 1 and 10,000,000,000"),
    (["--requests", str(10**11)], "--requests must be between 1 and 10,000,000,000"),
    (["--duration", "400d"], "--duration must be above 0 and at most 366d"),
    (["--warmup", "nan"], "--warmup must be a share in [0, 1)"),
    (["--requests", "10000000000"], "simulated days; the bound is 366d"),
])
def test_simulate_flags_past_their_bounds_are_usage_errors(cli, tmp_path, flags, words):
    r = cli("simulate", fleet(tmp_path, rate="1/h"), "--no-store", *flags)
    assert r.code == 2 and r.out == "" and words in r.err and r.err.count("\n") == 1


def test_limits_are_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "fleet-format.md").read_text()
    for value in (f"{limits.MAX_SLOTS_PER_AGENT:,}", f"{limits.MAX_CUSTOMERS:,}", "366d", "1,000,000/s"):
        assert value in doc, value
