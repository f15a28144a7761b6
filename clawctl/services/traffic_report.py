"""The result of `clawctl traffic`, its prediction by simulation (`--compare-sim`) and its record in the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from clawctl.core.env import Clock, iso_now
from clawctl.core.sim.engine import RunLength
from clawctl.core.sim.engine import simulate as run_one
from clawctl.core.sim.spec import RunSpec
from clawctl.core.sim.stats import Outcome

ERROR_KINDS = ("refused", "timeout", "429", "503", "other")


@dataclass
class TrafficReport:
    view: ClassVar[str] = "traffic"

    fleet: str
    seed: int
    requests: int | None
    duration: float | None
    time_scale: float
    elapsed_s: float
    results: list[Outcome] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    retried: int = 0
    interrupted: bool = False
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)
    predicted: Outcome | None = None  # --compare-sim: the simulation of the same fleet, seed and arrivals
    driver: dict = field(default_factory=dict)  # the driver's own lag: scheduled time to hand-off, real ms

    def as_dict(self) -> dict:
        results = [{**r.as_dict(), "mode": "live", "errors": dict(self.errors)} for r in self.results]
        return {"schema_version": 1, "fleet": self.fleet, "mode": "live", "seed": self.seed,
                "requests": self.requests, "duration": self.duration, "time_scale": self.time_scale,
                "elapsed_s": round(self.elapsed_s, 3), "run_id": self.run_id, "interrupted": self.interrupted,
                "errors": dict(self.errors), "retried": self.retried, "driver": dict(self.driver), "results": results,
                **({"predicted": self.predicted.as_dict()} if self.predicted is not None else {})}


def predict(build_spec: Callable[[], RunSpec], strategy: str, length: RunLength, seed: int) -> Outcome:
    """The simulation of the run just sent: the same fleet, calendar start, rate, strategy, seed (so the same
    arrivals, types and customers) and length, with no warm-up left out, as the live figures have none."""
    return run_one(build_spec(), strategy, length, seed, warmup=0.0)


def record(report: TrafficReport, db: Path | None, clock: Clock, started_at: datetime) -> int:
    """The run as kind `traffic`: its summary, and one event per result with the per-agent figures."""
    from clawctl.adapters.store import open_store
    from clawctl.core.env import iso

    summary = report.as_dict()
    for r in summary["results"]:
        r.pop("agents", None)
    if "predicted" in summary:
        summary["predicted"].pop("agents", None)
    now = iso_now(clock)
    events = [(now, f"agents:{r.strategy}", r.as_dict()["agents"]) for r in report.results]
    with open_store(db) as store, store.write():
        return store.record_run("traffic", store.fleet_id(report.fleet, now), iso(started_at), now,
                                "interrupted" if report.interrupted else "completed", summary, events)
