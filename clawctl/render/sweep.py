"""The text view of `clawctl simulate --sweep`: one row per point, ± the 95% half-width with replications."""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.render.safe import terminal_safe as safe

COLUMNS = (("sla_attainment", "SLA", "pct"), ("p_wait", "P(wait)", "pct"), ("wait_mean", "wait mean", "s"),
           ("wait_p95", "wait p95", "s"), ("abandoned_share", "abandoned", "pct"), ("utilization", "util", "pct"))


def _cell(v: float | None, h: float, kind: str, ci: bool) -> str:
    if v is None:
        return "-"
    text = f"{v * 100:.1f}%" if kind == "pct" else f"{v:.2f}s"
    if ci:
        text += f" ±{h * 100:.1f}" if kind == "pct" else f" ±{h:.2f}"
    return text


def text(report, env: Env) -> str:
    ci = report.replications > 1
    length = f"{report.requests:,} requests" if report.requests else f"{report.duration:g} s"
    lines = [f"sweep of {safe(report.fleet)}: {len(report.rows)} points x {report.replications} replication(s) "
             f"of {length}, the same seeds at every point", ""]
    keys = [k for k in report.keys if k != "strategy"]
    head = (*keys, "strategy", *(c[1] for c in COLUMNS))
    rows = []
    for row in report.rows:
        cells = [safe(row.values[k]) for k in keys] + [row.strategy]
        cells += [_cell(*row.figures[name], kind, ci) for name, _, kind in COLUMNS]
        rows.append(tuple(cells))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.rjust(w) if i > len(keys) else c.ljust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    lines += [fmt(head), *map(fmt, rows), ""]
    if ci:
        lines.append("± is the 95% confidence half-width over the replications")
    lines.append(f"{report.simulations} simulations on {safe(report.runner)} in {report.elapsed_s:.1f} s"
                 + (f"; recorded as run {report.run_id}" if report.run_id else ""))
    return "\n".join(lines) + "\n"
