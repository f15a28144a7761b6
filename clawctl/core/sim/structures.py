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
    H_KIND,
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
@njit(cache=True, _nrt=False)
def _sift_down(heap_t, heap_i, n, i):
    t = heap_t[i]
    k0, k1, k2, k3 = heap_i[i, 0], heap_i[i, 1], heap_i[i, 2], heap_i[i, 3]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap_t[c + 1] < heap_t[c]:
            c += 1
        if heap_t[c] >= t:
            break
        heap_t[i] = heap_t[c]
        heap_i[i, H_KIND] = heap_i[c, H_KIND]
        heap_i[i, H_A] = heap_i[c, H_A]
        heap_i[i, H_B] = heap_i[c, H_B]
        heap_i[i, H_EPOCH] = heap_i[c, H_EPOCH]
        i = c
    heap_t[i] = t
    heap_i[i, 0] = k0
    heap_i[i, 1] = k1
    heap_i[i, 2] = k2
    heap_i[i, 3] = k3


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
        a = heap_i[j, H_A]
        if heap_i[j, H_KIND] == K_DEPART:
            live = slot_i[a, heap_i[j, H_B], S_EPOCH] == heap_i[j, H_EPOCH]
        else:
            live = cell_i[a, C_EPOCH] == heap_i[j, H_EPOCH] and cell_i[a, C_OWNER] >= 0
        if live:
            heap_t[m] = heap_t[j]
            heap_i[m, H_KIND] = heap_i[j, H_KIND]
            heap_i[m, H_A] = heap_i[j, H_A]
            heap_i[m, H_B] = heap_i[j, H_B]
            heap_i[m, H_EPOCH] = heap_i[j, H_EPOCH]
            m += 1
    cnt[HEAP_N] = m
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(heap_t, heap_i, m, i)


@njit(cache=True, _nrt=False)
def _push(heap_t, heap_i, cnt, t, kind, a, b, epoch, slot_i, cell_i):
    if cnt[HEAP_N] >= heap_t.shape[0]:
        _compact(heap_t, heap_i, cnt, slot_i, cell_i)
    i = cnt[HEAP_N]
    cnt[HEAP_N] = i + 1
    while i > 0:
        p = (i - 1) >> 1
        if heap_t[p] <= t:
            break
        heap_t[i] = heap_t[p]
        heap_i[i, H_KIND] = heap_i[p, H_KIND]
        heap_i[i, H_A] = heap_i[p, H_A]
        heap_i[i, H_B] = heap_i[p, H_B]
        heap_i[i, H_EPOCH] = heap_i[p, H_EPOCH]
        i = p
    heap_t[i] = t
    heap_i[i, H_KIND] = kind
    heap_i[i, H_A] = a
    heap_i[i, H_B] = b
    heap_i[i, H_EPOCH] = epoch


@njit(cache=True, _nrt=False)
def _pop(heap_t, heap_i, cnt, out):
    """Pop the earliest entry into out[kind, a, b, epoch]."""
    out[H_KIND] = heap_i[0, H_KIND]
    out[H_A] = heap_i[0, H_A]
    out[H_B] = heap_i[0, H_B]
    out[H_EPOCH] = heap_i[0, H_EPOCH]
    n = cnt[HEAP_N] - 1
    cnt[HEAP_N] = n
    t = heap_t[n]
    k0, k1, k2, k3 = heap_i[n, 0], heap_i[n, 1], heap_i[n, 2], heap_i[n, 3]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap_t[c + 1] < heap_t[c]:
            c += 1
        if heap_t[c] >= t:
            break
        heap_t[i] = heap_t[c]
        heap_i[i, H_KIND] = heap_i[c, H_KIND]
        heap_i[i, H_A] = heap_i[c, H_A]
        heap_i[i, H_B] = heap_i[c, H_B]
        heap_i[i, H_EPOCH] = heap_i[c, H_EPOCH]
        i = c
    heap_t[i] = t
    heap_i[i, 0] = k0
    heap_i[i, 1] = k1
    heap_i[i, 2] = k2
    heap_i[i, 3] = k3


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
