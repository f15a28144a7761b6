"""Speed of `clawctl capacity` and of sweeps on all cores (issue 15).

    python bench/capacity.py [--repeat 3]

1. Sweep scaling: the same grid (examples/multi-region.yaml, 4 rates x 2 strategies x 3 replications
   of 200,000 requests = 24 simulations) with `--workers 1` (in this process, the baseline) and with
   every core, in this same run; prints each median wall time and the speed-up (2 cores: ideally 2x).
2. The capacity search of the multi-region example (14 agents; 3 regions, then 3 domains), whole
   command (`clawctl capacity ... --at-peak --sla "95% < 20s" --no-store`), against the 30 s target
   on 2 cores.

Exit 0 when the capacity searches are under 30 s and sweeps speed up with cores (> 1.3x on 2 cores).
A benchmark, not a test: the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLEET = str(ROOT / "examples" / "multi-region.yaml")


def _clawctl() -> list[str]:
    beside = Path(sys.executable).with_name("clawctl")
    return [str(beside)] if beside.exists() else [shutil.which("clawctl") or "clawctl"]


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode not in (0, 1):
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} cores usable; load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    sweep = [*_clawctl(), "simulate", FLEET, "--sweep", "rate=150/min,220/min,300/min,330/min",
             "--sweep", "strategy=least_conn,p2c", "--replications", "3", "--requests", "200000", "--no-store",
             "--format", "json"]
    _wall([*sweep, "--workers", "1"])  # warm: numba's cache loaded once
    one, many = [], []
    for _ in range(args.repeat):
        one.append(_wall([*sweep, "--workers", "1"]))
        many.append(_wall([*sweep, "--workers", str(cores)]))
    s1, sn = statistics.median(one), statistics.median(many)
    speedup = s1 / sn
    print(f"sweep, 24 simulations of 200,000 requests: 1 process {s1:.2f} s, {cores} processes {sn:.2f} s "
          f"(medians of {args.repeat}): speed-up {speedup:.2f}x")
    ok = speedup > 1.3 or cores == 1
    for group in ("region", "domain"):
        cap = [*_clawctl(), "capacity", FLEET, "--at-peak", "--sla", "95% < 20s", "--group-by", group, "--no-store"]
        walls = [_wall(cap) for _ in range(args.repeat)]
        m = statistics.median(walls)
        print(f"capacity --group-by {group}: {m:.2f} s median wall (runs {', '.join(f'{w:.2f}' for w in walls)}); "
              f"target under 30 s: {'met' if m < 30 else 'MISSED'}")
        ok = ok and m < 30
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
