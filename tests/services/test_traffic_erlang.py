"""Slow tier: live traffic through an M/M/c lab against Erlang C and `simulate` on the same seed.

Ten reference agents of 2 slots (c = 20), exponential service of mean 1 fleet second at --time-scale
0.05 (50 ms real), Poisson arrivals at 16/s (rho 0.8), 20,000 requests (~65 s real), least_conn over a
central queue: an M/M/c queue.

Tolerances come from the run length. 30 simulations of this very fleet at 20,000 requests (seeds 1-30,
no warm-up) put P(wait) within a relative standard deviation of 8.3% of Erlang C and the mean wait
within 19% (waits are strongly correlated at rho 0.8); each bound below is three of those deviations.
Live, a slot is held for the agent's service plus the HTTP round trip (about 2 ms real, 4% of a 50 ms
conversation), so the live queue is compared with Erlang C at the arrival rate and mean holding time it
actually had; the waits it measures include the driver's lag and the request's way to the agent, which
the mean-wait bound allows for.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.services.agent_serve import ServeOptions, build

if "oracles" in sys.modules:  # tests/core's closed-form queueing oracles, imported there as `oracles`
    oracles = sys.modules["oracles"]
else:
    _spec = importlib.util.spec_from_file_location("oracles", Path(__file__).parents[1] / "core" / "oracles.py")
    oracles = sys.modules["oracles"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(oracles)

C_AGENTS, SLOTS, RATE, SCALE, N = 10, 2, 16.0, 0.05, 20_000
P_WAIT_TOL, WAIT_TOL = 3 * 0.083, 3 * 0.19


def lab_text(base: str | None) -> str:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata: {name: mmc-lab}",
             "load_balancing: {strategy: least_conn}", "traffic:", f"  arrivals: {{rate: {RATE:g}/s}}", "agents:"]
    for i in range(C_AGENTS):
        lines += [f"  a{i}:", f"    max_concurrent_conversations: {SLOTS}",
                  "    service_time: {distribution: exponential, mean: 1s}"]
        if base:
            lines.append(f"    endpoint: {base}/agents/a{i}")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_live_mmc_matches_erlang_c_and_simulate(tmp_path, agent_servers, cli, monkeypatch, request):
    # the slow tier, as tests/core/test_sim_oracles.py: ~65 s, run with `pytest -m slow` (the default run
    # stays within its 10-minute budget)
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long statistical run: select it with `pytest -m slow`")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plain = tmp_path / "serve.yaml"
    plain.write_text(lab_text(None))
    agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=11, all_agents=True, time_scale=SCALE))
    base = agent_servers(AgentServer(agents, tokens=tokens, many=True))
    path = tmp_path / "fleet.yaml"
    path.write_text(lab_text(base))
    run = cli("traffic", str(path), "--requests", str(N), "--time-scale", str(SCALE), "--compare-sim",
              "--no-store", "--format", "json")
    assert run.code == 0, run.err
    out = run.json()
    (live,) = out["results"]
    sim = out["predicted"]
    assert live["arrived"] == N and live["lost"] == 0 and sum(out["errors"].values()) == 0
    assert live["arrived"] == live["served"] + live["rejected"] + live["abandoned"] + live["in_flight"]

    nominal = oracles.mmc(SLOTS * C_AGENTS, RATE, 1.0)
    # the simulation of the same arrivals: Erlang C at the nominal rates
    assert sim["p_wait"] == pytest.approx(nominal.p_wait, rel=P_WAIT_TOL)
    assert sim["wait"]["mean"] == pytest.approx(nominal.wq, rel=WAIT_TOL)

    # live: Erlang C at the holding time the slots actually had (service + round trip)
    held = live["sojourn"]["mean"] - live["wait"]["mean"]
    assert 1.0 <= held < 1.15  # the service the agents drew, lengthened by a few ms of HTTP per conversation
    actual = oracles.mmc(SLOTS * C_AGENTS, RATE, 1.0 / held)
    assert live["p_wait"] == pytest.approx(actual.p_wait, rel=P_WAIT_TOL)
    lag = out["driver"]["lag_p50_ms"] / 1000 / SCALE  # fleet seconds every request's wait carries
    assert live["wait"]["mean"] == pytest.approx(actual.wq + lag, rel=WAIT_TOL, abs=0.02)
    # and the utilisation is the offered load at that holding time
    assert live["utilization"] == pytest.approx(RATE * held / (SLOTS * C_AGENTS), abs=0.03)
