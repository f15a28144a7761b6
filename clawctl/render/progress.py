"""A progress bar on a terminal (stderr) for work that takes more than a second; silent elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from clawctl.core.env import Env
from clawctl.render.console import console, isatty

SHOW_AFTER = 1.0


@contextmanager
def progress_bar(env: Env, *, enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """Yields ``step(label, fraction)``; the bar appears only on a terminal and after SHOW_AFTER seconds."""
    if not enabled or not isatty(env.stderr):
        yield lambda label, frac: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # a terminal only: 70 ms

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeRemainingColumn(), console=console(env, stderr=True), transient=True)
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

