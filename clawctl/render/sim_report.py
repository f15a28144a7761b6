"""`clawctl simulate --report FILE`: charts of a run, as one tall PNG or a self-contained HTML page.

The summary table, queue length and utilisation over time (one small chart per strategy: sim_report_charts),
the wait distribution (from the log-binned histogram), per-agent load scaled by each agent's slots, with closed
and down periods marked (sim_report_agents). matplotlib is imported lazily, with the Agg backend and no pyplot:
nothing opens a window. Writes are atomic.
"""

from __future__ import annotations

import html
import io
import os
import secrets
from pathlib import Path

from clawctl.core.errors import InputError, UsageError
from clawctl.render.sim_report_agents import bars, heatmap, shown_agents
from clawctl.render.sim_report_charts import (
    FAIL_COLOR,
    RC,
    View,
    ccdf,
    dur,
    multiple_rows,
    pct,
    queue,
    utilization,
    waits,
)

_ccdf = ccdf  # the wait distribution's steps (tests/render/test_sim_report.py)
DPI = 110
COLUMNS = ("strategy", "arrived", "served", "rejected", "abandoned", "lost", "utilisation", "SLA met",
           "wait mean", "wait p95", "wait p99")


def check_report_path(path: Path) -> None:
    """Refuse a report destination that cannot be written, before the run it would report on: a kind
    other than .html or .png (UsageError), a folder, a missing folder or one without write permission
    (InputError). Nothing is left behind."""
    path = Path(path)
    fd, tmp = _open_tmp(path)
    os.close(fd)
    tmp.unlink(missing_ok=True)


def _open_tmp(path: Path) -> tuple[int, Path]:
    if path.suffix.lower() not in (".png", ".html"):
        raise UsageError(f"--report {path}: use a .html or .png file")
    if path.is_dir():
        raise InputError(f"cannot write the report {path}: it is a folder")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {_reason(exc, path)}") from None


def write_report(report, path: Path) -> None:
    """Write ``report``'s charts to ``path`` (.png or .html), atomically; InputError when it cannot be written."""
    path = Path(path)
    kind = path.suffix.lower()
    fd, tmp = _open_tmp(path)  # open first: an unwritable destination fails before any drawing
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


COLUMNS = ("strategy", "arrived", "served", "rejected", "abandoned", "lost", "utilisation", "SLA met",
           "wait mean", "wait p95", "wait p99")


def _table_data(report) -> tuple[list[str], list[list[str]]]:
    """The summary table: header and one row per strategy (moved and retried only when something failed)."""
    failed = any(r.failures or r.transferred or r.retried for r in report.results)
    head = list(COLUMNS[:6]) + (["moved", "retried"] if failed else []) + list(COLUMNS[6:])
    rows = []
    for r in report.results:
        extra = [f"{r.transferred:,}", f"{r.retried:,}"] if failed else []
        rows.append([r.strategy, f"{r.arrived:,}", f"{r.served:,}", f"{r.rejected:,}", f"{r.abandoned:,}",
                     f"{r.lost:,}", *extra, pct(r.utilization), pct(r.sla_attainment), dur(r.wait.mean),
                     dur(r.wait.p95), dur(r.wait.p99)])
    return head, rows


# -- pages --------------------------------------------------------------------------------------------------
def _subtitle(report) -> str:
    parts = [f"seed {report.seed}", f"{report.requests:,} requests" if report.requests is not None else
             f"{dur(report.duration)} of traffic" if report.duration is not None else ""]
    for r0 in report.results[:1]:
        parts += [f"{dur(r0.elapsed_sim_s)} simulated", f"warm-up {dur(r0.warmup_s)} left out of waits",
                  f"{len(r0.agents) or len(report.agent_ids)} agents"]
    parts.append(f"{len(report.results)} strateg{'y' if len(report.results) == 1 else 'ies'}")
    return ", ".join(p for p in parts if p)


def _events(v: View) -> list[str]:
    out = []
    for f in v.failures:
        back = f.get("until", f.get("recovered_at"))  # a failure with a recovery (--fail AGENT@T1-T2)
        out.append(f"{f['target']} down at {dur(f['at'])}, detected {dur(f['detected_at'] - f['at'])} later: its "
                   "conversations move to its first backup with room at detection, else are lost; "
                   + (f"it is back at {dur(back)}" if back is not None else "it does not recover in this run"))
    return out


def _table(v: View, ax, bottom: float, top: float) -> None:
    ax.axis("off")
    head, rows = _table_data(v.report)
    tab = ax.table(cellText=rows, colLabels=head, cellLoc="right", colLoc="right",
                   bbox=(0.008, bottom, 0.984, 1 - bottom - top))
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


def load_matplotlib() -> None:
    """Import matplotlib (Agg, no window; pyplot is not used) and the backends the report draws with, with
    Ctrl-C held until they are in. Its extension modules are pybind11's: an interrupt during their
    initialisation leaves an ImportError ("initialization failed") and a half-made module that aborts
    the interpreter as it exits. Held, the interrupt comes right after the import, as usual."""
    from clawctl.adapters.processes import deferred_signals

    with deferred_signals():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.backends.backend_svg  # noqa: F401
        import matplotlib.figure  # noqa: F401
        import matplotlib.patches  # noqa: F401


def _figure(w: float, h: float, dpi: float):
    load_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=dpi, layout="constrained")


def _png(report) -> bytes:
    load_matplotlib()
    import matplotlib

    v = View(report)
    n = shown_agents(v) if v.best is not None else 0
    notes = _events(v) + [f"warning: {w}" for w in getattr(report, "warnings", [])]
    notes_h = 0.2 * len(notes) + (0.15 if notes else 0.0)
    table_h = 0.27 * (len(report.results) + 1) + notes_h + 0.25  # 0.25: the subtitle above the table
    heights = [0.5 + 2.1 * multiple_rows(v, "series_queue"), 0.5 + 2.1 * multiple_rows(v, "series_utilization"),
               0.5 + 2.3 * multiple_rows(v, "wait_hist") if any(sum(r.wait_hist[1:]) for r in v.results) else 1.6]
    heights += [] if v.best is None else [max(3.4, 0.22 * n + 2.0), max(3.0, 0.2 * n + 1.4)]
    with matplotlib.rc_context(RC):
        height = sum(heights) + table_h + 0.6
        fig = _figure(14.0, height, DPI)
        fig.get_layout_engine().set(h_pad=0.1, hspace=0.4 / height)  # hspace is a share of the height
        top, rest = fig.subfigures(2, 1, height_ratios=(table_h + 0.3, sum(heights)))  # the table: full width
        top.suptitle(f"Simulation of fleet {report.fleet}", x=0.01, ha="left", fontsize=17, fontweight="bold")
        ax = top.add_subplot()
        _table(v, ax, notes_h / table_h, 0.25 / table_h)
        ax.text(0.008, 1.0, _subtitle(report), transform=ax.transAxes, va="top", fontsize=11, color="#444")
        if notes:
            ax.text(0.008, 0, "\n".join(notes), transform=ax.transAxes, va="bottom", fontsize=9.5, color=FAIL_COLOR)
        parts = rest.subfigures(len(heights), 1, height_ratios=heights)
        for draw, part in zip((queue, utilization, waits, heatmap), parts):
            draw(v, part)
        if v.best is not None:
            left, _right = parts[4].subfigures(1, 2, width_ratios=(1.6, 1))  # bars at the HTML page's width
            bars(v, left)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


PER_STRATEGY = (" One chart per strategy, all on one scale, with the other strategies in grey behind it; "
                "strategies whose series are identical share a chart.")
CAPTIONS = (  # the HTML page: each chart, its width and height in inches (None: by its content), its caption
    (queue, 12, None, "Requests waiting for an agent (every queue), sampled 300 times; dashed red lines: failures."),
    (utilization, 12, None, "Conversations in progress as a share of every agent's max_concurrent_conversations "
                            "(closed agents included)."),
    (waits, 12, None, "Share of the requests that arrived after the warm-up and reached an agent which waited "
                      "longer than x. A curve starts at the share that waited at all; p95 and p99 are where it "
                      "crosses the dotted lines."),
    (heatmap, 12, None, "Conversations in progress on each agent at each sample, as a share of that agent's own "
                        "slots (in brackets): a full small agent is as dark as a full large one. Hatched grey: "
                        "closed (business hours); hatched red: down (--fail); white: open and idle."),
    (bars, 9, None, "Each agent's busy share of its slots over the whole run (closed hours count as idle); "
                    "ticks mark the other strategies."),
)


def _height(draw, v: View, h: float | None, n: int) -> float:
    if draw is queue or draw is utilization:
        return 0.6 + 2.0 * multiple_rows(v, "series_queue" if draw is queue else "series_utilization")
    if draw is waits:
        return 0.6 + 2.3 * multiple_rows(v, "wait_hist") if any(sum(r.wait_hist[1:]) for r in v.results) else 2.0
    if draw is heatmap:
        return max(3.6, 0.24 * n + 2.0)
    return h or max(3.2, 0.22 * n + 1.4)


def _charts(report) -> list[tuple[str, str]]:
    """Each chart as an inline SVG (text stays text; no external references), with its caption."""
    load_matplotlib()
    import matplotlib

    v = View(report)
    n = shown_agents(v) if v.best is not None else 0
    out = []
    for i, (draw, w, h, caption) in enumerate(CAPTIONS):
        if draw in (heatmap, bars) and v.best is None:
            continue
        with matplotlib.rc_context({**RC, "svg.hashsalt": f"clawctl-{i}"}):  # stable ids, distinct per chart
            fig = _figure(w, _height(draw, v, h, n), 96)
            draw(v, fig)
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
        svg = buf.getvalue()
        several = draw in (queue, utilization, waits) and len(v.results) > 1
        out.append((svg[svg.index("<svg"):], caption + (PER_STRATEGY if several else "")))
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
    v = View(report)
    head, rows = _table_data(report)
    body = []
    for r, row in zip(report.results, rows):
        cls = ' class="best"' if r is v.best and len(rows) > 1 else ""
        sw = f'<span class="sw" style="background:{v.colors[r.strategy][0]}"></span>'
        body.append(f"<tr><td{cls}>{sw}{e(row[0])}</td>" + "".join(f"<td>{e(c)}</td>" for c in row[1:]) + "</tr>")
    events = "".join(f"<li>{e(x)}</li>" for x in _events(v))
    events += "".join(f'<li class="warning">warning: {e(w)}</li>' for w in getattr(report, "warnings", []))
    charts = "\n".join(f"<figure>\n{svg}<figcaption>{e(caption)}</figcaption></figure>"
                       for svg, caption in _charts(report))
    title = e(f"Simulation of fleet {report.fleet}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{CSS}</style>\n</head>\n'
            f'<body>\n<h1>{title}</h1>\n<p class="sub">{e(_subtitle(report))}</p>\n<table>\n<thead><tr>'
            + "".join(f"<th>{e(c)}</th>" for c in head) + "</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table>\n" + (f'<ul class="events">{events}</ul>\n' if events else "")
            + f"{charts}\n</body>\n</html>\n")
