"""The report's per-agent charts, under the featured strategy: load over time and utilisation over the run.

Each agent's row is scaled by its own slots (busy conversations / max_concurrent_conversations), so a full
30-slot agent is as dark as a full 100-slot one; the slots are in the row's label. Closed hours (business
hours) and down periods (``--fail``) are drawn distinctly from idle: hatched grey and hatched red.
"""

from __future__ import annotations

import math

import numpy as np

from clawctl.render.sim_report_charts import FAIL_COLOR, View, mark_failures

MAX_AGENTS = 60  # agents shown in the per-agent charts (the busiest)
CMAP = "Blues"
CLOSED = {"facecolor": "#e2e2e2", "edgecolor": "#9a9a9a", "hatch": "////", "linewidth": 0}
DOWN = {"facecolor": "#f7dcd8", "edgecolor": FAIL_COLOR, "hatch": "xxx", "linewidth": 0}


def shown_agents(v: View) -> int:
    r = v.best
    return min(len(r.agents) if r is not None and r.agents else len(v.report.agent_ids), MAX_AGENTS)


def _label(v: View, agent_id: str) -> str:
    t = v.timelines.get(agent_id)
    if t is None:
        return agent_id
    return f"{agent_id} ({t.slots:,} slot{'s' if t.slots != 1 else ''}{', drained' if t.weight == 0 else ''})"


def _periods(v: View, agent_id: str, end: float) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The agent's closed and down periods within [0, end], in seconds."""
    t = v.timelines.get(agent_id)
    if t is None:
        return [], []
    closed = [(a, min(b, end)) for a, b in t.closed(end) if a < end]
    down = [(a, min(b, end)) for a, b in t.down if a < end]
    return closed, down


def _inside(times: np.ndarray, periods: list[tuple[float, float]]) -> np.ndarray:
    out = np.zeros(times.shape, dtype=bool)
    for a, b in periods:
        out |= (times > a) & (times <= b)
    return out


def heatmap(v: View, fig) -> None:
    from matplotlib.patches import Patch

    ax = fig.add_subplot()
    r = v.best
    ids = [a.id for a in r.agents] or list(v.report.agent_ids)
    busy = np.asarray(r.series_agents, dtype=float)
    if busy.ndim != 2 or busy.shape[1] != len(ids) or not ids:
        busy = np.zeros((0, len(ids)))
    slots = np.array([max(v.timelines[i].slots, 1) if i in v.timelines else max(busy[:, k].max(initial=0), 1)
                      for k, i in enumerate(ids)], dtype=float)
    share = busy / slots if busy.shape[0] else busy
    order = _busiest(v, ids, share) if busy.shape[0] else []
    shown = "" if len(ids) <= MAX_AGENTS else f"; the {MAX_AGENTS} busiest of {len(ids)} agents, and any down"
    ax.set_title(f"Load per agent under {r.strategy}{v.note}{shown}")
    ax.grid(False)
    if not len(order):
        ax.text(0.5, 0.5, "no samples in this run", transform=ax.transAxes, ha="center", color="#777")
        return
    t_s = np.asarray(r.series_t, dtype=float)
    t = t_s / v.scale
    step = t[0] if t.size == 1 else t[1] - t[0]
    grid = np.ma.masked_array(share[:, order].T * 100)
    marked = {"closed": False, "down": False}
    for row, k in enumerate(order):
        closed, down = _periods(v, ids[k], v.span)
        idle = busy[:, k] == 0
        grid[row, idle & (_inside(t_s, closed) | _inside(t_s, down))] = np.ma.masked  # the hatching shows through
        for periods, style, name in ((closed, CLOSED, "closed"), (down, DOWN, "down")):
            if periods:
                marked[name] = True
                ax.broken_barh([(a / v.scale, (b - a) / v.scale) for a, b in periods], (row - 0.5, 1.0),
                               zorder=0.5, gid=f"{name}-{ids[k]}", **style)
    cmap = _cmap()
    im = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=100, zorder=1,
                   extent=(t[0] - step, t[-1], len(order) - 0.5, -0.5))
    ax.set_yticks(range(len(order)), [_label(v, ids[k]) for k in order], fontsize=9 if len(order) <= 30 else 7)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set(xlabel=v.time_label() + "; agents sorted by mean load, busiest on top", xlim=(0, v.span / v.scale))
    mark_failures(v, ax, label=False)
    bar = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    bar.set_label("busy share of the agent's own slots")
    bar.ax.yaxis.set_major_formatter(lambda y, _pos: f"{y:.0f}%")
    handles = [Patch(facecolor=cmap(0.0), edgecolor="#999", label="open, idle")]
    handles += [Patch(label="closed (business hours)", **CLOSED)] if marked["closed"] else []
    handles += [Patch(label="down (--fail)", **DOWN)] if marked["down"] else []
    fig.legend(handles=handles, loc="outside lower left", ncol=len(handles), fontsize=9, handlelength=2.2,
               handleheight=1.1, columnspacing=1.4)


def _busiest(v: View, ids: list[str], share: np.ndarray) -> np.ndarray:
    """Rows to show, busiest first: at most MAX_AGENTS, the agents that go down always among them."""
    load = share.mean(axis=0)
    order = np.argsort(-load, kind="stable")
    if len(ids) <= MAX_AGENTS:
        return order
    down = [k for k in order if ids[k] in v.timelines and v.timelines[ids[k]].down][:MAX_AGENTS]
    keep = set(down) | set([k for k in order if k not in set(down)][: MAX_AGENTS - len(down)])
    return np.array([k for k in order if k in keep])


def _cmap():
    import matplotlib

    # masked cells (closed or down, with nothing in progress) are transparent: the hatching shows through
    return matplotlib.colormaps[CMAP].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def bars(v: View, fig) -> None:
    ax = fig.add_subplot()
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
    ax.set_yticks(pos, [_label(v, a.id) for a in agents], fontsize=9 if len(agents) <= 30 else 7)
    pad = max(0, 6 - len(agents)) / 2  # a few agents: bars of a sensible thickness, centred
    ax.set_ylim(len(agents) - 0.5 + pad, -0.5 - pad)
    ax.set_xlim(0, max(100.0, max(a.utilization for a in agents) * 110))
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0f}%")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("busy share of the agent's slots over the whole run" + ("; ticks: other strategies" if others else ""))
