"""Kernel building blocks: log-binned histograms, the event heap, and pooled FIFO queues (numba)."""

from __future__ import annotations

import math

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (  # noqa: F401 (HIST_* re-exported)
    HIST_BINS,
    HIST_LO,
    HIST_RATIO,
    C_EPOCH,
    C_NEXT,
    C_OWNER,
    C_PREV,
    H_A,
    H_B,
    H_EPOCH,
    H_FREE,
    H_KIND,
    H_NEXT,
    H_TOP,
    HEAP_N,
    K_DEPART,
    POOL_FREE,
    Q_HEAD,
    Q_LEN,
    Q_TAIL,
    QUEUED,
    S_EPOCH,
)

_LOG_RATIO = math.log(HIST_RATIO)


@njit(cache=True, _nrt=False)
def _hist_add(hist, x):
    if x <= 0.0:
        hist[0] += 1
    elif x < HIST_LO:
        hist[1] += 1
    else:
        b = int(math.log(x / HIST_LO) / _LOG_RATIO) + 2
        hist[min(b, hist.shape[0] - 1)] += 1


# -- the event heap ------------------------------------------------------------------------------
# heap_t[H, 2] is a binary heap of (time, payload row) pairs ordered by time; heap_i[H, ...] holds each
# entry's payload (kind, a, b, epoch) in a row that does not move while the entry is in the heap. Freed rows
# are linked through H_NEXT from cnt[H_FREE] (-1: none), rows never used start at cnt[H_TOP]. A sift moves
# 16 contiguous bytes a level, not the whole entry: at tens of thousands of conversations in progress the
# heap outgrows the caches.
@njit(cache=True, _nrt=False)
def _sift_down(heap_t, n, i):
    t = heap_t[i, 0]
    r = heap_t[i, 1]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap_t[c + 1, 0] < heap_t[c, 0]:
            c += 1
        if heap_t[c, 0] >= t:
            break
        heap_t[i, 0] = heap_t[c, 0]
        heap_t[i, 1] = heap_t[c, 1]
        i = c
    heap_t[i, 0] = t
    heap_t[i, 1] = r


@njit(cache=True, _nrt=False)
def _free_row(heap_i, cnt, r):
    heap_i[r, H_NEXT] = cnt[H_FREE]
    cnt[H_FREE] = r


@njit(cache=True, _nrt=False)
def _compact(heap_t, heap_i, cnt, slot_i, cell_i):
    """Drop stale entries and restore the heap order (called when the heap is full).

    Stale: a departure whose slot was freed or frozen since (epoch moved on), an abandonment whose
    request already left its queue (served or moved). An abandonment stays in the heap until its
    patience runs out even when the request is served first, so without this a bounded queue with
    patience overflows its heap. Live entries are at most one per busy slot and one per waiting
    request, which the engine's heap size always exceeds.
    """
    n = cnt[HEAP_N]
    m = 0
    for j in range(n):
        r = int(heap_t[j, 1])
        a = heap_i[r, H_A]
        if heap_i[r, H_KIND] == K_DEPART:
            live = slot_i[a, heap_i[r, H_B], S_EPOCH] == heap_i[r, H_EPOCH]
        else:
            live = cell_i[a, C_EPOCH] == heap_i[r, H_EPOCH] and cell_i[a, C_OWNER] >= 0
        if live:
            heap_t[m, 0] = heap_t[j, 0]
            heap_t[m, 1] = heap_t[j, 1]
            m += 1
        else:
            _free_row(heap_i, cnt, r)
    cnt[HEAP_N] = m
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(heap_t, m, i)


@njit(cache=True, _nrt=False)
def _push(heap_t, heap_i, cnt, t, kind, a, b, epoch, slot_i, cell_i):
    if cnt[HEAP_N] >= heap_t.shape[0]:
        _compact(heap_t, heap_i, cnt, slot_i, cell_i)
    r = cnt[H_FREE]
    if r >= 0:
        cnt[H_FREE] = heap_i[r, H_NEXT]
    else:
        r = cnt[H_TOP]
        cnt[H_TOP] = r + 1
    heap_i[r, H_KIND] = kind
    heap_i[r, H_A] = a
    heap_i[r, H_B] = b
    heap_i[r, H_EPOCH] = epoch
    i = cnt[HEAP_N]
    cnt[HEAP_N] = i + 1
    while i > 0:
        p = (i - 1) >> 1
        if heap_t[p, 0] <= t:
            break
        heap_t[i, 0] = heap_t[p, 0]
        heap_t[i, 1] = heap_t[p, 1]
        i = p
    heap_t[i, 0] = t
    heap_t[i, 1] = r


@njit(cache=True, _nrt=False)
def _pop(heap_t, heap_i, cnt, out):
    """Pop the earliest entry into out[kind, a, b, epoch]."""
    r = int(heap_t[0, 1])
    out[H_KIND] = heap_i[r, H_KIND]
    out[H_A] = heap_i[r, H_A]
    out[H_B] = heap_i[r, H_B]
    out[H_EPOCH] = heap_i[r, H_EPOCH]
    _free_row(heap_i, cnt, r)
    n = cnt[HEAP_N] - 1
    cnt[HEAP_N] = n
    heap_t[0, 0] = heap_t[n, 0]
    heap_t[0, 1] = heap_t[n, 1]
    _sift_down(heap_t, n, 0)


# -- queues ------------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _q_push(qi, cell_i, q, cell):
    cell_i[cell, C_OWNER] = q
    cell_i[cell, C_NEXT] = -1
    tail = qi[q, Q_TAIL]
    cell_i[cell, C_PREV] = tail
    if tail >= 0:
        cell_i[tail, C_NEXT] = cell
    else:
        qi[q, Q_HEAD] = cell
    qi[q, Q_TAIL] = cell
    qi[q, Q_LEN] += 1


@njit(cache=True, _nrt=False)
def _q_remove(qi, cell_i, cell):
    q = cell_i[cell, C_OWNER]
    p = cell_i[cell, C_PREV]
    n = cell_i[cell, C_NEXT]
    if p >= 0:
        cell_i[p, C_NEXT] = n
    else:
        qi[q, Q_HEAD] = n
    if n >= 0:
        cell_i[n, C_PREV] = p
    else:
        qi[q, Q_TAIL] = p
    qi[q, Q_LEN] -= 1
    cell_i[cell, C_OWNER] = -1
    return q


@njit(cache=True, _nrt=False)
def _release_cell(cell_i, pool, cnt, cell):
    cell_i[cell, C_EPOCH] += 1
    pool[cnt[POOL_FREE]] = cell
    cnt[POOL_FREE] += 1
    cnt[QUEUED] -= 1
