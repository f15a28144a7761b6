"""`clawctl top` at scale: 1,000 agents at a 1 s interval for 60 s, every cycle recorded, beside bare probing.

    python bench/top.py [--agents 1000] [--seconds 60] [--interval 1.0]

In a temporary folder: the same 1,000-agent fleet and ONE `clawctl agent serve --all` process as
bench/probe.py (server and client pinned to separate cores when there are two). Then:

1. clawctl: `TopRun(fleet, --interval 1s, --count seconds/interval, recording on)` as `clawctl top --count N
   --format jsonl` runs it (no terminal output): each cycle probes every agent (/readyz + /metrics),
   parses each scrape with its histogram, computes rates, percentiles and thresholds for every row,
   and writes the cycle's 1,000 samples into a real SQLite store in one transaction with retention
   pruning. Per cycle: wall time, this process's CPU time, the recording's own time; and the cycles
   missed (a cycle that overran its slot) over the run.
2. baseline, in the same run: the bare probe cycle (`Prober.cycle`, which `clawctl probe` is) for the
   same agents, 10 cycles; and a recording baseline: 1,000 rows of the same JSON inserted with
   sqlite3 `executemany` in one transaction into a plain table.

Targets (the issue): no missed cycle over the run; recording 1,000 samples within 50 ms per cycle.
It prints the medians and p95s, the ratios against the baselines, and PASS/FAIL. A benchmark, not a
test: the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import probe as pb  # bench/probe.py: the fleet, the server and the machine lines

from clawctl.adapters.prober import Prober, Target  # noqa: E402
from clawctl.services.top import TopOptions, TopRun  # noqa: E402

RECORD_TARGET_S = 0.050


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class TimedRun(TopRun):
    """TopRun with its recording timed (the same method, measured around)."""

    record_s: list[float]

    def _record(self, frame) -> None:
        t = time.perf_counter()
        super()._record(frame)
        self.record_s.append(time.perf_counter() - t)


async def top_cycles(fleet: Path, db: Path, interval: float, cycles: int) -> tuple[list, list, list, int, int]:
    run = TimedRun(str(fleet), TopOptions(interval=interval, count=cycles, record=True, timeout=min(interval, 2.0)),
                   db)
    run.record_s = []
    walls, cpus = [], []
    not_ready = 0
    async with run:
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        while k < cycles:  # the grid of TopRun.frames, with each cycle timed
            w, c = time.perf_counter(), time.process_time()
            frame = await run.cycle()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            not_ready += sum(r.state != "ready" for r in frame.rows)
            k += 1
            due = start + k * interval
            late = loop.time() - due
            if late > 0:
                skipped = int(late // interval) + 1
                run.missed += skipped
                k += skipped
                due = start + k * interval
            print(f"\r  cycle {k}/{cycles}: {walls[-1] * 1000:.0f} ms wall, {cpus[-1] * 1000:.0f} ms CPU, "
                  f"record {run.record_s[-1] * 1000:.1f} ms   ", end="", flush=True)
            await asyncio.sleep(max(0.0, due - loop.time()))
    print()
    return walls, cpus, run.record_s, run.missed, not_ready


async def probe_cycles(targets: list[Target], n: int, timeout: float) -> list[float]:
    out = []
    async with Prober(timeout=timeout) as prober:
        for _ in range(n):
            t = time.perf_counter()
            await prober.cycle(targets)
            out.append(time.perf_counter() - t)
    return out


def record_baseline(ids: list[str], n: int) -> list[float]:
    """1,000 rows of a sample's size into a plain SQLite table, one transaction each, n times."""
    figures = json.dumps({"seconds": 1.0, "active": 3.0, "capacity": 10.0, "cpu": 2.5, "memory": 1.2,
                          "requests_per_s": 4.0, "error_rate": 0.0, "response_time_ms": 120.0, "p50_ms": 100.0,
                          "p95_ms": 240.0, "restarted": False, "detail": ""})
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "b.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE s (id INTEGER PRIMARY KEY, run_id INT, at TEXT, agent_id TEXT, state TEXT, "
                     "metrics TEXT)")
        for k in range(n):
            at = f"2026-11-30T00:00:{k % 60:02d}.000Z"
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO s (run_id, at, agent_id, state, metrics) VALUES (1, ?, ?, 'ready', ?)",
                             [(at, i, figures) for i in ids])
            conn.execute("COMMIT")
            out.append(time.perf_counter() - t)
        conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the top run (default 60)")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    cycles = max(1, int(args.seconds / args.interval))
    client_cores, server_cores = (None, None) if args.no_pin else pb.pin_cores()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)
    pb.print_machine(client_cores, server_cores)
    with tempfile.TemporaryDirectory(prefix="clawctl-bench-top-") as tmp:
        work = Path(tmp)
        port = pb.free_port()
        text, ids = pb.fleet_text(args.agents, args.seed, port)
        fleet = work / "fleet.yaml"
        fleet.write_text(text)
        ready, log = work / "ready.json", work / "server.log"
        proc = pb.start_server(fleet, port, ready, log, server_cores)
        try:
            if pb.wait_ready(proc, ready, 120) is None:
                print("the server did not start; its log:\n" + log.read_text(errors="replace")[:3000], file=sys.stderr)
                return 2
            server = psutil.Process(proc.pid)
            targets = [Target(i, f"http://127.0.0.1:{port}/agents/{i}", token=pb.BENCH_TOKEN) for i in ids]
            print(f"\nbaseline: bare probe cycles (Prober.cycle) over {len(ids):,} agents ...", flush=True)
            asyncio.run(probe_cycles(targets, 1, 2.0))  # warm-up
            probe_s = asyncio.run(probe_cycles(targets, 10, 2.0))
            rec_base = record_baseline(ids, 20)
            os.environ["XDG_DATA_HOME"] = str(work / "xdg")  # no lab lookups in the user's store
            print(f"clawctl top: {cycles} cycles at {args.interval:g} s, recording into {work / 'store.db'} ...",
                  flush=True)
            s0 = server.cpu_times()
            walls, cpus, rec, missed, not_ready = asyncio.run(top_cycles(fleet, work / "store.db", args.interval,
                                                                         cycles))
            s1 = server.cpu_times()
        finally:
            pb.stop_server(proc)
    med = statistics.median
    print(f"\n{'':28}{'median':>10}{'p95':>10}")
    print(f"{'top cycle, wall':28}{med(walls) * 1000:>8.0f}ms{pct(walls, .95) * 1000:>8.0f}ms")
    print(f"{'top cycle, client CPU':28}{med(cpus) * 1000:>8.0f}ms{pct(cpus, .95) * 1000:>8.0f}ms")
    print(f"{'bare probe cycle, wall':28}{med(probe_s) * 1000:>8.0f}ms{pct(probe_s, .95) * 1000:>8.0f}ms")
    print(f"{'recording 1 cycle':28}{med(rec) * 1000:>8.1f}ms{pct(rec, .95) * 1000:>8.1f}ms")
    print(f"{'sqlite3 executemany':28}{med(rec_base) * 1000:>8.1f}ms{pct(rec_base, .95) * 1000:>8.1f}ms")
    server_cpu = (s1.user + s1.system - s0.user - s0.system) / cycles
    print(f"server CPU per cycle: {server_cpu * 1000:.0f} ms; agents not ready in any cycle: {not_ready}")
    print(f"ratios: top cycle / bare probe {med(walls) / med(probe_s):.2f}x; "
          f"recording / executemany {med(rec) / med(rec_base):.2f}x")
    print(f"missed cycles: {missed} of {cycles}")
    ok = missed == 0 and med(rec) <= RECORD_TARGET_S and not_ready == 0
    print(("PASS" if ok else "FAIL") + f": no missed cycle ({missed}), recording median {med(rec) * 1000:.1f} ms "
          f"(target {RECORD_TARGET_S * 1000:.0f} ms), every agent ready ({not_ready} not)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
