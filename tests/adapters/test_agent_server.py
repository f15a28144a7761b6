"""The reference agent's HTTP server over real loopback sockets: agent-api.md section 2, route by route.

Most servers run in-process on an asyncio loop in a background thread (the fixture stops them); one
test runs `clawctl agent serve` as a subprocess, for the token from the environment and the process's
own CPU and memory figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.services.agent_serve import ServeOptions, build

FLEET = """\
apiVersion: clawctl/v1
kind: Fleet
metadata:
  name: server-tests
agents:
  a1:
    domain: sales
    region: us-east
    availability: 24/7
    capabilities: [lead_qualification, pricing_inquiries]
    channels: [email, sms]
    max_concurrent_conversations: 2
    service_time: {distribution: deterministic, mean: 60s}
  a2:
    domain: customer_support
    region: europe
    availability: 24/7
    capabilities: [ticket_creation]
    channels: [email]
    max_concurrent_conversations: 2
    service_time: {distribution: deterministic, mean: 60s}
  a3:
    domain: billing
    availability: 24/7
    capabilities: [refunds]
    channels: [email]
"""
TOKEN_VAR = "CLAWCTL_TEST_AGENT_SERVER_TOKEN"
CONTEXT_KEYS = {"id", "customer_id", "channel", "history", "extracted_data", "agent_interactions", "updated_at",
                "state_hash"}


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CLAWCTL_DB", str(tmp_path / "store.db"))


@pytest.fixture
def fleet(tmp_path) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return str(path)


@pytest.fixture
def serve(fleet):
    """``serve(agent_id=None, all_agents=False, token=None) -> base URL``; every server stops at teardown."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="agent-server-loop", daemon=True)
    thread.start()
    servers: list[AgentServer] = []

    def start(agent_id: str | None = "a1", *, all_agents: bool = False, token: str | None = None,
              seed: int = 1) -> str:
        agents, _ = build(ServeOptions(agent_id, fleet=fleet, seed=seed, all_agents=all_agents))
        server = AgentServer(agents, token=token, many=all_agents)
        port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def http():
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def fresh(method: str, url: str, **kw) -> httpx.Response:
    """One request on a new connection (no keep-alive): what a crashed agent must refuse."""
    with httpx.Client(trust_env=False, timeout=kw.pop("timeout", 2.0)) as client:
        return client.request(method, url, **kw)


def talk(http: httpx.Client, base: str, customer: str, **extra) -> httpx.Response:
    return http.post(f"{base}/v1/conversations", json={"customer_id": customer, "channel": "email",
                                                       "type": "question", **extra})


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no series {name} in\n{text}")


def wait_until(check, *, limit: float = 3.0, step: float = 0.02):
    """Poll ``check`` (bounded in time); return its first truthy value."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit}s")
        time.sleep(step)


# --------------------------------------------------------------------------------------------- probes


def test_probe_routes_have_the_openclaw_shapes(serve, http):
    base = serve()
    for path in ("/healthz", "/health"):
        r = http.get(base + path)
        assert r.status_code == 200 and r.json() == {"ok": True, "status": "live"}
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["cache-control"] == "no-store"
    for path in ("/readyz", "/ready"):
        r = http.get(base + path)
        body = r.json()
        assert r.status_code == 200 and set(body) == {"ready", "failing", "uptimeMs"}
        assert body["ready"] is True and body["failing"] == [] and isinstance(body["uptimeMs"], int)
    for path in ("/startupz", "/startup"):
        r = http.get(base + path)
        assert r.status_code == 200 and r.json() == {"ok": True, "status": "started"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/startupz"])
def test_head_on_probes_answers_without_a_body(serve, http, path):
    base = serve()
    r = http.head(base + path)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("method,path", [("POST", "/healthz"), ("PUT", "/readyz"), ("DELETE", "/startupz")])
def test_other_methods_on_probes_get_405(serve, http, method, path):
    r = http.request(method, serve() + path)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


# ------------------------------------------------------------------------------------------ agent API v1


def test_info_has_the_fleet_entry(serve, http):
    r = http.get(serve() + "/v1/info")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "version", "domain", "region", "capabilities", "channels",
                         "max_concurrent_conversations"}
    assert body["id"] == "a1" and body["domain"] == "sales" and body["region"] == "us-east"
    assert body["capabilities"] == ["lead_qualification", "pricing_inquiries"]
    assert body["channels"] == ["email", "sms"]
    assert body["max_concurrent_conversations"] == 2


def test_conversations_and_sessions_shapes(serve, http):
    base = serve()
    r = talk(http, base, "cust-1")
    assert r.status_code == 201 and set(r.json()) == {"session_id"}
    sid = r.json()["session_id"]
    listed = http.get(base + "/v1/sessions").json()
    assert set(listed) == {"sessions"}
    (summary,) = listed["sessions"]
    assert set(summary) == {"id", "customer_id", "channel", "state_hash", "updated_at"}
    assert summary["id"] == sid and summary["customer_id"] == "cust-1" and summary["channel"] == "email"
    ctx = http.get(f"{base}/v1/sessions/{sid}").json()
    assert set(ctx) == CONTEXT_KEYS
    assert ctx["state_hash"] == summary["state_hash"]
    assert ctx["history"][0]["event"] == "conversation_started"
    assert http.get(f"{base}/v1/sessions/{sid}").json()["state_hash"] == ctx["state_hash"]  # stable
    # Another message from the same customer: the history grows and the hash moves.
    assert talk(http, base, "cust-1").json()["session_id"] == sid
    assert http.get(f"{base}/v1/sessions/{sid}").json()["state_hash"] != ctx["state_hash"]
    assert http.get(base + "/v1/sessions/no-such-session").status_code == 404


def test_bad_requests_get_400_and_unknown_routes_404(serve, http):
    base = serve()
    assert http.post(base + "/v1/conversations", content=b"{not json").status_code == 400
    assert http.post(base + "/v1/conversations", json=[1, 2]).status_code == 400
    assert http.post(base + "/v1/conversations", json={"channel": "email"}).status_code == 400
    assert talk(http, base, "c", channel="wechat").status_code == 400
    assert http.post(base + "/v1/sessions/import", json={"sessions": 3}).status_code == 400
    assert http.post(base + "/v1/admin/fault", json={"mode": "explode"}).status_code == 400
    assert http.get(base + "/v1/nothing").status_code == 404
    assert http.get(base + "/v1/conversations").status_code == 404


def test_capacity_429_and_requests_counted_by_outcome(serve, http):
    base = serve()  # a1: max_concurrent_conversations 2, service time 60 s
    assert talk(http, base, "c1").status_code == 201
    assert talk(http, base, "c2").status_code == 201
    assert talk(http, base, "c3").status_code == 429
    text = http.get(base + "/metrics").text
    assert metric(text, "clawctl_agent_active_conversations") == 2
    assert metric(text, "clawctl_agent_max_conversations") == 2
    assert http.post(base + "/v1/admin/fault", json={"mode": "error", "error_rate": 1.0, "lease": 30}).status_code \
        == 200
    assert talk(http, base, "c4").status_code == 500
    r = http.get(base + "/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 2
    assert metric(text, 'clawctl_agent_requests_total{outcome="rejected"}') == 1
    assert metric(text, 'clawctl_agent_requests_total{outcome="error"}') == 1
    assert metric(text, 'clawctl_agent_response_time_seconds_bucket{le="+Inf"}') == 4
    assert metric(text, "clawctl_agent_response_time_seconds_count") == 4


def test_drain_then_resume(serve, http):
    base = serve()
    assert talk(http, base, "c1").status_code == 201
    r = http.post(base + "/v1/admin/drain")
    assert r.status_code == 200 and r.json() == {"draining": True, "active_conversations": 1}
    r = http.get(base + "/readyz")
    assert r.status_code == 503
    assert r.json()["ready"] is False and r.json()["failing"] == ["gateway-draining"]
    assert http.get(base + "/healthz").status_code == 200  # live while draining
    assert http.get(base + "/startupz").json() == {"ok": False, "status": "draining"}
    assert talk(http, base, "c2").status_code == 503
    r = http.post(base + "/v1/admin/resume")
    assert r.status_code == 200 and r.json() == {"draining": False}
    assert http.get(base + "/readyz").status_code == 200
    assert talk(http, base, "c2").status_code == 201


# ---------------------------------------------------------------------------------------------- faults

LEASE = 0.5


def _fault(http: httpx.Client, base: str, **body) -> float:
    r = http.post(base + "/v1/admin/fault", json={"lease": LEASE, **body})
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == body["mode"] and r.json()["lease"] == LEASE
    return time.monotonic()


def _after_lease(t0: float) -> None:
    time.sleep(max(0.0, t0 + LEASE + 0.1 - time.monotonic()))


def test_crash_refuses_connections_then_comes_back_by_itself(serve, http):
    base = serve()
    assert http.get(base + "/readyz").status_code == 200  # a keep-alive connection from before the crash
    t0 = _fault(http, base, mode="crash")

    def refused() -> bool:
        return _refused(base)

    wait_until(refused, limit=LEASE * 0.8, step=0.01)
    with pytest.raises(httpx.TransportError):  # the old connection is no way around the crash
        http.get(base + "/readyz", timeout=0.5)
    back = wait_until(lambda: not refused(), limit=3.0, step=0.05)
    assert back and time.monotonic() - t0 >= LEASE * 0.9
    assert fresh("GET", base + "/readyz").status_code == 200
    assert talk(http, base, "after-crash").status_code == 201


def test_a_new_fault_replaces_a_crash(serve, http):
    """Admin routes are never faulted: on a connection kept from before, `none` ends a crash early."""
    base = serve()
    assert http.get(base + "/readyz").status_code == 200
    r = http.post(base + "/v1/admin/fault", json={"mode": "crash", "lease": 30})
    assert r.status_code == 200
    wait_until(lambda: _refused(base), limit=1.0, step=0.01)
    assert http.post(base + "/v1/admin/fault", json={"mode": "none", "lease": 0}).json()["mode"] == "none"
    wait_until(lambda: not _refused(base), limit=2.0, step=0.02)
    assert fresh("GET", base + "/readyz").status_code == 200


def _refused(base: str) -> bool:
    try:
        fresh("GET", base + "/readyz", timeout=0.5)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False
    return False


def test_hang_holds_requests_for_the_lease_but_admin_routes_answer(serve, http):
    base = serve()
    t0 = _fault(http, base, mode="hang")
    with pytest.raises(httpx.TimeoutException):
        fresh("GET", base + "/readyz", timeout=LEASE * 0.5)
    started = time.monotonic()
    assert http.post(base + "/v1/admin/drain").status_code == 200  # admin routes are never faulted
    assert http.post(base + "/v1/admin/resume").status_code == 200
    assert time.monotonic() - started < LEASE * 0.5
    _after_lease(t0)
    started = time.monotonic()
    assert fresh("GET", base + "/readyz").status_code == 200
    assert time.monotonic() - started < 0.3


def test_slow_adds_latency_until_the_lease_ends(serve, http):
    base = serve()
    latency = 0.25
    t0 = _fault(http, base, mode="slow", latency=latency)
    started = time.monotonic()
    assert talk(http, base, "c1").status_code == 201
    assert time.monotonic() - started >= latency
    text = http.get(base + "/metrics").text
    assert metric(text, "clawctl_agent_response_time_seconds_sum") >= latency
    _after_lease(t0)
    started = time.monotonic()
    assert talk(http, base, "c2").status_code == 201
    assert time.monotonic() - started < latency


def test_error_answers_500_until_the_lease_ends(serve, http):
    base = serve()
    t0 = _fault(http, base, mode="error", error_rate=1.0)
    assert [talk(http, base, f"c{i}").status_code for i in range(3)] == [500, 500, 500]
    assert http.get(base + "/readyz").status_code == 200  # probes are fine: only conversations fail
    _after_lease(t0)
    assert talk(http, base, "c9").status_code == 201


def test_unready_turns_readiness_503_until_the_lease_ends(serve, http):
    base = serve()
    t0 = _fault(http, base, mode="unready")
    r = http.get(base + "/readyz")
    assert r.status_code == 503
    assert r.json()["ready"] is False and r.json()["failing"] == ["fault-injected"]
    assert http.head(base + "/readyz").status_code == 503
    assert talk(http, base, "c1").status_code == 503
    _after_lease(t0)
    assert http.get(base + "/readyz").status_code == 200
    assert talk(http, base, "c1").status_code == 201


def test_fault_none_ends_a_fault_early(serve, http):
    base = serve()
    _fault(http, base, mode="unready")
    assert http.post(base + "/v1/admin/fault", json={"mode": "none"}).json()["mode"] == "none"
    assert http.get(base + "/readyz").status_code == 200


# ---------------------------------------------------------------------------------------- --all mode


def test_all_mode_serves_every_agent_under_its_prefix(serve, http):
    base = serve(None, all_agents=True)
    for agent_id in ("a1", "a2", "a3"):
        r = http.get(f"{base}/agents/{agent_id}/readyz")
        assert r.status_code == 200 and r.json()["ready"] is True
        assert http.get(f"{base}/agents/{agent_id}/v1/info").json()["id"] == agent_id
    assert http.get(f"{base}/agents/nope/readyz").status_code == 404
    assert http.get(f"{base}/readyz").status_code == 404  # no agent at the root in --all mode
    # Each agent has its own state: a fault on a2 leaves the others alone.
    assert http.post(f"{base}/agents/a2/v1/admin/fault", json={"mode": "unready", "lease": 30}).status_code == 200
    assert http.get(f"{base}/agents/a2/readyz").status_code == 503
    assert http.get(f"{base}/agents/a1/readyz").status_code == 200
    # A crash cannot close the shared port: the agent's connections are dropped instead.
    assert http.post(f"{base}/agents/a3/v1/admin/fault", json={"mode": "crash", "lease": 30}).status_code == 200
    with pytest.raises(httpx.TransportError):
        fresh("GET", f"{base}/agents/a3/readyz")
    assert fresh("GET", f"{base}/agents/a1/readyz").status_code == 200
    assert http.post(f"{base}/agents/a3/v1/admin/fault", json={"mode": "none"}).status_code == 200
    assert fresh("GET", f"{base}/agents/a3/readyz").status_code == 200


# ---------------------------------------------------------------------------------------- transfer


def test_session_export_import_keeps_the_state_hash(serve, http):
    one, two = serve("a1", seed=1), serve("a2", seed=2)
    sid = talk(http, one, "cust-7").json()["session_id"]
    talk(http, one, "cust-7", type="billing")  # a second turn: history of two
    before = http.get(f"{one}/v1/sessions/{sid}").json()
    assert len(before["history"]) == 2
    body = {"sessions": [before], "transfer": {"from": "a1", "reason": "drill"}}
    r = http.post(f"{two}/v1/sessions/import", json=body)
    assert r.status_code == 200
    assert r.json()["imported"] == [sid] and r.json()["rejected"] == []
    after = http.get(f"{two}/v1/sessions/{sid}").json()
    assert after["state_hash"] == before["state_hash"]
    assert after == before
    assert http.get(f"{one}/v1/sessions/{sid}").json()["state_hash"] == before["state_hash"]
    # Idempotent by id: the same import again changes nothing.
    r = http.post(f"{two}/v1/sessions/import", json=body)
    assert r.json()["imported"] == [sid]
    assert len(http.get(f"{two}/v1/sessions").json()["sessions"]) == 1
    # A context damaged in transit is rejected, and the stored one stays whole.
    damaged = json.loads(json.dumps(before))
    damaged["history"].append({"role": "customer", "event": "tampered"})
    r = http.post(f"{two}/v1/sessions/import", json={"sessions": [damaged]})
    assert r.json()["imported"] == [] and "state_hash" in r.json()["rejected"][0]["reason"]
    assert http.get(f"{two}/v1/sessions/{sid}").json()["state_hash"] == before["state_hash"]


# -------------------------------------------------------------------- the CLI process: auth and metrics


def test_agent_serve_process_token_auth_and_own_metrics(fleet, tmp_path):
    ready = tmp_path / "ready.json"
    env = {**os.environ, TOKEN_VAR: "s3cret-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet, "--port", "0",
         "--ready-file", str(ready), "--token-env", TOKEN_VAR, "--time-scale", "0.01", "--seed", "3"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, limit=20.0, step=0.05)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        info = json.loads(ready.read_text())
        assert info["pid"] == proc.pid
        base = info["endpoint"]
        assert base == f"http://127.0.0.1:{info['port']}"
        good = {"Authorization": "Bearer s3cret-token"}
        with httpx.Client(trust_env=False, timeout=5.0) as http:
            for path in ("/v1/info", "/v1/sessions"):
                assert http.get(base + path).status_code == 401
                assert http.get(base + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
                assert http.get(base + path, headers={"Authorization": "Basic s3cret-token"}).status_code == 401
                assert http.get(base + path, headers=good).status_code == 200
            assert http.post(base + "/v1/admin/drain").status_code == 401
            assert http.post(base + "/v1/admin/fault", json={"mode": "crash"}).status_code == 401
            assert http.post(base + "/v1/conversations", json={"customer_id": "c"}).status_code == 401
            # Probes and metrics stay open.
            assert http.get(base + "/healthz").status_code == 200
            assert http.get(base + "/readyz").status_code == 200
            assert http.post(base + "/v1/conversations", json={"customer_id": "c", "channel": "email"},
                             headers=good).status_code == 201
            text = http.get(base + "/metrics").text
            memory = metric(text, "clawctl_agent_memory_percent")
            cpu = metric(text, "clawctl_agent_cpu_percent")
            assert memory > 0 and cpu >= 0
            own = psutil.Process(proc.pid).memory_percent()
            assert abs(memory - own) <= max(0.5 * own, 0.05)  # the serving process's own figure
            assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 1
            # A crash in the real process: refused during the lease, back by itself afterwards.
            r = http.post(base + "/v1/admin/fault", json={"mode": "crash", "lease": LEASE}, headers=good)
            assert r.status_code == 200
        t0 = time.monotonic()

        def refused() -> bool:
            try:
                fresh("GET", base + "/healthz", timeout=0.5)
            except httpx.ConnectError:
                return True
            except httpx.TransportError:  # accepted in the instant before the listener closed, then dropped
                return False
            return False

        wait_until(refused, limit=LEASE * 0.8, step=0.01)
        wait_until(lambda: not refused(), limit=5.0, step=0.05)
        assert time.monotonic() - t0 >= LEASE * 0.8
        assert proc.poll() is None and psutil.Process(proc.pid).is_running()
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode is not None
    assert "s3cret-token" not in ready.read_text()


def test_agent_serve_refuses_a_missing_token_variable(fleet, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    r = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet,
                        "--token-env", TOKEN_VAR], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and TOKEN_VAR in r.stderr


def test_ready_file_path_is_only_written_once_listening(fleet, tmp_path):
    """`--ready-file` for a fleet-wide server: {pid, port, endpoint}."""
    ready = tmp_path / "all.json"
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--all", "--fleet", fleet,
                             "--ready-file", str(ready)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, limit=20.0, step=0.05)
        info = json.loads(ready.read_text())
        assert set(info) == {"pid", "port", "endpoint"}
        with httpx.Client(trust_env=False, timeout=5.0) as http:
            assert http.get(info["endpoint"] + "/agents/a2/readyz").status_code == 200
            assert http.get(info["endpoint"] + "/agents/zz/readyz").status_code == 404
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert not Path(str(ready) + ".tmp").exists()


def test_after_a_crash_the_agent_waits_for_its_port_if_something_took_it(serve, http):
    """The lease ends while another socket holds the port: the agent retries and comes back once it is free."""
    import socket
    from urllib.parse import urlsplit

    base = serve()
    port = urlsplit(base).port
    _fault(http, base, mode="crash")
    assert wait_until(lambda: _refused(base), limit=LEASE * 0.8, step=0.01)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, still exclusive
    try:
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)
        time.sleep(LEASE + 0.3)  # the lease is over; the agent cannot listen yet
    finally:
        squatter.close()
    assert wait_until(lambda: not _refused(base), limit=3.0, step=0.05)
    assert fresh("GET", base + "/readyz").status_code == 200
