"""Consoles are made here, once per command and stream: colour only on a terminal, never under NO_COLOR."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

from clawctl.core.env import Env


def make_console(*, stderr: bool = False, no_color: bool = False, file: TextIO | None = None,
                 environ: object = None) -> Console:
    stream = file or (sys.stderr if stderr else sys.stdout)
    tty = isatty(stream)
    names = os.environ if environ is None else environ
    colour = not no_color and "NO_COLOR" not in names and tty
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


def console(env: Env, *, stderr: bool = False) -> Console:
    """The command's console for stdout (or stderr), made on first use and kept in ``env``."""
    key = "stderr" if stderr else "stdout"
    made = env.consoles.get(key)
    if made is None:
        made = env.consoles[key] = make_console(file=env.stderr if stderr else env.stdout, no_color=env.no_color,
                                                environ=env.environ)
    return made


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
