"""`clawctl simulate` on fleets of thousands of agents: does the whole command stay flat in the fleet's size?

    python bench/sim_scale.py [--requests 500000] [--sizes 100,1000,10000] [--repeat 3]
                              [--strategies all|least_conn,p2c,...] [--family reference,generated] [--keep DIR]

Issue 15's goal: for every strategy, the whole `clawctl simulate FLEET --strategy S --requests 500000
--no-store --format json` process at 10,000 agents takes at most 1.5x its time at 100 agents. The baseline
is the 100-agent run of the same strategy, measured in the same run.

Three families of fleets, each at every size:

- ``reference``: N identical agents x 10 slots, exponential service of mean 1 s, Poisson arrivals at
  0.9 x 10 N / s (rho 0.9), one central FIFO queue, no mix: bench/simulate.py's reference model
  (M/M/1000 at N=100), grown. Every agent is eligible for every request, so a scan visits all N.
  At 10,000 agents 90,000 conversations are in progress at once (900 at 100 agents).
- ``single``: the same with 1 slot per agent (the research's routing model: single-slot agents).
- ``generated``: bench/gen_fleet.py's realistic fleet of N agents (teams, capabilities, channels, a
  12-type mix, weights 1-4, 10-100 slots, business hours, a bounded central queue with patience), its
  arrivals made constant at rho 0.9 of the slots of the agents that can take some request type and
  are open at the start (the mix makes some types busier than others).

Each run is a fresh process (interpreter start, imports, YAML load and validation, the kernel from the
numba cache, the simulation, the JSON output), timed in wall and CPU (user + sys of the child); the
ratio is taken on CPU time (on a shared machine wall times swing with other jobs), and printed on wall
too. One untimed run first loads (or compiles) the numba cache.

Exit codes: 0 every ratio within the goal; 1 a ratio above it, or a run failed. A benchmark, not a test
(ARCHITECTURE.md habit 12).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gen_fleet import generate  # bench/ is not a package: imported from this folder
from simulate import reference_fleet
from timing import Medians

GOAL = 1.5  # time at 10,000 agents / time at 100 agents, per strategy
STRATEGIES = ("round_robin", "weighted_round_robin", "least_conn", "p2c", "random", "scored", "priority_weighted")
ROOT = Path(__file__).resolve().parents[1]


def reference(n: int) -> str:
    return reference_fleet(n, 10, 0.9 * 10 * n)


def single(n: int) -> str:
    return reference_fleet(n, 1, 0.9 * n)


def generated(n: int) -> str:
    """gen_fleet's fleet with constant arrivals at rho 0.9 of the open, eligible slots (mean service 90 s)."""
    sys.path.insert(0, str(ROOT))
    from clawctl.core.fleet import merge
    from clawctl.core.model.fleet_file import FleetFile
    from clawctl.adapters.yamlload import load_yaml
    from clawctl.core.sim.spec import build

    text = generate(n, 1)
    doc = load_yaml("gen.yaml", text.encode())
    fleet, _ = merge([("gen.yaml", FleetFile.model_validate(doc.data))])
    spec = build(fleet, horizon=1.0)
    usable = spec.elig.any(axis=0) & (spec.avail0 == 1) & (spec.weight > 0)
    rate = 0.9 * float(spec.cap[usable].sum()) / 90.0
    return re.sub(r"  arrivals:\n(    .*\n)+", f"  arrivals:\n    rate: {rate * 60:.1f}/min\n    profile: constant\n",
                  text, count=1)


FAMILIES = {"reference": reference, "single": single, "generated": generated}


def clawctl_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "clawctl"
    return [str(exe)] if exe.exists() else ([shutil.which("clawctl")] if shutil.which("clawctl") else
                                             [sys.executable, "-m", "clawctl"])


def run_once(cmd: list[str], parse: bool = True) -> tuple[float, float, dict | None, str]:
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if not parse:
        return wall, cpu, None, ""
    if proc.returncode != 0:
        return wall, cpu, None, proc.stderr.strip()[-400:]
    return wall, cpu, json.loads(proc.stdout), ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=500_000)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--strategies", default="all")
    ap.add_argument("--family", default="reference,single,generated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the fleets here and keep them")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    strategies = STRATEGIES if args.strategies == "all" else tuple(args.strategies.split(","))
    families = args.family.split(",")
    work = args.keep or Path(tempfile.mkdtemp(prefix="sim-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    base_cmd = clawctl_cmd()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"clawctl: {' '.join(base_cmd)}; {args.requests:,} requests per run, seed {args.seed}, "
          f"{args.repeat} timed run(s) each (median); goal: {sizes[-1]:,} agents within {GOAL}x of {sizes[0]:,}")
    paths: dict[tuple[str, int], Path] = {}
    for fam in families:
        for n in sizes:
            p = work / f"{fam}-{n}.yaml"
            p.write_text(FAMILIES[fam](n))
            paths[fam, n] = p
    warm = [*base_cmd, "simulate", str(paths[families[0], sizes[0]]), "--requests", "20000", "--no-store",
            "--format", "json"]
    w, c, _, err = run_once(warm)
    print(f"untimed first run (numba cache load or compile): {w:.2f} s wall{'; FAILED: ' + err if err else ''}")
    failed = False
    missed: list[str] = []
    for fam in families:
        print(f"\n== {fam} fleets: CPU s (wall s) of the whole command ==")
        loads = []
        for n in sizes:  # what loading and validating the fleet alone costs: part of every simulate
            m = Medians()
            for _ in range(args.repeat):
                wall, cpu, _, _ = run_once([*base_cmd, "validate", str(paths[fam, n]), "--format", "json"],
                                           parse=False)
                m.walls.append(wall)
                m.cpus.append(cpu)
            loads.append(f"{m.cpu:.2f} ({m.wall:.2f})")
        print(f"{'(clawctl validate)':<22}" + "".join(f"{x:>18}" for x in loads))
        print(f"{'strategy':<22}" + "".join(f"{n:>18,}" for n in sizes) + f"{'ratio CPU':>11}{'ratio wall':>11}  goal")
        for s in strategies:
            row: dict[int, Medians] = {n: Medians() for n in sizes}
            for _ in range(args.repeat):  # the sizes interleaved, so a slow spell of the machine hits all alike
                for n in sizes:
                    cmd = [*base_cmd, "simulate", str(paths[fam, n]), "--strategy", s, "--requests",
                           str(args.requests), "--seed", str(args.seed), "--no-store", "--format", "json"]
                    wall, cpu, doc, err = run_once(cmd)
                    if doc is None:
                        print(f"  {s} at {n:,} agents FAILED: {err}")
                        failed = True
                        continue
                    row[n].walls.append(wall)
                    row[n].cpus.append(cpu)
            if any(not row[n].walls for n in sizes):
                continue
            lo, hi = row[sizes[0]], row[sizes[-1]]
            ratio, ratio_wall = hi.cpu / lo.cpu, hi.wall / lo.wall
            ok = ratio <= GOAL
            if not ok:
                missed.append(f"{fam} {s}: {ratio:.2f}x")
            print(f"{s:<22}" + "".join(f"{row[n].cpu:>10.2f} ({row[n].wall:5.2f})" for n in sizes)
                  + f"{ratio:>10.2f}x{ratio_wall:>10.2f}x  {'OK' if ok else 'MISSED'}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if failed or missed:
        print(f"\nFAIL: {'; '.join(missed) if missed else 'a run failed'}")
        return 1
    print(f"\nPASS: every strategy within {GOAL}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
