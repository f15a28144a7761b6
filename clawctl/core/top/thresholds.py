"""Thresholds from the fleet's ``monitoring`` block, judged with hysteresis. Pure: times are handed in.

fleet-format.md, ``monitoring``: ``thresholds`` (``response_time: 2000ms``, ``cpu: 80``, ``memory: 85``,
``error_rate: 5``) and ``breach_after`` (default 3). Each metric's recommended action is one row of
:data:`METRICS`, the one table the watcher, the docs and the tests read.

Semantics of a :class:`Watch` (one agent, one metric):

- A sample is *over* when its value is strictly greater than the threshold, *under* when at or below it.
- A breach becomes active at the ``breach_after``-th consecutive over sample, and clears at the
  ``breach_after``-th consecutive under sample after that. One sample on the other side restarts the
  count, so a value that flaps around the threshold neither raises nor clears a breach.
- A missing value (None, or not a finite number) neither advances nor resets the count: it is no
  evidence either way. An agent that stops answering, or serves no request in an interval (no error
  rate, no percentile), keeps the state it had; its breach stays active with the last value seen,
  and ``at`` says when that was, so the caller can show it as stale.
- ``since`` is the time of the sample that made the breach active, ``at`` the time of the latest value;
  both are the caller's seconds (core reads no clock), so ``now - since`` is how long it has held.

Units: response time in milliseconds; CPU, memory and error rate in percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from clawctl.core.top.rates import Interval

if TYPE_CHECKING:
    from clawctl.core.model.fleet_file import Monitoring


class Metric(NamedTuple):
    name: str
    unit: str
    default: float
    action: str
    doc: str


METRICS = (
    Metric("response_time", "ms", 2000.0, "increase_worker_processes", "p95 response time over the interval"),
    Metric("cpu", "%", 80.0, "enable_request_throttling", "CPU of the agent's process"),
    Metric("memory", "%", 85.0, "increase_cache_eviction", "memory of the agent's process, share of the machine"),
    Metric("error_rate", "%", 5.0, "drain_and_investigate", "failed requests over the interval"),
)
NAMES = tuple(m.name for m in METRICS)
ACTIONS = {m.name: m.action for m in METRICS}
BREACH_AFTER = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The limit of each metric (:data:`METRICS` units) and how many samples make or clear a breach."""

    response_time: float = 2000.0  # ms
    cpu: float = 80.0
    memory: float = 85.0
    error_rate: float = 5.0
    breach_after: int = BREACH_AFTER

    def __post_init__(self) -> None:
        for name in NAMES:
            limit = getattr(self, name)
            if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
                raise ValueError(f"threshold {name} must be a finite number, got {limit!r}")
        if isinstance(self.breach_after, bool) or not isinstance(self.breach_after, int) or self.breach_after < 1:
            raise ValueError(f"breach_after must be an integer >= 1, got {self.breach_after!r}")

    @classmethod
    def from_monitoring(cls, monitoring: Monitoring | None) -> Thresholds:
        """The thresholds of a fleet's ``monitoring`` section (the model keeps response time in seconds)."""
        if monitoring is None:
            return cls()
        t = monitoring.thresholds
        return cls(response_time=t.response_time * 1000.0, cpu=t.cpu, memory=t.memory, error_rate=t.error_rate,
                   breach_after=monitoring.breach_after)

    def limit(self, metric: str) -> float:
        if metric not in ACTIONS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(NAMES)}")
        return float(getattr(self, metric))


def figures(iv: Interval) -> dict[str, float | None]:
    """The values an interval gives the thresholds: response time is judged on its p95."""
    return {"response_time": iv.p95_ms, "cpu": iv.cpu, "memory": iv.memory, "error_rate": iv.error_rate}


@dataclass(frozen=True, slots=True)
class Breach:
    """An active breach: the latest value of ``metric`` against its ``threshold``, and what to do about it."""

    metric: str
    value: float
    threshold: float
    action: str
    since: float  # the caller's time of the sample that made it active
    at: float  # the caller's time of ``value``

    def held(self, now: float) -> float:
        """Seconds the breach has been active at ``now`` (the caller's clock)."""
        return max(0.0, now - self.since)


@dataclass(slots=True)
class Watch:
    """Hysteresis for one agent and one metric (see the module doc)."""

    metric: str
    threshold: float
    breach_after: int = BREACH_AFTER
    active: bool = False
    streak: int = 0  # consecutive samples on the other side of the threshold from the current state
    since: float | None = None
    value: float | None = None
    at: float | None = None

    def observe(self, t: float, value: float | None) -> None:
        """One sample at time ``t``. None (or a non-finite value) changes nothing."""
        if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return
        self.value, self.at = float(value), t
        if (value > self.threshold) == self.active:
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.breach_after:
            self.active = not self.active
            self.since = t if self.active else None
            self.streak = 0

    def breach(self) -> Breach | None:
        if not self.active or self.value is None or self.since is None or self.at is None:
            return None
        return Breach(self.metric, self.value, self.threshold, ACTIONS[self.metric], self.since, self.at)


class Watcher:
    """The watches of every agent: ``update`` one agent with a sample's figures, read its active breaches."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds if thresholds is not None else Thresholds()
        self._watches: dict[str, dict[str, Watch]] = {}

    def _agent(self, agent_id: str) -> dict[str, Watch]:
        watches = self._watches.get(agent_id)
        if watches is None:
            th = self.thresholds
            watches = self._watches[agent_id] = {name: Watch(name, th.limit(name), th.breach_after) for name in NAMES}
        return watches

    def update(self, agent_id: str, t: float, figures: Mapping[str, float | None]) -> list[Breach]:
        """Feed one sample of ``agent_id`` taken at ``t``; return its active breaches, in :data:`METRICS` order.

        ``figures`` maps metric names to values; a metric left out is a missing value (None). A name
        outside :data:`NAMES` is a caller's mistake: ValueError, and nothing is recorded.
        """
        unknown = set(figures) - set(NAMES)
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(sorted(unknown))}; expected {', '.join(NAMES)}")
        watches = self._agent(agent_id)
        for name, watch in watches.items():
            watch.observe(t, figures.get(name))
        return self.active(agent_id)

    def active(self, agent_id: str) -> list[Breach]:
        """The active breaches of ``agent_id`` (none for an agent never updated)."""
        watches = self._watches.get(agent_id, {})
        return [b for b in (w.breach() for w in watches.values()) if b is not None]

    def watch(self, agent_id: str, metric: str) -> Watch | None:
        """The state behind one agent's metric (for a drill-down: pending count, last value)."""
        return self._watches.get(agent_id, {}).get(metric)

    def forget(self, agent_id: str) -> None:
        """Drop an agent's state (it left the fleet)."""
        self._watches.pop(agent_id, None)
