"""Speed and memory of `clawctl simulate`'s engine, against a SimPy model of the same system in the same run.

    python bench/simulate.py [--requests 1000000] [--repeat 3] [--skip-memory] [--profile]

1. The reference model (M/M/1000 at rho 0.9), written as a fleet: 100 agents x 10 slots,
   exponential service with mean 1 s, Poisson arrivals at 900/s (rho 0.9), least_conn, one central
   unbounded FIFO queue, no mix, no business hours. Exactly M/M/1000. clawctl's engine
   (clawctl.core.sim.engine.simulate) runs it in this process: one untimed warm-up run first (it loads
   the numba cache, or compiles the kernel when the cache is missing or stale; its time is printed
   separately), then --repeat timed runs.
2. A SimPy model of the same system, timed in the same process, interleaved with clawctl's runs:
   a process per conversation, least connections through O(1) load buckets, a central FIFO deque when
   all 1,000 slots are busy, and a freed slot goes straight to the head of the queue (the idiom of
   the research). Both must agree with each other and with the M/M/1000 oracle on utilisation and
   mean sojourn (like with like), or the comparison is void. Target (issue 5): clawctl >= 6x SimPy.
3. The full model: 100 agents in teams across five time zones, 40% of them with business hours,
   lognormal service (mean 90 s, p95 240 s), the scored strategy, a six-type traffic mix with channels,
   capabilities and priorities, 50,000 customers (history), a central queue with a capacity and
   patience; rho about 0.84 of the open capacity on average, 0.74 to 0.95 over a 1M run (printed).
   Target: >= 300,000 requests/s.
4. Memory: the reference model in a fresh process for 1,000,000 and for 10,000,000 requests; each
   child reports its own peak RSS (VmHWM from /proc/self/status: ru_maxrss would include this
   parent's peak, which Linux carries into a child across fork and exec). Target: under 500 MB at 10M
   and flat (the 10M peak within 10% + 16 MB of the 1M peak). --skip-memory skips this.
5. The real CLI once: `clawctl simulate ref.yaml --requests N --format json --no-store`, wall time
   including interpreter start, imports, fleet validation and the numba cache load.

Rates and the ratio are taken on CPU time of this process (time.process_time); on a shared machine
wall times swing with other jobs, CPU times much less. Wall times are printed beside them.
Each clawctl run is split into the numba kernel (run_block) and the Python driver; --profile also
times the reference model under each routing strategy (what routing costs).

Exit codes: 0 every target met; 1 a target missed, or the two models disagree (the comparison is void);
2 SimPy, clawctl or numba is not installed (pip install -e '.[dev]').
A benchmark, not a test (ARCHITECTURE.md habit 12): the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from timing import Medians  # bench/ is not a package: imported from this folder

ORACLES_DIR = Path(__file__).resolve().parents[1] / "tests" / "core"  # the closed-form queueing oracles

TARGET_RATIO = 6.0  # clawctl / SimPy, reference model
TARGET_FULL = 300_000.0  # requests/s, full model
TARGET_RSS_MB = 500.0  # peak RSS at 10M requests
FLAT_SLACK = (1.10, 16.0)  # the 10M peak may exceed the 1M peak by 10% + 16 MB and still count as flat

REF_AGENTS, REF_SLOTS, REF_RATE, REF_MEAN = 100, 10, 900.0, 1.0
SEED = 1
WARMUP = 0.1  # share of the run left out of wait and sojourn figures (the engine's default)

# -- the fleets --------------------------------------------------------------------------------------


def reference_fleet(agents: int = REF_AGENTS, slots: int = REF_SLOTS, rate: float = REF_RATE) -> str:
    """The research model as a lint-clean fleet: identical agents, exponential 1 s service, least_conn,
    central FIFO. Two regions alternate; each agent's backups are identical agents of the other one."""
    out = [
        "# bench/simulate.py: the reference model (M/M/1000, rho 0.9).\n",
        "apiVersion: clawctl/v1\nkind: Fleet\nmetadata:\n  name: sim-bench-reference\n",
        "defaults:\n",
        f"  max_concurrent_conversations: {slots}\n",
        "  weight: 1\n  availability: 24/7\n  channels: [website_chat]\n  capabilities: [general_inquiries]\n",
        f"  service_time:\n    distribution: exponential\n    mean: {REF_MEAN:g}s\n",
        "agents:\n",
    ]
    for i in range(agents):
        backups = f"ref-{(i + 1) % agents:03d}, ref-{(i + 3) % agents:03d}"
        out.append(f"  ref-{i:03d}:\n    region: {'us-east' if i % 2 == 0 else 'europe'}\n"
                   f"    endpoint: http://127.0.0.1:{20000 + i}\n    backups: [{backups}]\n")
    out.append("load_balancing:\n  strategy: least_conn\n")
    out.append(f"traffic:\n  arrivals:\n    rate: {rate:g}/s\n    process: poisson\n    profile: constant\n"
               "  queue:\n    discipline: central\n")
    return "".join(out)


# region -> time zone; business hours 08:00-20:00 local, so the open windows are staggered around the clock
FULL_REGIONS = {
    "us-east": "America/New_York", "us-west": "America/Los_Angeles", "europe": "Europe/Berlin",
    "asia_pacific": "Asia/Tokyo", "latam": "America/Sao_Paulo",
}
FULL_CODES = {"us-east": "use", "us-west": "usw", "europe": "eu", "asia_pacific": "ap", "latam": "la"}
FULL_CAPS = ("technical_troubleshooting", "order_tracking", "payment_processing", "lead_qualification",
             "returns_processing")
FULL_CHANNELS = ("whatsapp", "telegram", "slack", "sms")
FULL_MIX = (  # name, share, channel, capabilities, priority
    ("support_chat", 0.30, "website_chat", ("technical_troubleshooting",), "normal"),
    ("orders_whatsapp", 0.20, "whatsapp", ("order_tracking",), "normal"),
    ("billing_email", 0.15, "email", ("payment_processing",), "high"),
    ("sales_chat", 0.15, "website_chat", ("lead_qualification",), "normal"),
    ("returns_email", 0.10, "email", ("returns_processing", "order_tracking"), "low"),
    ("support_telegram", 0.10, "telegram", ("technical_troubleshooting",), "normal"),
)
FULL_MEAN_S = 90.0
FULL_RHO = 0.83


@dataclass
class FullFleet:
    text: str
    rate: float  # arrivals per second
    slots_always: int
    slots_hours: int


def full_fleet(agents: int = 100, seed: int = SEED, rho: float = FULL_RHO) -> FullFleet:
    """A lint-clean fleet with the full model on: teams of five agents (one per region) share a profile
    (3-4 of 5 capabilities; website_chat, email and 1-2 more channels); an agent's backups are two team
    mates in other regions. 40% of agents keep business hours in their own zone, the rest are 24/7;
    5 to 15 slots each; performance priors for the scored strategy. The arrival rate puts rho at ``rho``
    of the average open capacity (half of the business-hours slots are open at any time on average)."""
    rng = random.Random(seed)
    regions = list(FULL_REGIONS)
    out = [
        "# bench/simulate.py: the full model (scored routing, traffic mix, business hours, lognormal service).\n",
        "apiVersion: clawctl/v1\nkind: Fleet\nmetadata:\n  name: sim-bench-full\n",
        "defaults:\n  weight: 1\n",
        f"  service_time:\n    distribution: lognormal\n    mean: {FULL_MEAN_S:g}s\n    p95: 240s\n",
        "agents:\n",
    ]
    slots_always = slots_hours = 0
    for team in range(max(1, agents // len(regions))):
        caps = sorted(rng.sample(FULL_CAPS, rng.randint(3, 4)))
        chans = ["website_chat", "email"] + sorted(rng.sample(FULL_CHANNELS, rng.randint(1, 2)))
        ids = [f"{FULL_CODES[r]}-{team:03d}" for r in regions]
        for k, region in enumerate(regions):
            tz = FULL_REGIONS[region]
            slots = rng.choice((5, 10, 10, 15))
            out.append(f"  {ids[k]}:\n    region: {region}\n    timezone: {tz}\n")
            out.append(f"    capabilities: [{', '.join(caps)}]\n    channels: [{', '.join(chans)}]\n")
            out.append(f"    max_concurrent_conversations: {slots}\n")
            if (team + k) % 5 in (1, 3):
                out.append(f'    business_hours:\n      timezone: {tz}\n      schedule: "08:00-20:00 daily"\n')
                slots_hours += slots
            else:
                out.append("    availability: 24/7\n")
                slots_always += slots
            out.append(f"    performance: {{response_time: {rng.randint(800, 2500)}ms, "
                       f"satisfaction: {rng.randint(70, 98) / 100:.2f}}}\n")
            out.append(f"    endpoint: http://127.0.0.1:{21000 + team * 5 + k}\n")
            out.append(f"    backups: [{ids[(k + 1) % 5]}, {ids[(k + 2) % 5]}]\n")
    out.append("load_balancing:\n  strategy: scored\n  scoring:\n    capability: 0.4\n    performance: 0.3\n"
               "    load: 0.2\n    customer_history: 0.1\n")
    rate = rho * (slots_always + slots_hours / 2) / FULL_MEAN_S
    out.append(f"traffic:\n  arrivals:\n    rate: {rate * 60:.1f}/min\n    process: poisson\n    profile: constant\n")
    out.append("  mix:\n")
    for name, share, chan, caps, prio in FULL_MIX:
        out.append(f"    - {{name: {name}, share: {share:.2f}, channel: {chan}, "
                   f"capabilities: [{', '.join(caps)}], priority: {prio}}}\n")
    out.append("  customers: 50000\n  queue:\n    discipline: central\n    capacity: 5000\n    patience: 5m\n"
               "  sla:\n    wait: 30s\n")
    return FullFleet("".join(out), round(rate * 60, 1) / 60, slots_always, slots_hours)


def make_spec(path: Path, requests: int):
    """What `clawctl simulate` builds (services/simulate.py): validate and load the fleet, then the
    kernel's arrays, with business-hour edges over the run's horizon."""
    from clawctl.core.sim.engine import RunLength
    from clawctl.core.sim.spec import build
    from clawctl.services.validate import load_fleet

    fleet = load_fleet(str(path))
    spec = build(fleet, horizon=1.0)
    horizon = RunLength(requests=requests).horizon(spec)
    return build(fleet, horizon=horizon * 1.05 + 86400)


def open_capacity(spec, horizon: float, points: int = 4000) -> tuple[float, float, float]:
    """Open slots (agents available by business hours) at ``points`` instants of the run: min, mean, max."""
    import numpy as np

    cap = spec.cap.astype(float)
    avail = spec.avail0.astype(float).copy()
    p = 0
    seen = []
    for t in np.linspace(0.0, horizon, points):
        while p < len(spec.tr_t) and spec.tr_t[p] <= t:
            avail[spec.tr_agent[p]] = spec.tr_open[p]
            p += 1
        seen.append(float((avail * cap).sum()))
    return min(seen), statistics.fmean(seen), max(seen)


# -- clawctl's engine ------------------------------------------------------------------------------


@dataclass
class Runs(Medians):
    name: str
    requests: int
    kernel: list[float] = field(default_factory=list)  # run_block wall time per run (clawctl only)
    result: dict = field(default_factory=dict)

    @property
    def rate_cpu(self) -> float:
        return self.requests / self.cpu

    @property
    def rate_wall(self) -> float:
        return self.requests / self.wall


class KernelClock:
    """Wraps kernel.run_block to add up the time spent inside the numba kernel (16 calls per 1M requests).
    The engine imports run_block from the kernel module at each run, so the wrapper is set there."""

    def __init__(self) -> None:
        from clawctl.core.sim import kernel

        self.module = kernel
        self.inner = kernel.run_block
        self.total = 0.0

        def timed(*args):
            t0 = time.perf_counter()
            try:
                return self.inner(*args)
            finally:
                self.total += time.perf_counter() - t0

        kernel.run_block = timed

    def close(self) -> None:
        self.module.run_block = self.inner


def run_clawctl(spec, strategy: str, requests: int, seed: int, clock: KernelClock | None = None):
    """(wall s, CPU s, kernel s, outcome) of one engine run."""
    from clawctl.core.sim.engine import RunLength, simulate

    k0 = clock.total if clock else 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    outcome = simulate(spec, strategy, RunLength(requests=requests), seed, warmup=WARMUP)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, (clock.total - k0) if clock else float("nan"), outcome


def _outcome_figures(o) -> dict:
    return {"utilization": o.utilization, "sojourn_mean": o.sojourn.mean, "sojourn_p99": o.sojourn.p99,
            "p_wait": o.p_wait, "wait_mean": o.wait.mean, "served": o.served, "arrived": o.arrived,
            "abandoned": o.abandoned, "rejected": o.rejected, "sla": o.sla_attainment}


# -- the SimPy model -------------------------------------------------------------------------------


def simpy_reference(requests: int, seed: int = SEED, agents: int = REF_AGENTS, slots: int = REF_SLOTS,
                    rate: float = REF_RATE, mean_service: float = REF_MEAN, warmup: float = WARMUP) -> dict:
    """The reference model in SimPy, written the way the research measured it (a process per conversation).

    Least connections through O(1) load buckets (buckets[n] holds the agents with n conversations, in
    insertion order; ``lo`` is the lowest non-empty bucket); a central FIFO deque when all slots are
    busy; a freed slot goes straight to the head of the queue. Four SimPy events per request: the
    arrival timeout, the conversation's start, its service timeout and its end. The run stops at the
    last arrival, as clawctl's does; requests that arrived in the first ``warmup`` share of the run are
    left out of the wait and sojourn figures. Utilisation is the time-weighted busy-slot count.
    """
    import simpy

    env = simpy.Environment()
    expo = random.Random(seed).expovariate
    mu = 1.0 / mean_service
    warm_t = warmup * requests / rate
    buckets: list[dict[int, None]] = [dict.fromkeys(range(agents))] + [{} for _ in range(slots)]
    load = [0] * agents
    queue: deque[float] = deque()
    timeout, process = env.timeout, env.process
    lo = busy = n_soj = started = waited = served = 0
    area = last = soj = wait = 0.0

    def conversation(agent: int, arrived: float):
        nonlocal lo, busy, area, last, soj, n_soj, wait, started, waited, served
        yield timeout(expo(mu))
        now = env.now
        served += 1
        if arrived >= warm_t:
            soj += now - arrived
            n_soj += 1
        if queue:  # the slot goes straight to the head of the central queue; busy slots unchanged
            waiting = queue.popleft()
            if waiting >= warm_t:
                wait += now - waiting
                started += 1
                waited += 1
            process(conversation(agent, waiting))
            return
        area += busy * (now - last)
        last = now
        busy -= 1
        n = load[agent]
        del buckets[n][agent]
        n -= 1
        load[agent] = n
        buckets[n][agent] = None
        if n < lo:  # noqa: PLR1730 (an if is cheaper than a call to min in this hot path)
            lo = n

    def source():
        nonlocal lo, busy, area, last, started
        for _ in range(requests):
            yield timeout(expo(rate))
            now = env.now
            while lo < slots and not buckets[lo]:
                lo += 1
            if lo == slots:  # every slot busy: wait in the central FIFO
                queue.append(now)
                continue
            b = buckets[lo]
            agent = next(iter(b))
            del b[agent]
            load[agent] = lo + 1
            buckets[lo + 1][agent] = None
            area += busy * (now - last)
            last = now
            busy += 1
            if now >= warm_t:
                started += 1
            process(conversation(agent, now))

    env.run(until=process(source()))
    end = env.now
    area += busy * (end - last)
    return {"utilization": area / (agents * slots * end), "sojourn_mean": soj / n_soj if n_soj else float("nan"),
            "p_wait": waited / started if started else float("nan"),
            "wait_mean": wait / started if started else float("nan"), "served": served, "arrived": requests}


def run_simpy(requests: int, seed: int) -> tuple[float, float, dict]:
    c0, t0 = time.process_time(), time.perf_counter()
    result = simpy_reference(requests, seed)
    return time.perf_counter() - t0, time.process_time() - c0, result


# -- helpers ---------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def find_tool(name: str) -> str | None:
    """The console script installed beside this Python (no pyenv/asdf shim in the timing), else PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def cpu_pressure() -> str:
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    fields = dict(f.split("=") for f in line.split()[1:] if "=" in f)
    return f"{fields.get('avg10', '?')}% (10 s), {fields.get('avg60', '?')}% (60 s)"


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def print_machine() -> None:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, nproc {affinity} (cpu_count {os.cpu_count()}), "
          f"{platform.system()} {platform.release()}")
    print(f"python:  {platform.python_version()} ({sys.executable})")
    print(f"numba {_version('numba')} (llvmlite {_version('llvmlite')}), numpy {_version('numpy')}, "
          f"simpy {_version('simpy')}, clawctl {_version('clawctl')}")
    print(f"load average (1, 5, 15 min): {load_average()}; CPU pressure: {cpu_pressure()}")
    print("(rates and the ratio are on CPU time of this process; wall times are printed beside them)")


def _fmt_rate(r: float) -> str:
    return f"{r / 1e3:,.0f}k/s" if r < 1e6 else f"{r / 1e6:,.2f}M/s"


def _close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * abs(b)


# -- the benchmarks --------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # figure, value, target, verdict
    failed: list[str] = field(default_factory=list)

    def add(self, figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("OK" if ok else "MISSED")
        self.rows.append((figure, value, target, verdict))
        if ok is False:
            self.failed.append(f"{figure}: {value} (target {target})")


def bench_reference(ref_path: Path, requests: int, simpy_requests: int, repeat: int, seed: int,
                    report: Report) -> tuple[Runs, Runs]:
    from clawctl.core.sim import kernel

    sys.path.insert(0, str(ORACLES_DIR))
    from oracles import mmc  # a test helper: tests/core/oracles.py

    print(f"\n== 1-2. Reference model (M/M/1000, rho 0.9, least_conn, central FIFO): clawctl {requests:,} "
          f"requests, SimPy {simpy_requests:,} ==")
    t0 = time.perf_counter()
    spec = make_spec(ref_path, requests)
    print(f"fleet load + validate + build: {time.perf_counter() - t0:.2f} s")
    clock = KernelClock()
    try:
        ours = Runs("clawctl (numba)", requests)
        base = Runs("SimPy 4 (process per conversation)", simpy_requests)
        wall, cpu, kern, _ = run_clawctl(spec, "least_conn", requests, seed, clock)
        stats = clock.inner.stats
        cache = ("compiled (cache missing or stale)" if sum(stats.cache_misses.values())
                 else "loaded from the numba cache" if sum(stats.cache_hits.values()) else "already in memory")
        print(f"first run (untimed warm-up; kernel {cache}): {wall:.2f} s wall, {cpu:.2f} s CPU")
        report.add("first engine run incl. numba load/compile, s", f"{wall:.2f} ({cache.split(' (')[0]})")
        for i in range(repeat):  # interleaved, so drift on a shared machine hits both alike
            wall, cpu, kern, outcome = run_clawctl(spec, "least_conn", requests, seed, clock)
            ours.walls.append(wall)
            ours.cpus.append(cpu)
            ours.kernel.append(kern)
            ours.result = _outcome_figures(outcome)
            swall, scpu, sres = run_simpy(simpy_requests, seed)
            base.walls.append(swall)
            base.cpus.append(scpu)
            base.result = sres
            print(f"  run {i + 1}/{repeat}: clawctl {wall:.3f} s wall, {cpu:.3f} s CPU (kernel {kern:.3f} s); "
                  f"SimPy {swall:.2f} s wall, {scpu:.2f} s CPU", flush=True)
    finally:
        clock.close()

    scaled = simpy_requests != requests
    print(f"\nmedians of {repeat} runs" + (f"; SimPy ran {simpy_requests:,} requests, its rate is per request "
                                         f"and compared as such (scaled to {requests:,})" if scaled else ""))
    head = f"{'engine':<38} {'requests':>10} {'wall s':>8} {'CPU s':>8} {'req/s (CPU)':>12} {'req/s (wall)':>13}"
    print(head)
    print("-" * len(head))
    for r in (base, ours):
        print(f"{r.name:<38} {r.requests:>10,} {r.wall:>8.3f} {r.cpu:>8.3f} {r.rate_cpu:>12,.0f} "
              f"{r.rate_wall:>13,.0f}")
    kern = statistics.median(ours.kernel)
    print(f"clawctl time split (median run): numba kernel (run_block) {kern:.3f} s, Python driver "
          f"(arrival blocks, variates, set-up, summary) {max(ours.wall - kern, 0.0):.3f} s")

    ratio_cpu = ours.rate_cpu / base.rate_cpu
    ratio_wall = ours.rate_wall / base.rate_wall
    print(f"\nratio (clawctl / SimPy, requests/s on CPU):  {ratio_cpu:.2f}x (target >= {TARGET_RATIO:g}x)  "
          f"{'OK' if ratio_cpu >= TARGET_RATIO else 'BELOW TARGET'}")
    print(f"ratio (clawctl / SimPy, requests/s on wall): {ratio_wall:.2f}x")

    oracle = mmc(REF_AGENTS * REF_SLOTS, REF_RATE, 1.0 / REF_MEAN)
    rho = REF_RATE * REF_MEAN / (REF_AGENTS * REF_SLOTS)
    c, s = ours.result, base.result
    print(f"\nlike with like (after a {WARMUP:.0%} warm-up; the M/M/1000 oracle beside them):")
    print(f"{'figure':<16} {'clawctl':>12} {'SimPy':>12} {'oracle':>12}")
    print(f"{'utilisation':<16} {c['utilization']:>12.5f} {s['utilization']:>12.5f} {rho:>12.5f}")
    print(f"{'mean sojourn s':<16} {c['sojourn_mean']:>12.5f} {s['sojourn_mean']:>12.5f} {oracle.w:>12.5f}")
    print(f"{'p99 sojourn s':<16} {c['sojourn_p99']:>12.4f} {'-':>12} {oracle.sojourn_quantile(0.99):>12.4f}")
    print(f"{'P(wait)':<16} {c['p_wait']:>12.2e} {s['p_wait']:>12.2e} {oracle.p_wait:>12.2e}")
    print(f"{'mean wait s':<16} {c['wait_mean']:>12.2e} {s['wait_mean']:>12.2e} {oracle.wq:>12.2e}")
    print("(waits are a rare event at rho 0.9 with 1,000 slots, about 1 request in 1,700: their relative "
          "error is sampling noise at this length)")
    agree = (abs(c["utilization"] - rho) < 0.01 and abs(s["utilization"] - rho) < 0.01
             and abs(c["utilization"] - s["utilization"]) < 0.01
             and _close(c["sojourn_mean"], oracle.w, 0.01) and _close(s["sojourn_mean"], oracle.w, 0.01)
             and abs(c["p_wait"]) < 2e-3 and abs(s["p_wait"]) < 2e-3)
    print(f"agree (utilisation within 0.01 of 0.9 and of each other, mean sojourn within 1% of the oracle, "
          f"P(wait) < 2e-3): {'yes' if agree else 'NO: the comparison is void'}")

    report.add("reference: clawctl requests/s (CPU)", f"{ours.rate_cpu:,.0f}")
    report.add("reference: clawctl requests/s (wall)", f"{ours.rate_wall:,.0f}")
    report.add("reference: SimPy requests/s (CPU)", f"{base.rate_cpu:,.0f}" + (" (scaled)" if scaled else ""))
    report.add("reference: SimPy requests/s (wall)", f"{base.rate_wall:,.0f}" + (" (scaled)" if scaled else ""))
    report.add("reference: ratio clawctl / SimPy (CPU)", f"{ratio_cpu:.2f}x", f">= {TARGET_RATIO:g}x",
               ratio_cpu >= TARGET_RATIO)
    report.add("reference: ratio clawctl / SimPy (wall)", f"{ratio_wall:.2f}x")
    report.add("reference: kernel / driver s (median run)", f"{kern:.3f} / {max(ours.wall - kern, 0.0):.3f}")
    report.add("reference: models agree (util, sojourn)",
               f"util {c['utilization']:.4f} / {s['utilization']:.4f}, "
               f"W {c['sojourn_mean']:.4f} / {s['sojourn_mean']:.4f}", "agree", agree)
    return ours, base


def _timed_child(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``cmd``; its result, wall seconds and CPU seconds (user + sys of the child)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, wall, (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)


def bench_cli(ref_path: Path, requests: int, report: Report) -> None:
    clawctl = find_tool("clawctl")
    print(f"\n== 5. The CLI once: clawctl simulate {ref_path.name} --requests {requests} --format json "
          "--no-store ==")
    if clawctl is None:
        print("clawctl is not on PATH: skipped")
        report.add("CLI: clawctl simulate wall s", "not run (clawctl not on PATH)", "runs", False)
        return
    cmd = [clawctl, "simulate", str(ref_path), "--requests", str(requests), "--format", "json", "--no-store"]
    proc, wall, cpu = _timed_child(cmd)
    if proc.returncode != 0:
        print(f"FAILED (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        report.add("CLI: clawctl simulate wall s", f"exit {proc.returncode}", "exit 0", False)
        return
    data = json.loads(proc.stdout)
    res = data["results"][0]
    inner = float(data["elapsed_s"])
    print(f"{clawctl}: {wall:.2f} s wall, {cpu:.2f} s CPU (child), of which the simulation itself "
          f"(elapsed_s) {inner:.2f} s; the rest is interpreter start, imports, validation and the numba "
          f"cache load")
    print(f"  {requests / wall:,.0f} requests/s end to end (wall); utilisation {res['utilization']:.4f}, "
          f"mean sojourn {res['sojourn']['mean']:.4f} s")
    report.add("CLI: clawctl simulate, wall s (whole command)", f"{wall:.2f} ({requests / wall:,.0f} req/s)")
    report.add("CLI: of which elapsed_s (the simulation)", f"{inner:.2f}")
    # the baseline as a user would run it too: the SimPy model as its own process (start-up included)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--simpy-child", "--requests", str(requests)]
    simpy_proc, simpy_wall, simpy_cpu = _timed_child(cmd)
    if simpy_proc.returncode != 0:
        print(f"SimPy process FAILED (exit {simpy_proc.returncode}):\n{simpy_proc.stderr[-2000:]}")
        report.add("CLI: whole process vs SimPy's", f"SimPy exit {simpy_proc.returncode}", ">= 10x", False)
        return
    print(f"SimPy model as its own process: {simpy_wall:.2f} s wall, {simpy_cpu:.2f} s CPU")
    ratio = simpy_cpu / cpu
    report.add("CLI: whole process, SimPy / clawctl (CPU)", f"{ratio:.2f}x (wall {simpy_wall / wall:.2f}x)",
               ">= 10x", ratio >= 10)


def bench_full(requests: int, repeat: int, seed: int, work: Path, report: Report) -> Runs:
    print(f"\n== 3. Full model (scored, 6-type mix, business hours in 5 zones, lognormal, customers): "
          f"{requests:,} requests ==")
    ff = full_fleet(seed=seed)
    path = work / "full.yaml"
    path.write_text(ff.text)
    spec = make_spec(path, requests)
    horizon = requests / spec.mean_rate()
    lo, mean, hi = open_capacity(spec, horizon)
    load = spec.rate * FULL_MEAN_S
    print(f"{len(spec.agent_ids)} agents, {int(spec.cap.sum())} slots ({ff.slots_always} always open, "
          f"{ff.slots_hours} with business hours 08:00-20:00 in {len(FULL_REGIONS)} zones), "
          f"{len(spec.type_names)} request types (eligible agents: {', '.join(str(int(x)) for x in spec.elig.sum(1))}), "
          f"{spec.customers:,} customers")
    print(f"arrivals {spec.rate:.3f}/s for {horizon / 3600:.1f} simulated hours ({len(spec.tr_t)} business-hour "
          f"edges); open slots min/mean/max {lo:.0f}/{mean:.0f}/{hi:.0f}, so rho of the open capacity "
          f"{load / hi:.2f}/{load / mean:.2f}/{load / lo:.2f} (min/mean/max)")
    runs = Runs("clawctl full model (scored)", requests)
    for i in range(repeat):
        wall, cpu, _, outcome = run_clawctl(spec, "scored", requests, seed)
        runs.walls.append(wall)
        runs.cpus.append(cpu)
        runs.result = _outcome_figures(outcome)
        print(f"  run {i + 1}/{repeat}: {wall:.3f} s wall, {cpu:.3f} s CPU", flush=True)
    r = runs.result
    print(f"median: {runs.cpu:.3f} s CPU, {runs.wall:.3f} s wall -> {runs.rate_cpu:,.0f} requests/s (CPU), "
          f"{runs.rate_wall:,.0f} (wall)  target >= {TARGET_FULL:,.0f}: "
          f"{'OK' if runs.rate_cpu >= TARGET_FULL else 'BELOW TARGET'}")
    print(f"outcome: served {r['served']:,}, abandoned {r['abandoned']:,}, rejected {r['rejected']:,}; "
          f"P(wait) {r['p_wait']:.3f}, mean wait {r['wait_mean']:.2f} s, SLA (30 s) {r['sla']:.4f}, "
          f"mean sojourn {r['sojourn_mean']:.1f} s; utilisation of all slots (closed hours included) "
          f"{r['utilization']:.3f}")
    report.add("full model: requests/s (CPU)", f"{runs.rate_cpu:,.0f}", f">= {TARGET_FULL:,.0f}",
               runs.rate_cpu >= TARGET_FULL)
    report.add("full model: requests/s (wall)", f"{runs.rate_wall:,.0f}")
    report.add("full model: rho of open capacity min/mean/max", f"{load / hi:.2f}/{load / mean:.2f}/{load / lo:.2f}")
    return runs


def _proc_status_mb(key: str) -> float | None:
    """VmHWM (peak resident set) or VmRSS of this process from /proc/self/status, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def child_run(path: str, requests: int, seed: int) -> int:
    """--child: one reference run in this fresh process; print JSON with its own peak RSS.

    The peak is VmHWM, the high-water mark of this process's own memory map. Not ru_maxrss: Linux
    carries the parent's high-water mark into a child across fork and exec, so every child of a
    250 MB parent would report at least 250 MB."""
    from clawctl.core.sim.engine import RunLength, simulate

    spec = make_spec(Path(path), requests)
    before = _proc_status_mb("VmRSS")
    peak_before = _proc_status_mb("VmHWM")
    c0, t0 = time.process_time(), time.perf_counter()
    o = simulate(spec, "least_conn", RunLength(requests=requests), seed, warmup=WARMUP)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _proc_status_mb("VmHWM")
    source = "VmHWM"
    if peak is None:  # no /proc: fall back to getrusage (KB on Linux), which may include the parent's peak
        peak, source = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss"
    print(json.dumps({"requests": requests, "peak_rss_mb": peak, "peak_source": source,
                      "rss_before_run_mb": before, "peak_before_run_mb": peak_before, "wall": wall, "cpu": cpu,
                      "utilization": o.utilization, "sojourn_mean": o.sojourn.mean, "arrived": o.arrived}))
    return 0


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f} MB"


def bench_memory(ref_path: Path, sizes: tuple[int, int], seed: int, report: Report) -> None:
    print(f"\n== 4. Memory: the reference model in a fresh process, {sizes[0]:,} and {sizes[1]:,} requests ==")
    found = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--child", str(ref_path), "--requests", str(n), "--seed", str(seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"child for {n:,} requests failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            report.add(f"memory: peak RSS at {n:,} requests", f"child exit {proc.returncode}", "runs", False)
            return
        d = json.loads(proc.stdout.strip().splitlines()[-1])
        found.append(d)
        print(f"  {n:>11,} requests: peak RSS {d['peak_rss_mb']:.0f} MB ({d['peak_source']}; after imports and "
              f"fleet load, before the run: {_mb(d['rss_before_run_mb'])} resident, {_mb(d['peak_before_run_mb'])} "
              f"peak); run {d['cpu']:.2f} s CPU, {d['wall']:.2f} s wall (the process's first run: numba cache "
              f"load included) = {n / d['cpu']:,.0f} requests/s (CPU); whole process {wall:.1f} s; "
              f"utilisation {d['utilization']:.4f}")
    small, big = found
    flat = big["peak_rss_mb"] <= small["peak_rss_mb"] * FLAT_SLACK[0] + FLAT_SLACK[1]
    under = big["peak_rss_mb"] < TARGET_RSS_MB
    print(f"peak RSS {big['peak_rss_mb']:.0f} MB at {sizes[1]:,} against {small['peak_rss_mb']:.0f} MB at "
          f"{sizes[0]:,} ({big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x): flat {'yes' if flat else 'NO'}; "
          f"under {TARGET_RSS_MB:.0f} MB: {'yes' if under else 'NO'}")
    report.add(f"memory: peak RSS at {sizes[0]:,} requests, MB", f"{small['peak_rss_mb']:.0f}")
    report.add(f"memory: peak RSS at {sizes[1]:,} requests, MB", f"{big['peak_rss_mb']:.0f}",
               f"< {TARGET_RSS_MB:.0f}", under)
    report.add(f"memory: flat ({sizes[1] // 10**6}M vs {sizes[0] / 10**6:g}M peak)", f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x",
               "<= 1.1x + 16 MB", flat)
    report.add(f"memory: {sizes[1]:,}-request run, requests/s (CPU, incl. cache load)",
               f"{sizes[1] / big['cpu']:,.0f}")


def bench_profile(ref_path: Path, requests: int, seed: int) -> None:
    """Where the reference run's time goes: each routing strategy on the same arrivals (the kernel's
    per-request cost without and with a scan of the 100 agents)."""
    print(f"\n== profile: the reference model under each strategy ({requests:,} requests, best of 2) ==")
    spec = make_spec(ref_path, requests)
    clock = KernelClock()
    try:
        print(f"{'strategy':<22} {'CPU s':>7} {'kernel s':>9} {'req/s (CPU)':>12} {'ns/request':>11}")
        for strategy in ("round_robin", "least_conn", "weighted_round_robin", "random", "p2c", "scored"):
            best = min((run_clawctl(spec, strategy, requests, seed, clock) for _ in range(2)), key=lambda r: r[1])
            print(f"{strategy:<22} {best[1]:>7.3f} {best[2]:>9.3f} {requests / best[1]:>12,.0f} "
                  f"{best[1] / requests * 1e9:>11,.0f}")
    finally:
        clock.close()


def print_table(report: Report) -> None:
    print("\n== Summary ==")
    w0 = max(len(r[0]) for r in report.rows)
    w1 = max(len(r[1]) for r in report.rows)
    w2 = max(len(r[2]) for r in report.rows)
    head = f"{'figure':<{w0}}  {'value':>{w1}}  {'target':<{w2}}  verdict"
    print(head)
    print("-" * len(head))
    for fig, val, tgt, verdict in report.rows:
        print(f"{fig:<{w0}}  {val:>{w1}}  {tgt:<{w2}}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests per run (default 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each engine; the median counts "
                        "(default 3)")
    parser.add_argument("--simpy-requests", type=int, default=None, metavar="N",
                        help="run SimPy on N requests instead (its rate is per request; default: --requests)")
    parser.add_argument("--memory-requests", type=int, default=10_000_000, metavar="N",
                        help="the long run of the memory check (default 10000000)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory check (it takes a while)")
    parser.add_argument("--profile", action="store_true", help="also time the reference model under each strategy")
    parser.add_argument("--seed", type=int, default=SEED, help="simulation seed (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="write the fleets to DIR and keep them")
    parser.add_argument("--child", metavar="FLEET", help=argparse.SUPPRESS)
    parser.add_argument("--simpy-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.simpy_child:  # section 5's baseline: the SimPy model as a whole process of its own
        simpy_reference(args.requests, args.seed)
        return 0
    if args.repeat < 1 or args.requests < 100_000 or (args.simpy_requests or 100_000) < 100_000:
        # shorter runs are dominated by the empty start: utilisation falls below 0.9 and the
        # like-with-like check against the oracle fails for a reason that is not the engines'
        parser.error("--repeat must be at least 1, and --requests and --simpy-requests at least 100000")
    if args.child:
        return child_run(args.child, args.requests, args.seed)
    for dist in ("simpy", "clawctl", "numba"):
        if _version(dist) == "not installed":
            print(f"{dist} is not installed. Install the development tools: pip install -e '.[dev]'",
                  file=sys.stderr)
            return 2

    print_machine()
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clawctl-simbench-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ref_path = work / "ref.yaml"
        ref_path.write_text(reference_fleet())
        print(f"work dir: {work}  (ref.yaml: the reference model; full.yaml: the full model)")
        bench_reference(ref_path, args.requests, args.simpy_requests or args.requests, args.repeat, args.seed,
                        report)
        bench_full(args.requests, args.repeat, args.seed, work, report)
        bench_cli(ref_path, args.requests, report)
        if args.profile:
            bench_profile(ref_path, args.requests, args.seed)
        if args.skip_memory:
            print("\n== 4. Memory: skipped (--skip-memory) ==")
            report.add("memory", "skipped (--skip-memory)")
        else:
            bench_memory(ref_path, (args.requests, args.memory_requests), args.seed, report)

    print(f"\nload average at the end (1, 5, 15 min): {load_average()}; CPU pressure: {cpu_pressure()}; "
          f"bench took {time.perf_counter() - started:.0f} s")
    print_table(report)
    if report.failed:
        print("\nFAIL: " + "; ".join(report.failed))
        if not args.profile:
            print("(--profile times each routing strategy; docs/benchmarks.md, section bench/simulate, has the "
                  "analysis)")
        return 1
    print("\nPASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
