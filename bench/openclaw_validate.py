"""Speed of `clawctl validate openclaw.json` on a large OpenClaw config, beside JSON parsers timed in the same run.

    python bench/openclaw_validate.py [--agents 1000] [--bindings 5000] [--shape entries|list] [--split]
                                      [--repeat 5] [--keep DIR]

Writes, in a temporary folder, an openclaw.json written as OpenClaw's docs write it (JSON5: comments,
unquoted keys, trailing commas) with N agents and M bindings of every tier (exact peers, peer wildcards,
guild + roles, guilds, teams, accounts) over five channels of four accounts each, clean for every O rule
(:func:`generate`; ``--split`` moves the roster and the bindings into ``$include``d files). Then, each
``--repeat`` times (median shown, after one untimed warm-up):

- ``json.loads`` of the same data written as strict JSON (the C parser of the standard library: a floor);
- ``json5.loads`` of the config (the ``json5`` package, the reference Python JSON5 parser), once: it is
  slow; skipped, and said so, when the package is not installed;
- clawctl's reader alone (``reader.read_config``: JSON5, every position, the model);
- the whole lint in-process (``services.validate.validate``: read, every O rule, masking);
- ``clawctl validate openclaw.json`` as a child process, wall time, interpreter start included.

Target (the issue): the whole lint of 1,000 agents and 5,000 bindings under 1 s. Exit 0 when the
in-process lint meets it and finds nothing, 1 otherwise. A benchmark, not a test (ARCHITECTURE.md habit
12): the suite only checks that the generated config is clean (tests/cli/test_openclaw_validate.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_S = 1.0
CHANNELS = ("telegram", "whatsapp", "discord", "slack", "signal")
ACCOUNTS = ("primary", "support", "sales", "ops")


def _agent(i: int, shape: str) -> str:
    ident = f"agent-{i:04d}"
    head = f'{{ id: "{ident}", ' if shape == "list" else f'"{ident}": {{ '
    default = "default: true, " if shape == "list" and i == 0 else ""
    sandbox = ("off", "non-main", "all")[i % 3]
    return (f"{head}{default}name: \"Agent {i}\", workspace: \"~/.openclaw/workspace-{ident}\", "
            f"agentDir: \"~/.openclaw/agents/{ident}/agent\", model: {{ primary: \"anthropic/claude-sonnet-4-6\", "
            f"fallbacks: [\"openai/gpt-5.4-mini\"] }}, sandbox: {{ mode: \"{sandbox}\" }} }},")


def _binding(j: int, agents: int) -> str:
    agent = f"agent-{j % agents:04d}"
    channel = CHANNELS[j % len(CHANNELS)]
    account = ACCOUNTS[(j // len(CHANNELS)) % len(ACCOUNTS)]
    kind = j % 10
    if kind < 6:  # most bindings pin one conversation
        match = f'channel: "{channel}", accountId: "{account}", peer: {{ kind: "direct", id: "+1555{j:07d}" }}'
    elif kind == 6:
        match = f'channel: "{channel}", accountId: "{account}", peer: {{ kind: "group", id: "-100{j:09d}" }}'
    elif kind == 7:
        match = f'channel: "discord", accountId: "*", guildId: "g{j}", roles: ["r{j}", "staff"]'
    elif kind == 8:
        match = f'channel: "slack", accountId: "*", teamId: "T{j:08d}"'
    else:
        match = f'channel: "{channel}", accountId: "*", guildId: "g{j}"'
    return f'{{ agentId: "{agent}", comment: "rule {j}", match: {{ {match} }} }},'


def generate(agents: int = 1000, bindings: int = 5000, *, shape: str = "entries",
             split: bool = False) -> dict[str, str]:
    """``{file name: text}``: ``openclaw.json`` and, with ``split``, the files it includes. Clean for every O rule."""
    roster_key = "list" if shape == "list" else "entries"
    open_, close = ("[", "]") if shape == "list" else ("{", "}")
    roster = [f"  {roster_key}: {open_}"] + [f"    {_agent(i, shape)}" for i in range(agents)] + [f"  {close},"]
    routes = [f"  {_binding(j, agents)}" for j in range(bindings)]
    def accounts(channel: str) -> str:
        return ", ".join(f'{a}: {{ botToken: "${{{channel.upper()}_{a.upper()}_TOKEN}}" }}' for a in ACCOUNTS)

    channels = "\n".join(f'    {c}: {{ defaultAccount: "primary", accounts: {{ {accounts(c)} }} }},' for c in CHANNELS)
    head = ["// a large OpenClaw config for bench/openclaw_validate.py", "{",
            '  gateway: { mode: "local", port: 18789, bind: "loopback",',
            '    auth: { mode: "token", token: "${OPENCLAW_GATEWAY_TOKEN}" } },']
    ownership = '    ownership: "explicit",' if shape == "entries" else ""
    files: dict[str, str] = {}
    if split:
        files["agents.json5"] = "// the roster\n{\n" + "\n".join(roster) + "\n}\n"
        files["bindings.json5"] = "// the bindings\n[\n" + "\n".join(routes) + "\n]\n"
        body = ['  agents: {', ownership, '    defaults: { maxConcurrent: 8 },', '    $include: "./agents.json5",',
                '  },', '  bindings: { $include: "./bindings.json5" },']
    else:
        body = ["  agents: {", ownership, "    defaults: { maxConcurrent: 8 },"] + ["  " + r for r in roster] + \
               ["  },", "  bindings: ["] + routes + ["  ],"]
    tail = ["  channels: {", channels, "  },", "}", ""]
    files["openclaw.json"] = "\n".join(line for line in head + body + tail if line)
    return files


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _clawctl() -> list[str]:
    here = Path(sys.executable).parent / "clawctl"
    return [str(here)] if here.exists() else [shutil.which("clawctl") or "clawctl"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--bindings", type=int, default=5000)
    ap.add_argument("--shape", choices=("entries", "list"), default="entries")
    ap.add_argument("--split", action="store_true", help="roster and bindings in $include'd files")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = ap.parse_args(argv)

    from clawctl.adapters.openclaw_files import read_config
    from clawctl.core.lint.catalogue import all_rules
    from clawctl.services.validate import validate

    all_rules()  # import the rule modules before timing
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="clawctl-bench-oc-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files = generate(args.agents, args.bindings, shape=args.shape, split=args.split)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        config_path = str(folder / "openclaw.json")
        size = sum(len(t.encode()) for t in files.values())
        config = read_config(config_path)
        strict = json.dumps(config.data)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"load {os.getloadavg()[0]:.2f}")
        print(f"config: {args.agents:,} agents ({args.shape}), {args.bindings:,} bindings, {len(files)} file(s), "
              f"{size / 1e6:.2f} MB, {len(config.positions):,} values")

        rows: list[tuple[str, float | None, str]] = []
        rows.append(("json.loads (strict JSON, C; a floor)", _median(lambda: json.loads(strict), args.repeat), ""))
        try:
            import json5 as json5_lib  # the `json5` package (the reference Python parser), when installed

            text = files["openclaw.json"] if not args.split else None
            if text is not None:
                start = time.perf_counter()
                json5_lib.loads(text)
                rows.append(("json5.loads (the `json5` package), 1 run", time.perf_counter() - start, ""))
            else:
                rows.append(("json5.loads (the `json5` package)", None, "no $include support: run without --split"))
        except ImportError:
            rows.append(("json5.loads (the `json5` package)", None, "not installed (pip install json5)"))
        read_s = _median(lambda: read_config(config_path), args.repeat)
        rows.append(("clawctl reader (JSON5 + positions + model)", read_s, ""))
        report = validate([config_path])
        lint_s = _median(lambda: validate([config_path]), args.repeat)
        rows.append(("clawctl lint in-process (read + every O rule)", lint_s, ""))
        cmd = [*_clawctl(), "validate", config_path]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        cli_s = _median(lambda: subprocess.run(cmd, capture_output=True, check=False), max(1, args.repeat // 2))
        rows.append(("clawctl validate (child process, wall)", cli_s, f"exit {proc.returncode}"))

        floor = rows[0][1] or 1e-9
        for name, seconds, note in rows:
            shown = (f"{seconds:8.3f} s  ({seconds / floor:7.1f}x json.loads)" if seconds is not None
                     else " " * 8 + "   -")
            print(f"  {name:<48} {shown}  {note}")
        if any(r[0].startswith("json5.loads (the") and r[1] for r in rows):
            j5 = next(r[1] for r in rows if r[0].startswith("json5.loads (the") and r[1])
            print(f"  clawctl's reader is {j5 / read_s:.0f}x faster than json5.loads, and keeps every position")
        clean = not report.findings and proc.returncode == 0
        met = lint_s < TARGET_S
        print(f"target: lint under {TARGET_S:g} s: {'met' if met else 'MISSED'} ({lint_s:.3f} s in-process, "
              f"{cli_s:.3f} s as a command); findings: {len(report.findings)}")
        if not clean:
            print(proc.stdout[-2000:] + proc.stderr[-2000:])
        return 0 if met and clean else 1
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
