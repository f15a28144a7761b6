"""Speed of a full probe cycle (readiness + metrics) over 1,000 agents, against plain aiohttp in the same run.

    python bench/probe.py [--agents 1000] [--cycles 5] [--concurrency 200] [--timeout 1.0]

In a temporary folder: generate a clean N-agent fleet (bench/gen_fleet.py, default 1,000 agents) whose
every endpoint is ``http://127.0.0.1:PORT/agents/<id>``, and start ONE server process serving all of them
behind that port:

    python -m clawctl.cli.main agent serve --fleet fleet.yaml --all --port PORT --ready-file ready.json

On a machine with 2 or more cores the server is pinned to one core and this (client) process to
another, so the two do not compete. Once the ready file appears, one untimed warm-up cycle of each, then
C timed cycles of each (default 5), interleaved:

    clawctl   Prober(timeout, concurrency).cycle(targets): GET /readyz + GET /metrics per agent, the
              readiness verdict and the scanned metrics; every result must be `ready` with metrics.
    baseline  plain aiohttp: one ClientSession (a pool of 2 x concurrency connections), a semaphore of
              the same concurrency, GET /readyz + GET /metrics per agent (both at once, as the prober
              does), json.loads of the readiness body, the metrics body read but not parsed.

Each cycle opens its own session (as `clawctl probe` does). For each it prints the median wall time per
cycle, the client's CPU time per cycle (this process, time.process_time) and the server's (its
process, from /proc via psutil): a server whose CPU per cycle is close to the wall time is saturated,
and then it, not the client, sets the cycle time. Then the ratio clawctl / baseline, and PASS or FAIL
against the target (the issue): a clawctl cycle median of at most 0.5 s.

It also runs the real CLI once, `clawctl probe fleet.yaml --format json`, and prints its total wall
time (interpreter start, imports, fleet validation and one cycle), for information. On a shared
machine, `--quiet-wait S` first waits up to S seconds for the kernel's CPU pressure to drop under 3%;
the script flags runs whose wall times are well above both processes' CPU times either way.

Exit codes: 0 target met; 1 the clawctl cycle median is over 0.5 s, or a probe result was not `ready`
with metrics, or `clawctl probe` did not report every agent ready; 2 the server did not start.
A benchmark, not a test (ARCHITECTURE.md habit 12): the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_fleet  # bench/ is not a package: imported from this folder
from timing import Medians

from clawctl.adapters.prober import Prober, Target

TARGET_S = 0.5
READY_WAIT_S = 60.0
CLI_TIMEOUT_S = 120.0
QUIET_PRESSURE = 3.0  # percent, for --quiet-wait
_AGENT_KEY = re.compile(r"^  ([A-Za-z0-9][A-Za-z0-9_.-]*):\s*$")
_ENDPOINT = re.compile(r"^(    endpoint: ).*$")


@dataclass
class Timing(Medians):
    name: str
    server_cpus: list[float] = field(default_factory=list)

    @property
    def server_cpu(self) -> float:
        return statistics.median(self.server_cpus)


# -- the fleet and the server --------------------------------------------------------------------------
def fleet_text(agents: int, seed: int, port: int) -> tuple[str, list[str]]:
    """gen_fleet's fleet, every endpoint rewritten to ``http://127.0.0.1:PORT/agents/<id>``; and the ids."""
    out, ids, current = [], [], None
    in_agents = False
    for line in gen_fleet.generate(agents, seed).splitlines(keepends=True):
        if line.startswith("agents:"):
            in_agents = True
        elif line[:1] not in (" ", "\n", "#"):
            in_agents = False
        if in_agents:
            key = _AGENT_KEY.match(line)
            if key:
                current = key.group(1)
                ids.append(current)
            elif current is not None and _ENDPOINT.match(line):
                line = f"    endpoint: http://127.0.0.1:{port}/agents/{current}\n"
        out.append(line)
    if len(ids) != agents:
        raise SystemExit(f"bench/probe.py: found {len(ids)} agents in the generated fleet, expected {agents}")
    return "".join(out), ids


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_cores() -> tuple[set[int] | None, set[int] | None]:
    """(client cores, server cores): one core each when there are 2 or more, else None (no pinning)."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return {cores[0]}, {cores[1]}


BENCH_TOKEN = "bench-" + os.urandom(8).hex()  # the agents' token (gen_fleet's agents name CLAWCTL_AGENT_TOKEN)


def start_server(fleet: Path, port: int, ready: Path, log: Path, server_cores: set[int] | None) -> subprocess.Popen:
    os.environ["CLAWCTL_AGENT_TOKEN"] = BENCH_TOKEN  # the server and this process's probes read it
    cmd = [sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--fleet", str(fleet), "--all",
           "--port", str(port), "--ready-file", str(ready)]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if server_cores is not None:
        try:
            os.sched_setaffinity(proc.pid, server_cores)
        except OSError:
            pass
    return proc


def wait_ready(proc: subprocess.Popen, ready: Path, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                return json.loads(ready.read_text())
            except (OSError, ValueError):
                pass  # written atomically, but be safe
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# -- the two cycles ------------------------------------------------------------------------------------
async def clawctl_cycle(targets: list[Target], timeout: float, concurrency: int) -> int:
    """One cycle with clawctl's prober; returns how many results were not `ready` with metrics."""
    async with Prober(timeout=timeout, concurrency=concurrency) as prober:
        results = await prober.cycle(targets)
    bad = [r for r in results if r.verdict.state != "ready" or r.metrics is None or r.metrics_error is not None
           or r.metrics.max_conversations is None]
    if bad:
        r = bad[0]
        print(f"  clawctl: {len(bad)} of {len(results)} not ready with metrics; first: {r.agent_id} "
              f"{r.verdict.state} {r.verdict.detail!r} metrics_error={r.metrics_error!r}", flush=True)
    return len(bad) + (len(targets) - len(results))


async def baseline_cycle(urls: list[str], timeout: float, concurrency: int) -> int:
    """One cycle with plain aiohttp; returns how many agents did not answer 200 + ready + 200."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    bad = 0

    async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
        async with session.get(url, allow_redirects=False) as resp:
            return resp.status, await resp.read()

    async def one(session: aiohttp.ClientSession, base: str) -> None:
        nonlocal bad
        async with gate:
            try:
                async with asyncio.timeout(timeout):
                    (rs, rbody), (ms, _mbody) = await asyncio.gather(get(session, base + "/readyz"),
                                                                    get(session, base + "/metrics"))
                ok = rs == 200 and json.loads(rbody).get("ready") is True and ms == 200
            except (aiohttp.ClientError, TimeoutError, ValueError):
                ok = False
            bad += not ok

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, u) for u in urls))
    if bad:
        print(f"  baseline: {bad} of {len(urls)} agents did not answer ready", flush=True)
    return bad


def run_cycle(loop: asyncio.AbstractEventLoop, coro, server: psutil.Process) -> tuple[float, float, float, int]:
    """(wall s, client CPU s, server CPU s, failures) of one cycle."""
    s0 = server.cpu_times()
    c0 = time.process_time()
    t0 = time.perf_counter()
    failures = loop.run_until_complete(coro)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    s1 = server.cpu_times()
    return wall, cpu, (s1.user + s1.system) - (s0.user + s0.system), failures


# -- the CLI -------------------------------------------------------------------------------------------
def find_clawctl() -> list[str]:
    here = Path(sys.executable).parent / "clawctl"
    if here.is_file() and os.access(here, os.X_OK):
        return [str(here)]
    return [sys.executable, "-m", "clawctl.cli.main"]


def bench_cli(work: Path, fleet: Path, timeout: float, concurrency: int, agents: int) -> bool:
    cmd = find_clawctl() + ["--db", str(work / "no-store.db"), "probe", str(fleet), "--format", "json",
                            "--timeout", f"{timeout:g}", "--concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if k not in ("CLAWCTL_AGENT_TOKEN", "CLAWCTL_DB")}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        print(f"\nclawctl probe: no answer within {CLI_TIMEOUT_S:g} s")
        return False
    wall = time.perf_counter() - t0
    try:
        summary = json.loads(proc.stdout).get("summary", {})
    except ValueError:
        summary = {}
    ok = proc.returncode == 0 and summary.get("ready") == agents
    print(f"\nthe CLI, once (for information; not the target): {' '.join(cmd[-8:])}")
    print(f"  clawctl probe: {wall:.2f} s wall in total (interpreter start, imports, validating the fleet, one "
          f"cycle, JSON output); exit {proc.returncode}; summary {summary}")
    if not ok:
        for line in (proc.stderr or "").splitlines()[:20]:
            print(f"  | {line}")
    return ok


# -- report --------------------------------------------------------------------------------------------
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_pressure() -> str:
    """The kernel's CPU pressure (PSI): the share of time runnable tasks waited for a CPU, if available."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    fields = dict(f.split("=") for f in line.split()[1:] if "=" in f)
    return f"{fields.get('avg10', '?')}% (10 s), {fields.get('avg60', '?')}% (60 s)"


def cpu_pressure_avg10() -> float | None:
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(dict(f.split("=") for f in line.split()[1:] if "=" in f)["avg10"])
    except (OSError, IndexError, KeyError, ValueError):
        return None


def wait_for_quiet(limit_s: float, below: float = QUIET_PRESSURE) -> None:
    """Wait up to ``limit_s`` seconds for the CPU pressure (10 s average) to drop under ``below`` percent."""
    deadline = time.monotonic() + limit_s
    first = True
    while time.monotonic() < deadline:
        now = cpu_pressure_avg10()
        if now is None or now < below:
            if not first:
                print(f"quiet now (CPU pressure {now}%)", flush=True)
            return
        if first:
            print(f"waiting up to {limit_s:g} s for the machine to quieten (CPU pressure {now}% >= {below:g}%) ...",
                  flush=True)
            first = False
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    print(f"still busy after {limit_s:g} s (CPU pressure {cpu_pressure_avg10()}%): timing anyway", flush=True)


def print_machine(client_cores: set[int] | None, server_cores: set[int] | None) -> None:
    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, {platform.system()} {platform.release()}")
    print(f"python:  {platform.python_version()} ({sys.executable})")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"CPU pressure (time some task waited for a CPU): {cpu_pressure()}")
    print(f"clawctl {_version('clawctl')}, aiohttp {_version('aiohttp')}, yarl {_version('yarl')}, "
          f"multidict {_version('multidict')}; event loop: asyncio (no uvloop)")
    if client_cores is not None:
        print(f"pinned: client on core {sorted(client_cores)}, server on core {sorted(server_cores or ())}")
    else:
        print("not pinned (fewer than 2 cores, or no sched_setaffinity): client and server share the CPU")


def report(timings: list[Timing], cycles: int, agents: int) -> float:
    ours, base = timings
    print(f"\n{agents:,} agents, 2 requests each ({2 * agents:,} per cycle); medians of {cycles} cycles\n")
    head = (f"{'client':<10} {'wall s/cycle':>13} {'(min)':>7} {'client CPU s':>13} {'server CPU s':>13} "
            f"{'req/s':>8} {'client CPU ms/req':>18}")
    print(head)
    print("-" * len(head))
    for t in timings:
        print(f"{t.name:<10} {t.wall:>13.3f} {min(t.walls):>7.3f} {t.cpu:>13.3f} {t.server_cpu:>13.3f} "
              f"{2 * agents / t.wall:>8,.0f} {t.cpu / (2 * agents) * 1000:>18.3f}")
    print("(client CPU: this process; server CPU: the server process, per cycle. Server CPU close to the "
          "wall time means the server is saturated.)")
    print(f"\nratio (clawctl / baseline, wall): {ours.wall / base.wall:.2f}x")
    print(f"ratio (clawctl / baseline, client CPU): {ours.cpu / base.cpu:.2f}x")
    busy = max(t.server_cpu / t.wall for t in timings)
    print(f"server busy: {busy:.0%} of the wall time at most"
          f"{' (saturated: the server sets the pace)' if busy > 0.85 else ''}")
    slack = max(t.wall / max(t.cpu, t.server_cpu) for t in timings)
    if slack > 1.3:
        print(f"note: wall time is up to {slack:.1f}x the busier process's CPU time: client and server both sat "
              "waiting for part of the cycle, usually for a CPU taken by other work (CPU pressure now: "
              f"{cpu_pressure()}), so wall times are inflated. Rerun on a quiet machine (--quiet-wait); the CPU "
              "times are the steadier figures. (With few agents, connection set-up latency shows here too.)")
    return ours.wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000, help="agents in the fleet (default 1000)")
    parser.add_argument("--cycles", type=int, default=5, help="timed cycles of each client; the median counts "
                                                               "(default 5)")
    parser.add_argument("--concurrency", type=int, default=200, help="agents probed at once (default 200, as "
                                                                    "`clawctl probe`)")
    parser.add_argument("--timeout", type=float, default=1.0, help="total deadline per agent, s (default 1.0)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server to separate cores")
    parser.add_argument("--no-cli", action="store_true", help="skip the one `clawctl probe` run")
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="on a shared machine, first wait up to S seconds for the CPU pressure (Linux PSI, "
                             f"10 s average) to drop under {QUIET_PRESSURE:g}%% (default 0: do not wait)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep fleet.yaml and server.log there")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.cycles < 1 or args.concurrency < 1 or args.timeout <= 0:
        parser.error("--agents, --cycles and --concurrency must be at least 1, --timeout above 0")

    client_cores, server_cores = (None, None) if args.no_pin else pin_cores()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)
    print_machine(client_cores, server_cores)

    with tempfile.TemporaryDirectory(prefix="clawctl-bench-probe-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        port = free_port()
        text, ids = fleet_text(args.agents, args.seed, port)
        fleet = work / "fleet.yaml"
        fleet.write_text(text)
        ready = work / "ready.json"
        ready.unlink(missing_ok=True)
        log = work / "server.log"
        print(f"work dir: {work}  (fleet.yaml: {args.agents:,} agents at http://127.0.0.1:{port}/agents/<id>)")
        print(f"server: python -m clawctl.cli.main agent serve --fleet fleet.yaml --all --port {port} "
              f"--ready-file ready.json")
        proc = start_server(fleet, port, ready, log, server_cores)
        try:
            t0 = time.perf_counter()
            info = wait_ready(proc, ready, READY_WAIT_S)
            if info is None:
                print(f"the server did not start within {READY_WAIT_S:g} s (exit {proc.poll()}); its log:",
                      file=sys.stderr)
                for line in log.read_text(errors="replace").splitlines()[:40]:
                    print(f"  | {line}", file=sys.stderr)
                return 2
            print(f"server ready in {time.perf_counter() - t0:.2f} s (pid {info.get('pid')}, port {info.get('port')})")
            server = psutil.Process(proc.pid)
            targets = [Target(i, f"http://127.0.0.1:{port}/agents/{i}", token=BENCH_TOKEN) for i in ids]
            urls = [t.base_url for t in targets]
            ours, base = Timing("clawctl"), Timing("baseline")
            runs = {
                "clawctl": lambda: clawctl_cycle(targets, args.timeout, args.concurrency),
                "baseline": lambda: baseline_cycle(urls, args.timeout, args.concurrency),
            }
            loop = asyncio.new_event_loop()
            failures = 0
            try:
                if args.quiet_wait > 0:
                    wait_for_quiet(args.quiet_wait)
                print("\nwarm-up (untimed): one cycle of each ...", flush=True)
                for make in runs.values():
                    failures += run_cycle(loop, make(), server)[3]
                for i in range(args.cycles):
                    for t in (ours, base):  # interleaved, so drift on a shared machine hits both alike
                        wall, cpu, scpu, bad = run_cycle(loop, runs[t.name](), server)
                        failures += bad
                        t.walls.append(wall)
                        t.cpus.append(cpu)
                        t.server_cpus.append(scpu)
                    print(f"  cycle {i + 1}/{args.cycles}: " + "; ".join(
                        f"{t.name} {t.walls[-1]:.3f} s wall, {t.cpus[-1]:.3f} s CPU (server {t.server_cpus[-1]:.3f})"
                        for t in (ours, base)), flush=True)
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
            wall = report([ours, base], args.cycles, args.agents)
            cli_ok = True if args.no_cli else bench_cli(work, fleet, args.timeout, args.concurrency, args.agents)
        finally:
            stop_server(proc)

    if failures or not cli_ok:
        why = [f"{failures} probe results were not `ready` with metrics"] if failures else []
        why += [] if cli_ok else ["`clawctl probe` did not report every agent ready"]
        print("\nFAIL: " + "; ".join(why))
        return 1
    if wall > TARGET_S:
        print(f"\nFAIL: a clawctl probe cycle over {args.agents:,} agents takes {wall:.3f} s (median); "
              f"the target is {TARGET_S:g} s.")
        return 1
    print(f"\nPASS: a clawctl probe cycle over {args.agents:,} agents takes {wall:.3f} s (median; target "
          f"<= {TARGET_S:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
