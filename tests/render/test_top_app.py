"""The interactive `clawctl top` dashboard, driven headless by Textual's Pilot.

Frames come from the real :class:`~clawctl.core.top.frame.Tracker` fed synthetic observations (one agent
through histogram scrapes, so p50/p95 come from bucket deltas; the others through figures), at fixed
times, so every screen is deterministic. No network, no clock.
"""

from __future__ import annotations

import asyncio
import html
import io
import re
from collections.abc import AsyncIterator, Callable

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from clawctl.core.errors import InputError
from clawctl.core.top.frame import Frame, Observation, Tracker
from clawctl.core.top.rates import Interval
from clawctl.core.top.scrape import Scrape
from clawctl.core.top.thresholds import Thresholds
from clawctl.render.top_app import TopApp
from clawctl.render.top_app_screens import DrillScreen, HelpScreen

T0 = 1767605400.0  # 2026-01-05T09:30:00Z
STEP = 2.0
AGENTS = [("api-1", "eu", "support"), ("api-2", "eu", "sales"), ("api-3", "us", "support"),
          ("api-4", "us", "sales"), ("api-5", "us", "support")]
BACKUPS = {"api-1": ["api-2", "api-5"], "api-3": ["api-4"]}
FIGURES = ("p95", "p50", "cpu", "mem", "conv", "err", "rps")
BOUNDS = (0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))


@pytest.fixture(autouse=True)
def _colour(monkeypatch):
    """Colour unless a test turns it off, whatever the shell running the tests has set."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def _scrape(k: int) -> Scrape:
    """api-1's metrics after k cycles: 10 requests a cycle, 8 under 100 ms and 2 between 250 and 500 ms."""
    n = 10.0 * k
    counts = (0.8 * n, 0.8 * n, n, n, n, n)
    return Scrape(active=3, capacity=8, cpu=20.0 + k, memory=40.0, ok=n, error=0.0, rejected=0.0,
                  rt_sum=0.1 * n, rt_count=n, buckets=tuple(zip(BOUNDS, counts)))


def observations(k: int) -> list[Observation]:
    """Cycle k (0-based): api-3 runs hot (CPU 95 %), api-4 loses its metrics and api-5 goes down after cycle 0."""
    obs = [Observation("api-1", "ready", scrape=_scrape(k)),
           Observation("api-2", "ready", figures=Interval(seconds=STEP, active=1 + k, capacity=8, cpu=12.5,
                                                          memory=30.0, requests_per_s=4.0, error_rate=0.0,
                                                          p50_ms=80.0 + k, p95_ms=120.0 + 10 * k)),
           Observation("api-3", "degraded", figures=Interval(seconds=STEP, active=7, capacity=8, cpu=95.0,
                                                             memory=60.0, requests_per_s=9.0, error_rate=1.5,
                                                             p50_ms=300.0, p95_ms=900.0))]
    if k == 0:
        obs.append(Observation("api-4", "ready", figures=Interval(seconds=STEP, cpu=33.0, memory=44.0,
                                                                  p95_ms=555.0, p50_ms=222.0)))
        obs.append(Observation("api-5", "ready", figures=Interval(seconds=STEP, cpu=66.0, memory=77.0,
                                                                  p95_ms=666.0, p50_ms=333.0)))
    else:
        obs.append(Observation("api-4", "ready", detail="metrics: timed out"))
        obs.append(Observation("api-5", "down", detail="connection refused"))
    return obs


def make_frames(n: int, agents=AGENTS) -> list[Frame]:
    tracker = Tracker("shop", agents, Thresholds(breach_after=3))
    ids = {a for a, _, _ in agents}
    return [tracker.update(T0 + k * STEP, [o for o in observations(k) if o.agent_id in ids]) for k in range(n)]


class Feed:
    """Frames handed over one at a time by the test; ``close()`` ends the stream."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.closed = False

    def __call__(self) -> AsyncIterator[Frame]:
        async def gen() -> AsyncIterator[Frame]:
            try:
                while (frame := await self.queue.get()) is not None:
                    yield frame
            finally:
                self.closed = True
        return gen()

    def put(self, frame: Frame | None) -> None:
        self.queue.put_nowait(frame)


def listed(frames: list[Frame]) -> Callable[[], AsyncIterator[Frame]]:
    async def gen() -> AsyncIterator[Frame]:
        for frame in frames:
            yield frame
    return gen


def app_for(frames, **kw) -> TopApp:
    return TopApp(frames, title="shop", interval=STEP, backups=BACKUPS, **kw)


async def until(pilot, cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out waiting for the dashboard"
        await pilot.pause(0.01)
    await pilot.pause()


def run(coro) -> None:
    asyncio.run(coro)


def cell(app: TopApp, agent: str, column: str) -> Text:
    return app.table.get_cell(agent, column)


def shown_ids(table: DataTable) -> list[str]:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def click(pilot, table: DataTable, column: str) -> None:
    """A mouse click on a column's header."""
    x = 0
    for c in table.ordered_columns:
        if c.key.value == column:
            break
        x += c.get_render_width(table)
    await pilot.click(table, offset=(x + 1, 0))
    await pilot.pause()


def screen_text(app: TopApp) -> str:
    """The screen as painted, as plain text (from Textual's SVG screenshot)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (its content may be a rich Text or Table)."""
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


# -- frames in place -----------------------------------------------------------------------------------
def test_a_frame_asks_for_one_repaint_of_the_agent_table_not_one_per_cell(monkeypatch):
    frames = make_frames(2)
    repaints: list[DataTable] = []
    original = DataTable.refresh

    def counting(self, *a, **k):
        repaints.append(self)
        return original(self, *a, **k)

    async def go():
        app = app_for(Feed())
        app.sort_column = "agent"  # an order no frame changes: no repaint for a sort
        async with app.run_test(size=(160, 40)) as pilot:
            app.show(frames[0])
            await pilot.pause()
            updates = []
            update_cell = app.table.update_cell
            app.table.update_cell = lambda *a, **k: (updates.append(a), update_cell(*a, **k))
            monkeypatch.setattr(DataTable, "refresh", counting)
            app.show(frames[1])
            monkeypatch.setattr(DataTable, "refresh", original)
            asked = [t for t in repaints if t is app.table]
            assert len(updates) >= 20
            assert len(asked) == 1
    run(go())


def test_the_first_frame_adds_rows_and_the_next_updates_only_changed_cells_in_place():
    feed = Feed()
    frames = make_frames(2)

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(160, 40)) as pilot:
            feed.put(frames[0])
            await until(pilot, lambda: app.applied == 1)
            table = app.table
            keys = list(table.rows)
            assert sorted(k.value for k in keys) == ["api-1", "api-2", "api-3", "api-4", "api-5"]
            assert cell(app, "api-2", "p95").plain == "120"
            before = {k.value: {c.value: cell(app, k.value, c.value) for c in table.columns} for k in keys}
            calls: dict[str, list] = {"update_cell": [], "add_row": [], "clear": [], "remove_row": []}
            for name, log in calls.items():
                original = getattr(table, name)
                setattr(table, name, lambda *a, _o=original, _l=log, **k: (_l.append(a), _o(*a, **k))[1])
            feed.put(frames[1])
            await until(pilot, lambda: app.applied == 2)
            assert app.table is table
            assert list(table.rows) == keys
            assert calls["add_row"] == calls["clear"] == calls["remove_row"] == []
            assert cell(app, "api-2", "p95").plain == "130"
            assert " 130 " in screen_text(app)
            updated = {(a[0], a[1]) for a in calls["update_cell"]}
            assert ("api-2", "p95") in updated and ("api-2", "conv") in updated
            assert ("api-2", "cpu") not in updated and ("api-2", "agent") not in updated
            assert ("api-5", "state") in updated  # went down
            for agent, column, value in calls["update_cell"]:  # no update leaves a cell as it was
                assert (value.plain, str(value.style)) != (before[agent][column].plain, str(before[agent][column].style))
            feed.put(None)
    run(go())


def test_response_times_come_from_histogram_deltas():
    async def go():
        app = app_for(listed(make_frames(2)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            # 8 of 10 requests under 100 ms, 2 in (250, 500]: p50 = 62.5 ms, p95 = 250 + 250 x 0.75 = 437.5 ms
            assert cell(app, "api-1", "p50").plain == "62"
            assert cell(app, "api-1", "p95").plain == "438"
            assert cell(app, "api-1", "rps").plain == "5.0"
            assert cell(app, "api-1", "conv").plain == "3/8"
    run(go())


def test_stale_and_down_rows_show_no_figures_only_the_age_of_their_last_good_sample():
    async def go():
        app = app_for(listed(make_frames(3)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            for agent in ("api-4", "api-5"):
                assert [cell(app, agent, c).plain for c in FIGURES] == ["-"] * 7, agent
                assert cell(app, agent, "breach").plain == ""
            assert cell(app, "api-4", "age").plain == "stale 4s"
            assert cell(app, "api-5", "age").plain == "4s"
            state = cell(app, "api-5", "state")
            assert state.plain == "down" and "red" in str(state.style)
            assert "555" not in str(app.screen_stack[0].query_one("#agents", DataTable).get_row("api-4"))
    run(go())


def test_without_colour_down_is_bold_and_a_breached_figure_is_marked(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def go():
        app = app_for(listed(make_frames(3)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            assert app.no_color
            state = cell(app, "api-5", "state")
            assert str(state.style) == "bold"
            cpu = cell(app, "api-3", "cpu")
            assert cpu.plain == "95.0!" and "red" not in str(cpu.style)
    run(go())
    monkeypatch.delenv("NO_COLOR")

    async def flag():
        app = app_for(listed(make_frames(1)), no_color=True)
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            assert app.no_color
    run(flag())


def test_a_breach_shows_in_the_panel_with_its_action_after_breach_after_cycles():
    feed = Feed()
    frames = make_frames(4)

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(160, 40)) as pilot:
            panel = app.query_one("#breaches", DataTable)
            for k in range(2):
                feed.put(frames[k])
                await until(pilot, lambda k=k: app.applied == k + 1)
                assert panel.row_count == 0 and not panel.display
                assert "none active" in text_of(app.query_one("#breaches-title", Static))
            feed.put(frames[2])
            await until(pilot, lambda: app.applied == 3)
            assert panel.display and panel.row_count == 1
            row = [c.plain for c in panel.get_row_at(0)]
            assert row == ["api-3", "cpu", "95% > 80%", "0s", "enable_request_throttling"]
            assert cell(app, "api-3", "breach").plain == "cpu"
            feed.put(frames[3])
            await until(pilot, lambda: app.applied == 4)
            assert [c.plain for c in panel.get_row_at(0)][3] == "2s"
            assert "1 breaching" in text_of(app.query_one("#header", Static))
            feed.put(None)
    run(go())


# -- keys ----------------------------------------------------------------------------------------------
def test_sort_keys_and_header_clicks_reorder_rows_without_rebuilding():
    async def go():
        app = app_for(listed(make_frames(3)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            table = app.table
            # default: severity (down, breaching, stale, then the rest in fleet order)
            assert shown_ids(table) == ["api-5", "api-3", "api-4", "api-1", "api-2"]
            await pilot.press("s")  # the next column: AGE, oldest first
            assert app.sort_column == "age"
            assert shown_ids(table) == ["api-4", "api-5", "api-1", "api-2", "api-3"]
            await click(pilot, table, "agent")
            assert app.sort_column == "agent"
            assert shown_ids(table) == ["api-1", "api-2", "api-3", "api-4", "api-5"]
            await pilot.press("S")
            assert shown_ids(table) == ["api-5", "api-4", "api-3", "api-2", "api-1"]
            assert "sort AGENT ↑" in text_of(app.query_one("#header", Static))
            await click(pilot, table, "cpu")
            assert app.sort_column == "cpu"
            assert shown_ids(table) == ["api-3", "api-1", "api-2", "api-4", "api-5"]  # no figures: last
            assert app.table is table
    run(go())


def test_the_cursor_follows_its_agent_when_the_order_changes():
    async def go():
        app = app_for(listed(make_frames(2)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            await pilot.press("down")
            picked = app.selected_agent()
            await pilot.press("S")
            assert app.selected_agent() == picked
    run(go())


def test_the_filter_narrows_rows_and_breaches_and_escape_clears_it():
    async def go():
        app = app_for(listed(make_frames(3)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            await pilot.press("slash")
            box = app.query_one("#filter", Input)
            assert box.display and box.has_focus
            await pilot.press("e", "u")
            assert sorted(shown_ids(app.table)) == ["api-1", "api-2"]
            assert "match the filter" in text_of(app.query_one("#breaches-title", Static))
            await pilot.press("enter")
            assert not box.display and app.table.has_focus and app.filter == "eu"
            await pilot.press("escape")
            assert app.filter == "" and app.table.row_count == 5
            await pilot.press("slash", *"DOWN")  # any case, on the state too
            assert shown_ids(app.table) == ["api-5"]
    run(go())


def test_enter_drills_into_the_selected_agent_and_escape_comes_back():
    async def go():
        app = app_for(listed(make_frames(4)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            await click(pilot, app.table, "agent")  # by id: api-1, api-2, api-3, ...
            app.table.move_cursor(row=0)
            await pilot.press("down", "down", "enter")
            screen = app.screen
            assert isinstance(screen, DrillScreen) and screen.agent_id == "api-3"
            samples = screen.query_one("#samples", DataTable)
            assert samples.row_count == 4
            assert [c.plain for c in samples.get_row_at(3)][:2] == ["09:30:06", "degraded"]
            breaches = text_of(screen.query_one("#drill-breaches", Static))
            assert "cpu 95% > 80% for 2s: enable_request_throttling" in breaches
            assert "api-4 ready (stale 6s)" in text_of(screen.query_one("#drill-backups", Static))
            await pilot.press("s")  # the main screen's keys do nothing here
            assert app.sort_column == "agent"
            await pilot.press("escape")
            assert not isinstance(app.screen, DrillScreen)
            app.table.move_cursor(row=4)
            await pilot.press("enter")
            head = text_of(app.screen.query_one("#drill-head", Static))
            assert "api-5" in head and "down" in head and "connection refused" in head
            assert "no current figures" in text_of(app.screen.query_one("#drill-breaches", Static))
    run(go())


def test_help_lists_the_keys_and_q_quits():
    async def go():
        app = app_for(Feed())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            lines = text_of(app.screen.query_one("#keys", Static)).splitlines()
            keys = {line.split()[0] for line in lines if line.strip()}
            assert {"s", "S", "/", "enter", "escape", "r", "p", "?", "q"} <= keys
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
    run(go())


def test_quitting_closes_the_frame_iterator():
    feed = Feed()

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(100, 30)) as pilot:
            feed.put(make_frames(1)[0])
            await until(pilot, lambda: app.applied == 1)
            await pilot.press("q")
    run(go())
    assert feed.closed


def test_pause_holds_the_screen_while_live_cycles_go_on():
    feed = Feed()
    frames = make_frames(3)

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(160, 40)) as pilot:
            feed.put(frames[0])
            await until(pilot, lambda: app.applied == 1)
            await pilot.press("p")
            feed.put(frames[1])
            feed.put(frames[2])
            await until(pilot, lambda: app.received == 3)
            assert app.applied == 1 and cell(app, "api-2", "p95").plain == "120"
            assert "PAUSED (newer cycle waiting)" in text_of(app.query_one("#header", Static))
            await pilot.press("p")
            assert cell(app, "api-2", "p95").plain == "140"
            assert "cycle 3" in text_of(app.query_one("#header", Static))
            feed.put(None)
    run(go())


def test_a_replay_pauses_with_the_screen():
    feed = Feed()
    frames = make_frames(3)

    async def go():
        app = app_for(feed, replay_speed=2.0)
        async with app.run_test(size=(160, 40)) as pilot:
            feed.put(frames[0])
            await until(pilot, lambda: app.applied == 1)
            assert "probe x2" in text_of(app.query_one("#header", Static))
            await pilot.press("p")
            feed.put(frames[1])
            feed.put(frames[2])
            await until(pilot, lambda: app.received == 2)
            await pilot.pause(0.05)
            assert app.received == 2 and app.applied == 1  # the iterator is not read on while paused
            await pilot.press("p")
            await until(pilot, lambda: app.applied == 3)
            feed.put(None)
    run(go())


def test_when_cycles_stop_coming_the_header_says_the_figures_are_old():
    feed = Feed()

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(160, 40)) as pilot:
            feed.put(make_frames(1)[0])
            await until(pilot, lambda: app.applied == 1)
            app._last_frame -= 3 * STEP + 2  # as if the next cycle were that late
            app._watchdog()
            assert "s: figures are old" in text_of(app.query_one("#header", Static))
            feed.put(make_frames(2)[1])
            await until(pilot, lambda: app.applied == 2)
            assert "NO NEW CYCLE" not in text_of(app.query_one("#header", Static))
            feed.put(None)
    run(go())


def test_the_drill_down_follows_new_cycles():
    feed = Feed()
    frames = make_frames(3)

    async def go():
        app = app_for(feed)
        async with app.run_test(size=(160, 40)) as pilot:
            feed.put(frames[0])
            await until(pilot, lambda: app.applied == 1)
            app.push_screen(DrillScreen("api-1"))
            await pilot.pause()
            samples = app.screen.query_one("#samples", DataTable)
            assert samples.row_count == 1
            feed.put(frames[1])
            feed.put(frames[2])
            await until(pilot, lambda: app.applied == 3)
            assert samples.row_count == 3
            assert "api-5 down" in text_of(app.screen.query_one("#drill-backups", Static))
            feed.put(None)
    run(go())


def test_the_frames_notes_show_under_the_header():
    frames = make_frames(1)
    frames[0].notes = [f"api-{n}: no endpoint" for n in range(6, 11)]

    async def go():
        app = app_for(listed(frames))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            text = text_of(app.query_one("#header", Static))
            assert "notes: api-6: no endpoint; api-7: no endpoint; api-8: no endpoint (and 2 more)" in text
    run(go())


def test_r_cycles_rollups_by_region_by_domain_and_off():
    async def go():
        app = app_for(listed(make_frames(2)))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            rollups = app.query_one("#rollups", DataTable)
            assert not rollups.display
            await pilot.press("r")
            assert rollups.display and str(rollups.ordered_columns[0].label) == "REGION"
            assert [c.plain for c in rollups.get_row("us")][:4] == ["us", "3", "1", "1"]
            await pilot.press("r")
            assert sorted(k.value for k in rollups.rows) == ["sales", "support"]
            await pilot.press("r")
            assert not rollups.display
    run(go())


def test_an_agent_leaving_or_joining_adds_or_removes_only_its_row():
    frames_a = make_frames(1)
    frames_b = make_frames(2, AGENTS[:3])

    async def go():
        app = app_for(listed([frames_a[0], frames_b[1]]))
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            assert sorted(k.value for k in app.table.rows) == ["api-1", "api-2", "api-3"]
    run(go())


def test_an_error_from_the_frames_ends_the_app_and_is_handed_back():
    async def broken() -> AsyncIterator[Frame]:
        yield make_frames(1)[0]
        raise InputError("store.db: no `top` recording with run id 9")

    async def go():
        app = app_for(broken)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.error is not None)
        assert isinstance(app.error, InputError)
    run(go())


def test_an_error_making_the_frames_ends_the_app_too():
    def refuses() -> AsyncIterator[Frame]:
        raise InputError("fleet.yaml: not found")

    async def go():
        app = app_for(refuses)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.error is not None)
        assert str(app.error) == "fleet.yaml: not found"
    run(go())


def test_a_resize_keeps_the_rows_and_reflows_the_header():
    async def go():
        app = app_for(listed(make_frames(2)))
        async with app.run_test(size=(200, 40)) as pilot:
            await until(pilot, lambda: app.ended)
            header = app.query_one("#header", Static)
            assert header.size.height == 1
            table = app.table
            await pilot.resize_terminal(60, 20)
            await pilot.pause()
            assert header.size.height > 1 and app.table is table and table.row_count == 5
            assert table.size.height >= 3
    run(go())


def test_text_from_agents_is_shown_escaped_never_as_markup_or_controls():
    agents = [("[red]evil\x1b[2J", None, None)]
    tracker = Tracker("shop", agents)
    frame = tracker.update(T0, [Observation(agents[0][0], "down", detail="x\x07y")])

    async def go():
        app = app_for(listed([frame]))
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.ended)
            assert cell(app, agents[0][0], "agent").plain == "[red]evil\\x1b[2J"
    run(go())


# -- snapshots -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_main_screen_snapshot(snap_compare, size):
    app = app_for(listed(make_frames(4)))

    async def settle(pilot) -> None:
        await until(pilot, lambda: app.ended)

    assert snap_compare(app, terminal_size=size, run_before=settle)
