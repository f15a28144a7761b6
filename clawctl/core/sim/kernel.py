"""The simulation kernel: one event loop over arrays, compiled with numba (pure, no I/O).

Events: arrivals (from the block the driver hands in), departures and abandonments (one binary heap
of arrays), availability edges and failures (sorted arrays, read by pointer), and sample ticks.
Nothing is allocated per request: a waiting request lives in a pooled cell of a doubly linked FIFO
(central: one per priority and request type; per-agent: one per agent), a conversation in a slot
of its agent. Statistics are counters and log-binned histograms, so memory is flat in run length.

Array layouts (columns are the constants of ``clawctl.core.sim.layout``) are allocated by
``clawctl.core.sim.engine``.
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
    A_SERVED,
    A_WEIGHT,
    ABANDONED,
    AREA_Q,
    AREA_SYS,
    ARRIVED,
    BUSY_TOT,
    C_ARR,
    C_CUST,
    C_E,
    C_EPOCH,
    C_OWNER,
    C_TYPE,
    C_Z,
    D_PTR,
    F_AREA,
    F_LAST,
    F_MEAN,
    F_MU,
    F_NWAIT,
    F_SLA,
    F_PTR,
    F_SIGMA,
    F_WAIT,
    H_A,
    H_B,
    H_EPOCH,
    H_KIND,
    HEAP_N,
    K_ABANDON,
    K_DEPART,
    LAST_T,
    LOST,
    MEASURED,
    MEASURED_SOJ,
    NOW,
    OVERFLOW,
    P_DETECT,
    P_PATIENCE,
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
    S_FROZEN,
    S_OCC,
    S_TYPE,
    SAMPLE_I,
    SERVED,
    SLA_MET,
    SLA_MISS,
    SOJ_SUM,
    STARTED,
    TR_PTR,
    TRANSFERRED,
    WAIT_SQ,
    WAIT_SUM,
)
from clawctl.core.sim.routing import choose
from clawctl.core.sim.structures import (
    _hist_add,
    _pop,
    _push,
    _q_push,
    _q_remove,
    _release_cell,
)


# -- conversations --------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _area(ag, agf, i, t):
    agf[i, F_AREA] += ag[i, A_BUSY] * (t - agf[i, F_LAST])
    agf[i, F_LAST] = t


@njit(cache=True, _nrt=False)
def _start(i, t, arr_t, k, cust, e1, z, service, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
           params, last_agent, record, cell_i):
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
def _free_slot(i, s, t, ag, agf, slot_i, free, cnt):
    _area(ag, agf, i, t)
    slot_i[i, s, S_OCC] = 0
    slot_i[i, s, S_EPOCH] += 1
    ag[i, A_BUSY] -= 1
    ag[i, A_LOAD] -= 1
    cnt[BUSY_TOT] -= 1
    free[i, ag[i, A_FREE]] = s
    ag[i, A_FREE] += 1


# -- queues: taking work when a slot frees --------------------------------------------------------
@njit(cache=True, _nrt=False)
def _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f, free,
          heap_t, heap_i, cnt, fst, hw, params, last_agent):
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
        arr_t = cell_f[cell, C_ARR]
        k = cell_i[cell, C_TYPE]
        cust = cell_i[cell, C_CUST]
        e1 = cell_f[cell, C_E]
        z = cell_f[cell, C_Z]
        _release_cell(cell_i, pool, cnt, cell)
        _start(i, t, arr_t, k, cust, e1, z, -1.0, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
               params, last_agent, True, cell_i)


# -- arrivals ------------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _arrive(t, arr_t, k, cust, e1, z, u1, u2, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i,
            cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4,
            excluded):
    """Route a request: to a free agent, else into a queue, else rejected (loss)."""
    need_free = not per_agent
    tried = 0
    i = -1
    while True:
        i = choose(strategy, k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded,
                   cnt)
        if i < 0 or ag[i, A_FAILED] == 0:
            break
        # down but not yet detected: the attempt fails and the balancer tries the next peer
        cnt[RETRIED] += 1
        excluded[i] = True
        tried += 1
        u1 = (u1 * 7.0 + 0.5) % 1.0
        u2 = (u2 * 11.0 + 0.25) % 1.0
    if tried:
        for j in range(ag.shape[0]):
            excluded[j] = False
    if i >= 0 and ag[i, A_BUSY] < ag[i, A_CAP] and ag[i, A_AVAIL] == 1:
        _start(i, t, arr_t, k, cust, e1, z, -1.0, ag, agf, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
               params, last_agent, True, cell_i)
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
    _q_push(qi, cell_i, q, cell)
    if per_agent:
        ag[i, A_LOAD] += 1
    cnt[QUEUED] += 1
    patience = params[P_PATIENCE]
    if patience < math.inf:
        _push(heap_t, heap_i, cnt, arr_t + patience, K_ABANDON, cell, 0, cell_i[cell, C_EPOCH], slot_i,
              cell_i)


# -- failures --------------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _freeze(i, t, ag, slot_i, slot_f):
    """Agent i is down: its conversations stop (their departures no longer count)."""
    ag[i, A_FAILED] = 1
    for s in range(ag[i, A_CAP]):
        if slot_i[i, s, S_OCC] == 1:
            slot_i[i, s, S_EPOCH] += 1
            slot_f[i, s, S_FROZEN] = t


@njit(cache=True, _nrt=False)
def _fail_over(i, t, ag, agf, elig, bk_ptr, bk_idx, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params,
               last_agent, cell_i):
    """Detected: move each frozen conversation to the first backup that can take it, or lose it."""
    ag[i, A_FAILED] = 2
    for s in range(ag[i, A_CAP]):
        if slot_i[i, s, S_OCC] != 1:
            continue
        k = slot_i[i, s, S_TYPE]
        cust = slot_i[i, s, S_CUST]
        arr_t = slot_f[i, s, S_ARR]
        remaining = slot_f[i, s, S_END] - slot_f[i, s, S_FROZEN]
        _free_slot(i, s, t, ag, agf, slot_i, free, cnt)
        moved = False
        for p in range(bk_ptr[i], bk_ptr[i + 1]):
            j = bk_idx[p]
            if ag[j, A_FAILED] == 0 and ag[j, A_AVAIL] == 1 and ag[j, A_WEIGHT] > 0 and elig[k, j] \
                    and ag[j, A_BUSY] < ag[j, A_CAP]:
                _start(j, t, arr_t, k, cust, 0.0, 0.0, max(remaining, 0.0), ag, agf, slot_i, slot_f, free, heap_t,
                       heap_i, cnt, fst, hw, params, last_agent, False, cell_i)
                cnt[TRANSFERRED] += 1
                moved = True
                break
        if not moved:
            cnt[LOST] += 1


@njit(cache=True, _nrt=False)
def _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
             free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded):
    """Requests waiting in the own queue of an agent detected down or going off shift go back through the
    balancer."""
    if not per_agent:
        return
    while qi[i, Q_HEAD] >= 0:
        cell = qi[i, Q_HEAD]
        _q_remove(qi, cell_i, cell)
        ag[i, A_LOAD] -= 1
        arr_t = cell_f[cell, C_ARR]
        k = cell_i[cell, C_TYPE]
        cust = cell_i[cell, C_CUST]
        e1 = cell_f[cell, C_E]
        z = cell_f[cell, C_Z]
        _release_cell(cell_i, pool, cnt, cell)
        # fresh, deterministic draws for the new pick (e1 and z are independent uniforms' transforms)
        u1 = 1.0 - math.exp(-e1)
        u2 = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
        _arrive(t, arr_t, k, cust, e1, z, u1, u2, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi,
                cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent,
                weights4, excluded)


@njit(cache=True, _nrt=False)
def run_block(a_t, a_type, a_cust, a_e, a_z, a_u1, a_u2, t_limit, strategy, per_agent, params, weights4,
              ag, agf, elig, cap_match, t_prio, bk_ptr, bk_idx, tr_t, tr_agent, tr_open, f_t, f_agent,
              qi, cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, last_agent, excluded,
              cnt, fst, hw, hs, samp_t, samp_q, samp_busy, samp_agent, out):
    """Process every event before ``t_limit``: this block's arrivals and everything they cause."""
    n = ag.shape[0]
    m = a_t.shape[0]
    n_tr = tr_t.shape[0]
    n_f = f_t.shape[0]
    n_samp = samp_t.shape[0]
    detect = params[P_DETECT]
    ai = 0
    inf = math.inf
    while True:
        t_arr = a_t[ai] if ai < m else inf
        t_dep = heap_t[0] if cnt[HEAP_N] > 0 else inf
        t_tr = tr_t[cnt[TR_PTR]] if cnt[TR_PTR] < n_tr else inf
        t_f = f_t[cnt[F_PTR]] if cnt[F_PTR] < n_f else inf
        t_d = f_t[cnt[D_PTR]] + detect if cnt[D_PTR] < cnt[F_PTR] else inf
        t_s = samp_t[cnt[SAMPLE_I]] if cnt[SAMPLE_I] < n_samp else inf
        t = min(t_arr, t_dep, t_tr, t_f, t_d, t_s)
        if t >= t_limit or t == inf:
            break
        dt = t - fst[LAST_T]
        if dt > 0:
            fst[AREA_Q] += cnt[QUEUED] * dt
            fst[AREA_SYS] += (cnt[QUEUED] + cnt[BUSY_TOT]) * dt
            fst[LAST_T] = t
        fst[NOW] = t
        if t == t_s:
            j = cnt[SAMPLE_I]
            samp_q[j] = cnt[QUEUED]
            samp_busy[j] = cnt[BUSY_TOT]
            for i in range(n):
                samp_agent[j, i] = ag[i, A_BUSY]
            cnt[SAMPLE_I] = j + 1
        elif t == t_dep:
            _pop(heap_t, heap_i, cnt, out)
            if out[H_KIND] == K_DEPART:
                i = out[H_A]
                s = out[H_B]
                if slot_i[i, s, S_EPOCH] != out[H_EPOCH]:
                    continue  # frozen by a failure, moved or lost
                arr_t = slot_f[i, s, S_ARR]
                cnt[SERVED] += 1
                ag[i, A_SERVED] += 1
                if arr_t >= params[P_WARM]:
                    cnt[MEASURED_SOJ] += 1
                    fst[SOJ_SUM] += t - arr_t
                    _hist_add(hs, t - arr_t)
                _free_slot(i, s, t, ag, agf, slot_i, free, cnt)
                _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
                      free, heap_t, heap_i, cnt, fst, hw, params, last_agent)
            else:
                cell = out[H_A]
                if cell_i[cell, C_EPOCH] != out[H_EPOCH] or cell_i[cell, C_OWNER] < 0:
                    continue  # already served
                q = _q_remove(qi, cell_i, cell)
                if per_agent:
                    ag[q, A_LOAD] -= 1
                _release_cell(cell_i, pool, cnt, cell)
                cnt[ABANDONED] += 1
        elif t == t_tr:
            p = cnt[TR_PTR]
            cnt[TR_PTR] = p + 1
            i = tr_agent[p]
            ag[i, A_AVAIL] = tr_open[p]
            if tr_open[p] == 1:
                _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
                      free, heap_t, heap_i, cnt, fst, hw, params, last_agent)
            else:
                # off shift: requests waiting in its own queue go back through the balancer (they
                # would otherwise wait for it to reopen, overnight, while other agents are open)
                _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool,
                         slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded)
        elif t == t_f:
            p = cnt[F_PTR]
            cnt[F_PTR] = p + 1
            if ag[f_agent[p], A_FAILED] == 0:
                _freeze(f_agent[p], t, ag, slot_i, slot_f)
        elif t == t_d:
            p = cnt[D_PTR]
            cnt[D_PTR] = p + 1
            i = f_agent[p]
            if ag[i, A_FAILED] == 1:
                _fail_over(i, t, ag, agf, elig, bk_ptr, bk_idx, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
                           params, last_agent, cell_i)
                _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool,
                         slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded)
        else:
            cnt[ARRIVED] += 1
            _arrive(t, t, a_type[ai], a_cust[ai], a_e[ai], a_z[ai], a_u1[ai], a_u2[ai], strategy, per_agent, ag, agf,
                    elig, cap_match, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, cnt, fst,
                    hw, params, last_agent, weights4, excluded)
            ai += 1
    return ai
