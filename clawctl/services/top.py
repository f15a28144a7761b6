"""`clawctl top`: every agent's state and figures, cycle by cycle, with thresholds; recorded, replayed, exported.

A cycle probes every agent (readiness and `/metrics`, the prober of `clawctl probe`) or asks Prometheus
(``--prometheus URL``), turns what it saw into a :class:`Frame` (``core.top.frame.Tracker``: rates and
percentiles from deltas, hysteresis on the thresholds) and, unless ``--no-record``, writes the cycle's
samples into the store in one transaction (run kind `metrics`), pruning past the retention.

Cycles start on a fixed grid (start + k x interval), never drifting; a cycle that takes longer than the
interval makes the next ones start late, and counts as missed. Times: the wall clock at the start,
advanced by the monotonic clock (so a fixed clock in tests still sees time pass).
"""

from __future__ import annotations

import asyncio
import csv
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TextIO

from clawctl.adapters.clock import utc_now
from clawctl.adapters.prober import Prober, ProbeResult
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock, iso, iso_from_epoch
from clawctl.core.errors import InputError, UsageError
from clawctl.core.top.frame import Frame, Observation, Tracker, count
from clawctl.core.top.rates import Interval
from clawctl.core.top.thresholds import Thresholds
from clawctl.services.probe import check_number, lab_endpoints, targets_for
from clawctl.services.validate import load_fleet

MAX_INTERVAL = 3600.0
MAX_COUNT = 10_000_000
FIGURES = tuple(f.name for f in fields(Interval))


@dataclass
class TopOptions:
    interval: float | None = None  # seconds; default the fleet's monitoring.interval
    count: int | None = None  # cycles to show; None: until interrupted
    once: bool = False  # show one frame, after enough cycles to judge the thresholds
    record: bool = True
    retention_s: float | None = 7 * 86400.0
    retention_samples: int | None = None
    prometheus: str | None = None
    timeout: float | None = None  # per probe; default min(interval, 2 s)


def _figures(iv: Interval | None) -> dict:
    return {} if iv is None else {name: getattr(iv, name) for name in FIGURES}


class TopRun:
    """One `top` session: ``async with TopRun(...) as run: frame = await run.cycle()``."""

    def __init__(self, path: str, options: TopOptions, db: Path | None = None, *, clock: Clock = utc_now) -> None:
        self.fleet = load_fleet(path)
        self.options = options
        monitoring = self.fleet.monitoring
        self.interval = float(options.interval if options.interval is not None
                              else (monitoring.interval if monitoring is not None else 1.0))
        check_number("--interval", self.interval, low=0, high=MAX_INTERVAL)
        if options.count is not None and not 1 <= options.count <= MAX_COUNT:
            raise UsageError(f"--count must be between 1 and {MAX_COUNT:,}")
        self.thresholds = Thresholds.from_monitoring(monitoring)
        self.db = db
        self.name = fleet_name(self.fleet)
        self.notes: list[str] = []
        self.targets = []
        watched = set(self.fleet.agents)
        if options.prometheus is None:  # agents without an endpoint are left out, with a note each
            self.targets, notes, _ = targets_for(self.fleet, lab_endpoints(db, self.fleet))
            self.notes += [f"{agent}: {note}" for agent, note in notes.items()]
            if not self.targets:
                raise UsageError(f"{path}: no agent has an endpoint to watch; set `endpoint`, or run "
                                 f"`clawctl lab up {path}`, or give --prometheus URL")
            watched = {t.agent_id for t in self.targets}
        self.tracker = Tracker(self.name, [(a.id, a.region, a.domain) for a in self.fleet.agents.values()
                                           if a.id in watched], self.thresholds)
        self.timeout = options.timeout or min(max(self.interval, 0.2), 2.0)
        self._epoch0 = clock().timestamp()
        self._mono0 = time.monotonic()
        self.clock = clock
        self.run_id: int | None = None
        self.cycles = 0
        self.missed = 0
        self._stack = AsyncExitStack()
        self._prober: Prober | None = None
        self._prom = None

    def now(self) -> float:
        return self._epoch0 + (time.monotonic() - self._mono0)

    async def __aenter__(self) -> TopRun:
        if self.options.prometheus is not None:
            from clawctl.adapters.prometheus import PrometheusSource

            self._prom = PrometheusSource(self.options.prometheus, timeout=max(self.timeout, 2.0))
            self._stack.callback(self._prom.close)
        else:
            self._prober = await self._stack.enter_async_context(Prober(timeout=self.timeout, full_scrape=True))
        if self.options.record:
            self._start_recording()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.run_id is not None:
                self._finish_recording("interrupted" if exc[0] is not None else "completed")
        finally:
            await self._stack.aclose()

    # -- a cycle ------------------------------------------------------------------------------------
    async def observe(self) -> dict[str, Observation]:
        if self._prom is not None:
            return await asyncio.to_thread(self._from_prometheus)
        assert self._prober is not None
        results = await self._prober.cycle(self.targets)
        return {r.agent_id: _observation(r) for r in results}

    def _from_prometheus(self) -> dict[str, Observation]:
        """One PromQL round trip: every agent's figures over the source's window (`up` 0 is down)."""
        out = {}
        for agent_id, fig in self._prom.figures(self.name).agents.items():
            if agent_id not in self.tracker.meta:
                continue
            if not fig.up:
                out[agent_id] = Observation(agent_id, "down", detail="Prometheus: up == 0 (the last scrape failed)")
                continue
            iv = Interval(seconds=self._prom.window, active=fig.active_conversations, capacity=fig.max_conversations,
                          cpu=fig.cpu, memory=fig.memory, requests_per_s=fig.requests_per_s,
                          error_rate=fig.error_rate, response_time_ms=fig.response_time_ms, p50_ms=fig.p50_ms,
                          p95_ms=fig.p95_ms)
            out[agent_id] = Observation(agent_id, "ready", figures=iv)
        for agent_id in self.tracker.order:
            if agent_id not in out:
                out[agent_id] = Observation(agent_id, "down", detail="no series in Prometheus: is it scraped? "
                                                                     "(clawctl export prometheus-sd)")
        return out

    async def cycle(self) -> Frame:
        observations = await self.observe()
        # the store keeps milliseconds: the live frame uses the time it records, so a replay's ages agree
        at = math.floor(self.now() * 1000) / 1000
        frame = self.tracker.update(at, observations, source="prometheus" if self._prom else "probe")
        frame.notes = list(self.notes)
        self.cycles += 1
        if self.run_id is not None:
            self._record(frame)
            frame.run_id = self.run_id
        return frame

    async def frames(self, cycles: int | None) -> AsyncIterator[Frame]:
        """Cycles on the interval grid, ``cycles`` of them (None: until cancelled)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0  # the slot on the grid
        shown = 0  # frames produced: --count and --once count these, not slots
        while cycles is None or shown < cycles:
            yield await self.cycle()
            shown += 1
            k += 1
            if cycles is not None and shown >= cycles:
                return
            due = start + k * self.interval
            late = loop.time() - due
            if late > 0:  # the cycle overran: skip the slots it ate, start on the next one
                skipped = int(late // self.interval) + 1
                self.missed += skipped
                k += skipped
                due = start + k * self.interval
            await asyncio.sleep(max(0.0, due - loop.time()))

    # -- recording ----------------------------------------------------------------------------------
    def _start_recording(self) -> None:
        from clawctl.adapters.store import open_store

        self._store = self._stack.enter_context(open_store(self.db))  # open for the run: a cycle only writes
        store = self._store
        with store.write():
            started = iso(self.clock())
            self.run_id = store.record_run("metrics", store.fleet_id(self.name, started), started, None, "running",
                                           self._summary())

    def _record(self, frame: Frame) -> None:
        at = iso_from_epoch(frame.at)
        rows = [(at, r.id, r.state, {**_figures(r.figures), "detail": r.detail}) for r in frame.rows]
        before = (iso_from_epoch(frame.at - self.options.retention_s)
                  if self.options.retention_s is not None else None)
        store = self._store
        with store.write():
            store.add_samples(self.run_id, rows)
            store.prune_samples(before=before, keep=self.options.retention_samples)

    def _finish_recording(self, status: str) -> None:
        store = self._store
        with store.write():
            store.finish_run(self.run_id, iso(self.clock()), status,
                             {**self._summary(), "cycles": self.cycles, "missed": self.missed})

    def _summary(self) -> dict:
        """What a replay needs besides the samples: the agents in order with region and domain, the thresholds."""
        th = self.thresholds
        return {"interval": self.interval, "source": "prometheus" if self.options.prometheus else "probe",
                "agents": [[a, *self.tracker.meta[a]] for a in self.tracker.order],
                "thresholds": {"response_time": th.response_time, "cpu": th.cpu, "memory": th.memory,
                               "error_rate": th.error_rate, "breach_after": th.breach_after}}


def _observation(r: ProbeResult) -> Observation:
    detail = r.verdict.detail or (r.metrics_error or "")
    return Observation(r.agent_id, r.verdict.state, scrape=r.scrape, detail=detail)


def watch(path: str, options: TopOptions, db: Path | None, emit: Callable[[Frame], None], *,
          clock: Clock = utc_now) -> Frame | None:
    """The non-interactive loop: ``--once`` (one frame after ``breach_after`` + 1 cycles, so rates and
    breaches can be judged), ``--count N`` (N frames) or until Ctrl-C. Returns the last frame."""
    run = TopRun(path, options, db, clock=clock)
    cycles = run.thresholds.breach_after + 1 if options.once else options.count
    last: list[Frame] = []

    async def main() -> None:
        async with run:
            async for frame in run.frames(cycles):
                last[:] = [frame]
                if not options.once:
                    emit(frame)

    try:
        asyncio.run(main())
    finally:
        if options.once and last:
            emit(last[0])
    return last[0] if last else None


# -- replay and export ------------------------------------------------------------------------------
def recorded(db: Path | None, run_id: int) -> tuple[dict, list[tuple[str, list[tuple[str, str, dict]]]]]:
    """A recorded `top` run and its cycles: ``(run, [(at, [(agent_id, state, figures)])])``."""
    from clawctl.adapters.store import default_path, open_store

    path = Path(db) if db is not None else default_path()
    if not path.exists():
        raise InputError(f"{path}: no store yet, so no run {run_id}")
    with open_store(path) as store:
        run = store.run(run_id)
        if run is None or run["kind"] != "metrics":
            raise InputError(f"{path}: no `top` recording with run id {run_id} (see `clawctl history --kind metrics`)")
        cycles: list[tuple[str, list]] = []
        for at, agent_id, state, figures in store.samples(run_id):
            if not cycles or cycles[-1][0] != at:
                cycles.append((at, []))
            cycles[-1][1].append((agent_id, state, figures))
    return run, cycles


def replay_frames(db: Path | None, run_id: int) -> Iterator[tuple[float, Frame]]:
    """The frames of a recording, rebuilt through the same tracker as live (so the same breaches):
    ``(seconds since the previous cycle, frame)``. The agents and thresholds are the recording's own."""
    run, cycles = recorded(db, run_id)
    summary = run["summary"]
    try:
        agents = [(str(a), r, d) for a, r, d in summary["agents"]]
        thresholds = Thresholds(**summary["thresholds"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"run {run_id}: the recording has no agent list or thresholds (damaged summary)") from None
    tracker = Tracker(run.get("fleet") or "?", agents, thresholds)
    prev = None
    for at_text, rows in cycles:
        at = datetime.fromisoformat(at_text.replace("Z", "+00:00")).timestamp()
        obs = {}
        for agent_id, state, figures in rows:
            iv = Interval(**{k: figures.get(k) for k in FIGURES}) if any(k in figures for k in FIGURES) else None
            obs[agent_id] = Observation(agent_id, state, figures=iv, detail=figures.get("detail", ""))
        frame = tracker.update(at, obs, source="replay")
        frame.run_id = run_id
        yield (at - prev if prev is not None else 0.0), frame
        prev = at


COUNT_FIGURES = ("active", "capacity")


def csv_cell(name: str, value: object) -> object:
    """One figure for the CSV: counts as ints, milliseconds to 3 decimals, other figures (shares, percents,
    rates, seconds) to 6; empty when absent. A sample recorded as float arithmetic left it
    (``4.749999999999999``) reads as ``4.75``."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if not math.isfinite(value):
        return ""
    if name in COUNT_FIGURES:
        return count(value)
    return round(value, 3 if name.endswith("_ms") else 6)


def export_csv(db: Path | None, run_id: int, out: TextIO) -> int:
    """A recording as CSV: one row per sample (at, agent, state, then each figure); the rows written."""
    _, cycles = recorded(db, run_id)
    writer = csv.writer(out)
    writer.writerow(["at", "agent", "state", *FIGURES, "detail"])
    n = 0
    for at, rows in cycles:
        for agent_id, state, figures in rows:
            writer.writerow([at, agent_id, state, *(csv_cell(k, figures.get(k)) for k in FIGURES),
                             figures.get("detail", "")])
            n += 1
    return n
