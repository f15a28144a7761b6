"""`clawctl lab up|status|down`: what runs where."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from clawctl.core.env import Env
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe

_STYLE = {"running": "green", "exited": "red", "replaced": "red", "down": "bold red", "degraded": "yellow"}


def text(result, env: Env) -> None:
    verb = result.verb
    console = console_for(env)
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
        table.add_row(safe(a.fleet or result.fleet or "-"), safe(a.agent_id), str(a.pid), safe(a.endpoint),
                      Text(safe(a.state), style=_STYLE.get(a.state, "")), safe(a.detail))
    console.print(table)
    if verb == "up":
        console.print(f"{len(result.started)} started, {len(result.kept)} already running; logs in {safe(result.log_dir)}")
