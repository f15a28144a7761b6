"""`clawctl simulate`: a comparison table, per-agent figures, or the spec's JSON."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from clawctl.core.env import Env
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe


def _s(v: float | None, unit: str = "s") -> str:
    if v is None or v != v:
        return "-"
    if unit == "s":
        return f"{v:.3g}s" if v < 100 else f"{v:,.0f}s"
    return f"{v * 100:.1f}%"


def text(report, env: Env, *, agents: bool = False, ran: str = "simulated") -> None:
    console = console_for(env)
    table = Table(box=None, header_style="bold", pad_edge=False, title=f"fleet {safe(report.fleet)}, seed {report.seed}",
                  title_justify="left")
    # ARRIVED = SERVED + REJECTED + ABANDONED + LOST + IN FLIGHT (waiting or in conversation at the end)
    for col in ("STRATEGY", "ARRIVED", "SERVED", "REJECTED", "ABANDONED", "LOST", "IN FLIGHT", "UTIL", "SLA",
                "WAIT mean", "WAIT p95", "WAIT p99", "SOJOURN p95"):
        table.add_column(col, justify="left" if col == "STRATEGY" else "right")
    best = min(report.results, key=lambda r: (r.wait.p95 if r.wait.p95 == r.wait.p95 else float("inf")))
    for r in report.results:
        name = Text(safe(r.strategy), style="bold green" if r is best and len(report.results) > 1 else "")
        table.add_row(name, f"{r.arrived:,}", f"{r.served:,}", f"{r.rejected:,}", f"{r.abandoned:,}", f"{r.lost:,}",
                      f"{r.in_flight:,}", _s(r.utilization, "%"), _s(r.sla_attainment, "%"), _s(r.wait.mean), _s(r.wait.p95),
                      _s(r.wait.p99), _s(r.sojourn.p95))
    console.print(table)
    for r in report.results:
        if r.failures or r.transferred or r.lost:
            events = "; ".join(f"{safe(f['target'])} down at {f['at']:g}s, detected at {f['detected_at']:g}s"
                               for f in r.failures)
            console.print(f"{safe(r.strategy)}: {events}; {r.transferred} conversations moved to backups, {r.lost} lost, "
                          f"{r.retried} requests retried on another agent")
    if agents:
        for r in report.results:
            t = Table(box=None, header_style="bold", pad_edge=False, title=f"agents under {safe(r.strategy)}",
                      title_justify="left")
            for col in ("AGENT", "SERVED", "UTIL", "WAIT mean"):
                t.add_column(col, justify="left" if col == "AGENT" else "right")
            for a in sorted(r.agents, key=lambda a: -a.utilization):
                t.add_row(safe(a.id), f"{a.served:,}", _s(a.utilization, "%"), _s(a.wait_mean))
            console.print(t)
    stored = f"; stored as run {report.run_id}" if report.run_id is not None else ""
    console.print(Text(f"{ran} in {report.elapsed_s:.2f}s{stored}", style="dim"))
