"""One simulation as a value that can travel to another process or machine, and the function that runs it.

Sweeps and capacity searches build many of these and hand them to a runner (adapters/sim_pool.py):
in this process, a pool of local processes, or a Dask cluster. A task carries the run's spec (plain
arrays, built here from the fleet file), so a worker needs clawctl installed but not the file. The
result is the same wherever it runs: a task's seed fixes its random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from clawctl.core.sim.spec import RunSpec
from clawctl.core.sim.stats import Outcome


@dataclass(frozen=True)
class SimTask:
    spec: RunSpec
    strategy: str
    seed: int
    requests: int | None = None
    duration: float | None = None
    warmup: float = 0.1


def run_task(task: SimTask) -> Outcome:
    """Run one task; the result without its time series and histogram (small to send back)."""
    from clawctl.core.sim.engine import RunLength, simulate

    out = simulate(task.spec, task.strategy, RunLength(task.requests, task.duration), task.seed, warmup=task.warmup)
    return replace(out, series_t=[], series_queue=[], series_utilization=[], series_agents=[], wait_hist=[])


def replication_seeds(seed: int, n: int) -> list[int]:
    """``n`` seeds for replications, derived from ``seed`` (the first is ``seed`` itself, so one
    replication is the plain run): independent streams from numpy's SeedSequence."""
    import numpy as np

    if n <= 1:
        return [seed][:max(n, 1)]
    rest = np.random.SeedSequence(seed).generate_state(n - 1, dtype=np.uint64)
    return [seed] + [int(s) >> 1 for s in rest]
