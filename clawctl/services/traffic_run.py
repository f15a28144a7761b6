"""One live run of `clawctl traffic` on the event loop: routing, queues, retries, passive health and the counts.

Each request goes to the agent holding its customer's session if it has a free slot, else to the
strategy's pick (``Router``: the simulator's own pick functions). With no free eligible agent it waits
as in the simulation (``Waiting``: a central queue per priority and type, or per-agent queues), up to
``traffic.queue.capacity`` and ``patience``. A conversation is one ``POST /v1/conversations?wait=1``
answered when it ends. A 429, 503, dropped or refused connection or a timeout counts against the
agent's passive health (``max_fails`` within ``fail_timeout``) and the request is retried on another
agent, at most ``MAX_RETRIES`` times, then lost. Every method runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np

from clawctl.adapters.agent_client import AgentClient, Reply
from clawctl.core.sim import layout as L
from clawctl.core.sim.stats import QUANTILES, AgentOutcome, Outcome, Summary, quantile
from clawctl.core.sim.layout import HIST_BINS, HIST_LO, HIST_RATIO
from clawctl.core.traffic.router import Router
from clawctl.core.traffic.waiting import Request, Waiting
from clawctl.services.traffic_report import ERROR_KINDS

MAX_RETRIES = 2  # attempts on other agents after the first fails
TICK_S = 0.05  # real seconds between checks of business hours, passive health and patience


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


def summary(values: list[float]) -> Summary:
    if not values:
        return Summary(math.nan, math.nan, math.nan, math.nan)
    hist = _hist(values)
    return Summary(float(np.mean(values)), *(quantile(hist, q) for q in QUANTILES))


class LiveRun:
    def __init__(self, spec, strategy: str, fleet, targets: list, client: AgentClient, scale: float) -> None:
        lb = fleet.load_balancing
        self.spec, self.strategy, self.targets, self.client, self.scale = spec, strategy, targets, client, scale
        self.router = Router(spec, strategy, max_fails=lb.passive.max_fails, fail_timeout=lb.passive.fail_timeout)
        for i, target in enumerate(targets):  # agents not served here are never picked
            if target is None:
                self.router.excluded[i] = True
        mix = fleet.traffic.mix if fleet.traffic is not None and fleet.traffic.mix else []
        self.channels = {m.name: m.channel for m in mix}
        self.waiting = Waiting(len(spec.agent_ids), spec.t_prio, per_agent=spec.per_agent,
                               capacity=int(spec.qcap) if spec.qcap >= 0 else -1,
                               by_priority=self.router.code == L.PRIORITY)
        self.active: dict[int, asyncio.Task] = {}
        self.holding: dict[int, tuple[int, float]] = {}  # request -> (agent, fleet time sent): slots in use
        self.start = 0.0
        self.counts = dict.fromkeys(("arrived", "served", "rejected", "abandoned", "lost"), 0)
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.retried = 0
        self.waits: list[float] = []
        self.sojourns: list[float] = []
        self.lags: list[float] = []  # real seconds from a request's scheduled time to its hand-off to the client
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
        self.area_q += len(self.waiting) * dt
        self.area_sys += (len(self.waiting) + len(self.active)) * dt
        self.last_t = max(t, self.last_t)
        return t

    @property
    def in_flight(self) -> int:
        return len(self.waiting) + len(self.active)

    # -- routing ------------------------------------------------------------------------------------
    def arrive(self, req: Request) -> None:
        t = self._mark()
        self._edges(t)
        self.counts["arrived"] += 1
        self._expire(t)
        self._route(req)

    def _route(self, req: Request, *, retry: bool = False) -> None:
        """Send ``req`` to its session's holder or the strategy's pick, else queue it (or reject it)."""
        router = self.router
        i = router.holder(req.customer, req.k)
        if i in req.tried:
            i = -1
        if i < 0:
            per_agent = self.waiting.per_agent
            i = router.pick(req.k, req.customer, req.u1, req.u2, need_free=not per_agent, avoid=req.tried)
            if i < 0 and per_agent and req.tried:  # no other agent: wait at any, as the first time
                i = router.pick(req.k, req.customer, req.u1, req.u2, need_free=False)
        if i >= 0 and router.can_take(i):
            self._send(req, i)
            return
        if self.waiting.per_agent and i < 0:
            self.counts["lost" if retry else "rejected"] += 1
            return
        if not self.waiting.push(req, i, front=retry):
            self.counts["rejected"] += 1
            return
        req.queued = req.queued or not req.tried
        if self.waiting.per_agent:
            router.queued(i)

    def _send(self, req: Request, i: int) -> None:
        self.router.started(i, req.customer)
        req.tried.add(i)
        self.holding[req.n] = (i, self.now())
        self.active[req.n] = asyncio.ensure_future(self._attempt(req, i))

    async def _attempt(self, req: Request, i: int) -> None:
        target = self.targets[i]
        began = self.now()
        if len(req.tried) == 1 and not req.queued:
            self.lags.append(asyncio.get_running_loop().time() - (self.start + req.t * self.scale))
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
            if self.router.failed(i, t):
                self._requeue(i)
            if len(req.tried) <= MAX_RETRIES:
                self.retried += 1
                self._route(req, retry=True)
            else:
                self.counts["lost"] += 1
        self._pull(i)

    def _pull(self, i: int) -> None:
        """Agent ``i`` takes waiting work while it can (the kernel's ``_pull``)."""
        router, waiting = self.router, self.waiting
        while waiting.count and router.can_take(i):
            req = waiting.pull(i, self.spec.elig)
            if req is None:
                return
            if waiting.per_agent:
                router.dequeued(i)
            self._send(req, i)

    def _requeue(self, i: int) -> None:
        """Agent ``i`` went out or off shift: its own queue goes back through the balancer."""
        for req in self.waiting.take_all(i):
            self.router.dequeued(i)
            self._route(req, retry=True)

    def _expire(self, t: float) -> None:
        for req in self.waiting.expire(t):
            self.counts["abandoned"] += 1
            if req.agent >= 0:
                self.router.dequeued(req.agent)

    def _edges(self, t: float) -> None:
        opened, closed = self.router.edges(t)
        for i in closed:
            self._requeue(i)
        for i in opened:
            self._pull(i)

    def sweep(self) -> None:
        """Business hours, health timeouts and patience up to now; every agent that can take work pulls."""
        t = self._mark()
        self._edges(t)
        self._expire(t)
        if not self.waiting.count:
            return
        ag = self.router.ag
        free = np.nonzero((ag[:, L.A_BUSY] < ag[:, L.A_CAP]) & (ag[:, L.A_AVAIL] == 1)
                          & (ag[:, L.A_FAILED] != 2) & (ag[:, L.A_WEIGHT] > 0) & ~self.router.excluded)[0]
        for i in free:
            self._pull(int(i))

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.sweep()

    # -- the result ---------------------------------------------------------------------------------
    def driver(self) -> dict:
        """The driver's own overhead: real ms from each request's scheduled time to its hand-off."""
        if not self.lags:
            return {"sent": 0, "lag_p50_ms": None, "lag_p99_ms": None, "lag_max_ms": None}
        ms = np.asarray(self.lags) * 1000.0
        return {"sent": int(ms.size), "lag_p50_ms": round(float(np.percentile(ms, 50)), 3),
                "lag_p99_ms": round(float(np.percentile(ms, 99)), 3), "lag_max_ms": round(float(ms.max()), 3)}

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
            in_flight=self.in_flight, queued=len(self.waiting), overflow=0,
            utilization=float(busy.sum() / (caps.sum() * span)) if caps.sum() else 0.0,
            sla_attainment=met / finished if finished else None,
            p_wait=self.waited / len(self.waits) if self.waits else None,
            wait=summary(self.waits), sojourn=summary(self.sojourns), elapsed_sim_s=end, warmup_s=0.0,
            mean_in_system=self.area_sys / span, mean_queue=self.area_q / span, agents=agents)
