"""Routing indexes: the kernel picks an agent without looking at every agent, with exactly the picks of
the scanning pick functions in ``clawctl.core.sim.routing`` (which stay the reference, and what the live
router and any strategy without an index use).

A pick looks only at agents that are *usable*: eligible for the request's type, open, not a detected
failure, of weight above 0, not excluded for this request and (central queue) with a free slot. Usable
agents stay in the index; :func:`touch` moves an agent in or out, or to its new place, after anything
that may change it (a conversation starts or ends, a request joins or leaves its own queue, business
hours, failures, exclusion). Agents that can take the same request types form an *eligibility class*.

- ``round_robin``, ``p2c``: per request type, a Fenwick tree of usable agents (one unit each). Round
  robin takes the first usable agent at or after its pointer; p2c the int(u * m)-th of the m usable ones.
- ``random``: the same trees holding weights: the agent whose weight interval holds u1 x total.
- ``least_conn``, ``priority_weighted``, ``weighted_round_robin``: a heap per *group* (an eligibility
  class and one weight), ordered by load (least_conn; one level for weighted round robin), then by
  smooth-WRR current weight. The smooth WRR adds each candidate's weight to its current weight at every
  pick it takes part in; here the candidates of a pick are whole levels (the least loaded level of each
  group whose load/weight ties for the minimum), so each level counts its picks (``ND_P``) and an agent's
  current weight is its key (``HP_H``) plus weight x that count. The key changes only for the winner, or
  when the agent moves to another level (re-keyed from its current weight; out of the index, the current
  weight waits in ``X_CW``).
  A pick looks at the top of each eligible group's heap: the groups, not the agents.
- ``scored``: a heap per eligibility class ordered by score (capability, performance, load; the
  customer-history bonus goes to one agent, compared separately).
"""

from __future__ import annotations

import numpy as np

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    A_AVAIL,
    A_BUSY,
    A_CAP,
    A_FAILED,
    A_LOAD,
    A_WEIGHT,
    F_PERF,
    G_N,
    G_OFF,
    G_W,
    HP_A,
    HP_H,
    HP_LEVEL,
    HP_NODE,
    IX_COUNT,
    IX_FLAT,
    IX_LEVELS,
    IX_SCAN,
    IX_SCORE,
    IX_WEIGHT,
    LEAST,
    LEVEL_BITS,
    N_GR,
    N_HP,
    N_ND,
    N_XC,
    N_XI,
    ND_N,
    ND_P,
    P2C,
    PRIORITY,
    RANDOM,
    RR,
    RR_PTR,
    SCORED,
    WRR,
    X_CW,
    X_GROUP,
    X_IN,
    XC_MODE,
    XC_NEED_FREE,
    XC_NFREE,
    XC_TOP,
)
from clawctl.core.sim.ixparts import (
    fw_add,
    fw_before,
    fw_first_above,
    fw_select,
    heap_fix,
    heap_insert,
    heap_remove,
    node_get,
    node_leave,
)

MODES = {RR: IX_COUNT, P2C: IX_COUNT, RANDOM: IX_WEIGHT, LEAST: IX_LEVELS, PRIORITY: IX_LEVELS, WRR: IX_FLAT,
         SCORED: IX_SCORE}
TREE_CELLS = 1 << 25  # Fenwick cells (types x agents) at most; beyond, the strategy scans (routing.choose)
ENABLED = True  # False: every strategy scans (routing.choose), as before the index (tests compare the two)
SCAN_BELOW = 32  # agents: a smaller fleet scans, which costs no more than keeping the index (same picks)


def build(spec, code: int, per_agent: bool, max_level: int, excluded: np.ndarray, weights4: np.ndarray):
    """The empty index for a run of strategy ``code`` (filled by :func:`fill`): a tuple the kernel passes on,
    which also carries the run's ``excluded`` flags and scoring weights (what :func:`touch` reads).

    ``max_level``: the highest load an agent can reach (slots + the waiting pool)."""
    n = len(spec.agent_ids)
    elig = np.asarray(spec.elig, dtype=np.bool_)
    types = elig.shape[0]
    mode = MODES.get(code, IX_SCAN) if ENABLED and n >= SCAN_BELOW else IX_SCAN
    if mode in (IX_COUNT, IX_WEIGHT) and types * (n + 1) > TREE_CELLS:
        mode = IX_SCAN
    if mode == IX_SCORE and (not bool(np.all(np.asarray(spec.cap_match)[elig] == 1.0)) or weights4[3] < 0):
        mode = IX_SCAN  # a score that depends on the type beyond eligibility, or a history malus: scan
    if mode == IX_LEVELS and max_level >= 1 << LEVEL_BITS:
        mode = IX_SCAN
    xi = np.zeros((n, N_XI), dtype=np.int64)
    xi[:, X_GROUP] = -1
    xc = np.zeros(N_XC, dtype=np.int64)
    xc[XC_MODE] = mode
    xc[XC_NEED_FREE] = 0 if per_agent else 1
    xc[XC_TOP] = 1 << max(n.bit_length() - 1, 0)
    pos = np.zeros(n, dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    fw, fwt = np.zeros((1, 2), dtype=np.int64), np.zeros(1, dtype=np.int64)
    grp = np.zeros((1, N_GR), dtype=np.int64)
    hp, hs = np.zeros((1, N_HP), dtype=np.int64), np.zeros(1)
    tg_ptr, tg_idx = np.zeros(types + 1, dtype=np.int64), one
    nd, hk, hv, nfree = np.zeros((1, N_ND), dtype=np.int64), np.full(2, -1, dtype=np.int64), one, one
    # agent -> the types it is eligible for (CSR)
    at_ptr = np.zeros(n + 1, dtype=np.int64)
    at_ptr[1:] = np.cumsum(elig.sum(axis=0))
    at_idx = np.nonzero(elig.T)[1].astype(np.int64)
    if mode in (IX_COUNT, IX_WEIGHT):
        fw = np.zeros((types, n + 1), dtype=np.int64)
        fwt = np.zeros(types, dtype=np.int64)
    elif mode != IX_SCAN:
        # groups: agents that can be usable, by eligibility (and weight, but for the scored strategy), numbered
        # by their first agent
        weight = np.asarray(spec.weight, dtype=np.int64)
        can = np.nonzero(elig.any(axis=0) & (weight > 0))[0]
        key = np.concatenate([elig.T[can].astype(np.int64), (weight[can] * (mode != IX_SCORE)).reshape(-1, 1)],
                             axis=1)
        count = 1
        sizes = np.zeros(1, dtype=np.int64)
        firsts = np.zeros(0, dtype=np.int64)
        if can.size:
            _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
            order = np.argsort(first)
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size)
            gid = rank[np.asarray(inv).reshape(-1)]
            xi[can, X_GROUP] = gid
            count = order.size
            sizes = np.bincount(gid, minlength=count).astype(np.int64)
            firsts = can[first[order]]  # each group's first agent
        grp = np.zeros((count, N_GR), dtype=np.int64)
        grp[:, G_OFF] = np.concatenate(([0], np.cumsum(sizes + 1)[:-1]))  # a spare row each (ixparts._sift)
        grp[:, G_W] = weight[firsts] if firsts.size else 1
        rows = int((sizes + 1).sum())
        hp, hs = np.zeros((rows, N_HP), dtype=np.int64), np.zeros(rows)
        # type -> the groups eligible for it (CSR)
        g_elig = elig[:, firsts].T.reshape(firsts.size, types)
        tg_ptr[1:] = np.cumsum(g_elig.sum(axis=0))
        tg_idx = np.nonzero(g_elig.T)[1].astype(np.int64) if firsts.size else one
        if mode in (IX_LEVELS, IX_FLAT):
            nodes = n + 1
            nd = np.zeros((nodes, N_ND), dtype=np.int64)
            nfree = np.arange(nodes - 1, -1, -1, dtype=np.int64)
            xc[XC_NFREE] = nodes
            hk = np.full(1 << (2 * nodes + 1).bit_length(), -1, dtype=np.int64)
            hv = np.zeros(hk.shape[0], dtype=np.int64)
    tried = np.zeros(n + 1, dtype=np.int64)  # the agents excluded for the request being routed (ix[16])
    return (xc, xi, pos, grp, hp, hs, tg_ptr, tg_idx, at_ptr, at_idx, fw, fwt, nd, hk, hv, nfree, tried, excluded,
            np.asarray(weights4, dtype=np.float64))


@njit(cache=True, _nrt=False)
def _wanted(ag, i, need_free, excluded):
    """Agent i is usable (eligibility apart, which its group or its trees hold)."""
    if ag[i, A_AVAIL] == 0 or ag[i, A_FAILED] == 2 or excluded[i] or ag[i, A_WEIGHT] <= 0:
        return False
    return need_free == 0 or ag[i, A_BUSY] < ag[i, A_CAP]


@njit(cache=True, _nrt=False)
def touch(i, ag, agf, ix):
    """Bring agent i's place in the index up to date with its state."""
    mode = ix[0][XC_MODE]
    if mode == IX_SCAN:
        return
    xc, xi, pos, grp, hp, hs, tg_ptr, tg_idx, at_ptr, at_idx, fw, fwt, nd, hk, hv, nfree, tried, excluded, w4 = ix
    want = _wanted(ag, i, xc[XC_NEED_FREE], excluded)
    inside = xi[i, X_IN] == 1
    if mode == IX_COUNT or mode == IX_WEIGHT:
        if want == inside:
            return
        d = 1 if mode == IX_COUNT else ag[i, A_WEIGHT]
        if not want:
            d = -d
        for p in range(at_ptr[i], at_ptr[i + 1]):
            fw_add(fw, fwt, at_idx[p], i, d)
        xi[i, X_IN] = 1 if want else 0
        return
    g = xi[i, X_GROUP]
    if g < 0:
        return
    if mode == IX_SCORE:
        if want:
            # as routing.pick_scored computes it (the capability share is 1 for every eligible agent)
            s = 1.0 * w4[0] + agf[i, F_PERF] * w4[1] + (1.0 - ag[i, A_BUSY] / ag[i, A_CAP]) * w4[2]
            if inside:
                r = grp[g, G_OFF] + pos[i]
                if s != hs[r]:
                    hs[r] = s
                    heap_fix(grp, hp, hs, pos, g, i, True)
            else:
                heap_insert(grp, hp, hs, pos, g, i, 0, 0, 0, s, True)
                xi[i, X_IN] = 1
        elif inside:
            heap_remove(grp, hp, hs, pos, g, i, True)
            xi[i, X_IN] = 0
        return
    level = ag[i, A_LOAD] if mode == IX_LEVELS else 0
    w = grp[g, G_W]
    if inside:
        r = grp[g, G_OFF] + pos[i]
        if want and level == hp[r, HP_LEVEL]:
            return
        node = hp[r, HP_NODE]
        cw = hp[r, HP_H] + w * nd[node, ND_P]  # its smooth-WRR current weight
        node_leave(hk, hv, nd, nfree, xc, node)
        if want:  # to another level: re-keyed where it is in the heap
            node = node_get(hk, hv, nd, nfree, xc, g, level)
            hp[r, HP_NODE] = node
            hp[r, HP_LEVEL] = level
            hp[r, HP_H] = cw - w * nd[node, ND_P]
            heap_fix(grp, hp, hs, pos, g, i, False)
            return
        xi[i, X_CW] = cw  # written out while it is away
        heap_remove(grp, hp, hs, pos, g, i, False)
        xi[i, X_IN] = 0
        return
    if want:
        node = node_get(hk, hv, nd, nfree, xc, g, level)
        heap_insert(grp, hp, hs, pos, g, i, level, xi[i, X_CW] - w * nd[node, ND_P], node, 0.0, False)
        xi[i, X_IN] = 1


@njit(cache=True, _nrt=False)
def fill(ag, agf, ix):
    """Put every usable agent in the (empty) index."""
    for i in range(ag.shape[0]):
        touch(i, ag, agf, ix)


@njit(cache=True, _nrt=False)
def indexed(ix):
    return ix[0][XC_MODE] != IX_SCAN


@njit(cache=True, _nrt=False)
def _pick_wrr(k, ix):
    """Smooth WRR over the least loaded level of each eligible group whose load/weight is the minimum (all
    levels tie under weighted round robin, where every agent is on level 0), as routing._smooth_wrr."""
    xc, xi, pos, grp, hp, hs, tg_ptr, tg_idx, at_ptr, at_idx, fw, fwt, nd, hk, hv, nfree, tried, excluded, w4 = ix
    found = False
    bl = 0
    bw = 1
    for p in range(tg_ptr[k], tg_ptr[k + 1]):
        g = tg_idx[p]
        if grp[g, G_N] == 0:
            continue
        level = hp[grp[g, G_OFF], HP_LEVEL]
        if not found or level * bw < bl * grp[g, G_W]:
            found = True
            bl = level
            bw = grp[g, G_W]
    if not found:
        return -1
    total = 0
    pick = -1
    pick_g = -1
    pick_cw = 0
    for p in range(tg_ptr[k], tg_ptr[k + 1]):
        g = tg_idx[p]
        if grp[g, G_N] == 0:
            continue
        r = grp[g, G_OFF]
        w = grp[g, G_W]
        if hp[r, HP_LEVEL] * bw != bl * w:
            continue
        node = hp[r, HP_NODE]
        nd[node, ND_P] += 1  # every agent on this level gains its weight
        total += w * nd[node, ND_N]
        cw = hp[r, HP_H] + w * nd[node, ND_P]
        top = hp[r, HP_A]
        if pick == -1 or cw > pick_cw or (cw == pick_cw and top < pick):
            pick = top
            pick_g = g
            pick_cw = cw
    hp[grp[pick_g, G_OFF], HP_H] -= total  # the winner is its group's top
    heap_fix(grp, hp, hs, pos, pick_g, pick, False)
    return pick


@njit(cache=True, _nrt=False)
def _pick_scored(k, cust, elig, last_agent, ix):
    xc, xi, pos, grp, hp, hs, tg_ptr, tg_idx, at_ptr, at_idx, fw, fwt, nd, hk, hv, nfree, tried, excluded, w4 = ix
    best = -1
    best_s = -1e300
    for p in range(tg_ptr[k], tg_ptr[k + 1]):
        g = tg_idx[p]
        if grp[g, G_N] == 0:
            continue
        r = grp[g, G_OFF]
        top = hp[r, HP_A]
        s = hs[r]
        if s > best_s or (s == best_s and best >= 0 and top < best):
            best = top
            best_s = s
    if cust >= 0:
        h = last_agent[cust]
        if h >= 0 and h != best and xi[h, X_IN] == 1 and elig[k, h]:
            s = hs[grp[xi[h, X_GROUP], G_OFF] + pos[h]] + w4[3]  # with the history term (others unchanged)
            if s > best_s or (s == best_s and h < best):
                best = h
    return best


@njit(cache=True, _nrt=False)
def choose(strategy, k, cust, u1, u2, ag, elig, last_agent, cnt, ix):
    """routing.choose's pick, from the index (only when ``indexed(ix)``)."""
    xc, xi, pos, grp, hp, hs, tg_ptr, tg_idx, at_ptr, at_idx, fw, fwt, nd, hk, hv, nfree, tried, excluded, w4 = ix
    mode = xc[XC_MODE]
    top = xc[XC_TOP]
    if mode == IX_COUNT:
        m = fwt[k]
        if m == 0:
            return -1
        if strategy == RR:
            n = ag.shape[0]
            before = fw_before(fw, k, cnt[RR_PTR])
            i = fw_select(fw, k, before if before < m else 0, top)
            cnt[RR_PTR] = (i + 1) % n
            return i
        a = fw_select(fw, k, min(int(u1 * m), m - 1), top)
        b = fw_select(fw, k, min(int(u2 * m), m - 1), top)
        return b if ag[b, A_LOAD] < ag[a, A_LOAD] else a
    if mode == IX_WEIGHT:
        total = fwt[k]
        if total == 0:
            return -1
        i = fw_first_above(fw, k, u1 * total, top)
        if i < ag.shape[0]:
            return i
        return fw_select(fw, k, total - 1, top)  # rounding put the target past the end: the last usable
    if mode == IX_SCORE:
        return _pick_scored(k, cust, elig, last_agent, ix)
    return _pick_wrr(k, ix)
