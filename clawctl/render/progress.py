"""A progress bar on a terminal (stderr) for work that takes more than a second; silent elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from clawctl.render.console import make_console

SHOW_AFTER = 1.0


@contextmanager
def progress_bar(*, enabled: bool = True, no_color: bool = False) -> Iterator[Callable[[str, float], None]]:
    """Yields ``step(label, fraction)``; the bar appears only on a terminal and after SHOW_AFTER seconds."""
    if not enabled or not sys.stderr.isatty():
        yield lambda label, frac: None
        return
    console = make_console(stderr=True, no_color=no_color)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeRemainingColumn(), console=console, transient=True)
    started = time.monotonic()
    tasks: dict[str, int] = {}
    shown = False

    def step(label: str, frac: float) -> None:
        nonlocal shown
        if not shown and time.monotonic() - started < SHOW_AFTER:
            return
        if not shown:
            bar.start()
            shown = True
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=1.0)
        bar.update(tasks[label], completed=frac)

    try:
        yield step
    finally:
        if shown:
            bar.stop()
