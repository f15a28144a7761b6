"""Where a batch of simulations runs: this process, a pool of local processes, or a Dask cluster.

Every runner maps ``run_task`` over tasks and returns the results in the tasks' order; the numbers do
not depend on the runner (each task carries its own seed). Local processes are forked, so they share
the kernel this process loaded or compiled; Dask workers import clawctl themselves and must run the
same version (checked before the first batch).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from clawctl.core.errors import ExitCode, InputError, UsageError


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


class InProcess:
    where = "this process"
    workers = 1

    def map(self, fn: Callable, items: Sequence) -> list:
        return [fn(x) for x in items]


class LocalPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.where = f"{workers} local processes"
        ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def map(self, fn: Callable, items: Sequence) -> list:
        return list(self._pool.map(fn, items, chunksize=1))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _version() -> str:
    import clawctl

    return clawctl.__version__


class DaskPool:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs Dask's distributed package: pip install 'clawctl[dask]'") from None
        import clawctl

        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})",
                             exit_code=ExitCode.UNREACHABLE) from None
        versions = self._client.run(_version)
        if not versions:
            self.close()
            raise InputError(f"--scheduler {address}: the cluster has no workers", exit_code=ExitCode.UNREACHABLE)
        wrong = sorted(w for w, v in versions.items() if v != clawctl.__version__)
        if wrong:
            self.close()
            raise InputError(f"--scheduler {address}: worker {wrong[0]} runs clawctl {versions[wrong[0]]}, "
                             f"this is {clawctl.__version__}; install the same version on every worker")
        self.workers = len(versions)
        self.where = f"Dask at {address} ({self.workers} workers)"

    def map(self, fn: Callable, items: Sequence) -> list:
        futures = self._client.map(fn, list(items), pure=False)
        return self._client.gather(futures)

    def close(self) -> None:
        self._client.close()


@contextmanager
def runner(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A runner for the batch: Dask when ``scheduler`` is given, else ``workers`` local processes
    (default: every core this process may use; 1 runs in this process)."""
    if scheduler:
        pool: Any = DaskPool(scheduler)
    else:
        n = cores() if workers is None else workers
        if n < 1:
            raise UsageError(f"--workers {n}: at least 1")
        pool = InProcess() if n == 1 else LocalPool(n)
    try:
        yield pool
    finally:
        close = getattr(pool, "close", None)
        if close is not None:
            close()
