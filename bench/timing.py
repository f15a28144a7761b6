"""Repeated timings with their medians, shared by the benchmarks in this folder."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class Medians:
    """Wall and CPU seconds of repeated runs; ``wall`` and ``cpu`` are their medians."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)
