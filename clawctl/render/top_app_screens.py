"""The `clawctl top` dashboard's other screens: one agent in detail (``enter``) and the keys (``?``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from clawctl.core.env import iso_from_epoch
from clawctl.core.top.frame import Row
from clawctl.render.safe import terminal_safe as safe
from clawctl.render.top_app_cells import RIGHT, age, held, row_cells, state_style, value_vs_limit

if TYPE_CHECKING:
    from clawctl.render.top_app import TopApp

KEYS_HELP = (
    ("s", "sort by the next column (STATE first: down, breaching, stale, then the rest)"),
    ("S", "reverse the sort"),
    ("click a header", "sort by that column; again to reverse"),
    ("/", "filter: part of an id, state, region or domain; enter keeps it"),
    ("escape", "clear the filter; leave a drill-down or this help"),
    ("enter", "drill into the selected agent: recent samples, breaches, detail, backups"),
    ("r", "rollups: by region, by domain, off"),
    ("p", "pause the screen (live cycles go on and are recorded; a replay waits)"),
    ("?", "this help"),
    ("q", "quit"),
)
LEGEND = (
    "Figures are this cycle's only. A stale agent (no metrics this cycle) or a down one shows '-', and AGE "
    "says how old its last good sample is. RT p95/p50 are milliseconds over the interval, from histogram "
    "deltas; CONV is active/capacity; TREND is recent RT p95. A breach needs breach_after cycles over its "
    "threshold (with colour off: bold and '!')."
)
SAMPLE_COLUMNS = (("time", "TIME"), ("state", "STATE"), ("age", "AGE"), ("p95", "RT p95"), ("p50", "RT p50"),
                  ("cpu", "CPU%"), ("mem", "MEM%"), ("conv", "CONV"), ("err", "ERR%"), ("rps", "REQ/s"),
                  ("breach", "BREACH"), ("detail", "DETAIL"))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "back"), Binding("question_mark", "dismiss", "back", show=False)]
    CSS = """
    HelpScreen { align: center middle; }
    #help { width: 90%; max-width: 100; height: auto; max-height: 90%; border: round $accent; padding: 0 1;
            background: $surface; }
    #keys, #legend { margin-top: 1; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.heading = title

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(justify="right", style="bold", no_wrap=True)
        keys.add_column()
        for key, what in KEYS_HELP:
            keys.add_row(key, what)
        with VerticalScroll(id="help"):
            yield Static(Text(f"{safe(self.heading)}: keys", style="bold"))
            yield Static(keys, id="keys")
            yield Static(Text(LEGEND), id="legend")
        yield Footer()


class DrillScreen(Screen[None]):
    """One agent: state and detail, its active breaches, its backups now, and its last samples."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "back")]
    CSS = """
    DrillScreen #drill-head, DrillScreen #drill-breaches, DrillScreen #drill-backups {
        height: auto; padding: 0 1; }
    DrillScreen #drill-head { background: $boost; }
    DrillScreen #samples { height: 1fr; }
    """

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id
        self._samples: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="drill-head")
        yield Static(id="drill-breaches")
        yield Static(id="drill-backups")
        yield DataTable(id="samples", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#samples", DataTable)
        for key, label in SAMPLE_COLUMNS:
            table.add_column(Text(label, justify="right" if key in RIGHT else "left"), key=key)
        table.focus()
        self.refresh_from(self.app)  # type: ignore[arg-type]

    def refresh_from(self, app: TopApp) -> None:
        """Redraw from the app's latest frame and kept samples (called by the app on every frame)."""
        no_color = app.no_color
        row = app.rows.get(self.agent_id)
        at = app.frame.at if app.frame is not None else None
        self.query_one("#drill-head", Static).update(self._head(row, no_color))
        self.query_one("#drill-breaches", Static).update(self._breaches(row, at))
        self.query_one("#drill-backups", Static).update(self._backups(app, no_color))
        self._apply_samples(app, no_color)

    def _head(self, row: Row | None, no_color: bool) -> Text:
        head = Text()
        head.append(safe(self.agent_id), "bold")
        if row is None:
            head.append(" · not in the latest frame")
            return head
        head.append(f" · region {safe(row.region or '-')} · domain {safe(row.domain or '-')} · ")
        head.append(safe(row.state), state_style(row, no_color) or "bold")
        head.append(" · last good sample " + ("never" if row.age_s is None else f"{row.age_s:.0f}s ago"))
        if row.stale:
            head.append(" · no current figures", "bold")
        if row.restarted:
            head.append(" · restarted within the interval", "bold")
        if row.detail:
            head.append(f"\ndetail: {safe(row.detail)}")
        return head

    @staticmethod
    def _breaches(row: Row | None, at: float | None) -> Text:
        out = Text()
        out.append("breaches: ", "bold")
        if row is None or at is None:
            return out.append("-")
        if row.stale:
            return out.append("not judged this cycle (no current figures)")
        if not row.breaches:
            return out.append("none active")
        for b in row.breaches:
            out.append(f"\n  {b.metric} {value_vs_limit(b.metric, b.value, b.threshold)} for {held(b.held(at))}: ")
            out.append(b.action, "bold")
        return out

    def _backups(self, app: TopApp, no_color: bool) -> Text:
        out = Text()
        out.append("backups: ", "bold")
        names = app.backups.get(self.agent_id) or []
        if not names:
            return out.append("none")
        for n, name in enumerate(names):
            if n:
                out.append(" · ")
            out.append(safe(name) + " ")
            backup = app.rows.get(name)
            if backup is None:
                out.append("not in the latest frame", "dim")
                continue
            out.append(safe(backup.state), state_style(backup, no_color) or "bold")
            if backup.stale and backup.state != "down":
                out.append(f" ({age(backup)})")
            if backup.breaches:
                out.append(" breaching " + ",".join(b.metric for b in backup.breaches), "bold")
        return out

    def _apply_samples(self, app: TopApp, no_color: bool) -> None:
        table = self.query_one("#samples", DataTable)
        kept = list(app.history.get(self.agent_id, ()))
        keys = [repr(at) for at, _ in kept]
        for gone in [k for k in self._samples if k not in set(keys)]:
            table.remove_row(gone)
        present = set(self._samples)
        for key, (at, row) in zip(keys, kept):
            if key in present:
                continue
            cells = row_cells(row, no_color)
            cells["time"] = (iso_from_epoch(at)[11:19], "")
            cells["detail"] = (safe(row.detail), "")
            table.add_row(*(Text(cells[k][0], style=cells[k][1], justify="right" if k in RIGHT else "left",
                                 no_wrap=True) for k, _ in SAMPLE_COLUMNS), key=key)
        self._samples = keys
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
