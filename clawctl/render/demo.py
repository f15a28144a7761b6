"""What `clawctl demo` prints for each step: one line saying what it shows, then the verb's own view."""

from __future__ import annotations

from pathlib import Path

from clawctl.core.env import Env
from clawctl.render.console import console


def show(step, env: Env, folder: Path, total: int) -> list[str]:
    """Print ``step``; return the paths of any report it wrote."""
    out = console(env)
    out.print(f"\n── [{step.number}/{total}] {step.title}: {step.shows} ({step.seconds:.1f}s)", style="bold",
              highlight=False)
    r = step.result
    written: list[str] = []
    if r is None:
        return written
    view = getattr(r, "view", None)
    if view == "lint":
        from clawctl.render.findings_text import text

        text(r, env)
    elif view == "lab":
        from clawctl.render.lab import text

        text(r, env)
    elif view == "traffic":
        from clawctl.render.traffic import text

        text(r, env, agents=False)
    elif view == "top":
        from clawctl.render.top import table

        table(r, env)
    elif view == "sim":
        from clawctl.render.sim import text
        from clawctl.render.sim_report import write_report

        text(r, env)
        path = folder / "simulation.html"
        write_report(r, path)
        written.append(str(path))
        out.print(f"HTML report: {path}", highlight=False)
    elif view == "drill":
        from clawctl.render.failover_drill import markdown, text

        text(r, env)
        path = folder / "drill.md"
        path.write_text(markdown(r, env), encoding="utf-8")
        written.append(str(path))
        out.print(f"drill report: {path}", highlight=False)
    return written
