"""`simulate --sweep` (services/sweep.py): one row per grid point on common random numbers; the same
numbers on one process or two; bad keys and values are one-line usage errors."""

from __future__ import annotations

import pytest

from clawctl.core.errors import UsageError
from clawctl.services.simulate import SimOptions, simulate
from clawctl.services.sweep import SweepOptions, sweep

FLEET = "examples/multi-region.yaml"


def test_a_strategy_sweep_with_one_replication_is_exactly_simulate_per_strategy():
    rep = sweep(FLEET, SweepOptions(["strategy=least_conn,p2c,round_robin"], requests=3000, seed=4, workers=1),
                store=False)
    assert [r.values for r in rep.rows] == [{"strategy": s} for s in ("least_conn", "p2c", "round_robin")]
    for row in rep.rows:
        (plain,) = simulate(FLEET, SimOptions(requests=3000, strategies=[row.strategy], seed=4), store=False).results
        assert row.figures["served"] == (float(plain.served), 0.0)
        assert row.figures["sla_attainment"][0] == pytest.approx(plain.sla_attainment, abs=1e-12)
        assert row.figures["wait_p95"][0] == pytest.approx(plain.wait.p95, abs=1e-12)


def test_grid_order_effects_and_confidence_intervals():
    rep = sweep(FLEET, SweepOptions(["rate=150/min,330/min", "slots@europe=10,60"], replications=3,
                                    requests=4000, workers=2), store=False)
    assert [tuple(r.values.values()) for r in rep.rows] == [("150/min", "10"), ("150/min", "60"),
                                                            ("330/min", "10"), ("330/min", "60")]
    by = {tuple(r.values.values()): r.figures for r in rep.rows}
    # more traffic, longer waits; more slots in europe at the higher rate, shorter waits
    assert by[("330/min", "10")]["wait_mean"][0] > by[("150/min", "10")]["wait_mean"][0]
    assert by[("330/min", "60")]["wait_mean"][0] < by[("330/min", "10")]["wait_mean"][0]
    assert by[("330/min", "10")]["wait_mean"][1] > 0  # a half-width from 3 replications
    assert rep.simulations == 12


def test_one_process_and_two_give_the_same_rows():
    opts = dict(sweeps=["patience=20s,3m", "strategy=least_conn,scored"], replications=2, requests=3000, seed=9)
    one = sweep(FLEET, SweepOptions(**opts, workers=1), store=False)
    two = sweep(FLEET, SweepOptions(**opts, workers=2), store=False)
    assert [r.as_dict() for r in one.rows] == [r.as_dict() for r in two.rows]
    short, long_ = one.rows[0].figures, one.rows[2].figures
    assert short["abandoned_share"][0] > long_["abandoned_share"][0]


@pytest.mark.parametrize(("sweeps", "message"), [
    (["speed=1,2"], "unknown key"),
    (["rate"], "write KEY=V1,V2"),
    (["rate=fast"], "is not a rate"),
    (["strategy=least_con"], "did you mean `least_conn`"),
    (["slots@atlantis=3"], "no agent, region or domain `atlantis`"),
    (["slots@europe=three"], "whole numbers"),
    (["slots@europe=0"], "between 1 and"),
    (["patience=soon"], "is not a duration"),
    (["rate=1/s", "rate=2/s"], "given twice"),
])
def test_bad_sweeps_are_usage_errors(sweeps, message):
    with pytest.raises(UsageError) as err:
        sweep(FLEET, SweepOptions(sweeps, requests=100, workers=1), store=False)
    assert message in err.value.message and "\n" not in err.value.message


def test_the_cli_sweep_json_and_its_record(cli):
    run = cli("simulate", FLEET, "--sweep", "rate=200/min,300/min", "--replications", "2", "--requests", "2000",
              "--workers", "1", "--format", "json")
    assert run.code == 0, run.err
    got = run.json()
    assert [p["point"] for p in got["points"]] == [{"rate": "200/min"}, {"rate": "300/min"}]
    assert got["simulations"] == 4 and set(got["points"][0]["ci95"]) >= {"sla_attainment", "wait_mean"}
    hist = cli("history", "--format", "json").json()
    assert any(r["id"] == got["run_id"] and r["kind"] == "sweep" for r in hist["runs"])


@pytest.mark.parametrize("args", [["--compare"], ["--strategy", "p2c"], ["--fail", "europe@60"]])
def test_sweep_refuses_flags_of_a_single_run(cli, args):
    run = cli("simulate", FLEET, "--sweep", "rate=1/s", *args, "--no-store")
    assert run.code == 2 and "does not go with --sweep" in run.err and run.err.count("\n") == 1


def test_replications_without_a_sweep_is_a_usage_error(cli):
    run = cli("simulate", FLEET, "--replications", "3", "--no-store")
    assert run.code == 2 and "go with --sweep" in run.err


def test_a_sweep_estimated_over_the_bound_is_refused_unless_forced(cli):
    run = cli("simulate", FLEET, "--sweep", "rate=200/min,300/min", "--replications", "50", "--requests",
              "50000000", "--workers", "1", "--no-store")
    assert run.code == 2 and "this sweep would take about" in run.err and "--force" in run.err
    assert run.err.count("\n") == 1
