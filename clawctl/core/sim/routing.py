"""Load-balancing strategies inside the kernel (numba): which agent a request goes to."""

from __future__ import annotations

from numba import njit

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


# -- choosing an agent -------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _usable(ag, i, k, elig, need_free, excluded):
    if not elig[k, i] or ag[i, A_AVAIL] == 0 or ag[i, A_FAILED] == 2 or excluded[i] or ag[i, A_WEIGHT] <= 0:
        return False
    return not need_free or ag[i, A_BUSY] < ag[i, A_CAP]


@njit(cache=True, _nrt=False)
def choose(strategy, k, cust, u1, u2, ag, agf, elig, cap_match, last_agent, weights4, need_free, excluded, cnt):
    """The agent a request of type ``k`` goes to, or -1 (semantics: research/sim-anchors.md section 3)."""
    n = ag.shape[0]
    if strategy == RR:
        start = cnt[RR_PTR]
        for j in range(n):
            i = (start + j) % n
            if _usable(ag, i, k, elig, need_free, excluded):
                cnt[RR_PTR] = (i + 1) % n
                return i
        return -1
    if strategy == WRR or strategy == LEAST or strategy == PRIORITY:
        # nginx least_conn: the minimum of load/weight (cross-multiplied); the tied peers (all of them
        # for plain weighted round robin) go through smooth weighted round robin.
        least = strategy != WRR
        best = -1
        bl = 0
        bw = 1
        if least:
            for i in range(n):
                if _usable(ag, i, k, elig, need_free, excluded):
                    if best == -1 or ag[i, A_LOAD] * bw < bl * ag[i, A_WEIGHT]:
                        best = i
                        bl = ag[i, A_LOAD]
                        bw = ag[i, A_WEIGHT]
            if best == -1:
                return -1
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
    if strategy == RANDOM:
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
    if strategy == P2C:
        # Envoy least_request: two uniform draws with replacement; the second wins only with
        # strictly fewer active requests, so ties go to the first draw.
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
    # SCORED: capability x w0 + performance x w1 + (1 - load) x w2 + customer history x w3
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
