"""A request's way through the kernel (numba): routed on arrival, started on an agent's slot, queued,
pulled from a queue when a slot frees, routed again when its agent goes away.

Every change to an agent's slots, load, hours or health is followed by ``index.touch`` so the routing
index (``ix``, see ``clawctl.core.sim.index``) stays true; without an index (``IX_SCAN``) it does nothing
and routing.choose scans the agents.
"""

from __future__ import annotations

import math

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    A_AVAIL,
    A_BUSY,
    A_CAP,
    A_FAILED,
    A_FREE,
    A_KIND,
    A_LOAD,
    A_WEIGHT,
    BUSY_TOT,
    C_ARR,
    C_CUST,
    C_E,
    C_EPOCH,
    C_PAT,
    C_TYPE,
    C_Z,
    F_AREA,
    F_LAST,
    F_MEAN,
    F_MU,
    F_NWAIT,
    F_SIGMA,
    F_SLA,
    F_WAIT,
    K_ABANDON,
    K_DEPART,
    MEASURED,
    OVERFLOW,
    P_QCAP,
    P_SLA,
    P_WARM,
    POOL_FREE,
    PRIORITY,
    Q_HEAD,
    Q_LEN,
    QUEUED,
    REJECTED,
    RETRIED,
    S_ARR,
    S_CUST,
    S_END,
    S_EPOCH,
    S_OCC,
    S_TYPE,
    SLA_MET,
    SLA_MISS,
    STARTED,
    WAIT_SQ,
    WAIT_SUM,
)
from clawctl.core.sim import index
from clawctl.core.sim.routing import choose
from clawctl.core.sim.structures import (
    _hist_add,
    _push,
    _q_push,
    _q_remove,
    _release_cell,
)


# -- conversations --------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _take_cell(cell_i, cell_f, pool, cnt, cell):
    """A waiting request taken out of its (already unlinked) cell: arrival time, type, customer, its two
    variates and its patience; the cell goes back to the pool."""
    out = (cell_f[cell, C_ARR], cell_i[cell, C_TYPE], cell_i[cell, C_CUST], cell_f[cell, C_E], cell_f[cell, C_Z],
           cell_f[cell, C_PAT])
    _release_cell(cell_i, pool, cnt, cell)
    return out


@njit(cache=True, _nrt=False)
def _area(ag, agf, i, t):
    agf[i, F_AREA] += ag[i, A_BUSY] * (t - agf[i, F_LAST])
    agf[i, F_LAST] = t


@njit(cache=True, _nrt=False)
def _start(i, t, arr_t, k, cust, e1, z, service, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
           params, last_agent, record, cell_i, ix):
    """Put a request on agent i at time t. ``service`` < 0 draws it from the agent's distribution."""
    _area(ag, agf, i, t)
    top = ag[i, A_FREE] - 1
    ag[i, A_FREE] = top
    s = free[i, top]
    if service < 0.0:
        kind = ag[i, A_KIND]
        if kind == 0:
            service = agf[i, F_MEAN] * e1
        elif kind == 1:
            service = math.exp(agf[i, F_MU] + agf[i, F_SIGMA] * z)
        else:
            service = agf[i, F_MEAN]
    slot_f[i, s, S_END] = t + service
    slot_f[i, s, S_ARR] = arr_t
    slot_i[i, s, S_TYPE] = k
    slot_i[i, s, S_CUST] = cust
    slot_i[i, s, S_OCC] = 1
    ag[i, A_BUSY] += 1
    ag[i, A_LOAD] += 1
    cnt[BUSY_TOT] += 1
    index.touch(i, ag, agf, ix)
    if record:
        cnt[STARTED] += 1
        wait = t - arr_t
        if wait <= params[P_SLA]:
            cnt[SLA_MET] += 1
        else:
            cnt[SLA_MISS] += 1
        if arr_t >= params[P_WARM]:
            cnt[MEASURED] += 1
            fst[WAIT_SUM] += wait
            fst[WAIT_SQ] += wait * wait
            _hist_add(hw, wait)
            agf[i, F_WAIT] += wait
            agf[i, F_NWAIT] += 1.0
            if wait <= params[P_SLA]:
                agf[i, F_SLA] += 1.0
    if cust >= 0:
        last_agent[cust] = i
    _push(heap_t, heap_i, cnt, t + service, K_DEPART, i, s, slot_i[i, s, S_EPOCH], slot_i, cell_i)


@njit(cache=True, _nrt=False)
def _free_slot(i, s, t, ag, agf, slot_i, free, cnt, ix):
    _area(ag, agf, i, t)
    slot_i[i, s, S_OCC] = 0
    slot_i[i, s, S_EPOCH] += 1
    ag[i, A_BUSY] -= 1
    ag[i, A_LOAD] -= 1
    cnt[BUSY_TOT] -= 1
    free[i, ag[i, A_FREE]] = s
    ag[i, A_FREE] += 1
    index.touch(i, ag, agf, ix)


# -- queues: taking work when a slot frees --------------------------------------------------------
@njit(cache=True, _nrt=False)
def _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f, free,
          heap_t, heap_i, cnt, fst, hw, params, last_agent, ix):
    """Give agent i waiting work while it has free slots, is available and up."""
    # a drained agent (weight 0) takes no new work: it is never routed to, so it must not pull either
    while ag[i, A_BUSY] < ag[i, A_CAP] and ag[i, A_AVAIL] == 1 and ag[i, A_FAILED] == 0 and ag[i, A_WEIGHT] > 0:
        cell = -1
        if per_agent:
            cell = qi[i, Q_HEAD]
        else:
            best_t = math.inf
            best_p = 99
            for q in range(qi.shape[0]):
                h = qi[q, Q_HEAD]
                if h < 0:
                    continue
                k = cell_i[h, C_TYPE]
                if not elig[k, i]:
                    continue
                p = t_prio[k] if strategy == PRIORITY else 0
                if p < best_p or (p == best_p and cell_f[h, C_ARR] < best_t):
                    best_p = p
                    best_t = cell_f[h, C_ARR]
                    cell = h
        if cell < 0:
            return
        _q_remove(qi, cell_i, cell)
        if per_agent:
            ag[i, A_LOAD] -= 1
        arr_t, k, cust, e1, z, _ = _take_cell(cell_i, cell_f, pool, cnt, cell)
        _start(i, t, arr_t, k, cust, e1, z, -1.0, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
               params, last_agent, True, cell_i, ix)


# -- arrivals ------------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _arrive(t, arr_t, k, cust, e1, z, u1, u2, pat, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi,
            cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4,
            excluded, ix):
    """Route a request: to a free agent, else into a queue, else rejected (loss). ``pat``: its patience."""
    need_free = not per_agent
    tried_list = ix[16]  # the agents excluded while this request is routed (index.build)
    fast = index.indexed(ix)
    tried = 0
    i = -1
    while True:
        if fast:
            i = index.choose(strategy, k, cust, u1, u2, ag, elig, last_agent, cnt, ix)
        else:
            i = choose(strategy, k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded,
                       cnt)
        if i < 0 or ag[i, A_FAILED] == 0:
            break
        # down but not yet detected: the attempt fails and the balancer tries the next peer
        cnt[RETRIED] += 1
        excluded[i] = True
        index.touch(i, ag, agf, ix)
        tried_list[tried] = i
        tried += 1
        u1 = (u1 * 7.0 + 0.5) % 1.0
        u2 = (u2 * 11.0 + 0.25) % 1.0
    for j in range(tried):
        excluded[tried_list[j]] = False
        index.touch(tried_list[j], ag, agf, ix)
    if i >= 0 and ag[i, A_BUSY] < ag[i, A_CAP] and ag[i, A_AVAIL] == 1:
        _start(i, t, arr_t, k, cust, e1, z, -1.0, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
               params, last_agent, True, cell_i, ix)
        return
    qcap = params[P_QCAP]
    if per_agent:
        if i < 0 or (qcap >= 0 and qi[i, Q_LEN] >= qcap):
            cnt[REJECTED] += 1
            return
        q = i
    else:
        if qcap >= 0 and cnt[QUEUED] >= qcap:
            cnt[REJECTED] += 1
            return
        q = t_prio[k] * elig.shape[0] + k
    if cnt[POOL_FREE] == 0:
        cnt[OVERFLOW] += 1
        cnt[REJECTED] += 1
        return
    cnt[POOL_FREE] -= 1
    cell = pool[cnt[POOL_FREE]]
    cell_i[cell, C_TYPE] = k
    cell_i[cell, C_CUST] = cust
    cell_f[cell, C_ARR] = arr_t
    cell_f[cell, C_E] = e1
    cell_f[cell, C_Z] = z
    cell_f[cell, C_PAT] = pat
    _q_push(qi, cell_i, q, cell)
    if per_agent:
        ag[i, A_LOAD] += 1
        index.touch(i, ag, agf, ix)
    cnt[QUEUED] += 1
    if pat < math.inf:
        _push(heap_t, heap_i, cnt, arr_t + pat, K_ABANDON, cell, 0, cell_i[cell, C_EPOCH], slot_i, cell_i)


@njit(cache=True, _nrt=False)
def _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
             free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded, ix):
    """Requests waiting in the own queue of an agent detected down or going off shift go back through the
    balancer (with their arrival time and patience: an abandonment stays due when it was)."""
    if not per_agent:
        return
    while qi[i, Q_HEAD] >= 0:
        cell = qi[i, Q_HEAD]
        _q_remove(qi, cell_i, cell)
        ag[i, A_LOAD] -= 1
        index.touch(i, ag, agf, ix)
        arr_t, k, cust, e1, z, pat = _take_cell(cell_i, cell_f, pool, cnt, cell)
        # fresh, deterministic draws for the new pick (e1 and z are independent uniforms' transforms)
        u1 = 1.0 - math.exp(-e1)
        u2 = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
        _arrive(t, arr_t, k, cust, e1, z, u1, u2, pat, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi,
                cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent,
                weights4, excluded, ix)


@njit(cache=True, _nrt=False)
def _abandon(cell, per_agent, ag, agf, qi, cell_i, pool, cnt, ix):
    """A waiting request's patience ran out: it leaves its queue."""
    q = _q_remove(qi, cell_i, cell)
    if per_agent:
        ag[q, A_LOAD] -= 1
        index.touch(q, ag, agf, ix)
    _release_cell(cell_i, pool, cnt, cell)

