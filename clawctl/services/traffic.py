"""`clawctl traffic FLEET`: send the fleet's traffic to running agents, routed live, and measure it.

Arrivals, request types, customers and the pick variates come from the same seeded generator, drawn in
the same blocks, as `clawctl simulate` (``engine.arrival_blocks``), so a seed gives
the same requests in both. Fleet time is scaled to real time by ``time_scale`` (as `agent serve` scales
service times); waits are measured from each request's scheduled arrival, in fleet time.

Each request goes to the agent holding its customer's session if it has a free slot, else to the
strategy's pick among agents with a free slot (``Router``), else it waits in one central FIFO queue
(``traffic.queue.capacity`` and ``patience``). A conversation is one ``POST /v1/conversations?wait=1``
answered when it ends. A 429, 503, refused connection or timeout counts against the agent's passive
health and the request is retried on another agent, at most ``MAX_RETRIES`` times, then lost.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clawctl.adapters.agent_client import AgentClient, Reply
from clawctl.adapters.clock import utc_now
from clawctl.core import limits
from clawctl.core.agent_records import fleet_name
from clawctl.core.env import Clock
from clawctl.core.errors import ClawctlError, ExitCode, UsageError
from clawctl.core.sim import layout as L
from clawctl.core.sim.engine import arrival_blocks
from clawctl.core.sim.spec import ALL_STRATEGIES, STRATEGY_CODES, build, predictive
from clawctl.core.sim.stats import QUANTILES, AgentOutcome, Outcome, Summary, quantile
from clawctl.core.sim.strategies import PREDICTIVE
from clawctl.core.sim.structures import HIST_BINS, HIST_LO, HIST_RATIO
from clawctl.core.traffic.router import Router
from clawctl.services.probe import check_number, lab_endpoints
from clawctl.services.simulate import run_length
from clawctl.services.traffic_report import ERROR_KINDS, TrafficReport, predict, record
from clawctl.services.validate import load_fleet

MAX_RETRIES = 2  # attempts on other agents after the first fails
GRACE_S = 2.0  # real seconds in-flight requests get after an interrupt
TICK_S = 0.05  # real seconds between checks of business hours, passive health and patience
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
class _Request:
    n: int
    t: float  # scheduled arrival, fleet seconds
    k: int
    customer: int
    u1: float
    u2: float
    tried: set[int] = field(default_factory=set)
    queued: bool = False


@dataclass
class _Target:
    base: str
    token: str | None


def _hist(values: list[float]) -> np.ndarray:
    """The simulator's log-binned histogram (structures._hist_add) of ``values``, built at once."""
    hist = np.zeros(HIST_BINS + 2, dtype=np.int64)
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return hist
    bins = np.where(x <= 0, 0, np.where(x < HIST_LO, 1, 0))
    big = x >= HIST_LO
    bins[big] = np.minimum(np.floor(np.log(x[big] / HIST_LO) / math.log(HIST_RATIO)).astype(np.int64) + 2,
                           HIST_BINS + 1)
    np.add.at(hist, bins, 1)
    return hist


def _summary(values: list[float]) -> Summary:
    if not values:
        return Summary(math.nan, math.nan, math.nan, math.nan)
    hist = _hist(values)
    return Summary(float(np.mean(values)), *(quantile(hist, q) for q in QUANTILES))


class _Run:
    """One live run: the router, the central queue, the counts; every method runs on the event loop."""

    def __init__(self, spec, strategy: str, fleet, targets: list[_Target | None], client: AgentClient,
                 scale: float) -> None:
        lb = fleet.load_balancing
        self.spec, self.strategy, self.targets, self.client, self.scale = spec, strategy, targets, client, scale
        self.router = Router(spec, strategy, max_fails=lb.passive.max_fails, fail_timeout=lb.passive.fail_timeout)
        for i, target in enumerate(targets):  # agents not served here are never picked
            if target is None:
                self.router.excluded[i] = True
        mix = fleet.traffic.mix if fleet.traffic is not None and fleet.traffic.mix else []
        self.channels = {m.name: m.channel for m in mix}
        self.queue: deque[_Request] = deque()
        self.active: dict[int, asyncio.Task] = {}
        self.holding: dict[int, tuple[int, float]] = {}  # request -> (agent, fleet time sent): slots in use
        self.start = 0.0
        self.counts = dict.fromkeys(("arrived", "served", "rejected", "abandoned", "lost"), 0)
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.retried = 0
        self.waits: list[float] = []
        self.sojourns: list[float] = []
        self.waited = 0
        n = len(spec.agent_ids)
        self.served_by = np.zeros(n, dtype=np.int64)
        self.busy_s = np.zeros(n)
        self.wait_by = np.zeros(n)
        self.area_q = self.area_sys = 0.0
        self.last_t = 0.0

    def now(self) -> float:
        """Fleet seconds since the start."""
        return (asyncio.get_running_loop().time() - self.start) / self.scale

    def _mark(self) -> float:
        t = self.now()
        dt = max(t - self.last_t, 0.0)
        self.area_q += len(self.queue) * dt
        self.area_sys += (len(self.queue) + len(self.active)) * dt
        self.last_t = max(t, self.last_t)
        return t

    # -- routing ------------------------------------------------------------------------------------
    def _place(self, req: _Request) -> int:
        i = self.router.holder(req.customer, req.k)
        if i in req.tried:
            i = -1
        if i < 0:
            i = self.router.pick(req.k, req.customer, req.u1, req.u2, need_free=True, avoid=req.tried)
        return i

    def arrive(self, req: _Request) -> None:
        t = self._mark()
        self.router.advance(t)
        self.counts["arrived"] += 1
        self._expire(t)
        i = self._place(req)
        if i >= 0:
            self._send(req, i)
            return
        if 0 <= self.spec.qcap <= len(self.queue):
            self.counts["rejected"] += 1
            return
        req.queued = True
        self.queue.append(req)

    def _send(self, req: _Request, i: int) -> None:
        self.router.started(i, req.customer)
        req.tried.add(i)
        self.holding[req.n] = (i, self.now())
        self.active[req.n] = asyncio.ensure_future(self._attempt(req, i))

    async def _attempt(self, req: _Request, i: int) -> None:
        target = self.targets[i]
        began = self.now()
        body = {"customer_id": f"c{req.customer}" if req.customer >= 0 else f"r{req.n}",
                "type": self.spec.type_names[req.k]}
        channel = self.channels.get(self.spec.type_names[req.k])
        if channel:
            body["channel"] = channel
        reply: Reply = await self.client.converse(target.base, target.token, body)
        t = self._mark()
        self.active.pop(req.n, None)
        self.holding.pop(req.n, None)
        self.router.ended(i)
        if reply.kind == "ok":
            self.router.succeeded(i)
            self.counts["served"] += 1
            wait = max(began - req.t, 0.0)
            self.waits.append(wait)
            self.sojourns.append(max(t - req.t, 0.0))
            self.waited += int(req.queued)
            self.served_by[i] += 1
            self.busy_s[i] += max(t - began, 0.0)
            self.wait_by[i] += wait
        else:
            self.errors[reply.kind] += 1
            self.router.failed(i, t)
            if len(req.tried) <= MAX_RETRIES:
                self.retried += 1
                j = self._place(req)
                if j >= 0:
                    self._send(req, j)
                else:
                    self.queue.appendleft(req)  # it arrived before anything still waiting
            else:
                self.counts["lost"] += 1
        self.dispatch()

    def _expire(self, t: float) -> None:
        """Requests that waited past their patience leave (FIFO with one patience: the head goes first)."""
        patience = self.spec.patience
        while self.queue and t - self.queue[0].t > patience:
            self.queue.popleft()
            self.counts["abandoned"] += 1

    def dispatch(self) -> None:
        """Hand waiting requests, oldest first, to free eligible agents."""
        t = self._mark()
        self._expire(t)
        if not self.queue:
            return
        ag = self.router.ag
        left: deque[_Request] = deque()
        while self.queue:
            if not np.any((ag[:, L.A_BUSY] < ag[:, L.A_CAP]) & (ag[:, L.A_FAILED] != 2) & (ag[:, L.A_AVAIL] == 1)
                          & ~self.router.excluded):
                break
            req = self.queue.popleft()
            i = self._place(req)
            if i >= 0:
                self._send(req, i)
            else:
                left.append(req)
        left.extend(self.queue)
        self.queue = left

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            t = self._mark()
            self.router.advance(t)
            self.dispatch()

    # -- the result ---------------------------------------------------------------------------------
    def outcome(self, end: float) -> Outcome:
        spec, c = self.spec, self.counts
        self._expire(end)
        self._mark()
        span = max(end, 1e-12)
        caps = spec.cap.astype(float)
        busy = self.busy_s.copy()  # conversations still going at the end count up to it, as in the simulator
        for i, sent in self.holding.values():
            busy[i] += max(end - sent, 0.0)
        agents = [AgentOutcome(spec.agent_ids[i], int(self.served_by[i]), float(busy[i] / (caps[i] * span)),
                               float(self.wait_by[i] / self.served_by[i]) if self.served_by[i] else None,
                               int(self.router.ag[i, L.A_BUSY])) for i in range(len(spec.agent_ids))]
        met = sum(1 for w in self.waits if w <= spec.sla_wait)
        finished = len(self.waits) + c["rejected"] + c["abandoned"]
        return Outcome(
            strategy=self.strategy, arrived=c["arrived"], served=c["served"], rejected=c["rejected"],
            abandoned=c["abandoned"], lost=c["lost"], transferred=0, retried=self.retried,
            in_flight=len(self.queue) + len(self.active), queued=len(self.queue), overflow=0,
            utilization=float(busy.sum() / (caps.sum() * span)) if caps.sum() else 0.0,
            sla_attainment=met / finished if finished else None,
            p_wait=self.waited / len(self.waits) if self.waits else None,
            wait=_summary(self.waits), sojourn=_summary(self.sojourns), elapsed_sim_s=end, warmup_s=0.0,
            mean_in_system=self.area_sys / span, mean_queue=self.area_q / span, agents=agents)


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
    if fleet.traffic is not None and fleet.traffic.queue.discipline == "per_agent":
        raise UsageError("traffic.queue.discipline per_agent is not supported by `clawctl traffic` yet; "
                         "use central")
    return strategy


def traffic(path: str, options: TrafficOptions, db: Path | None = None, *, clock: Clock = utc_now) -> TrafficReport:
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
    asyncio.run(_main(spec, strategy, fleet, targets, options, length, timeout, report))
    report.elapsed_s = time.perf_counter() - started
    if options.compare_sim and not report.interrupted:
        report.predicted = predict(full_spec, strategy, length, options.seed)
    if options.store:
        report.run_id = record(report, db, clock, start)
    return report


async def _main(spec, strategy, fleet, targets, options, length, timeout, report: TrafficReport) -> None:
    limit = int(min(max(spec.cap.sum() * 2 + 16, 64), 10_000))
    async with AgentClient(limit=limit, timeout=timeout) as client:
        down = await asyncio.gather(*(client.ready(t.base, t.token) if t else asyncio.sleep(0) for t in targets))
        for i, why in enumerate(down):
            if targets[i] is not None and why is not None:
                report.notes.append(f"{spec.agent_ids[i]}: not ready at start: {why}")
        if not any(t is not None and why is None for t, why in zip(targets, down)):
            raise ClawctlError("no agent reachable: " + "; ".join(report.notes), exit_code=ExitCode.UNREACHABLE)
        Router(spec, strategy).pick(0, -1, 0.5, 0.5, need_free=True)  # compile the pick functions before the clock runs
        run = _Run(spec, strategy, fleet, targets, client, options.time_scale)
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
                await _arrive(run, spec, options.seed, length)
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
            if not report.interrupted:  # let the conversations in flight end before we hang up (not measured)
                deadline = asyncio.get_running_loop().time() + timeout * (MAX_RETRIES + 1) + GRACE_S
                while (run.active or run.queue) and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(TICK_S / 2)
        finally:
            ticker.cancel()
            for task in list(run.active.values()):  # the agents finish these conversations; we stop listening
                task.cancel()


async def _arrive(run: _Run, spec, seed: int, length) -> None:
    """The simulator's requests (engine.arrival_blocks: same seed, same requests), each sent at its scaled time.
    The agents draw their own service times, so the blocks' e1 and z go unused here."""
    loop = asyncio.get_running_loop()
    done = 0
    for b in arrival_blocks(spec, length, seed):
        for j in range(b.t.shape[0]):
            delay = run.start + float(b.t[j]) * run.scale - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            run.arrive(_Request(done + j, float(b.t[j]), int(b.types[j]), int(b.custs[j]), float(b.u1[j]),
                                float(b.u2[j])))
        done += b.t.shape[0]
    if length.duration is not None:
        delay = run.start + length.duration * run.scale - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
