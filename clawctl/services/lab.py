"""`clawctl lab up|status|down`: a local fleet of reference agents on 127.0.0.1.

`up` starts one `clawctl agent serve` process per fleet agent (in its own session, so it outlives
the shell that started it), waits until each answers `/readyz` with 200, and records pid, the
process's own start time and its endpoint in the store. `down` stops exactly those processes: a pid
whose start time no longer matches belongs to someone else now and is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from clawctl.adapters.prober import Target, probe_once
from clawctl.adapters.store import Store, open_store
from clawctl.core.errors import ClawctlError, ExitCode, UsageError
from clawctl.core.registry import fleet_name

READY_DEADLINE = 30.0
STOP_GRACE = 5.0



def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class LabAgent:
    agent_id: str
    pid: int
    endpoint: str
    state: str = ""  # running | exited | replaced (pid now belongs to another process)
    started_at: str = ""
    detail: str = ""
    fleet: str = ""


@dataclass
class LabResult:
    fleet: str
    agents: list[LabAgent] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    log_dir: str = ""


def _fleet_id(store: Store, name: str) -> int:
    with store.write():
        return store.fleet_id(name, _now())


def _alive(pid: int, proc_start: str) -> str:
    """running, exited, or replaced (the pid was reused by another process)."""
    try:
        proc = psutil.Process(pid)
        if f"{proc.create_time():.3f}" != proc_start:
            return "replaced"
        if proc.status() == psutil.STATUS_ZOMBIE:
            return "exited"
        return "running"
    except psutil.NoSuchProcess:
        return "exited"
    except psutil.AccessDenied:
        return "running"


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_for(endpoint: str | None) -> int:
    """The fleet's port when its endpoint is on loopback (so the lab matches the file), else any free one."""
    if not endpoint:
        return 0
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.scheme == "http" and _is_loopback(host) and parts.port and not parts.path.strip("/"):
        return parts.port
    return 0


def _running(store: Store, fleet_id: int | None) -> list[tuple]:
    sql = ("SELECT l.id, l.agent_id, l.pid, l.proc_start, l.endpoint, l.started_at, f.name FROM lab_processes l "
           "JOIN fleets f ON f.id = l.fleet_id WHERE l.stopped_at IS NULL")
    params: list = []
    if fleet_id is not None:
        sql += " AND l.fleet_id = ?"
        params.append(fleet_id)
    return store.db.execute(sql + " ORDER BY l.id", params).fetchall()


def up(path: str, db: Path | None = None, *, time_scale: float = 1.0, seed: int | None = None) -> LabResult:
    from clawctl.services.agent_serve import load_fleet

    fleet = load_fleet(path)
    name = fleet_name(fleet)
    for agent in fleet.agents.values():
        if agent.auth is not None and not os.environ.get(agent.auth.token_env):
            raise UsageError(f"agent {agent.id}: its token variable {agent.auth.token_env} is not set")
    with open_store(db) as store:
        fleet_id = _fleet_id(store, name)
        result = LabResult(name)
        rows = _running(store, fleet_id)
        running = {row[1]: row for row in rows if _alive(row[2], row[3]) == "running"}
        stale = [row[0] for row in rows if running.get(row[1]) is not row]
        if stale:  # agents that died since: close their records, or status would list them (exit 4) forever
            with store.write():
                for row_id in stale:
                    store.db.execute("UPDATE lab_processes SET stopped_at = ? WHERE id = ?", [_now(), row_id])
        log_dir = store.path.parent / "lab" / name
        log_dir.mkdir(parents=True, exist_ok=True)
        result.log_dir = str(log_dir)
        spawned: dict[str, tuple[subprocess.Popen, Path]] = {}
        try:
            for i, agent in enumerate(fleet.agents.values()):
                if agent.id in running:
                    result.kept.append(agent.id)
                    continue
                ready = log_dir / f"{agent.id}.ready.json"
                ready.unlink(missing_ok=True)
                cmd = [sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--id", agent.id, "--fleet",
                       str(Path(path).resolve()), "--port", str(_port_for(agent.endpoint)), "--ready-file", str(ready),
                       "--time-scale", repr(time_scale)]
                if seed is not None:
                    cmd += ["--seed", str(seed + i)]
                with open(log_dir / f"{agent.id}.log", "ab") as log:
                    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True, close_fds=True)
                spawned[agent.id] = (proc, ready)
            endpoints = _wait_ready(spawned, log_dir)
            with store.write():
                for agent_id, (proc, _) in spawned.items():
                    started = f"{psutil.Process(proc.pid).create_time():.3f}"
                    store.db.execute(
                        "INSERT INTO lab_processes (fleet_id, agent_id, pid, started_at, proc_start, endpoint) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [fleet_id, agent_id, proc.pid, _now(), started, endpoints[agent_id]])
                    result.started.append(agent_id)
        except BaseException:
            for proc, _ in spawned.values():
                _stop_process(proc.pid, None)
            raise
        result.agents = _describe(store, fleet_id)
    _write_endpoints(Path(result.log_dir) / "endpoints.json", result)
    return result


def _write_endpoints(path: Path, result: LabResult) -> None:
    """`{agent id: endpoint}` beside the logs, for tools that do not read the store."""
    import json

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({a.agent_id: a.endpoint for a in result.agents}, indent=2) + "\n")
    os.replace(tmp, path)


def _wait_ready(spawned: dict[str, tuple[subprocess.Popen, Path]], log_dir: Path) -> dict[str, str]:
    """Wait for every ready file, then for `/readyz` 200 from every agent; fail with the first reason."""
    import json

    deadline = time.monotonic() + READY_DEADLINE
    endpoints: dict[str, str] = {}
    while len(endpoints) < len(spawned):
        for agent_id, (proc, ready) in spawned.items():
            if agent_id in endpoints:
                continue
            if ready.exists():
                endpoints[agent_id] = json.loads(ready.read_text())["endpoint"]
            elif proc.poll() is not None:
                tail = _tail(log_dir / f"{agent_id}.log")
                raise ClawctlError(f"agent {agent_id} exited with code {proc.returncode} while starting: {tail}",
                                   exit_code=ExitCode.UNREACHABLE)
        if time.monotonic() > deadline:
            missing = sorted(set(spawned) - set(endpoints))
            raise ClawctlError(f"agents did not start within {READY_DEADLINE:g}s: {', '.join(missing)}",
                               exit_code=ExitCode.UNREACHABLE)
        if len(endpoints) < len(spawned):
            time.sleep(0.05)
    pending = dict(endpoints)
    while pending:
        results = probe_once([Target(a, e, metrics=False) for a, e in pending.items()], timeout=1.0)
        for r in results:
            if r.verdict.state == "ready":
                pending.pop(r.agent_id, None)
        if pending and time.monotonic() > deadline:
            raise ClawctlError(f"agents not ready within {READY_DEADLINE:g}s: {', '.join(sorted(pending))}",
                               exit_code=ExitCode.UNREACHABLE)
        if pending:
            time.sleep(0.1)
    return endpoints


def _tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def _stop_process(pid: int, proc_start: str | None) -> str:
    """SIGTERM, then SIGKILL after a grace period. Only the process we started (same start time)."""
    try:
        proc = psutil.Process(pid)
        if proc_start is not None and f"{proc.create_time():.3f}" != proc_start:
            return "replaced"
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_GRACE)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_GRACE)
        return "stopped"
    except psutil.NoSuchProcess:
        return "exited"


def _stop_all(rows: list[tuple]) -> dict[int, str]:
    """`_stop_process` for many at once: SIGTERM them all, then one grace period for all, not one each.

    A process counts as gone once it has exited (a zombie too: its reaper is not us, and may be slow).
    """
    outcomes: dict[int, str] = {}
    signalled: dict[int, psutil.Process] = {}
    for row_id, pid, proc_start in rows:
        try:
            proc = psutil.Process(pid)
            if f"{proc.create_time():.3f}" != proc_start:
                outcomes[row_id] = "replaced"
            elif proc.status() == psutil.STATUS_ZOMBIE:
                outcomes[row_id] = "exited"
            else:
                proc.send_signal(signal.SIGTERM)
                signalled[row_id] = proc
        except psutil.NoSuchProcess:
            outcomes[row_id] = "exited"
    for sig in (None, signal.SIGKILL):
        alive = [p for p in signalled.values() if not _gone(p)]
        if sig is not None:
            for proc in alive:
                try:
                    proc.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
        deadline = time.monotonic() + STOP_GRACE
        while alive and time.monotonic() < deadline:
            time.sleep(0.02)
            alive = [p for p in alive if not _gone(p)]
        if not alive:
            break
    outcomes.update({row_id: "stopped" for row_id in signalled})
    return outcomes


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _describe(store: Store, fleet_id: int | None) -> list[LabAgent]:
    return [LabAgent(row[1], row[2], row[4], _alive(row[2], row[3]), row[5], fleet=row[6])
            for row in _running(store, fleet_id)]


def _fleet_filter(store: Store, fleet: str | None) -> int | None:
    if fleet is None:
        return None
    row = store.db.execute("SELECT id FROM fleets WHERE name = ?", [fleet]).fetchone()
    if row is None:
        raise UsageError(f"no fleet `{fleet}` in the store")
    return row[0]


def status(db: Path | None = None, fleet: str | None = None) -> LabResult:
    with open_store(db) as store:
        fleet_id = _fleet_filter(store, fleet)
        result = LabResult(fleet or "")
        result.agents = _describe(store, fleet_id)
    alive = [a for a in result.agents if a.state == "running"]
    if alive:
        probes = {r.agent_id: r for r in probe_once([Target(a.agent_id, a.endpoint, metrics=False) for a in alive])}
        for a in alive:
            verdict = probes[a.agent_id].verdict
            a.state = verdict.state if verdict.state != "ready" else "running"
            a.detail = verdict.detail
    return result


def down(db: Path | None = None, fleet: str | None = None) -> LabResult:
    with open_store(db) as store:
        fleet_id = _fleet_filter(store, fleet)
        result = LabResult(fleet or "")
        rows = _running(store, fleet_id)
        outcomes = _stop_all([(row[0], row[2], row[3]) for row in rows])
        with store.write():
            for row in rows:
                store.db.execute("UPDATE lab_processes SET stopped_at = ? WHERE id = ?", [_now(), row[0]])
                (result.stopped if outcomes[row[0]] == "stopped" else result.gone).append(row[1])
    return result


