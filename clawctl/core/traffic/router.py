"""The live router's view of the fleet: the simulator's arrays, and the simulator's own pick functions.

A live request is routed by calling :func:`clawctl.core.sim.routing.choose` on the same agent table
the simulation kernel uses (``ag``, ``agf``, the round-robin pointer in ``cnt``), so a strategy has
one implementation for both: the smooth weighted round robin weights, least_conn's loads and p2c's
two draws are the very same code. The router keeps the table true to what it has seen:

- ``started``/``ended``: a conversation took or freed a slot (``A_BUSY``, and ``A_LOAD`` which also
  counts requests queued at the agent under per-agent queues);
- ``queued``/``dequeued``: a request waits at an agent (per-agent queues);
- ``failed``/``succeeded``: passive health as nginx does it: ``max_fails`` failed attempts within
  ``fail_timeout`` take the agent out for ``fail_timeout``; it is tried again after that;
- ``advance(t)``: business hours open and close agents at fleet time ``t`` (the spec's transitions);
- ``holder(customer)``: session affinity, the up agent that last served a repeat customer.

Time is fleet time in seconds from the start of the run, handed in by the caller (no clock here).
"""

from __future__ import annotations

import numpy as np

from clawctl.core.sim import layout as L
from clawctl.core.sim.routing import choose
from clawctl.core.sim.spec import RunSpec
from clawctl.core.sim.strategies import CODES

UP, SUSPECT, OUT = 0, 1, 2  # A_FAILED as the kernel reads it: 2 is never picked


class Router:
    def __init__(self, spec: RunSpec, strategy: str, *, max_fails: int = 3, fail_timeout: float = 10.0) -> None:
        n = len(spec.agent_ids)
        self.spec = spec
        self.code = CODES[strategy]
        self.ag = np.zeros((n, L.N_AG), dtype=np.int64)
        self.ag[:, L.A_CAP] = spec.cap
        self.ag[:, L.A_WEIGHT] = spec.weight
        self.ag[:, L.A_AVAIL] = spec.avail0
        self.agf = np.zeros((n, L.N_AGF))
        self.agf[:, L.F_PERF] = spec.perf
        self.cnt = np.zeros(L.N_CNT, dtype=np.int64)
        self.excluded = np.zeros(n, dtype=np.bool_)
        self.last_agent = np.full(max(spec.customers, 1), -1, dtype=np.int64)
        self.weights4 = np.array(spec.scoring, dtype=float)
        self.max_fails = max_fails
        self.fail_timeout = fail_timeout
        self._fails: list[list[float]] = [[] for _ in range(n)]
        self._out_until = np.full(n, np.inf)  # when each agent taken out comes back
        self._tr = 0

    # -- picking ------------------------------------------------------------------------------------
    def pick(self, k: int, customer: int, u1: float, u2: float, *, need_free: bool, avoid: set[int] = frozenset()
             ) -> int:
        """The agent for a request of type ``k``, or -1. ``avoid``: agents this request already failed on."""
        for i in avoid:
            self.excluded[i] = True
        try:
            return int(choose(self.code, k, customer, u1, u2, self.ag, self.agf, self.spec.elig, self.spec.cap_match,
                              self.last_agent, self.weights4, need_free, self.excluded, self.cnt))
        finally:
            for i in avoid:
                self.excluded[i] = False

    def holder(self, customer: int, k: int) -> int:
        """The agent holding ``customer``'s session if it is up, open, eligible and has a free slot, else -1."""
        if customer < 0:
            return -1
        i = int(self.last_agent[customer])
        if i < 0 or not self.usable(i, k) or self.ag[i, L.A_BUSY] >= self.ag[i, L.A_CAP]:
            return -1
        return i

    def usable(self, i: int, k: int) -> bool:
        ag = self.ag
        return bool(self.spec.elig[k, i]) and ag[i, L.A_AVAIL] == 1 and ag[i, L.A_FAILED] != OUT \
            and ag[i, L.A_WEIGHT] > 0

    # -- what happened ------------------------------------------------------------------------------
    def started(self, i: int, customer: int) -> None:
        self.ag[i, L.A_BUSY] += 1
        self.ag[i, L.A_LOAD] += 1
        if customer >= 0:
            self.last_agent[customer] = i

    def ended(self, i: int) -> None:
        self.ag[i, L.A_BUSY] -= 1
        self.ag[i, L.A_LOAD] -= 1

    def queued(self, i: int) -> None:
        self.ag[i, L.A_LOAD] += 1

    def dequeued(self, i: int) -> None:
        self.ag[i, L.A_LOAD] -= 1

    def failed(self, i: int, t: float) -> bool:
        """A failed attempt on agent ``i`` at fleet time ``t``; True when it takes the agent out."""
        recent = [f for f in self._fails[i] if f > t - self.fail_timeout]
        recent.append(t)
        self._fails[i] = recent
        if self.max_fails > 0 and len(recent) >= self.max_fails and self.ag[i, L.A_FAILED] != OUT:
            self.ag[i, L.A_FAILED] = OUT
            self._out_until[i] = t + self.fail_timeout
            self._fails[i] = []
            return True
        return False

    def succeeded(self, i: int) -> None:
        self._fails[i] = []

    def advance(self, t: float) -> list[int]:
        """Apply business-hours edges and the end of passive-health timeouts up to ``t``; the agents that
        became usable (callers hand them waiting requests)."""
        return self.edges(t)[0]

    def edges(self, t: float) -> tuple[list[int], list[int]]:
        """As :meth:`advance`, also returning the agents whose shift ended (per-agent queues move off them)."""
        opened: list[int] = []
        closed: list[int] = []
        spec = self.spec
        while self._tr < len(spec.tr_t) and spec.tr_t[self._tr] <= t:
            i = int(spec.tr_agent[self._tr])
            self.ag[i, L.A_AVAIL] = int(spec.tr_open[self._tr])
            (opened if spec.tr_open[self._tr] == 1 else closed).append(i)
            self._tr += 1
        if self._out_until.min() <= t:  # an agent's time out is over (O(1) while none is out)
            back = np.nonzero((self.ag[:, L.A_FAILED] == OUT) & (self._out_until <= t))[0]
            for i in back:
                self.ag[i, L.A_FAILED] = UP
                self._out_until[i] = np.inf
                opened.append(int(i))
        return opened, closed

    def can_take(self, i: int) -> bool:
        """Agent ``i`` may start a conversation now: a free slot, open, not out, not drained (the kernel's
        ``_pull`` condition)."""
        ag = self.ag
        return bool(ag[i, L.A_BUSY] < ag[i, L.A_CAP] and ag[i, L.A_AVAIL] == 1 and ag[i, L.A_FAILED] != OUT
                    and ag[i, L.A_WEIGHT] > 0 and not self.excluded[i])

    def is_out(self, i: int) -> bool:
        return self.ag[i, L.A_FAILED] == OUT
