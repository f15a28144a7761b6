"""Erlang C staffing: the call-centre formulas capacity searches start from (pure).

For an M/M/c queue with offered load ``a = lambda x mean service`` (in erlangs), Erlang C gives the
probability that a request waits, and the share answered within ``t``:

    P(W > t) = C(c, a) x exp(-(c - a) x t / mean)

They ignore business hours, traffic mixes, strategies, backups and patience, so they are a start
for the simulation's search, not its answer. (Abandonment only shortens waits, so with patience the
Erlang C answer is an upper bound on the staff needed.)
"""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recurrence B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that a request waits in M/M/c (1 when the queue is unstable, a >= c)."""
    if c <= 0 or a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def share_within(c: int, rate: float, mean: float, t: float) -> float:
    """P(wait <= t) in M/M/c with arrival ``rate`` per second and mean service ``mean`` seconds."""
    a = rate * mean
    if c <= 0 or a >= c:
        return 0.0
    return 1.0 - erlang_c(c, a) * math.exp(-(c - a) * t / mean)


def servers_needed(rate: float, mean: float, t: float, target: float, *, limit: int = 10_000_000) -> int:
    """The fewest servers with P(wait <= t) >= target (0 for no traffic)."""
    if rate <= 0:
        return 0
    a = rate * mean
    c = max(1, math.floor(a) + 1)
    while share_within(c, rate, mean, t) < target:
        c += 1
        if c > limit:
            raise ValueError(f"more than {limit:,} servers")
    return c
