"""The text view of `clawctl traffic`: the simulate table for the live run, then errors and retries."""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.render import sim
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe


def text(report, env: Env, *, agents: bool = True) -> None:
    sim.text(report, env, agents=agents, ran="sent live")
    console = console_for(env)
    errors = ", ".join(f"{k} {v:,}" for k, v in report.errors.items() if v) or "none"
    in_flight = sum(r.in_flight for r in report.results)
    console.print(f"live at time scale {report.time_scale:g}: errors {errors}; {report.retried:,} retried; "
                  f"{in_flight:,} still in flight")
    for note in report.notes:
        console.print(safe(note))
    if report.interrupted:
        console.print("interrupted: partial result")
