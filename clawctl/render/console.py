"""Consoles are made here, once per command: colour only on a terminal, never under NO_COLOR."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console


def make_console(*, stderr: bool = False, no_color: bool = False, file: TextIO | None = None) -> Console:
    stream = file or (sys.stderr if stderr else sys.stdout)
    tty = stream.isatty()
    colour = not no_color and "NO_COLOR" not in os.environ and tty
    return Console(
        width=None if tty else 1000,  # piped output is never truncated or wrapped
        file=stream,
        no_color=not colour,
        color_system="auto" if colour else None,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
    )
