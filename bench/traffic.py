"""Speed of `clawctl traffic`'s open-loop driver, beside Locust and wrk on the same target, in one run.

    python bench/traffic.py [--agents 100] [--max-rate 8000] [--seconds 4] [--refine 1] [--profile]

In a temporary folder: write a fleet of N agents (default 100) whose every endpoint is
``http://127.0.0.1:PORT/agents/<id>``, each with many slots (default 50) and a short deterministic
service time (0.3 fleet seconds, which ``--time-scale 0.01`` makes 3 ms of real time), round robin,
no traffic mix, no customer population (every request a new customer). Then start ONE server process
serving all of them behind that port:

    python -m clawctl.cli.main agent serve --fleet fleet.yaml --all --port PORT --time-scale 0.01 --seed 1

(a fresh one for each tool, so no tool inherits another's sessions). On a machine with 2 or more cores
the server is pinned to one core and every load generator to another (``--no-pin`` to not). Each tool
is then driven at increasing real rates (default 500, 1000, 2000, 4000, 8000/s) until a rate is not
sustained, then ``--refine`` geometric midpoints between the last sustained and the first failed
rate; a tool that fails the first rate is tried at halves of it, down to ``--min-rate``:

    clawctl  ``clawctl traffic fleet.yaml --rate R*S --requests R*T --time-scale S --format json --no-store``:
             open loop, Poisson arrivals at R real requests/s for about T real seconds, one process.
             Sustained: every request arrived and was served (or was still in its conversation at the
             last arrival: ``in_flight``), nothing rejected, abandoned, lost or retried, no error, and
             the driver's schedule lag p99 (the JSON's ``driver.lag_p99_ms``: real ms from a request's
             scheduled send time to its hand-off to the HTTP client) at most 1 ms. A clawctl without
             the ``driver`` figures is judged on the wait p99 instead (scheduled arrival to the request
             being sent, in real ms), which is the same span while nothing queues, and the table says so.
             Achieved rate = served / real seconds of the arrival phase (``simulated_s`` x time scale:
             from the run's start to its last arrival, as the driver itself measures it); it must be
             within Poisson noise of R (at least min(95%, 1 - 3/sqrt(N)) of it). A second search,
             reusing the first's runs, finds the highest rate clawctl keeps pace with on Locust's bar
             (the same without the lag), printed beside it for a like-with-like ratio.
    Locust   FastHttpUser, ``constant_throughput(R / users)``, one process, headless, ``--reset-stats``
             (the rate is measured once every user is running): the same ``POST /v1/conversations?wait=1``
             with the same JSON body ``{"customer_id": ..., "type": "all"}``, agents round robin.
             Closed loop: a user waits for each answer before its next request, so a saturated target
             slows Locust down instead of piling requests up. Sustained: no failure and the measured
             rate at least 95% of R.
    wrk      ``wrk -t2 -c64 -d{T}s -s post.lua``: the same request, agents round robin, as fast as 64
             connections go (closed loop, C). Its requests/s is the limit of the target.

Prints the machine, versions, one line per step, and a table of each tool's highest sustained rate,
the ratio clawctl / Locust, each tool against wrk, and the driver's lag p50/p99 at clawctl's highest
sustained rate; then whether the goals (the issue) are met: clawctl at least 5x Locust's sustained rate,
and at least 2,000 conversations/s from one process. A missing Locust or wrk is said (with how to
install it) and its column skipped. ``--profile`` then runs clawctl once under cProfile at the highest
rate it kept pace with (fresh server) and prints the top 15 entries by cumulative and by own time.
The clawctl measured is the one of this checkout: its root goes first on the children's PYTHONPATH.
On a shared machine, ``--quiet-wait S`` first waits up to S seconds for the CPU pressure to drop under 3%.

Exit codes: 0 both goals met; 1 a goal missed, or not judged (Locust missing or skipped); 2 the server
did not start or `clawctl traffic` failed to run. A benchmark, not a test (ARCHITECTURE.md habit 12).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe import (  # bench/probe.py: versions, CPU pressure and waiting for a quiet machine, free ports
    QUIET_PRESSURE,
    _version,
    cpu_pressure,
    free_port,
    wait_for_quiet,
)

GOAL_RATIO = 5.0  # clawctl / Locust, sustained rates
GOAL_RATE = 2000.0  # conversations/s from one process
LAG_P99_MS = 1.0  # the driver's schedule lag p99 allowed at a sustained rate
PACE_SHARE = 0.95  # a tool keeps pace with R when it measures at least this share of R
READY_WAIT_S = 60.0
LOCUST_MIN_S = 3  # shorter Locust runs measure nothing after --reset-stats
PER_USER_RATE = 25.0  # Locust: requests/s asked of each user (so users = R / 25)
INSTALL_LOCUST = "pip install locust   (or: pip install -e '.[bench]')"
ROOT = Path(__file__).resolve().parents[1]  # the checkout whose clawctl is measured
INSTALL_WRK = "apt-get install -y wrk   (Debian/Ubuntu; the C tool, not the PyPI package)"


# -- the fleet and the server --------------------------------------------------------------------------
def agent_ids(agents: int) -> list[str]:
    return [f"tb-{i:03d}" for i in range(agents)]


def fleet_text(agents: int, port: int, slots: int, service_s: float) -> str:
    """A lint-clean fleet: identical agents, deterministic service, round robin, one central queue."""
    ids = agent_ids(agents)
    out = [
        "# bench/traffic.py: the target of clawctl traffic, Locust and wrk.\n",
        "apiVersion: clawctl/v1\nkind: Fleet\nmetadata:\n  name: traffic-bench\n",
        "defaults:\n",
        f"  max_concurrent_conversations: {slots}\n",
        "  weight: 1\n  availability: 24/7\n  channels: [website_chat]\n  capabilities: [general_inquiries]\n",
        f"  service_time:\n    distribution: deterministic\n    mean: {service_s * 1000:g}ms\n",
        "agents:\n",
    ]
    for i, agent in enumerate(ids):
        backups = ", ".join(dict.fromkeys(ids[(i + k) % agents] for k in (1, 3) if ids[(i + k) % agents] != agent))
        out.append(f"  {agent}:\n    region: {'us-east' if i % 2 == 0 else 'europe'}\n"
                   f"    endpoint: http://127.0.0.1:{port}/agents/{agent}\n"
                   + (f"    backups: [{backups}]\n" if backups else ""))
    out.append("load_balancing:\n  strategy: round_robin\n")
    out.append("traffic:\n  arrivals:\n    rate: 1/s\n    process: poisson\n    profile: constant\n"
               "  queue:\n    discipline: central\n")
    return "".join(out)




def pin_cores() -> tuple[set[int] | None, set[int] | None]:
    """(load generator cores, server cores): the server gets one core, the generators the rest; None
    when there are fewer than 2 cores or no sched_setaffinity."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return set(cores[:-1]), {cores[-1]}


class Server:
    """`clawctl agent serve --all` in a child process, started and (always) stopped by ``with``."""

    def __init__(self, fleet: Path, work: Path, time_scale: float, cores: set[int] | None, name: str) -> None:
        self.fleet, self.work, self.time_scale, self.cores, self.name = fleet, work, time_scale, cores, name
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log = work / f"server-{name}.log"

    def __enter__(self) -> Self:
        return self

    def start(self, port: int) -> bool:
        ready = self.work / f"ready-{self.name}.json"
        ready.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "clawctl.cli.main", "agent", "serve", "--fleet", str(self.fleet), "--all",
               "--host", "127.0.0.1", "--port", str(port), "--time-scale", f"{self.time_scale:g}", "--seed", "1",
               "--ready-file", str(ready)]
        env = _clean_env()
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        if self.cores is not None:
            try:
                os.sched_setaffinity(self.proc.pid, self.cores)
            except OSError:
                pass
        deadline = time.monotonic() + READY_WAIT_S
        while time.monotonic() < deadline:
            if ready.exists():
                try:
                    self.port = int(json.loads(ready.read_text())["port"])
                    return True
                except (OSError, ValueError, KeyError):
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        print(f"the server did not start within {READY_WAIT_S:g} s (exit {self.proc.poll()}); its log:",
              file=sys.stderr)
        for line in self.log.read_text(errors="replace").splitlines()[:40]:
            print(f"  | {line}", file=sys.stderr)
        return False

    def cpu_s(self) -> float | None:
        """User + system CPU seconds of the server so far (from /proc), if readable."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError, AttributeError):
            return None

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- one step of a tool --------------------------------------------------------------------------------
@dataclass
class Step:
    rate: float  # asked, real requests/s
    ok: bool  # sustained (clawctl: the goal's bar, lag included)
    keeps: bool = False  # kept pace: nothing lost, no error, >= PACE_SHARE of the rate (Locust's bar; lag not judged)
    achieved: float | None = None  # real requests/s
    lag_p50: float | None = None  # ms (clawctl only)
    lag_p99: float | None = None
    lag_max: float | None = None
    lag_source: str = ""  # "driver", "wait" (the proxy) or ""
    errors: int = 0
    why: str = ""
    client_cpu_s: float | None = None
    server_cpu_s: float | None = None
    p50_ms: float | None = None  # response time (Locust, wrk)
    p99_ms: float | None = None
    broken: bool = False  # the tool itself failed to run: stop this column
    note: str = ""


@dataclass
class Column:
    tool: str
    steps: list[Step] = field(default_factory=list)
    skipped: str = ""

    def best(self, bar: str = "ok") -> Step | None:
        """The highest rate run that passed ``bar`` ("ok" or "keeps")."""
        good = [s for s in self.steps if getattr(s, bar)]
        return max(good, key=lambda s: s.rate) if good else None


def _f(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _server_cpu(server: Server, before: float | None) -> float | None:
    after = server.cpu_s()
    return None if after is None or before is None else after - before


def _child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def find_tool(name: str) -> str | None:
    """The console script installed beside this Python (no pyenv/asdf shim in the timing), else PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def clawctl_cmd() -> list[str]:
    return [sys.executable, "-m", "clawctl.cli.main"]


def _clean_env() -> dict[str, str]:
    """This environment without clawctl's token and store variables, with this checkout first on the path:
    the server and `clawctl traffic` are the clawctl of the tree this script is in, installed or not."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLAWCTL_AGENT_TOKEN", "CLAWCTL_DB")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def traffic_args(work: Path, fleet: Path, rate: float, requests: int, scale: float) -> list[str]:
    return ["--db", str(work / "no-store.db"), "traffic", str(fleet), "--rate", f"{rate * scale:.9g}",
            "--requests", str(requests), "--time-scale", f"{scale:g}", "--seed", "1", "--format", "json",
            "--no-store"]


def clawctl_step(work: Path, fleet: Path, server: Server, rate: float, seconds: float, scale: float) -> Step:
    requests = max(1, round(rate * seconds))
    cmd = clawctl_cmd() + traffic_args(work, fleet, rate, requests, scale)
    s0, c0 = server.cpu_s(), _child_cpu()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 4 + 60, env=_clean_env(),
                              check=False)
    except subprocess.TimeoutExpired:
        return Step(rate, False, why=f"no answer within {seconds * 4 + 60:g} s", broken=True)
    step = Step(rate, False, client_cpu_s=_child_cpu() - c0, server_cpu_s=_server_cpu(server, s0))
    try:
        out = json.loads(proc.stdout)
        r = out["results"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        step.broken = True
        tail = " | ".join((proc.stderr or "").strip().splitlines()[-3:])
        step.why = f"exit {proc.returncode}, no JSON result: {tail}"
        return step
    span_s = float(r.get("simulated_s", r.get("elapsed_sim_s", 0.0)) or 0.0) * scale
    step.achieved = r["served"] / span_s if span_s > 0 else None
    driver = out.get("driver") or r.get("driver") or {}
    if driver.get("lag_p99_ms") is not None:
        step.lag_p50, step.lag_p99, step.lag_max = driver.get("lag_p50_ms"), driver.get("lag_p99_ms"), \
            driver.get("lag_max_ms")
        step.lag_source = "driver"
    elif (r.get("wait") or {}).get("p99") is not None:  # an older clawctl: the wait is the same span (see above)
        step.lag_p50 = None if r["wait"].get("p50") is None else r["wait"]["p50"] * scale * 1000
        step.lag_p99 = r["wait"]["p99"] * scale * 1000
        step.lag_source = "wait"
    errors = out.get("errors") or r.get("errors") or {}
    step.errors = sum(int(v) for v in errors.values())
    why = []  # anything here and the rate is not kept, whatever the lag
    if proc.returncode != 0:
        why.append(f"exit {proc.returncode}")
    if r["arrived"] != requests:
        why.append(f"arrived {r['arrived']} of {requests}")
    if r["served"] + r.get("in_flight", 0) != requests:
        why.append(f"served {r['served']} + in flight {r.get('in_flight', 0)} != {requests}")
    for key in ("rejected", "abandoned", "lost", "retried"):
        if r.get(key):
            why.append(f"{key} {r[key]}")
    if step.errors:
        why.append("errors " + ", ".join(f"{k} {v}" for k, v in errors.items() if v))
    share = min(PACE_SHARE, 1 - 3 / math.sqrt(requests))  # Poisson arrivals: N of them span N/R +- sqrt(N)/R
    if step.achieved is None or step.achieved < share * rate:
        why.append(f"achieved {_f(step.achieved, ',.0f')}/s < {share:.0%} of {rate:,.0f}")
    step.keeps = not why
    if step.lag_p99 is None:
        why.append("no lag figure")
    elif step.lag_p99 > LAG_P99_MS:
        why.append(f"lag p99 {step.lag_p99:.2f} ms > {LAG_P99_MS:g}")
    step.ok = not why
    step.why = "; ".join(why)
    return step


LOCUSTFILE = '''"""bench/traffic.py: Locust's side. FastHttpUser, constant throughput, agents round robin."""
import itertools
import json
import os

from locust import FastHttpUser, constant_throughput, task

PATHS = json.loads(os.environ["TRAFFIC_BENCH_PATHS"])
PER_USER = float(os.environ["TRAFFIC_BENCH_PER_USER"])
RUN = os.environ.get("TRAFFIC_BENCH_RUN", "l")
_next = itertools.count()


class Conversation(FastHttpUser):
    wait_time = constant_throughput(PER_USER)

    @task
    def converse(self):
        n = next(_next)
        self.client.post(PATHS[n % len(PATHS)], json={"customer_id": f"{RUN}-{n}", "type": "all"},
                         name="POST /v1/conversations?wait=1")
'''


def _num(x: str | None) -> float | None:
    try:
        return float(x) if x not in (None, "", "N/A") else None
    except ValueError:
        return None


def locust_step(locust: str, work: Path, server: Server, paths: list[str], rate: float, seconds: float,
                run_no: int) -> Step:
    users = int(min(max(10, math.ceil(rate / PER_USER_RATE)), 2000))
    prefix = work / f"locust-{run_no}"
    cmd = [locust, "-f", str(work / "locustfile.py"), "--headless", "-u", str(users), "-r", str(users * 4),
           "-t", f"{max(LOCUST_MIN_S, round(seconds))}s", "--host", f"http://127.0.0.1:{server.port}",
           "--csv", str(prefix),
           "--reset-stats", "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING",
           "--exit-code-on-error", "0"]
    env = {**_clean_env(), "TRAFFIC_BENCH_PATHS": json.dumps(paths), "TRAFFIC_BENCH_PER_USER": f"{rate / users:.9g}",
           "TRAFFIC_BENCH_RUN": f"l{run_no}"}
    s0, c0 = server.cpu_s(), _child_cpu()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env, check=False,
                              cwd=work)
    except subprocess.TimeoutExpired:
        return Step(rate, False, why=f"no end within {seconds + 60:g} s", broken=True)
    step = Step(rate, False, client_cpu_s=_child_cpu() - c0, server_cpu_s=_server_cpu(server, s0))
    try:
        with open(f"{prefix}_stats.csv", newline="") as fh:
            row = next(r for r in csv.DictReader(fh) if r.get("Name") == "Aggregated")
    except (OSError, StopIteration):
        step.broken = True
        step.why = f"exit {proc.returncode}, no stats CSV: " + " | ".join((proc.stderr or "").strip().splitlines()[-3:])
        return step
    if not _num(row.get("Request Count")):
        step.broken = True
        step.why = "Locust counted no request"
        return step
    step.achieved = _num(row.get("Requests/s"))
    step.errors = int(_num(row.get("Failure Count")) or 0)
    step.p50_ms, step.p99_ms = _num(row.get("50%")), _num(row.get("99%"))
    why = []
    if step.errors:
        why.append(f"failures {step.errors} of {row.get('Request Count')}")
    if step.achieved is None or step.achieved < PACE_SHARE * rate:
        why.append(f"measured {_f(step.achieved, ',.0f')}/s < {PACE_SHARE:.0%} of {rate:,.0f}")
    if "CPU usage above" in (proc.stderr or ""):
        step.note = "Locust warned that its CPU was above 90%"
    step.ok = step.keeps = not why
    step.why = "; ".join(why)
    return step


WRK_LUA = """-- bench/traffic.py: wrk's side. The same POST, agents round robin, a new customer each request.
local paths = {%s}
local headers = {["Content-Type"] = "application/json"}
local n = 0
local thread_no = 0

function setup(thread)
  thread:set("tid", thread_no)
  thread_no = thread_no + 1
end

request = function()
  n = n + 1
  local body = '{"customer_id":"w' .. tostring(tid) .. '-' .. n .. '","type":"all"}'
  return wrk.format("POST", paths[(n %% #paths) + 1], headers, body)
end
"""


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk_step(wrk: str, work: Path, server: Server, paths: list[str], seconds: float, threads: int,
             connections: int) -> Step:
    lua = work / "post.lua"
    lua.write_text(WRK_LUA % ", ".join(json.dumps(p) for p in paths))
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(lua),
           f"http://127.0.0.1:{server.port}/"]
    s0, c0 = server.cpu_s(), _child_cpu()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except subprocess.TimeoutExpired:
        return Step(0, False, why="no end", broken=True)
    step = Step(0, False, client_cpu_s=_child_cpu() - c0, server_cpu_s=_server_cpu(server, s0))
    text = proc.stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if not m:
        step.broken = True
        step.why = f"exit {proc.returncode}: " + " | ".join((proc.stderr or text).strip().splitlines()[-3:])
        return step
    step.achieved = float(m.group(1))
    step.rate = step.achieved
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    step.errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    for q, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        lm = re.search(rf"^\s*{q}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        if lm:
            setattr(step, attr, _ms(lm.group(1), lm.group(2)))
    step.ok = step.keeps = step.errors == 0
    step.why = "" if step.ok else f"{step.errors} errors (non-2xx or socket)"
    return step


# -- the search for the highest sustained rate ---------------------------------------------------------
def _nice(rate: float) -> float:
    """Round a rate to 2 significant figures (1,400 not 1,414.2)."""
    if rate <= 0:
        return rate
    digits = 10 ** (math.floor(math.log10(rate)) - 1)
    return round(rate / digits) * digits


def search(run, passes, start: float, max_rate: float, min_rate: float, refine: int, column: Column,
           line) -> None:
    """The highest rate for which ``passes(step)`` holds: up by doubling from ``start`` (at most to ``max_rate``)
    until a rate fails; down by halves when the first fails (not below ``min_rate``); then ``refine`` geometric
    midpoints. A rate already run in this column is not run again. Every step is bounded by its tool's
    timeout, and the steps are at most log2(max/start) + log2(start/min) + refine + 2."""
    def step(rate: float) -> Step | None:
        for s in column.steps:
            if s.rate == rate:
                return None if s.broken else s
        s = run(rate)
        column.steps.append(s)
        line(s)
        return None if s.broken else s

    rates = []
    r = start
    while r < max_rate:
        rates.append(r)
        r *= 2
    rates.append(max_rate)
    lo, hi = None, None
    for r in rates:
        s = step(r)
        if s is None:
            return
        if not passes(s):
            hi = r
            break
        lo = r
    if lo is None:  # the first rate failed: go down
        r = _nice(start / 2)
        while r >= min_rate:
            s = step(r)
            if s is None:
                return
            if passes(s):
                lo = r
                break
            hi = r
            r = _nice(r / 2)
    for _ in range(refine):
        if lo is None or hi is None:
            break
        mid = _nice(math.sqrt(lo * hi))
        if not lo < mid < hi:
            break
        s = step(mid)
        if s is None:
            return
        if passes(s):
            lo = mid
        else:
            hi = mid


# -- report --------------------------------------------------------------------------------------------








def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def wrk_version(wrk: str | None) -> str:
    if wrk is None:
        return "not installed"
    try:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].removeprefix("wrk ") if first else "?"


def checkout() -> str:
    """The measured checkout: its commit, and whether clawctl/ has changes not committed."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "clawctl"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return str(ROOT)
    return f"{ROOT} at commit {head or '?'}" + (" with uncommitted changes in clawctl/" if dirty else "")


def print_machine(gen_cores: set[int] | None, server_cores: set[int] | None, locust: str | None,
                  wrk: str | None) -> None:
    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, {platform.system()} {platform.release()}")
    print(f"python:  {platform.python_version()} ({sys.executable})")
    print(f"load average (1, 5, 15 min): {load_average()}; CPU pressure: {cpu_pressure()}")
    print(f"clawctl {_version('clawctl')}, aiohttp {_version('aiohttp')} (asyncio loop, no uvloop); "
          f"locust {_version('locust') if locust else 'not installed'} (gevent {_version('gevent')}, "
          f"geventhttpclient {_version('geventhttpclient')}); wrk {wrk_version(wrk)}")
    print(f"clawctl measured: {checkout()}")
    if gen_cores is not None:
        print(f"pinned: load generators on cores {sorted(gen_cores)}, the server on core {sorted(server_cores or ())}")
    else:
        print("not pinned (fewer than 2 cores, or --no-pin): load generators and the server share the CPUs")


def step_line(tool: str):
    def line(s: Step) -> None:
        head = f"  {tool:<8} {s.rate:>7,.0f}/s asked: "
        if s.broken:
            print(head + f"FAILED TO RUN ({s.why})", flush=True)
            return
        cpu = (f"; CPU client {_f(s.client_cpu_s)} s, server {_f(s.server_cpu_s)} s"
               if s.client_cpu_s is not None else "")
        if tool == "clawctl":
            lag = (f"lag p50/p99/max {_f(s.lag_p50, '.3f')}/{_f(s.lag_p99, '.3f')}/{_f(s.lag_max, '.1f')} ms"
                   if s.lag_source == "driver" else
                   f"lag n/a (driver figures absent; wait p50/p99 {_f(s.lag_p50, '.3f')}/{_f(s.lag_p99, '.3f')} ms)")
            body = f"achieved {_f(s.achieved, ',.0f')}/s, {lag}, errors {s.errors}"
        else:
            body = (f"measured {_f(s.achieved, ',.0f')}/s, response p50/p99 {_f(s.p50_ms, '.1f')}/"
                    f"{_f(s.p99_ms, '.1f')} ms, failures {s.errors}")
        print(head + body + cpu + ("  sustained" if s.ok else f"  NOT sustained: {s.why}")
              + (f" ({s.note})" if s.note else ""), flush=True)
    return line


def _shown(col: Column, bar: str, max_rate: float) -> tuple[str, float | None]:
    """How a column's highest rate past ``bar`` reads in the table, and the rate (None: none passed)."""
    best = col.best(bar)
    if best is None:
        tried = [s.rate for s in col.steps if not s.broken]
        return (f"< {min(tried):,.0f}" if tried else "none"), None
    return (f">= {best.rate:,.0f}" if best.rate >= max_rate else f"{best.rate:,.0f}"), best.rate


def report(cols: dict[str, Column], wrk_conf: str, max_rate: float) -> int:
    claw, loc, wrk = cols["clawctl"], cols["locust"], cols["wrk"]
    cb, ck = claw.best("ok"), claw.best("keeps")
    locust_text, locust_rate = _shown(loc, "ok", max_rate) if not loc.skipped else ("skipped", None)
    wrk_rate = wrk.steps[0].achieved if wrk.steps and not wrk.steps[0].broken else None
    rows = [  # name, bar, (text, rate), lag or response p50/p99
        ("clawctl traffic (open loop, 1 process)", f"lag p99 <= {LAG_P99_MS:g} ms", _shown(claw, "ok", max_rate), cb),
        ("clawctl traffic (open loop, 1 process)", "pace only", _shown(claw, "keeps", max_rate), ck),
        ("Locust FastHttpUser (closed loop, 1 process)", "pace only",
         (locust_text, locust_rate), loc.best("ok") if not loc.skipped else None),
        (f"wrk {wrk_conf} (closed loop, C)", "the limit",
         ("skipped" if wrk.skipped else _f(wrk_rate, ",.0f"), wrk_rate), wrk.steps[0] if wrk_rate else None),
    ]
    print(f"\nhighest sustained rate, real conversations/s. Bars: 'lag p99 <= {LAG_P99_MS:g} ms' (the goal's): nothing "
          f"lost or failed and the driver's schedule lag p99 at most {LAG_P99_MS:g} ms; 'pace only': nothing lost or "
          f"failed and >= {PACE_SHARE:.0%} of the asked rate achieved (clawctl: within Poisson noise; lag not judged); "
          "'the limit': wrk's requests/s, "
          "as fast as its connections go\n")
    head = (f"{'tool':<46} {'bar':<16} {'sustained/s':>12} {'clawctl/Locust':>15} {'tool/wrk':>9}  "
            f"{'p50 / p99 ms':>17}")
    print(head)
    print("-" * len(head))
    for name, bar, (text, rate), step in rows:
        if name.startswith("clawctl"):
            ratio = _f(rate / locust_rate, ".2f") + "x" if rate and locust_rate else "n/a"
        elif name.startswith("Locust"):
            ratio = "1.00x" if locust_rate else ""
        else:
            ratio = ""
        vs_wrk = _f(rate / wrk_rate, ".2f") if rate and wrk_rate else ""
        if step is None:
            figs = ""
        elif name.startswith("clawctl"):
            mark = "" if step.lag_source == "driver" else "*"
            figs = f"{_f(step.lag_p50, '.3f')} / {_f(step.lag_p99, '.3f')}{mark}"
        else:
            figs = f"{_f(step.p50_ms, '.1f')} / {_f(step.p99_ms, '.1f')}"
        print(f"{name:<46} {bar:<16} {text:>12} {ratio:>15} {vs_wrk:>9}  {figs:>17}")
    for col in (loc, wrk):
        if col.skipped:
            print(f"  {col.tool}: skipped ({col.skipped}): "
                  f"{INSTALL_LOCUST if col.tool == 'locust' else INSTALL_WRK}" if col.skipped == "not installed"
                  else f"  {col.tool}: skipped ({col.skipped})")
    print("p50 / p99: clawctl rows, the driver's schedule lag at that rate (scheduled send time to hand-off to the "
          "HTTP client, real ms); Locust and wrk rows, their response times (send to answer, a 3 ms conversation "
          "included).")
    if any(s.lag_source == "wait" for s in claw.steps):
        print("* this clawctl prints no `driver` figures: read from its wait p50/p99 (scheduled arrival to the request "
              "being sent, real ms), the same span while nothing queues.")
    print("Locust and wrk are closed loop: a user or connection waits for each answer before its next request, so "
          "they slow down instead of falling behind a schedule. clawctl is open loop: each request goes at its "
          "scheduled (Poisson) time whatever the answers do, which is why its bar includes the lag.")

    print()
    verdicts = []
    if cb:
        print(f"clawctl: highest sustained {cb.rate:,.0f}/s (achieved {_f(cb.achieved, ',.0f')}/s); the driver's own "
              f"overhead per request (scheduled to sent) there: p50 {_f(cb.lag_p50, '.3f')} ms, p99 "
              f"{_f(cb.lag_p99, '.3f')} ms" + ("" if cb.lag_source == "driver" else " (wait figures)"))
    else:
        tried = [s for s in claw.steps if not s.broken]
        low = min(tried, key=lambda s: s.rate) if tried else None
        print("clawctl: no rate tried was sustained" + (
            f"; at the lowest, {low.rate:,.0f}/s, the driver's lag was p50 {_f(low.lag_p50, '.3f')} ms, p99 "
            f"{_f(low.lag_p99, '.3f')} ms" if low else ""))
    if ck:
        print(f"clawctl kept pace (lag not judged) up to {ck.rate:,.0f}/s; lag there p50 {_f(ck.lag_p50, '.3f')} ms, "
              f"p99 {_f(ck.lag_p99, '.3f')} ms")
    if loc.skipped:
        print(f"goal: clawctl >= {GOAL_RATIO:g}x Locust's sustained rate: not judged (Locust {loc.skipped})")
        verdicts.append(None)
    else:
        ratio = cb.rate / locust_rate if cb and locust_rate else None
        ok = ratio is not None and ratio >= GOAL_RATIO
        print(f"goal: clawctl >= {GOAL_RATIO:g}x Locust's sustained rate: "
              + (f"{ratio:.2f}x ({cb.rate:,.0f} against {locust_rate:,.0f}/s)" if ratio is not None else
                 f"clawctl {_shown(claw, 'ok', max_rate)[0]}/s against Locust {locust_text}/s")
              + f"  {'MET' if ok else 'MISSED'}"
              + (f" (pace only: {ck.rate / locust_rate:.2f}x)" if ck and locust_rate else ""))
        verdicts.append(ok)
    ok = cb is not None and cb.rate >= GOAL_RATE
    print(f"goal: >= {GOAL_RATE:,.0f} conversations/s from one process (lag p99 <= {LAG_P99_MS:g} ms): "
          f"{_shown(claw, 'ok', max_rate)[0]}/s  {'MET' if ok else 'MISSED'}")
    verdicts.append(ok)
    if wrk_rate:
        top = ck.rate if ck else 0.0
        print(f"the target served {wrk_rate:,.0f}/s to wrk: clawctl kept pace up to {top / wrk_rate:.0%} of that"
              + (", so the driver, not the agents, sets clawctl's rate" if top < 0.6 * wrk_rate else ""))
    if all(v is True for v in verdicts):
        print("\nPASS")
        return 0
    print("\nFAIL" if any(v is False for v in verdicts) else "\nNOT JUDGED")
    return 1


def profile_run(work: Path, fleet: Path, rate: float, seconds: float, scale: float) -> None:
    """One clawctl traffic run under cProfile; the top 15 entries by cumulative time."""
    prof = work / "traffic.prof"
    requests = max(1, round(rate * seconds))
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "clawctl.cli.main"] + \
        traffic_args(work, fleet, rate, requests, scale)
    print(f"\n== profile: clawctl traffic at {rate:,.0f}/s under cProfile ({requests:,} requests; cProfile slows "
          "it down, so read the shares, not the times) ==")
    print("  " + " ".join(cmd[3:]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 10 + 120, env=_clean_env(),
                              check=False)
    except subprocess.TimeoutExpired:
        print("  no end within the bound; no profile")
        return
    if not prof.exists():
        print(f"  no profile written (exit {proc.returncode})")
        return
    top_entries(prof, 15)


WRAPPERS = re.compile(r"runpy|typer/|click/|builtins\.exec|<string>|clawctl/cli/"
                      r"|asyncio/(runners|base_events)\.py:\d+\((run|run_forever|run_until_complete)\)"
                      r"|asyncio/events\.py|method 'run' of|importlib|__import__")


def top_entries(prof: Path, count: int) -> None:
    """The top entries of a cProfile file by cumulative time, the start-up and event-loop wrappers and the
    import machinery left out (runpy, typer, clawctl/cli, asyncio.run, importlib), then by own time."""
    stats = pstats.Stats(str(prof))
    total = stats.total_tt
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        name = f"{file}:{line}({func})" if file != "~" else func
        short = re.sub(r"^.*/site-packages/", "", re.sub(r"^.*/lib/python3\.\d+/", "", name))
        short = short.replace(str(ROOT) + "/", "")
        if not WRAPPERS.search(short):
            rows.append((ct, tt, nc, short))
    for title, key in (("cumulative", 0), ("own time", 1)):
        print(f"\n  top {count} by {title} ({total:.2f} s in all; calls count each resumption of a coroutine)")
        print(f"  {'calls':>9} {'own s':>8} {'cum s':>8} {'cum %':>6}  function")
        for ct, tt, nc, short in sorted(rows, key=lambda r: -r[key])[:count]:
            print(f"  {nc:>9,} {tt:>8.3f} {ct:>8.3f} {ct / total:>6.1%}  {short}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=100, help="agents in the fleet (default 100)")
    parser.add_argument("--slots", type=int, default=50, help="slots per agent (default 50)")
    parser.add_argument("--service-ms", type=float, default=3.0, help="real ms per conversation (default 3)")
    parser.add_argument("--time-scale", type=float, default=0.01, help="real seconds per fleet second, for the "
                        "server and clawctl (default 0.01)")
    parser.add_argument("--start-rate", type=float, default=500.0, help="first rate tried, real/s (default 500)")
    parser.add_argument("--max-rate", type=float, default=8000.0, help="highest rate tried, real/s (default 8000)")
    parser.add_argument("--min-rate", type=float, default=50.0, help="lowest rate tried when the first fails "
                        "(default 50)")
    parser.add_argument("--refine", type=int, default=1, help="midpoints tried between the last sustained and the "
                        "first failed rate (default 1)")
    parser.add_argument("--seconds", type=float, default=4.0, help="real seconds of load per step (default 4)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=64)
    parser.add_argument("--no-locust", action="store_true", help="skip Locust")
    parser.add_argument("--no-wrk", action="store_true", help="skip wrk")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load generators")
    parser.add_argument("--profile", action="store_true", help="then run clawctl once under cProfile at the "
                        "highest rate it kept pace with and print the top 15 entries")
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="on a shared machine, first wait up to S seconds for the CPU pressure (Linux PSI, 10 s "
                             f"average) to drop under {QUIET_PRESSURE:g}%% (default 0: do not wait)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the fleet, scripts, logs and CSVs there")
    args = parser.parse_args(argv)
    if (args.agents < 1 or args.slots < 1 or args.seconds < 1 or args.service_ms <= 0 or args.refine < 0
            or not 0 < args.min_rate <= args.start_rate <= args.max_rate or not 0 < args.time_scale <= 1):
        parser.error("--agents, --slots and --seconds must be at least 1, --service-ms above 0, --refine at least "
                     "0, 0 < --min-rate <= --start-rate <= --max-rate, 0 < --time-scale <= 1")

    locust = None if args.no_locust else find_tool("locust")
    wrk = None if args.no_wrk else shutil.which("wrk")
    gen_cores, server_cores = (None, None) if args.no_pin else pin_cores()
    if gen_cores is not None:
        os.sched_setaffinity(0, gen_cores)  # the load generators inherit it
    if args.quiet_wait > 0:
        wait_for_quiet(args.quiet_wait)
    print_machine(gen_cores, server_cores, locust, wrk)
    started = time.monotonic()
    cols = {k: Column(k) for k in ("clawctl", "locust", "wrk")}
    if args.no_locust:
        cols["locust"].skipped = "--no-locust"
    elif locust is None:
        cols["locust"].skipped = "not installed"
        print(f"Locust is not installed: {INSTALL_LOCUST}. Its column is skipped.")
    if args.no_wrk:
        cols["wrk"].skipped = "--no-wrk"
    elif wrk is None:
        cols["wrk"].skipped = "not installed"
        print(f"wrk is not installed: {INSTALL_WRK}. Its column is skipped.")
    wrk_conf = f"-t{args.wrk_threads} -c{args.wrk_connections}"

    with tempfile.TemporaryDirectory(prefix="clawctl-bench-traffic-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        port = free_port()
        service_fleet_s = args.service_ms / 1000 / args.time_scale
        fleet = work / "fleet.yaml"
        fleet.write_text(fleet_text(args.agents, port, args.slots, service_fleet_s))
        paths = [f"/agents/{a}/v1/conversations?wait=1" for a in agent_ids(args.agents)]
        (work / "locustfile.py").write_text(LOCUSTFILE)
        print(f"work dir: {work}")
        print(f"target: {args.agents} agents x {args.slots} slots on http://127.0.0.1:{port}/agents/<id>, "
              f"deterministic service {service_fleet_s:g} fleet s = {args.service_ms:g} ms real "
              f"(--time-scale {args.time_scale:g}); round robin; a new customer per request")
        print(f"server: python -m clawctl.cli.main agent serve --fleet fleet.yaml --all --port {port} "
              f"--time-scale {args.time_scale:g} --seed 1  (a fresh one per tool)")
        print(f"each step: about {args.seconds:g} s of load; rates from {args.start_rate:,.0f}/s doubling to "
              f"{args.max_rate:,.0f}/s, {args.refine} refinement(s)\n", flush=True)
        try:
            with Server(fleet, work, args.time_scale, server_cores, "clawctl") as server:
                if not server.start(port):
                    return 2
                # warm-up (untimed): the server's first connections, clawctl's numba cache
                warm = clawctl_step(work, fleet, server, min(args.start_rate, 200.0), 1.0, args.time_scale)
                if warm.broken:
                    print(f"clawctl traffic does not run: {warm.why}", file=sys.stderr)
                    return 2
                print(f"clawctl traffic fleet.yaml --rate <R x {args.time_scale:g}> --requests <R x {args.seconds:g}> "
                      f"--time-scale {args.time_scale:g} --seed 1 --format json --no-store")
                run = lambda r: clawctl_step(work, fleet, server, r, args.seconds, args.time_scale)
                for bar in ("ok", "keeps"):  # the goal's bar, then (reusing its steps) pace only
                    search(run, lambda s, bar=bar: getattr(s, bar), args.start_rate, args.max_rate, args.min_rate,
                           args.refine, cols["clawctl"], step_line("clawctl"))
                    if cols["clawctl"].steps and cols["clawctl"].steps[-1].broken:
                        break
            if cols["clawctl"].steps and cols["clawctl"].steps[-1].broken:
                return 2
            if locust is not None:
                print(f"\nlocust -f locustfile.py --headless -u R/{PER_USER_RATE:g} -r 4u "
                      f"-t {max(LOCUST_MIN_S, round(args.seconds))}s "
                      "--reset-stats --csv ... (FastHttpUser, constant_throughput(R/users))")
                with Server(fleet, work, args.time_scale, server_cores, "locust") as server:
                    if not server.start(port):
                        return 2
                    runs = iter(range(1, 1000))
                    search(lambda r: locust_step(locust, work, server, paths, r, args.seconds, next(runs)),
                           lambda s: s.ok, args.start_rate, args.max_rate, args.min_rate, args.refine, cols["locust"],
                           step_line("locust"))
            if wrk is not None:
                print(f"\nwrk {wrk_conf} -d{args.seconds:g}s --latency -s post.lua http://127.0.0.1:{port}/")
                with Server(fleet, work, args.time_scale, server_cores, "wrk") as server:
                    if not server.start(port):
                        return 2
                    s = wrk_step(wrk, work, server, paths, args.seconds, args.wrk_threads, args.wrk_connections)
                    cols["wrk"].steps.append(s)
                    step_line("wrk")(s)
            code = report(cols, wrk_conf, args.max_rate)
            if args.profile:
                kept = cols["clawctl"].best("keeps")
                rate = kept.rate if kept else args.start_rate
                with Server(fleet, work, args.time_scale, server_cores, "profile") as server:
                    if server.start(port):
                        profile_run(work, fleet, rate, args.seconds, args.time_scale)
        except KeyboardInterrupt:
            print("\ninterrupted: the server is stopped", file=sys.stderr)
            return 130
    print(f"\nload average at the end (1, 5, 15 min): {load_average()}; CPU pressure: {cpu_pressure()}; "
          f"bench took {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
