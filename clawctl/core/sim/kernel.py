"""The simulation kernel: one event loop over arrays, compiled with numba (pure, no I/O).

Events: arrivals (from the block the driver hands in), departures and abandonments (one binary heap
of arrays), availability edges and failures (sorted arrays, read by pointer), and sample ticks.
Nothing is allocated per request: a waiting request lives in a pooled cell of a doubly linked FIFO
(central: one per priority and request type; per-agent: one per agent), a conversation in a slot
of its agent. Statistics are counters and log-binned histograms, so memory is flat in run length.

Array layouts (columns are the constants of ``clawctl.core.sim.layout``) are allocated by
``clawctl.core.sim.engine``. A request's way through (routing, slots, queues) is in ``flow``, failures and
recoveries in ``failures``, the routing indexes in ``index``.
"""

from __future__ import annotations

import math

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    A_FAILED,
    A_FID,
    A_SERVED,
    A_BUSY,
    A_AVAIL,
    ABANDONED,
    AREA_Q,
    AREA_SYS,
    ARRIVED,
    BUSY_TOT,
    C_EPOCH,
    C_OWNER,
    D_PTR,
    F_PTR,
    H_A,
    H_B,
    H_EPOCH,
    H_KIND,
    HEAP_N,
    K_DEPART,
    LAST_T,
    MEASURED_SOJ,
    NOW,
    P_DETECT,
    P_WARM,
    QUEUED,
    R_PTR,
    S_ARR,
    S_EPOCH,
    SAMPLE_I,
    SERVED,
    SOJ_SUM,
    TR_PTR,
)
from clawctl.core.sim import index
from clawctl.core.sim.failures import _fail_over, _freeze, _recover
from clawctl.core.sim.flow import _abandon, _arrive, _free_slot, _pull, _requeue
from clawctl.core.sim.structures import _hist_add, _pop


@njit(cache=True, _nrt=False)
def run_block(a_t, a_type, a_cust, a_e, a_z, a_u1, a_u2, a_pat, t_limit, strategy, per_agent, params, weights4,
              ag, agf, elig, cap_match, t_prio, bk_ptr, bk_idx, tr_t, tr_agent, tr_open, f_t, f_agent,
              r_t, r_agent, r_fid, qi, cell_i, cell_f, pool, slot_i, slot_f, free, heap_t, heap_i, last_agent,
              excluded, cnt, fst, hw, hs, samp_t, samp_q, samp_busy, samp_agent, out, ix):
    """Process every event before ``t_limit``: this block's arrivals and everything they cause.

    ``a_pat``: each arrival's patience; ``f_t``/``f_agent``: failures (sorted by time; detection follows
    each by ``params[P_DETECT]``); ``r_t``/``r_agent``/``r_fid``: recoveries (sorted by time) and the
    failure each ends; ``ix``: the routing index (``index.build``)."""
    n = ag.shape[0]
    m = a_t.shape[0]
    n_tr = tr_t.shape[0]
    n_f = f_t.shape[0]
    n_r = r_t.shape[0]
    n_samp = samp_t.shape[0]
    detect = params[P_DETECT]
    ai = 0
    inf = math.inf
    while True:
        t_arr = a_t[ai] if ai < m else inf
        t_dep = heap_t[0, 0] if cnt[HEAP_N] > 0 else inf
        t_tr = tr_t[cnt[TR_PTR]] if cnt[TR_PTR] < n_tr else inf
        t_f = f_t[cnt[F_PTR]] if cnt[F_PTR] < n_f else inf
        t_d = f_t[cnt[D_PTR]] + detect if cnt[D_PTR] < cnt[F_PTR] else inf
        t_r = r_t[cnt[R_PTR]] if cnt[R_PTR] < n_r else inf
        t_s = samp_t[cnt[SAMPLE_I]] if cnt[SAMPLE_I] < n_samp else inf
        t = min(t_arr, t_dep, t_tr, t_f, t_d, t_s, t_r)
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
                _free_slot(i, s, t, ag, agf, slot_i, free, cnt, ix)
                _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
                      free, heap_t, heap_i, cnt, fst, hw, params, last_agent, ix)
            else:
                cell = out[H_A]
                if cell_i[cell, C_EPOCH] != out[H_EPOCH] or cell_i[cell, C_OWNER] < 0:
                    continue  # already served
                _abandon(cell, per_agent, ag, agf, qi, cell_i, pool, cnt, ix)
                cnt[ABANDONED] += 1
        elif t == t_tr:
            p = cnt[TR_PTR]
            cnt[TR_PTR] = p + 1
            i = tr_agent[p]
            ag[i, A_AVAIL] = tr_open[p]
            index.touch(i, ag, agf, ix)
            if tr_open[p] == 1:
                _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
                      free, heap_t, heap_i, cnt, fst, hw, params, last_agent, ix)
            else:
                # off shift: requests waiting in its own queue go back through the balancer (they
                # would otherwise wait for it to reopen, overnight, while other agents are open)
                _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool,
                         slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded,
                         ix)
        elif t == t_r:  # before a failure at the same time: an agent may go down again as it comes back
            p = cnt[R_PTR]
            cnt[R_PTR] = p + 1
            i = r_agent[p]
            if ag[i, A_FAILED] != 0 and ag[i, A_FID] == r_fid[p]:
                _recover(i, t, ag, agf, slot_i, slot_f, heap_t, heap_i, cnt, cell_i, ix)
                _pull(i, t, strategy, per_agent, ag, agf, elig, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f,
                      free, heap_t, heap_i, cnt, fst, hw, params, last_agent, ix)
        elif t == t_f:
            p = cnt[F_PTR]
            cnt[F_PTR] = p + 1
            if ag[f_agent[p], A_FAILED] == 0:
                _freeze(f_agent[p], t, p, ag, slot_i, slot_f)
        elif t == t_d:
            p = cnt[D_PTR]
            cnt[D_PTR] = p + 1
            i = f_agent[p]
            if ag[i, A_FAILED] == 1 and ag[i, A_FID] == p:
                _fail_over(i, t, ag, agf, elig, bk_ptr, bk_idx, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw,
                           params, last_agent, cell_i, ix)
                _requeue(i, t, strategy, per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool,
                         slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded,
                         ix)
        else:
            cnt[ARRIVED] += 1
            _arrive(t, t, a_type[ai], a_cust[ai], a_e[ai], a_z[ai], a_u1[ai], a_u2[ai], a_pat[ai], strategy,
                    per_agent, ag, agf, elig, cap_match, t_prio, qi, cell_i, cell_f, pool, slot_i, slot_f, free,
                    heap_t, heap_i, cnt, fst, hw, params, last_agent, weights4, excluded, ix)
            ai += 1
    return ai
