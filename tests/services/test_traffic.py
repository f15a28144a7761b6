"""`clawctl traffic` against real reference agents on 127.0.0.1 (in-process servers on a background loop).

Service times are 1 fleet second at --time-scale 0.02 (20 ms real), so a few hundred requests take a
couple of seconds."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.services.agent_serve import ServeOptions, build

SCALE = 0.02
TOKEN_VAR = "CLAWCTL_TEST_TRAFFIC_TOKEN"


def fleet_text(*, base: str | None, rate: str = "3/s", cap: int = 4, customers: int | None = None,
               kinds: dict[str, str] | None = None, queue: str = "", strategy: str = "round_robin",
               weights: dict[str, int] | None = None, bases: dict[str, str] | None = None) -> str:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata:", "  name: traffic-tests",
             "load_balancing:", f"  strategy: {strategy}", "traffic:", f"  arrivals: {{rate: {rate}}}"]
    if customers:
        lines.append(f"  customers: {customers}")
    if queue:
        lines.append(f"  queue: {queue}")
    lines.append("agents:")
    for name in ("a", "b", "c"):
        lines += [f"  {name}:", "    availability: 24/7", "    channels: [email]",
                  f"    max_concurrent_conversations: {cap}",
                  "    service_time: {distribution: deterministic, mean: 1s}"]
        if name == "b":
            lines.append(f"    auth: {{token_env: {TOKEN_VAR}}}")
        if weights and name in weights:
            lines.append(f"    weight: {weights[name]}")
        if bases and name in bases:
            lines.append(f"    endpoint: {bases[name]}/agents/{name}")
        elif base is not None:
            lines.append(f"    endpoint: {base}/agents/{name}")
        if kinds and name in kinds:
            lines.append(f"    endpoint_kind: {kinds[name]}")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(TOKEN_VAR, "traffic-secret-token")


@pytest.fixture
def serve(tmp_path, agent_servers):
    """``serve(**fleet_kw) -> (base URL, fleet path with endpoints)``: every agent behind one port (--all)."""

    def start(**kw) -> tuple[str, Path]:
        plain = tmp_path / "serve.yaml"
        plain.write_text(fleet_text(base=None, **kw))
        agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=SCALE))
        base = agent_servers(AgentServer(agents, tokens=tokens, many=True))
        path = tmp_path / "fleet.yaml"
        path.write_text(fleet_text(base=base, **kw))
        return base, path

    return start


def ok_requests(base: str, agent: str) -> float:
    text = httpx.get(f"{base}/agents/{agent}/metrics", timeout=5.0, trust_env=False).text
    for line in text.splitlines():
        if line.startswith('clawctl_agent_requests_total{outcome="ok"} '):
            return float(line.split()[-1])
    raise AssertionError(f"no ok count in\n{text}")


def settled(check, expected, limit: float = 15.0):
    """``check()`` once it equals ``expected``: conversations still running when a run ends finish on the agents."""
    deadline = time.monotonic() + limit
    got = check()
    while got != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        got = check()
    return got


def identity(r: dict) -> None:
    assert r["arrived"] == r["served"] + r["rejected"] + r["abandoned"] + r["lost"] + r["in_flight"]


def test_a_small_run_completes_with_exact_accounting(serve, cli):
    _, path = serve(rate="4/s", cap=2, customers=50, queue="{capacity: 5, patience: 2s}", strategy="least_conn")
    run = cli("traffic", str(path), "--requests", "300", "--time-scale", str(SCALE), "--format", "json")
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert out["mode"] == "live" and out["requests"] == 300 and out["interrupted"] is False
    assert set(out["errors"]) == {"refused", "timeout", "429", "503", "other"}
    (r,) = out["results"]
    assert r["mode"] == "live" and r["strategy"] == "least_conn"
    assert r["arrived"] == 300 and r["served"] > 0
    identity(r)
    assert r["wait"]["p95"] is not None and r["wait"]["p95"] >= 0
    assert {a["id"] for a in r["agents"]} == {"a", "b", "c"}


def test_text_view(serve, cli):
    _, path = serve(rate="2/s")
    run = cli("traffic", str(path), "--requests", "20", "--time-scale", str(SCALE))
    assert run.code == 0, run.err
    assert "round_robin" in run.out and "retried" in run.out


def test_round_robin_sends_equal_counts_to_three_agents(serve, cli):
    base, path = serve(rate="1/s", cap=8)
    out = cli("traffic", str(path), "--requests", "90", "--time-scale", str(SCALE), "--format", "json").json()
    (r,) = out["results"]
    # the run ends at the last arrival, as a simulation does: what is still in conversation is in flight
    assert r["served"] + r["in_flight"] == 90 and r["served"] >= 80
    identity(r)
    assert sum(a["served"] for a in r["agents"]) == r["served"]
    counts = settled(lambda: [ok_requests(base, name) for name in "abc"], [30, 30, 30])
    assert counts == [30, 30, 30]  # b takes its bearer token


def test_rate_and_duration_override_the_fleet(serve, cli):
    _, path = serve(rate="1/s", cap=8)
    out = cli("traffic", str(path), "--duration", "20s", "--rate", "5", "--time-scale", str(SCALE),
              "--format", "json").json()
    (r,) = out["results"]
    assert 50 <= r["arrived"] <= 160  # about 100 arrivals in 20 fleet seconds at 5/s
    identity(r)


def test_an_openclaw_agent_is_refused_with_a_note(serve, cli):
    base, path = serve(rate="2/s", cap=8, kinds={"c": "openclaw"})
    run = cli("traffic", str(path), "--requests", "30", "--time-scale", str(SCALE))
    assert run.code == 0, run.err
    assert "c: endpoint_kind openclaw is not driven" in run.out
    assert settled(lambda: ok_requests(base, "a") + ok_requests(base, "b"), 30) == 30
    assert ok_requests(base, "c") == 0


def test_per_agent_queues_run_live_as_simulated(serve, cli):
    # overloaded (6/s at three 1-slot agents of 1 s): round robin keeps every third request at each agent,
    # whose own queue of 2 rejects the rest; the same arrivals simulated reject about as many
    _, path = serve(rate="6/s", cap=1, queue="{discipline: per_agent, capacity: 2}")
    out = cli("traffic", str(path), "--requests", "240", "--time-scale", str(SCALE), "--compare-sim",
              "--format", "json").json()
    (r,) = out["results"]
    identity(r)
    p = out["predicted"]
    assert r["rejected"] > 0 and r["p_wait"] > 0.5
    # a deterministic 1 s service at 20 ms real: each HTTP round trip (~1 ms real, 0.05 fleet s) lengthens
    # a live conversation a little, so live rejects a few more (measured: 124-126 against 114)
    # (one-sided: on a loaded machine the round trip grows, and live rejects more, never fewer)
    assert -5 <= r["rejected"] - p["rejected"] <= 0.35 * p["rejected"] + 5
    assert [a["served"] for a in r["agents"]] == pytest.approx([r["served"] / 3] * 3, rel=0.1, abs=2)


def sessions_of(base: str, agent: str) -> set[str]:
    headers = {"Authorization": "Bearer traffic-secret-token"} if agent == "b" else {}
    data = httpx.get(f"{base}/agents/{agent}/v1/sessions", headers=headers, timeout=5.0, trust_env=False).json()
    return {s["customer_id"] for s in data["sessions"]}


def nginx_swrr(weights: list[int], n: int) -> list[int]:
    """nginx's smooth weighted round robin (ngx_http_upstream_get_peer): each peer gains its weight, the
    highest current weight wins and loses the total."""
    current = [0] * len(weights)
    out = []
    for _ in range(n):
        current = [c + w for c, w in zip(current, weights)]
        best = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[best] -= sum(weights)
        out.append(best)
    return out


@pytest.mark.parametrize("strategy, weights", [("round_robin", [1, 1, 1]), ("weighted_round_robin", [5, 1, 1]),
                                               ("weighted_round_robin", [3, 2, 1])])
def test_live_picks_follow_the_nginx_sequence(serve, cli, strategy, weights):
    base, path = serve(rate="1/s", cap=8, strategy=strategy, weights=dict(zip("abc", weights)))
    n = 4 * sum(weights)
    out = cli("traffic", str(path), "--requests", str(n), "--time-scale", str(SCALE), "--format", "json").json()
    identity(out["results"][0])
    expected = nginx_swrr(weights, n) if strategy == "weighted_round_robin" else [i % 3 for i in range(n)]
    # anonymous requests are customer r<n>: which agent holds r<n> is where request n went
    want = [{f"r{j}" for j, i in enumerate(expected) if i == k} for k in range(3)]
    assert settled(lambda: [sessions_of(base, x) for x in "abc"], want) == want


def test_a_repeat_customer_stays_with_the_agent_holding_the_session(serve, cli):
    base, path = serve(rate="2/s", cap=8, customers=12, strategy="round_robin")
    out = cli("traffic", str(path), "--requests", "120", "--time-scale", str(SCALE), "--format", "json").json()
    (r,) = out["results"]
    assert r["served"] + r["in_flight"] == 120
    settled(lambda: sum(ok_requests(base, x) for x in "abc"), 120)
    held = [sessions_of(base, x) for x in "abc"]
    # round robin alone would put each customer on every agent; with affinity each is on exactly one
    assert sum(len(h) for h in held) == len(set().union(*held)) <= 12
    assert all(held)


def test_an_agent_killed_mid_run_is_retried_elsewhere_taken_out_and_everything_accounted_for(
        tmp_path, agent_servers, cli):
    import threading

    plain = tmp_path / "serve.yaml"
    plain.write_text(fleet_text(base=None, rate="4/s", cap=4))
    agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=SCALE))
    ab = AgentServer({k: agents[k] for k in "ab"}, tokens=tokens, many=True)
    c = AgentServer({"c": agents["c"]}, tokens=tokens, many=True)
    base_ab, base_c = agent_servers(ab), agent_servers(c)
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(base=base_ab, rate="4/s", cap=4, bases={"c": base_c}))

    def kill_when_busy():  # c is killed once it has served 40 conversations (a third of the run's first 30 s)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and ok_requests(base_c, "c") < 40:
            time.sleep(0.01)
        agent_servers.stop(c)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        out = cli("traffic", str(path), "--requests", "400", "--time-scale", str(SCALE), "--format",
                  "json").json()
    finally:
        killer.join()
    (r,) = out["results"]
    identity(r)
    assert r["lost"] == 0 and r["served"] + r["in_flight"] == 400
    errors = out["errors"]
    # the conversations c held when it stopped end as dropped (503); new attempts are refused; each is
    # retried on a or b, and max_fails (3) takes c out for fail_timeout (30 s) at a time
    assert errors["503"] + errors["refused"] >= 3 and out["retried"] == sum(errors.values())
    c_served = r["agents"][2]["served"]
    assert 40 <= c_served < 60  # served until it was killed, not after
    assert r["agents"][0]["served"] + r["agents"][1]["served"] > 400 - c_served - 10


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_nothing_reachable_exits_4(tmp_path, cli):
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(base=f"http://127.0.0.1:{free_port()}"))
    run = cli("traffic", str(path), "--requests", "5", "--time-scale", str(SCALE))
    assert run.code == 4, run.err
    assert run.err.count("\n") == 1 and "no agent reachable" in run.err


def test_only_openclaw_agents_exits_4(tmp_path, cli):
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(base="http://127.0.0.1:9", kinds={"a": "openclaw", "b": "openclaw", "c": "openclaw"}))
    run = cli("traffic", str(path), "--requests", "5")
    assert run.code == 4 and "openclaw" in run.err and run.err.count("\n") == 1


def test_failed_attempts_take_an_agent_out_and_are_retried(serve, cli):
    base, path = serve(rate="2/s", cap=8)
    r = httpx.post(f"{base}/agents/b/v1/admin/fault", json={"mode": "error", "error_rate": 1.0, "lease": 60},
                   headers={"Authorization": "Bearer traffic-secret-token"}, trust_env=False)
    assert r.status_code == 200
    # 30 requests at 2/s last ~15 s of fleet time: b, out for fail_timeout (30 s), never comes back in this run
    out = cli("traffic", str(path), "--requests", "30", "--time-scale", str(SCALE), "--format", "json").json()
    (r,) = out["results"]
    identity(r)
    assert r["served"] + r["in_flight"] == 30 and r["lost"] == 0
    # passive max_fails 3 takes b out for 30 s; a request or two may already be on its way to b when
    # the third failure comes back (requests overlap), as with nginx: at least 3, and each one retried
    assert 3 <= out["errors"]["other"] <= 5 and out["retried"] == out["errors"]["other"]
    assert [a["served"] for a in r["agents"]][1] == 0


def test_ctrl_c_prints_the_partial_result_and_exits_130(serve, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    base, path = serve(rate="4/s", cap=4)
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "traffic", str(path), "--requests", "5000",
                             "--time-scale", str(SCALE), "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while ok_requests(base, "a") < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    report = json.loads(out)
    (r,) = report["results"]
    assert report["interrupted"] is True and 0 < r["arrived"] < 5000
    identity(r)


def test_compare_sim_predicts_the_same_arrivals_and_the_run_is_stored(serve, cli):
    _, path = serve(rate="2/s", cap=8)
    out = cli("traffic", str(path), "--requests", "60", "--time-scale", str(SCALE), "--compare-sim",
              "--format", "json").json()
    (live,) = out["results"]
    predicted = out["predicted"]
    assert predicted["arrived"] == live["arrived"] == 60  # the same seeded arrivals, simulated and sent
    assert predicted["strategy"] == live["strategy"]
    identity(predicted)
    identity(live)
    assert abs(predicted["utilization"] - live["utilization"]) < 0.5  # same load, own service-time draws
    runs = cli("history", "--kind", "traffic", "--format", "json").json()["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(out["run_id"], "completed")]
    assert runs[0]["summary"]["mode"] == "live" and "agents" not in runs[0]["summary"]["results"][0]
    text = cli("traffic", str(path), "--requests", "20", "--time-scale", str(SCALE), "--compare-sim", "--no-store")
    assert text.code == 0 and "predicted by simulate vs measured live" in text.out
    assert len(cli("history", "--kind", "traffic", "--format", "json").json()["runs"]) == 1  # --no-store


def test_rate_takes_the_fleet_files_notation_and_bad_rates_are_usage_errors(serve, cli):
    _, path = serve(rate="1/s", cap=8)
    per_min = cli("traffic", str(path), "--duration", "20s", "--rate", "300/min", "--time-scale", str(SCALE),
                  "--format", "json", "--no-store").json()
    per_s = cli("traffic", str(path), "--duration", "20s", "--rate", "5", "--time-scale", str(SCALE),
                "--format", "json", "--no-store").json()
    assert per_min["results"][0]["arrived"] == per_s["results"][0]["arrived"]  # 300/min is 5/s: same seeded arrivals
    for bad in ("fast", "-3", "5/fortnight"):
        r = cli("traffic", str(path), "--requests", "5", "--rate", bad, "--time-scale", str(SCALE))
        assert (r.code, r.out) == (2, "") and r.err.startswith(f"clawctl: error: --rate {bad}")


@pytest.mark.parametrize("flags, words", [
    (["--time-scale", "nan"], "--time-scale"), (["--time-scale", "0"], "--time-scale"),
    (["--seed", "-1"], "--seed must be between 0 and"), (["--strategy", "fastest"], "--strategy fastest: unknown"),
    (["--requests", "0"], "--requests"), (["--duration", "400d"], "--duration"),
])
def test_bad_flags_are_one_usage_error_and_send_nothing(serve, cli, flags, words):
    base, path = serve(rate="1/s", cap=8)
    r = cli("traffic", str(path), *flags)
    assert (r.code, r.out) == (2, "") and r.err.count("\n") == 1 and words in r.err
    assert sum(ok_requests(base, name) for name in "abc") == 0
