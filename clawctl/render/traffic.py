"""The text view of `clawctl traffic`: the simulate table for the live run, then errors and retries."""

from __future__ import annotations

from rich.table import Table

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
    d = report.driver
    if d.get("sent"):
        console.print(f"driver lag, scheduled to sent (real ms): p50 {d['lag_p50_ms']:g}, p99 {d['lag_p99_ms']:g}, "
                      f"max {d['lag_max_ms']:g} over {d['sent']:,} requests")
    for note in report.notes:
        console.print(safe(note))
    if report.interrupted:
        console.print("interrupted: partial result")
    if report.predicted is not None and report.results:
        console.print(_comparison(report.predicted, report.results[0]))


def _comparison(predicted, measured) -> Table:
    """Predicted (simulate) beside measured (live), with the difference, one row per figure."""
    table = Table(box=None, header_style="bold", pad_edge=False, title="predicted by simulate vs measured live",
                  title_justify="left")
    for col in ("FIGURE", "PREDICTED", "MEASURED", "DIFFERENCE"):
        table.add_column(col, justify="left" if col == "FIGURE" else "right")
    rows = [("served", predicted.served, measured.served, "n"), ("rejected", predicted.rejected, measured.rejected, "n"),
            ("abandoned", predicted.abandoned, measured.abandoned, "n"),
            ("utilisation", predicted.utilization, measured.utilization, "%"),
            ("P(wait)", predicted.p_wait, measured.p_wait, "%"),
            ("SLA", predicted.sla_attainment, measured.sla_attainment, "%"),
            ("wait mean", predicted.wait.mean, measured.wait.mean, "s"),
            ("wait p95", predicted.wait.p95, measured.wait.p95, "s"),
            ("sojourn mean", predicted.sojourn.mean, measured.sojourn.mean, "s"),
            # the time a slot is held: the agent's service time, plus the HTTP round trip when live
            ("held mean", predicted.sojourn.mean - predicted.wait.mean, measured.sojourn.mean - measured.wait.mean,
             "s")]
    for name, p, m, unit in rows:
        table.add_row(name, _fmt(p, unit), _fmt(m, unit), _diff(p, m, unit))
    return table


def _fmt(v, unit: str) -> str:
    if v is None or v != v:
        return "-"
    return {"n": f"{v:,}", "%": f"{v * 100:.1f}%", "s": f"{v:.3g}s"}[unit]


def _diff(p, m, unit: str) -> str:
    if p is None or m is None or p != p or m != m:
        return "-"
    if unit == "%":
        return f"{(m - p) * 100:+.1f} pts"
    delta = m - p
    rel = f" ({delta / p * 100:+.0f}%)" if p else ""
    return (f"{delta:+,}" if unit == "n" else f"{delta:+.3g}s") + rel
