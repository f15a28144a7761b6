"""`clawctl lab up|status|down`: what runs where."""

from __future__ import annotations

import json
import sys

from rich.table import Table
from rich.text import Text

from clawctl.render.console import make_console

_STYLE = {"running": "green", "exited": "red", "replaced": "red", "down": "bold red", "degraded": "yellow"}


def render(result, fmt: str, *, verb: str, no_color: bool = False) -> None:
    if fmt == "json":
        payload = {"schema_version": 1, "fleet": result.fleet, "log_dir": result.log_dir or None,
                   "agents": [{"id": a.agent_id, "fleet": a.fleet, "pid": a.pid, "endpoint": a.endpoint, "state": a.state,
                               "started_at": a.started_at, "detail": a.detail} for a in result.agents],
                   "started": result.started, "kept": result.kept, "stopped": result.stopped, "gone": result.gone}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    console = make_console(no_color=no_color)
    if verb == "down":
        console.print(f"stopped {len(result.stopped)} agents" + (f"; {len(result.gone)} had already exited"
                                                                  if result.gone else ""))
        return
    if not result.agents:
        console.print("no lab agents recorded; `clawctl lab up FLEET` starts them")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("FLEET", "AGENT", "PID", "ENDPOINT", "STATE", "DETAIL"):
        table.add_column(col)
    for a in result.agents:
        table.add_row(a.fleet or result.fleet or "-", a.agent_id, str(a.pid), a.endpoint,
                      Text(a.state, style=_STYLE.get(a.state, "")), a.detail)
    console.print(table)
    if verb == "up":
        console.print(f"{len(result.started)} started, {len(result.kept)} already running; logs in {result.log_dir}")
