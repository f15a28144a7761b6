"""The non-interactive views of `clawctl top`: a plain table per cycle, and one JSON line per cycle.

The interactive dashboard is ``render/top_app.py``; these are for pipes, scripts and CI (``--once``,
``--count N``, a stdout that is not a terminal). Stale and down agents show no figures, only their
state and the age of their last good sample.
"""

from __future__ import annotations

import json

from rich.table import Table

from clawctl.core.env import Env, iso_from_epoch
from clawctl.core.top.frame import Frame, Row
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe
from clawctl.render.top_app_cells import sparkline


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _age(row: Row) -> str:
    if row.age_s is None:
        return "never"
    return "now" if row.age_s < 0.5 else f"{row.age_s:.0f}s"


def figures(row: Row) -> list[str]:
    """The figure cells of a row: "-" when the row has no current figures (stale or down)."""
    if row.stale:
        return ["-"] * 7
    conv = "-" if row.active_conversations is None else \
        f"{row.active_conversations:.0f}/{_num(row.capacity)}"
    return [_num(row.response_time_ms), _num(row.p50_ms), _num(row.cpu, "{:.1f}"), _num(row.memory, "{:.1f}"),
            conv, _num(row.error_rate, "{:.1f}"), _num(row.requests_per_s, "{:.1f}")]


def table(frame: Frame, env: Env) -> None:
    console = console_for(env)
    ready = sum(r.state == "ready" for r in frame.rows)
    breaching = sum(bool(r.breaches) for r in frame.rows)
    console.print(f"fleet {safe(frame.fleet)} · cycle {frame.cycle} · {frame.source} · "
                  f"{iso_from_epoch(frame.at)} · {ready}/{len(frame.rows)} ready · {breaching} breaching",
                  highlight=False)
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("AGENT", "STATE", "AGE", "RT p95 ms", "RT p50 ms", "CPU%", "MEM%", "CONV", "ERR%", "REQ/s",
                "TREND", "BREACH"):
        t.add_column(col, justify="left" if col in ("AGENT", "STATE", "TREND", "BREACH") else "right")
    for row in frame.rows:
        state = row.state if not (row.stale and row.state != "down") else f"{row.state} (stale)"
        t.add_row(safe(row.id), state, _age(row), *figures(row), sparkline(row.spark),
                  ",".join(b.metric for b in row.breaches))
    console.print(t)
    breaches = [(row, b) for row in frame.rows for b in row.breaches]
    if breaches:
        b_table = Table(box=None, header_style="bold", pad_edge=False, title="breaches", title_justify="left")
        for col in ("AGENT", "METRIC", "VALUE", "THRESHOLD", "HELD", "ACTION"):
            b_table.add_column(col)
        for row, b in breaches:
            b_table.add_row(safe(row.id), b.metric, f"{b.value:.4g}", f"{b.threshold:g}", f"{b.held(frame.at):.0f}s",
                            b.action)
        console.print(b_table)
    for note in frame.notes:
        console.print(safe(note), highlight=False)


def rollups(frame: Frame, env: Env) -> None:
    console = console_for(env)
    for key, groups in frame.rollups().items():
        t = Table(box=None, header_style="bold", pad_edge=False, title=f"by {key}", title_justify="left")
        for col in (key.upper(), "AGENTS", "READY", "DOWN", "BREACHING", "CONV", "REQ/s", "ERR%"):
            t.add_column(col, justify="left" if col == key.upper() else "right")
        for name, r in sorted(groups.items()):
            d = r.as_dict()
            t.add_row(safe(name), str(r.agents), str(r.ready), str(r.down), str(r.breaching),
                      f"{r.active_conversations:.0f}/{r.capacity:.0f}", _num(d["requests_per_s"], "{:.1f}"),
                      _num(d["error_rate"], "{:.1f}"))
        console.print(t)


def jsonl(frame: Frame, env: Env) -> str:
    return json.dumps(frame.as_dict(), separators=(",", ":"), default=str, allow_nan=False)
