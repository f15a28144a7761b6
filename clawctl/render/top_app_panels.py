"""The `clawctl top` dashboard's tables and smaller panels: the agent table, the header line, the breaches
and the rollups.

Each is built as data here (text and style per cell, keyed rows) and brought onto its DataTable by
:func:`diff_rows`, which adds, updates in place and removes rows, as the agent table does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Self

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.widgets import DataTable

from clawctl.core.env import iso_from_epoch
from clawctl.core.top.frame import Frame
from clawctl.render.safe import terminal_safe as safe
from clawctl.render.top_app_cells import COLUMNS, Cell, held, matches, num, value_vs_limit

ROLLUP_MODES = (None, "region", "domain")
BREACH_COLUMNS = (("agent", "AGENT"), ("metric", "METRIC"), ("value", "VALUE > LIMIT"), ("held", "HELD"),
                  ("action", "ACTION"))
ROLLUP_COLUMNS = (("agents", "AGENTS"), ("ready", "READY"), ("down", "DOWN"), ("breaching", "BREACHING"),
                  ("conv", "CONV"), ("rps", "REQ/s"), ("err", "ERR%"))
Rows = dict[str, tuple[Cell, ...]]


class AgentTable(DataTable):
    """The agents: ``enter`` (or a click on a selected row) drills into one.

    ``update_cell`` asks for a repaint of the whole table on every call, which costs more than the update
    itself when a frame changes thousands of cells; inside :meth:`one_refresh` those requests are merged
    into one, made at the end (`bench/top_frame.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "drill")]
    _merging = False
    _merged: bool | None = None  # while merging: None (nothing asked), else whether a layout was asked

    @contextmanager
    def one_refresh(self) -> Iterator[None]:
        self._merging, self._merged = True, None
        try:
            yield
        finally:
            layout, self._merging, self._merged = self._merged, False, None
            if layout is not None:
                self.refresh(layout=layout)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Self:
        if self._merging and not recompose:
            self._merged = bool(self._merged) or layout
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class KeyedText(Text):
    """A cell's text that also carries its row's key (``DataTable.sort`` hands the key function cells only)."""

    __slots__ = ("key",)

    def __init__(self, key: str, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.key = key


@dataclass
class Status:
    """What the header says besides the frame."""

    title: str
    interval: float
    replay_speed: float | None
    sort_label: str
    sort_reverse: bool
    filter: str
    shown: int
    paused: bool
    pending: bool
    ended: bool
    late: float | None
    no_color: bool


def header(frame: Frame | None, s: Status) -> Text:
    out = Text(no_wrap=False)
    out.append(safe(s.title), "bold")
    if frame is None:
        out.append(" · waiting for the first cycle")
    else:
        if frame.fleet != s.title:
            out.append(f" · fleet {safe(frame.fleet)}")
        source = frame.source if s.replay_speed is None else f"{frame.source} x{s.replay_speed:g}"
        ready = sum(r.state == "ready" for r in frame.rows)
        breaching = sum(bool(r.breaches) for r in frame.rows)
        at = iso_from_epoch(frame.at)[:19] + "Z"
        out.append(f" · cycle {frame.cycle} · {source} · {at} · every {s.interval:g}s · {ready}/{len(frame.rows)}"
                   " ready · ")
        out.append(f"{breaching} breaching", ("bold" if s.no_color else "bold red") if breaching else "")
    out.append(f" · sort {s.sort_label} {'↑' if s.sort_reverse else '↓'}")
    if s.filter:
        out.append(f" · filter '{safe(s.filter)}' ({s.shown} shown)", "bold")
    if s.paused:
        out.append(" · ")
        out.append("PAUSED" + (" (newer cycle waiting)" if s.pending else ""), "reverse")
    if s.ended:
        out.append(" · ")
        out.append("ENDED: no more cycles", "reverse")
    elif s.late is not None:
        out.append(" · ")
        out.append(f"NO NEW CYCLE FOR {s.late:.0f}s: figures are old", "bold reverse" if s.no_color else
                   "bold white on red")
    if frame is not None and frame.notes:  # e.g. agents left out: no endpoint to watch
        more = f" (and {len(frame.notes) - 3} more)" if len(frame.notes) > 3 else ""
        out.append("\nnotes: " + "; ".join(safe(n) for n in frame.notes[:3]) + more, "dim")
    return out


def sort_label(column: str) -> str:
    return dict(COLUMNS)[column]


def breach_rows(frame: Frame, needle: str, order: Sequence[str], no_color: bool) -> tuple[Rows, int]:
    """The breaches panel: one row per active breach of a row matching the filter, longest held first.
    Also the number of active breaches in the whole frame."""
    active = [(row, b) for row in frame.rows for b in row.breaches]
    shown = [(row, b) for row, b in active if matches(row, needle)]
    place = {agent_id: n for n, agent_id in enumerate(order)}
    shown.sort(key=lambda rb: (rb[1].since, place.get(rb[0].id, 0)))
    style = "bold" if no_color else "red"
    rows: Rows = {}
    for row, b in shown:
        rows[f"{row.id}\x00{b.metric}"] = (
            (safe(row.id), "bold"), (b.metric, style), (value_vs_limit(b.metric, b.value, b.threshold), ""),
            (held(b.held(frame.at)), ""), (b.action, "bold"))
    return rows, len(active)


def breach_title(shown: int, total: int) -> Text:
    title = "breaches: none active" if total == 0 else f"breaches: {total} active"
    if shown != total:
        title += f", {shown} match the filter"
    return Text(title)


def rollup_rows(frame: Frame, mode: str, no_color: bool) -> Rows:
    rows: Rows = {}
    for name, r in sorted(frame.rollups()[mode].items()):
        d = r.as_dict()
        rows[name] = ((safe(name), "bold"), (str(r.agents), ""), (str(r.ready), ""),
                      (str(r.down), ("bold" if no_color else "bold red") if r.down else ""),
                      (str(r.breaching), ("bold" if no_color else "red") if r.breaching else ""),
                      (f"{r.active_conversations:.0f}/{r.capacity:.0f}", ""),
                      (num(d["requests_per_s"], "{:.1f}"), ""), (num(d["error_rate"], "{:.1f}"), ""))
    return rows


def set_rollup_columns(table: DataTable, mode: str | None) -> None:
    table.clear(columns=True)  # a new grouping: new columns (on a key press, never per frame)
    if mode is not None:
        table.add_column(mode.upper(), key="name")
        for key, label in ROLLUP_COLUMNS:
            table.add_column(Text(label, justify="right"), key=key)


def diff_rows(table: DataTable, shown: Rows, wanted: Rows, *, keep_order: bool = True) -> None:
    """Bring a small keyed table from ``shown`` to ``wanted`` with add_row / update_cell / remove_row, then
    (``keep_order``) put its rows in ``wanted``'s order."""
    keys = [c.key for c in table.ordered_columns]
    for gone in [k for k in shown if k not in wanted]:
        table.remove_row(gone)
        del shown[gone]
    for key, cells in wanted.items():
        old = shown.get(key)
        if old is None:
            table.add_row(*(_text(key, i, cell) for i, cell in enumerate(cells)), key=key)
        else:
            for i, (new, was) in enumerate(zip(cells, old)):
                if new != was:
                    table.update_cell(key, keys[i], _text(key, i, new), update_width=cell_len(new[0]) > cell_len(was[0]))
        shown[key] = cells
    if keep_order and wanted:
        position = {key: n for n, key in enumerate(wanted)}
        table.sort(keys[0], key=lambda cell: position[cell.key])


def _text(key: str, column: int, cell: Cell) -> Text:
    plain, style = cell
    return KeyedText(key, plain, style=style, no_wrap=True) if column == 0 else Text(plain, style=style, no_wrap=True)
