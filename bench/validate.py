"""Speed of `clawctl validate` against `check-jsonschema`, both timed in the same run.

    python bench/validate.py [--agents N] [--repeat R] [--keep DIR]

In a temporary folder: generate a clean N-agent fleet (bench/gen_fleet.py, default 10,000 agents,
about 4.5 MB), export the schema with `clawctl schema > schema.json`, then run

    check-jsonschema --schemafile schema.json fleet.yaml     (the baseline)
    clawctl validate fleet.yaml

R times each (default 3), interleaved, after one untimed warm-up run of each. Every run must exit 0.
For each tool it prints the median wall time and the median CPU time (user + sys of the child, from
getrusage(RUSAGE_CHILDREN) deltas), MB/s and agents/s (on CPU time), then the ratio
check-jsonschema / clawctl for CPU and wall time. Target (the issue): CPU ratio >= 8x.

It also times `clawctl --version` (median of 10 wall times) against `python -c pass` run the same way,
and says whether it is under 300 ms.

Exit codes: 0 target met; 1 CPU ratio below 8x, or a tool failed (e.g. check-jsonschema rejected
the fleet: the schema and the generator disagree); 2 check-jsonschema is not installed.
A benchmark, not a test (ARCHITECTURE.md habit 12): the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_fleet  # bench/ is not a package: imported from this folder
from timing import Medians

TARGET_RATIO = 8.0
# Issue 14's targets, printed beside it: the whole `clawctl validate` process (median CPU and wall), and
# the CPU ratio against check-jsonschema.
WHOLE_PROCESS_S = 1.0
ISSUE14_RATIO = 15.0
VERSION_BUDGET_S = 0.300
VERSION_RUNS = 10


@dataclass
class Timing(Medians):
    tool: str
    cmd: list[str]


class ToolFailed(Exception):
    def __init__(self, cmd: list[str], proc: subprocess.CompletedProcess) -> None:
        super().__init__(f"{' '.join(cmd)} exited {proc.returncode}")
        self.proc = proc


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_timed(cmd: list[str], cwd: Path, check: bool = True) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s, process) for one run of ``cmd``; CPU is the child's user + sys time."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    if check and proc.returncode != 0:
        raise ToolFailed(cmd, proc)
    return wall, cpu, proc


def find_tool(name: str) -> str | None:
    """The console script installed beside this Python (no pyenv/asdf shim in the timing), else PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def _version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _baseline_env(cjs: str) -> str:
    """check-jsonschema's version and whether its ruamel.yaml has the C parser, asked of its own Python."""
    probe = ("from importlib import metadata as m\n"
             "try:\n import _ruamel_yaml; c = 'yes'\nexcept ImportError:\n c = 'no (pure-Python parser)'\n"
             "print(f\"check-jsonschema {m.version('check-jsonschema')}; ruamel.yaml {m.version('ruamel.yaml')} "
             "(C extension: {c}); jsonschema {m.version('jsonschema')}\")")
    python = _script_python(cjs)
    if python is None:
        return "check-jsonschema (its Python not found: versions unknown)"
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "check-jsonschema (versions unknown)"


def _script_python(script: str) -> str | None:
    """The interpreter named on a console script's #! line."""
    try:
        with open(script, "rb") as fh:
            first = fh.readline().decode(errors="replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    exe = first[2:].strip().split()[0]
    return exe if Path(exe).is_file() else None


def print_machine(cjs: str) -> None:
    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, {platform.system()} {platform.release()}")
    print(f"python:  {platform.python_version()} ({sys.executable})")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
              + "  (CPU times are the figure to trust on a busy machine)")
    print(f"clawctl {_version_of('clawctl')} (pydantic {_version_of('pydantic')}, "
          f"rapidyaml {_version_of('rapidyaml')}, PyYAML {_version_of('PyYAML')})")
    print(f"baseline: {_baseline_env(cjs)}")


def _show_failure(err: ToolFailed) -> None:
    print(f"\nFAILED: {err}", file=sys.stderr)
    out = (err.proc.stdout or "") + (err.proc.stderr or "")
    lines = out.splitlines()
    for line in lines[:60]:
        print(f"  | {line}", file=sys.stderr)
    if len(lines) > 60:
        print(f"  | ... ({len(lines) - 60} more lines)", file=sys.stderr)


def bench_validate(work: Path, clawctl: str, cjs: str, repeat: int, size: int, agents: int) -> float:
    baseline = Timing("check-jsonschema", [cjs, "--schemafile", "schema.json", "fleet.yaml"])
    ours = Timing("clawctl validate", [clawctl, "validate", "fleet.yaml"])
    tools = (baseline, ours)
    print("\nwarm-up (untimed): one run of each, both must exit 0 ...", flush=True)
    for t in tools:
        run_timed(t.cmd, work)
    for i in range(repeat):
        for t in tools:  # interleaved, so drift on a shared machine hits both alike
            wall, cpu, _ = run_timed(t.cmd, work)
            t.walls.append(wall)
            t.cpus.append(cpu)
        print(f"  run {i + 1}/{repeat}: " + "; ".join(
            f"{t.tool} {t.walls[-1]:.2f} s wall, {t.cpus[-1]:.2f} s CPU" for t in tools), flush=True)

    mb = size / 1e6
    print(f"\nfleet.yaml: {agents:,} agents, {mb:.2f} MB; medians of {repeat} runs\n")
    head = f"{'tool':<18} {'wall s':>8} {'CPU s':>8} {'MB/s':>8} {'agents/s':>10}"
    print(head)
    print("-" * len(head))
    for t in tools:
        print(f"{t.tool:<18} {t.wall:>8.2f} {t.cpu:>8.2f} {mb / t.cpu:>8.2f} {agents / t.cpu:>10,.0f}")
    print("(MB/s and agents/s on CPU time)")
    cpu_ratio = baseline.cpu / ours.cpu
    wall_ratio = baseline.wall / ours.wall
    print(f"\nratio (check-jsonschema / clawctl, CPU):  {cpu_ratio:.1f}x (target >= {TARGET_RATIO:g}x)"
          f"  {'OK' if cpu_ratio >= TARGET_RATIO else 'BELOW TARGET'}")
    print(f"ratio (check-jsonschema / clawctl, wall): {wall_ratio:.1f}x (target >= {TARGET_RATIO:g}x)"
          f"  {'OK' if wall_ratio >= TARGET_RATIO else 'BELOW TARGET'}")
    fast = ours.cpu <= WHOLE_PROCESS_S and ours.wall <= WHOLE_PROCESS_S
    print(f"issue 14: clawctl validate, whole process, at most {WHOLE_PROCESS_S:.1f} s: CPU {ours.cpu:.2f} s, "
          f"wall {ours.wall:.2f} s  {'OK' if fast else 'MISSED'}; CPU ratio at least {ISSUE14_RATIO:g}x: "
          f"{cpu_ratio:.1f}x  {'OK' if cpu_ratio >= ISSUE14_RATIO else 'MISSED'}  (for information: the exit "
          "code follows the first target)")
    return cpu_ratio


def bench_version(work: Path, clawctl: str, runs: int = VERSION_RUNS) -> bool:
    """`clawctl --version` against the interpreter's own start-up (`python -c pass`), same run."""
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "clawctl --version": [clawctl, "--version"],
    }
    walls: dict[str, list[float]] = {name: [] for name in cases}
    for cmd in cases.values():  # warm the page cache and .pyc files
        run_timed(cmd, work)
    for _ in range(runs):
        for name, cmd in cases.items():
            wall, _, _ = run_timed(cmd, work)
            walls[name].append(wall)
    base = statistics.median(walls["python -c pass"])
    ours = statistics.median(walls["clawctl --version"])
    ok = ours < VERSION_BUDGET_S
    print(f"\nstart-up, median wall of {runs} runs:")
    print(f"  python -c pass     {base * 1000:7.1f} ms  (baseline: the interpreter alone)")
    print(f"  clawctl --version  {ours * 1000:7.1f} ms  ({(ours - base) * 1000:+.1f} ms over the baseline, "
          f"{ours / base:.1f}x)")
    print(f"  under {VERSION_BUDGET_S * 1000:.0f} ms: {'yes' if ok else 'NO'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000, help="agents in the generated fleet (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each tool; the median counts (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep fleet.yaml and schema.json there")
    parser.add_argument("--check-jsonschema", dest="cjs", metavar="PATH",
                        help="the check-jsonschema executable to measure (default: the one installed beside "
                             "this Python, else PATH), e.g. one from a venv with ruamel.yaml.clib")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.agents < 1:
        parser.error("--agents and --repeat must be at least 1")

    cjs = args.cjs or find_tool("check-jsonschema")
    if cjs is None:
        print("check-jsonschema is not installed, and it is the baseline this benchmark measures against.\n"
              "Install the development tools: pip install -e '.[dev]'   (or: pip install check-jsonschema)",
              file=sys.stderr)
        return 2
    clawctl = find_tool("clawctl")
    if clawctl is None:
        print("clawctl is not on PATH: pip install -e .", file=sys.stderr)
        return 2

    print_machine(cjs)
    print(f"clawctl:          {clawctl}\ncheck-jsonschema: {cjs}")

    with tempfile.TemporaryDirectory(prefix="clawctl-bench-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        text = gen_fleet.generate(args.agents, args.seed).encode()
        (work / "fleet.yaml").write_bytes(text)
        try:
            _, _, proc = run_timed([clawctl, "schema"], work)
            (work / "schema.json").write_text(proc.stdout)
            print(f"work dir: {work}  (fleet.yaml {len(text) / 1e6:.2f} MB, seed {args.seed}; "
                  "schema.json from `clawctl schema`)")
            cpu_ratio = bench_validate(work, clawctl, cjs, args.repeat, len(text), args.agents)
            bench_version(work, clawctl)
        except ToolFailed as err:
            _show_failure(err)
            if err.proc.args and Path(str(err.proc.args[0])).name == "check-jsonschema":
                print("check-jsonschema rejected the generated fleet: the exported schema and "
                      "bench/gen_fleet.py disagree (or clawctl's schema is wrong).", file=sys.stderr)
            return 1
    if cpu_ratio < TARGET_RATIO:
        print(f"\nFAIL: clawctl validate is {cpu_ratio:.1f}x faster than check-jsonschema in CPU time; "
              f"the target is {TARGET_RATIO:g}x.")
        return 1
    print("\nPASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
