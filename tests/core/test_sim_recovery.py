"""--fail AGENT@FROM-TO (issue 15, item 4): an agent fails, is detected, and comes back within the run; and the
--fail times a run cannot honour (item 5), refused before anything runs.

The kernel is followed through each agent's busy slots, sampled every 2 s: one agent of 2 slots with
deterministic 20 s conversations and a queue that never empties, so while it is up its slots are full.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from simkit import make_fleet, run, spec_for

from clawctl.core.errors import UsageError
from clawctl.core.sim.engine import RunLength, failure_rows
from clawctl.core.sim.spec import build, check_failure_times

ROOT = Path(__file__).resolve().parents[2]
DET20 = {"distribution": "deterministic", "mean": "20s"}


def _busy_one() -> object:
    """Agent a (2 slots, 20 s each), always more work waiting (1 request a second); b exists only as a region
    mate that never serves (weight 0)."""
    return make_fleet({"a": {"max_concurrent_conversations": 2, "service_time": DET20, "region": "east"},
                       "b": {"weight": 0, "region": "east"}},
                      {"arrivals": {"rate": "1/s"}})


def _busy(out, agent: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return np.array(out.series_t), np.array(out.series_agents)[:, agent]


def test_failures_parse_with_and_without_a_recovery():
    fleet = _busy_one()
    spec = build(fleet, horizon=3600.0, failures=["a@10m-40m", "east@50m", "a@55m"][:2])
    assert [(f.label, f.at, f.until, f.agents) for f in spec.failures] == [("a", 600.0, 2400.0, [0]),
                                                                          ("region east", 3000.0, None, [0, 1])]
    spec = build(fleet, horizon=3600.0, failures=["east@1m30s-2m", "a@2m"])  # back at 2m, down again at 2m
    assert [(f.at, f.until) for f in spec.failures] == [(90.0, 120.0), (120.0, None)]


@pytest.mark.parametrize("failures, says", [
    (["a@10m-5m"], "must be after the failure"),
    (["a@10m-10m"], "must be after the failure"),
    (["a@1m", "a@1m"], "named twice"),
    (["a@1m-5m", "east@4m"], "in --fail a@1m-5m and --fail east@4m"),
    (["east@1m", "a@2m-3m"], "would fail again while it is down"),
])
def test_one_failure_at_a_time_per_agent(failures, says):
    with pytest.raises(UsageError, match=says):
        build(_busy_one(), horizon=3600.0, failures=failures)


def test_fail_times_must_fall_within_the_run():
    spec = build(_busy_one(), horizon=3600.0, failures=["a@30m-50m"])
    check_failure_times(spec, 3600.0)
    with pytest.raises(UsageError, match=r"ends at about 40m, before agent `a` comes back \(at 50m\)"):
        check_failure_times(spec, 2400.0)
    with pytest.raises(UsageError, match=r"ends at about 20m, before agent `a` fails \(at 30m\)"):
        check_failure_times(spec, 1200.0)
    late = build(_busy_one(), horizon=3600.0, failures=["east@1h"])
    with pytest.raises(UsageError, match="before region east fails"):
        check_failure_times(late, 3600.0)


def test_down_detected_and_back_it_takes_queued_work_again():
    """Down at 100 s (its 2 conversations freeze: still counted busy), detected at 116 s (lost: no backup),
    back at 300 s: it pulls from the queue at once, as an agent coming on shift does."""
    out = run(_busy_one(), "least_conn", duration=600.0, failures=["a@100s-300s"])
    t, busy = _busy(out)
    assert (busy[(t > 25) & (t < 116)] == 2).all()  # full, frozen ones included
    assert (busy[(t > 116) & (t < 300)] == 0).all()
    assert (busy[t > 300] == 2).all()  # (a sample at 300 s itself is taken before the recovery)
    assert out.lost == 2 and out.transferred == 0
    assert out.failures == [{"target": "a", "at": 100.0, "detected_at": 116.0, "recovered_at": 300.0}]
    never = run(_busy_one(), "least_conn", duration=600.0, failures=["a@100s"])
    # 2 slots x 300 s / 20 s, less the two that end at 600 s itself (the end of the run: still in flight)
    assert out.served == never.served + 28


def test_back_before_detection_its_conversations_resume():
    """Down 5 s, back before the 16 s detection: nothing is lost or moved; the two frozen conversations end
    5 s late, so the agent serves exactly one conversation's worth less... of 5 s per slot, nothing else."""
    base = run(_busy_one(), "least_conn", duration=600.0)
    out = run(_busy_one(), "least_conn", duration=600.0, failures=["a@101s-106s"])
    t, busy = _busy(out)
    assert (busy[t > 25] == 2).all()
    assert out.lost == out.transferred == 0 and out.retried == 0
    assert out.failures == [{"target": "a", "at": 101.0, "detected_at": None, "recovered_at": 106.0}]
    # every start after the outage is 5 s later: in 600 s, each slot ends one conversation fewer at most
    assert base.served - 2 <= out.served <= base.served


def test_a_detection_belongs_to_its_own_failure():
    """Down at 100 s, back at 105 s, down again at 110 s: the first failure's detection (116 s) does not fail
    it over; the second's (126 s) does."""
    out = run(_busy_one(), "least_conn", duration=600.0, failures=["a@100s-105s", "a@110s"])
    t, busy = _busy(out)
    assert (busy[(t > 25) & (t < 126)] == 2).all()
    assert (busy[t > 126] == 0).all()
    assert out.lost == 2
    assert [f["detected_at"] for f in out.failures] == [None, 126.0]


def test_per_agent_queue_moves_at_detection_and_the_agent_is_routed_to_again():
    fleet = make_fleet({"a": {"max_concurrent_conversations": 1, "service_time": DET20},
                        "b": {"max_concurrent_conversations": 1, "service_time": DET20}},
                       {"arrivals": {"rate": "6/min"}, "queue": {"discipline": "per_agent"}})
    out = run(fleet, "round_robin", duration=1800.0, failures=["a@300s-900s"])
    t, busy_a = _busy(out, 0)
    assert (busy_a[(t > 316) & (t < 900)] == 0).all()
    assert busy_a[t > 910].mean() > 0.5  # routed to again, and busy


def test_failure_rows_say_when_each_failure_is_detected_and_ends():
    spec = build(_busy_one(), horizon=3600.0, failures=["a@1m-1m10s", "east@5m-30m", "a@40m"])
    assert failure_rows(spec) == [
        {"target": "a", "at": 60.0, "detected_at": None, "recovered_at": 70.0},
        {"target": "region east", "at": 300.0, "detected_at": 316.0, "recovered_at": 1800.0},
        {"target": "a", "at": 2400.0, "detected_at": 2416.0}]


RUN = """
import json, sys
from clawctl.core.sim import jit
jit.choose(interpret={interpret})
from clawctl.services.simulate import SimOptions, simulate
r = simulate({path!r}, SimOptions(requests=700, compare=True, seed=3, failures=["us_sales@10-60", "europe@20-40"]),
             store=False)
d = r.as_dict(); d.pop("elapsed_s")
print(json.dumps({{"interpreted": jit.interpreted(), "out": d}}))
"""


def test_recoveries_run_the_same_interpreted_and_compiled():
    path = str(ROOT / "examples" / "multi-region.yaml")
    outs = []
    for interpret in (True, False):
        done = subprocess.run([sys.executable, "-c", RUN.format(interpret=interpret, path=path)], capture_output=True,
                              text=True, timeout=600, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        outs.append(json.loads(done.stdout))
    assert outs[0]["interpreted"] and not outs[1]["interpreted"]
    assert outs[0]["out"] == outs[1]["out"]
    assert all(r["failures"][1]["recovered_at"] == 40.0 for r in outs[0]["out"]["results"])


def test_spec_for_keeps_failures_sorted_with_their_recoveries():
    spec = spec_for(_busy_one(), RunLength(duration=600.0), failures=["a@5m-6m", "east@1m-2m"])
    assert [(f.at, f.until) for f in spec.failures] == [(60.0, 120.0), (300.0, 360.0)]
