"""`clawctl lab up|status|down`: a local fleet of reference agents on 127.0.0.1.

`up` starts one `clawctl agent serve` process per fleet agent (in its own session, so it outlives
the shell that started it), waits until each answers `/readyz` with 200, and records pid, the
process's own start time and its endpoint in the store. `down` stops exactly those processes: a pid
whose start time no longer matches belongs to someone else now and is left alone. Each fleet's lab
folder (``<store folder>/lab/<fleet>/``) holds the agents' logs, their ready files and
``endpoints.json``; `down` removes the ready files and ``endpoints.json`` (nothing reads them once the
agents are stopped) and keeps the logs.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from clawctl.adapters.clock import utc_now
from clawctl.adapters.prober import Target, probe_once
from clawctl.adapters.processes import (
    ProcessRef,
    Started,
    deferred_signals,
    signals_interrupt,
    spawn,
    state,
    stop_all,
)
from clawctl.adapters.store import LabProcess, Store, open_store
from clawctl.core.agent_records import fleet_name, safe_path_component
from clawctl.core.env import Clock, iso_now
from clawctl.core.errors import ClawctlError, ExitCode, UsageError
from clawctl.services.validate import load_fleet

READY_DEADLINE = 30.0
MAX_TIME_SCALE = 1000.0  # a 90 s conversation may last at most 25 h


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
    view: ClassVar[str] = "lab"

    fleet: str
    verb: str = "status"  # up | status | down: what the text view says
    agents: list[LabAgent] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    log_dir: str = ""

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet or None, "log_dir": self.log_dir or None,
                "agents": [{"id": a.agent_id, "fleet": a.fleet, "pid": a.pid, "endpoint": a.endpoint,
                            "state": a.state, "started_at": a.started_at, "detail": a.detail} for a in self.agents],
                "started": self.started, "kept": self.kept, "stopped": self.stopped, "gone": self.gone}


def _ref(row: LabProcess) -> ProcessRef:
    return ProcessRef(row.pid, row.proc_start)


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


def up(path: str, db: Path | None = None, *, time_scale: float = 1.0, seed: int | None = None,
       clock: Clock = utc_now) -> LabResult:
    if not (math.isfinite(time_scale) and 0 < time_scale <= MAX_TIME_SCALE):
        raise UsageError(f"--time-scale must be above 0 and at most {MAX_TIME_SCALE:g}")
    fleet = load_fleet(path)
    name = fleet_name(fleet)
    for agent in fleet.agents.values():
        if agent.auth is not None and not os.environ.get(agent.auth.token_env):
            raise UsageError(f"agent {agent.id}: its token variable {agent.auth.token_env} is not set")
    with open_store(db) as store, signals_interrupt():  # SIGTERM mid-start: stop what was started, then exit
        with store.write():
            fleet_id = store.fleet_id(name, iso_now(clock))
        result = LabResult(name, verb="up")
        rows = store.lab_processes(fleet_id)
        unfinished = {row.id: _ref(row) for row in rows if not row.endpoint}
        if unfinished:  # an earlier `lab up` was killed before its agents were ready: stop them
            stop_all(unfinished)
        running = {row.agent_id: row for row in rows if row.endpoint and state(_ref(row)) == "running"}
        stale = [row.id for row in rows if running.get(row.agent_id) is not row]
        if stale:  # agents that died since: close their records, or status would list them (exit 4) forever
            with store.write():
                store.close_lab_processes(stale, iso_now(clock))
        log_dir = _lab_dir(store, name)
        log_dir.mkdir(parents=True, exist_ok=True)
        result.log_dir = str(log_dir)
        spawned: dict[str, tuple[Started, Path]] = {}
        rows_of: dict[str, int] = {}
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
                with deferred_signals():  # started and recorded in one step: an interrupt comes after both
                    started = spawned[agent.id] = (spawn(cmd, log_dir / f"{agent.id}.log"), ready)
                    with store.write():  # recorded at once (no endpoint yet): `lab down` finds it after a SIGKILL
                        rows_of[agent.id] = store.add_lab_process(fleet_id, agent.id, started[0].ref.pid,
                                                                  started[0].ref.start, "", iso_now(clock))
            endpoints = _wait_ready(spawned, log_dir)
            with store.write():
                for agent_id in spawned:
                    store.set_lab_endpoint(rows_of[agent_id], endpoints[agent_id])
                    result.started.append(agent_id)
        except BaseException:
            stop_all({agent_id: proc.ref for agent_id, (proc, _) in spawned.items()})
            try:
                with store.write():
                    store.close_lab_processes(rows_of.values(), iso_now(clock))
            except Exception:  # noqa: BLE001 - the first error is the one to report; `lab up` closes them later
                pass
            raise
        result.agents = _describe(store, fleet_id)
    _write_endpoints(Path(result.log_dir) / "endpoints.json", result)
    return result


def _lab_dir(store: Store, fleet: str) -> Path:
    """A fleet's lab folder: ``<store folder>/lab/<fleet>``, never `../..` or an absolute path."""
    return store.path.parent / "lab" / safe_path_component(fleet)


def _one_fleet(result: LabResult, store: Store, asked: str | None, recorded: set[str]) -> None:
    """``result.fleet`` and ``result.log_dir`` from the lab's records: the fleet asked for, or the one
    fleet the records hold (several fleets: neither; each agent names its own)."""
    names = {asked} if asked else {name for name in recorded if name}
    if len(names) == 1:
        result.fleet = names.pop()
        result.log_dir = str(_lab_dir(store, result.fleet))


def _write_endpoints(path: Path, result: LabResult) -> None:
    """`{agent id: endpoint}` beside the logs, for tools that do not read the store."""
    import json

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({a.agent_id: a.endpoint for a in result.agents}, indent=2) + "\n")
    os.replace(tmp, path)


def _wait_ready(spawned: dict[str, tuple[Started, Path]], log_dir: Path) -> dict[str, str]:
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
            elif (code := proc.exit_code()) is not None:
                tail = _tail(log_dir / f"{agent_id}.log")
                raise ClawctlError(f"agent {agent_id} exited with code {code} while starting: {tail}",
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


def _describe(store: Store, fleet_id: int | None) -> list[LabAgent]:
    out = []
    for row in store.lab_processes(fleet_id):
        now = state(_ref(row))
        agent = LabAgent(row.agent_id, row.pid, row.endpoint, now, row.started_at, fleet=row.fleet)
        if now == "running" and not row.endpoint:
            agent.state, agent.detail = "starting", "not ready yet, or its `lab up` was interrupted"
        out.append(agent)
    return out


def _fleet_filter(store: Store, fleet: str | None) -> int | None:
    if fleet is None:
        return None
    found = store.find_fleet(fleet)
    if found is None:
        raise UsageError(f"no fleet `{fleet}` in the store")
    return found


def status(db: Path | None = None, fleet: str | None = None) -> LabResult:
    with open_store(db) as store:
        fleet_id = _fleet_filter(store, fleet)
        result = LabResult(fleet or "", verb="status")
        result.agents = _describe(store, fleet_id)
        _one_fleet(result, store, fleet, {a.fleet for a in result.agents})
    alive = [a for a in result.agents if a.state == "running"]
    if alive:
        probes = {r.agent_id: r for r in probe_once([Target(a.agent_id, a.endpoint, metrics=False) for a in alive])}
        for a in alive:
            verdict = probes[a.agent_id].verdict
            a.state = verdict.state if verdict.state != "ready" else "running"
            a.detail = verdict.detail
    return result


def down(db: Path | None = None, fleet: str | None = None, *, clock: Clock = utc_now) -> LabResult:
    with open_store(db) as store:
        fleet_id = _fleet_filter(store, fleet)
        result = LabResult(fleet or "", verb="down")
        rows = store.lab_processes(fleet_id)
        outcomes = stop_all({row.id: _ref(row) for row in rows})
        with store.write():
            store.close_lab_processes([row.id for row in rows], iso_now(clock))
        for row in rows:
            (result.stopped if outcomes[row.id] == "stopped" else result.gone).append(row.agent_id)
        _one_fleet(result, store, fleet, {row.fleet for row in rows})
        _tidy(store, rows)
    return result


def _tidy(store: Store, rows: list[LabProcess]) -> None:
    """After `down`: each stopped agent's ready file and its fleet's `endpoints.json`, unless an agent of
    that fleet is still recorded (nothing reads them once the agents are gone); the logs stay."""
    still = {row.fleet for row in store.lab_processes()}
    stale = [_lab_dir(store, row.fleet) / f"{row.agent_id}.ready.json" for row in rows]
    stale += [_lab_dir(store, name) / "endpoints.json" for name in {row.fleet for row in rows} - still]
    for path in stale:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a file we cannot remove is left, as before; the agents are stopped all the same
            pass
