"""`clawctl simulate`: the JSON contract of cli.md, determinism, --compare, --fail, the store, bad input.

Runs call ``clawctl.cli.main.main(argv)`` in-process (the numba kernel compiles once per process);
one case goes through a subprocess to pin the exit code and stderr of the real entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clawctl.cli.main import main
from clawctl.core.sim.spec import ALL_STRATEGIES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
FLEET = "acme-global-customer-care"
AGENTS = ["us_sales", "us_sales_enterprise", "us_support", "us_support_night", "us_billing", "eu_sales",
          "eu_sales_dach", "eu_support", "eu_billing", "apac_sales", "apac_sales_jp", "apac_support",
          "apac_support_cn", "apac_billing"]


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAWCTL_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("NO_COLOR", "1")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def simulate_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, "simulate", *argv, "--format", "json")
    assert code == 0, err
    payload = json.loads(out)
    for result in payload["results"]:
        check_counts(result)
    return payload


def check_counts(r: dict) -> None:
    """Conservation on every result: arrived = served + rejected + abandoned + lost + in flight."""
    assert r["arrived"] == r["served"] + r["rejected"] + r["abandoned"] + r["lost"] + r["in_flight"], r
    assert sum(a["served"] for a in r["agents"]) == r["served"]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _summary_ok(s: dict) -> None:
    assert set(s) >= {"mean", "p50", "p95", "p99"}
    for key in ("mean", "p50", "p95", "p99"):
        assert s[key] is None or _number(s[key]), (key, s)
    if all(s[k] is not None for k in ("p50", "p95", "p99")):
        assert 0 <= s["p50"] <= s["p95"] <= s["p99"]


def test_json_shape_is_the_contract(capsys):
    payload = simulate_json(capsys, EXAMPLE, "--requests", "20000", "--no-store")
    # top level (cli.md): schema_version, seed, requests, elapsed_s, results; extra keys are allowed
    assert payload["schema_version"] == 1
    assert payload["seed"] == 1 and isinstance(payload["seed"], int)
    assert payload["requests"] == 20000 and isinstance(payload["requests"], int)
    assert _number(payload["elapsed_s"]) and payload["elapsed_s"] >= 0
    assert payload["run_id"] is None  # --no-store
    (r,) = payload["results"]
    assert isinstance(r["strategy"], str) and r["strategy"] == "least_conn"  # the fleet's own strategy
    for key in ("arrived", "served", "rejected", "abandoned"):
        assert isinstance(r[key], int) and not isinstance(r[key], bool) and r[key] >= 0, key
    assert r["arrived"] == 20000
    assert _number(r["utilization"]) and 0 < r["utilization"] <= 1
    assert r["sla_attainment"] is None or (_number(r["sla_attainment"]) and 0 <= r["sla_attainment"] <= 1)
    _summary_ok(r["wait"])
    _summary_ok(r["sojourn"])
    assert r["sojourn"]["mean"] > 0
    assert [a["id"] for a in r["agents"]] == AGENTS
    for a in r["agents"]:
        assert set(a) >= {"id", "served", "utilization", "wait_mean"}
        assert isinstance(a["id"], str) and isinstance(a["served"], int)
        assert _number(a["utilization"]) and 0 <= a["utilization"] <= 1
        assert a["wait_mean"] is None or (_number(a["wait_mean"]) and a["wait_mean"] >= 0)
    assert json.loads(json.dumps(payload)) == payload  # plain JSON: no NaN, no infinity


def test_text_output_has_the_table(capsys):
    code, out, err = run(capsys, "simulate", EXAMPLE, "--requests", "3000", "--no-store", "--agents",
                         "--strategy", "p2c", "--strategy", "scored")
    assert code == 0, err
    assert "STRATEGY" in out and "p2c" in out and "scored" in out and "agents under p2c" in out
    assert "stored as run" not in out


def test_same_seed_same_json_other_seed_differs(capsys):
    def strip(payload: dict) -> dict:
        return {k: v for k, v in payload.items() if k != "elapsed_s"}  # wall-clock time

    args = (EXAMPLE, "--requests", "5000", "--no-store", "--strategy", "round_robin", "--strategy", "p2c")
    first = simulate_json(capsys, *args, "--seed", "7")
    again = simulate_json(capsys, *args, "--seed", "7")
    other = simulate_json(capsys, *args, "--seed", "8")
    assert strip(first) == strip(again)
    assert strip(first)["results"] != strip(other)["results"]


def test_compare_runs_every_strategy_on_the_same_arrivals(capsys):
    # duration mode, so the number of arrivals is itself random: the same count everywhere means the
    # same arrival stream (common random numbers)
    payload = simulate_json(capsys, EXAMPLE, "--duration", "2h", "--compare", "--no-store")
    assert [r["strategy"] for r in payload["results"]] == list(ALL_STRATEGIES)
    assert len(payload["results"]) == 7
    arrived = {r["arrived"] for r in payload["results"]}
    assert len(arrived) == 1 and arrived.pop() > 10_000  # 220/min, diurnal x1..1.5, for two hours
    assert payload["requests"] is None and payload["duration"] == 7200


def test_fail_agent_and_region(capsys):
    # 20,000 requests take about 1h28m here: both failures fall within the run (a later one is refused)
    payload = simulate_json(capsys, EXAMPLE, "--requests", "20000", "--no-store", "--fail", "us_sales@1h",
                            "--fail", "europe@80m")
    (r,) = payload["results"]
    # health: probe_interval 5s, timeout 1s, failure_threshold 3 -> detected 3 x 5 + 1 = 16 s later
    assert r["failures"] == [{"target": "us_sales", "at": 3600.0, "detected_at": 3616.0},
                             {"target": "region europe", "at": 4800.0, "detected_at": 4816.0}]
    assert r["transferred"] + r["lost"] > 0


def test_stored_run_shows_in_history(capsys, tmp_path):
    payload = simulate_json(capsys, EXAMPLE, "--requests", "3000", "--strategy", "random")
    run_id = payload["run_id"]
    assert isinstance(run_id, int)
    assert (tmp_path / "store.db").exists() and not (tmp_path / "xdg").exists()  # CLAWCTL_DB honoured
    code, out, err = run(capsys, "history", "--kind", "sim", "--format", "json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    (stored,) = [r for r in runs if r["id"] == run_id]
    assert stored["kind"] == "sim" and stored["fleet"] == FLEET and stored["status"] == "completed"
    (result,) = stored["summary"]["results"]
    assert result["strategy"] == "random" and result["arrived"] == 3000
    assert result["served"] == payload["results"][0]["served"]


BAD = [
    (["--strategy", "leastconn"], "did you mean `least_conn`"),
    (["--requests", "0"], "--requests"),
    (["--requests", "10", "--duration", "1h"], "not both"),
    (["--fail", "nosuch_agent@1m"], "nosuch_agent"),
    (["--fail", "us_sales"], "AGENT@TIME"),
    (["--fail", "us_sales@soon"], "soon"),
    (["--duration", "nonsense"], "nonsense"),
    (["--report", "out.txt"], ".html or .png"),
    (["--warmup", "1.5"], "--warmup"),
]


@pytest.mark.parametrize("args, says", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, args, says):
    code, out, err = run(capsys, "simulate", EXAMPLE, "--no-store", "--format", "json", *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("clawctl: error: ") and "Traceback" not in err, err
    assert says in err
    assert not (tmp_path / "store.db").exists()


def test_fleet_with_errors_exits_1_as_validate_does(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents:\n  a:\n    weight: -1\n")
    assert run(capsys, "validate", str(bad))[0] == 1
    code, out, err = run(capsys, "simulate", str(bad), "--no-store")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("clawctl: error: ") and "Traceback" not in err, err
    assert "bad.yaml:3" in err and "clawctl validate" in err


def test_zero_arrival_rate(capsys, tmp_path):
    # --requests can never be reached at rate 0 (it was a ZeroDivisionError, exit 70); a duration can
    still = tmp_path / "still.yaml"
    still.write_text("agents:\n  a: {}\ntraffic:\n  arrivals: {rate: 0/min}\n")
    code, out, err = run(capsys, "simulate", str(still), "--no-store", "--requests", "10")
    assert code == 2 and out == "" and err.count("\n") == 1 and "rate is 0" in err, err
    payload = simulate_json(capsys, str(still), "--no-store", "--duration", "1h")
    assert payload["results"][0]["arrived"] == 0


def test_missing_fleet_exits_3(capsys, tmp_path):
    code, out, err = run(capsys, "simulate", str(tmp_path / "nope.yaml"), "--no-store")
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and err.startswith("clawctl: error: ") and "Traceback" not in err, err


def test_real_entry_point_bad_strategy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CLAWCTL_DB"}
    env.update({"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home"), "NO_COLOR": "1"})
    proc = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "simulate", EXAMPLE, "--strategy", "p3c",
                           "--no-store"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("clawctl: error: --strategy p3c: unknown") and proc.stderr.count("\n") == 1


# --- --fail AGENT@FROM-TO, and --fail times the run cannot honour (issue 15, items 4 and 5) -------------------
def _served(result: dict, agent: str) -> int:
    return next(a["served"] for a in result["agents"] if a["id"] == agent)


def test_an_agent_that_comes_back_takes_work_again(cli):
    """us_sales is down from 30m to 50m (detected 16 s in), eu_sales for 10 s (back before anyone notices:
    its conversations resume, none is lost or moved); 20,000 requests run about 1h28m."""
    args = ("simulate", EXAMPLE, "--requests", "20000", "--no-store", "--format", "json", "--strategy", "least_conn")
    back = cli(*args, "--fail", "us_sales@30m-50m", "--fail", "eu_sales@40m-40m10s").json()["results"][0]
    assert back["failures"] == [
        {"target": "us_sales", "at": 1800.0, "detected_at": 1816.0, "recovered_at": 3000.0},
        {"target": "eu_sales", "at": 2400.0, "detected_at": None, "recovered_at": 2410.0}]
    gone = cli(*args, "--fail", "us_sales@30m").json()["results"][0]
    assert gone["failures"] == [{"target": "us_sales", "at": 1800.0, "detected_at": 1816.0}]
    assert _served(back, "us_sales") > _served(gone, "us_sales") + 100
    none = cli(*args).json()["results"][0]
    # eu_sales's 10 s outage loses nothing: only us_sales's conversations moved to backups or were lost
    assert back["transferred"] + back["lost"] == gone["transferred"] + gone["lost"] > 0
    assert none["transferred"] == none["lost"] == 0


def test_an_agent_may_fail_again_after_it_is_back(cli):
    run = cli("simulate", EXAMPLE, "--requests", "20000", "--no-store", "--format", "json", "--fail",
              "us_sales@10m-20m", "--fail", "us_sales@30m")
    assert [f["at"] for f in run.json()["results"][0]["failures"]] == [600.0, 1800.0]


FAIL_BAD = [
    (["--fail", "us_sales@2h"], "the run ends at about 1h28m, before agent `us_sales` fails (at 2h)"),
    (["--fail", "europe@100m"], "before region europe fails"),
    (["--fail", "us_sales@10m-3h"], "before agent `us_sales` comes back (at 3h)"),
    (["--fail", "us_sales@20m-10m"], "must be after the failure"),
    (["--fail", "us_sales@10m-10m"], "must be after the failure"),
    (["--fail", "us_sales@10m", "--fail", "us_sales@10m"], "agent `us_sales` is named twice"),
    (["--fail", "us_sales@10m", "--fail", "us_sales@20m"], "would fail again while it is down"),
    (["--fail", "us_sales@10m-30m", "--fail", "us-east@20m"], "agent `us_sales` is named in --fail us_sales@10m-30m "
                                                              "and --fail us-east@20m"),
    (["--fail", "us_sales@10m-"], "--fail us_sales@10m-"),
]


@pytest.mark.parametrize("args, says", FAIL_BAD, ids=[" ".join(a) for a, _ in FAIL_BAD])
def test_a_fail_time_the_run_cannot_honour_is_a_one_line_usage_error(cli, args, says):
    run = cli("simulate", EXAMPLE, "--requests", "20000", "--no-store", "--format", "json", *args)
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1 and run.err.startswith("clawctl: error: ") and "Traceback" not in run.err
    assert says in run.err, run.err
