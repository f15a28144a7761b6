"""`clawctl top` against real reference agents on 127.0.0.1: the frames, thresholds with hysteresis,
exit codes, recording with retention, replay and CSV export."""

from __future__ import annotations

import csv
import io
import json
import math
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.services.agent_serve import ServeOptions, build

SCALE = 0.05


class SteadyServer(AgentServer):
    """The reference server with steady CPU and memory figures: in-process agents would otherwise report
    the test process's own CPU, which may well be over 80% while the tests run."""

    def _process_figures(self, now: float) -> tuple[float, float]:
        return 5.0, 10.0


def fleet_text(bases: dict[str, str] | None, *, interval="0.25s", breach_after=2, thresholds="") -> str:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata: {name: top-tests}",
             f"monitoring: {{interval: {interval}, breach_after: {breach_after}"
             + (f", thresholds: {{{thresholds}}}" if thresholds else "") + "}", "agents:"]
    for i, (region, domain) in enumerate([("eu", "sales"), ("eu", "support"), ("us", "sales"), ("us", "billing")]):
        name = f"a{i}"
        lines += [f"  {name}:", f"    region: {region}", f"    domain: {domain}",
                  "    max_concurrent_conversations: 50", "    service_time: {distribution: deterministic, mean: 1s}"]
        if i == 1:
            lines.append("    backups: [a0]")
        if bases and name in bases:
            lines.append(f"    endpoint: {bases[name]}/agents/{name}")
    return "\n".join(lines) + "\n"


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def lab(tmp_path, agent_servers):
    """``lab(down=(), **fleet_kw) -> (fleet path, {agent: base URL})``: agents a0-a3 on one server; those
    in ``down`` point at a port nobody listens on."""

    def start(down: tuple[str, ...] = (), **kw) -> tuple[Path, dict[str, str]]:
        plain = tmp_path / "serve.yaml"
        plain.write_text(fleet_text(None, **kw))
        agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=SCALE))
        base = agent_servers(SteadyServer(agents, tokens=tokens, many=True))
        bases = {a: (f"http://127.0.0.1:{free_port()}" if a in down else base) for a in agents}
        path = tmp_path / "fleet.yaml"
        path.write_text(fleet_text(bases, **kw))
        return path, bases

    return start


def frames(run) -> list[dict]:
    return [json.loads(line) for line in run.out.splitlines() if line.strip()]


def row(frame: dict, agent: str) -> dict:
    return next(a for a in frame["agents"] if a["id"] == agent)


class Load:
    """Conversations sent to some agents from a thread until stopped (bounded: 30 s at most)."""

    def __init__(self, bases: dict[str, str], agents: list[str]) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(bases, agents), daemon=True)

    def _run(self, bases, agents) -> None:
        deadline = time.monotonic() + 30
        n = 0
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                for a in agents:
                    try:
                        client.post(f"{bases[a]}/agents/{a}/v1/conversations", json={"customer_id": f"load{n}"})
                    except httpx.HTTPError:
                        pass
                    n += 1
                time.sleep(0.005)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


def fault(bases, agent: str, **body) -> None:
    r = httpx.post(f"{bases[agent]}/agents/{agent}/v1/admin/fault", json={"lease": 60, **body}, trust_env=False)
    assert r.status_code == 200, r.text


def test_once_all_ready_exits_0_with_the_spec_shape(lab, cli):
    path, _ = lab()
    run = cli("top", str(path), "--once", "--format", "json")
    out = json.loads(run.out)
    assert run.code == 0, [(a["id"], a["state"], a["breaches"], a["detail"]) for a in out["agents"]]
    assert out["schema_version"] == 1 and out["fleet"] == "top-tests" and out["at"].endswith("Z")
    assert out["cycle"] == 3  # breach_after 2, plus the baseline cycle for rates
    a0 = row(out, "a0")
    for key in ("id", "state", "response_time_ms", "cpu", "memory", "active_conversations", "error_rate", "age_s",
                "breaches"):
        assert key in a0
    assert a0["state"] == "ready" and a0["capacity"] == 50 and a0["stale"] is False and a0["breaches"] == []
    assert out["rollups"]["region"]["eu"]["agents"] == 2 and out["rollups"]["domain"]["sales"]["agents"] == 2


def test_a_down_agent_shows_no_figures_and_exits_4(lab, cli):
    path, _ = lab(down=("a3",))
    run = cli("top", str(path), "--once", "--format", "json", "--timeout", "0.5")
    assert run.code == 4, run.err
    a3 = row(json.loads(run.out), "a3")
    assert a3["state"] == "down" and a3["stale"] is True and a3["age_s"] is None
    assert all(a3[k] is None for k in ("cpu", "memory", "response_time_ms", "error_rate", "active_conversations"))


def test_a_breach_comes_after_breach_after_cycles_with_its_action_and_exits_1(lab, cli):
    path, _ = lab(thresholds="memory: 0", breach_after=3)  # every agent's memory is over 0%
    run = cli("top", str(path), "--count", "4", "--format", "jsonl", "--no-record")
    assert run.code == 0, run.err
    got = [[len(row(f, "a0")["breaches"]) for f in frames(run)]]
    assert got == [[0, 0, 1, 1]]  # the third consecutive sample over makes it a breach
    (b,) = row(frames(run)[3], "a0")["breaches"]
    assert b["metric"] == "memory" and b["threshold"] == 0 and b["action"] == "increase_cache_eviction"
    assert b["value"] > 0 and 0.1 < b["held_s"] < 2
    once = cli("top", str(path), "--once", "--no-record")
    assert once.code == 1 and "increase_cache_eviction" in once.out


def test_slow_erroring_and_killed_agents_breach_and_clear(lab, tmp_path):
    import asyncio

    from clawctl.services.top import TopOptions, TopRun

    path, bases = lab(down=("a3",), thresholds="response_time: 40ms, error_rate: 20", breach_after=2)
    fault(bases, "a1", mode="slow", latency=0.08)  # every answer 80 ms late: p95 over 40 ms
    fault(bases, "a2", mode="error", error_rate=1.0)

    async def cycles(run, n):
        out = []
        for _ in range(n):
            out.append((await run.cycle()).as_dict())
            await asyncio.sleep(0.25)
        return out

    async def main():
        async with TopRun(str(path), TopOptions(record=False, timeout=1.0)) as run:
            faulty = await cycles(run, 6)
            fault(bases, "a1", mode="none")
            fault(bases, "a2", mode="none")
            return faulty, await cycles(run, 7)

    with Load(bases, ["a1", "a2"]):
        faulty, healed = asyncio.run(main())
    for agent, metric in (("a1", "response_time"), ("a2", "error_rate")):
        seen = [[b["metric"] for b in row(f, agent)["breaches"]] for f in faulty]
        # cycle 1 has no deltas: the earliest a breach can be active is cycle 3 (the second sample over);
        # an interval in which the load sent the agent nothing has no figure and delays it by a cycle
        first = seen.index([metric])
        assert first >= 2 and all(s == [metric] for s in seen[first:]), (agent, seen)
        cleared = [[b["metric"] for b in row(f, agent)["breaches"]] for f in healed]
        # the first healed interval may still hold slow answers; then two samples under clear it
        gone = cleared.index([])
        assert 1 <= gone <= 4 and all(c == [] for c in cleared[gone:]), (agent, cleared)
    assert all(row(f, "a0")["breaches"] == [] for f in faulty + healed)
    assert all(row(f, "a3")["state"] == "down" and row(f, "a3")["cpu"] is None for f in faulty + healed)
    a2 = row(faulty[-1], "a2")
    assert a2["error_rate"] == 100.0 and a2["breaches"][0]["action"] == "drain_and_investigate"
    assert row(faulty[-1], "a1")["breaches"][0]["action"] == "increase_worker_processes"
    assert row(faulty[-1], "a1")["response_time_ms"] > 40 and row(healed[-1], "a1")["response_time_ms"] < 40


def test_recording_replays_to_the_same_frames_and_exports_csv(lab, cli):
    path, _ = lab(thresholds="memory: 0")
    live = cli("top", str(path), "--count", "4", "--format", "jsonl")
    assert live.code == 0, live.err
    fs = frames(live)
    run_id = fs[0]["run_id"]
    assert isinstance(run_id, int) and all(f["run_id"] == run_id for f in fs)
    history = cli("history", "--kind", "metrics", "--format", "json").json()
    assert any(r["id"] == run_id and r["status"] == "completed" for r in history["runs"])
    replay = frames(cli("top", "--replay", str(run_id), "--speed", "0", "--format", "jsonl"))
    assert len(replay) == 4
    for a, b in zip(fs, replay):
        assert b["source"] == "replay" and b["at"] == a["at"]
        assert b["agents"] == a["agents"]  # the same figures, states and breaches, cycle by cycle
    out = cli("top", "--export", "csv", str(run_id))
    assert out.code == 0, out.err
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert len(rows) == 4 * 4 and rows[0]["agent"] == "a0" and float(rows[-1]["memory"]) > 0


def test_live_frames_are_timed_as_recorded_so_replayed_breach_ages_agree(lab, tmp_path):
    """The store keeps milliseconds. A live frame timed to the microsecond said a breach had held 0.2 s
    (0.2496) where its replay said 0.3 s (0.250 after truncation): live frames now take the time they record."""
    import asyncio
    import itertools

    from clawctl.services.top import TopOptions, TopRun, replay_frames

    path, _ = lab(thresholds="memory: 0")
    db = tmp_path / "edge.db"
    ticks = itertools.count()

    async def main():
        async with TopRun(str(path), TopOptions(record=True, timeout=1.0), db) as run:
            base = math.floor(run.now()) + 0.0009
            run.now = lambda: base + 0.2496 * next(ticks)
            return [await run.cycle() for _ in range(6)], run.run_id

    live, run_id = asyncio.run(main())
    replay = [f for _, f in replay_frames(db, run_id)]
    assert [f.at for f in live] == [f.at for f in replay]
    assert [f.as_dict()["agents"] for f in live] == [f.as_dict()["agents"] for f in replay]
    assert any(b["held_s"] > 0 for a in live[-1].as_dict()["agents"] for b in a["breaches"])


def test_retention_by_samples_prunes_as_it_records(lab, cli):
    path, _ = lab()
    run = cli("top", str(path), "--count", "3", "--format", "jsonl", "--retention", "6")
    assert run.code == 0, run.err
    csv_rows = cli("top", "--export", "csv", str(frames(run)[0]["run_id"])).out.strip().splitlines()
    assert len(csv_rows) == 1 + 6  # header, and the newest 6 of 12 samples
    assert {r.split(",")[0] for r in csv_rows[1:]} == {f["at"] for f in frames(run)[1:]}


@pytest.mark.parametrize("args, words", [
    (["--interval", "soon"], "--interval"),
    (["--interval", "0"], "--interval"),
    (["--retention", "later"], "--retention"),
    (["--once", "--count", "2"], "--once and --count"),
    (["--count", "0"], "--count"),
])
def test_bad_flags_are_one_usage_error(lab, cli, args, words):
    path, _ = lab()
    run = cli("top", str(path), *args)
    assert run.code == 2 and words in run.err and run.err.count("\n") == 1, run.err


def test_a_negative_replay_speed_is_a_usage_error(lab, cli):
    path, _ = lab()
    run_id = cli("top", str(path), "--count", "1", "--format", "json").json()["run_id"]
    run = cli("top", "--replay", str(run_id), "--speed", "-1")
    assert run.code == 2 and "--speed" in run.err and run.err.count("\n") == 1


def test_replay_and_export_of_an_unknown_run_are_one_line(lab, cli):
    path, _ = lab()
    cli("top", str(path), "--count", "1", "--format", "json")
    for args in (["--replay", "999"], ["--export", "csv", "999"]):
        run = cli("top", *args)
        assert run.code == 3 and "999" in run.err and run.err.count("\n") == 1, run.err
    bad = cli("top", "--export", "csv", "latest")
    assert bad.code == 2 and "run id" in bad.err


def test_no_endpoints_is_a_usage_error(tmp_path, cli):
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(None))
    run = cli("top", str(path), "--once")
    assert run.code == 2 and "no agent has an endpoint" in run.err


def test_ctrl_c_exits_130_and_the_recording_is_closed_as_interrupted(lab, cli, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    path, _ = lab()
    db = tmp_path / "sub.db"
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "--db", str(db), "top", str(path),
                             "--format", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ), stdin=subprocess.DEVNULL)
    try:
        first = proc.stdout.readline()  # a cycle came: it is recording
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run_id = json.loads(first)["run_id"]
    history = cli("--db", str(db), "history", "--kind", "metrics", "--format", "json").json()
    (run,) = [r for r in history["runs"] if r["id"] == run_id]
    assert run["status"] == "interrupted" and run["finished_at"] and run["summary"]["cycles"] >= 1


def test_probe_and_top_json_give_counts_as_ints(lab, cli):
    """Conversations and slots are counts: `50`, never `50.0` (the gauges arrive as floats)."""
    path, _ = lab()
    top = cli("top", str(path), "--once", "--format", "json", "--no-record")
    assert top.code == 0, top.err
    out = json.loads(top.out)
    a0 = row(out, "a0")
    assert type(a0["capacity"]) is int and type(a0["active_conversations"]) is int and a0["capacity"] == 50
    eu = out["rollups"]["region"]["eu"]
    assert type(eu["capacity"]) is int and type(eu["active_conversations"]) is int and eu["capacity"] == 100
    assert '"capacity": 50,' in top.out and ".0," not in top.out.split('"capacity"')[1][:8]
    probe = cli("probe", str(path), "--format", "json")
    assert probe.code == 0, probe.err
    for agent in json.loads(probe.out)["agents"]:
        assert type(agent["max_conversations"]) is int and type(agent["active_conversations"]) is int, agent
    assert '"max_conversations": 50,' in probe.out


def test_csv_export_rounds_milliseconds_to_3_decimals_and_shares_to_6(cli):
    from clawctl.adapters.store import open_store

    ugly = {"seconds": 0.5063111782073975, "active": 3.0, "capacity": 50.0, "cpu": 12.345678912, "memory": 0.1,
            "requests_per_s": 7.000000000000001, "error_rate": 33.33333333333333, "response_time_ms": 4.749999999999999,
            "p50_ms": 1.23456789, "p95_ms": None, "restarted": False, "detail": ""}
    with open_store(cli.db) as store, store.write():
        run_id = store.record_run("metrics", None, "2026-01-05T09:30:00.000Z", None, "completed", {})
        store.add_samples(run_id, [("2026-01-05T09:30:00.000Z", "a0", "ready", ugly)])
    out = cli("top", "--export", "csv", str(run_id))
    assert out.code == 0, out.err
    (got,) = list(csv.DictReader(io.StringIO(out.out)))
    assert {k: got[k] for k in ("seconds", "active", "capacity", "cpu", "memory", "requests_per_s", "error_rate",
                                "response_time_ms", "p50_ms", "p95_ms", "restarted")} == {
        "seconds": "0.506311", "active": "3", "capacity": "50", "cpu": "12.345679", "memory": "0.1",
        "requests_per_s": "7.0", "error_rate": "33.333333", "response_time_ms": "4.75", "p50_ms": "1.235",
        "p95_ms": "", "restarted": "False"}


def test_prometheus_without_a_fleet_file_says_what_the_fleet_file_gives(cli):
    run = cli("top", "--prometheus", "http://127.0.0.1:9")
    assert run.code == 2 and run.out == "" and run.err.count("\n") == 1, run.err
    assert "--prometheus needs the fleet file" in run.err and "thresholds" in run.err
    assert "clawctl top FLEET --prometheus URL" in run.err
