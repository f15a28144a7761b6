"""`clawctl probe FLEET`: every agent's state, once. Endpoints come from the fleet file, or from the
local lab (`clawctl lab up`) for agents the file gives none."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from clawctl.adapters.clock import utc_now
from clawctl.adapters.prober import ProbeResult, Target, probe_once
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso
from clawctl.core.errors import ExitCode, UsageError
from clawctl.core.fleet import Fleet
from clawctl.core.top.frame import count
from clawctl.services.validate import load_fleet

MAX_TIMEOUT = 600.0  # seconds per agent: ten minutes is already far past any readiness probe
MAX_CONCURRENCY = 10_000  # agents probed at once; each holds up to two connections


def check_number(flag: str, value: float, *, low: float, high: float, low_open: bool = True) -> None:
    """Refuse NaN, infinities and values outside (low, high] (or [low, high]) with a usage error naming the flag."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    finite = number and (isinstance(value, int) or math.isfinite(value))  # an int may be past any float
    if not finite or not (value > low if low_open else value >= low) or value > high:
        bounds = f"above {low:g}" if low_open else f"at least {low:g}"
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise UsageError(f"{flag} must be a finite number {bounds} and at most {high:g} (got {shown})")


@dataclass
class ProbeReport:
    view: ClassVar[str] = "probe"

    fleet: str
    at: datetime
    results: list[ProbeResult]
    notes: dict[str, str] = field(default_factory=dict)  # agent id -> why it was not probed as asked
    sources: dict[str, str] = field(default_factory=dict)  # agent id -> "fleet" | "lab"

    def summary(self) -> dict[str, int]:
        return dict(Counter(r.verdict.state for r in self.results))

    @property
    def exit_code(self) -> ExitCode:
        states = {r.verdict.state for r in self.results}
        if "down" in states:
            return ExitCode.UNREACHABLE
        if states - {"ready"}:
            return ExitCode.FINDINGS
        return ExitCode.OK

    def as_dict(self) -> dict:
        agents = []
        for r in self.results:
            m = r.metrics
            agents.append({
                "id": r.agent_id,
                "state": r.verdict.state,
                "detail": r.verdict.detail or self.notes.get(r.agent_id, ""),
                "failing": r.verdict.failing,
                "endpoint_source": self.sources.get(r.agent_id),
                "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 2),
                "active_conversations": count(m.active_conversations) if m else None,  # gauges: 6.0 -> 6
                "max_conversations": count(m.max_conversations) if m else None,
                "response_time_ms": None if not m or m.response_time_ms is None else round(m.response_time_ms, 2),
                "error_rate": None if not m or m.error_rate is None else round(m.error_rate, 3),
                "cpu": m.cpu if m else None,
                "memory": m.memory if m else None,
                "metrics_error": r.metrics_error,
            })
        skipped = [{"id": a, "reason": why} for a, why in self.notes.items()
                   if a not in {r.agent_id for r in self.results}]
        return {"schema_version": 1, "fleet": self.fleet, "at": iso(self.at), "agents": agents,
                "skipped": skipped, "summary": self.summary()}


def lab_endpoints(db: Path | None, fleet: Fleet) -> dict[str, str]:
    """Endpoints of the fleet's agents running in the local lab (none when the store has no lab)."""
    from clawctl.adapters.store import default_path, open_store

    path = Path(db) if db is not None else default_path()
    if not path.exists():
        return {}
    with open_store(path) as store:
        return {p.agent_id: p.endpoint for p in store.lab_processes(fleet=fleet_name(fleet)) if p.endpoint}


def targets_for(fleet: Fleet, lab: dict[str, str]) -> tuple[list[Target], dict[str, str], dict[str, str]]:
    targets, notes, sources = [], {}, {}
    for agent in fleet.agents.values():
        endpoint = agent.endpoint or lab.get(agent.id)  # the fleet file first; the lab fills the gaps
        if not endpoint:
            notes[agent.id] = "no endpoint: set `endpoint` in the fleet file, or run `clawctl lab up`"
            continue
        sources[agent.id] = "fleet" if agent.endpoint else "lab"
        token = None
        if agent.auth is not None:
            token = os.environ.get(agent.auth.token_env) or None
            if token is None:
                notes[agent.id] = f"token variable {agent.auth.token_env} is not set; probing without a token"
        targets.append(Target(agent.id, endpoint.rstrip("/"), agent.endpoint_kind, token))
    return targets, notes, sources


def probe_fleet(path: str, db: Path | None = None, *, timeout: float = 1.0, concurrency: int = 200,
                verify_tls: bool = True, clock: Clock = utc_now) -> ProbeReport:
    check_number("--timeout", timeout, low=0, high=MAX_TIMEOUT)
    check_number("--concurrency", concurrency, low=1, high=MAX_CONCURRENCY, low_open=False)
    fleet = load_fleet(path)
    targets, notes, sources = targets_for(fleet, lab_endpoints(db, fleet))
    if not targets:
        raise UsageError(f"{path}: no agent has an endpoint to probe; set `endpoint`, or run `clawctl lab up {path}`")
    at = clock()
    results = probe_once(targets, timeout=timeout, concurrency=concurrency, verify_tls=verify_tls)
    return ProbeReport(fleet_name(fleet), at, results, notes, sources)
