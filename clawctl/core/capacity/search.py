"""The capacity search: from an estimate, the smallest change that meets the SLA in every group (pure).

A candidate gives each group a number of units (slots or agents). Candidates are judged by
simulation through ``evaluate``, which takes a batch (so candidates can run side by side) and uses
the same seeds for every candidate (common random numbers: a difference between two candidates is
the change, not noise).

1. Up: while some group misses the SLA, add a step to each group that misses it; a group's step
   starts at a tenth of its units (at least one) and doubles each time it is used. A missing group
   that stalls for ``STALL`` steps in a row, or would pass its ceiling, ends the search unmet, naming
   it (``SearchResult.stuck``). A step stalls when it gains nothing, or when its gain is smaller than
   the step before's (although the step doubled) and the gains still to come at that rate of decline
   (a geometric series) would not reach the target: more units do not help that group, whose requests
   wait for business hours, an eligible agent or a queue's room.
2. Down: with a size starting at the largest step, try taking that many units from each group (one
   candidate per group, judged together); keep the feasible one with the most slack in its weakest
   group (ties: the first group by name) and try again; when none is feasible, halve the size. It
   ends after a size of one unit finds nothing: no group can lose a single unit without a miss.

The answer is feasible and no group can lose a unit without a miss; for groups that do not interact
that is the minimum of each group, which is what the Erlang staffing answer is for M/M/c groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# two-sided 95% quantiles of Student's t, by degrees of freedom (1..30); above 30 the normal 1.96
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


def t95(df: int) -> float:
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.96


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (0 with one value)."""
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, 0.0
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return m, t95(n - 1) * math.sqrt(var / n)


@dataclass
class GroupFigures:
    sla: float | None  # share of the group's measured requests that waited no longer than the SLA's wait
    ci: float  # 95% half-width over replications
    utilization: float
    measured: int  # requests the group started after the warm-up, all replications
    met_in: int  # replications in which this group met the target


@dataclass
class Evaluation:
    units: dict[str, int]
    groups: dict[str, GroupFigures]
    fleet_sla: float | None  # the whole fleet, rejected and abandoned requests counted as misses
    fleet_ci: float
    met: bool
    replications: int
    met_in: int  # replications in which every group and the fleet met the target
    raw: list = field(default_factory=list, repr=False)  # the runs' figures, as given to judge()

    def slack(self, target: float) -> float:
        known = [g.sla for g in self.groups.values() if g.sla is not None]
        if self.fleet_sla is not None:
            known.append(self.fleet_sla)
        return min(known) - target if known else 0.0


def judge(units: dict[str, int], runs: Sequence[dict], target: float) -> Evaluation:
    """Figures of one candidate from its replications. Each run: ``groups`` {name: (measured,
    within_sla, busy_slot_seconds, slot_seconds)} and ``fleet_sla`` (or None)."""
    names = sorted(runs[0]["groups"])
    figures = {}
    for name in names:
        per = [r["groups"][name] for r in runs]
        shares = [w / m for m, w, _, _ in per if m]
        measured = sum(m for m, _, _, _ in per)
        within = sum(w for _, w, _, _ in per)
        slot_s = sum(s for _, _, _, s in per)
        sla = within / measured if measured else None
        _, ci = mean_ci(shares) if shares else (0.0, 0.0)
        figures[name] = GroupFigures(sla, ci, sum(b for _, _, b, _ in per) / slot_s if slot_s else 0.0, measured,
                                     sum(1 for m, w, _, _ in per if not m or w / m >= target))
    fleet = [r["fleet_sla"] for r in runs if r["fleet_sla"] is not None]
    fleet_sla, fleet_ci = mean_ci(fleet) if fleet else (None, 0.0)
    met = all(g.sla is None or g.sla >= target for g in figures.values()) and (fleet_sla is None or fleet_sla >= target)

    def run_met(r: dict) -> bool:
        ok = all(not m or w / m >= target for m, w, _, _ in r["groups"].values())
        return ok and (r["fleet_sla"] is None or r["fleet_sla"] >= target)

    return Evaluation(dict(units), figures, fleet_sla, fleet_ci, met, len(runs), sum(1 for r in runs if run_met(r)),
                      list(runs))


STALL = 3  # up steps in a row that stall (see the module's doc) make a missing group (or the fleet) stuck
GAIN = 0.001  # a step gaining no more than this (0.1 point of SLA share) gains nothing
FLEET = "(the fleet)"  # the name `stuck` gives the fleet-wide figure


@dataclass
class SearchResult:
    start: dict[str, int]
    answer: dict[str, int] | None  # None: not met (see ``stuck``)
    evaluations: list[Evaluation] = field(default_factory=list)
    steps: int = 0
    stuck: dict[str, str] = field(default_factory=dict)  # group (or FLEET) -> "no gain" | "ceiling" | "steps"

    def best(self) -> Evaluation | None:
        if self.answer is None:
            return None
        return next(e for e in reversed(self.evaluations) if e.units == self.answer)


Evaluate = Callable[[list[dict[str, int]]], list[Evaluation]]


def _stalls(gain: float, before: float | None, gap: float) -> bool:
    if gain <= GAIN:
        return True
    if before is None or gain >= before:
        return False
    ratio = gain / before  # the gains decline geometrically at best: what is left of them is gain * r / (1 - r)
    return gain * ratio / (1 - ratio) < gap


def search(start: dict[str, int], evaluate: Evaluate, target: float, *, floor: dict[str, int] | None = None,
           ceiling: dict[str, int] | None = None, max_up: int = 200) -> SearchResult:
    """Smallest feasible units per group from ``start`` (see the module's doc); no group below its
    ``floor`` (default 1) nor above its ``ceiling`` (default none)."""
    low = {n: 1 for n in start} | (floor or {})
    high = {n: math.inf for n in start} | (ceiling or {})
    seen: dict[tuple, Evaluation] = {}
    result = SearchResult(dict(start), None)
    names = sorted(start)

    def key(units: dict[str, int]) -> tuple:
        return tuple(units[n] for n in names)

    def batch(cands: list[dict[str, int]]) -> list[Evaluation]:
        todo = [c for c in cands if key(c) not in seen]
        todo = list({key(c): c for c in todo}.values())
        if todo:
            for c, e in zip(todo, evaluate(todo)):
                seen[key(c)] = e
                result.evaluations.append(e)
                result.steps += 1
        return [seen[key(c)] for c in cands]

    units = {n: max(low[n], start[n]) for n in names}
    step = {n: max(1, units[n] // 10) for n in names}
    (ev,) = batch([units])
    last: dict[str, float] = {}  # each watched name's SLA share at the previous step, and that step's gain
    gained: dict[str, float] = {}
    flat: dict[str, int] = {}
    ups = 0
    while not ev.met:
        missing = [n for n, g in ev.groups.items() if g.sla is not None and g.sla < target]
        watched = {n: ev.groups[n].sla for n in missing}
        if not missing:  # only the fleet-wide figure misses (rejections, abandonment): grow every group
            missing = names
            watched = {FLEET: ev.fleet_sla if ev.fleet_sla is not None else 0.0}
        for n, sla in watched.items():
            if n in last:
                gain = sla - last[n]
                flat[n] = flat.get(n, 0) + 1 if _stalls(gain, gained.get(n), target - sla) else 0
                gained[n] = gain
            last[n] = sla
        for n in [n for n in last if n not in watched]:  # met again: its record starts over if it misses later
            for record in (last, gained, flat):
                record.pop(n, None)
        result.stuck = {n: "no gain" for n, f in flat.items() if f >= STALL}
        result.stuck |= {n: "ceiling" for n in missing if units[n] >= high[n]}
        if not result.stuck and ups >= max_up:
            result.stuck = {n: "steps" for n in watched}
        if result.stuck:
            return result
        units = {n: min(high[n], units[n] + step[n]) if n in missing else units[n] for n in names}
        step = {n: step[n] * 2 if n in missing else step[n] for n in names}
        (ev,) = batch([units])
        ups += 1
    result.stuck = {}
    size = max(step.values())
    while size >= 1:
        cands = [{**units, n: max(low[n], units[n] - size)} for n in names if units[n] > low[n]]
        feasible = [(e.slack(target), -i, c) for i, (c, e) in enumerate(zip(cands, batch(cands))) if e.met]
        if feasible:
            units = max(feasible, key=lambda f: (f[0], f[1]))[2]
        else:
            size //= 2
    result.answer = units
    return result
