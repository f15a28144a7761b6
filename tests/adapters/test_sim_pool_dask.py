"""Simulations on a real Dask cluster (a LocalCluster of worker processes on 127.0.0.1) give the same
numbers as the same tasks run locally: each task carries its seed."""

from __future__ import annotations

import os

import pytest

from tests.services.test_capacity import _fleet

distributed = pytest.importorskip("distributed") if not os.environ.get("CI") else __import__("distributed")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as c:
        # the workers run the kernel as plain Python (identical results, tests/core/test_sim_interpret.py):
        # fresh worker processes would otherwise each compile it when the suite's numba cache is still cold
        from distributed import Client

        with Client(c.scheduler_address) as client:
            client.run(_interpret)
        yield c


def _interpret() -> None:
    from clawctl.core.sim import jit

    jit.choose(interpret=True)


def test_capacity_on_dask_equals_the_local_run(tmp_path, cli, cluster):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 6, "south": 2})
    base = ["capacity", fleet, "--requests", "2000", "--replications", "3", "--seed", "5", "--sla", "80% < 0.5s",
            "--format", "json", "--no-store"]
    local = cli(*base, "--workers", "2").json()
    remote = cli(*base, "--scheduler", cluster.scheduler_address).json()
    assert remote["runner"] == f"Dask at {cluster.scheduler_address} (2 workers)"
    for d in (local, remote):
        d.pop("elapsed_s"), d.pop("runner")
    assert local == remote


def test_sim_tasks_on_dask_equal_local_results(cluster):
    from clawctl.adapters.sim_pool import DaskPool, InProcess
    from clawctl.core.sim.spec import build
    from clawctl.core.sim.task import SimTask, replication_seeds, run_task
    from clawctl.services.validate import load_fleet

    fleet = load_fleet("examples/multi-region.yaml")
    spec = build(fleet, horizon=86400 * 2)
    tasks = [SimTask(spec, s, seed, requests=1500) for s in ("least_conn", "p2c") for seed in replication_seeds(3, 3)]
    pool = DaskPool(cluster.scheduler_address)
    try:
        remote = pool.map(run_task, tasks)
    finally:
        pool.close()
    local = InProcess().map(run_task, tasks)
    assert [o.as_dict() for o in remote] == [o.as_dict() for o in local]
    assert len({o.served for o in local}) > 1  # the seeds differ
