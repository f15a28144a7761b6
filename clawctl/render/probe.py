"""`clawctl probe` (and `lab status`): a table of agent states, or JSON."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from clawctl.core.env import Env
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe

STATE_STYLE = {"ready": "green", "degraded": "yellow", "starting": "cyan", "draining": "cyan",
               "unsupported": "magenta", "down": "bold red"}


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def text(report, env: Env) -> None:
    console = console_for(env)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("AGENT", "STATE", "LATENCY", "CONV", "RT(ms)", "ERR%", "CPU%", "MEM%", "DETAIL"):
        table.add_column(col, justify="right" if col in ("LATENCY", "CONV", "RT(ms)", "ERR%", "CPU%", "MEM%")
                         else "left")
    for r in sorted(report.results, key=lambda r: (list(STATE_STYLE).index(r.verdict.state) * -1, r.agent_id)):
        m = r.metrics
        conv = "-" if not m or m.active_conversations is None else \
            f"{m.active_conversations:.0f}/{_num(m.max_conversations)}"
        detail = r.verdict.detail or report.notes.get(r.agent_id, "") or (r.metrics_error or "")
        table.add_row(terminal_safe(r.agent_id), Text(terminal_safe(r.verdict.state), style=STATE_STYLE[r.verdict.state]),
                      _num(r.latency_ms, "{:.1f}ms"), conv, _num(m.response_time_ms if m else None, "{:.0f}"),
                      _num(m.error_rate if m else None, "{:.1f}"), _num(m.cpu if m else None, "{:.1f}"),
                      _num(m.memory if m else None, "{:.1f}"), terminal_safe(detail))
    console.print(table)
    for agent_id, why in report.notes.items():
        if agent_id not in {r.agent_id for r in report.results}:
            console.print(Text(f"{terminal_safe(agent_id)}: not probed: {terminal_safe(why)}", style="dim"))
    summary = ", ".join(f"{n} {terminal_safe(s)}" for s, n in sorted(report.summary().items()))
    console.print(Text(f"{len(report.results)} agents probed: {summary}", style="bold"))
