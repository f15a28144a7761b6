"""Time and memory of `clawctl validate` on hostile inputs near the 16 MiB limit.

    python bench/hostile_inputs.py                  # every case, one run each
    python bench/hostile_inputs.py flow_seq dup_same_20k
    python bench/hostile_inputs.py --list
    python bench/hostile_inputs.py --keep /tmp/hostile   # keep the generated files

Each case is written to a file, then run as

    /usr/bin/time -v python -m clawctl.cli.main validate FILE --format json > /dev/null

(or, without GNU time, with peak RSS read from getrusage). The script prints the exit code, wall
time and peak RSS of each run against the limits: 10 s and 1 GB. A run is stopped after
--timeout seconds and its address space is capped at --max-memory MB, so a regression cannot take
the machine down. The exit code is 0 when every case is within both limits, 1 otherwise.

The test suite never asserts on times; this script is where they are checked.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LIMIT = 16 * 1024 * 1024  # the reader's size limit, bytes
WALL_LIMIT_S = 10.0
RSS_LIMIT_MB = 1024.0


def _fill(head: str, item: str, tail: str = "", *, size: int = LIMIT - 64) -> str:
    """``head`` + ``item`` repeated until the text is just under ``size`` bytes + ``tail``."""
    count = (size - len(head) - len(tail)) // len(item)
    return head + item * count + tail


def flow_seq() -> str:
    body = _fill("agents: {}\nitems: [1", ", 1", "]\n")
    return body


def block_seq() -> str:
    return _fill("agents: {}\nitems:\n", "- 1\n")


def flow_seq_no_spaces() -> str:
    return _fill("agents: {}\nitems: [1", ",1", "]\n")


def block_map() -> str:
    count = (LIMIT - 100) // len("  k0000000: 1\n")
    return "agents: {}\nitems:\n" + "".join(f"  k{i:07d}: 1\n" for i in range(count))


def _dup_same(count: int) -> str:
    return "agents: {}\n" + "dup: 1\n" * count


def _dup_distinct(count: int) -> str:
    half = count // 2
    keys = [f"key_{i}: 1\n" for i in range(half)]
    return "agents: {}\n" + "".join(keys) + "".join(keys)


def _one_list_of_unknown_channels(count: int) -> str:
    channels = ", ".join(f"pigeon_{i}" for i in range(count))
    return f"agents:\n  a:\n    domain: sales\n    region: us-east\n    channels: [{channels}]\n"


def _agents_with_unknown_channel(count: int) -> str:
    lines = ["agents:\n"]
    for i in range(count):
        lines.append(f"  a{i}:\n    domain: sales\n    region: us-east\n    channels: [carrier_pigeon]\n")
    return "".join(lines)


def _largest_accepted_flow_seq() -> str:
    """A flow sequence just under the node budget: the most nodes a file may make rapidyaml hold."""
    from clawctl.adapters import yamlload

    count = getattr(yamlload, "MAX_NODES", 3_000_000) - 64  # (a release without the budget: the same size)
    return "agents: {}\nitems: [1" + ",1" * (count - 1) + "]\n"


def _largest_accepted_flow_seq_with_an_alias() -> str:
    """The same with one alias: every node then goes through the budget pass as well."""
    return _largest_accepted_flow_seq().replace("items: [1,1", "a: &a 1\nitems: [*a,1", 1)


def _realistic_fleet() -> str:
    """A clean generated fleet just under the size limit (about 35,000 agents)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from gen_fleet import generate

    return generate(35_000, 1)


CASES: dict[str, Callable[[], str]] = {
    "realistic_fleet_16mib": _realistic_fleet,
    "largest_accepted_flow_seq": _largest_accepted_flow_seq,
    "largest_accepted_flow_seq_with_an_alias": _largest_accepted_flow_seq_with_an_alias,
    "flow_seq": flow_seq,
    "flow_seq_no_spaces": flow_seq_no_spaces,
    "block_seq": block_seq,
    "block_map": block_map,
    "dup_same_20k": lambda: _dup_same(20_000),
    "dup_same_100k": lambda: _dup_same(100_000),
    "dup_distinct_20k": lambda: _dup_distinct(20_000),
    "dup_distinct_100k": lambda: _dup_distinct(100_000),
    "unknown_channels_100k": lambda: _agents_with_unknown_channel(100_000),
    "unknown_channels_one_list_100k": lambda: _one_list_of_unknown_channels(100_000),
    "aliases_flow": lambda: _fill("agents: {}\nbase: &b {k: 1}\nitems: [*b", ", *b", "]\n"),
    "merge_chain": lambda: "agents: {}\nm0: &m0 {k0: 1}\n" + "".join(
        f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: 1}}\n" for i in range(1, 2_000)),
    "tabs_after_colon": lambda: _fill("agents: {}\nitems:\n", "  k:\tv\n"),
    "long_integer": lambda: "agents: {}\nn: " + "1" * (LIMIT - 32) + "\n",
    "long_plain_scalar": lambda: "agents: {}\ns: " + "a" * (LIMIT - 32) + "\n",
    "deep_flow_second_document": lambda: "agents: {}\n---\n" + "[" * 4_000_000 + "]" * 4_000_000 + "\n",
}


def _limit_memory(max_mb: int) -> Callable[[], None]:
    def apply() -> None:
        limit = max_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def measure(path: Path, *, timeout: float, max_mb: int) -> tuple[int | str, float, float]:
    """(exit code or 'timeout', wall seconds, peak RSS MB) of one validate run on ``path``."""
    cmd = [sys.executable, "-m", "clawctl.cli.main", "validate", str(path), "--format", "json"]
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        cmd = [str(gnu_time), "-v", *cmd]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
                              preexec_fn=_limit_memory(max_mb), text=True)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, float("nan")
    wall = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # a fallback: max over children
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if found:
        rss_mb = int(found.group(1)) / 1024
        wall_found = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)
        if wall_found:
            wall = 0.0
            for part in wall_found.group(1).split(":"):
                wall = wall * 60 + float(part)
        status = re.search(r"Exit status: (\d+)", proc.stderr)
        code: int | str = int(status.group(1)) if status else proc.returncode
    else:
        code = proc.returncode
    if code == 70:
        sys.stderr.write(proc.stderr[-2000:])
    return code, wall, rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", type=Path, help="write the inputs into this folder and keep them")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds before a run is stopped")
    parser.add_argument("--max-memory", type=int, default=6144, help="address-space cap of a run, MB")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(CASES))
        return 0
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)} (see --list)")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="clawctl-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"limits {WALL_LIMIT_S:g} s and {RSS_LIMIT_MB:g} MB")
    print(f"{'case':28} {'MiB':>6} {'exit':>7} {'wall s':>8} {'RSS MB':>8}  verdict")
    ok = True
    for name in names:
        path = folder / f"{name}.yaml"
        path.write_text(CASES[name](), encoding="utf-8")
        size_mib = path.stat().st_size / 1048576
        code, wall, rss = measure(path, timeout=args.timeout, max_mb=args.max_memory)
        within = code in (0, 1, 3) and wall <= WALL_LIMIT_S and rss <= RSS_LIMIT_MB
        ok &= within
        print(f"{name:28} {size_mib:6.1f} {code!s:>7} {wall:8.2f} {rss:8.0f}  {'ok' if within else 'OVER'}",
              flush=True)
        if not args.keep:
            path.unlink()
    if not args.keep:
        folder.rmdir()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
