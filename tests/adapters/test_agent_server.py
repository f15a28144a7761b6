"""The reference agent's HTTP server over real loopback sockets: agent-api.md section 2, route by route.

Most servers run in-process on an asyncio loop in a background thread (the fixture stops them); one
test runs `clawctl agent serve` as a subprocess, for the token from the environment and the process's
own CPU and memory figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from clawctl.adapters.agent_server import IMPORT_BODY_LIMIT, AgentServer
from clawctl.core.errors import UsageError
from clawctl.core.refagent import (
    MAX_IMPORT_SESSIONS,
    MAX_SESSION_BYTES,
    MAX_STORE_BYTES,
    state_hash,
)
from clawctl.services.agent_serve import ServeOptions, build, is_loopback

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
def serve(fleet, agent_servers):
    """``serve(agent_id=None, all_agents=False, token=None) -> base URL``; every server stops at teardown."""

    def start(agent_id: str | None = "a1", *, all_agents: bool = False, token: str | None = None,
              seed: int = 1, fleet_file: str | None = None, token_env: str | None = None,
              time_scale: float = 1.0) -> str:
        """With ``fleet_file``, the tokens are the ones `agent serve` would take (``build``)."""
        agents, tokens = build(ServeOptions(agent_id, fleet=fleet_file or fleet, seed=seed, all_agents=all_agents,
                                            token_env=token_env, time_scale=time_scale))
        return agent_servers(AgentServer(agents, token=token, tokens=tokens if fleet_file else None,
                                         many=all_agents))

    return start


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


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL if the process is still there after 5 s."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


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
        stop(proc)
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
        stop(proc)
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


# ------------------------------------------------------------------- hardening: tokens in --all mode

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "agents"
A1_VAR, A2_VAR = "CLAWCTL_TEST_AGENT_SERVER_A1", "CLAWCTL_TEST_AGENT_SERVER_A2"
FLEET_AUTH = FLEET.replace("    channels: [email, sms]\n",
                           f"    channels: [email, sms]\n    auth: {{token_env: {A1_VAR}}}\n", 1) \
    .replace("    capabilities: [ticket_creation]\n",
             f"    capabilities: [ticket_creation]\n    auth: {{token_env: {A2_VAR}}}\n", 1) \
    .replace("    capabilities: [refunds]\n", f"    capabilities: [refunds]\n    auth: {{token_env: {A1_VAR}}}\n", 1)


@pytest.fixture
def fleet_auth(tmp_path, monkeypatch) -> str:
    """The test fleet with `auth.token_env` per agent: a1 and a3 share one variable, a2 has its own."""
    monkeypatch.setenv(A1_VAR, "tok-a1-7f3e")
    monkeypatch.setenv(A2_VAR, "tok-a2-91bc")
    path = tmp_path / "fleet-auth.yaml"
    path.write_text(FLEET_AUTH)
    return str(path)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_all_mode_every_agent_needs_its_own_token(serve, http, fleet_auth):
    """Attack item 1: `--all` ignored auth.token_env; now each agent's routes need that agent's token."""
    base = serve(None, all_agents=True, fleet_file=fleet_auth)
    for agent_id, own, other in (("a1", "tok-a1-7f3e", "tok-a2-91bc"), ("a2", "tok-a2-91bc", "tok-a1-7f3e"),
                                 ("a3", "tok-a1-7f3e", "tok-a2-91bc")):
        url = f"{base}/agents/{agent_id}"
        assert http.post(url + "/v1/admin/drain").status_code == 401  # the attack: no header at all
        assert http.post(url + "/v1/admin/drain", headers=bearer(other)).status_code == 401
        for path in ("/v1/info", "/v1/sessions", "/v1/nope", "/v1/sessions/x"):
            assert http.get(url + path).status_code == 401
        r = http.post(url + "/v1/admin/fault", json={"mode": "unready"})
        assert r.status_code == 401 and r.json() == {"error": "missing or wrong bearer token"}
        assert http.get(url + "/readyz").status_code == 200  # probes and metrics stay open
        assert http.get(url + "/metrics").status_code == 200
        assert http.post(url + "/v1/admin/drain", headers=bearer(own)).json()["draining"] is True
        assert http.post(url + "/v1/admin/resume", headers=bearer(own)).status_code == 200


def test_all_mode_with_token_env_takes_one_token_for_every_agent(serve, http, fleet_auth, monkeypatch):
    monkeypatch.setenv(TOKEN_VAR, "one-for-all-5d1a")
    base = serve(None, all_agents=True, fleet_file=fleet_auth, token_env=TOKEN_VAR)
    for agent_id in ("a1", "a2", "a3"):
        url = f"{base}/agents/{agent_id}/v1/info"
        assert http.get(url, headers=bearer("tok-a1-7f3e")).status_code == 401  # the fleet's tokens no longer open it
        assert http.get(url, headers=bearer("one-for-all-5d1a")).json()["id"] == agent_id


def test_all_mode_refuses_a_missing_token_variable(fleet_auth, monkeypatch):
    monkeypatch.delenv(A2_VAR)
    with pytest.raises(UsageError) as err:
        build(ServeOptions(None, fleet=fleet_auth, all_agents=True))
    assert str(err.value) == f"agent a2: the token variable {A2_VAR} is not set (or empty)"
    monkeypatch.setenv(A2_VAR, "")
    with pytest.raises(UsageError):
        build(ServeOptions(None, fleet=fleet_auth, all_agents=True))


def test_a_token_that_is_not_printable_ascii_is_refused_without_echoing_it(fleet_auth, monkeypatch):
    monkeypatch.setenv(A2_VAR, "tok with spaces")
    with pytest.raises(UsageError) as err:
        build(ServeOptions("a2", fleet=fleet_auth))
    assert A2_VAR in str(err.value) and "tok with spaces" not in str(err.value)


def test_agent_serve_all_process_enforces_the_fleets_tokens(fleet_auth, tmp_path):
    """The attack as reported, against the real command: `--all`, drain without a header."""
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--all", "--fleet", fleet_auth,
                             "--ready-file", str(ready)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, limit=20.0, step=0.05)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        base = json.loads(ready.read_text())["endpoint"]
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            assert client.post(base + "/agents/a1/v1/admin/drain").status_code == 401
            assert client.post(base + "/agents/a2/v1/admin/drain", headers=bearer("tok-a1-7f3e")).status_code == 401
            assert client.post(base + "/agents/a2/v1/admin/drain", headers=bearer("tok-a2-91bc")).status_code == 200
            assert client.get(base + "/agents/a2/readyz").status_code == 503  # drained, by its own token
    finally:
        stop(proc)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert "tok-a" not in err and "Traceback" not in err


def test_agent_serve_all_refuses_a_missing_token_variable_in_one_line(fleet_auth):
    env = {k: v for k, v in os.environ.items() if k != A2_VAR}
    r = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--all", "--fleet", fleet_auth],
                       capture_output=True, text=True, env=env, timeout=30, check=False)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and A2_VAR in r.stderr and "agent a2" in r.stderr


# ------------------------------------------------------------------- hardening: non-loopback hosts


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True), ("LocalHost", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("10.1.2.3", False), ("192.168.0.5", False),
    ("agents.example.com", False), ("localhost.example.com", False), ("::ffff:127.0.0.1", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "agents.example.com"])
def test_a_non_loopback_host_without_a_token_is_refused(fleet, fleet_auth, host, monkeypatch):
    """Attack item 2. Only `build` runs here: nothing listens on anything but 127.0.0.1 in the tests."""
    with pytest.raises(UsageError) as err:
        build(ServeOptions("a1", host=host, fleet=fleet))
    assert f"refusing to serve on {host} without a token" in str(err.value) and "--token-env" in str(err.value)
    with pytest.raises(UsageError) as err:  # --all: one agent without a token is enough to refuse
        build(ServeOptions(None, host=host, fleet=fleet, all_agents=True))
    assert "a1, a2, a3" in str(err.value)
    _, tokens = build(ServeOptions(None, host=host, fleet=fleet_auth, all_agents=True))  # every agent has one
    assert set(tokens) == {"a1", "a2", "a3"} and all(tokens.values())
    monkeypatch.setenv(TOKEN_VAR, "shared-93f0")
    _, tokens = build(ServeOptions("a1", host=host, fleet=fleet, token_env=TOKEN_VAR))
    assert tokens == {"a1": "shared-93f0"}


def test_agent_serve_refuses_a_public_host_without_a_token_in_one_line(fleet):
    r = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet,
                        "--host", "0.0.0.0"], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "0.0.0.0" in r.stderr and "--token-env" in r.stderr


# ------------------------------------------------------------------- hardening: numbers from flags and bodies


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e9])
def test_time_scale_must_be_finite_above_0_and_bounded(fleet, value):
    with pytest.raises(UsageError) as err:
        build(ServeOptions("a1", fleet=fleet, time_scale=value))
    assert "--time-scale" in str(err.value)


def test_agent_serve_refuses_time_scale_nan_in_one_line(fleet):
    r = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet,
                        "--time-scale", "nan"], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--time-scale" in r.stderr


@pytest.mark.parametrize("name", ["fault-nan-latency.json", "fault-infinite-latency.json", "fault-huge-latency.json",
                                  "fault-overflowing-integer-latency.json", "fault-nan-lease.json"])
def test_fault_values_must_be_finite_and_bounded(serve, http, name):
    """Attack item 10: NaN, Infinity and 1e308 latencies were taken, and then every request hung."""
    base = serve()
    r = http.post(base + "/v1/admin/fault", content=(HOSTILE / name).read_bytes(),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and isinstance(r.json()["error"], str)
    for body in ({"mode": "slow", "latency": 3600.5, "lease": 30}, {"mode": "slow", "latency": -0.1},
                 {"mode": "hang", "lease": 3601}, {"mode": "slow", "latency": "1"}, {"mode": "slow", "latency": True},
                 {"mode": ["slow"]}, {"mode": "error", "error_rate": 1.01}):
        r = http.post(base + "/v1/admin/fault", json=body)
        assert r.status_code == 400 and "error" in r.json(), body
    started = time.monotonic()
    assert http.get(base + "/healthz").status_code == 200
    assert http.post(base + "/v1/conversations", json={"customer_id": "c", "channel": "email"}).status_code == 201
    assert time.monotonic() - started < 1.0  # no fault was set


def test_a_slow_fault_never_holds_a_request_past_its_lease(serve, http):
    base = serve()
    r = http.post(base + "/v1/admin/fault", json={"mode": "slow", "latency": 3600, "lease": LEASE})
    assert r.status_code == 200
    started = time.monotonic()
    assert http.get(base + "/healthz").status_code == 200
    assert LEASE * 0.8 <= time.monotonic() - started < LEASE + 1.0


def raw_exchange(base: str, request: bytes, limit: float = 5.0) -> tuple[int, bytes]:
    """Send raw bytes (headers httpx would refuse to write); the status and body of the answer."""
    import socket
    from urllib.parse import urlsplit

    started = time.monotonic()
    data = b""
    with socket.create_connection(("127.0.0.1", urlsplit(base).port), timeout=limit) as sock:
        sock.sendall(request)
        while time.monotonic() - started < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def test_a_non_utf8_bearer_token_is_401_never_500_and_logs_nothing(serve, caplog):
    """Attack item 10: a token of bytes that are not UTF-8 made the token check raise (500 and a traceback)."""
    caplog.set_level(logging.DEBUG)
    base = serve(token="s3cret-token")
    for value in (b"Bearer \xff\xfe", b"Bearer s3cret-token\xff", b"\xc3\xa9 s3cret-token", b"Bearer \x80" * 3):
        status, body = raw_exchange(base, b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: " + value +
                                    b"\r\nConnection: close\r\n\r\n")
        assert status == 401 and json.loads(body) == {"error": "missing or wrong bearer token"}
    status, _ = raw_exchange(base, b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n"
                                   b"Authorization: Bearer s3cret-token\r\nConnection: close\r\n\r\n")
    assert status == 401  # two headers: refused rather than guessed
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


def test_malformed_requests_are_one_log_line_without_a_traceback_or_the_token(serve, caplog):
    caplog.set_level(logging.DEBUG)
    base = serve(token="s3cret-token")
    for request in (b"BR\x01EW /v1/info HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\x01\r\n\r\n",
                    b"POST /v1/admin/fault HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"):
        status, _ = raw_exchange(base, request)
        assert status == 400
    assert caplog.records
    for record in caplog.records:
        assert not record.exc_info and record.levelno < logging.WARNING, record.getMessage()
        assert "s3cret-token" not in record.getMessage()


def test_deep_json_bodies_are_400_or_413_never_500(serve, http, caplog):
    """Attack item 10: a 100k-deep JSON body made json.loads raise RecursionError (500 and a traceback)."""
    caplog.set_level(logging.DEBUG)
    base = serve()
    deep = (HOSTILE / "body-100k-deep.json").read_bytes()
    r = http.post(base + "/v1/sessions/import", content=b'{"sessions": ' + deep + b"}",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nested" in r.json()["error"]
    r = http.post(base + "/v1/admin/fault", content=deep)
    assert r.status_code == 413 and "KiB" in r.json()["error"]  # over the 64 KiB of every other route
    r = http.post(base + "/v1/admin/fault", content=b"[" * 60_000)  # deep enough for RecursionError, under 64 KiB
    assert r.status_code == 400 and "nested" in r.json()["error"]
    for depth, status in ((20_000, 400), (990, 400), (65, 400), (64, 400), (63, 200)):
        body = b'{"mode": "none", "x": ' + b"[" * depth + b"]" * depth + b"}"
        r = http.post(base + "/v1/admin/fault", content=body)
        assert r.status_code == status, depth  # the object itself is one level: 63 arrays inside are 64
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


@pytest.mark.parametrize("body", [b'{"mode": "none", "x": NaN}', b'{"mode": "none", "x": -Infinity}',
                                  b'{"mode": "none", "x": 1e999}', b'{"mode": "none", "x": 1' + b"0" * 5000 + b"}",
                                  b'{"mode": "none"', b"\xff\xfe{}", b"[]", b""])
def test_bodies_that_are_not_strict_json_objects_are_400(serve, http, body):
    r = http.post(serve() + "/v1/admin/fault", content=body)
    assert r.status_code == 400 and r.json()["error"].startswith("the body must be")


def test_import_caps_answer_413_with_a_json_body(serve, http):
    """Attack item 10: imports had no size cap (90 MB of imports grew the agent by 98 MB)."""
    base = serve()
    r = http.post(base + "/v1/sessions/import", content=b'{"sessions": ["' + b"x" * IMPORT_BODY_LIMIT + b'"]}')
    assert r.status_code == 413 and "KiB" in r.json()["error"]
    r = http.post(base + "/v1/sessions/import", json={"sessions": [{}] * (MAX_IMPORT_SESSIONS + 1)})
    assert r.status_code == 413 and str(MAX_IMPORT_SESSIONS) in r.json()["error"]
    big = {"id": "big", "customer_id": "c", "channel": None, "history": ["x" * MAX_SESSION_BYTES],
           "extracted_data": {}, "agent_interactions": []}
    big["state_hash"] = state_hash(big)
    r = http.post(base + "/v1/sessions/import", json={"sessions": [big]})
    assert r.status_code == 413 and "KiB" in r.json()["error"]
    assert http.get(base + "/v1/sessions").json() == {"sessions": []}  # nothing of a refused import stays
    r = http.post(base + "/v1/conversations", json={"customer_id": "c" * 300})
    assert r.status_code == 400  # conversation fields are bounded too


def test_import_with_a_lone_surrogate_is_stored_not_500(serve, http):
    """JSON's "\\ud800" is a lone surrogate in Python: the state hash once failed to encode it."""
    base = serve()
    ctx = {"id": "s1", "customer_id": "c1", "channel": None, "history": [{"note": "\ud800"}],
           "extracted_data": {}, "agent_interactions": [], "updated_at": "t"}
    ctx["state_hash"] = state_hash(ctx)
    body = json.dumps({"sessions": [ctx]}).encode()  # ensure_ascii: the surrogate travels as \\ud800
    r = http.post(base + "/v1/sessions/import", content=body)
    assert r.status_code == 200 and r.json()["imported"] == ["s1"]
    assert http.get(base + "/v1/sessions/s1").json()["state_hash"] == ctx["state_hash"]


def test_paths_with_a_newline_reach_the_agent(serve, http):
    """aiohttp's `.*` route pattern stopped at %0A: such paths got aiohttp's own 404, past the token check."""
    base = serve(token="s3cret-token")
    for path in ("/v1/info%0A", "/v1/sessions/x%0Ay", "/%0A"):
        r = http.get(base + path)
        assert r.status_code == 401 and r.json() == {"error": "missing or wrong bearer token"}, path


def test_import_memory_stays_bounded_in_the_real_process(fleet, tmp_path):
    """90 MB of imports grew the agent's RSS by 98 MB; now its sessions are held to a memory budget."""
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet,
                             "--ready-file", str(ready)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, limit=20.0, step=0.05)
        base = json.loads(ready.read_text())["endpoint"]
        rss = psutil.Process(proc.pid).memory_info().rss
        sent, n = 0, 0
        event = {"role": "customer", "event": "message", "type": "question", "at": "2026-01-01T00:00:00.000Z"}
        with httpx.Client(trust_env=False, timeout=30.0) as client:
            while sent < 40 * 2**20:  # 40 MiB of imports, 10 requests, about 8,500 sessions of 4.5 KiB
                sessions = []
                for _ in range(850):
                    n += 1
                    ctx = {"id": f"s{n}", "customer_id": f"c{n}", "channel": "email", "history": [event] * 45,
                           "extracted_data": {}, "agent_interactions": [], "updated_at": "t"}
                    ctx["state_hash"] = state_hash(ctx)
                    sessions.append(ctx)
                body = json.dumps({"sessions": sessions}).encode()
                assert client.post(base + "/v1/sessions/import", content=body).status_code == 200
                sent += len(body)
            held = len(client.get(base + "/v1/sessions").json()["sessions"])
        grown = psutil.Process(proc.pid).memory_info().rss - rss
    finally:
        stop(proc)
    assert 0 < held < n  # the oldest idle sessions made room
    assert grown < MAX_STORE_BYTES + 48 * 2**20, grown / 2**20  # before: about 200 MiB for these 40 MiB


def test_agent_serve_process_logs_no_traceback_and_no_token_for_client_mistakes(fleet, tmp_path):
    """The whole hostile set against the real command: its stderr (the lab's log file) stays clean."""
    ready = tmp_path / "ready.json"
    env = {**os.environ, TOKEN_VAR: "s3cret-token"}
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", "a1", "--fleet", fleet,
                             "--token-env", TOKEN_VAR, "--ready-file", str(ready)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_until(lambda: ready.exists() or proc.poll() is not None, limit=20.0, step=0.05)
        base = json.loads(ready.read_text())["endpoint"]
        auth = b"Authorization: Bearer s3cret-token\r\n"
        for request in (b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
                        b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\x01\r\n\r\n",
                        b"NOT\x01HTTP /v1/info HTTP/1.1\r\n\r\n"):
            raw_exchange(base, request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        for name in ("body-100k-deep.json", "fault-nan-latency.json", "fault-huge-latency.json"):
            body = (HOSTILE / name).read_bytes()
            status, _ = raw_exchange(base, b"POST /v1/admin/fault HTTP/1.1\r\nHost: x\r\n" + auth +
                                     b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            assert status in (400, 413)
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            assert client.get(base + "/healthz").status_code == 200
    finally:
        stop(proc)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert "Traceback" not in err and "s3cret-token" not in err, err


# ------------------------------------------------------------------- POST /v1/conversations?wait=1
#
# a1 is deterministic 60 s: with --time-scale 0.005 a conversation lasts 0.3 s, with 0.1 six seconds
# (a fault or a disconnect is sure to come mid-conversation), with 0.0002 twelve milliseconds.
SHORT, LONG, TINY = 0.005, 0.1, 0.0002
WAIT = "/v1/conversations?wait=1"
# The client's clock starts before the agent starts the conversation and stops after the agent ended
# it, so the time it measures is never shorter than service_s (1 ms of slack for float rounding); on
# top come two loopback round trips and event-loop scheduling, well under 0.5 s even on a shared
# 2-core machine (measured: about 5 ms idle).
EARLY, LATE = 0.001, 0.5


@pytest.fixture
def fleet_one(tmp_path) -> str:
    """The test fleet with a1 taking one conversation at a time."""
    path = tmp_path / "fleet-one.yaml"
    path.write_text(FLEET.replace("max_concurrent_conversations: 2", "max_concurrent_conversations: 1", 1))
    return str(path)


@pytest.fixture
def pool():
    """Threads for held requests; every request in them has its own timeout, so shutdown is bounded."""
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="held-request") as executor:
        yield executor


def waited(base: str, customer: str, *, path: str = WAIT, headers: dict | None = None, timeout: float = 10.0):
    """One `?wait=1` conversation on its own connection: (status or the transport error, JSON body, seconds)."""
    started = time.monotonic()
    try:
        r = fresh("POST", base + path, json={"customer_id": customer, "channel": "email", "type": "question"},
                  headers=headers or {}, timeout=timeout)
    except httpx.TransportError as exc:
        return exc, None, time.monotonic() - started
    return r.status_code, r.json(), time.monotonic() - started


def active(http: httpx.Client, url: str) -> float:
    return metric(http.get(url + "/metrics").text, "clawctl_agent_active_conversations")


def test_wait_answers_200_with_service_s_once_the_conversation_has_ended(serve, http, pool):
    base = serve(time_scale=SHORT)
    for value in ("1", "true"):
        status, body, seconds = waited(base, f"c-{value}", path=f"/v1/conversations?wait={value}")
        assert status == 200 and set(body) == {"session_id", "service_s"}
        assert isinstance(body["service_s"], float) and body["service_s"] == pytest.approx(60 * SHORT)
        assert body["service_s"] - EARLY <= seconds <= body["service_s"] + LATE
        assert active(http, base) == 0  # the slot was free before the answer
        history = http.get(f"{base}/v1/sessions/{body['session_id']}").json()["history"]
        assert [e["event"] for e in history] == ["conversation_started", "conversation_ended"]
    assert talk(http, base, "c-plain").status_code == 201  # without wait: unchanged


def test_wait_another_turn_mid_conversation_answers_at_once_with_service_s_0(serve, http, pool):
    base = serve(time_scale=SHORT * 4)  # 1.2 s conversations: time to send the second turn
    first = pool.submit(waited, base, "c-turn")
    wait_until(lambda: active(http, base) == 1)
    started = time.monotonic()
    r = http.post(base + WAIT, json={"customer_id": "c-turn", "channel": "email"})
    assert r.status_code == 200 and r.json()["service_s"] == 0.0
    assert time.monotonic() - started < 60 * SHORT * 4
    assert active(http, base) == 1  # no new slot
    status, body, _ = first.result(10)
    assert status == 200 and body["session_id"] == r.json()["session_id"] and body["service_s"] > 0


@pytest.mark.parametrize("query", ["wait=0", "wait=false", "wait=", "wait", "wait=yes", "wait=TRUE", "wait=2",
                                   "wait=1&wait=1", "wait=%ff", "wait=1%00"])
def test_wait_takes_only_1_or_true_else_400_naming_the_parameter(serve, http, query):
    base = serve(time_scale=SHORT)
    r = http.post(f"{base}/v1/conversations?{query}", json={"customer_id": "c1", "channel": "email"})
    assert r.status_code == 400 and "wait" in r.json()["error"]
    assert active(http, base) == 0  # nothing started
    assert metric(http.get(base + "/metrics").text, 'clawctl_agent_requests_total{outcome="error"}') == 1


def test_wait_at_capacity_is_429_and_held_requests_are_bounded_by_it(serve, http, pool):
    base = serve(time_scale=SHORT * 3)  # 0.9 s conversations; a1 takes two
    held = [pool.submit(waited, base, f"c{i}") for i in range(2)]
    wait_until(lambda: active(http, base) == 2)
    started = time.monotonic()
    r = http.post(base + WAIT, json={"customer_id": "c3", "channel": "email"})
    assert r.status_code == 429 and r.json() == {"error": "at capacity"}
    assert talk(http, base, "c4").status_code == 429
    assert time.monotonic() - started < 0.5  # refused at once, not held
    assert [f.result(10)[0] for f in held] == [200, 200]
    text = http.get(base + "/metrics").text
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 2
    assert metric(text, 'clawctl_agent_requests_total{outcome="rejected"}') == 2


def test_wait_the_slot_is_free_when_the_answer_arrives(serve, fleet_one):
    """One slot, 12 ms conversations: each one starts the moment the last answered; not one 429."""
    base = serve(fleet_file=fleet_one, time_scale=TINY)
    statuses = []
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for i in range(50):
            r = client.post(base + WAIT, json={"customer_id": f"c{i}", "channel": "email"})
            statuses.append(r.status_code)
        text = client.get(base + "/metrics").text
    assert statuses == [200] * 50
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 50
    assert metric(text, 'clawctl_agent_requests_total{outcome="rejected"}') == 0


def test_wait_metrics_count_each_request_once_without_the_hold(serve, http, pool):
    """The histogram keeps measuring the time to start a conversation: the hold is not in it."""
    base = serve(time_scale=SHORT * 3)
    assert waited(base, "c1")[0] == 200
    held = pool.submit(waited, base, "c2")
    wait_until(lambda: active(http, base) == 1)
    text = http.get(base + "/metrics").text
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 1  # the held one is not counted yet
    assert metric(text, "clawctl_agent_response_time_seconds_count") == 1
    assert held.result(10)[0] == 200
    text = http.get(base + "/metrics").text
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 2
    assert metric(text, 'clawctl_agent_requests_total{outcome="error"}') == 0
    assert metric(text, "clawctl_agent_response_time_seconds_count") == 2
    assert metric(text, "clawctl_agent_response_time_seconds_sum") < 60 * SHORT * 3  # two starts, no service time


def test_wait_a_crash_mid_conversation_drops_the_held_request_at_once(serve, http, pool, caplog):
    caplog.set_level(logging.DEBUG)
    base = serve(time_scale=LONG)  # six-second conversations
    held = pool.submit(waited, base, "c1")
    wait_until(lambda: active(http, base) == 1)
    t0 = _fault(http, base, mode="crash")
    outcome, body, _ = held.result(10)
    assert isinstance(outcome, httpx.TransportError) and body is None  # never a 200
    assert time.monotonic() - t0 < 1.0  # not held until the service time
    _after_lease(t0)
    wait_until(lambda: not _refused(base), limit=3.0, step=0.05)  # back after the lease
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        text = client.get(base + "/metrics").text
    assert metric(text, "clawctl_agent_active_conversations") == 0  # the crash ended it: the slot is free
    assert metric(text, 'clawctl_agent_requests_total{outcome="error"}') == 1
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


def test_wait_a_hang_mid_conversation_answers_503_when_the_hang_is_over(serve, http, pool, caplog):
    caplog.set_level(logging.DEBUG)
    base = serve(time_scale=LONG)
    held = pool.submit(waited, base, "c1")
    wait_until(lambda: active(http, base) == 1)
    t0 = _fault(http, base, mode="hang")
    status, body, _ = held.result(10)
    assert status == 503 and "hang" in body["error"]
    assert LEASE * 0.8 <= time.monotonic() - t0 < LEASE + 1.0  # held while the agent hangs, not to the service end
    # Another fault ends the hang early, and with it the wait.
    held = pool.submit(waited, base, "c2")
    wait_until(lambda: active(http, base) == 1)
    assert http.post(base + "/v1/admin/fault", json={"mode": "hang", "lease": 30}).status_code == 200
    time.sleep(0.1)
    assert not held.done()
    started = time.monotonic()
    assert http.post(base + "/v1/admin/fault", json={"mode": "none"}).status_code == 200
    assert held.result(10)[0] == 503 and time.monotonic() - started < 1.0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


def test_wait_an_error_fault_cuts_held_conversations_with_503(serve, http, pool):
    base = serve(time_scale=LONG)
    held = pool.submit(waited, base, "c1")
    wait_until(lambda: active(http, base) == 1)
    t0 = _fault(http, base, mode="error", error_rate=1.0)
    status, body, _ = held.result(10)
    assert status == 503 and "error fault" in body["error"]
    assert time.monotonic() - t0 < 1.0
    r = http.post(base + WAIT, json={"customer_id": "c2", "channel": "email"})
    assert r.status_code == 500  # a new one under the fault: refused at once, as without wait
    text = http.get(base + "/metrics").text
    assert metric(text, 'clawctl_agent_requests_total{outcome="error"}') == 2
    assert metric(text, "clawctl_agent_active_conversations") == 0


@pytest.mark.parametrize("cause", ["drain", "unready", "slow"])
def test_wait_drain_unready_and_slow_let_the_conversation_end_with_200(serve, http, pool, cause):
    base = serve(time_scale=SHORT * 3)
    held = pool.submit(waited, base, "c1")
    wait_until(lambda: active(http, base) == 1)
    if cause == "drain":
        assert http.post(base + "/v1/admin/drain").status_code == 200
    else:
        _fault(http, base, mode=cause, latency=0.2)
    status, body, seconds = held.result(10)
    assert status == 200 and body["service_s"] == pytest.approx(60 * SHORT * 3)
    assert seconds <= body["service_s"] + LATE


def test_wait_slow_adds_its_latency_before_the_conversation(serve, http):
    base = serve(time_scale=SHORT)
    _fault(http, base, mode="slow", latency=0.2)
    status, body, seconds = waited(base, "c1")
    assert status == 200 and body["service_s"] == pytest.approx(60 * SHORT)  # the latency is not service time
    assert body["service_s"] + 0.2 - EARLY <= seconds <= body["service_s"] + 0.2 + LATE


def test_wait_a_client_that_leaves_leaves_the_conversation_running(serve, http, fleet_one, caplog):
    """The slot stays busy until the conversation's end, as a real one would; nothing is logged."""
    import socket
    from urllib.parse import urlsplit

    caplog.set_level(logging.DEBUG)
    base = serve(fleet_file=fleet_one, time_scale=SHORT * 4)  # one slot, 1.2 s conversations
    body = json.dumps({"customer_id": "c1", "channel": "email"}).encode()
    with socket.create_connection(("127.0.0.1", urlsplit(base).port), timeout=5) as sock:
        sock.sendall(b"POST " + WAIT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        started = time.monotonic()
        wait_until(lambda: active(http, base) == 1)
    assert talk(http, base, "c2").status_code == 429  # the slot is still busy
    wait_until(lambda: active(http, base) == 0, limit=3.0)
    assert time.monotonic() - started >= 60 * SHORT * 4 - 0.1  # it ran to its end
    assert talk(http, base, "c2").status_code == 201
    text = http.get(base + "/metrics").text
    assert metric(text, 'clawctl_agent_requests_total{outcome="ok"}') == 2  # the left one ended normally
    assert metric(text, 'clawctl_agent_requests_total{outcome="error"}') == 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


def test_wait_in_all_mode_under_the_agents_prefix(serve, http, pool):
    base = serve(None, all_agents=True, time_scale=SHORT)
    status, body, seconds = waited(f"{base}/agents/a2", "c1")
    assert status == 200 and body["service_s"] == pytest.approx(60 * SHORT)
    assert body["service_s"] - EARLY <= seconds <= body["service_s"] + LATE
    r = http.post(f"{base}/agents/a1/v1/conversations?wait=maybe", json={"customer_id": "c1"})
    assert r.status_code == 400 and "wait" in r.json()["error"]
    # A crash of one agent drops its held requests only; the port stays open for the others.
    a3 = pool.submit(waited, f"{base}/agents/a3", "c2")
    a1 = pool.submit(waited, f"{base}/agents/a1", "c3")
    wait_until(lambda: active(http, f"{base}/agents/a3") == 1 and active(http, f"{base}/agents/a1") == 1)
    assert http.post(f"{base}/agents/a3/v1/admin/fault", json={"mode": "crash", "lease": 30}).status_code == 200
    assert isinstance(a3.result(10)[0], httpx.TransportError)
    assert a1.result(10)[0] == 200


def test_wait_still_needs_the_token(serve, http):
    base = serve(token="s3cret-token", time_scale=SHORT)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = http.post(base + WAIT, json={"customer_id": "c1", "channel": "email"}, headers=headers)
        assert r.status_code == 401 and r.json() == {"error": "missing or wrong bearer token"}
    r = http.post(base + "/v1/conversations?wait=bad", json={"customer_id": "c1"})
    assert r.status_code == 401  # the token is checked before anything else
    assert waited(base, "c1", headers={"Authorization": "Bearer s3cret-token"})[0] == 200


def test_stopping_the_server_ends_held_requests_at_once(fleet):
    """A held request does not keep the server from stopping (aiohttp would wait up to 60 s for it)."""
    agents, _ = build(ServeOptions("a1", fleet=fleet, seed=1, time_scale=LONG))
    server = AgentServer(agents)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="agent-server-stop", daemon=True)
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
        base = f"http://127.0.0.1:{port}"
        with ThreadPoolExecutor(max_workers=1) as executor, httpx.Client(trust_env=False, timeout=5.0) as http:
            held = executor.submit(waited, base, "c1")
            wait_until(lambda: active(http, base) == 1)
            started = time.monotonic()
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
            assert time.monotonic() - started < 2.0
            assert isinstance(held.result(10)[0], httpx.TransportError)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
