"""Load-balancing strategies inside the kernel (numba): which agent a request goes to.

One pick function per strategy, and ``choose``, which dispatches on the strategy's code. The codes
and the name of each strategy's pick function are in ``clawctl.core.sim.strategies``.

Every pick function takes the same arguments: the request type ``k``, its customer ``cust`` (-1 for
none), two uniform variates ``u1`` and ``u2`` drawn for this request, the agent arrays ``ag`` and
``agf``, the eligibility ``elig[type, agent]``, the capability match share ``cap_match[type, agent]``,
each customer's last agent ``last_agent``, the scoring weights ``weights4``, whether the agent needs a
free slot (``need_free``: central queue), the agents excluded for this request, and the counters
``cnt``. Each returns an agent index, or -1 when no agent is usable. An agent is usable when it is
eligible for the type, open, not a detected failure, not excluded, of weight above 0, and (with
``need_free``) has a free slot.
"""

from __future__ import annotations

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    A_AVAIL,
    A_BUSY,
    A_CAP,
    A_CURW,
    A_FAILED,
    A_LOAD,
    A_WEIGHT,
    F_PERF,
    LEAST,
    P2C,
    PRIORITY,
    RANDOM,
    RR,
    RR_PTR,
    WRR,
)


@njit(cache=True, _nrt=False)
def _usable(ag, i, k, elig, need_free, excluded):
    if not elig[k, i] or ag[i, A_AVAIL] == 0 or ag[i, A_FAILED] == 2 or excluded[i] or ag[i, A_WEIGHT] <= 0:
        return False
    return not need_free or ag[i, A_BUSY] < ag[i, A_CAP]


@njit(cache=True, _nrt=False)
def _smooth_wrr(ag, k, elig, need_free, excluded, least, bl, bw):
    """nginx smooth weighted round robin over the usable agents (with ``least``: only those whose
    load/weight equals bl/bw, compared by cross-multiplication). Each candidate's current weight
    grows by its weight, the highest current weight wins (the first in agent order on ties), and the
    winner's current weight drops by the candidates' total weight."""
    n = ag.shape[0]
    total = 0
    pick = -1
    for i in range(n):
        if not _usable(ag, i, k, elig, need_free, excluded):
            continue
        if least and ag[i, A_LOAD] * bw != bl * ag[i, A_WEIGHT]:
            continue
        ag[i, A_CURW] += ag[i, A_WEIGHT]
        total += ag[i, A_WEIGHT]
        if pick == -1 or ag[i, A_CURW] > ag[pick, A_CURW]:
            pick = i
    if pick >= 0:
        ag[pick, A_CURW] -= total
    return pick


@njit(cache=True, _nrt=False)
def pick_round_robin(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """Round robin: from the pointer cnt[RR_PTR], the next usable agent in agent order; the pointer
    moves to the agent after it. Weights are ignored."""
    n = ag.shape[0]
    start = cnt[RR_PTR]
    for j in range(n):
        i = (start + j) % n
        if _usable(ag, i, k, elig, need_free, excluded):
            cnt[RR_PTR] = (i + 1) % n
            return i
    return -1


@njit(cache=True, _nrt=False)
def pick_weighted_round_robin(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free,
                              excluded, cnt):
    """nginx smooth weighted round robin over all usable agents (see ``_smooth_wrr``)."""
    return _smooth_wrr(ag, k, elig, need_free, excluded, False, 0, 1)


@njit(cache=True, _nrt=False)
def pick_least_conn(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """nginx least_conn: the minimum of load/weight over the usable agents, compared by
    cross-multiplication (load_i * w_best < load_best * w_i); the agents tied at that minimum go
    through smooth weighted round robin. Also the routing of priority_weighted."""
    n = ag.shape[0]
    best = -1
    bl = 0
    bw = 1
    for i in range(n):
        if _usable(ag, i, k, elig, need_free, excluded):
            if best == -1 or ag[i, A_LOAD] * bw < bl * ag[i, A_WEIGHT]:
                best = i
                bl = ag[i, A_LOAD]
                bw = ag[i, A_WEIGHT]
    if best == -1:
        return -1
    return _smooth_wrr(ag, k, elig, need_free, excluded, True, bl, bw)


@njit(cache=True, _nrt=False)
def pick_p2c(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """Envoy least_request (power of two choices): two uniform draws among the m usable agents, with
    replacement (positions int(u1 * m) and int(u2 * m)); the second wins only with strictly fewer
    active requests (A_LOAD), so ties go to the first draw. Unweighted."""
    n = ag.shape[0]
    m = 0
    for i in range(n):
        if _usable(ag, i, k, elig, need_free, excluded):
            m += 1
    if m == 0:
        return -1
    ia = min(int(u1 * m), m - 1)
    ib = min(int(u2 * m), m - 1)
    a = -1
    b = -1
    c = 0
    for i in range(n):
        if _usable(ag, i, k, elig, need_free, excluded):
            if c == ia:
                a = i
            if c == ib:
                b = i
            c += 1
    return b if ag[b, A_LOAD] < ag[a, A_LOAD] else a


@njit(cache=True, _nrt=False)
def pick_random(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """Weighted random: the usable agent whose cumulative weight interval (in agent order) holds
    u1 * total weight; the last usable agent if rounding leaves the target past the end."""
    n = ag.shape[0]
    total = 0
    for i in range(n):
        if _usable(ag, i, k, elig, need_free, excluded):
            total += ag[i, A_WEIGHT]
    if total == 0:
        return -1
    target = u1 * total
    acc = 0.0
    last = -1
    for i in range(n):
        if _usable(ag, i, k, elig, need_free, excluded):
            acc += ag[i, A_WEIGHT]
            last = i
            if target < acc:
                return i
    return last


@njit(cache=True, _nrt=False)
def pick_scored(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """Scored: capability x w0 + performance x w1 + (1 - load) x w2 + history x w3, with capability
    the request type's capability match share, performance the agent's F_PERF, load busy slots over
    capacity, and history 1 when the customer's last agent is this one. The highest score wins; ties
    go to the first in agent order."""
    n = ag.shape[0]
    best = -1
    best_s = -1e300
    for i in range(n):
        if not _usable(ag, i, k, elig, need_free, excluded):
            continue
        s = cap_match[k, i] * weights4[0] + agf[i, F_PERF] * weights4[1] \
            + (1.0 - ag[i, A_BUSY] / ag[i, A_CAP]) * weights4[2]
        if cust >= 0 and last_agent[cust] == i:
            s += weights4[3]
        if s > best_s:
            best_s = s
            best = i
    return best


@njit(cache=True, _nrt=False)
def choose(strategy, k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """The agent a request of type ``k`` goes to under the strategy with code ``strategy``, or -1.
    Any code not listed here runs as scored."""
    if strategy == RR:
        return pick_round_robin(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free,
                                excluded, cnt)
    if strategy == WRR:
        return pick_weighted_round_robin(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4,
                                         need_free, excluded, cnt)
    if strategy == LEAST or strategy == PRIORITY:
        return pick_least_conn(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free,
                               excluded, cnt)
    if strategy == RANDOM:
        return pick_random(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded,
                           cnt)
    if strategy == P2C:
        return pick_p2c(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt)
    return pick_scored(k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt)
