"""Building blocks of the routing indexes (numba, no allocation): Fenwick trees over the agents, one binary
heap per group of agents, and a hash of the load levels of each group.

- A **Fenwick tree** per request type holds, at each agent's position, 1 (or its weight) while the agent is
  usable for that type: the number (or weight) of usable agents before a position, and the agent that
  holds the r-th unit in agent order, each in O(log n).
- A **group heap** holds the usable agents of one group, ordered by (level, smooth-WRR key descending,
  agent index) or, for the scored strategy, by (score descending, agent index); ``pos[i]`` is an agent's
  row in its group's heap.
- A **level node** counts the agents of a group on one load level and the smooth weighted round robin
  picks that level took part in (``ND_P``); the hash maps (group, level) to its node. Nodes are pooled
  (``nfree``), so a level exists only while an agent is on it.

See ``clawctl.core.sim.index`` for how the kernel uses them.
"""

from __future__ import annotations

from clawctl.core.sim.jit import njit

from clawctl.core.sim.layout import (
    G_N,
    G_OFF,
    HP_A,
    HP_H,
    HP_LEVEL,
    HP_NODE,
    LEVEL_BITS,
    ND_KEY,
    ND_N,
    ND_P,
    XC_NFREE,
)

_LEVEL_MASK = (1 << LEVEL_BITS) - 1


# -- Fenwick trees: fw[type, 1..n], one unit or one weight per usable agent -------------------------------
@njit(cache=True, _nrt=False)
def fw_add(fw, fwt, k, i, delta):
    """Add ``delta`` at agent ``i`` (0-based) in type ``k``'s tree; fwt[k] is the tree's total."""
    n = fw.shape[1] - 1
    j = i + 1
    while j <= n:
        fw[k, j] += delta
        j += j & (-j)
    fwt[k] += delta


@njit(cache=True, _nrt=False)
def fw_before(fw, k, i):
    """The units held by agents 0..i-1."""
    s = 0
    j = i
    while j > 0:
        s += fw[k, j]
        j -= j & (-j)
    return s


@njit(cache=True, _nrt=False)
def fw_select(fw, k, r, top):
    """The agent holding unit ``r`` (0-based) in agent order; ``top`` is the largest power of two <= n."""
    n = fw.shape[1] - 1
    pos = 0
    step = top
    while step > 0:
        nxt = pos + step
        if nxt <= n and fw[k, nxt] <= r:
            pos = nxt
            r -= fw[k, nxt]
        step >>= 1
    return pos


@njit(cache=True, _nrt=False)
def fw_first_above(fw, k, target, top):
    """The first agent whose running total (in agent order, itself included) is above ``target`` (a float,
    compared with the exact integer totals, as routing.pick_random compares); n when there is none."""
    n = fw.shape[1] - 1
    pos = 0
    acc = 0
    step = top
    while step > 0:
        nxt = pos + step
        if nxt <= n and not (target < acc + fw[k, nxt]):
            pos = nxt
            acc += fw[k, nxt]
        step >>= 1
    return pos


# -- group heaps ---------------------------------------------------------------------------------------------
# hp[S, ...]: the rows of every group's heap (group g's are hp[G_OFF:G_OFF + G_N]), each an agent with its
# key: level, smooth-WRR key and level node (hs: the score, for the scored strategy); pos[agent] is its row
# in its group's heap. The keys sit in the rows, so a sift reads neighbouring memory, not agents' rows.
@njit(cache=True, _nrt=False)
def _before(hp, hs, a, b, scored):
    """Whether row a comes before row b."""
    if scored:
        if hs[a] != hs[b]:
            return hs[a] > hs[b]
        return hp[a, HP_A] < hp[b, HP_A]
    if hp[a, HP_LEVEL] != hp[b, HP_LEVEL]:
        return hp[a, HP_LEVEL] < hp[b, HP_LEVEL]
    if hp[a, HP_H] != hp[b, HP_H]:
        return hp[a, HP_H] > hp[b, HP_H]
    return hp[a, HP_A] < hp[b, HP_A]


@njit(cache=True, _nrt=False)
def _move(hp, hs, pos, off, src, dst):
    """Row src to row dst (both absolute)."""
    hp[dst, HP_A] = hp[src, HP_A]
    hp[dst, HP_LEVEL] = hp[src, HP_LEVEL]
    hp[dst, HP_H] = hp[src, HP_H]
    hp[dst, HP_NODE] = hp[src, HP_NODE]
    hs[dst] = hs[src]
    pos[hp[dst, HP_A]] = dst - off


@njit(cache=True, _nrt=False)
def _sift(hp, hs, pos, off, count, p, scored):
    """Move the row at relative position p up or down to its place; the spare row hp[off + count] holds
    it meanwhile (every heap has one more row than agents)."""
    spare = off + count
    _move(hp, hs, pos, off, off + p, spare)
    while p > 0:
        q = (p - 1) >> 1
        if not _before(hp, hs, spare, off + q, scored):
            break
        _move(hp, hs, pos, off, off + q, off + p)
        p = q
    while True:
        c = 2 * p + 1
        if c >= count:
            break
        if c + 1 < count and _before(hp, hs, off + c + 1, off + c, scored):
            c += 1
        if not _before(hp, hs, off + c, spare, scored):
            break
        _move(hp, hs, pos, off, off + c, off + p)
        p = c
    _move(hp, hs, pos, off, spare, off + p)


@njit(cache=True, _nrt=False)
def heap_insert(grp, hp, hs, pos, g, i, level, h, node, score, scored):
    off = grp[g, G_OFF]
    c = grp[g, G_N]
    r = off + c
    hp[r, HP_A] = i
    hp[r, HP_LEVEL] = level
    hp[r, HP_H] = h
    hp[r, HP_NODE] = node
    hs[r] = score
    pos[i] = c
    grp[g, G_N] = c + 1
    _sift(hp, hs, pos, off, c + 1, c, scored)


@njit(cache=True, _nrt=False)
def heap_remove(grp, hp, hs, pos, g, i, scored):
    off = grp[g, G_OFF]
    c = grp[g, G_N] - 1
    grp[g, G_N] = c
    p = pos[i]
    if p < c:
        _move(hp, hs, pos, off, off + c, off + p)
        _sift(hp, hs, pos, off, c, p, scored)


@njit(cache=True, _nrt=False)
def heap_fix(grp, hp, hs, pos, g, i, scored):
    """Agent i's key (in its row) changed: restore its group's heap order."""
    _sift(hp, hs, pos, grp[g, G_OFF], grp[g, G_N], pos[i], scored)


# -- level nodes and their hash (open addressing, linear probing, backward-shift deletion) --------------------
@njit(cache=True, _nrt=False)
def _slot(g, level, mask):
    # both products stay below 2**63 (level < 2**22, group < 2**30), so Python and numba agree
    return ((level * 2654435769) ^ (g * 2246822519)) & mask


@njit(cache=True, _nrt=False)
def node_get(hk, hv, nd, nfree, xc, g, level):
    """The node of (group g, level), created if it does not exist; one more agent on it."""
    mask = hk.shape[0] - 1
    key = (g << LEVEL_BITS) | level
    s = _slot(g, level, mask)
    while hk[s] != -1:
        if hk[s] == key:
            node = hv[s]
            nd[node, ND_N] += 1
            return node
        s = (s + 1) & mask
    top = xc[XC_NFREE] - 1
    xc[XC_NFREE] = top
    node = nfree[top]
    nd[node, ND_P] = 0
    nd[node, ND_N] = 1
    nd[node, ND_KEY] = key
    hk[s] = key
    hv[s] = node
    return node


@njit(cache=True, _nrt=False)
def node_leave(hk, hv, nd, nfree, xc, node):
    """One agent fewer on the node; the last one out frees it (and its hash entry)."""
    nd[node, ND_N] -= 1
    if nd[node, ND_N] > 0:
        return
    mask = hk.shape[0] - 1
    key = nd[node, ND_KEY]
    s = _slot(key >> LEVEL_BITS, key & _LEVEL_MASK, mask)
    while hk[s] != key:
        s = (s + 1) & mask
    j = s
    while True:  # backward shift: move up every later entry of the run that may live at s
        j = (j + 1) & mask
        if hk[j] == -1:
            break
        h = _slot(hk[j] >> LEVEL_BITS, hk[j] & _LEVEL_MASK, mask)
        if (j > s and (h <= s or h > j)) or (j < s and h <= s and h > j):
            hk[s] = hk[j]
            hv[s] = hv[j]
            s = j
    hk[s] = -1
    nfree[xc[XC_NFREE]] = node
    xc[XC_NFREE] += 1
