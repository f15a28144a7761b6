"""`clawctl top`'s dashboard: one frame drawn in place (update_cell) against a full table rebuild.

```sh
python bench/top_frame.py                          # 1,000 agents, 40 frames of each way, 160x50
python bench/top_frame.py --agents 200 --frames 60 --size 200x60 --tick 0.05
```

The dashboard (``clawctl/render/top_app.py``) runs headless in Textual's test harness; the frames come
from the real ``Tracker`` fed synthetic figures (seeded; about 2 % of agents down and 3 % stale each
cycle, every figure moving a little every cycle, so most figure cells of every row change, as a busy
fleet's do). Two ways of drawing each frame, in alternating blocks on the same table so both see the
same machine:

- **update_cell** (what the dashboard does): ``TopApp.show(frame)``: cells formatted, compared with
  what is on screen, ``update_cell`` for the changed ones, rows re-sorted in place;
- **rebuild** (the baseline): the same cells formatted and sorted, then ``clear()`` and ``add_row`` for
  every row.

Per frame it records the wall time of the drawing call itself, and the process CPU time of the whole
tick: the call, then until Textual has handled every message it caused, then ``--tick`` seconds in which
it lays out and paints the screen (its 60 Hz update timer). An idle tick (no frame, after the screen has
settled) is measured too: it is the floor of the CPU figure. It prints
the median and p95 of each and the ratio rebuild / update_cell. Times are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawctl.core.top.frame import Frame, Observation, Tracker
from clawctl.core.top.rates import Interval
from clawctl.render.top_app import TopApp
from clawctl.render.top_app_cells import KEYS, order, row_cells


def make_frames(agents: int, count: int, seed: int) -> list[Frame]:
    rng = random.Random(seed)
    ids = [f"agent-{i:04d}" for i in range(agents)]
    tracker = Tracker("bench", [(a, f"region-{i % 5}", f"domain-{i % 7}") for i, a in enumerate(ids)])
    base = {a: (rng.uniform(50, 1500), rng.uniform(5, 70), rng.uniform(10, 80)) for a in ids}
    frames = []
    for k in range(count):
        obs = []
        for a in ids:
            roll = rng.random()
            if roll < 0.02:
                obs.append(Observation(a, "down", detail="connection refused"))
                continue
            if roll < 0.05:
                obs.append(Observation(a, "ready", detail="metrics: timed out"))
                continue
            rt, cpu, mem = base[a]
            p95 = rt * rng.uniform(0.8, 1.3)
            obs.append(Observation(a, "ready", figures=Interval(
                seconds=1.0, active=rng.randint(0, 8), capacity=8, cpu=cpu * rng.uniform(0.9, 1.1), memory=mem,
                requests_per_s=rng.uniform(1, 20), error_rate=rng.uniform(0, 3), p50_ms=p95 / 3, p95_ms=p95)))
        frames.append(tracker.update(1767605400.0 + k, obs))
    return frames


def rebuild(app: TopApp, frame: Frame) -> None:
    """The baseline: every row formatted and sorted as the dashboard does, then the table cleared and refilled.
    The app's own record of the screen is kept in step, so the next update_cell block starts from it."""
    table = app.table
    app.frame, app.rows = frame, {r.id: r for r in frame.rows}
    ids = order(frame.rows, app.sort_column, app.sort_reverse)
    cells = {i: row_cells(app.rows[i], app.no_color) for i in ids}
    table.clear()
    app._row_keys = {i: table.add_row(*(app._cell(i, k, cells[i][k]) for k in KEYS), key=i) for i in ids}
    app._cells, app._order = cells, ids


async def never() -> AsyncIterator[Frame]:
    await asyncio.Event().wait()
    yield  # pragma: no cover


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    width, height = (int(x) for x in args.size.lower().split("x"))
    frames = make_frames(args.agents, 2 * args.frames + 1, args.seed)
    app = TopApp(never, title="bench", interval=1.0, backups={})
    out: dict[str, dict[str, list[float]]] = {w: {"call": [], "cpu": []} for w in ("update_cell", "rebuild", "idle")}
    async with app.run_test(size=(width, height)) as pilot:
        app.show(frames[0])  # the first frame adds the rows
        await pilot.pause()
        await asyncio.sleep(args.tick * 3)
        ways = {"update_cell": app.show, "rebuild": lambda f: rebuild(app, f)}
        n = 1
        while n < len(frames):
            for way, draw in ways.items():
                for _ in range(args.block):
                    if n >= len(frames):
                        break
                    c0, w0 = time.process_time(), time.perf_counter()
                    draw(frames[n])
                    w1 = time.perf_counter()
                    await pilot.pause()  # every message the frame caused is handled
                    await asyncio.sleep(args.tick)  # and the screen painted
                    out[way]["call"].append(w1 - w0)
                    out[way]["cpu"].append(time.process_time() - c0)
                    n += 1
            await asyncio.sleep(args.tick * 3)  # settled
            c0 = time.process_time()
            await asyncio.sleep(args.tick)
            out["idle"]["cpu"].append(time.process_time() - c0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=40, help="frames drawn each way (default 40)")
    parser.add_argument("--block", type=int, default=10, help="frames per block before switching way")
    parser.add_argument("--tick", type=float, default=0.1, help="seconds after each frame to lay out and paint")
    parser.add_argument("--size", default="160x50", help="terminal columns x rows (default 160x50)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import textual

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f}; Python {platform.python_version()};"
          f" Textual {textual.__version__}")
    print(f"{args.agents} agents, {args.frames} frames each way in blocks of {args.block}, terminal {args.size},"
          f" tick {args.tick * 1000:.0f} ms")
    out = asyncio.run(measure(args))
    print(f"{'way':<12} {'call median':>12} {'call p95':>10} {'CPU/tick median':>16} {'CPU/tick p95':>13}  (ms)")
    for way, got in out.items():
        call = f"{statistics.median(got['call']) * 1e3:12.1f} {pct(got['call'], 0.95) * 1e3:10.1f}" if got["call"] \
            else f"{'-':>12} {'-':>10}"
        print(f"{way:<12} {call} {statistics.median(got['cpu']) * 1e3:16.1f} {pct(got['cpu'], 0.95) * 1e3:13.1f}")
    up, re = out["update_cell"], out["rebuild"]
    print(f"ratio rebuild / update_cell: call {statistics.median(re['call']) / statistics.median(up['call']):.1f}x,"
          f" CPU per tick {statistics.median(re['cpu']) / statistics.median(up['cpu']):.1f}x"
          f" (less the idle tick: {(statistics.median(re['cpu']) - statistics.median(out['idle']['cpu'])) / max(1e-9, statistics.median(up['cpu']) - statistics.median(out['idle']['cpu'])):.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
