"""Array layouts of the simulation state: the column constants every kernel module shares."""

from __future__ import annotations

from clawctl.core.sim.strategies import BY_NAME

# histograms: log-spaced bins of waits and times in system (no numba here: importing the kernel is costly)
HIST_LO = 1e-4
HIST_RATIO = 1.002
HIST_BINS = 12_700  # HIST_LO * HIST_RATIO ** HIST_BINS ~ 1e7 s
# strategies: the codes of the strategy table; numba reads these module-level ints as compile-time constants
RR = BY_NAME["round_robin"].code
WRR = BY_NAME["weighted_round_robin"].code
LEAST = BY_NAME["least_conn"].code
P2C = BY_NAME["p2c"].code
RANDOM = BY_NAME["random"].code
SCORED = BY_NAME["scored"].code
PRIORITY = BY_NAME["priority_weighted"].code
# cnt[]: counters and pointers
(ARRIVED, STARTED, SERVED, REJECTED, ABANDONED, LOST, TRANSFERRED, RETRIED, QUEUED, OVERFLOW, SLA_MET, MEASURED,
 MEASURED_SOJ, RR_PTR, SAMPLE_I, TR_PTR, F_PTR, D_PTR, HEAP_N, POOL_FREE, BUSY_TOT, SLA_MISS, R_PTR, H_FREE, H_TOP,
 N_CNT) = range(26)
# fst[]: float state
NOW, WAIT_SUM, WAIT_SQ, SOJ_SUM, AREA_Q, AREA_SYS, LAST_T, N_FST = range(8)
# ag[n, ...]: agent integers
# (A_FAILED: 0 up, 1 down and not yet detected, 2 detected; A_FID: the failure it is down from, an index of f_t)
A_CAP, A_WEIGHT, A_BUSY, A_LOAD, A_AVAIL, A_FAILED, A_FREE, A_KIND, A_SERVED, A_CURW, A_FID, N_AG = range(12)
# agf[n, ...]: agent floats
F_MEAN, F_MU, F_SIGMA, F_PERF, F_AREA, F_LAST, F_WAIT, F_NWAIT, F_SLA, N_AGF = range(10)  # F_SLA: waits within the SLA
# slot_i[n, cap, ...] and slot_f[n, cap, ...]: conversations in progress
S_TYPE, S_CUST, S_EPOCH, S_OCC, N_SI = range(5)
S_END, S_ARR, S_FROZEN, N_SF = range(4)
# cell_i[C, ...] and cell_f[C, ...]: waiting requests
C_TYPE, C_CUST, C_EPOCH, C_NEXT, C_PREV, C_OWNER, N_CI = range(7)
C_ARR, C_E, C_Z, C_PAT, N_CF = range(5)  # C_PAT: the request's own patience (seconds, inf: none)
# heap_i[H, ...]: an event's kind, a, b, epoch, and the next free row (heap_t[H, 2]: time, row; structures.py)
H_KIND, H_A, H_B, H_EPOCH, H_NEXT, N_HI = range(6)
# qi[Q, ...]: head, tail, length
Q_HEAD, Q_TAIL, Q_LEN = range(3)
K_DEPART, K_ABANDON = 0, 1
# params[]: floats (the patience of each request comes with it: a_pat, cell_f[:, C_PAT])
P_QCAP, P_PATIENCE, P_SLA, P_WARM, P_DETECT, N_PARAMS = range(6)
# -- routing indexes (clawctl.core.sim.index) ----------------------------------------------------------------
# modes: which index a strategy picks from (IX_SCAN: none, routing.choose scans every agent)
IX_SCAN, IX_COUNT, IX_WEIGHT, IX_LEVELS, IX_FLAT, IX_SCORE = range(6)
# xi[n, ...]: each agent's group, whether it is in the index, its smooth-WRR current weight while it is out
X_GROUP, X_IN, X_CW, N_XI = range(4)
# grp[G, ...]: a group's heap (offset of its rows in hp, count) and its agents' weight
G_OFF, G_N, G_W, N_GR = range(4)
# hp[S, ...]: a heap row: agent, level, smooth-WRR key (current weight - weight x the level's picks), level node
HP_A, HP_LEVEL, HP_H, HP_NODE, N_HP = range(5)
# nd[N, ...]: a level of a group: smooth-WRR picks it took part in, agents on it, its hash key
ND_P, ND_N, ND_KEY, N_ND = range(4)
# xc[]: the index's scalars
XC_MODE, XC_NEED_FREE, XC_NFREE, XC_TOP, N_XC = range(5)
LEVEL_BITS = 22  # a level key is group << LEVEL_BITS | level (levels: load, at most slots + the waiting pool)
