"""One metrics body, read into a :class:`Scrape`. Pure; never raises on what an agent sends.

What is read, by endpoint kind (agent-api.md):

- ``clawctl``: the gauges ``clawctl_agent_active_conversations``, ``..._max_conversations``,
  ``..._cpu_percent``, ``..._memory_percent``; the counters ``clawctl_agent_requests_total{outcome=...}``
  (ok, error, rejected); and the histogram ``clawctl_agent_response_time_seconds``.
- ``openclaw``: the histogram ``openclaw_run_duration_seconds`` only. A gateway labels it
  (``channel``, ``model``, ``outcome``, ``provider``, ``trigger``, with ``le`` sorted among them), one
  histogram per label set; they are added up per bound, as ``sum by (le)`` would, and so are their
  ``_sum`` and ``_count``. Gauges and outcome counters stay None: a gateway exposes none with the
  meaning `top` shows.

The plain series go through :func:`clawctl.core.probe.scan_metrics` (the first sample of a series
decides; non-finite is no value); a negative gauge or counter is no value as well.

The histogram is read line by line, and every rule that a body can break means "no value", never an
exception:

- A number is ASCII Prometheus syntax (``1``, ``2.5e-3``, ``+Inf``, ``NaN``); ``1_000``, hex or
  other digits are not numbers.
- A line that cannot be filed is ignored, as if absent: malformed labels, no value, a label named
  twice, a bucket without an ``le`` or with an ``le`` that is not a number, NaN or ``-Inf``, labels
  longer than :data:`MAX_LINE` bytes. What follows the value (a timestamp, an exemplar) is ignored.
- A line repeating a series already seen (same labels, same bound) is ignored: the first decides.
- A bucket count, ``_sum`` or ``_count`` must be finite and >= 0. A bad bucket count leaves
  :attr:`Scrape.buckets` empty; a bad (or missing) ``_sum`` or ``_count`` of any series makes that
  total None.
- Each histogram series must have a ``+Inf`` bucket and counts that never decrease as ``le`` grows,
  and all series must share one set of bounds; otherwise :attr:`Scrape.buckets` is empty.
- More than :data:`MAX_SERIES` label sets or :data:`MAX_BOUNDS` bounds per series: no histogram
  values at all. A body over :data:`MAX_BODY` bytes is not read (an empty Scrape), as Prometheus
  fails a scrape over ``body_size_limit``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from itertools import pairwise

from clawctl.core.probe import CLAWCTL_SERIES, scan_metrics

KINDS = ("clawctl", "openclaw")
HISTOGRAMS = {
    "clawctl": b"clawctl_agent_response_time_seconds",
    "openclaw": b"openclaw_run_duration_seconds",
}
# The gauges and counters read by scan_metrics, by kind (the histogram's _sum/_count are read with its buckets).
PLAIN_SERIES = {
    "clawctl": {k: v for k, v in CLAWCTL_SERIES.items() if k not in ("rt_sum", "rt_count")},
    "openclaw": {},
}
MAX_BODY = 4 * 1024 * 1024  # bytes; the prober reads no more (adapters/prober.py METRICS_LIMIT)
MAX_LINE = 2048  # bytes of the labels of one histogram line
MAX_SERIES = 2048  # label sets of one histogram family (an OpenClaw gateway keeps at most 2048 series)
MAX_BOUNDS = 64  # buckets of one histogram series

Buckets = tuple[tuple[float, float], ...]

_NUMBER = re.compile(rb"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?|nan))")
_VALUE = rb'"(?:[^"\\\n]|\\.)*"'
_NAME = rb"[a-zA-Z_][a-zA-Z0-9_]*"
_PAIR = rb"[ \t]*" + _NAME + rb"[ \t]*=[ \t]*" + _VALUE + rb"[ \t]*"
_BLOCK = rb"(?:" + _PAIR + rb",)*(?:" + _PAIR + rb")?[ \t]*"
_PAIRS = re.compile(rb"[ \t]*(" + _NAME + rb")[ \t]*=[ \t]*\"((?:[^\"\\\n]|\\.)*)\"")


@dataclass(frozen=True, slots=True)
class Scrape:
    """What one metrics body said. Every number is finite and >= 0, or None when the body gave no good value.

    ``buckets`` is the response time histogram as ``(le seconds, cumulative count)`` pairs sorted by ``le``,
    the last one ``(inf, total)``; empty when the body had no valid histogram. ``rt_sum`` is seconds.
    """

    active: float | None = None
    capacity: float | None = None  # max concurrent conversations
    cpu: float | None = None  # percent of one CPU (psutil): may exceed 100 on several cores
    memory: float | None = None  # percent of the machine
    ok: float | None = None
    error: float | None = None
    rejected: float | None = None
    rt_sum: float | None = None
    rt_count: float | None = None
    buckets: Buckets = ()


def number(token: bytes) -> float | None:
    """``token`` as a float when it is a number in Prometheus text syntax (NaN and ±Inf included), else None."""
    if len(token) > 64 or not _NUMBER.fullmatch(token):
        return None
    return float(token)


def _count(token: bytes) -> float | None:
    value = number(token)
    return value if value is not None and math.isfinite(value) and value >= 0 else None


@functools.lru_cache(maxsize=4096)  # the same few blocks come back from every agent, every cycle
def _labels(block: bytes) -> tuple[tuple[bytes, bytes], ...] | None:
    """The label pairs of a ``{...}`` block, sorted; None when one name repeats."""
    pairs = tuple(sorted(_PAIRS.findall(block)))
    names = [name for name, _ in pairs]
    return pairs if len(set(names)) == len(names) else None


@functools.lru_cache(maxsize=4096)
def _bound(pairs: tuple[tuple[bytes, bytes], ...]) -> tuple[float | None, tuple]:
    """A bucket's bound (its ``le``; None when missing, NaN or -Inf) and its other labels."""
    le_text = [v for k, v in pairs if k == b"le"]
    le = number(le_text[0]) if le_text else None
    if le is not None and (math.isnan(le) or le == -math.inf):
        le = None
    return le, tuple(p for p in pairs if p[0] != b"le")


class _Family:
    """The series of one histogram family met so far: buckets, sums and counts by label set (None: a bad value)."""

    def __init__(self) -> None:
        self.buckets: dict[tuple, dict[float, float | None]] = {}
        self.sums: dict[tuple, float | None] = {}
        self.counts: dict[tuple, float | None] = {}
        self.keys: set[tuple] = set()
        self.overflow = False

    def _room(self, key: tuple) -> bool:
        if key not in self.keys:
            if len(self.keys) >= MAX_SERIES:
                self.overflow = True
                return False
            self.keys.add(key)
        return True

    def add(self, suffix: bytes, block: bytes, token: bytes) -> None:
        """One sample of the family: its suffix, the inside of its ``{...}`` and its value."""
        pairs = _labels(block)
        if pairs is None:
            return
        value = _count(token)
        if suffix != b"_bucket":
            target = self.sums if suffix == b"_sum" else self.counts
            if pairs not in target and self._room(pairs):
                target[pairs] = value
            return
        le, key = _bound(pairs)
        if le is None:
            return  # no bound to file the count under: as if absent
        if not self._room(key):
            return
        series = self.buckets.setdefault(key, {})
        if le not in series:
            if len(series) >= MAX_BOUNDS:
                self.overflow = True
                return
            series[le] = value

    def histogram(self) -> tuple[Buckets, float | None, float | None]:
        if self.overflow:
            return (), None, None
        return _sum_buckets(self.buckets), self._total(self.sums), self._total(self.counts)

    def _total(self, values: dict[tuple, float | None]) -> float | None:
        """The sum over every series met, or None when one has no value (bad, or no line at all)."""
        if not values or set(values) != self.keys or any(v is None for v in values.values()):
            return None
        total = math.fsum(v for v in values.values() if v is not None)
        return total if math.isfinite(total) else None


def _sum_buckets(series: dict[tuple, dict[float, float | None]]) -> Buckets:
    bounds: tuple[float, ...] | None = None
    totals: list[float] = []
    for by_le in series.values():
        les = tuple(sorted(by_le))
        if not les or les[-1] != math.inf:
            return ()
        counts = [by_le[le] for le in les]
        if any(c is None for c in counts):
            return ()
        if any(b < a for a, b in pairwise(counts)):  # type: ignore[operator]
            return ()
        if bounds is None:
            bounds, totals = les, counts
        elif les != bounds:
            return ()
        else:
            totals = [a + b for a, b in zip(totals, counts)]
    if bounds is None or not all(math.isfinite(t) for t in totals):
        return ()
    return tuple(zip(bounds, totals))


def _line(family: bytes) -> re.Pattern[bytes]:
    """A sample of the family at a line start: suffix, labels (optional), value; the rest of the line is ignored."""
    suffix = rb"(_bucket|_sum|_count)"
    labels = rb"(?:\{(" + _BLOCK + rb")\})?"
    return re.compile(rb"^" + re.escape(family) + suffix + labels + rb"[ \t]+([^ \t\r\n]+)", re.MULTILINE)


def _scan_histogram(body: bytes, family: bytes) -> tuple[Buckets, float | None, float | None]:
    """The family's buckets, ``_sum`` and ``_count``, each summed over its label sets (see the module doc)."""
    found = _Family()
    seen: set[tuple[bytes, bytes]] = set()  # lines already filed, as written: a repeat costs no parsing
    for m in _LINES[family].finditer(body):
        suffix, block, token = m.group(1, 2, 3)
        block = block or b""
        if len(block) > MAX_LINE or (suffix, block) in seen:
            continue
        seen.add((suffix, block))
        found.add(suffix, block, token)
        if found.overflow:
            break
    return found.histogram()


_LINES = {family: _line(family) for family in HISTOGRAMS.values()}


def _plain(body: bytes, kind: str) -> dict[str, float]:
    values = scan_metrics(body, PLAIN_SERIES[kind]) if PLAIN_SERIES[kind] else {}
    return {k: v for k, v in values.items() if v >= 0}


def parse(body: bytes, kind: str = "clawctl") -> Scrape:
    """Read a metrics body of an agent of ``kind`` (``clawctl`` or ``openclaw``). Never raises on the body.

    A ``kind`` outside :data:`KINDS` is a caller's mistake: ValueError.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown endpoint kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(body, bytes) or len(body) > MAX_BODY:
        return Scrape()
    plain = _plain(body, kind)
    buckets, rt_sum, rt_count = _scan_histogram(body, HISTOGRAMS[kind])
    return Scrape(
        active=plain.get("active"), capacity=plain.get("max"), cpu=plain.get("cpu"), memory=plain.get("memory"),
        ok=plain.get("ok"), error=plain.get("error"), rejected=plain.get("rejected"),
        rt_sum=rt_sum, rt_count=rt_count, buckets=buckets,
    )
