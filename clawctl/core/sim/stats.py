"""Summaries of a run: counts, utilisation, SLA, wait and sojourn quantiles from log-binned histograms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from clawctl.core.sim import layout as L
from clawctl.core.sim.layout import HIST_LO, HIST_RATIO

QUANTILES = (0.5, 0.95, 0.99)


def quantile(hist: np.ndarray, q: float) -> float:
    """The q-quantile of a histogram (bin 0: exactly 0; bin 1: below HIST_LO; then ratio-spaced bins)."""
    total = int(hist.sum())
    if total == 0:
        return math.nan
    rank = q * total
    cum = np.cumsum(hist)
    b = int(np.searchsorted(cum, rank, side="left"))
    b = min(b, hist.shape[0] - 1)
    if b == 0:
        return 0.0
    below = cum[b - 1]
    inside = (rank - below) / hist[b] if hist[b] else 0.5
    if b == 1:
        return HIST_LO * inside
    lo = HIST_LO * HIST_RATIO ** (b - 2)
    return lo * HIST_RATIO ** min(max(inside, 0.0), 1.0)


@dataclass
class Summary:
    mean: float
    p50: float
    p95: float
    p99: float

    def as_dict(self) -> dict:
        return {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 6))
                for k, v in (("mean", self.mean), ("p50", self.p50), ("p95", self.p95), ("p99", self.p99))}


def _summary(total: float, count: int, hist: np.ndarray) -> Summary:
    mean = total / count if count else math.nan
    return Summary(mean, *(quantile(hist, q) for q in QUANTILES))


@dataclass
class AgentOutcome:
    id: str
    served: int
    utilization: float
    wait_mean: float | None
    conversations: int  # in progress at the end
    measured: int = 0  # requests it started after the warm-up (their waits are in wait_mean)
    within_sla: int = 0  # of those, how many waited no longer than the SLA's wait


@dataclass
class Outcome:
    strategy: str
    arrived: int
    served: int
    rejected: int
    abandoned: int
    lost: int
    transferred: int
    retried: int
    in_flight: int
    queued: int
    overflow: int
    utilization: float
    sla_attainment: float | None
    p_wait: float | None
    wait: Summary
    sojourn: Summary
    elapsed_sim_s: float
    warmup_s: float
    mean_in_system: float
    mean_queue: float
    agents: list[AgentOutcome] = field(default_factory=list)
    series_t: list[float] = field(default_factory=list)
    series_queue: list[float] = field(default_factory=list)
    series_utilization: list[float] = field(default_factory=list)
    series_agents: list[list[int]] = field(default_factory=list)
    wait_hist: list[int] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The spec's result object (cli.md), plus the extra counts clawctl keeps."""
        return {
            "strategy": self.strategy, "arrived": self.arrived, "served": self.served, "rejected": self.rejected,
            "abandoned": self.abandoned, "utilization": round(self.utilization, 6),
            "sla_attainment": None if self.sla_attainment is None else round(self.sla_attainment, 6),
            "wait": self.wait.as_dict(), "sojourn": self.sojourn.as_dict(),
            "agents": [{"id": a.id, "served": a.served, "utilization": round(a.utilization, 6),
                        "wait_mean": None if a.wait_mean is None else round(a.wait_mean, 6),
                        "measured": a.measured, "within_sla": a.within_sla} for a in self.agents],
            "lost": self.lost, "transferred": self.transferred, "retried": self.retried,
            "in_flight": self.in_flight, "queued": self.queued, "overflow": self.overflow,
            "p_wait": None if self.p_wait is None else round(self.p_wait, 6),
            "simulated_s": round(self.elapsed_sim_s, 3), "warmup_s": round(self.warmup_s, 3),
            "failures": self.failures,
        }


def summarise(spec, strategy: str, st, end: float, warm_t: float) -> Outcome:
    cnt, fst, ag, agf = st.cnt, st.fst, st.ag, st.agf
    # close the time-weighted areas at the end of the run
    if end > fst[L.LAST_T]:
        dt = end - fst[L.LAST_T]
        fst[L.AREA_Q] += cnt[L.QUEUED] * dt
        fst[L.AREA_SYS] += (cnt[L.QUEUED] + cnt[L.BUSY_TOT]) * dt
    areas = agf[:, L.F_AREA] + ag[:, L.A_BUSY] * np.maximum(end - agf[:, L.F_LAST], 0.0)
    caps = ag[:, L.A_CAP].astype(float)
    span = max(end, 1e-12)
    agents = [AgentOutcome(spec.agent_ids[i], int(ag[i, L.A_SERVED]), float(areas[i] / (caps[i] * span)),
                           float(agf[i, L.F_WAIT] / agf[i, L.F_NWAIT]) if agf[i, L.F_NWAIT] else None,
                           int(ag[i, L.A_BUSY]), int(agf[i, L.F_NWAIT]), int(agf[i, L.F_SLA]))
              for i in range(len(spec.agent_ids))]
    measured = int(cnt[L.MEASURED])
    waited = int(st.hw[1:].sum())
    # started (met or missed) + never started; a lost conversation had started, so it is not added again
    finished = int(cnt[L.SLA_MET] + cnt[L.SLA_MISS] + cnt[L.REJECTED] + cnt[L.ABANDONED])
    n_samp = int(cnt[L.SAMPLE_I])
    total_cap = float(caps.sum())
    failures = [{"target": f.label, "at": f.at, "detected_at": f.at + spec.detect} for f in spec.failures]
    return Outcome(
        strategy=strategy, arrived=int(cnt[L.ARRIVED]), served=int(cnt[L.SERVED]), rejected=int(cnt[L.REJECTED]),
        abandoned=int(cnt[L.ABANDONED]), lost=int(cnt[L.LOST]), transferred=int(cnt[L.TRANSFERRED]),
        retried=int(cnt[L.RETRIED]), in_flight=int(cnt[L.BUSY_TOT] + cnt[L.QUEUED]), queued=int(cnt[L.QUEUED]),
        overflow=int(cnt[L.OVERFLOW]), utilization=float(areas.sum() / (total_cap * span)),
        sla_attainment=(float(cnt[L.SLA_MET]) / finished) if finished else None,
        p_wait=(waited / measured) if measured else None,
        wait=_summary(float(fst[L.WAIT_SUM]), measured, st.hw),
        sojourn=_summary(float(fst[L.SOJ_SUM]), int(cnt[L.MEASURED_SOJ]), st.hs),
        elapsed_sim_s=end, warmup_s=warm_t, mean_in_system=float(fst[L.AREA_SYS] / span),
        mean_queue=float(fst[L.AREA_Q] / span), agents=agents,
        series_t=st.samp_t[:n_samp].tolist(), series_queue=st.samp_q[:n_samp].tolist(),
        series_utilization=(st.samp_busy[:n_samp] / total_cap).tolist(),
        series_agents=st.samp_agent[:n_samp].tolist(), wait_hist=st.hw.tolist(), failures=failures,
    )
