"""Service-time distributions of the fleet format, and sampling from them with a given generator.

``lognormal`` is given by its mean and 95th percentile (or its mean and sigma); the underlying
normal's parameters follow from  mean = exp(mu + sigma^2 / 2)  and  p95 = exp(mu + 1.6449 sigma).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


@dataclass(frozen=True, slots=True)
class Distribution:
    kind: str  # exponential | lognormal | deterministic
    mean: float
    mu: float = 0.0  # lognormal only
    sigma: float = 0.0  # lognormal only

    def sample(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean)
        if self.kind == "lognormal":
            return rng.lognormvariate(self.mu, self.sigma)
        return self.mean

    @property
    def p95(self) -> float:
        if self.kind == "exponential":
            return -self.mean * math.log(0.05)
        if self.kind == "lognormal":
            return math.exp(self.mu + Z95 * self.sigma)
        return self.mean

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (variance / mean^2)."""
        if self.kind == "exponential":
            return 1.0
        if self.kind == "lognormal":
            return math.exp(self.sigma**2) - 1.0
        return 0.0


def lognormal_sigma_from_p95(mean: float, p95: float) -> float:
    """The sigma for which a lognormal with this mean has this 95th percentile.

    Raises ValueError when no lognormal has both (p95 more than about 3.87 x the mean).
    """
    if mean <= 0 or p95 <= mean:
        raise ValueError("a lognormal's p95 must be above its mean")
    disc = Z95**2 - 2.0 * math.log(p95 / mean)
    if disc < 0:
        limit = math.exp(Z95**2 / 2)
        raise ValueError(f"no lognormal has a p95 of {p95 / mean:.2f} x its mean (at most {limit:.2f} x)")
    return Z95 - math.sqrt(disc)


def make(kind: str, mean: float, p95: float | None = None, sigma: float | None = None) -> Distribution:
    if kind == "lognormal":
        if sigma is None:
            sigma = lognormal_sigma_from_p95(mean, p95) if p95 is not None else 1.0
        mu = math.log(mean) - sigma**2 / 2
        return Distribution("lognormal", mean, mu, sigma)
    if kind in ("exponential", "deterministic"):
        return Distribution(kind, mean)
    raise ValueError(f"unknown distribution {kind}")
