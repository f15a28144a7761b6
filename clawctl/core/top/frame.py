"""One screen of `clawctl top`: a row per agent and rollups per region and domain, built cycle by cycle. Pure.

:class:`Tracker` keeps what one cycle needs from the last: each agent's previous scrape (rates and
percentiles come from deltas, :func:`rates.interval`), its last good sample, recent response times for
the sparkline, and the threshold watches (hysteresis, :class:`thresholds.Watcher`). It is fed the
observations of a cycle (from probing, from Prometheus or from a recording) and returns a
:class:`Frame`. Times are the caller's epoch seconds.

What a row shows:

- ``state``: the probe's verdict (``ready``, ``degraded``, ``starting``, ``draining``, ``unsupported``,
  ``down``). The figures are this cycle's only: a down agent, or one whose metrics did not come this
  cycle, shows none (``stale`` true, ``age_s`` the age of its last good sample), never old figures as
  if they were current.
- ``response_time_ms``: the p95 over the interval (what the threshold judges); ``p50_ms`` beside it.
- ``error_rate``: percent of the interval's requests that failed.
- ``breaches``: the active ones, each with ``held_s``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from clawctl.core.top.rates import Interval, interval
from clawctl.core.top.scrape import Scrape
from clawctl.core.top.thresholds import Breach, Thresholds, Watcher, figures

SPARK_POINTS = 30
STATES = ("ready", "degraded", "starting", "draining", "unsupported", "down")


@dataclass(frozen=True, slots=True)
class Observation:
    """What one cycle saw of one agent: its state, and either a scrape (probing) or figures (Prometheus,
    a recording), or neither (down, or metrics missing)."""

    agent_id: str
    state: str
    scrape: Scrape | None = None
    figures: Interval | None = None
    detail: str = ""


@dataclass(slots=True)
class Row:
    id: str
    state: str
    region: str | None = None
    domain: str | None = None
    stale: bool = True
    age_s: float | None = None  # seconds since the last good sample (None: never had one)
    response_time_ms: float | None = None  # p95 over the interval
    p50_ms: float | None = None
    cpu: float | None = None
    memory: float | None = None
    active_conversations: float | None = None
    capacity: float | None = None
    error_rate: float | None = None
    requests_per_s: float | None = None
    restarted: bool = False
    detail: str = ""
    breaches: list[Breach] = field(default_factory=list)
    spark: list[float | None] = field(default_factory=list)  # recent response times (ms), oldest first
    figures: Interval | None = None  # this cycle's interval, as recorded (None: no figures this cycle)

    def as_dict(self, at: float) -> dict:
        return {
            "id": self.id, "state": self.state, "region": self.region, "domain": self.domain,
            "stale": self.stale, "age_s": _round(self.age_s, 1),
            "response_time_ms": _round(self.response_time_ms, 1), "p50_ms": _round(self.p50_ms, 1),
            "cpu": _round(self.cpu, 1), "memory": _round(self.memory, 1),
            "active_conversations": count(self.active_conversations), "capacity": count(self.capacity),
            "error_rate": _round(self.error_rate, 2), "requests_per_s": _round(self.requests_per_s, 2),
            "restarted": self.restarted, "detail": self.detail,
            "breaches": [{"metric": b.metric, "value": _round(b.value, 2), "threshold": b.threshold,
                          "action": b.action, "held_s": _round(b.held(at), 1)} for b in self.breaches],
        }


@dataclass(slots=True)
class Rollup:
    agents: int = 0
    ready: int = 0
    down: int = 0
    breaching: int = 0
    active_conversations: float = 0.0
    capacity: float = 0.0
    requests_per_s: float = 0.0
    errors_per_s: float = 0.0

    def as_dict(self) -> dict:
        rps = self.requests_per_s
        return {"agents": self.agents, "ready": self.ready, "down": self.down, "breaching": self.breaching,
                "active_conversations": count(self.active_conversations), "capacity": count(self.capacity),
                "requests_per_s": _round(rps, 2),
                "error_rate": _round(self.errors_per_s / rps * 100 if rps else None, 2)}


@dataclass
class Frame:
    view: ClassVar[str] = "top"

    fleet: str
    at: float  # epoch seconds of the cycle
    rows: list[Row]
    cycle: int = 0
    source: str = "probe"  # probe | prometheus | replay
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def rollups(self) -> dict[str, dict[str, Rollup]]:
        out: dict[str, dict[str, Rollup]] = {"region": {}, "domain": {}}
        for row in self.rows:
            for key, value in (("region", row.region), ("domain", row.domain)):
                r = out[key].setdefault(value or "-", Rollup())
                r.agents += 1
                r.ready += row.state == "ready"
                r.down += row.state == "down"
                r.breaching += bool(row.breaches)
                if not row.stale:
                    r.active_conversations += row.active_conversations or 0.0
                    r.capacity += row.capacity or 0.0
                    r.requests_per_s += row.requests_per_s or 0.0
                    if row.requests_per_s and row.error_rate is not None:
                        r.errors_per_s += row.requests_per_s * row.error_rate / 100
        return out

    def exit_status(self) -> str:
        """``down`` when an agent is down, else ``breach`` when one breaches, else ``ok`` (`--once`)."""
        if any(r.state == "down" for r in self.rows):
            return "down"
        if any(r.breaches for r in self.rows) or any(r.state != "ready" for r in self.rows):
            return "breach"
        return "ok"

    def as_dict(self) -> dict:
        from clawctl.core.env import iso_from_epoch

        return {"schema_version": 1, "fleet": self.fleet, "at": iso_from_epoch(self.at), "cycle": self.cycle,
                "source": self.source, "run_id": self.run_id, "agents": [r.as_dict(self.at) for r in self.rows],
                "rollups": {k: {name: r.as_dict() for name, r in sorted(v.items())}
                            for k, v in self.rollups().items()},
                "notes": list(self.notes)}


def count(value: float | None) -> int | None:
    """A count (conversations, slots) as the int it is: gauges arrive as floats (``6.0``); None when not finite."""
    if value is None or not math.isfinite(value):
        return None
    return int(round(value))  # noqa: RUF046 (a numpy float rounds to a float)


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


class Tracker:
    """Turns each cycle's observations into a :class:`Frame` (see the module doc)."""

    def __init__(self, fleet_name: str, agents: Iterable[tuple[str, str | None, str | None]],
                 thresholds: Thresholds | None = None) -> None:
        """``agents``: (id, region, domain) in display order."""
        self.fleet = fleet_name
        self.meta = {a: (region, domain) for a, region, domain in agents}
        self.order = list(self.meta)
        self.watcher = Watcher(thresholds)
        self._prev: dict[str, tuple[float, Scrape]] = {}
        self._good: dict[str, float] = {}
        self._spark: dict[str, deque[float | None]] = {a: deque(maxlen=SPARK_POINTS) for a in self.order}
        self.cycle = 0

    def update(self, at: float, observations: Mapping[str, Observation] | Iterable[Observation],
               *, source: str = "probe") -> Frame:
        seen = observations if isinstance(observations, Mapping) else {o.agent_id: o for o in observations}
        self.cycle += 1
        rows = [self._row(at, agent_id, seen.get(agent_id)) for agent_id in self.order]
        return Frame(self.fleet, at, rows, self.cycle, source)

    def _row(self, at: float, agent_id: str, obs: Observation | None) -> Row:
        region, domain = self.meta[agent_id]
        row = Row(agent_id, obs.state if obs is not None else "down", region, domain,
                  detail=obs.detail if obs is not None else "not observed this cycle")
        iv: Interval | None = None
        if obs is not None and obs.state != "down":
            if obs.scrape is not None:
                prev = self._prev.get(agent_id)
                iv = interval(prev[1] if prev else None, obs.scrape, at - prev[0] if prev else None)
                self._prev[agent_id] = (at, obs.scrape)
            elif obs.figures is not None:
                iv = obs.figures
        elif obs is not None:
            self._prev.pop(agent_id, None)  # down: the next scrape starts a new baseline (a restart, probably)
        if iv is not None:
            self._good[agent_id] = at
            row.stale = False
            row.figures = iv
            row.response_time_ms, row.p50_ms = iv.p95_ms, iv.p50_ms
            row.cpu, row.memory, row.error_rate, row.requests_per_s = iv.cpu, iv.memory, iv.error_rate, iv.requests_per_s
            row.active_conversations, row.capacity, row.restarted = iv.active, iv.capacity, iv.restarted
            row.breaches = self.watcher.update(agent_id, at, figures(iv))
        # no figures this cycle: no breaches shown either (their values would be old); the watches keep
        # their state, so a breach still active shows again with the next good sample
        good = self._good.get(agent_id)
        row.age_s = at - good if good is not None else None
        spark = self._spark[agent_id]
        spark.append(row.response_time_ms)
        row.spark = list(spark)
        return row
