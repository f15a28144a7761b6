"""`clawctl simulate` as a new user meets it (issue 15, item 5): numeric flags out of range are one-line usage
errors, a run that would take hours is refused unless --force, an invalid fleet exits as `validate` does
for every verb that loads one, and a run in which requests can only queue says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawctl.core import limits

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
WEEKDAYS_9_TO_5 = '{timezone: UTC, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}'


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def one_error(run, *words: str) -> None:
    assert run.out == "", run.out
    assert run.err.count("\n") == 1 and run.err.startswith("clawctl: error: ") and "Traceback" not in run.err, run.err
    for w in words:
        assert w in run.err, (w, run.err)


# -- numeric options ------------------------------------------------------------------------------------------
NUMBERS = [
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**64)], "--seed"),
    (["--seed", "nan"], "--seed"),
    (["--requests", "-5"], "--requests"),
    (["--requests", "nan"], "--requests"),
    (["--requests", "1e20"], "--requests"),
    (["--requests", str(10**14)], "--requests"),
    (["--duration", "-1h"], "--duration"),
    (["--duration", "nan"], "--duration"),
    (["--duration", "inf"], "--duration"),
    (["--duration", "0"], "--duration"),
    (["--duration", "36500d"], "--duration"),  # a hundred years
    (["--warmup", "nan"], "--warmup"),
    (["--warmup", "-0.1"], "--warmup"),
    (["--warmup", "inf"], "--warmup"),
    (["--warmup", "1"], "--warmup"),
]


@pytest.mark.parametrize("args, flag", NUMBERS, ids=[" ".join(a) for a, _ in NUMBERS])
def test_a_numeric_option_out_of_range_is_a_one_line_usage_error(cli, args, flag):
    run = cli("simulate", EXAMPLE, "--no-store", *args)
    assert run.code == 2, run.err
    one_error(run, flag)
    assert not cli.db.exists()


# -- the cost estimate ----------------------------------------------------------------------------------------
FAST = "metadata: {name: fast}\nagents:\n  a: {max_concurrent_conversations: 1000}\ntraffic:\n  arrivals: {rate: 1000/s}\n"


@pytest.mark.parametrize("args, requests", [
    (["--requests", str(10**10)], "10,000,000,000 requests"),  # 116 simulated days at 1,000/s: within the bound
    (["--duration", "366d", "--compare"], "31,622,400,000 requests x 7 strategies"),
])
def test_a_run_that_would_take_hours_is_refused_with_its_estimate(cli, tmp_path, args, requests):
    run = cli("simulate", write(tmp_path, "fast.yaml", FAST), "--no-store", *args)
    assert run.code == 2
    one_error(run, "would take about", "to compute", requests, "over the bound of 10 minutes", "--force")


def test_force_runs_what_the_estimate_refuses(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "SIM_MAX_ESTIMATE_S", 1e-9)  # every run is "too long"
    path = write(tmp_path, "fast.yaml", FAST)
    refused = cli("simulate", path, "--no-store", "--requests", "200")
    assert refused.code == 2 and "--force" in refused.err
    forced = cli("simulate", path, "--no-store", "--requests", "200", "--force", "--format", "json")
    assert forced.json()["results"][0]["arrived"] == 200


def test_the_estimate_counts_requests_strategies_and_agents():
    one = limits.sim_estimate_s(1e6, ["least_conn"], 10)
    assert limits.sim_estimate_s(2e6, ["least_conn"], 10) == pytest.approx(2 * one)
    assert limits.sim_estimate_s(1e6, ["least_conn", "least_conn"], 10) == pytest.approx(2 * one)
    # picks use an index, not a scan: 10,000 agents cost more than 10, but not 1,000 times more
    assert one < limits.sim_estimate_s(1e6, ["least_conn"], 10_000) < 2 * one
    # the calibration (limits.py): about 2 us a request on a busy 2-core machine, 3 us at 10,000 agents
    assert 1 < one < 4
    assert 2 < limits.sim_estimate_s(1e6, ["least_conn"], 10_000) < 6


def test_the_estimate_refusal_is_before_any_work(cli, tmp_path):
    """Refused at once, not after the minutes a 10^10-request horizon search would take."""
    import time

    started = time.perf_counter()
    run = cli("simulate", EXAMPLE, "--no-store", "--requests", str(10**10))
    assert run.code == 2 and "simulated days" in run.err
    assert time.perf_counter() - started < 10


# -- an invalid fleet -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", [
    ["simulate", "{}", "--no-store"],
    ["traffic", "{}", "--requests", "5", "--no-store"],
    ["failover", "plan", "{}"],
    ["failover", "drill", "{}", "--agent", "a", "--mode", "sim", "--no-store"],
    ["top", "{}", "--once"],
], ids=lambda v: " ".join(v[:2]).replace(" {}", ""))
def test_every_verb_exits_for_an_invalid_fleet_as_validate_does(cli, tmp_path, verb):
    bad = write(tmp_path, "bad.yaml", "agents:\n  a:\n    weight: -1\n")
    assert cli("validate", bad).code == 1
    run = cli(*[bad if a == "{}" else a for a in verb])
    assert run.code == 1, run.err
    one_error(run, "bad.yaml:3", "S003", "clawctl validate")


# -- runs in which requests can only queue --------------------------------------------------------------------
CLOSED = f"""metadata: {{name: closed}}
agents:
  a: {{max_concurrent_conversations: 2, business_hours: {WEEKDAYS_9_TO_5}}}
  b: {{max_concurrent_conversations: 2, business_hours: {WEEKDAYS_9_TO_5}}}
traffic:
  arrivals: {{rate: 1/min}}
"""
ONE_TYPE_CLOSED = f"""metadata: {{name: one-type-closed}}
agents:
  billing_desk: {{max_concurrent_conversations: 2, capabilities: [billing], business_hours: {WEEKDAYS_9_TO_5}}}
  chat: {{max_concurrent_conversations: 2}}
traffic:
  arrivals: {{rate: 1/min}}
  mix:
    - {{name: bills, share: 0.3, capabilities: [billing]}}
    - {{name: talk, share: 0.7}}
"""


def test_a_run_with_every_agent_closed_warns_on_stderr_and_in_json(cli, tmp_path):
    # the run starts Monday 00:00 UTC: two hours before anyone opens
    run = cli("simulate", write(tmp_path, "closed.yaml", CLOSED), "--no-store", "--duration", "2h", "--format", "json")
    payload = run.json()
    (warning,) = payload["warnings"]
    assert "no agent is open at any time in this run" in warning and "2 hours" in warning
    assert run.err == f"clawctl: warning: {warning}\n"
    assert payload["results"][0]["served"] == 0 and payload["results"][0]["queued"] > 0
    text = cli("simulate", str(tmp_path / "closed.yaml"), "--no-store", "--duration", "2h")
    assert text.code == 0 and text.err.count("clawctl: warning: no agent is open") == 1


def test_a_request_type_whose_only_agents_are_closed_warns(cli, tmp_path):
    path = write(tmp_path, "one.yaml", ONE_TYPE_CLOSED)
    run = cli("simulate", path, "--no-store", "--duration", "2h", "--format", "json")
    (warning,) = run.json()["warnings"]
    assert "request type `bills` (30% of traffic)" in warning and "`billing_desk`" in warning
    assert run.err.count("\n") == 1 and run.err.startswith("clawctl: warning: request type `bills`")
    later = cli("simulate", path, "--no-store", "--duration", "12h", "--format", "json")  # opens at 09:00
    assert later.json()["warnings"] == [] and later.err == ""


def test_a_fleet_down_before_anyone_opens_warns(cli, tmp_path):
    path = write(tmp_path, "always.yaml", "metadata: {name: up}\nagents:\n  a: {}\n  b: {}\n"
                                         "traffic:\n  arrivals: {rate: 1/min}\n")
    run = cli("simulate", path, "--no-store", "--duration", "1h", "--fail", "a@0", "--fail", "b@0",
              "--format", "json")
    assert [w for w in run.json()["warnings"] if "no agent is open and up" in w]


def test_a_normal_run_has_no_warnings(cli):
    run = cli("simulate", EXAMPLE, "--no-store", "--requests", "2000", "--format", "json")
    assert run.json()["warnings"] == [] and run.err == ""
    assert json.loads(run.out)["schema_version"] == 1


def test_a_fleet_without_arrivals_says_what_rate_it_assumed(tmp_path, cli):
    fleet = tmp_path / "f.yaml"
    fleet.write_text("agents:\n  a: {max_concurrent_conversations: 4}\n")
    run = cli("simulate", str(fleet), "--requests", "500", "--no-store", "--format", "json")
    assert run.code == 0, run.err
    assert "no traffic.arrivals" in run.err and "/min" in run.err
    assert any("no traffic.arrivals" in w for w in run.json()["warnings"])


def _fleet(rate: str, mean: str, slots: int = 5) -> str:
    return (f"metadata: {{name: unfinished}}\ntraffic: {{arrivals: {{rate: {rate}}}}}\nagents:\n"
            f"  a: {{max_concurrent_conversations: {slots}, service_time: {{distribution: exponential, mean: {mean}}}}}\n")


def test_a_run_whose_queue_grows_all_run_long_says_the_fleet_cannot_keep_up(cli, tmp_path):
    run = cli("simulate", write(tmp_path, "over.yaml", _fleet("20/s", "1s")), "--no-store", "--requests", "3000",
              "--format", "json")
    (warning,) = run.json()["warnings"]
    assert "were still waiting when the run ended" in warning and "cannot keep up" in warning
    assert "clawctl: warning:" in run.err


def test_a_run_short_against_its_service_times_says_so(cli, tmp_path):
    # 500 slots at rho 0.9, conversations of 20 min: 300 requests arrive in about 13 minutes
    run = cli("simulate", write(tmp_path, "short.yaml", _fleet("22.5/min", "20m", slots=500)), "--no-store",
              "--requests", "300", "--format", "json")
    warnings = run.json()["warnings"]
    assert any("still in conversation when the run ended" in w and "--duration" in w for w in warnings), warnings


def test_a_steady_run_has_no_such_warning(cli, tmp_path):
    run = cli("simulate", write(tmp_path, "ok.yaml", _fleet("3/s", "1s")), "--no-store", "--requests", "3000",
              "--format", "json")
    assert run.json()["warnings"] == []
