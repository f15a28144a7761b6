"""`clawctl simulate --report FILE`: charts of a run, as one tall PNG or a self-contained HTML page.

Queue length and utilisation over time, the wait distribution (from the log-binned histogram), per-agent load.
matplotlib is imported lazily, with the Agg backend and no pyplot: nothing opens a window. Writes are atomic.
"""

from __future__ import annotations

import html
import io
import math
import os
import secrets
from functools import partial
from pathlib import Path

import numpy as np

from clawctl.core.errors import InputError, UsageError
from clawctl.core.sim.layout import HIST_LO, HIST_RATIO

MAX_AGENTS = 60  # agents shown in the per-agent charts (the busiest)
DPI = 110
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
STYLES = ("-", "--", "-.", ":")
FAIL_COLOR = "#c0392b"
RC = {"svg.fonttype": "none", "text.parse_math": False, "font.size": 10, "axes.titlesize": 12,
      "axes.titleweight": "bold", "axes.titlelocation": "left", "axes.spines.top": False,
      "axes.spines.right": False, "axes.grid": True, "grid.color": "#e5e5e5", "grid.linewidth": 0.8,
      "legend.frameon": False, "figure.facecolor": "white"}
COLUMNS = ("strategy", "arrived", "served", "rejected", "abandoned", "lost", "utilisation", "SLA met",
           "wait mean", "wait p95", "wait p99")


def write_report(report, path: Path) -> None:
    """Write ``report``'s charts to ``path`` (.png or .html), atomically; InputError when it cannot be written."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".png", ".html"):
        raise UsageError(f"--report {path}: use a .html or .png file")
    if path.is_dir():
        raise InputError(f"cannot write the report {path}: it is a folder")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:  # open first: an unwritable destination fails before any drawing
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {_reason(exc, path)}") from None
    rendering = True
    try:
        with os.fdopen(fd, "wb") as out:
            data = _png(report) if kind == ".png" else _html(report).encode("utf-8")
            rendering = False
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if rendering:
            raise
        raise InputError(f"cannot write the report {path}: {_reason(exc, path)}") from None
    finally:
        tmp.unlink(missing_ok=True)  # a no-op once the file is in place


def _reason(exc: OSError, path: Path) -> str:
    return f"no folder {path.parent}" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc)).lower()


# -- numbers ------------------------------------------------------------------------------------------------
def _num(v) -> float:
    return math.nan if v is None else float(v)


def _dur(v) -> str:
    v = _num(v)
    if v != v or 0 < v < 1:
        return "-" if v != v else f"{v * 1000:.3g}ms"
    if round(v) < 60:
        return f"{v:.3g}s"
    big, small = divmod(int(round(v)), 60) if round(v) < 3600 else divmod(int(round(v / 60)), 60)
    units = ("m", "s") if round(v) < 3600 else ("h", "m")
    return f"{big}{units[0]}{small:02d}{units[1]}" if small else f"{big}{units[0]}"


def _pct(v) -> str:
    return "-" if _num(v) != _num(v) else f"{v * 100:.1f}%"


def _table_data(report) -> tuple[list[str], list[list[str]]]:
    """The summary table: header and one row per strategy (moved and retried only when something failed)."""
    failed = any(r.failures or r.transferred or r.retried for r in report.results)
    head = list(COLUMNS[:6]) + (["moved", "retried"] if failed else []) + list(COLUMNS[6:])
    rows = []
    for r in report.results:
        extra = [f"{r.transferred:,}", f"{r.retried:,}"] if failed else []
        rows.append([r.strategy, f"{r.arrived:,}", f"{r.served:,}", f"{r.rejected:,}", f"{r.abandoned:,}",
                     f"{r.lost:,}", *extra, _pct(r.utilization), _pct(r.sla_attainment), _dur(r.wait.mean),
                     _dur(r.wait.p95), _dur(r.wait.p99)])
    return head, rows


def _ccdf(hist) -> tuple[np.ndarray, np.ndarray, float, int]:
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


class _View:
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
        self.best, self.note = _featured(rs)

    def time_label(self) -> str:
        cut = f"; samples stop at {_dur(self.span)} of {_dur(self.end)}" if self.end > self.span * 1.02 else ""
        return f"simulated time ({self.unit}){cut}"


def _featured(results) -> tuple[object, str]:
    """The strategy of the per-agent charts: the best wait p95 (then fewest misses, lowest mean wait)."""
    if len(results) <= 1:
        return (results[0] if results else None), ""

    def key(r):
        p95, mean = _num(r.wait.p95), _num(r.wait.mean)
        return (math.inf if p95 != p95 else p95, r.rejected + r.abandoned + r.lost, math.inf if mean != mean else mean)

    best = min(results, key=key)
    ties = sum(key(r) == key(best) for r in results)
    return best, " (every strategy ties; the first)" if ties == len(results) else " (the best wait p95)"


def _groups(results, attr: str) -> list[tuple[list[str], object]]:
    """Strategies whose series are identical (common random numbers make that common), drawn once."""
    out: dict[bytes, tuple[list[str], object]] = {}
    for r in results:
        out.setdefault(np.asarray(getattr(r, attr), dtype=float).tobytes(), ([], r))[0].append(r.strategy)
    return list(out.values())


# -- charts -------------------------------------------------------------------------------------------------
def _mark_failures(v: _View, ax, *, label: bool = True) -> None:
    for f in v.failures:
        ax.axvline(f["at"] / v.scale, color=FAIL_COLOR, lw=1.4, ls=(0, (4, 2)), zorder=5)
        if label:
            ax.annotate(f"{f['target']} down", (f["at"] / v.scale, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(4, -4), textcoords="offset points", va="top", fontsize=9, color=FAIL_COLOR,
                        fontweight="bold", zorder=6, bbox={"fc": "white", "ec": "none", "alpha": 0.6, "pad": 1})


def _series(v: _View, fig, ax, attr: str, title: str, ylabel: str, pct: bool) -> None:
    results = v.results
    groups = [(names, r) for names, r in _groups(results, attr) if r.series_t]
    for names, r in groups:
        color, style = v.colors[names[0]]
        ax.plot(np.asarray(r.series_t) / v.scale, np.asarray(getattr(r, attr)) * (100.0 if pct else 1.0),
                color=color, ls=style, lw=1.6, label=" = ".join(names), alpha=0.9)
    if not groups:
        ax.text(0.5, 0.5, "no samples in this run", transform=ax.transAxes, ha="center", color="#777")
    elif not pct and all(not any(getattr(r, attr)) for r in results):
        ax.text(0.5, 0.55, "nobody queued: every request found a free agent at once", transform=ax.transAxes,
                ha="center", color="#555", fontsize=11)
    _mark_failures(v, ax)
    ax.set_title(title, pad=6 + 17 * math.ceil(len(groups) / 4))
    ax.set(ylabel=ylabel, xlabel=v.time_label(), xlim=(0, v.span / v.scale))
    if pct:
        top = max((max(getattr(r, attr), default=0.0) for r in results), default=0.0) * 100
        ax.set_ylim(0, 100.0 if top > 60 else max(10.0, math.ceil(top * 1.2 / 10) * 10))
        ax.yaxis.set_major_formatter(lambda y, _pos: f"{y:.0f}%")
    else:
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
    if groups:
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, fontsize=9, handlelength=2.5,
                  borderaxespad=0.2, columnspacing=1.5)


_queue = partial(_series, attr="series_queue", title="Requests waiting in queue", ylabel="waiting requests",
                 pct=False)
_utilization = partial(_series, attr="series_utilization", ylabel="utilisation", pct=True,
                       title="Fleet utilisation (busy share of all conversation slots)")


def _waits(v: _View, fig, ax) -> None:
    sla = getattr(v.report, "sla_wait", None)  # shown when the report carries the fleet's SLA wait
    curves = [(r, *_ccdf(r.wait_hist)) for r in v.results]
    positive = [c for c in curves if c[1].size]
    ax.set_title("Wait before reaching an agent (after warm-up)")
    if not positive:
        n = max([c[4] for c in curves] + [0])
        each = " under each strategy" if len(curves) > 1 else ""
        msg = (f"Nobody waited: every measured request{each}\n({n:,} after the warm-up) reached an agent at once"
               if n else "No request reached an agent after the warm-up")
        ax.text(0.5, 0.5, msg, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#444",
                bbox={"boxstyle": "round,pad=0.8", "fc": "#f3f7f3", "ec": "#9c9"})
        ax.axis("off")
        return
    floor = min(max(1.0 / c[4], 1e-4) for c in positive)
    lo = max(min(float(c[1][np.argmax(c[2] < 0.99 * c[3])]) for c in positive), HIST_LO)  # 1% of those who waited
    hi = max(float(c[1][-1]) for c in positive)
    for r, x, y, p0, _n in curves:
        color, style = v.colors[r.strategy]
        if not x.size:
            ax.plot([], [], color=color, ls=style, label=f"{r.strategy}: nobody waited")
            continue
        ax.plot(np.concatenate(([min(lo / 10, x[0])], x)), np.concatenate(([p0], np.maximum(y, floor / 2))),
                color=color, ls=style, lw=1.6, label=f"{r.strategy}: {p0:.0%} waited", alpha=0.9)
        for q, share, marker in ((r.wait.p95, 0.05, "o"), (r.wait.p99, 0.01, "D")):
            if _num(q) > 0:
                ax.plot([q], [share], marker=marker, ms=6, color=color, mec="white", mew=0.8, zorder=4, ls="none")
    for level, name in ((0.05, "p95"), (0.01, "p99")):
        if level >= floor:
            ax.axhline(level, color="#555", lw=0.8, ls=":")
            ax.annotate(name, (1.0, level), xycoords=("axes fraction", "data"), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=9, color="#555")
    if sla:
        ax.axvline(sla, color="#333", lw=1.2, ls="--")
        ax.annotate(f"SLA {_dur(sla)}", (sla, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", va="top", fontsize=9)
    ax.set(xscale="log", yscale="log", xlim=(lo / 3, hi * 1.5), ylim=(floor / 2, 1.05), xlabel="wait (log scale)",
           ylabel="share that waited longer")
    ax.xaxis.set_major_formatter(lambda x, _pos: _dur(x))
    ax.yaxis.set_major_formatter(lambda y, _pos: f"{y * 100:g}%")
    ax.legend(loc="lower left", fontsize=8.5, title="dots: p95, diamonds: p99", title_fontsize=8.5)


def _heatmap(v: _View, fig, ax) -> None:
    r = v.best
    ids = [a.id for a in r.agents] or list(v.report.agent_ids)
    busy = np.asarray(r.series_agents, dtype=float)
    if busy.ndim != 2 or busy.shape[1] != len(ids) or not ids:
        busy = np.zeros((0, len(ids)))
    order = np.argsort(-busy.mean(axis=0), kind="stable")[:MAX_AGENTS] if busy.shape[0] else []
    shown = "" if len(ids) <= MAX_AGENTS else f"; the {MAX_AGENTS} busiest of {len(ids)} agents"
    ax.set_title(f"Busy conversations per agent under {r.strategy}{v.note}{shown}")
    ax.grid(False)
    if not len(order):
        ax.text(0.5, 0.5, "no samples in this run", transform=ax.transAxes, ha="center", color="#777")
        return
    busy = busy[:, order]
    t = np.asarray(r.series_t, dtype=float) / v.scale
    step = t[0] if t.size == 1 else t[1] - t[0]
    im = ax.imshow(busy.T, aspect="auto", interpolation="nearest", cmap="magma_r", vmin=0,
                   extent=(t[0] - step, t[-1], len(order) - 0.5, -0.5))
    ax.set_yticks(range(len(order)), [f"{ids[i]} (max {int(p)})" for i, p in zip(order, busy.max(axis=0))],
                  fontsize=9 if len(order) <= 30 else 7)
    ax.set(xlabel=v.time_label() + "; agents sorted by mean load, busiest on top", xlim=(0, v.span / v.scale))
    _mark_failures(v, ax, label=False)
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(im, ax=ax, label="conversations", fraction=0.03, pad=0.01, ticks=MaxNLocator(integer=True))


def _bars(v: _View, fig, ax) -> None:
    r = v.best
    agents = sorted(r.agents, key=lambda a: -a.utilization)[:MAX_AGENTS]
    shown = "" if len(r.agents) <= MAX_AGENTS else f" ({MAX_AGENTS} of {len(r.agents)})"
    ax.set_title(f"Utilisation per agent under {r.strategy}{shown}")
    if not agents:
        return
    pos = np.arange(len(agents))
    ax.barh(pos, [a.utilization * 100 for a in agents], color=v.colors[r.strategy][0], alpha=0.8, height=0.7)
    others = [o for o in v.results if o is not r]
    for o in others:
        by_id = {a.id: a.utilization for a in o.agents}
        ax.plot([by_id.get(a.id, math.nan) * 100 for a in agents], pos, ls="none", marker="|", ms=11, mew=2,
                color=v.colors[o.strategy][0], alpha=0.9)
    for p, a in zip(pos, agents):
        inside = a.utilization >= 0.12
        ax.annotate(f"{a.utilization:.0%}", (0 if inside else a.utilization * 100, p), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8.5, color="white" if inside else "#333",
                    fontweight="bold" if inside else "normal")
    ax.set_yticks(pos, [a.id for a in agents], fontsize=9 if len(agents) <= 30 else 7)
    pad = max(0, 6 - len(agents)) / 2  # a few agents: bars of a sensible thickness, centred
    ax.set_ylim(len(agents) - 0.5 + pad, -0.5 - pad)
    ax.set_xlim(0, max(100.0, max(a.utilization for a in agents) * 110))
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0f}%")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("busy share of capacity over the whole run" + ("; ticks: other strategies" if others else ""))


# -- pages --------------------------------------------------------------------------------------------------
def _subtitle(report) -> str:
    parts = [f"seed {report.seed}", f"{report.requests:,} requests" if report.requests is not None else
             f"{_dur(report.duration)} of traffic" if report.duration is not None else ""]
    for r0 in report.results[:1]:
        parts += [f"{_dur(r0.elapsed_sim_s)} simulated", f"warm-up {_dur(r0.warmup_s)} left out of waits",
                  f"{len(r0.agents) or len(report.agent_ids)} agents"]
    parts.append(f"{len(report.results)} strateg{'y' if len(report.results) == 1 else 'ies'}")
    return ", ".join(p for p in parts if p)


def _events(v: _View) -> list[str]:
    return [f"{f['target']} down at {_dur(f['at'])}, detected {_dur(f['detected_at'] - f['at'])} later: "
            "its conversations move to its first backup with room at detection, else are lost; "
            "it does not recover in this run" for f in v.failures]


def _table(v: _View, ax, bottom: float) -> None:
    ax.axis("off")
    head, rows = _table_data(v.report)
    tab = ax.table(cellText=rows, colLabels=head, cellLoc="right", colLoc="right",
                   bbox=(0.008, bottom, 0.984, 1 - bottom))
    tab.auto_set_font_size(False)
    tab.set_fontsize(10)
    chars = [max([len(col[0]) * 1.1] + [len(c) for c in col[1:]]) + 2.5 for col in zip(head, *rows)]
    best = v.best if len(rows) > 1 else None
    for (i, j), cell in tab.get_celld().items():
        cell.set(width=chars[j] / sum(chars), edgecolor="#999", facecolor="#f6f6f6" if i and i % 2 == 0 else "white")
        cell.visible_edges = "B" if i == 0 else ""
        if j == 0:
            cell._loc = "left"  # the strategy column reads from the left
            cell.set_text_props(ha="left")
        if i == 0:
            cell.set_text_props(fontweight="bold", color="#333")
        elif j == 0:
            r = v.results[i - 1]
            cell.set_text_props(color=v.colors[r.strategy][0], fontweight="bold" if r is best else "normal")


def _figure(w: float, h: float, dpi: float):
    import matplotlib

    matplotlib.use("Agg")  # never a window; pyplot is not used at all
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=dpi, layout="constrained")


def _png(report) -> bytes:
    import matplotlib

    v = _View(report)
    n = min(len(v.best.agents) if v.best else 0, MAX_AGENTS)
    events = _events(v)
    events_h = 0.2 * len(events) + (0.15 if events else 0.0)
    table_h = 0.27 * (len(report.results) + 1) + events_h
    side = n <= 20  # few agents: the per-agent bars sit beside the wait chart; many: a row of their own
    heights = [3.6, 3.6, max(4.2, 0.22 * n + 1.2) if side else 4.6, max(3.0, 0.2 * n + 1.4)]
    heights += [] if side or v.best is None else [0.2 * n + 1.2]
    with matplotlib.rc_context(RC):
        height = sum(heights) + table_h + 0.6
        fig = _figure(14.0, height, DPI)
        fig.get_layout_engine().set(h_pad=0.1, hspace=0.4 / height)  # hspace is a share of the height
        top, rest = fig.subfigures(2, 1, height_ratios=(table_h + 0.3, sum(heights)))  # the table: full width
        top.suptitle(f"Simulation of fleet {report.fleet}", x=0.01, ha="left", fontsize=17, fontweight="bold")
        ax = top.add_subplot()
        _table(v, ax, events_h / table_h)
        ax.text(0.008, 1.0, _subtitle(report), transform=ax.transAxes, va="bottom", fontsize=11, color="#444")
        if events:
            ax.text(0.008, 0, "\n".join(events), transform=ax.transAxes, va="bottom", fontsize=9.5, color=FAIL_COLOR)
        gs = rest.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=(1.15, 1))
        _queue(v, rest, rest.add_subplot(gs[0, :]))
        _utilization(v, rest, rest.add_subplot(gs[1, :]))
        _waits(v, rest, rest.add_subplot(gs[2, 0] if side else gs[2, :]))
        if v.best is not None:
            _bars(v, rest, rest.add_subplot(gs[2, 1] if side else gs[4, :]))
            _heatmap(v, rest, rest.add_subplot(gs[3, :]))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


CAPTIONS = (  # the HTML page: each chart, its width and height in inches (None: by agent count), its caption
    (_queue, 12, 4.2, "Requests waiting for an agent (every queue), sampled 300 times; dashed red lines: failures."),
    (_utilization, 12, 4.2, "Conversations in progress as a share of every agent's max_concurrent_conversations "
                            "(closed agents included)."),
    (_waits, 9, 5.0, "Share of the requests that arrived after the warm-up and reached an agent which waited longer "
                     "than x. A curve starts at the share that waited at all; p95 and p99 are where it crosses the "
                     "dotted lines."),
    (_heatmap, 12, None, "Conversations in progress on each agent at each sample: a count, as agents differ in size."),
    (_bars, 9, None, "Each agent's busy share of its capacity over the whole run (closed hours count as idle); "
                     "ticks mark the other strategies."),
)


def _charts(report) -> list[tuple[str, str]]:
    """Each chart as an inline SVG (text stays text; no external references), with its caption."""
    import matplotlib

    v = _View(report)
    n = min(len(v.best.agents) if v.best else 0, MAX_AGENTS)
    out = []
    for i, (draw, w, h, caption) in enumerate(CAPTIONS):
        if draw in (_heatmap, _bars) and v.best is None:
            continue
        with matplotlib.rc_context({**RC, "svg.hashsalt": f"clawctl-{i}"}):  # stable ids, distinct per chart
            h = 2.0 if draw is _waits and not any(sum(r.wait_hist[1:]) for r in v.results) else h  # nobody waited
            fig = _figure(w, h or max(3.2, 0.22 * n + 1.4), 96)
            draw(v, fig, fig.add_subplot())
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
        svg = buf.getvalue()
        out.append((svg[svg.index("<svg"):], caption))
    return out


CSS = """body{font:15px/1.45 system-ui,sans-serif;color:#222;margin:2em auto;max-width:1280px;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .2em}.sub{color:#555;margin:0 0 1.2em}.events{color:#a93226}
table{border-collapse:collapse;margin:.5em 0 1em;font-variant-numeric:tabular-nums}td.best{font-weight:bold}
th,td{padding:.3em .6em;text-align:right;border-bottom:1px solid #ddd;white-space:nowrap}
th{border-bottom:2px solid #999}th:first-child,td:first-child{text-align:left}tr:nth-child(even) td{background:#f6f6f6}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.45em}figure{margin:1.5em 0 2em}
figcaption{color:#555;font-size:.9em}svg{max-width:100%;height:auto}"""


def _html(report) -> str:
    e = html.escape
    v = _View(report)
    head, rows = _table_data(report)
    body = []
    for r, row in zip(report.results, rows):
        cls = ' class="best"' if r is v.best and len(rows) > 1 else ""
        sw = f'<span class="sw" style="background:{v.colors[r.strategy][0]}"></span>'
        body.append(f"<tr><td{cls}>{sw}{e(row[0])}</td>" + "".join(f"<td>{e(c)}</td>" for c in row[1:]) + "</tr>")
    events = "".join(f"<li>{e(x)}</li>" for x in _events(v))
    charts = "\n".join(f"<figure>\n{svg}<figcaption>{e(caption)}</figcaption></figure>"
                       for svg, caption in _charts(report))
    title = e(f"Simulation of fleet {report.fleet}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{CSS}</style>\n</head>\n'
            f'<body>\n<h1>{title}</h1>\n<p class="sub">{e(_subtitle(report))}</p>\n<table>\n<thead><tr>'
            + "".join(f"<th>{e(c)}</th>" for c in head) + "</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table>\n" + (f'<ul class="events">{events}</ul>\n' if events else "")
            + f"{charts}\n</body>\n</html>\n")
