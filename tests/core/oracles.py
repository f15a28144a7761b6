"""Closed-form queueing oracles for the simulator's statistical tests and bench/simulate.py (pure
math, no I/O). A test helper, not a test module: the test files next to it import it as ``oracles``.

Notation: ``lam`` is the arrival rate, ``mu`` the per-slot service rate, ``c`` the number of slots,
``a = lam/mu`` the offered load and ``rho = a/c`` the utilisation (the load per slot).

Everything here is exact (up to floating point) except :func:`halfin_whitt_c`, which is an
approximation kept only as a sanity check, and :func:`batch_means_ci`, which is a statistic.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean, stdev

__all__ = [
    "MMC", "MMCK", "batch_means_ci", "en_m1_wait", "envoy_p2c_pick_probabilities", "erlang_b",
    "erlang_c", "halfin_whitt_c", "lognormal_scv", "mm1_sojourn_quantile", "mm1_w", "mm1_wq", "mmc",
    "mmck", "nginx_swrr", "pk_mg1", "supermarket", "t_quantile_975",
]


def _positive(value: float, what: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {value}")
    return float(value)


def _probability(p: float) -> float:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"quantile level must be in [0, 1), got {p}")
    return float(p)


def _bisect_tail(tail, target: float, scale: float) -> float:
    """Smallest t with ``tail(t) <= target`` for a continuous decreasing tail with tail(0) = 1."""
    lo, hi = 0.0, scale
    while tail(hi) > target:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if tail(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --- M/M/1 ---------------------------------------------------------------------------------------

def _mm1_check(lam: float, mu: float) -> None:
    _positive(mu, "mu")
    if not (lam >= 0 and lam < mu):
        raise ValueError(f"M/M/1 needs 0 <= lam < mu, got lam={lam}, mu={mu}")


def mm1_w(lam: float, mu: float) -> float:
    """M/M/1 mean sojourn time ``W = 1/(mu - lam)``."""
    _mm1_check(lam, mu)
    return 1.0 / (mu - lam)


def mm1_wq(lam: float, mu: float) -> float:
    """M/M/1 mean wait in queue ``Wq = rho/(mu - lam)`` with ``rho = lam/mu``."""
    _mm1_check(lam, mu)
    return (lam / mu) / (mu - lam)


def mm1_sojourn_quantile(lam: float, mu: float, p: float) -> float:
    """p-quantile of the M/M/1 sojourn time, which is Exp(mu - lam): ``-ln(1 - p)/(mu - lam)``."""
    _mm1_check(lam, mu)
    return -math.log1p(-_probability(p)) / (mu - lam)


# --- Erlang B / Erlang C / M/M/c -----------------------------------------------------------------

def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability of M/G/c/c, ``B(c,a) = (a^c/c!) / sum_{k<=c} a^k/k!``.

    Computed by the stable recursion ``B_0 = 1``, ``B_k = a*B_{k-1} / (k + a*B_{k-1})``.
    It depends on the service distribution only through its mean (insensitivity).
    """
    if isinstance(c, bool) or int(c) != c or c < 0:
        raise ValueError(f"c must be an integer >= 0, got {c}")
    if not (math.isfinite(a) and a >= 0):
        raise ValueError(f"offered load a must be a finite number >= 0, got {a}")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C probability of waiting in M/M/c, ``C = c*B / (c - a*(1 - B))`` with ``B = B(c, a)``.

    Requires a stable queue, ``a < c``.
    """
    if not (isinstance(c, int) and not isinstance(c, bool) and c >= 1):
        raise ValueError(f"c must be an integer >= 1, got {c}")
    if not (0 <= a < c):
        raise ValueError(f"M/M/c needs 0 <= a < c, got a={a}, c={c}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


@dataclass(frozen=True)
class MMC:
    """Steady state of the M/M/c FIFO queue (see :func:`mmc`)."""

    c: int
    lam: float
    mu: float
    p_wait: float  # Erlang C
    wq: float  # mean wait, C/(c*mu - lam)
    w: float  # mean sojourn, wq + 1/mu

    @property
    def theta(self) -> float:
        """Decay rate of the wait tail, ``theta = c*mu - lam``."""
        return self.c * self.mu - self.lam

    @property
    def lq(self) -> float:
        """Mean queue length by Little's law, ``lam * wq``."""
        return self.lam * self.wq

    @property
    def l(self) -> float:
        """Mean number in system by Little's law, ``lam * w``."""
        return self.lam * self.w

    @property
    def utilisation(self) -> float:
        """Per-slot utilisation ``rho = lam/(c*mu)``."""
        return self.lam / (self.c * self.mu)

    def wait_tail(self, t: float) -> float:
        """``P(Wq > t) = C * exp(-(c*mu - lam)*t)`` for t >= 0 (and 1 for t < 0)."""
        if t < 0:
            return 1.0
        return self.p_wait * math.exp(-self.theta * t)

    def sojourn_tail(self, t: float) -> float:
        """``P(T > t) = (1-C)e^{-mu t} + C(theta e^{-mu t} - mu e^{-theta t})/(theta - mu)``.

        Written as ``e^{-mu t}(1 + C*mu*t*g((theta-mu)t))`` with ``g(x) = (1 - e^{-x})/x``, which
        has no cancellation near ``theta == mu`` and gives the limit there: ``g(0) = 1``, so
        ``P(T > t) = e^{-mu t}(1 + C*mu*t)`` (an Erlang-2 tail when everybody waits).
        """
        if t < 0:
            return 1.0
        mu, theta, cw = self.mu, self.theta, self.p_wait
        x = (theta - mu) * t
        if x < -700.0:  # e^{-x} would overflow; theta << mu, so the direct form is well conditioned
            return (1.0 - cw) * math.exp(-mu * t) + cw * (
                theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        g = 1.0 if x == 0.0 else -math.expm1(-x) / x
        return math.exp(-mu * t) * (1.0 + cw * mu * t * g)

    def sojourn_quantile(self, p: float) -> float:
        """p-quantile of the sojourn time T, found by bisection on :meth:`sojourn_tail`."""
        p = _probability(p)
        if p == 0.0:
            return 0.0
        return _bisect_tail(self.sojourn_tail, 1.0 - p, max(self.w, 1.0 / self.mu))

    def wait_quantile(self, p: float) -> float:
        """p-quantile of the wait: 0 when ``p <= 1 - C``, else ``ln(C/(1-p)) / (c*mu - lam)``."""
        p = _probability(p)
        if p <= 1.0 - self.p_wait:
            return 0.0
        return math.log(self.p_wait / (1.0 - p)) / self.theta


def mmc(c: int, lam: float, mu: float) -> MMC:
    """M/M/c (Erlang C): ``P(wait) = C(c, a)``, ``Wq = C/(c*mu - lam)``, ``W = Wq + 1/mu``."""
    mu = _positive(mu, "mu")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    cw = erlang_c(c, lam / mu)
    wq = cw / (c * mu - lam)
    return MMC(c=c, lam=float(lam), mu=mu, p_wait=cw, wq=wq, w=wq + 1.0 / mu)


# --- M/M/c/K -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MMCK:
    """Steady state of M/M/c/K, K places in all (see :func:`mmck`)."""

    c: int
    K: int
    lam: float
    mu: float
    p_block: float
    wq: float
    w: float
    l: float
    lq: float

    @property
    def lam_eff(self) -> float:
        """Admitted rate ``lam * (1 - p_block)``."""
        return self.lam * (1.0 - self.p_block)

    @property
    def utilisation(self) -> float:
        """Per-slot utilisation ``lam*(1 - p_block)/(c*mu)``."""
        return self.lam_eff / (self.c * self.mu)


def mmck(c: int, K: int, lam: float, mu: float) -> MMCK:
    """M/M/c/K with K places in all (c in service, K - c waiting), K >= c.

    ``p_n ∝ a^n/n!`` for n <= c and ``∝ (a^c/c!) rho^{n-c}`` for c < n <= K (computed in logs, so
    large c does not overflow). ``P(block) = p_K`` (PASTA), ``Lq = sum_{n>c} (n-c) p_n``,
    ``L = sum n p_n``, ``Wq = Lq/(lam(1 - p_K))`` and ``W = Wq + 1/mu`` (= L/lam_eff by Little).
    Any ``lam >= 0`` is allowed: the system is finite.
    """
    if not (isinstance(c, int) and not isinstance(c, bool) and c >= 1):
        raise ValueError(f"c must be an integer >= 1, got {c}")
    if not (isinstance(K, int) and not isinstance(K, bool) and K >= c):
        raise ValueError(f"K must be an integer >= c, got K={K}, c={c}")
    mu = _positive(mu, "mu")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    if lam == 0:
        return MMCK(c=c, K=K, lam=0.0, mu=mu, p_block=0.0, wq=0.0, w=1.0 / mu, l=0.0, lq=0.0)
    log_a = math.log(lam / mu)
    logs = [0.0]
    for n in range(1, K + 1):
        logs.append(logs[-1] + log_a - math.log(min(n, c)))
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = math.fsum(weights)
    probs = [v / total for v in weights]
    p_block = probs[K]
    lq = math.fsum((n - c) * probs[n] for n in range(c + 1, K + 1))
    l_sys = math.fsum(n * probs[n] for n in range(K + 1))
    lam_eff = lam * (1.0 - p_block)
    wq = lq / lam_eff
    return MMCK(c=c, K=K, lam=float(lam), mu=mu, p_block=p_block, wq=wq, w=wq + 1.0 / mu, l=l_sys,
                lq=lq)


# --- M/G/1 ---------------------------------------------------------------------------------------

def pk_mg1(lam: float, mean: float, scv: float) -> float:
    """Pollaczek-Khinchine mean wait of M/G/1: ``Wq = rho(1 + Cs^2) E[S] / (2(1 - rho))``.

    Equivalently ``lam E[S^2] / (2(1 - rho))`` with ``rho = lam E[S]`` and ``Cs^2 = scv``.
    """
    mean = _positive(mean, "mean service time")
    if not (math.isfinite(scv) and scv >= 0):
        raise ValueError(f"scv must be a finite number >= 0, got {scv}")
    rho = lam * mean
    if not (lam >= 0 and rho < 1):
        raise ValueError(f"M/G/1 needs 0 <= lam*mean < 1, got {rho}")
    return rho * (1.0 + scv) * mean / (2.0 * (1.0 - rho))


def lognormal_scv(sigma: float) -> float:
    """Squared coefficient of variation of a lognormal with shape sigma: ``e^{sigma^2} - 1``."""
    return math.expm1(sigma * sigma)


# --- routing -------------------------------------------------------------------------------------

def en_m1_wait(n: int, lam: float, mu: float) -> tuple[float, float]:
    """(Wq, W) of one agent when round robin splits a Poisson stream over n single-slot agents.

    ``lam`` is the per-agent arrival rate, so the stream is Poisson(n*lam) and each agent sees
    every n-th arrival: Erlang-n gaps with rate ``n*lam`` per stage, i.e. an exact E_n/M/1 queue.
    With the gap's Laplace transform ``A*(s) = (n lam/(n lam + s))^n``, sigma is the root in
    (0, 1) of ``sigma = A*(mu(1 - sigma))`` (GI/M/1), found by bisection (the map minus sigma is
    convex, positive at 0 and negative just left of the trivial root 1 when lam < mu).
    Then ``Wq = sigma/(mu(1 - sigma))`` and ``W = Wq + 1/mu``. n = 1 gives M/M/1 (sigma = rho).
    """
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n}")
    mu = _positive(mu, "mu")
    lam = _positive(lam, "lam")
    if lam >= mu:
        raise ValueError(f"E_n/M/1 needs lam < mu, got lam={lam}, mu={mu}")
    stage = n * lam

    def excess(sigma: float) -> float:
        return math.exp(-n * math.log1p(mu * (1.0 - sigma) / stage)) - sigma

    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
    sigma = 0.5 * (lo + hi)
    wq = sigma / (mu * (1.0 - sigma))
    return wq, wq + 1.0 / mu


def supermarket(lam: float, d: int, terms: int = 200) -> float:
    """Mean sojourn of Mitzenmacher's supermarket model (N -> infinity, Exp(1) servers).

    Each arrival joins the shortest of d sampled queues; the fraction of queues holding at least i
    requests is ``lam^((d^i - 1)/(d - 1))`` and ``E[T] = sum_{i>=1} lam^((d^i - d)/(d - 1))`` for
    d >= 2. For d = 1 (random routing) it is M/M/1: ``1/(1 - lam)``. At most ``terms`` terms are
    summed; the series stops early once a term no longer changes the sum.
    """
    if not (isinstance(d, int) and not isinstance(d, bool) and d >= 1):
        raise ValueError(f"d must be an integer >= 1, got {d}")
    if not 0 <= lam < 1:
        raise ValueError(f"supermarket needs 0 <= lam < 1, got {lam}")
    if d == 1:
        return 1.0 / (1.0 - lam)
    if lam == 0:
        return 1.0
    log_lam = math.log(lam)
    total = 0.0
    for i in range(1, terms + 1):
        exponent = (d ** i - d) // (d - 1)  # exact integer: d + d^2 + ... + d^(i-1)
        term = math.exp(exponent * log_lam) if exponent * log_lam > -745.0 else 0.0
        if total and term <= total * 1e-17:
            break
        total += term
    return total


def envoy_p2c_pick_probabilities(loads: Sequence[float], choices: int = 2) -> list[float]:
    """Exact pick probabilities of Envoy's ``least_request`` with equal weights.

    Envoy draws ``choices`` hosts uniformly with replacement and keeps a later draw only if its
    active-request count is strictly lower, so the winner is the first draw that reaches the
    minimum load among the draws. For host i with ``m_lt`` hosts strictly less loaded and ``m_eq``
    hosts (itself included) equally loaded:
    ``P(i) = ((n - m_lt)^k - (n - m_lt - m_eq)^k) / (n^k * m_eq)`` with k = choices; for k = 2 this
    equals ``sum over ordered pairs (a, b) with winner(a, b) = i of 1/n^2``,
    ``winner(a, b) = b if load[b] < load[a] else a``.
    """
    if not (isinstance(choices, int) and choices >= 1):
        raise ValueError(f"choices must be an integer >= 1, got {choices}")
    n = len(loads)
    if n == 0:
        raise ValueError("loads must not be empty")
    count = Counter(loads)
    less = {}
    running = 0
    for load in sorted(count):
        less[load] = running
        running += count[load]
    k = choices
    return [((n - less[x]) ** k - (n - less[x] - count[x]) ** k) / (n ** k * count[x]) for x in loads]


def nginx_swrr(weights: Sequence[int], n: int) -> list[int]:
    """Indices of the first n picks of nginx smooth weighted round robin (no failures).

    Per pick: ``current += effective`` and ``total += effective`` for every peer; pick the peer with
    the strictly greatest ``current`` (the first peer wins ties); then ``current -= total`` for it.
    Any window of ``sum(weights)`` consecutive picks holds each peer exactly ``weight`` times.
    """
    if not weights or any(not (isinstance(w, int) and w > 0) for w in weights):
        raise ValueError(f"weights must be positive integers, got {list(weights)}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    current = [0] * len(weights)
    total = sum(weights)
    picks = []
    for _ in range(n):
        best = -1
        for i, w in enumerate(weights):
            current[i] += w
            if best < 0 or current[i] > current[best]:
                best = i
        current[best] -= total
        picks.append(best)
    return picks


# --- approximations and statistics ---------------------------------------------------------------

def halfin_whitt_c(c: int, rho: float) -> float:
    """Halfin-Whitt approximation of Erlang C: ``[1 + beta*Phi(beta)/phi(beta)]^{-1}``.

    ``beta = (1 - rho) sqrt(c)``. A sanity check only (8.5e-4 vs 5.93e-4 exact at c=1000, rho=0.9).
    """
    beta = (1.0 - rho) * math.sqrt(c)
    z = NormalDist()
    return 1.0 / (1.0 + beta * z.cdf(beta) / z.pdf(beta))


_T975 = (  # t_{0.975, df} for df = 1..30
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252,
    2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688,
    2.131449546, 2.119905299, 2.109815578, 2.100922040, 2.093024054, 2.085963447, 2.079613845,
    2.073873068, 2.068657610, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142,
    2.045229642, 2.042272456,
)


def t_quantile_975(df: int) -> float:
    """Student t quantile ``t_{0.975, df}``: a table up to df = 30, then the Cornish-Fisher
    expansion around the normal quantile (error below 1e-6 for df > 30)."""
    if not (isinstance(df, int) and df >= 1):
        raise ValueError(f"df must be an integer >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = NormalDist().inv_cdf(0.975)
    v = float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


def batch_means_ci(values: Sequence[float], batches: int = 20) -> tuple[float, float]:
    """Batch-means 95% interval ``(mean, half_width)`` for a correlated output series.

    The series is cut into ``batches`` contiguous batches of equal size (the ``len % batches``
    leftover observations are dropped from the front, next to the warm-up); the half width is
    ``t_{0.975, b-1} * s / sqrt(b)`` with s the standard deviation of the b batch means. The
    caller deletes the warm-up first.
    """
    if not (isinstance(batches, int) and batches >= 2):
        raise ValueError(f"batches must be an integer >= 2, got {batches}")
    values = list(values)
    size = len(values) // batches
    if size < 1:
        raise ValueError(f"need at least {batches} values for {batches} batches, got {len(values)}")
    start = len(values) - size * batches
    means = [fmean(values[start + j * size:start + (j + 1) * size]) for j in range(batches)]
    return fmean(means), t_quantile_975(batches - 1) * stdev(means) / math.sqrt(batches)
