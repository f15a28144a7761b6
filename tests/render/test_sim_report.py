"""`clawctl simulate --report`: one tall PNG or a self-contained HTML page, written whole or not at all."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clawctl.cli.main import main
from clawctl.core.errors import ExitCode, InputError, UsageError
from clawctl.core.sim.structures import HIST_BINS, HIST_LO, HIST_RATIO
from clawctl.render import sim_report, sim_report_agents, sim_report_charts
from clawctl.render.sim_report import write_report
from clawctl.services.simulate import SimOptions, simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multi-region.yaml"
STRATEGIES = ("least_conn", "p2c", "round_robin")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Three small agents at about 90% load with a bounded queue and patient customers: people wait, some leave.
BUSY_FLEET = """\
metadata: {name: tiny-busy-fleet}
defaults:
  service_time: {distribution: exponential, mean: 60s}
agents:
  alpha: {max_concurrent_conversations: 3, weight: 2, backups: [beta]}
  beta: {max_concurrent_conversations: 2, backups: [gamma]}
  gamma: {max_concurrent_conversations: 2, service_time: {distribution: lognormal, mean: 60s, p95: 150s}}
traffic:
  arrivals: {rate: 6/min}
  queue: {capacity: 40, patience: 10m}
  sla: {wait: 30s}
"""


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    fleet = tmp_path_factory.mktemp("fleet") / "busy.yaml"
    fleet.write_text(BUSY_FLEET)
    options = SimOptions(requests=3000, strategies=STRATEGIES, failures=["beta@2h"])
    return simulate(str(fleet), options, store=False)


@pytest.fixture(scope="module")
def idle(tmp_path_factory):
    """The example fleet at a light load (60 requests a minute): nobody waits."""
    text = EXAMPLE.read_text()
    assert "rate: 220/min" in text
    fleet = tmp_path_factory.mktemp("fleet") / "idle.yaml"
    fleet.write_text(text.replace("rate: 220/min", "rate: 60/min"))
    return simulate(str(fleet), SimOptions(requests=2000, strategies=("least_conn", "scored")), store=False)


@pytest.fixture(scope="module")
def busy_page(busy, tmp_path_factory) -> str:
    return _page(busy, tmp_path_factory.mktemp("page"))


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """Agents that keep weekday hours from 09:00, in a run from Monday 00:00 UTC to 12:00: closed, then open."""
    hours = '{timezone: UTC, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}'
    fleet = tmp_path_factory.mktemp("fleet") / "closed.yaml"
    fleet.write_text(f"metadata: {{name: office}}\nagents:\n  desk: {{max_concurrent_conversations: 4, business_hours: "
                     f"{hours}}}\n  night: {{max_concurrent_conversations: 1}}\ntraffic:\n  arrivals: {{rate: 2/min}}\n")
    return simulate(str(fleet), SimOptions(duration=12 * 3600.0), store=False)


def _page(report, tmp_path: Path) -> str:
    path = tmp_path / "report.html"
    write_report(report, path)
    return path.read_text(encoding="utf-8")


# -- PNG ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["busy", "idle"])
def test_png_is_one_tall_readable_image(which, request, tmp_path):
    report = request.getfixturevalue(which)
    path = tmp_path / "report.png"
    write_report(report, path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert 1200 <= width <= 2000  # ~14 inches at ~110 dpi
    assert height > width  # one tall page
    assert 50_000 < len(data) < 5_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]


def test_png_survives_dollar_signs_and_markup_in_names(busy, tmp_path):
    """Fleet names are free text: no mathtext, no markup interpretation."""
    report = dataclasses.replace(busy, fleet="cost $5 per $chat <b>&</b> _x_^2")
    write_report(report, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == PNG_SIGNATURE


# -- HTML --------------------------------------------------------------------------------------------------------
def test_html_has_the_table_every_strategy_and_the_charts(busy, tmp_path):
    page = _page(busy, tmp_path)
    assert page.startswith("<!DOCTYPE html>")
    assert "tiny-busy-fleet" in page
    assert "<table>" in page and "</table>" in page
    table = page[page.index("<table>"):page.index("</table>")]
    for strategy in STRATEGIES:
        assert f">{strategy}</td>" in table
    assert table.count("<tr>") == 1 + len(STRATEGIES)
    assert page.count("<svg") >= 3
    assert "beta down" in page  # the failure, in the page and marked on the charts


def test_html_is_self_contained(busy, tmp_path):
    page = _page(busy, tmp_path)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page
    # the only URLs are XML namespace names of the inline SVGs, which browsers never fetch
    stripped = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", page)
    assert "http://" not in stripped and "https://" not in stripped
    assert 'href="http' not in page and "src=" not in page
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page  # the SVG prologs are stripped


def test_html_escapes_every_name(busy, tmp_path):
    report = dataclasses.replace(busy, fleet='<script>alert("x")</script> & <img src=x>')
    page = _page(report, tmp_path)
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert "&amp;" in page


def test_html_says_when_nobody_waited(idle, tmp_path):
    page = _page(idle, tmp_path)
    assert "Nobody waited" in page
    assert page.count("<svg") >= 3
    for strategy in ("least_conn", "scored"):
        assert f">{strategy}</td>" in page


def test_html_of_the_same_run_is_the_same_bytes(busy, tmp_path):
    """Same seed, same output: the SVG ids are salted per chart, not at random."""
    write_report(busy, tmp_path / "a.html")
    write_report(busy, tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


# -- writing -----------------------------------------------------------------------------------------------------
def test_a_missing_folder_is_an_input_error_naming_the_path(busy, tmp_path):
    path = tmp_path / "no" / "such" / "report.png"
    with pytest.raises(InputError) as caught:
        write_report(busy, path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    assert caught.value.exit_code == ExitCode.UNREADABLE == 3
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_way_is_an_input_error_and_nothing_is_left(busy, tmp_path):
    (tmp_path / "report.html").mkdir()
    with pytest.raises(InputError, match="report.html"):
        write_report(busy, tmp_path / "report.html")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert list((tmp_path / "report.html").iterdir()) == []


def test_a_failed_render_leaves_no_file_and_keeps_the_old_one(busy, tmp_path, monkeypatch):
    old = tmp_path / "report.png"
    old.write_bytes(b"yesterday's report")

    def broken(report):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(sim_report, "_png", broken)
    with pytest.raises(RuntimeError):
        write_report(busy, old)
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]
    assert old.read_bytes() == b"yesterday's report"


def test_only_png_and_html(busy, tmp_path):
    with pytest.raises(UsageError):
        write_report(busy, tmp_path / "report.pdf")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_prints_one_line_and_exits_3_for_an_unwritable_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")
    target = tmp_path / "missing" / "r.html"
    code = main(["simulate", str(EXAMPLE), "--requests", "300", "--no-store", "--report", str(target)])
    err = capsys.readouterr().err
    assert code == 3
    assert str(target) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()


# -- the wait distribution ---------------------------------------------------------------------------------------
def test_the_ccdf_treats_bin_0_as_a_step_at_zero_and_ends_at_zero():
    hist = np.zeros(HIST_BINS + 2, dtype=np.int64)
    hist[0] = 60  # 60% did not wait
    hist[1] = 10  # 10% waited less than HIST_LO
    b = 2 + 1000  # 30% in one bin: [HIST_LO * r^1000, HIST_LO * r^1001)
    hist[b] = 30
    x, y, p_wait, n = sim_report._ccdf(hist)
    assert n == 100
    assert p_wait == pytest.approx(0.4)
    assert y[0] == pytest.approx(0.4) and y[-1] == 0.0
    assert np.all(np.diff(y) <= 0) and np.all(np.diff(x) >= 0)
    assert x[-1] == pytest.approx(HIST_LO * HIST_RATIO ** 1001)
    assert x[-2] == pytest.approx(HIST_LO * HIST_RATIO ** 1000)
    assert y[-2] == pytest.approx(0.3)  # before the last bin, 30% still waited longer


def test_the_ccdf_of_nobody_waiting_is_empty():
    hist = np.zeros(HIST_BINS + 2, dtype=np.int64)
    hist[0] = 7
    x, _y, p_wait, n = sim_report._ccdf(hist)
    assert x.size == 0 and p_wait == 0.0 and n == 7


# -- strategies side by side: small multiples -------------------------------------------------------------------
def _figure():
    from matplotlib.figure import Figure

    return Figure(figsize=(12, 5))


@pytest.mark.parametrize("kind", ["queue", "utilization", "wait"])
def test_each_strategy_has_a_small_chart_of_its_own(busy_page, kind):
    ids = re.findall(rf'id="multiple-{kind}-([a-z0-9_]+)"', busy_page)
    assert sorted(ids) == sorted(STRATEGIES)


@pytest.mark.parametrize("draw, attr", [(sim_report_charts.queue, "series_queue"),
                                        (sim_report_charts.utilization, "series_utilization")])
def test_the_small_charts_share_one_y_axis_that_holds_every_series(busy, draw, attr):
    fig = _figure()
    draw(sim_report_charts.View(busy), fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(STRATEGIES)
    assert len({ax.get_ylim() for ax in axes}) == 1
    scale = 100.0 if attr == "series_utilization" else 1.0
    assert axes[0].get_ylim()[1] >= max(max(getattr(r, attr)) for r in busy.results) * scale
    # each chart draws its strategy in colour over the others in grey
    for ax, r in zip(axes, busy.results):
        assert ax.get_title(loc="left") == r.strategy
        assert len(ax.get_lines()) >= len(STRATEGIES)


def test_strategies_with_identical_series_share_one_small_chart(busy, tmp_path):
    first = busy.results[0]
    twin = dataclasses.replace(first, strategy="twin")
    page = _page(dataclasses.replace(busy, results=[first, twin]), tmp_path)
    assert re.findall(r'id="multiple-queue-([a-z0-9_]+)"', page) == [first.strategy]
    assert f"{first.strategy} = twin" in page


# -- per-agent load: each agent's own slots, closed and down periods marked --------------------------------------
def _heatmap(report):
    fig = _figure()
    sim_report_agents.heatmap(sim_report_charts.View(report), fig)
    ax = fig.axes[0]
    (image,) = ax.get_images()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return ax, image, labels


def test_the_heatmap_scales_each_agent_by_its_own_slots(busy):
    r = sim_report_charts.View(busy).best
    _ax, image, labels = _heatmap(busy)
    slots = {t.id: t.slots for t in busy.timelines}
    assert slots == {"alpha": 3, "beta": 2, "gamma": 2}
    assert sorted(labels) == sorted(f"{a} ({n} slots)" for a, n in slots.items())
    assert not any("max" in label for label in labels)
    assert image.get_clim() == (0, 100)
    cells = image.get_array()
    busy_counts = np.asarray(r.series_agents, dtype=float)
    ids = [a.id for a in r.agents]
    for row, label in enumerate(labels):
        agent = label.split(" ")[0]
        want = busy_counts[:, ids.index(agent)] / slots[agent] * 100
        got = cells[row]
        shown = ~np.ma.getmaskarray(got)
        assert np.allclose(np.asarray(got)[shown], want[shown])
        if agent != "beta":  # never closed nor down: every cell is drawn, and a full agent reaches 100%
            assert shown.all() and got.max() == 100.0


def test_a_down_agent_is_marked_apart_from_idle(busy, busy_page):
    _ax, image, labels = _heatmap(busy)
    row = next(i for i, label in enumerate(labels) if label.startswith("beta "))
    t = np.asarray(sim_report_charts.View(busy).best.series_t)
    after = t > 2 * 3600 + 60
    assert np.ma.getmaskarray(image.get_array()[row])[after].any()  # idle cells after the failure show the mark
    page = busy_page
    assert 'id="down-beta"' in page and ">down (--fail)<" in page  # the mark, and its legend
    assert 'id="down-alpha"' not in page and 'id="closed-' not in page and ">closed (business hours)<" not in page


def test_closed_hours_are_marked_apart_from_idle(closed, tmp_path):
    page = _page(closed, tmp_path)
    assert 'id="closed-desk"' in page and ">closed (business hours)<" in page
    assert 'id="closed-night"' not in page and 'id="down-' not in page and ">down (--fail)<" not in page
    (desk,) = [t for t in closed.timelines if t.id == "desk"]
    assert desk.closed(12 * 3600.0) == [(0.0, 9 * 3600.0)]
    assert "desk (4 slots)" in page and "night (1 slot)" in page


def test_a_run_where_requests_can_only_queue_carries_its_warning_into_the_report(tmp_path):
    text = BUSY_FLEET.replace("alpha: {", 'alpha: {business_hours: {timezone: UTC, days: [sat], start: "09:00", '
                                          'end: "10:00"}, ').replace("beta: {", "beta: {weight: 0, ")
    text = text.replace("gamma: {", 'gamma: {business_hours: {timezone: UTC, days: [sun], start: "09:00", '
                                    'end: "10:00"}, ')
    fleet = tmp_path / "shut.yaml"
    fleet.write_text(text)
    report = simulate(str(fleet), SimOptions(duration=3600.0), store=False)
    assert len(report.warnings) == 1 and "no agent is open" in report.warnings[0]
    page = _page(report, tmp_path)
    assert "warning: no agent is open" in page



@pytest.mark.parametrize("name, code", [("missing/r.html", 3), ("folder.html", 3), ("r.pdf", 2)])
def test_an_unwritable_report_is_refused_before_the_run_and_nothing_is_recorded(tmp_path, capsys, monkeypatch,
                                                                                name, code):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "folder.html").mkdir()
    db = tmp_path / "store.db"
    got = main(["--db", str(db), "simulate", str(EXAMPLE), "--requests", "300", "--report", str(tmp_path / name)])
    err = capsys.readouterr().err
    assert got == code and len(err.strip().splitlines()) == 1 and "warning" not in err, err
    assert not db.exists()  # the run never started, so the store was not even created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.html"]  # no temporary file left either


CTRL_C_DURING_IMPORT = """
import os, signal, sys, threading, time
delay = float(sys.argv[1])
from clawctl.render.sim_report import load_matplotlib
threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    load_matplotlib()
    time.sleep(2)  # the timer fires after the import, here
    print("no interrupt")
except KeyboardInterrupt:
    import matplotlib.backends.backend_agg, matplotlib.figure  # whole, not half-made
    print("interrupted, matplotlib whole")
"""


@pytest.mark.parametrize("delay", [0.01, 0.05, 0.1, 0.2, 0.4])
def test_ctrl_c_while_matplotlib_loads_is_held_until_it_is_whole(delay):
    """An interrupt inside matplotlib's pybind11 extension init left "ImportError: initialization failed" and
    an interpreter that aborted (-6) on its way out (seen in the demo's Ctrl-C test)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CTRL_C_DURING_IMPORT, str(delay)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "interrupted, matplotlib whole", done.stdout + done.stderr[-2000:]
