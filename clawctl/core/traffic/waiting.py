"""Where live requests wait when no eligible agent has a free slot: the simulator's queues, kept by the router.

The two disciplines of ``traffic.queue`` behave as in the simulation kernel (``kernel._arrive`` and
``kernel._pull``):

- ``central``: one queue per (priority, request type). When a slot frees on agent ``i``, ``i`` takes the
  oldest request it is eligible for; under the ``priority`` strategy the highest priority goes first,
  then the oldest. ``capacity`` bounds all waiting requests together.
- ``per_agent``: the strategy picks an agent even when it is full, and the request waits in that
  agent's own queue; ``capacity`` bounds each agent's queue. A freed slot takes the head of its own
  queue. When an agent goes out (passive health) or off shift, its queue goes back through the
  balancer (:meth:`Waiting.take_all`).

Each request carries its own patience (``traffic.queue.patience``: fixed, or drawn per request from the
same stream as the simulation's, ``engine.arrival_blocks``); it leaves when it has waited that long since
its arrival, wherever it waits. Times are fleet seconds, handed in by the caller.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)  # compared by identity: a queue removes the very request that gave up
class Request:
    """One live request: its place in the arrival sequence, scheduled arrival (fleet s), type and customer
    (-1: anonymous), the pick variates drawn for it, its patience (s; inf: it waits for ever), and what
    happened to it so far."""

    n: int
    t: float
    k: int
    customer: int
    u1: float
    u2: float
    patience: float = math.inf
    tried: set[int] = field(default_factory=set)
    queued: bool = False  # it waited in a queue before it was first sent
    agent: int = -1  # per-agent queues: the agent it waits at
    waiting: bool = False  # in a queue now


class Waiting:
    def __init__(self, n_agents: int, t_prio: np.ndarray, *, per_agent: bool, capacity: int,
                 by_priority: bool) -> None:
        """``capacity`` < 0: unbounded. ``t_prio[k]``: request type k's priority, 0 the highest."""
        self.per_agent = per_agent
        self.capacity = capacity
        self.by_priority = by_priority
        self.t_prio = [int(p) for p in t_prio]
        n_types = len(self.t_prio)
        self.queues: list[deque[Request]] = [deque() for _ in range(n_agents if per_agent else 3 * n_types)]
        self.count = 0
        self.deadlines: list[tuple[float, int, Request]] = []  # (arrival + patience, n, request), a heap

    def __len__(self) -> int:
        return self.count

    def at(self, i: int) -> int:
        """Requests waiting at agent ``i`` (per-agent queues; 0 under a central queue)."""
        return len(self.queues[i]) if self.per_agent else 0

    def _queue_of(self, req: Request, agent: int) -> int:
        return agent if self.per_agent else self.t_prio[req.k] * (len(self.queues) // 3) + req.k

    def full(self, agent: int = -1) -> bool:
        if self.capacity < 0:
            return False
        return (len(self.queues[agent]) if self.per_agent else self.count) >= self.capacity

    def push(self, req: Request, agent: int = -1, *, front: bool = False) -> bool:
        """Queue ``req`` (at ``agent`` under per-agent queues); False when the queue is full (rejected).
        ``front``: it arrived before those waiting (a retry), so it goes first."""
        if self.full(agent):
            return False
        q = self.queues[self._queue_of(req, agent)]
        if front:
            q.appendleft(req)
        else:
            q.append(req)
        req.agent = agent if self.per_agent else -1
        req.waiting = True
        self.count += 1
        if req.patience != math.inf:
            heapq.heappush(self.deadlines, (req.t + req.patience, req.n, req))
        return True

    def pull(self, i: int, elig: np.ndarray) -> Request | None:
        """The request agent ``i`` takes when a slot frees, or None (``elig[k, i]``: type k may go to i)."""
        if self.per_agent:
            q = self.queues[i]
            if not q:
                return None
            self.count -= 1
            req = q.popleft()
            req.waiting = False
            return req
        best: deque[Request] | None = None
        best_key = (99, math.inf)
        for q in self.queues:
            if not q or not elig[q[0].k, i]:
                continue
            head = q[0]
            key = (self.t_prio[head.k] if self.by_priority else 0, head.t)
            if key < best_key:
                best, best_key = q, key
        if best is None:
            return None
        self.count -= 1
        req = best.popleft()
        req.waiting = False
        return req

    def expire(self, t: float) -> list[Request]:
        """The waiting requests whose patience has run out at fleet time ``t`` (waited longer than it since
        their arrival); they leave, oldest deadline first."""
        gone: list[Request] = []
        heap = self.deadlines
        while heap and heap[0][0] < t:
            _, _, req = heapq.heappop(heap)
            if not req.waiting:
                continue  # sent, or queued again later (that push has its own entry)
            self.queues[self._queue_of(req, req.agent)].remove(req)
            req.waiting = False
            gone.append(req)
        self.count -= len(gone)
        return gone

    def take_all(self, i: int) -> list[Request]:
        """Agent ``i``'s own queue, emptied (it went out or off shift): they go back through the balancer."""
        if not self.per_agent or not self.queues[i]:
            return []
        out = list(self.queues[i])
        self.queues[i].clear()
        self.count -= len(out)
        for req in out:
            req.waiting = False
        return out
