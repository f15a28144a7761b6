"""The interactive `clawctl top` dashboard (Textual): a row per agent, the active breaches, rollups.

:func:`run_dashboard` is what the CLI calls. ``frames()`` gives a fresh async iterator of
:class:`~clawctl.core.top.frame.Frame` (one per cycle; a replay paces its own frames); a worker consumes
it and applies each frame to the tables *in place*: the first frame adds the rows, later ones call
``update_cell`` for the cells whose text or style changed, and add or remove rows only when the agent
set (or the filter) changes. The table is never rebuilt per frame (`bench/top_frame.py` measures why).

Keys: ``s``/``S`` sort column / reverse (or click a header), ``/`` filter, ``enter`` drill into an agent,
``escape`` back (or clear the filter), ``r`` rollups by region / domain / off, ``p`` pause, ``?`` help,
``q`` quit. ``NO_COLOR`` (or ``no_color=True``) turns colour off; nothing depends on it (bold, ``!``,
``stale 12s``). Stale and down agents never show figures (see ``top_app_cells``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import ColumnKey, RowKey

from clawctl.core.top.frame import Frame, Row
from clawctl.render.top_app_cells import COLUMNS, KEYS, RIGHT, Cell, matches, order, row_cells
from clawctl.render.top_app_panels import (BREACH_COLUMNS, ROLLUP_MODES, AgentTable, KeyedText, Rows, Status,
    breach_rows, breach_title, diff_rows, header, rollup_rows, set_rollup_columns, sort_label)
from clawctl.render.top_app_screens import DrillScreen, HelpScreen

HISTORY = 30  # samples kept per agent for the drill-down


def run_dashboard(frames: Callable[[], AsyncIterator[Frame]], *, title: str, interval: float,
                  backups: dict[str, list[str]], no_color: bool = False, replay_speed: float | None = None) -> None:
    """Run the dashboard until the user quits. An error raised by the frames is raised again here."""
    app = TopApp(frames, title=title, interval=interval, backups=backups, no_color=no_color,
                 replay_speed=replay_speed)
    app.run(mouse=True)
    if app.error is not None:
        raise app.error


class TopApp(App):
    CSS = """
    #header { height: auto; padding: 0 1; background: $boost; }
    #agents { height: 1fr; min-height: 4; }
    #rollups { height: auto; max-height: 25%; display: none; }
    #breaches-title { height: 1; padding: 0 1; text-style: bold; }
    #breaches { height: auto; max-height: 25%; }
    #filter { dock: bottom; display: none; }
    """
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort_next", "sort"),
        Binding("S", "sort_reverse", "reverse"),
        Binding("slash", "filter", "filter"),
        Binding("enter", "drill", "drill", show=False),
        Binding("r", "rollups", "rollups"),
        Binding("p", "pause", "pause"),
        Binding("question_mark", "help", "help"),
        Binding("escape", "clear_filter", "clear filter", show=False),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False),
    ]

    def __init__(self, frames: Callable[[], AsyncIterator[Frame]], *, title: str, interval: float,
                 backups: dict[str, list[str]], no_color: bool = False, replay_speed: float | None = None) -> None:
        super().__init__()
        if no_color and not self.no_color:  # Textual itself honours the NO_COLOR variable the same way
            from textual.filter import Monochrome, NoColor

            self.no_color = True
            self._filters.append(NoColor() if self.native_ansi_color else Monochrome())
        self.title = title
        self.frames_source = frames
        self.interval = interval
        self.backups = backups
        self.replay_speed = replay_speed
        self.frame: Frame | None = None  # the latest frame shown
        self.rows: dict[str, Row] = {}
        self.history: dict[str, deque[tuple[float, Row]]] = {}
        self.sort_column = "state"
        self.sort_reverse = False
        self.filter = ""
        self.rollup_mode: str | None = None
        self.paused = False
        self.ended = False
        self.error: BaseException | None = None
        self.received = 0  # frames taken from the iterator
        self.applied = 0  # frames drawn
        self._pending: Frame | None = None  # the newest frame that came while paused (live)
        self._resume = asyncio.Event()
        self._last_frame = time.monotonic()
        self._late: float | None = None
        self._cells: dict[str, dict[str, Cell]] = {}  # what each visible row shows now
        self._row_keys: dict[str, RowKey] = {}
        self._column_keys: dict[str, ColumnKey] = {}
        self._widths = {k: cell_len(h) for k, h in COLUMNS}
        self._order: list[str] = []
        self._breach_cells: Rows = {}
        self._rollup_cells: Rows = {}

    # -- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield AgentTable(id="agents", cursor_type="row")
        yield DataTable(id="rollups", cursor_type="none")
        yield Static(id="breaches-title")
        yield DataTable(id="breaches", cursor_type="row")
        yield Input(placeholder="filter: part of an id, state, region or domain (enter keeps it, escape clears it)",
                    id="filter")
        yield Footer()

    @property
    def table(self) -> AgentTable:
        return self.query_one("#agents", AgentTable)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self._column_keys[key] = self.table.add_column(Text(label, justify="right" if key in RIGHT else "left"),
                                                           key=key)
        breaches = self.query_one("#breaches", DataTable)
        for key, label in BREACH_COLUMNS:
            breaches.add_column(label, key=key)
        self._render_header()
        self.query_one("#breaches-title", Static).update(breach_title(0, 0))
        breaches.display = False
        self.table.focus()
        self.run_worker(self._consume(), name="frames", exclusive=True, exit_on_error=False)
        if self.replay_speed is None:
            self.set_interval(1.0, self._watchdog)

    # -- frames ---------------------------------------------------------------------------------------
    async def _consume(self) -> None:
        iterator: AsyncIterator[Frame] | None = None
        try:
            iterator = self.frames_source()  # may raise: an unreadable fleet or store
            async for frame in iterator:
                self.received += 1
                self._last_frame = time.monotonic()
                self._late = None
                self._keep(frame)
                if self.paused:
                    if self.replay_speed is None:
                        self._pending = frame  # live: cycles go on (and are recorded); the screen holds still
                        self._render_header()
                        continue
                    await self._resume.wait()  # a replay pauses with the screen
                self.show(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to run_dashboard's caller, the CLI's error funnel
            self.error = exc
            self.exit(return_code=1)
            return
        finally:  # on quit too: the source's own cleanup runs (a recording is closed as interrupted)
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()
        self.ended = True
        self._render_header()

    def _keep(self, frame: Frame) -> None:
        for row in frame.rows:
            kept = self.history.get(row.id)
            if kept is None:
                kept = self.history[row.id] = deque(maxlen=HISTORY)
            kept.append((frame.at, row))

    def show(self, frame: Frame) -> None:
        """Draw ``frame``: changed cells only, rows added or removed only when the visible set changed."""
        self.frame = frame
        self.rows = {r.id: r for r in frame.rows}
        self._apply_rows(frame)
        self._apply_breaches(frame)
        self._apply_rollups(frame)
        self._render_header()
        self.applied += 1
        if isinstance(self.screen, DrillScreen):
            self.screen.refresh_from(self)

    def _apply_rows(self, frame: Frame) -> None:
        with self.table.one_refresh():
            self._apply_rows_now(frame)
        self._sort()

    def _apply_rows_now(self, frame: Frame) -> None:
        table = self.table
        visible = [r for r in frame.rows if matches(r, self.filter)]
        wanted = {r.id for r in visible}
        for gone in [k for k in self._cells if k not in wanted]:
            table.remove_row(self._row_keys.pop(gone))
            del self._cells[gone]
        for row in visible:
            cells = row_cells(row, self.no_color)
            old = self._cells.get(row.id)
            if old is None:
                for key in KEYS:
                    self._widths[key] = max(self._widths[key], cell_len(cells[key][0]))
                self._row_keys[row.id] = table.add_row(*(self._cell(row.id, key, cells[key]) for key in KEYS),
                                                       key=row.id)
            else:
                row_key = self._row_keys[row.id]
                for key in KEYS:
                    if cells[key] != old[key]:
                        width = cell_len(cells[key][0])
                        grow = width > self._widths[key]
                        if grow:
                            self._widths[key] = width
                        table.update_cell(row_key, self._column_keys[key], self._cell(row.id, key, cells[key]),
                                          update_width=grow)
            self._cells[row.id] = cells

    @staticmethod
    def _cell(agent_id: str, key: str, cell: Cell) -> Text:
        plain, style = cell
        if key == "agent":  # carries the id, so that DataTable.sort can order rows by it
            return KeyedText(agent_id, plain, style=style, no_wrap=True)
        return Text(plain, style=style, justify="right" if key in RIGHT else "left", no_wrap=True)

    def _sort(self, force: bool = False) -> None:
        table = self.table
        ids = order([self.rows[i] for i in self.rows if i in self._cells], self.sort_column, self.sort_reverse)
        if ids == self._order and not force:
            return
        selected = self.selected_agent() if self._order else None  # the first frame: the cursor stays on top
        self._order = ids
        position = {agent_id: n for n, agent_id in enumerate(ids)}
        table.sort("agent", key=lambda cell: position[cell.key])
        if selected is not None and selected in position:
            table.move_cursor(row=table.get_row_index(selected), animate=False)

    def selected_agent(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _apply_breaches(self, frame: Frame) -> None:
        table = self.query_one("#breaches", DataTable)
        rows, total = breach_rows(frame, self.filter, self._order, self.no_color)
        diff_rows(table, self._breach_cells, rows)
        self.query_one("#breaches-title", Static).update(breach_title(len(rows), total))
        table.display = bool(rows)

    def _apply_rollups(self, frame: Frame) -> None:
        table = self.query_one("#rollups", DataTable)
        table.display = self.rollup_mode is not None
        if self.rollup_mode is not None:
            diff_rows(table, self._rollup_cells, rollup_rows(frame, self.rollup_mode, self.no_color))

    def _render_header(self) -> None:
        status = Status(self.title, self.interval, self.replay_speed, sort_label(self.sort_column), self.sort_reverse,
                        self.filter, len(self._cells), self.paused, self._pending is not None, self.ended,
                        self._late, self.no_color)
        self.query_one("#header", Static).update(header(self.frame, status))

    def _watchdog(self) -> None:
        if self.ended or self.paused or self.frame is None:
            return
        quiet = time.monotonic() - self._last_frame
        late = quiet if quiet > max(2 * self.interval, self.interval + 2) else None
        if late is not None or self._late is not None:
            self._late = late
            self._render_header()

    def _redraw(self) -> None:
        if self.frame is not None:
            self._apply_rows(self.frame)
            self._apply_breaches(self.frame)
        self._render_header()

    # -- actions --------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sort_next", "sort_reverse", "filter", "drill", "rollups", "clear_filter"):
            return self.screen is self.screen_stack[0]  # the main screen's keys, not the drill-down's
        return True

    def action_sort_next(self) -> None:
        self.sort_column = KEYS[(KEYS.index(self.sort_column) + 1) % len(KEYS)]
        self.sort_reverse = False
        self._sort(force=True)
        self._render_header()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._sort(force=True)
        self._render_header()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table.id != "agents":
            return
        column = event.column_key.value
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._sort(force=True)
        self._render_header()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter = event.value.strip()
        self._redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = False
        if box.value:
            box.value = ""  # Input.Changed redraws
        self.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "agents" and event.row_key.value is not None:
            self.push_screen(DrillScreen(event.row_key.value))

    def action_drill(self) -> None:
        agent = self.selected_agent()
        if agent is not None:
            self.push_screen(DrillScreen(agent))

    def action_rollups(self) -> None:
        mode = ROLLUP_MODES[(ROLLUP_MODES.index(self.rollup_mode) + 1) % len(ROLLUP_MODES)]
        self.rollup_mode = mode
        table = self.query_one("#rollups", DataTable)
        set_rollup_columns(table, mode)
        self._rollup_cells.clear()
        if self.frame is not None:
            self._apply_rollups(self.frame)
        table.display = mode is not None

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._resume.clear()
        else:
            self._resume.set()
            pending, self._pending = self._pending, None
            if pending is not None:
                self.show(pending)
        self._render_header()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.title))

