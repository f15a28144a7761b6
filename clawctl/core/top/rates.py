"""What happened between two scrapes of one agent: rates, error rate and response time percentiles. Pure.

:func:`interval` takes the previous :class:`~clawctl.core.top.scrape.Scrape` (or None), the newer one
and the seconds between them (the caller's clock; core has none) and gives an :class:`Interval`:

- Gauges (conversations, capacity, CPU, memory) are the newer scrape's.
- Every other figure is built from counter deltas, so it is None without a previous scrape, or when
  a counter it needs is missing from either scrape. Per-second figures also need ``seconds`` finite
  and > 0.
- Counter resets, as Prometheus's ``rate()`` treats them: a counter that went down was restarted
  from zero, so its increase over the interval is its new value. A restart resets every counter
  of the process at once, so when any counter of the agent went down (an outcome counter,
  ``_sum``, ``_count`` or a bucket), or the histogram's bounds changed, the interval counts as a
  restart and every delta is the newer value (:attr:`Interval.restarted`). Per series this is
  exactly Prometheus's rule; across series it keeps the deltas of one histogram consistent.
- Requests are the deltas of the outcome counters (ok + error + rejected; a missing outcome counts 0);
  an agent without outcome counters (an OpenClaw gateway) counts the histogram's ``_count`` delta
  instead. Error rate = error delta / requests x 100, None when there were no requests or the
  agent has no ``error`` counter.
- Response time: mean = ``_sum`` delta / ``_count`` delta; p50 and p95 by :func:`quantile` over the
  bucket deltas. All in milliseconds; None when no request was observed in the interval.

Every figure is a finite float or None: a result that overflows is "no value".
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from clawctl.core.top.scrape import Buckets, Scrape

COUNTERS = ("ok", "error", "rejected", "rt_sum", "rt_count")
OUTCOMES = ("ok", "error", "rejected")


@dataclass(frozen=True, slots=True)
class Interval:
    """One agent's figures for the time between two scrapes (gauges: at the newer one)."""

    seconds: float | None = None
    active: float | None = None
    capacity: float | None = None
    cpu: float | None = None
    memory: float | None = None
    requests_per_s: float | None = None
    error_rate: float | None = None  # percent of requests over the interval
    response_time_ms: float | None = None  # mean over the interval
    p50_ms: float | None = None
    p95_ms: float | None = None
    restarted: bool = False  # a counter went down: the agent restarted within the interval


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q``-quantile (0 <= q <= 1) of cumulative ``(le, count)`` buckets, as ``histogram_quantile`` gives it.

    Prometheus's classic-histogram rules (promql/quantile.go ``BucketQuantile``): buckets are sorted by
    ``le`` and equal bounds merged; the highest must be ``+Inf``; the rank ``q x total`` falls in the
    first bucket whose count reaches it, and the result is interpolated linearly inside it, from 0
    (or the bound below) to its ``le``. A rank in the ``+Inf`` bucket gives the highest finite ``le``;
    a rank in a lowest bucket whose ``le`` is <= 0 gives that ``le``.

    None where Prometheus gives NaN (no observations, fewer than two buckets, no ``+Inf`` bucket), and
    also for counts that decrease with ``le`` or are not finite and >= 0: Prometheus would force them
    monotonic; here a histogram that is not one has no quantile.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is between 0 and 1, got {q!r}")
    merged: dict[float, float] = {}
    for le, count in buckets:
        if math.isnan(le) or not math.isfinite(count) or count < 0:
            return None
        merged[le] = merged.get(le, 0.0) + count
    bounds = sorted(merged)
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return None
    counts = [merged[le] for le in bounds]
    if any(b < a for a, b in pairwise(counts)):
        return None
    total = counts[-1]
    if total == 0:
        return None
    rank = q * total
    b = bisect_left(counts, rank, 0, len(counts) - 1)  # the first bucket whose count reaches the rank
    if b == len(counts) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    if count <= 0:
        return None  # q = 0 with an empty lowest bucket: 0/0 in Prometheus
    return _finite(start + (end - start) * (rank / count))


def _went_down(prev: Scrape, cur: Scrape) -> bool:
    for name in COUNTERS:
        before, after = getattr(prev, name), getattr(cur, name)
        if before is not None and after is not None and after < before:
            return True
    if prev.buckets and cur.buckets:
        if [le for le, _ in prev.buckets] != [le for le, _ in cur.buckets]:
            return True  # the histogram was redefined: a new process
        return any(after < before for (_, before), (_, after) in zip(prev.buckets, cur.buckets))
    return False


def _bucket_deltas(prev: Scrape, cur: Scrape, restarted: bool) -> Buckets:
    if restarted:
        return cur.buckets
    if not prev.buckets or not cur.buckets:
        return ()
    return tuple((le, after - before) for (le, before), (_, after) in zip(prev.buckets, cur.buckets))


def _ms(seconds: float | None) -> float | None:
    return _finite(seconds * 1000.0) if seconds is not None else None


def interval(prev: Scrape | None, cur: Scrape, seconds: float | None = None) -> Interval:
    """The figures of one agent between ``prev`` and ``cur``, ``seconds`` apart (see the module doc)."""
    gauges = {"active": cur.active, "capacity": cur.capacity, "cpu": cur.cpu, "memory": cur.memory}
    period = seconds if seconds is not None and math.isfinite(seconds) and seconds > 0 else None
    if prev is None:
        return Interval(seconds=period, **gauges)
    restarted = _went_down(prev, cur)
    delta: dict[str, float | None] = {}
    for name in COUNTERS:
        before, after = getattr(prev, name), getattr(cur, name)
        delta[name] = None if before is None or after is None else _finite(after if restarted else after - before)
    outcomes = [delta[name] for name in OUTCOMES if delta[name] is not None]
    if outcomes:
        requests = _finite(math.fsum(outcomes))  # type: ignore[arg-type]
    else:
        requests = delta["rt_count"]
    error_rate = None
    if delta["error"] is not None and requests:
        error_rate = _finite(delta["error"] / requests * 100.0)
    mean = None
    if delta["rt_sum"] is not None and delta["rt_count"]:
        mean = _ms(delta["rt_sum"] / delta["rt_count"])
    buckets = _bucket_deltas(prev, cur, restarted)
    return Interval(
        seconds=period,
        **gauges,
        requests_per_s=_finite(requests / period) if requests is not None and period else None,
        error_rate=error_rate,
        response_time_ms=mean,
        p50_ms=_ms(quantile(0.5, buckets)),
        p95_ms=_ms(quantile(0.95, buckets)),
        restarted=restarted,
    )
