"""The live half of a failover drill (see services/failover_drill.py for the steps): steady state, snapshot,
fault, detection, session moves, verification and the restore that always runs."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from clawctl.adapters.agent_admin import AgentAdmin, AgentCallError
from clawctl.adapters.commands import run as run_command
from clawctl.adapters.prober import Prober, ProbeResult, Target
from clawctl.core.errors import ClawctlError, ExitCode
from clawctl.core.failover.drill import DrillReport, in_conversation, place
from clawctl.core.top.rates import interval
from clawctl.services.probe import lab_endpoints, targets_for

RESTORE_WAIT_S = 30.0  # seconds the target gets, from the clear, to be ready again (docs/cli.md, failover)


class Refused(ClawctlError):
    exit_code = ExitCode.UNREACHABLE  # 4: refused before any fault, nothing changed


class LiveDrill:
    def __init__(self, fleet, db, targets: list[str], backups: dict[str, list[str]], options, report: DrillReport,
                 clk) -> None:
        self.fleet, self.targets, self.backups, self.options, self.report, self.clk = \
            fleet, targets, backups, options, report, clk
        found, _, _ = targets_for(fleet, lab_endpoints(db, fleet))
        self.eps: dict[str, Target] = {t.agent_id: t for t in found}
        needed = list(dict.fromkeys(targets + [b for bs in backups.values() for b in bs]))
        missing = [a for a in needed if a not in self.eps]
        if missing:
            raise Refused(f"no endpoint for {', '.join(missing)}: set `endpoint` in the fleet file or run "
                          "`clawctl lab up`; nothing changed")
        # OpenClaw gateways: the fault is the gateway's suspend (admin RPC, with its token) or the operator's
        # --fault-command; only probe-based objectives are measured (no session API to move sessions with)
        self.gateways = {a for a in targets if self.eps[a].kind == "openclaw"}
        blind = [a for a in sorted(self.gateways) if not self.eps[a].token and not options.fault_command]
        if blind:
            raise Refused(f"{', '.join(blind)}: an OpenClaw gateway is faulted through its admin RPC, which needs "
                          "its token (auth.token_env), or give --fault-command and --restore-command; nothing changed")
        if options.fault_command and not options.restore_command:
            raise Refused("--fault-command needs --restore-command (the drill always restores); nothing changed")
        self.suspensions: dict[str, str] = {}
        self.health = fleet.load_balancing.health
        high = report.detection_range[1] if report.detection_range else 30.0
        self.lease = options.lease if options.lease is not None else min(max(2 * high + 10.0, 15.0), 3600.0)
        self.ready_before: set[str] = set()
        monitoring = fleet.monitoring
        self.error_limit = monitoring.thresholds.error_rate if monitoring is not None else 5.0
        self.scrapes: dict[str, tuple[float, object]] = {}  # other agents' last scrape, for error rates
        self.spare: dict[str, int] = {}
        self.snapshot: dict[str, list[dict]] = {}
        self.injected: list[str] = []

    async def __aenter__(self) -> LiveDrill:
        self.prober = Prober(timeout=self.health.timeout, full_scrape=True)
        await self.prober.__aenter__()
        self.admin = AgentAdmin(timeout=max(5.0, self.health.timeout))
        await self.admin.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.__aexit__(*exc)
        await self.prober.__aexit__(*exc)

    def _t(self, agent: str) -> Target:
        return self.eps[agent]

    async def probe(self, agents) -> dict[str, ProbeResult]:
        results = await self.prober.cycle([self.eps[a] for a in agents if a in self.eps])
        return {r.agent_id: r for r in results}

    # -- 3. steady state --------------------------------------------------------------------------------
    async def steady_state(self) -> None:
        seen = await self.probe(list(self.eps))
        self.ready_before = {a for a, r in seen.items() if r.verdict.state == "ready"}
        now = time.monotonic()
        self.scrapes = {a: (now, r.scrape) for a, r in seen.items() if r.scrape is not None}
        why = [f"target {a} is {seen[a].verdict.state}" for a in self.targets if a not in self.ready_before]
        for t, bs in self.backups.items():
            if not bs:
                why.append(f"{t} has no backup outside the drill")
        for b in sorted({b for bs in self.backups.values() for b in bs}):
            r = seen.get(b)
            if b not in self.ready_before:
                why.append(f"backup {b} is {r.verdict.state if r else 'not probed'}")
                continue
            if self.eps[b].kind == "openclaw":
                self.spare[b] = 0  # a gateway's capacity is not exposed: it takes idle sessions only
                continue
            m = r.metrics
            if m is None or m.max_conversations is None or m.active_conversations is None:
                why.append(f"backup {b}: no metrics, so no known headroom")
                continue
            self.spare[b] = int(max(m.max_conversations - m.active_conversations, 0))
            if self.spare[b] <= 0:
                why.append(f"backup {b} has no free slot ({m.active_conversations:g}/{m.max_conversations:g})")
        if why:
            raise Refused("steady state not met: " + "; ".join(why) + "; nothing changed")
        self.clk.event(self.report, f"steady state: {len(self.targets)} target(s) ready, "
                                    f"{len(self.spare)} backup(s) ready with {sum(self.spare.values())} free slots")

    # -- 5. snapshot (also what a dry run reads: reading changes nothing) --------------------------------
    async def read_sessions(self, *, dry_run: bool = False) -> None:
        """Each target's sessions and their contexts (an OpenClaw gateway has no session API: none)."""
        report = self.report
        for t in self.targets:
            tgt = self._t(t)
            if t in self.gateways:
                self.snapshot[t] = []
                continue
            listed = await self.admin.sessions(t, tgt.base_url, tgt.token)
            self.snapshot[t] = await self.admin.contexts(t, tgt.base_url, tgt.token, [s["id"] for s in listed])
        before = sum(len(v) for v in self.snapshot.values())
        talking = sum(in_conversation(c) for v in self.snapshot.values() for c in v)
        report.sessions = {"before": before, "preserved": 0, "lost": 0 if dry_run else before,
                           "in_conversation": talking}
        self.clk.event(report, f"{'sessions read' if dry_run else 'snapshot'}: {before} session(s) on "
                               f"{', '.join(self.targets)}" + (", nothing moved (dry run)" if dry_run else ""))

    # -- 5 to 9 ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        report = self.report
        try:
            await self.read_sessions()
            # the balancer's probes do not know when a fault comes: inject at a random phase of the probe
            # interval (seeded), so the measured detection falls anywhere in the predicted range
            phase = random.Random(self.options.seed).uniform(0.0, self.health.probe_interval)
            grid0 = time.monotonic()
            await asyncio.sleep(phase)
            await asyncio.gather(*(self._inject(t) for t in self.targets))
            detected = await self._detect(grid0)
            if report.status == "aborted":
                return
            if detected is None:
                report.message = (f"not detected within the fault's lease ({self.lease:g}s); sessions not moved")
                return
            report.objectives[0].measured = detected
            if len(self.gateways) == len(self.targets):
                report.notes.append("OpenClaw gateways: only detection is measured (no session API to move "
                                    "sessions with); the gateway is resumed and confirmed ready")
                return
            await self._move_and_verify()
        except asyncio.CancelledError:
            report.status, report.message = "aborted", "interrupted: the target was restored"
            self.clk.event(report, "interrupted")
            raise
        except AgentCallError as exc:
            report.status, report.message = "aborted", f"stopped: {exc}"
            self.clk.event(report, f"aborted: {exc}")
        finally:
            if self.injected:
                await asyncio.shield(self._restore())

    async def _inject(self, t: str) -> None:
        tgt = self._t(t)
        if t in self.gateways:
            await self._gateway_fault(t, tgt)
        else:
            # the fault and its clear share one kept-alive connection: a crashed agent accepts no new one
            self.admin.hold(t, self.lease + RESTORE_WAIT_S + 30.0)
            await self.admin.fault(t, tgt.base_url, tgt.token, self.options.fault, lease=self.lease)
        if self.clk.fault_at is None:
            self.clk.fault_at = time.monotonic()
        self.injected.append(t)
        what = ("suspend (admin RPC)" if t in self.suspensions else "--fault-command") if t in self.gateways \
            else f"{self.options.fault} (lease {self.lease:g}s)"
        self.clk.event(self.report, f"fault: {what} on {t}")

    async def _gateway_fault(self, t: str, tgt: Target) -> None:
        if self.options.fault_command:
            code, out = await asyncio.to_thread(run_command, self.options.fault_command, timeout=60.0,
                                                env=self._command_env(t, tgt))
            if code != 0:
                raise AgentCallError(f"{t}: --fault-command exited {code}: {out}")
            return
        from clawctl.adapters.openclaw_admin import OpenClawAdmin

        def suspend() -> str:
            with OpenClawAdmin(tgt.base_url, tgt.token or "", timeout=max(5.0, self.health.timeout)) as admin:
                return admin.suspend(f"clawctl-drill-{uuid.uuid4().hex[:12]}").suspension_id

        try:
            self.suspensions[t] = await asyncio.to_thread(suspend)
        except ClawctlError as exc:
            raise AgentCallError(f"{t}: {exc}") from None

    async def _gateway_restore(self, t: str, tgt: Target) -> None:
        if self.options.restore_command:
            code, out = await asyncio.to_thread(run_command, self.options.restore_command, timeout=60.0,
                                                env=self._command_env(t, tgt))
            if code != 0:
                self.clk.event(self.report, f"{t}: --restore-command exited {code}: {out}")
            return
        sid = self.suspensions.get(t)
        if sid is None:
            return
        from clawctl.adapters.openclaw_admin import OpenClawAdmin

        def resume() -> None:
            with OpenClawAdmin(tgt.base_url, tgt.token or "", timeout=max(5.0, self.health.timeout)) as admin:
                admin.resume(sid)

        try:
            await asyncio.to_thread(resume)
        except ClawctlError as exc:
            self.clk.event(self.report, f"{t}: resume failed: {exc}")

    @staticmethod
    def _command_env(t: str, tgt: Target) -> dict[str, str]:
        import os

        return {**os.environ, "CLAWCTL_DRILL_AGENT": t, "CLAWCTL_DRILL_ENDPOINT": tgt.base_url}

    async def _detect(self, grid0: float) -> float | None:
        """Probe the targets every probe_interval until each failed failure_threshold times in a row; the
        offset of the last one's detection. Another agent that was ready going down aborts the drill."""
        h, report = self.health, self.report
        streak = dict.fromkeys(self.targets, 0)
        found: dict[str, float] = {}
        others = [a for a in self.ready_before if a not in self.targets]
        k = int((time.monotonic() - grid0) // h.probe_interval) + 1  # the next probe on the grid
        await asyncio.sleep(max(0.0, grid0 + k * h.probe_interval - time.monotonic()))
        while time.monotonic() - self.clk.fault_at < self.lease:
            seen = await self.probe(list(self.targets) + others)
            for t in self.targets:
                if t in found:
                    continue
                streak[t] = streak[t] + 1 if seen[t].verdict.state != "ready" else 0
                if streak[t] >= h.failure_threshold:
                    found[t] = self.clk.offset()
                    self.clk.event(report, f"detected: {t} {seen[t].verdict.state} on {streak[t]} probes in a row")
            why = self._abort_reason(others, seen)
            if why:
                report.status = "aborted"
                report.message = f"aborted: {why}"
                self.clk.event(report, report.message)
                return None
            if len(found) == len(self.targets):
                return max(found.values())
            k += 1
            await asyncio.sleep(max(0.0, grid0 + k * h.probe_interval - time.monotonic()))
        return None

    def _abort_reason(self, others: list[str], seen: dict[str, ProbeResult]) -> str | None:
        """Another agent that was ready going down, or one whose error rate since the last probe passed the
        fleet's monitoring threshold (monitoring.thresholds.error_rate, 5% by default)."""
        down = [a for a in others if seen.get(a) is not None and seen[a].verdict.state == "down"]
        if down:
            return f"{', '.join(down)} went down during the drill"
        now = time.monotonic()
        for a in others:
            r = seen.get(a)
            if r is None or r.scrape is None:
                continue
            prev = self.scrapes.get(a)
            self.scrapes[a] = (now, r.scrape)
            if prev is None:
                continue
            rate = interval(prev[1], r.scrape, now - prev[0]).error_rate
            if rate is not None and rate > self.error_limit:
                return f"{a}'s error rate {rate:.1f}% is over the fleet's {self.error_limit:g}% during the drill"
        return None

    async def _after(self) -> None:
        """The steady state after the moves: every backup that took sessions still ready."""
        took = [b for b, n in self.report.placed.items() if n]
        seen = await self.probe(took)
        bad = [f"{b} is {seen[b].verdict.state}" for b in took if seen[b].verdict.state != "ready"]
        if bad:
            self.report.notes.append("steady state after the moves not met: " + "; ".join(bad))
            self.report.status = "failed"
            self.clk.event(self.report, "steady state after: " + "; ".join(bad))
        else:
            self.clk.event(self.report, f"steady state after: {len(took)} backup(s) ready")

    async def _move_and_verify(self) -> None:
        report = self.report
        lost = moved_total = 0
        moves: list[tuple[str, str, list[dict]]] = []
        for t in self.targets:
            per_backup, no_room = place(self.snapshot[t], self.backups[t], self.spare)
            lost += len(no_room)
            moves += [(t, b, ctxs) for b, ctxs in per_backup.items() if ctxs]
            if no_room:
                self.clk.event(report, f"{len(no_room)} session(s) of {t} in conversation: no free slot on its backups")
        results = await asyncio.gather(*(self.admin.import_sessions(
            b, self._t(b).base_url, self._t(b).token, ctxs, {"from": t, "reason": "clawctl failover drill"})
            for t, b, ctxs in moves))
        expected: dict[str, dict[str, str]] = {}
        for (t, b, ctxs), (imported, rejected) in zip(moves, results):
            ok = set(imported)
            expected.setdefault(b, {}).update({c["id"]: c["state_hash"] for c in ctxs if c["id"] in ok})
            moved_total += len(ok)
            report.placed[b] = report.placed.get(b, 0) + len(ok)
            if rejected:
                self.clk.event(report, f"{b} rejected {len(rejected)} session(s) from {t}")
        self.clk.event(report, f"moved: {moved_total} session(s) imported on {len(expected)} backup(s)")
        preserved = 0
        for b, want in expected.items():
            have = {s["id"]: s.get("state_hash") for s in await self.admin.sessions(b, self._t(b).base_url,
                                                                                      self._t(b).token)}
            preserved += sum(1 for sid, h in want.items() if have.get(sid) == h)
        before = report.sessions["before"]
        report.sessions = {**report.sessions, "preserved": preserved, "lost": before - preserved}
        report.objectives[1].measured = self.clk.offset()
        report.objectives[2].measured = 100.0 * preserved / before if before else 100.0
        self.clk.event(report, f"verified: {preserved} of {before} session(s) whole on the backups (state_hash)")
        await self._after()

    async def _restore(self) -> None:
        """Clear the fault (a crashed agent over the connection the fault was set on) and wait for every
        target to be ready; the time from the clear to the last one ready is ``restore_s``. Not ready
        within RESTORE_WAIT_S: restore_failed, naming the agent."""
        report = self.report
        missed: dict[str, str] = {}  # agent -> why the clear did not reach it
        for t in self.injected:
            why = await self._clear(t)
            if why:
                missed[t] = why
        cleared_at = time.monotonic()
        if missed:
            self.clk.event(report, "restore: the clear did not reach " + "; ".join(missed.values())
                           + (f"; a crashed agent comes back when its lease ends (+{self.lease:g}s)"
                              if self.options.fault == "crash" else "") + "; retrying")
        else:
            self.clk.event(report, "restore: faults cleared")
        deadline = cleared_at + RESTORE_WAIT_S
        waiting = set(self.injected)
        ready_after: dict[str, float] = {}
        while waiting:
            seen = await self.probe(sorted(waiting))
            now = time.monotonic()
            for t in sorted(waiting):
                if seen[t].verdict.state == "ready":
                    ready_after[t] = now - cleared_at
            waiting -= set(ready_after)
            if not waiting or now >= deadline:
                break
            for t in sorted(waiting & set(missed)):  # one that missed the clear (or came back at its lease's end)
                if not await self._clear(t):
                    missed.pop(t)
            await asyncio.sleep(min(0.25, max(self.health.probe_interval, 0.05)))
        if not waiting:
            report.restore_s = max(ready_after.values())
        late = sorted(t for t, after in ready_after.items() if after > RESTORE_WAIT_S)
        if waiting or late:
            report.status = "restore_failed"
            why = []
            if waiting:
                why.append(f"{', '.join(sorted(waiting))} not ready {RESTORE_WAIT_S:g}s after the fault was cleared"
                           + (" (the clear did not reach it)" if waiting & set(missed) else ""))
            if late:
                why.append(", ".join(f"{t} ready only {ready_after[t]:.2f}s after the clear" for t in late)
                           + f", over the {RESTORE_WAIT_S:g}s bound")
            report.message = "restore failed: " + "; ".join(why) + "; look at the agent"
            self.clk.event(report, report.message)
            return
        self.clk.event(report, f"restored: {', '.join(self.injected)} ready {report.restore_s:.2f}s after the clear "
                               f"(bound {RESTORE_WAIT_S:g}s)")

    async def _clear(self, t: str) -> str:
        """Clear ``t``'s fault; "" when done, else why not (one line)."""
        if t in self.gateways:
            await self._gateway_restore(t, self._t(t))
            return ""
        try:
            await self.admin.fault(t, self._t(t).base_url, self._t(t).token, "none")
        except AgentCallError as exc:
            return str(exc)
        return ""
