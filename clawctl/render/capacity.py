"""The text view of `clawctl capacity`: one row per group, then the confidence and where it ran."""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.render.safe import terminal_safe as safe


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def text(report, env: Env) -> str:
    unit = "slots" if report.vary == "slots" else "agents"
    traffic = f"{report.rate * 60:,.1f}/min" + (" held at the peak" if report.at_peak else "")
    length = f"{report.requests:,} requests" if report.requests else f"{report.duration:g} s"
    lines = [f"capacity of {safe(report.fleet)}: {report.target * 100:g}% of requests waiting under "
             f"{report.wait:g}s, {unit} per {report.group_by}, {report.strategy}, {traffic}",
             f"({report.replications} replications of {length} per candidate, the same seeds for every candidate)",
             ""]
    head = ("group", "today", "erlang C", "needed", "change", "SLA today", "SLA after", "util after")
    rows = []
    for g in report.rows:
        change = "-" if g.needed is None else f"{g.needed - g.today:+d}"
        after = _pct(g.sla_after) + (f" ±{g.ci_after * 100:.1f}" if g.sla_after is not None and g.ci_after else "")
        rows.append((safe(g.name), str(g.today), str(g.estimate), "-" if g.needed is None else str(g.needed), change,
                     _pct(g.sla_today), after, _pct(g.utilization_after)))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    lines += [fmt(head), *map(fmt, rows)]
    lines.append("")
    lines.append(f"whole fleet: SLA today {_pct(report.fleet_sla_today)}, after {_pct(report.fleet_sla_after)}"
                 + (f" ±{report.fleet_ci_after * 100:.1f}" if report.fleet_ci_after else "")
                 + " (rejected and abandoned requests count as misses)")
    if report.met:
        lines.append(f"met: every group at or above {report.target * 100:g}% on the mean of {report.replications} "
                     f"replications (all groups met it together in {report.met_in} of {report.replications}); "
                     "± is the 95% confidence half-width")
    else:
        lines.append("NOT MET: no candidate met the SLA in every group")
    added = [a for g in report.rows for a in g.added]
    if added:
        lines.append(f"agents to add: {', '.join(safe(a) for a in added)}")
    lines += [f"note: {safe(n)}" for n in report.notes]
    lines.append(f"{report.candidates} candidates, {report.simulations} simulations on {safe(report.runner)} "
                 f"in {report.elapsed_s:.1f} s"
                 + (f"; recorded as run {report.run_id}" if report.run_id else "")
                 + (f"; wrote {safe(report.written)}" if report.written else ""))
    return "\n".join(lines) + "\n"
