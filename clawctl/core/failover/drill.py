"""A failover drill's result, its objectives and the placement of sessions on backups. Pure.

Objectives (the fleet's ``failover.objectives``):

- ``detection``: seconds from the fault to its detection by probing at the fleet's health settings
  (``failure_threshold`` consecutive failed probes, ``probe_interval`` apart, each waiting ``timeout``);
- ``agent_recovery`` (``--agent``) or ``regional_recovery`` (``--region``): seconds from the fault to
  the last moved session verified on its backup (the sessions are served again);
- ``session_preservation``: percent of the target's sessions that arrived whole (verified by
  ``state_hash``) on a backup.

Each objective has its target, the predicted figure (simulation and the detection model), the measured
one (live) and whether it was met (``measured <= target``; preservation ``>=``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

STATUSES = ("passed", "failed", "aborted", "restore_failed", "refused", "dry_run")


def detection_range(probe_interval: float, timeout: float, failure_threshold: int) -> tuple[float, float]:
    """Seconds from a fault to its detection by active probes: the fault lands at a uniformly random
    phase of the probe interval. Fastest: refused right before a probe, so the ``failure_threshold``-th
    failure comes ``(F-1) x interval`` later; slowest: the agent hangs right after a probe, so the
    first failing probe starts an interval later and the last one times out: ``F x interval + timeout``."""
    f = max(int(failure_threshold), 1)
    return (f - 1) * probe_interval, f * probe_interval + timeout


@dataclass
class Objective:
    name: str
    target: float
    unit: str  # "s" or "%"
    predicted: float | None = None
    measured: float | None = None

    @property
    def met(self) -> bool | None:
        value = self.measured if self.measured is not None else None
        if value is None:
            return None
        return value >= self.target if self.unit == "%" else value <= self.target

    def as_dict(self) -> dict:
        return {"name": self.name, "target": self.target, "unit": self.unit, "predicted": _r(self.predicted),
                "measured": _r(self.measured), "met": self.met}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class Event:
    offset_s: float  # seconds from the fault (negative: before it)
    event: str
    at: str = ""  # ISO time

    def as_dict(self) -> dict:
        return {"at": self.at, "offset_s": round(self.offset_s, 3), "event": self.event}


@dataclass
class DrillReport:
    view: ClassVar[str] = "drill"

    fleet: str
    mode: str  # sim | live
    target: dict  # {"agent": id} or {"region": name, "agents": [...]}
    status: str = "passed"
    fault: str = ""
    drill_id: int | None = None
    objectives: list[Objective] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    sessions: dict = field(default_factory=lambda: {"before": 0, "preserved": 0, "lost": 0})
    placed: dict[str, int] = field(default_factory=dict)  # backup -> sessions moved there
    restore_s: float | None = None  # live: seconds from clearing the fault to every target ready again
    detection_range: tuple[float, float] | None = None
    predicted: dict = field(default_factory=dict)  # the simulation's figures
    message: str = ""
    notes: list[str] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    interrupted: bool = False  # Ctrl-C (or SIGTERM): the CLI exits 130

    def decide(self) -> None:
        """passed when every objective measured was met, failed otherwise (aborts and restore failures
        are set by the drill itself)."""
        if self.status in ("aborted", "restore_failed", "refused", "dry_run"):
            return
        verdicts = [o.met for o in self.objectives if o.met is not None]
        self.status = "passed" if verdicts and all(verdicts) else "failed"

    def as_dict(self) -> dict:
        return {"schema_version": 1, "drill_id": self.drill_id, "fleet": self.fleet, "mode": self.mode,
                "target": self.target, "fault": self.fault, "status": self.status, "message": self.message,
                "objectives": [o.as_dict() for o in self.objectives],
                "timeline": [e.as_dict() for e in self.timeline], "sessions": dict(self.sessions),
                "placed": dict(self.placed), "restore_s": _r(self.restore_s),
                "detection_range_s": list(self.detection_range) if self.detection_range else None,
                "predicted": dict(self.predicted), "notes": list(self.notes),
                "started_at": self.started_at, "finished_at": self.finished_at, "interrupted": self.interrupted}

    @classmethod
    def from_dict(cls, d: dict) -> DrillReport:
        """A stored drill, for `clawctl failover report ID`."""
        r = cls(d.get("fleet", "?"), d.get("mode", "?"), d.get("target", {}), d.get("status", "?"),
                d.get("fault", ""), d.get("drill_id"))
        r.objectives = [Objective(o["name"], o["target"], o.get("unit", "s"), o.get("predicted"), o.get("measured"))
                        for o in d.get("objectives", [])]
        r.timeline = [Event(e.get("offset_s", 0.0), e.get("event", ""), e.get("at", "")) for e in d.get("timeline", [])]
        r.sessions = dict(d.get("sessions", {}))
        r.placed = dict(d.get("placed", {}))
        r.restore_s = d.get("restore_s")
        dr = d.get("detection_range_s")
        r.detection_range = (dr[0], dr[1]) if dr else None
        r.predicted, r.message = dict(d.get("predicted", {})), d.get("message", "")
        r.notes = list(d.get("notes", []))
        r.started_at, r.finished_at = d.get("started_at", ""), d.get("finished_at", "")
        r.interrupted = bool(d.get("interrupted", False))
        return r


def in_conversation(context: dict) -> bool:
    """Whether a session context shows a conversation still going: its last conversation event started
    one (or is a customer message) and none ended or cut it since."""
    for event in reversed(context.get("history") or []):
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if kind in ("conversation_ended", "conversation_cut"):
            return False
        if kind in ("conversation_started", "message"):
            return True
    return False


def place(sessions: list[dict], backups: list[str], spare: dict[str, int]) -> tuple[dict[str, list[dict]], list[dict]]:
    """Sessions onto backups, capacity-aware. A session in conversation needs a free slot (``spare[b]``,
    taken as it is placed) on the first backup, in backup order, that has one, or it has no room and is
    lost. Idle sessions need no slot now, but their customers will come back to whichever backup holds
    them: they are shared out in proportion to the free slots left on each backup (largest remainder,
    ties to the earlier backup), all to the first backup when none has a slot left.
    Returns (sessions per backup, sessions with no room)."""
    out: dict[str, list[dict]] = {b: [] for b in backups}
    left = {b: max(int(spare.get(b, 0)), 0) for b in backups}
    lost: list[dict] = []
    idle: list[dict] = []
    for ctx in sessions:
        if not backups:
            lost.append(ctx)
        elif not in_conversation(ctx):
            idle.append(ctx)
        else:
            for b in backups:
                if left[b] > 0:
                    left[b] -= 1
                    out[b].append(ctx)
                    break
            else:
                lost.append(ctx)
    if idle:
        total = sum(left.values())
        if total <= 0:
            out[backups[0]].extend(idle)
        else:
            exact = {b: len(idle) * left[b] / total for b in backups}
            share = {b: int(exact[b]) for b in backups}
            rest = len(idle) - sum(share.values())
            for b in sorted(backups, key=lambda b: (-(exact[b] - share[b]), backups.index(b)))[:rest]:
                share[b] += 1
            i = 0
            for b in backups:
                out[b].extend(idle[i:i + share[b]])
                i += share[b]
    return out, lost
