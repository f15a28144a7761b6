"""The report's fleet-wide charts: queue and utilisation over time as small multiples, and the wait distribution.

Strategies run on the same arrivals (common random numbers), so their series are often near-identical and
would hide each other on one axis: each gets a small chart of its own, on a y-axis shared by all of them, with
the other strategies drawn faintly behind it for comparison. Strategies whose series are identical share one.
"""

from __future__ import annotations

import math

import numpy as np

from clawctl.core.sim.layout import HIST_LO, HIST_RATIO

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
STYLES = ("-", "--", "-.", ":")
FAIL_COLOR = "#c0392b"
GHOST = "#c9c9c9"  # the other strategies behind a small multiple
MULTIPLE_COLUMNS = 4
RC = {"svg.fonttype": "none", "text.parse_math": False, "font.size": 10, "axes.titlesize": 12,
      "axes.titleweight": "bold", "axes.titlelocation": "left", "axes.spines.top": False,
      "axes.spines.right": False, "axes.grid": True, "grid.color": "#e5e5e5", "grid.linewidth": 0.8,
      "legend.frameon": False, "figure.facecolor": "white"}


# -- numbers ------------------------------------------------------------------------------------------------
def num(v) -> float:
    return math.nan if v is None else float(v)


def dur(v) -> str:
    v = num(v)
    if v != v or 0 < v < 1:
        return "-" if v != v else f"{v * 1000:.3g}ms"
    if round(v) < 60:
        return f"{v:.3g}s"
    big, small = divmod(int(round(v)), 60) if round(v) < 3600 else divmod(int(round(v / 60)), 60)
    units = ("m", "s") if round(v) < 3600 else ("h", "m")
    return f"{big}{units[0]}{small:02d}{units[1]}" if small else f"{big}{units[0]}"


def pct(v) -> str:
    return "-" if num(v) != num(v) else f"{v * 100:.1f}%"


def ccdf(hist) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Steps of P(wait > x) over the positive bins (bin 0 holds waits of exactly 0); P(wait > 0); the count."""
    h = np.asarray(hist, dtype=float)
    total = float(h.sum())
    if total == 0:
        return np.zeros(0), np.zeros(0), math.nan, 0
    right = np.concatenate(([0.0, HIST_LO], HIST_LO * HIST_RATIO ** np.arange(1, h.shape[0] - 1)))
    surv = 1.0 - np.cumsum(h) / total
    keep = np.flatnonzero(h[1:]) + 1  # bins that hold requests: each is one step of the curve
    left = np.where(keep == 1, HIST_LO / HIST_RATIO, right[keep - 1])
    x = np.column_stack((left, right[keep])).ravel()
    y = np.column_stack((surv[keep - 1], surv[keep])).ravel()
    return x, np.clip(y, 0.0, 1.0), float(surv[0]), int(total)


class View:
    """What every chart needs: the run, a colour per strategy, the time axis, failures, the featured strategy."""

    def __init__(self, report) -> None:
        rs = self.results = report.results
        self.report = report
        sampled = max([max(r.series_t, default=0.0) for r in rs] + [0.0])
        self.end = max([r.elapsed_sim_s for r in rs] + [1e-9])
        self.span = sampled if 0 < sampled < self.end / 1.02 else self.end  # samples may stop before the end
        self.scale, self.unit = (60.0, "minutes") if self.span <= 3 * 3600 else (3600.0, "hours") \
            if self.span <= 7 * 86400 else (86400.0, "days")
        self.failures = sorted({(f["target"], f["at"]): f for r in rs for f in r.failures}.values(),
                               key=lambda f: f["at"])
        self.colors = {r.strategy: (COLORS[i % len(COLORS)], STYLES[(i // len(COLORS)) % len(STYLES)])
                       for i, r in enumerate(rs)}
        self.best, self.note = featured(rs)
        self.timelines = {t.id: t for t in getattr(report, "timelines", None) or []}

    def time_label(self) -> str:
        cut = f"; samples stop at {dur(self.span)} of {dur(self.end)}" if self.end > self.span * 1.02 else ""
        return f"simulated time ({self.unit}){cut}"


def featured(results) -> tuple[object, str]:
    """The strategy of the per-agent charts: the best wait p95 (then fewest misses, lowest mean wait)."""
    if len(results) <= 1:
        return (results[0] if results else None), ""

    def key(r):
        p95, mean = num(r.wait.p95), num(r.wait.mean)
        return (math.inf if p95 != p95 else p95, r.rejected + r.abandoned + r.lost, math.inf if mean != mean else mean)

    best = min(results, key=key)
    ties = sum(key(r) == key(best) for r in results)
    return best, " (every strategy ties; the first)" if ties == len(results) else " (the best wait p95)"


def groups(results, attr: str) -> list[tuple[list[str], object]]:
    """Strategies whose series are identical (common random numbers make that common), drawn once."""
    out: dict[bytes, tuple[list[str], object]] = {}
    for r in results:
        out.setdefault(np.asarray(getattr(r, attr), dtype=float).tobytes(), ([], r))[0].append(r.strategy)
    return list(out.values())


def mark_failures(v: View, ax, *, label: bool = True) -> None:
    for f in v.failures:
        ax.axvline(f["at"] / v.scale, color=FAIL_COLOR, lw=1.4, ls=(0, (4, 2)), zorder=5)
        if label:
            ax.annotate(f"{f['target']} down", (f["at"] / v.scale, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(4, -4), textcoords="offset points", va="top", fontsize=8, color=FAIL_COLOR,
                        fontweight="bold", zorder=6, bbox={"fc": "white", "ec": "none", "alpha": 0.6, "pad": 1})


# -- small multiples ----------------------------------------------------------------------------------------
SERIES = {  # attr -> (title, y label, as a percentage)
    "series_queue": ("Requests waiting in queue", "waiting", False),
    "series_utilization": ("Fleet utilisation (busy share of all conversation slots)", "utilisation", True),
}


KIND = {"series_queue": "queue", "series_utilization": "utilization", "wait_hist": "wait"}


def _panels(v: View, attr: str) -> list[tuple[list[str], object]]:
    """One panel per distinct series of ``attr`` (strategies with identical ones share a panel)."""
    if attr == "wait_hist":
        return [(names, r) for names, r in groups(v.results, attr) if sum(r.wait_hist[1:])]
    return [(names, r) for names, r in groups(v.results, attr) if r.series_t]


def multiple_rows(v: View, attr: str) -> int:
    n = len(_panels(v, attr)) or 1
    return math.ceil(n / min(MULTIPLE_COLUMNS, n))


def _grid(v: View, fig, attr: str, title: str):
    """The figure's title and a grid of axes sharing x and y, one per panel (spare cells hidden)."""
    panels = _panels(v, attr)
    others = " (grey: the other strategies)" if len(panels) > 1 else ""
    fig.suptitle(f"{title}{', one chart per strategy on a shared scale' if len(panels) > 1 else ''}{others}",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    cols = min(MULTIPLE_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / cols)
    axes = list(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel())
    for i, ax in enumerate(axes):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        ax.set_gid(f"multiple-{KIND[attr]}-{panels[i][0][0]}")  # e.g. multiple-queue-p2c
        ax.tick_params(labelbottom=True, labelleft=i % cols == 0, labelsize=8.5)
    return panels, axes[: len(panels)], cols


def multiples(v: View, fig, attr: str) -> None:
    """One small chart per strategy (identical series share one), every one on the same y-axis."""
    title, ylabel, is_pct = SERIES[attr]
    k = 100.0 if is_pct else 1.0
    if not _panels(v, attr):
        fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no samples in this run", transform=ax.transAxes, ha="center", color="#777")
        ax.axis("off")
        return
    panels, axes, cols = _grid(v, fig, attr, title)
    top = max(max(getattr(r, attr), default=0.0) for _, r in panels) * k
    for i, ((names, r), ax) in enumerate(zip(panels, axes)):
        for j, (_n, other) in enumerate(panels):
            if j != i:
                ax.plot(np.asarray(other.series_t) / v.scale, np.asarray(getattr(other, attr)) * k, color=GHOST,
                        lw=0.8, zorder=1)
        color, style = v.colors[names[0]]
        ax.plot(np.asarray(r.series_t) / v.scale, np.asarray(getattr(r, attr)) * k, color=color, ls=style, lw=1.5,
                zorder=3)
        ax.set_title(" = ".join(names), color=color, fontsize=10.5, loc="left", pad=3)
        mark_failures(v, ax, label=i == 0)
        if i % cols == 0:
            ax.set_ylabel(ylabel)
        if not is_pct and top == 0:
            ax.text(0.5, 0.5, "nobody queued", transform=ax.transAxes, ha="center", color="#555", fontsize=10)
    fig.supxlabel(v.time_label(), fontsize=10)
    axes[0].set_xlim(0, v.span / v.scale)
    if is_pct:
        axes[0].set_ylim(0, 100.0 if top > 60 else max(10.0, math.ceil(top * 1.2 / 10) * 10))
        axes[0].yaxis.set_major_formatter(lambda y, _pos: f"{y:.0f}%")
    else:
        axes[0].set_ylim(0, max(top * 1.08, 1.0))


def queue(v: View, fig) -> None:
    multiples(v, fig, "series_queue")


def utilization(v: View, fig) -> None:
    multiples(v, fig, "series_utilization")


# -- the wait distribution ------------------------------------------------------------------------------------
def _curve(c, lo: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    _r, x, y, p0, _n = c
    return np.concatenate(([min(lo / 10, x[0])], x)), np.concatenate(([p0], np.maximum(y, floor / 2)))


def waits(v: View, fig) -> None:
    """P(wait > x) on log axes, one small chart per strategy on shared axes, with p95, p99 and the SLA."""
    title = "Wait before reaching an agent (after warm-up)"
    sla = getattr(v.report, "sla_wait", None)  # shown when the report carries the fleet's SLA wait
    if not _panels(v, "wait_hist"):
        ax = fig.add_subplot()
        ax.set_title(title)
        n = max([ccdf(r.wait_hist)[3] for r in v.results] + [0])
        each = " under each strategy" if len(v.results) > 1 else ""
        msg = (f"Nobody waited: every measured request{each}\n({n:,} after the warm-up) reached an agent at once"
               if n else "No request reached an agent after the warm-up")
        ax.text(0.5, 0.5, msg, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#444",
                bbox={"boxstyle": "round,pad=0.8", "fc": "#f3f7f3", "ec": "#9c9"})
        ax.axis("off")
        return
    panels, axes, cols = _grid(v, fig, "wait_hist", title)
    curves = [(r, *ccdf(r.wait_hist)) for _names, r in panels]
    floor = min(max(1.0 / c[4], 1e-4) for c in curves)
    lo = max(min(float(c[1][np.argmax(c[2] < 0.99 * c[3])]) for c in curves), HIST_LO)  # 1% of those who waited
    hi = max(float(c[1][-1]) for c in curves)
    for i, ((names, r), ax, c) in enumerate(zip(panels, axes, curves)):
        for j, other in enumerate(curves):
            if j != i:
                ax.plot(*_curve(other, lo, floor), color=GHOST, lw=0.8, zorder=1)
        color, style = v.colors[names[0]]
        ax.plot(*_curve(c, lo, floor), color=color, ls=style, lw=1.6, zorder=3)
        for q, share, marker in ((r.wait.p95, 0.05, "o"), (r.wait.p99, 0.01, "D")):
            if num(q) > 0:
                ax.plot([q], [share], marker=marker, ms=5, color=color, mec="white", mew=0.8, zorder=4, ls="none")
        for level, name in ((0.05, "p95"), (0.01, "p99")):
            if level >= floor:
                ax.axhline(level, color="#555", lw=0.7, ls=":")
                if i % cols == cols - 1 or i == len(panels) - 1:
                    ax.annotate(name, (1.0, level), xycoords=("axes fraction", "data"), xytext=(2, 0),
                                textcoords="offset points", va="center", fontsize=8, color="#555")
        if sla and lo / 3 <= sla <= hi * 1.5:
            ax.axvline(sla, color="#333", lw=1.0, ls="--")
            ax.annotate(f"SLA {dur(sla)}", (sla, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                        textcoords="offset points", va="top", fontsize=8)
        ax.set_title(" = ".join(names), color=color, fontsize=10.5, loc="left", pad=3)
        ax.text(0.03, 0.04, f"{c[3]:.0%} waited\np95 {dur(r.wait.p95)}, p99 {dur(r.wait.p99)}", fontsize=8.5,
                transform=ax.transAxes, va="bottom", color="#333", bbox={"fc": "white", "ec": "none", "alpha": 0.8})
        if i % cols == 0:
            ax.set_ylabel("waited longer")
    fig.supxlabel("wait (log scale); dots: p95, diamonds: p99", fontsize=10)
    axes[0].set(xscale="log", yscale="log", xlim=(lo / 3, hi * 1.5), ylim=(floor / 2, 1.05))
    axes[0].xaxis.set_major_formatter(lambda x, _pos: dur(x))
    axes[0].yaxis.set_major_formatter(lambda y, _pos: f"{y * 100:g}%")
