"""Failures in the kernel (numba): an agent goes down (``--fail``), is detected, and may come back.

- Down (``_freeze``): its conversations stop where they are; the balancer still tries it (retried).
- Detected (``_fail_over``): each conversation moves to the first backup that can take it, or is lost;
  requests waiting in its own queue go back through the balancer.
- Back (``_recover``, ``--fail AGENT@T1-T2``): it takes work again, pulling waiting requests as an agent
  coming on shift does. Back before detection, its frozen conversations resume where they stopped.

``ag[i, A_FID]`` is the failure (an index of the kernel's failure arrays) an agent is down from, so a
detection or a recovery applies only to the failure it belongs to.
"""

from __future__ import annotations

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    A_AVAIL,
    A_BUSY,
    A_CAP,
    A_FAILED,
    A_FID,
    A_WEIGHT,
    K_DEPART,
    LOST,
    S_ARR,
    S_CUST,
    S_END,
    S_EPOCH,
    S_FROZEN,
    S_OCC,
    S_TYPE,
    TRANSFERRED,
)
from clawctl.core.sim import index
from clawctl.core.sim.flow import _free_slot, _start
from clawctl.core.sim.structures import _push


@njit(cache=True, _nrt=False)
def _freeze(i, t, fid, ag, slot_i, slot_f):
    """Agent i is down: its conversations stop (their departures no longer count)."""
    ag[i, A_FAILED] = 1
    ag[i, A_FID] = fid
    for s in range(ag[i, A_CAP]):
        if slot_i[i, s, S_OCC] == 1:
            slot_i[i, s, S_EPOCH] += 1
            slot_f[i, s, S_FROZEN] = t


@njit(cache=True, _nrt=False)
def _fail_over(i, t, ag, agf, elig, bk_ptr, bk_idx, slot_i, slot_f, free, heap_t, heap_i, cnt, fst, hw, params,
               last_agent, cell_i, ix):
    """Detected: move each frozen conversation to the first backup that can take it, or lose it."""
    ag[i, A_FAILED] = 2
    index.touch(i, ag, agf, ix)
    for s in range(ag[i, A_CAP]):
        if slot_i[i, s, S_OCC] != 1:
            continue
        k = slot_i[i, s, S_TYPE]
        cust = slot_i[i, s, S_CUST]
        arr_t = slot_f[i, s, S_ARR]
        remaining = slot_f[i, s, S_END] - slot_f[i, s, S_FROZEN]
        _free_slot(i, s, t, ag, agf, slot_i, free, cnt, ix)
        moved = False
        for p in range(bk_ptr[i], bk_ptr[i + 1]):
            j = bk_idx[p]
            if ag[j, A_FAILED] == 0 and ag[j, A_AVAIL] == 1 and ag[j, A_WEIGHT] > 0 and elig[k, j] \
                    and ag[j, A_BUSY] < ag[j, A_CAP]:
                _start(j, t, arr_t, k, cust, 0.0, 0.0, max(remaining, 0.0), ag, agf, slot_i, slot_f, free, heap_t,
                       heap_i, cnt, fst, hw, params, last_agent, False, cell_i, ix)
                cnt[TRANSFERRED] += 1
                moved = True
                break
        if not moved:
            cnt[LOST] += 1


@njit(cache=True, _nrt=False)
def _recover(i, t, ag, agf, slot_i, slot_f, heap_t, heap_i, cnt, cell_i, ix):
    """Agent i is back up (the caller then lets it pull waiting work). Not yet detected: its frozen
    conversations go on for the time they had left."""
    if ag[i, A_FAILED] == 1:
        for s in range(ag[i, A_CAP]):
            if slot_i[i, s, S_OCC] == 1:
                remaining = max(slot_f[i, s, S_END] - slot_f[i, s, S_FROZEN], 0.0)
                slot_f[i, s, S_END] = t + remaining
                _push(heap_t, heap_i, cnt, t + remaining, K_DEPART, i, s, slot_i[i, s, S_EPOCH], slot_i, cell_i)
    ag[i, A_FAILED] = 0
    index.touch(i, ag, agf, ix)

