"""`clawctl failover drill FLEET --agent ID | --region R`: a failover drill, simulated or live, always restored.

Live, in order (each step on the timeline, offsets from the fault):

1. the target agents and their backups come from the fleet; the blast radius (targets / agents) must
   be within ``failover.max_blast_radius``, or the drill refuses (exit 4, nothing changed);
2. predicted figures from the simulator (``failover_sim.predict``) and the detection model;
3. steady state: every target ready, every backup ready with a free slot, or the drill refuses (4);
   ``--dry-run`` then reads the targets' sessions (step 5, which changes nothing) and stops;
4. the caller confirms (the CLI asks, unless ``--yes``);
5. snapshot: each target's sessions and their contexts (``GET /v1/sessions``, ``/v1/sessions/{id}``);
6. fault through the agent API with a lease (``POST /v1/admin/fault``), so a clawctl killed mid-drill
   still leaves the agent healthy when the lease ends;
7. detection: the targets probed every ``health.probe_interval`` (deadline ``health.timeout``) until
   ``failure_threshold`` consecutive probes fail; every other agent is probed too, and one that was
   ready going down aborts the drill (exit 5);
8. the sessions go to the backups (``core.failover.drill.place``: in backup order, a session in
   conversation needs a free slot), imported in parallel batches, then verified by ``state_hash``;
9. restore: the fault cleared (``mode: none``, over the connection the fault was set on, which a
   crashed reference agent still answers) and the target confirmed ready, whatever happened before (an
   exception, Ctrl-C); the time from the clear to ready is ``restore_s``; if it is not ready within
   ``RESTORE_WAIT_S`` (30 s) the drill ends ``restore_failed`` (exit 6) naming the agent.

Every drill is stored (run kind `drill`, its timeline as events).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clawctl.adapters.clock import utc_now
from clawctl.adapters.processes import signals_interrupt
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso, iso_from_epoch
from clawctl.core.errors import ClawctlError, ExitCode, UsageError
from clawctl.core.failover.drill import DrillReport, Event, Objective
from clawctl.services.failover_sim import predict
from clawctl.services.validate import load_fleet

FAULTS = ("crash", "hang", "unready")
MAX_LEASE = 3600.0


@dataclass
class DrillOptions:
    agent: str | None = None
    region: str | None = None
    mode: str = "live"  # live | sim
    dry_run: bool = False
    fault: str = "crash"
    lease: float | None = None  # seconds; default from the detection model
    seed: int = 1
    store: bool = True
    fault_command: str | None = None  # OpenClaw gateways without an admin token: the operator's own fault
    restore_command: str | None = None


class Declined(ClawctlError):
    exit_code = ExitCode.ABORTED


def _targets(fleet, options: DrillOptions) -> list[str]:
    from clawctl.core.suggest import did_you_mean

    if (options.agent is None) == (options.region is None):
        raise UsageError("give --agent ID or --region R (one of them)")
    if options.agent is not None:
        if options.agent not in fleet.agents:
            raise UsageError(f"--agent {options.agent}: no such agent{did_you_mean(options.agent, fleet.agents)}")
        return [options.agent]
    agents = [a.id for a in fleet.agents.values() if a.region == options.region]
    if not agents:
        regions = sorted({a.region for a in fleet.agents.values() if a.region})
        raise UsageError(f"--region {options.region}: no agent in it{did_you_mean(options.region, regions)}")
    return agents


def _backups(fleet, targets: list[str]) -> dict[str, list[str]]:
    """Each target's backups that are not themselves targets (a region drill moves sessions out of it)."""
    out = {}
    for t in targets:
        out[t] = [b for b in fleet.agents[t].backups if b in fleet.agents and b not in targets]
    if any(not b for b in out.values()) and fleet.failover is not None and fleet.agents[targets[0]].region:
        site = fleet.failover.regions.get(fleet.agents[targets[0]].region)
        if site is not None:  # the region's recovery site takes what has no backup outside the region
            extra = [a.id for a in fleet.agents.values() if a.region == site.recovery_site]
            for t in out:
                out[t] = out[t] or extra
    return out


def drill(path: str, options: DrillOptions, db: Path | None = None, *, clock: Clock = utc_now,
          confirm: Callable[[str], bool] | None = None) -> DrillReport:
    if options.fault not in FAULTS:
        raise UsageError(f"--fault {options.fault}: one of {', '.join(FAULTS)}")
    if options.lease is not None and not 0 < options.lease <= MAX_LEASE:
        raise UsageError(f"--lease must be above 0 and at most {MAX_LEASE:g} seconds")
    fleet = load_fleet(path)
    targets = _targets(fleet, options)
    failover = fleet.failover
    objectives = failover.objectives if failover is not None else None
    radius = 100.0 * len(targets) / len(fleet.agents)
    limit = failover.max_blast_radius if failover is not None else 25.0
    if radius > limit + 1e-9:
        from clawctl.services.failover_live import Refused

        raise Refused(f"blast radius {radius:.0f}% ({len(targets)} of {len(fleet.agents)} agents) is over the fleet's "
                      f"failover.max_blast_radius {limit:g}%: nothing changed")
    kind = "region" if options.region else "agent"
    report = DrillReport(fleet_name(fleet), options.mode,
                         {"agent": targets[0]} if kind == "agent" else {"region": options.region, "agents": targets},
                         fault=options.fault if options.mode == "live" else "simulated")
    report.started_at = iso(clock())
    report.predicted = predict(fleet, targets, seed=options.seed)
    if options.mode == "live" and "session_preservation" in report.predicted:
        report.notes.append("predicted session_preservation is the share of conversations in progress at the "
                            "failure that a backup could take (the simulator has no idle sessions); measured "
                            "counts every session the target held, idle ones included")
    rng = report.predicted["detection_range_s"]
    report.detection_range = (rng[0], rng[1])
    recovery = "regional_recovery" if kind == "region" else "agent_recovery"
    from clawctl.core.model.fleet_file import Objectives

    obj = objectives or Objectives()
    report.objectives = [
        Objective("detection", obj.detection, "s", report.predicted.get("detection_s")),
        Objective(recovery, getattr(obj, recovery), "s", report.predicted.get("recovery_s")),
        Objective("session_preservation", obj.session_preservation, "%", report.predicted.get("session_preservation")),
    ]
    if options.mode == "sim":
        for o in report.objectives:
            o.measured = o.predicted
        moved = report.predicted.get("conversations_moved", 0)
        lost = report.predicted.get("conversations_lost", 0)
        report.sessions = {"before": moved + lost, "preserved": moved, "lost": lost}
        report.timeline = [Event(0.0, f"fault: {', '.join(targets)} fail (simulated)"),
                           Event(report.predicted.get("detection_s", 0.0), "detected (simulated)")]
        report.decide()
    else:
        backups = _backups(fleet, targets)
        try:
            with signals_interrupt():  # SIGTERM and SIGHUP end the drill as Ctrl-C does: restored, recorded
                asyncio.run(_live(fleet, db, targets, backups, options, report, clock, confirm))
        except KeyboardInterrupt:
            report.interrupted = True
            report.status = "aborted"
            report.message = report.message or "interrupted before the fault: nothing changed"
        if report.status not in ("aborted", "restore_failed", "dry_run"):
            after_failed = report.status == "failed"
            report.decide()
            if after_failed:
                report.status = "failed"
    report.finished_at = iso(clock())
    if options.store and report.status not in ("refused",):
        report.drill_id = _record(report, db, clock)
    return report


def _record(report: DrillReport, db: Path | None, clock: Clock) -> int:
    from clawctl.adapters.store import open_store

    now = iso(clock())
    events = [(e.at or now, "timeline", {"offset_s": e.offset_s, "event": e.event}) for e in report.timeline]
    with open_store(db) as store, store.write():
        return store.record_run("drill", store.fleet_id(report.fleet, now), report.started_at or now, now,
                                report.status, report.as_dict(), events)


class _Clock:
    """Offsets from the fault (monotonic) and ISO times for the timeline."""

    def __init__(self, clock: Clock) -> None:
        self.epoch0 = clock().timestamp()
        self.mono0 = time.monotonic()
        self.fault_at: float | None = None

    def offset(self) -> float:
        now = time.monotonic()
        return now - (self.fault_at if self.fault_at is not None else now)

    def event(self, report: DrillReport, text: str) -> None:
        now = time.monotonic()
        report.timeline.append(Event(now - self.fault_at if self.fault_at is not None else 0.0, text,
                                     iso_from_epoch(self.epoch0 + now - self.mono0)))


async def _live(fleet, db, targets, backups, options, report: DrillReport, clock, confirm) -> None:
    from clawctl.services.failover_live import LiveDrill

    async with LiveDrill(fleet, db, targets, backups, options, report, _Clock(clock)) as live:
        await live.steady_state()
        if options.dry_run:
            await live.read_sessions(dry_run=True)
            report.status = "dry_run"
            report.message = "dry run: steady state met; no fault injected, nothing changed"
            return
        if confirm is not None and not confirm(_prompt(fleet, targets, options)):
            raise Declined("declined at the prompt: nothing changed")
        await live.run()


def _prompt(fleet, targets, options) -> str:
    return (f"inject a `{options.fault}` fault into {', '.join(targets)} of fleet {fleet_name(fleet)} "
            f"and move their sessions to the backups?")



