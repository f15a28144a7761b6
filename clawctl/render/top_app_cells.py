"""What the `clawctl top` dashboard puts in each cell, and in which order rows go. No widgets here.

A cell is ``(text, style)``: plain text (already made terminal-safe) and a rich style string. The app
compares these tuples with the ones on screen and calls ``update_cell`` only for those that changed.

- A row without current figures (``Row.stale``: down, or no metrics this cycle) shows ``-`` in every
  figure column, never the last ones it had; its AGE says how old its last good sample is
  (``stale 12s``), and a down row's state is red (bold, without colour).
- Without colour, nothing depends on colour: down is bold, a figure over its threshold is bold with a
  ``!`` after it, stale rows are dim.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from clawctl.core.top.frame import Row
from clawctl.core.top.thresholds import METRICS
from clawctl.render.safe import terminal_safe as safe

Cell = tuple[str, str]

# (key, header); the order on screen and the order `s` cycles through.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("agent", "AGENT"), ("state", "STATE"), ("age", "AGE"), ("p95", "RT p95"), ("p50", "RT p50"),
    ("cpu", "CPU%"), ("mem", "MEM%"), ("conv", "CONV"), ("err", "ERR%"), ("rps", "REQ/s"),
    ("trend", "TREND"), ("breach", "BREACH"),
)
KEYS = tuple(k for k, _ in COLUMNS)
FIGURE_KEYS = ("p95", "p50", "cpu", "mem", "conv", "err", "rps")
RIGHT = frozenset(FIGURE_KEYS) | {"age"}
METRIC_OF = {"p95": "response_time", "cpu": "cpu", "mem": "memory", "err": "error_rate"}
UNITS = {m.name: m.unit for m in METRICS}
SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12

STATE_STYLE = {"ready": "green", "degraded": "yellow", "starting": "cyan", "draining": "yellow",
               "unsupported": "magenta", "down": "bold red"}
SEVERITY = {"down": 0, "degraded": 3, "draining": 4, "starting": 5, "unsupported": 6, "ready": 7}


def text(cell: Cell, *, right: bool = False) -> Text:
    """A cell as a rich Text (never markup: what an agent or a fleet file says is shown as it is)."""
    plain, style = cell
    return Text(plain, style=style, justify="right" if right else "left", no_wrap=True, overflow="ellipsis")


def sparkline(values: Sequence[float | None], width: int = SPARK_WIDTH) -> str:
    """Recent values as block characters scaled to their own range; a blank for a cycle without one."""
    values = list(values)[-width:]
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    scale = 7.999 / (high - low) if high > low else 0.0
    return "".join(" " if v is None else SPARK[int((v - low) * scale)] for v in values)


def num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def age(row: Row) -> str:
    if row.age_s is None:
        return "never"
    seconds = f"{row.age_s:.0f}s"
    return f"stale {seconds}" if row.stale and row.state != "down" else seconds


def state_style(row: Row, no_color: bool) -> str:
    if row.state == "down":
        return "bold" if no_color else "bold red"
    if row.stale:
        return "dim"
    return "" if no_color else STATE_STYLE.get(row.state, "")


def row_cells(row: Row, no_color: bool) -> dict[str, Cell]:
    """Every cell of one agent's row, keyed by column."""
    dim = "dim" if row.stale else ""
    cells: dict[str, Cell] = {
        "agent": (safe(row.id), "bold" if row.state == "down" else dim),
        "state": (safe(row.state), state_style(row, no_color)),
        "age": (age(row), "bold" if row.stale and row.state != "down" and no_color else dim),
    }
    if row.stale:
        cells.update({k: ("-", "dim") for k in FIGURE_KEYS})
    else:
        conv = "-" if row.active_conversations is None else f"{row.active_conversations:.0f}/{num(row.capacity)}"
        cells.update({"p95": (num(row.response_time_ms), ""), "p50": (num(row.p50_ms), ""),
                      "cpu": (num(row.cpu, "{:.1f}"), ""), "mem": (num(row.memory, "{:.1f}"), ""),
                      "conv": (conv, ""), "err": (num(row.error_rate, "{:.1f}"), ""),
                      "rps": (num(row.requests_per_s, "{:.1f}"), "")})
        over = {b.metric for b in row.breaches}
        for key, metric in METRIC_OF.items():
            if metric in over:
                plain = cells[key][0]
                cells[key] = (plain + "!", "bold") if no_color else (plain, "bold red")
    cells["trend"] = (sparkline(row.spark), "dim" if row.stale else "")
    cells["breach"] = (",".join(b.metric for b in row.breaches), "bold" if no_color else "red")
    return cells


def matches(row: Row, needle: str) -> bool:
    """The filter: a case-insensitive substring of the id, state, region or domain (or ``stale``)."""
    if not needle:
        return True
    needle = needle.lower()
    hay = (row.id, row.state, row.region or "", row.domain or "", "stale" if row.stale else "")
    return any(needle in h.lower() for h in hay)


def _severity(row: Row) -> float:
    if row.state == "down":
        return 0
    if row.breaches:
        return 1
    if row.stale:
        return 2
    return SEVERITY.get(row.state, 6)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _fig(get: Callable[[Row], float | None]) -> Callable[[Row], float | None]:
    return lambda r: None if r.stale else get(r)


SORT_KEYS: dict[str, Callable[[Row], object]] = {
    "agent": lambda r: r.id,
    "state": _severity,
    "age": lambda r: r.age_s,
    "p95": _fig(lambda r: r.response_time_ms),
    "p50": _fig(lambda r: r.p50_ms),
    "cpu": _fig(lambda r: r.cpu),
    "mem": _fig(lambda r: r.memory),
    "conv": _fig(lambda r: r.active_conversations),
    "err": _fig(lambda r: r.error_rate),
    "rps": _fig(lambda r: r.requests_per_s),
    "trend": lambda r: _mean(r.spark),
    "breach": lambda r: len(r.breaches) or None,
}
ASCENDING = frozenset({"agent", "state"})  # worst or first at the top; every figure: largest at the top


def order(rows: Sequence[Row], column: str, reverse: bool = False) -> list[str]:
    """Agent ids in display order for ``column``: its natural direction (``reverse`` flips it), ties in
    fleet order, rows without a value last either way."""
    key = SORT_KEYS[column]
    present: list[tuple[object, str]] = []
    missing: list[str] = []
    for row in rows:
        value = key(row)
        if value is None:
            missing.append(row.id)
        else:
            present.append((value, row.id))
    present.sort(key=lambda t: t[0], reverse=(column not in ASCENDING) != reverse)  # type: ignore[arg-type, return-value]
    return [i for _, i in present] + missing


def value_vs_limit(metric: str, value: float, threshold: float) -> str:
    unit = UNITS.get(metric, "")
    sep = " " if unit == "ms" else ""
    return f"{value:.4g}{sep}{unit} > {threshold:g}{sep}{unit}"


def held(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
