"""`clawctl probe` (and `lab status`): a table of agent states, or JSON."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from rich.table import Table
from rich.text import Text

from clawctl.render.console import make_console

STATE_STYLE = {"ready": "green", "degraded": "yellow", "starting": "cyan", "draining": "cyan",
               "unsupported": "magenta", "down": "bold red"}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def as_dict(report) -> dict:
    agents = []
    for r in report.results:
        m = r.metrics
        agents.append({
            "id": r.agent_id,
            "state": r.verdict.state,
            "detail": r.verdict.detail or report.notes.get(r.agent_id, ""),
            "failing": r.verdict.failing,
            "endpoint_source": report.sources.get(r.agent_id),
            "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 2),
            "active_conversations": m.active_conversations if m else None,
            "max_conversations": m.max_conversations if m else None,
            "response_time_ms": None if not m or m.response_time_ms is None else round(m.response_time_ms, 2),
            "error_rate": None if not m or m.error_rate is None else round(m.error_rate, 3),
            "cpu": m.cpu if m else None,
            "memory": m.memory if m else None,
            "metrics_error": r.metrics_error,
        })
    skipped = [{"id": a, "reason": why} for a, why in report.notes.items()
               if a not in {r.agent_id for r in report.results}]
    return {"schema_version": 1, "fleet": report.fleet, "at": _iso(report.at), "agents": agents,
            "skipped": skipped, "summary": report.summary()}


def render(report, fmt: str, *, no_color: bool = False) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(as_dict(report), indent=2) + "\n")
        return
    console = make_console(no_color=no_color)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("AGENT", "STATE", "LATENCY", "CONV", "RT(ms)", "ERR%", "CPU%", "MEM%", "DETAIL"):
        table.add_column(col, justify="right" if col in ("LATENCY", "CONV", "RT(ms)", "ERR%", "CPU%", "MEM%")
                         else "left")
    for r in sorted(report.results, key=lambda r: (list(STATE_STYLE).index(r.verdict.state) * -1, r.agent_id)):
        m = r.metrics
        conv = "-" if not m or m.active_conversations is None else \
            f"{m.active_conversations:.0f}/{_num(m.max_conversations)}"
        detail = r.verdict.detail or report.notes.get(r.agent_id, "") or (r.metrics_error or "")
        table.add_row(r.agent_id, Text(r.verdict.state, style=STATE_STYLE[r.verdict.state]),
                      _num(r.latency_ms, "{:.1f}ms"), conv, _num(m.response_time_ms if m else None, "{:.0f}"),
                      _num(m.error_rate if m else None, "{:.1f}"), _num(m.cpu if m else None, "{:.1f}"),
                      _num(m.memory if m else None, "{:.1f}"), detail)
    console.print(table)
    for agent_id, why in report.notes.items():
        if agent_id not in {r.agent_id for r in report.results}:
            console.print(Text(f"{agent_id}: not probed: {why}", style="dim"))
    summary = ", ".join(f"{n} {s}" for s, n in sorted(report.summary().items()))
    console.print(Text(f"{len(report.results)} agents probed: {summary}", style="bold"))
