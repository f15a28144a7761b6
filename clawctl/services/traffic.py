"""`clawctl traffic FLEET`: send the fleet's traffic to running agents, routed live, and measure it.

Arrivals, request types, customers and the pick variates come from the same seeded generator, drawn in
the same blocks, as `clawctl simulate` (``engine.arrival_blocks``), so a seed gives
the same requests in both. Fleet time is scaled to real time by ``time_scale`` (as `agent serve` scales
service times); waits are measured from each request's scheduled arrival, in fleet time. The routing,
queues and retries of one run are ``traffic_run.LiveRun``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clawctl.adapters.agent_client import AgentClient
from clawctl.adapters.clock import utc_now
from clawctl.adapters.gc_headroom import frozen
from clawctl.core import limits
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock
from clawctl.core.errors import ClawctlError, ExitCode, UsageError
from clawctl.core.sim.engine import arrival_blocks
from clawctl.core.sim.spec import ALL_STRATEGIES, STRATEGY_CODES, build, predictive
from clawctl.core.sim.strategies import PREDICTIVE
from clawctl.core.traffic.router import Router
from clawctl.core.traffic.waiting import Request
from clawctl.services.probe import check_number, lab_endpoints
from clawctl.services.simulate import run_length
from clawctl.services.traffic_report import TrafficReport, predict, record
from clawctl.services.traffic_run import MAX_RETRIES, TICK_S, LiveRun
from clawctl.services.validate import load_fleet

Progress = Callable[[str, float], None]

GRACE_S = 2.0  # real seconds in-flight requests get after an interrupt
EARLY_S = 0.0012  # real seconds ahead of an arrival the driver wakes (timers fire up to 1 ms late)
MAX_TIME_SCALE = 1000.0


@dataclass
class TrafficOptions:
    requests: int | None = None
    duration: float | None = None
    rate: float | None = None
    strategy: str | None = None
    time_scale: float = 1.0
    seed: int = 1
    timeout: float | None = None  # real seconds per conversation request; default from the service times
    compare_sim: bool = False  # also simulate the same fleet, seed and arrivals (`predicted`)
    store: bool = True  # record the run in the store (kind `traffic`)


@dataclass
class _Target:
    base: str
    token: str | None


def _targets(fleet, db: Path | None, spec) -> tuple[list[_Target | None], list[str]]:
    lab = lab_endpoints(db, fleet)
    out: list[_Target | None] = []
    notes: list[str] = []
    for agent_id in spec.agent_ids:
        agent = fleet.agents[agent_id]
        if agent.endpoint_kind == "openclaw":
            notes.append(f"{agent_id}: endpoint_kind openclaw is not driven: traffic needs the clawctl agent API "
                         "(POST /v1/conversations?wait=1)")
            out.append(None)
            continue
        endpoint = agent.endpoint or lab.get(agent_id)
        if not endpoint:
            notes.append(f"{agent_id}: no endpoint: set `endpoint` in the fleet file, or run `clawctl lab up`")
            out.append(None)
            continue
        token = os.environ.get(agent.auth.token_env) or None if agent.auth is not None else None
        out.append(_Target(endpoint.rstrip("/"), token))
    return out, notes


def _check(options: TrafficOptions, fleet) -> str:
    check_number("--time-scale", options.time_scale, low=0, high=MAX_TIME_SCALE)
    if not 0 <= options.seed <= limits.MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {limits.MAX_SEED}")
    if options.rate is not None:
        check_number("--rate", options.rate, low=0, high=1e6)
    if options.timeout is not None:
        check_number("--timeout", options.timeout, low=0, high=86400)
    strategy = options.strategy or fleet.load_balancing.strategy
    if strategy not in STRATEGY_CODES:
        raise UsageError(f"--strategy {strategy}: unknown; one of {', '.join(ALL_STRATEGIES)}")
    if (fleet.traffic is None or fleet.traffic.arrivals is None) and options.rate is None:
        raise UsageError("the fleet has no traffic.arrivals: give --rate")
    return strategy


def traffic(path: str, options: TrafficOptions, db: Path | None = None, *, clock: Clock = utc_now,
            progress: Progress | None = None) -> TrafficReport:
    fleet = load_fleet(path)
    strategy = _check(options, fleet)
    length = run_length(fleet, options)
    spec = build(fleet, horizon=1.0, start=clock())
    if options.rate is not None:
        spec.rate = float(options.rate)
    if length.requests is not None and spec.mean_rate() <= 0:
        raise UsageError("the arrival rate is 0: no request ever arrives")
    horizon = length.horizon(spec)
    if horizon > limits.MAX_DURATION_S:
        raise UsageError(f"this run would last {horizon:,.0f} fleet seconds, over the bound of "
                         f"{limits.human_duration(limits.MAX_DURATION_S)}")
    start = clock()

    def full_spec():
        out = build(fleet, horizon=horizon * 1.05 + 86400, start=start)
        if options.rate is not None:
            out.rate = float(options.rate)
        return out

    spec = full_spec()
    if strategy in PREDICTIVE:  # drained agents come on ahead of forecast peaks, as in simulate
        spec = predictive(spec, horizon * 1.05 + 3600)
    targets, notes = _targets(fleet, db, spec)
    if not any(targets):
        raise ClawctlError("no agent can take traffic: " + "; ".join(notes), exit_code=ExitCode.UNREACHABLE)
    timeout = options.timeout or min(max(5.0, 50 * float(np.max(spec.mean)) * options.time_scale), 3600.0)
    report = TrafficReport(fleet_name(fleet), options.seed, length.requests, length.duration, options.time_scale,
                           0.0, notes=notes)
    started = time.perf_counter()
    with frozen():  # the collector must not stall the loop, nor walk the fleet and the simulator each time
        asyncio.run(_main(spec, strategy, fleet, targets, options, length, timeout, report, progress))
    report.elapsed_s = time.perf_counter() - started
    if options.compare_sim and not report.interrupted:
        report.predicted = predict(full_spec, strategy, length, options.seed)
    if options.store:
        report.run_id = record(report, db, clock, start)
    return report


async def _main(spec, strategy, fleet, targets, options, length, timeout, report: TrafficReport,
                progress: Progress | None) -> None:
    limit = int(min(max(spec.cap.sum() * 2 + 16, 64), 10_000))
    async with AgentClient(limit=limit, timeout=timeout) as client:
        down = await asyncio.gather(*(client.ready(t.base, t.token) if t else asyncio.sleep(0) for t in targets))
        for i, why in enumerate(down):
            if targets[i] is not None and why is not None:
                report.notes.append(f"{spec.agent_ids[i]}: not ready at start: {why}")
        if not any(t is not None and why is None for t, why in zip(targets, down)):
            raise ClawctlError("no agent reachable: " + "; ".join(report.notes), exit_code=ExitCode.UNREACHABLE)
        Router(spec, strategy).pick(0, -1, 0.5, 0.5, need_free=True)  # compile the pick functions before the clock runs
        run = LiveRun(spec, strategy, fleet, targets, client, options.time_scale)
        for i, why in enumerate(down):  # an agent that did not answer starts out of rotation, as after max_fails
            if why is not None and targets[i] is not None:
                for _ in range(run.router.max_fails):
                    run.router.failed(i, 0.0)
        run.start = asyncio.get_running_loop().time()
        ticker = asyncio.ensure_future(run.tick())
        try:
            try:
                # The run ends as a simulation does: at the last arrival (or at --duration). What is still
                # waiting or in conversation then is `in_flight`, so live and simulated figures mean the same.
                await _arrive(run, spec, options.seed, length, progress)
            except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task; stop arrivals, give a grace
                report.interrupted = True
                if run.active:
                    await asyncio.wait(list(run.active.values()), timeout=GRACE_S)
            end = run.now()
            if length.duration is not None and not report.interrupted:
                end = max(end, length.duration)
            report.results.append(run.outcome(end))
            report.errors = dict(run.errors)
            report.retried = run.retried
            report.driver = run.driver()
            if not report.interrupted:  # let the conversations in flight end before we hang up (not measured)
                deadline = asyncio.get_running_loop().time() + timeout * (MAX_RETRIES + 1) + GRACE_S
                while run.in_flight and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(TICK_S / 2)
        finally:
            ticker.cancel()
            for task in list(run.active.values()):  # the agents finish these conversations; we stop listening
                task.cancel()


async def _arrive(run: LiveRun, spec, seed: int, length, progress: Progress | None) -> None:
    """The simulator's requests (engine.arrival_blocks: same seed, same requests), each sent at its scaled time.
    The agents draw their own service times, so the blocks' e1 and z go unused here."""
    loop = asyncio.get_running_loop()
    done = 0
    shown = loop.time()
    for b in arrival_blocks(spec, length, seed):
        for j in range(b.t.shape[0]):
            await _until(loop, run.start + float(b.t[j]) * run.scale)
            run.arrive(Request(done + j, float(b.t[j]), int(b.types[j]), int(b.custs[j]), float(b.u1[j]),
                               float(b.u2[j]), float(b.pat[j])))
            if progress is not None and loop.time() - shown > 0.2:
                shown = loop.time()
                progress("sending", _fraction(run, length, done + j + 1))
        done += b.t.shape[0]
    if length.duration is not None:
        delay = run.start + length.duration * run.scale - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


async def _until(loop, due: float) -> None:
    """Sleep until loop time ``due``. The loop's timers fire up to a millisecond late (epoll waits whole
    milliseconds), so the driver wakes ``EARLY_S`` ahead and yields to the loop, which keeps answering
    replies, until the time comes: at most that long per arrival, nothing when arrivals are dense."""
    delay = due - loop.time()
    if delay > EARLY_S:
        await asyncio.sleep(delay - EARLY_S)
    while loop.time() < due:
        await asyncio.sleep(0)


def _fraction(run: LiveRun, length, sent: int) -> float:
    if length.requests:
        return min(sent / length.requests, 1.0)
    return min(run.now() / length.duration, 1.0) if length.duration else 0.0
