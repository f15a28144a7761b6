"""Drive the kernel: draw arrivals in blocks from a seeded generator, run, and summarise (pure).

Every strategy of a comparison sees the same arrivals, request types, customers and service-time
variates (common random numbers): the seed fixes them, the strategy only decides where they go.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from clawctl.core import limits
from clawctl.core.errors import UsageError
from clawctl.core.sim import layout as L
from clawctl.core.sim.layout import HIST_BINS
from clawctl.core.sim.spec import STRATEGY_CODES, RunSpec, predictive
from clawctl.core.sim.stats import Outcome, summarise
from clawctl.core.sim.strategies import PREDICTIVE

BLOCK = 1 << 16
POOL = 1 << 20  # waiting requests at most; beyond it arrivals count as rejected (overflow)
SAMPLES = 300


@dataclass
class RunLength:
    requests: int | None = None
    duration: float | None = None

    def horizon(self, spec: RunSpec) -> float:
        if self.duration is not None:
            return self.duration
        if spec.profile == "constant":
            return (self.requests or 0) / spec.mean_rate()
        # a time-varying rate: when the expected arrivals reach the request count (hour by hour)
        want = float(self.requests or 0)
        t, got, step = 0.0, 0.0, 60.0
        while got < want and t < 1e9:
            got += float(spec.rate_at(np.array([t + step / 2]))[0]) * step
            t += step
            if t > 86400 * 2:
                step = 600.0
        return t


def state_bytes(spec: RunSpec) -> int:
    """The size of one run's arrays: per agent a slot table as wide as the largest agent, the event heap,
    the waiting pool, one history entry per customer and the per-agent samples."""
    n = len(spec.agent_ids)
    maxcap = int(spec.cap.max()) if n else 0
    pool = POOL if spec.qcap < 0 else int(min(POOL, spec.qcap * (n if spec.per_agent else 1) + 1))
    slots = n * maxcap * 8 * (1 + L.N_SI + L.N_SF)
    heap = (int(spec.cap.sum()) * 2 + pool + 16) * 8 * (2 + L.N_HI)
    cells = pool * 8 * (L.N_CI + L.N_CF + 1)
    # the routing index (index.build): per agent its row, heap place, level node and hash cells, and at
    # most one Fenwick tree per request type
    ix = n * 8 * (L.N_XI + L.N_ND + 16) + len(spec.type_names) * (n + 1) * 8
    return slots + heap + cells + ix + max(spec.customers, 1) * 8 + (SAMPLES + 1) * n * 4 \
        + n * 8 * (L.N_AG + L.N_AGF)


def check_size(spec: RunSpec) -> None:
    """Refuse a run whose arrays would pass the memory bound, saying what makes them large."""
    need = state_bytes(spec)
    if need > limits.SIM_STATE_BYTES:
        widest = int(np.argmax(spec.cap))
        raise UsageError(
            f"this simulation needs about {need / 1024**3:.1f} GiB for its state, over the bound of "
            f"{limits.SIM_STATE_BYTES / 1024**3:.0f} GiB: {len(spec.agent_ids):,} agents x "
            f"{int(spec.cap[widest]):,} slots (the most, agent `{spec.agent_ids[widest]}`); "
            "lower max_concurrent_conversations or simulate part of the fleet")


class _State:
    def __init__(self, spec: RunSpec, horizon: float) -> None:
        check_size(spec)
        n = len(spec.agent_ids)
        maxcap = int(spec.cap.max())
        self.ag = np.zeros((n, L.N_AG), dtype=np.int64)
        self.ag[:, L.A_CAP] = spec.cap
        self.ag[:, L.A_WEIGHT] = spec.weight
        self.ag[:, L.A_AVAIL] = spec.avail0
        self.ag[:, L.A_FREE] = spec.cap
        self.ag[:, L.A_KIND] = spec.kind
        self.agf = np.zeros((n, L.N_AGF))
        self.agf[:, L.F_MEAN] = spec.mean
        self.agf[:, L.F_MU] = spec.mu
        self.agf[:, L.F_SIGMA] = spec.sigma
        self.agf[:, L.F_PERF] = spec.perf
        # each agent's free-slot stack holds 0..cap-1, slot 0 on top: free[i, j] = cap_i - 1 - j
        self.free = np.maximum(spec.cap.reshape(-1, 1) - 1 - np.arange(maxcap).reshape(1, -1), 0).astype(np.int64)
        self.slot_i = np.zeros((n, maxcap, L.N_SI), dtype=np.int64)
        self.slot_f = np.zeros((n, maxcap, L.N_SF))
        pool = POOL if spec.qcap < 0 else int(min(POOL, spec.qcap * (n if spec.per_agent else 1) + 1))
        self.cell_i = np.full((pool, L.N_CI), -1, dtype=np.int64)
        self.cell_i[:, L.C_EPOCH] = 0
        self.cell_f = np.zeros((pool, L.N_CF))
        self.pool = np.arange(pool - 1, -1, -1, dtype=np.int64)
        nq = n if spec.per_agent else 3 * len(spec.type_names)
        self.qi = np.full((nq, 3), -1, dtype=np.int64)
        self.qi[:, L.Q_LEN] = 0
        heap = int(spec.cap.sum()) * 2 + pool + 16
        self.heap_t = np.zeros((heap, 2))  # (time, payload row) pairs: structures.py
        self.heap_i = np.zeros((heap, L.N_HI), dtype=np.int64)
        self.last_agent = np.full(max(spec.customers, 1), -1, dtype=np.int64)
        self.excluded = np.zeros(n, dtype=np.bool_)
        self.cnt = np.zeros(L.N_CNT, dtype=np.int64)
        self.out = np.zeros(L.N_HI, dtype=np.int64)  # the heap entry the kernel pops into (H_NEXT unused)
        self.cnt[L.POOL_FREE] = pool
        self.cnt[L.H_FREE] = -1  # no freed payload row yet (structures.py)
        self.fst = np.zeros(L.N_FST)
        self.hw = np.zeros(HIST_BINS + 2, dtype=np.int64)
        self.hs = np.zeros(HIST_BINS + 2, dtype=np.int64)
        self.samp_t = np.linspace(0.0, horizon, SAMPLES + 1)[1:] if horizon > 0 else np.zeros(0)
        self.samp_q = np.zeros(len(self.samp_t))
        self.samp_busy = np.zeros(len(self.samp_t))
        self.samp_agent = np.zeros((len(self.samp_t), n), dtype=np.int32)


def _arrivals(spec: RunSpec, rng: np.random.Generator, t0: float, count: int) -> np.ndarray:
    """The next ``count`` arrival times after ``t0`` (thinning of a Poisson process at the peak rate)."""
    peak = spec.max_rate
    if peak <= 0:
        return np.full(count, math.inf)
    out: list[np.ndarray] = []
    have = 0
    t = t0
    while have < count:
        k = max(count - have, 256)
        cand = t + np.cumsum(rng.exponential(1.0 / peak, size=int(k * 1.2) + 8))
        if spec.profile != "constant":
            keep = rng.random(cand.shape[0]) * peak < spec.rate_at(cand)
            t = cand[-1]
            cand = cand[keep]
        else:
            t = cand[-1]
        out.append(cand)
        have += cand.shape[0]
    return np.concatenate(out)[:count]


@dataclass
class Block:
    """One block of arrivals and each request's own variates, drawn in the order the seed fixes."""

    t: np.ndarray  # arrival times, seconds from the start
    types: np.ndarray  # request type (index into the mix)
    custs: np.ndarray  # customer, or -1
    e1: np.ndarray  # standard exponential and normal: the service time, made by the agent that serves it
    z: np.ndarray
    u1: np.ndarray  # two uniforms for the routing draws (random, p2c)
    u2: np.ndarray
    last: bool
    t_limit: float  # the kernel runs events up to here: the next block's first arrival, or the run's end
    pat: np.ndarray | None = None  # each request's patience, seconds (inf: waits for ever)


PATIENCE_STREAM = 1  # drawn patience comes from the generator seeded with (seed, PATIENCE_STREAM)


def _patience(spec: RunSpec, prng: np.random.Generator | None, m: int) -> np.ndarray:
    """The patience of a block's ``m`` requests: fixed, or drawn (one block's worth, so the stream does not
    depend on the run's length)."""
    if prng is None:
        return np.full(m, spec.patience)
    if spec.patience_dist == "exponential":
        return spec.patience * prng.standard_exponential(BLOCK)[:m]
    return np.exp(spec.patience_mu + spec.patience_sigma * prng.standard_normal(BLOCK)[:m])


def arrival_blocks(spec: RunSpec, length: RunLength, seed: int) -> Iterator[Block]:
    """The run's requests, block by block: the one source of arrivals for `simulate` and live `traffic`, so
    a seed gives the same requests to both (common random numbers across strategies too).

    A drawn patience comes from a second generator of the same seed: the arrivals, types, customers and
    variates are the same whatever the patience, so comparing patiences compares like with like."""
    rng = np.random.default_rng(seed)
    drawn = spec.patience_dist in ("exponential", "lognormal") and math.isfinite(spec.patience)
    prng = np.random.default_rng([seed, PATIENCE_STREAM]) if drawn else None
    cum = np.cumsum(spec.shares)
    total = length.requests
    done = 0
    nxt = _arrivals(spec, rng, 0.0, BLOCK)
    while True:
        block_t = nxt
        m = block_t.shape[0]
        if total is not None and done + m >= total:
            block_t = block_t[: total - done]
            m = block_t.shape[0]
        if length.duration is not None:
            block_t = block_t[block_t < length.duration]
            m = block_t.shape[0]
        types = np.searchsorted(cum, rng.random(BLOCK), side="right").clip(0, len(cum) - 1)[:m]
        custs = (rng.integers(0, spec.customers, BLOCK) if spec.customers else np.full(BLOCK, -1))[:m]
        e1 = rng.standard_exponential(BLOCK)[:m]
        z = rng.standard_normal(BLOCK)[:m]
        u1 = rng.random(BLOCK)[:m]
        u2 = rng.random(BLOCK)[:m]
        last = (total is not None and done + m >= total) or (length.duration is not None and m < nxt.shape[0]) \
            or m == 0
        if last:
            t_limit = length.duration if length.duration is not None else (block_t[-1] if m else 0.0) * (1 + 1e-12)
        else:
            nxt = _arrivals(spec, rng, float(block_t[-1]), BLOCK)
            t_limit = float(nxt[0])
        yield Block(block_t, types.astype(np.int64), custs.astype(np.int64), e1, z, u1, u2, bool(last),
                    float(t_limit), _patience(spec, prng, m))
        done += m
        if last:
            return


def simulate(spec: RunSpec, strategy: str, length: RunLength, seed: int, *, warmup: float = 0.1,
             progress: Callable[[float], None] | None = None) -> Outcome:
    """One run of ``strategy`` over the fleet; ``warmup`` is the share of the run left out of waits."""
    from clawctl.core.sim import index  # here: importing the kernel compiles or loads it (sim/jit.py)
    from clawctl.core.sim.kernel import run_block

    code = STRATEGY_CODES[strategy]
    horizon = length.horizon(spec)
    if strategy in PREDICTIVE:
        spec = predictive(spec, horizon * 1.05 + 3600)
    st = _State(spec, horizon)
    params = np.array([spec.qcap, spec.patience, spec.sla_wait, warmup * horizon, spec.detect])
    weights4 = np.array(spec.scoring, dtype=float)
    flat = [(f.at, a, f.until) for f in spec.failures for a in f.agents]  # one failure per agent, by time
    f_t = np.array([at for at, _, _ in flat], dtype=float)
    f_agent = np.array([a for _, a, _ in flat], dtype=np.int64)
    back = sorted((until, a, p) for p, (_, a, until) in enumerate(flat) if until is not None)
    r_t = np.array([b[0] for b in back], dtype=float)
    r_agent = np.array([b[1] for b in back], dtype=np.int64)
    r_fid = np.array([b[2] for b in back], dtype=np.int64)  # the failure (index of f_t) each recovery ends
    max_level = int(spec.cap.max()) + (st.cell_i.shape[0] if spec.per_agent else 0)
    ix = index.build(spec, code, spec.per_agent, max_level, st.excluded, weights4)
    index.fill(st.ag, st.agf, ix)
    total = length.requests
    done = 0
    end = 0.0
    for b in arrival_blocks(spec, length, seed):
        m = b.t.shape[0]
        run_block(b.t, b.types, b.custs, b.e1, b.z, b.u1, b.u2, b.pat, b.t_limit, code,
                  spec.per_agent, params, weights4, st.ag, st.agf, spec.elig, spec.cap_match, spec.t_prio,
                  spec.bk_ptr, spec.bk_idx, spec.tr_t, spec.tr_agent, spec.tr_open, f_t, f_agent, r_t, r_agent,
                  r_fid, st.qi, st.cell_i, st.cell_f, st.pool, st.slot_i, st.slot_f, st.free, st.heap_t, st.heap_i,
                  st.last_agent, st.excluded, st.cnt, st.fst, st.hw, st.hs, st.samp_t, st.samp_q, st.samp_busy,
                  st.samp_agent, st.out, ix)
        done += m
        if progress is not None:
            progress(min(1.0, done / total) if total else min(1.0, float(st.fst[L.NOW]) / max(horizon, 1e-9)))
        if b.last:
            end = float(b.t_limit)
    out = summarise(spec, strategy, st, end, warmup * horizon)
    out.failures = failure_rows(spec)
    return out


def failure_rows(spec: RunSpec) -> list[dict]:
    """The result's `failures`: target, at, detected_at (null when it comes back first) and, with a
    recovery, recovered_at."""
    rows = []
    for f in spec.failures:
        detected = f.at + spec.detect
        row = {"target": f.label, "at": f.at, "detected_at": detected}
        if f.until is not None:
            row["detected_at"] = detected if detected < f.until else None
            row["recovered_at"] = f.until
        rows.append(row)
    return rows
