"""`clawctl failover drill` against real reference agents on 127.0.0.1 (one `--all` server: a crash fault
drops only its agent's connections), simulated drills, the store, and the ways a drill refuses or stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.services.agent_serve import ServeOptions, build

INTERVAL, TIMEOUT, THRESHOLD = 0.2, 0.2, 3


def fleet_text(bases: dict[str, str] | None, *, caps=(10, 10, 10, 10), service=("1s",) * 4, blast="50%",
               threshold=THRESHOLD, traffic=True, down=()) -> str:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata: {name: drill-tests}", "load_balancing:",
             "  strategy: least_conn",
             f"  health: {{probe_interval: {INTERVAL}s, timeout: {TIMEOUT}s, failure_threshold: {threshold}}}",
             "failover:", f"  max_blast_radius: {blast}", "  regions: {eu: {recovery_site: us}}"]
    if traffic:
        lines += ["traffic:", "  arrivals: {rate: 2/s}"]
    lines.append("agents:")
    for i in range(4):
        name = f"a{i}"
        lines += [f"  {name}:", f"    region: {'eu' if i < 2 else 'us'}", f"    max_concurrent_conversations: {caps[i]}",
                  f"    service_time: {{distribution: deterministic, mean: {service[i]}}}"]
        if i == 0:
            lines.append("    backups: [a1, a2]")
        if bases:
            lines.append(f"    endpoint: {free_base() if name in down else bases[name]}")
    return "\n".join(lines) + "\n"


def free_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def lab(tmp_path, agent_servers):
    """``lab(**kw) -> (fleet path, {agent: base})``: a0-a3 behind one loopback server (real HTTP)."""

    def start(**kw):
        down = kw.pop("down", ())
        plain = tmp_path / "serve.yaml"
        plain.write_text(fleet_text(None, **kw))
        agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=1.0))
        base = agent_servers(AgentServer(agents, tokens=tokens, many=True))
        bases = {a: f"{base}/agents/{a}" for a in agents}
        path = tmp_path / "fleet.yaml"
        path.write_text(fleet_text(bases, down=down, **kw))
        return path, bases

    return start


def talk(bases, agent: str, n: int, prefix: str = "c") -> None:
    """``n`` customers start a conversation with ``agent`` (waiting for a slot when it is full, 5 s at most)."""
    deadline = time.monotonic() + 5
    with httpx.Client(trust_env=False, timeout=5.0) as c:
        for i in range(n):
            while True:
                r = c.post(f"{bases[agent]}/v1/conversations", json={"customer_id": f"{prefix}{i}", "channel": "email"})
                if r.status_code != 429 or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            assert r.status_code == 201, r.text


def sessions(bases, agent: str) -> dict[str, str]:
    data = httpx.get(f"{bases[agent]}/v1/sessions", trust_env=False, timeout=5.0).json()
    return {s["id"]: s["state_hash"] for s in data["sessions"]}


def ready(bases, agent: str) -> bool:
    try:
        return httpx.get(f"{bases[agent]}/readyz", trust_env=False, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(bases, agent: str, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ready(bases, agent):
            return True
        time.sleep(0.05)
    return False


def test_an_agent_drill_moves_every_session_whole_and_restores(lab, cli):
    path, bases = lab(service=("0.05s", "1s", "1s", "1s"))
    talk(bases, "a0", 12)
    time.sleep(0.2)  # their conversations end: idle sessions with history
    before = sessions(bases, "a0")
    run = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--lease", "5", "--format", "json")
    assert run.code == 0, run.err
    out = run.json()
    assert out["status"] == "passed" and out["mode"] == "live" and out["target"] == {"agent": "a0"}
    assert out["sessions"] == {"before": 12, "preserved": 12, "lost": 0, "in_conversation": 0}
    moved = {**sessions(bases, "a1"), **sessions(bases, "a2")}
    assert all(moved.get(sid) == h for sid, h in before.items())  # whole, by state_hash
    objectives = {o["name"]: o for o in out["objectives"]}
    assert set(objectives) == {"detection", "agent_recovery", "session_preservation"}
    assert objectives["session_preservation"]["measured"] == 100.0 and all(o["met"] for o in out["objectives"])
    low, high = out["detection_range_s"]
    assert (low, high) == pytest.approx(((THRESHOLD - 1) * INTERVAL, THRESHOLD * INTERVAL + TIMEOUT))
    # the balancer's probes are not told when the fault comes: measured detection inside the predicted range
    # (plus the time a probe cycle and the loop take on a loaded machine)
    assert low - 0.05 <= objectives["detection"]["measured"] <= high + 0.3
    events = [e["event"] for e in out["timeline"]]
    assert events[0].startswith("steady state") and any(e.startswith("detected: a0") for e in events)
    assert events[-1].startswith("restored: a0 ready") and ready(bases, "a0")
    assert 0 <= out["restore_s"] < 5 and f"ready {out['restore_s']:.2f}s after the clear" in events[-1]
    assert any(e.startswith("steady state after: 2 backup(s) ready") for e in events)
    assert cli("failover", "history", "--format", "json").json()["drills"][0]["drill_id"] == out["drill_id"]
    stored = cli("failover", "report", str(out["drill_id"]), "--format", "json").json()
    assert stored["sessions"] == out["sessions"] and stored["objectives"] == out["objectives"]


def test_backups_without_room_preserve_honestly_less(lab, cli):
    # a0's 8 sessions are all in conversation (service 1000 s); its backups have 3 + 2 free slots
    path, bases = lab(caps=(10, 3, 2, 10), service=("1000s", "1s", "1s", "1s"))
    talk(bases, "a0", 8)
    out = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--lease", "5", "--format", "json")
    doc = json.loads(out.out)
    assert out.code == 1, out.err  # session preservation missed
    assert doc["status"] == "failed"
    assert doc["sessions"] == {"before": 8, "preserved": 5, "lost": 3, "in_conversation": 8}
    assert doc["placed"] == {"a1": 3, "a2": 2}
    (pres,) = [o for o in doc["objectives"] if o["name"] == "session_preservation"]
    assert pres["measured"] == pytest.approx(62.5) and pres["met"] is False


def test_a_dry_run_changes_nothing(lab, cli):
    path, bases = lab(service=("1000s",) * 4)  # no conversation ends (and changes its session) meanwhile
    talk(bases, "a0", 5)
    before = {a: sessions(bases, a) for a in bases}
    run = cli("failover", "drill", str(path), "--agent", "a0", "--dry-run", "--format", "json")
    assert run.code == 0, run.err
    assert run.json()["status"] == "dry_run"
    assert {a: sessions(bases, a) for a in bases} == before and all(ready(bases, a) for a in bases)


def test_a_dry_run_reads_the_targets_sessions_and_says_it_moves_none(lab, cli):
    path, bases = lab(service=("1000s", "1s", "1s", "1s"))
    talk(bases, "a0", 5)  # five conversations under way on a0
    doc = cli("failover", "drill", str(path), "--agent", "a0", "--dry-run", "-f", "json").json()
    assert doc["sessions"] == {"before": 5, "preserved": 0, "lost": 0, "in_conversation": 5}
    assert any(e["event"] == "sessions read: 5 session(s) on a0, nothing moved (dry run)" for e in doc["timeline"])
    text = cli("failover", "drill", str(path), "--agent", "a0", "--dry-run")
    assert text.code == 0, text.err
    assert "sessions: 5 on the target (5 in conversation); a dry run moves none" in text.out
    assert "0 before" not in text.out
    assert len(sessions(bases, "a0")) == 5 and sessions(bases, "a1") == {}  # read, not moved


def test_a_steady_state_not_met_refuses_and_changes_nothing(lab, cli):
    path, bases = lab(down=("a2",))
    talk(bases, "a0", 3)
    before = {a: sessions(bases, a) for a in ("a0", "a1")}
    run = cli("failover", "drill", str(path), "--agent", "a0", "--yes")
    assert run.code == 4 and "steady state not met" in run.err and "a2" in run.err and run.err.count("\n") == 1
    assert {a: sessions(bases, a) for a in ("a0", "a1")} == before and ready(bases, "a0")


def test_a_blast_radius_over_the_fleets_cap_refuses(lab, cli):
    path, _ = lab(blast="25%")
    run = cli("failover", "drill", str(path), "--region", "eu", "--yes")
    assert run.code == 4 and "blast radius 50%" in run.err


def test_a_region_drill_moves_sessions_out_of_the_region(lab, cli):
    path, bases = lab(service=("0.05s",) * 4)
    talk(bases, "a0", 4, "x")
    talk(bases, "a1", 3, "y")  # a1 has no backups: the region's recovery site (us) takes its sessions
    time.sleep(0.2)
    out = cli("failover", "drill", str(path), "--region", "eu", "--yes", "--lease", "5", "--format", "json").json()
    assert out["status"] == "passed" and out["target"] == {"region": "eu", "agents": ["a0", "a1"]}
    assert out["sessions"] == {"before": 7, "preserved": 7, "lost": 0, "in_conversation": 0}
    assert set(out["placed"]) <= {"a2", "a3"} and sum(out["placed"].values()) == 7
    assert {o["name"] for o in out["objectives"]} == {"detection", "regional_recovery", "session_preservation"}
    assert ready(bases, "a0") and ready(bases, "a1")


def test_a_simulated_drill_predicts_without_touching_anything(lab, cli):
    path, bases = lab()
    run = cli("failover", "drill", str(path), "--agent", "a0", "--mode", "sim", "--format", "json")
    out = json.loads(run.out)
    assert out["mode"] == "sim" and out["fault"] == "simulated"
    assert out["predicted"]["detection_s"] == pytest.approx(THRESHOLD * INTERVAL + TIMEOUT)
    assert run.code == (0 if out["status"] == "passed" else 1)
    assert all(sessions(bases, a) == {} for a in bases)


def test_markdown_reports_keep_their_lines_and_escape_each_field(lab, cli):
    path, _ = lab()
    drill = cli("failover", "drill", str(path), "--agent", "a0", "--mode", "sim", "-f", "markdown")
    assert drill.code in (0, 1), drill.err
    drill_id = cli("failover", "history", "-f", "json").json()["drills"][0]["drill_id"]
    stored = cli("failover", "report", str(drill_id))  # markdown by default
    for out in (drill.out, stored.out):
        lines = out.splitlines()
        assert "\\n" not in out and len(lines) > 10, out[:300]
        assert lines[0] == "# Failover drill: agent a0" and "## Objectives" in lines and "## Timeline" in lines
    assert stored.code == 0 and stored.out == drill.out


def test_markdown_escapes_what_agents_and_fleet_files_put_in_a_report():
    from clawctl.core.failover.drill import DrillReport, Event
    from clawctl.render.failover_drill import markdown

    report = DrillReport("fleet\x1b[2J", "live", {"agent": "a\nb|c"}, "aborted", "crash")
    report.message = "stopped: a0: HTTP 500 \x1b]0;owned\x07"
    report.timeline = [Event(0.0, "aborted: x\ny|z")]
    out = markdown(report, None)
    assert out.startswith("# Failover drill: agent a\\nb|c\n\n- fleet: `fleet\\x1b[2J`\n")
    assert "stopped: a0: HTTP 500 \\x1b]0;owned\\x07" in out and "| aborted: x\\ny\\|z |" in out
    assert "\x1b" not in out and "\x07" not in out and out.count("\n") > 10


@pytest.mark.parametrize("fmt", ["markdown", "junit", "text"])
def test_report_formats(lab, cli, fmt):
    path, _ = lab()
    run = cli("failover", "drill", str(path), "--agent", "a0", "--mode", "sim", "--format", fmt)
    assert run.code in (0, 1), run.err
    if fmt == "junit":
        root = ET.fromstring(run.out)
        assert [c.get("name") for c in root.iter("testcase")] == ["detection", "agent_recovery",
                                                                  "session_preservation"]
    elif fmt == "markdown":
        assert run.out.startswith("# Failover drill: agent a0") and "| detection |" in run.out
    else:
        assert "session_preservation" in run.out


def test_a_live_drill_without_yes_and_without_a_terminal_refuses(lab, cli):
    path, bases = lab()
    run = cli("failover", "drill", str(path), "--agent", "a0")
    assert run.code == 2 and "--yes" in run.err and ready(bases, "a0")


@pytest.mark.parametrize("args, words", [
    (["--agent", "nobody"], "no such agent"), (["--region", "mars"], "no agent in it"), ([], "--agent ID or --region"),
    (["--agent", "a0", "--region", "eu"], "one of them"), (["--agent", "a0", "--lease", "0"], "--lease"),
])
def test_bad_targets_are_usage_errors(lab, cli, args, words):
    path, _ = lab()
    run = cli("failover", "drill", str(path), *args, "--yes")
    assert run.code == 2 and words in run.err and run.err.count("\n") == 1, run.err


def _spawn(path, *extra):
    return subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "failover", "drill", str(path), "--agent", "a0",
                             "--yes", "--format", "json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ), stdin=subprocess.DEVNULL)


def _until_unready(bases, proc, limit=15.0) -> None:
    deadline = time.monotonic() + limit
    while ready(bases, "a0") and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert not ready(bases, "a0"), "the fault never came"


def test_sigint_mid_drill_restores_the_agent_and_records_an_abort(lab, cli):
    # detection needs 60 failed probes (12 s): the drill is interrupted while it waits
    path, bases = lab(threshold=60)
    proc = _spawn(path, "--fault", "unready", "--lease", "60")
    try:
        _until_unready(bases, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["status"] == "aborted" and doc["interrupted"] is True
    assert ready(bases, "a0")  # the fault was cleared at once, long before its 60 s lease
    assert [e["event"] for e in doc["timeline"]][-1].startswith("restored: a0 ready")


def test_a_drill_killed_with_sigkill_leaves_the_agent_healthy_after_the_lease(lab):
    path, bases = lab(threshold=60)
    proc = _spawn(path, "--fault", "unready", "--lease", "2")
    try:
        _until_unready(bases, proc)
        proc.kill()
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not ready(bases, "a0")
    assert wait_ready(bases, "a0", limit=5.0)  # the lease ran out: the agent reverted by itself


def test_another_agents_errors_past_the_threshold_abort_the_drill_and_restore(lab, cli):
    path, bases = lab(threshold=30)  # detection takes 6 s: time for a3's errors to show
    with httpx.Client(trust_env=False, timeout=5.0) as c:
        r = c.post(f"{bases['a3']}/v1/admin/fault", json={"mode": "error", "error_rate": 1.0, "lease": 30})
        assert r.status_code == 200
        import threading

        stop = threading.Event()

        def load():  # a3 answers every conversation with an error; bounded to 15 s
            deadline = time.monotonic() + 15
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    c.post(f"{bases['a3']}/v1/conversations", json={"customer_id": "e", "channel": "email"})
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)

        t = threading.Thread(target=load, daemon=True)
        t.start()
        try:
            run = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--fault", "unready", "--lease", "30",
                      "--format", "json")
        finally:
            stop.set()
            t.join(10)
    doc = json.loads(run.out)
    assert run.code == 5, run.err
    assert doc["status"] == "aborted" and "a3's error rate" in doc["message"]
    assert ready(bases, "a0")  # restored at once, not at the lease's end


def test_a_gateway_target_is_faulted_by_the_operators_commands_and_only_detection_is_measured(tmp_path, lab, cli):
    # a0 declared as an OpenClaw gateway (the reference agent answers /readyz in OpenClaw's shape); without
    # a token the drill needs --fault-command and --restore-command
    path, bases = lab()
    text = path.read_text().replace("    backups: [a1, a2]\n", "    backups: [a1, a2]\n    endpoint_kind: openclaw\n")
    path.write_text(text)
    refused = cli("failover", "drill", str(path), "--agent", "a0", "--yes")
    assert refused.code == 4 and "--fault-command" in refused.err
    post = (f"{sys.executable} -c \"import httpx,os; httpx.post(os.environ['CLAWCTL_DRILL_ENDPOINT'] + "
            f"'/v1/admin/fault', json={{'mode': '%s', 'lease': 30}}, trust_env=False).raise_for_status()\"")
    run = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--format", "json",
              "--fault-command", post % "unready", "--restore-command", post % "none")
    out = json.loads(run.out)
    assert run.code == 0, (run.err, out)
    objectives = {o["name"]: o for o in out["objectives"]}
    assert objectives["detection"]["met"] is True and objectives["agent_recovery"]["measured"] is None
    assert objectives["session_preservation"]["measured"] is None and any("only detection" in n for n in out["notes"])
    assert [e["event"] for e in out["timeline"]][-1].startswith("restored: a0 ready") and ready(bases, "a0")


def test_a_drill_of_a_real_openclaw_gateway_drains_it_detects_it_and_resumes_it(openclaw_gateway, lab, cli,
                                                                                monkeypatch):
    # a0 is a real OpenClaw gateway (npm's openclaw, tests/openclaw_gateway.py); its backups are reference agents
    path, bases = lab()
    monkeypatch.setenv("CLAWCTL_TEST_GATEWAY_TOKEN", openclaw_gateway.token)
    text = path.read_text().replace(
        f"    endpoint: {bases['a0']}\n",
        f"    endpoint: {openclaw_gateway.base_url}\n    endpoint_kind: openclaw\n"
        "    auth: {token_env: CLAWCTL_TEST_GATEWAY_TOKEN}\n")
    path.write_text(text)
    run = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--format", "json", "--seed", "3")
    out = json.loads(run.out)
    assert run.code == 0, (run.err, out)
    events = [e["event"] for e in out["timeline"]]
    assert any(e.startswith("fault: suspend (admin RPC) on a0") for e in events)
    assert any(e.startswith("detected: a0 draining") for e in events)
    (detection,) = [o for o in out["objectives"] if o["name"] == "detection"]
    low, high = out["detection_range_s"]
    assert low - 0.05 <= detection["measured"] <= high + 0.5 and detection["met"] is True
    assert events[-1].startswith("restored: a0 ready")
    ready = httpx.get(openclaw_gateway.base_url + "/readyz", trust_env=False, timeout=5.0)
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert openclaw_gateway.token not in run.out + run.err


@pytest.fixture
def lab_alone(tmp_path, agent_servers):
    """``lab_alone(**kw) -> (fleet path, {agent: base})``: a0 on a port of its own, as `clawctl lab up` runs
    each agent (a `crash` stops it listening: new connections are refused), a1-a3 behind one server."""

    def start(**kw):
        plain = tmp_path / "serve.yaml"
        plain.write_text(fleet_text(None, **kw))
        agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=1.0))
        alone = agent_servers(AgentServer({"a0": agents.pop("a0")}, tokens={"a0": tokens.pop("a0")}))
        shared = agent_servers(AgentServer(agents, tokens=tokens, many=True))
        bases = {"a0": alone, **{a: f"{shared}/agents/{a}" for a in agents}}
        path = tmp_path / "fleet.yaml"
        path.write_text(fleet_text(bases, **kw))
        return path, bases

    return start


def refused(base: str) -> bool:
    try:
        httpx.get(base + "/healthz", trust_env=False, timeout=1.0)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_a_crashed_agent_is_ready_again_right_after_the_clear_not_at_its_leases_end(lab_alone, cli):
    # detection takes 30 probes (6 s), longer than an idle HTTP connection is usually kept: the clear must
    # still reach the crashed agent, which listens for no new connection until the lease (30 s) ends
    path, bases = lab_alone(threshold=30, service=("0.05s", "1s", "1s", "1s"))
    talk(bases, "a0", 4)
    time.sleep(0.2)
    started = time.monotonic()
    out = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--lease", "30", "-f", "json").json()
    took = time.monotonic() - started
    assert out["status"] == "passed" and out["sessions"]["preserved"] == 4
    events = {e["event"].split(":")[0]: e for e in out["timeline"]}
    assert events["detected"]["offset_s"] > 5  # the fault really lasted past an idle connection's usual life
    assert events["restored"]["event"].startswith("restored: a0 ready")
    assert 0 <= out["restore_s"] < 2 and events["restored"]["offset_s"] < events["restore"]["offset_s"] + 2
    assert took < 20 and ready(bases, "a0")  # long before the 30 s lease ran out


def test_a_target_not_ready_within_the_bound_after_the_clear_fails_the_restore(lab_alone, cli, monkeypatch):
    # a0 crashes, and meanwhile another process takes its port: cleared, a0 cannot listen again, so it is
    # not ready within the restore bound (1 s here): restore_failed, exit 6, long before the 30 s lease
    import threading

    from clawctl.services import failover_live

    monkeypatch.setattr(failover_live, "RESTORE_WAIT_S", 1.0)
    path, bases = lab_alone()
    port = int(bases["a0"].rsplit(":", 1)[1])
    stop, took_port = threading.Event(), threading.Event()

    def squat():  # bind a0's port as soon as the crash frees it; accept nothing, answer nothing
        while not stop.is_set():
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen(8)
            except OSError:
                sock.close()
                time.sleep(0.005)
                continue
            took_port.set()
            stop.wait(60)
            sock.close()

    squatter = threading.Thread(target=squat, daemon=True)
    squatter.start()
    try:
        started = time.monotonic()
        run = cli("failover", "drill", str(path), "--agent", "a0", "--yes", "--lease", "30", "-f", "json")
        took = time.monotonic() - started
    finally:
        stop.set()
        squatter.join(10)
    assert took_port.is_set()
    doc = json.loads(run.out)
    assert run.code == 6, run.err
    assert doc["status"] == "restore_failed" and doc["restore_s"] is None
    assert doc["message"].startswith("restore failed: a0 not ready 1s after the fault was cleared")
    assert took < 20
    assert wait_ready(bases, "a0", limit=5.0)  # the port is free again: a0 listens again by itself
