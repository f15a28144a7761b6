"""The environment a command runs in, passed down instead of read from globals.

One :class:`Env` per command: where output goes, the clock, whether colour is wanted, where the
store is and which environment variables are visible. The CLI builds it from the process
(``clawctl.cli.env``); tests build it with captured streams and a fixed clock. Services take
``env.clock`` (never ``datetime.now()``); renderers write to ``env.stdout``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime in UTC."""


def iso(at: datetime) -> str:
    """``2026-01-05T09:30:00.000Z``: the one timestamp format of the store, JSON output and logs."""
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_now(clock: Clock) -> str:
    return iso(clock())


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, timezone.utc))


@dataclass
class Env:
    stdout: TextIO
    stderr: TextIO
    clock: Clock
    db: Path | None = None
    no_color: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    # Made by the render layer on first use (rich consoles for stdout and stderr), kept for the command.
    consoles: dict[str, Any] = field(default_factory=dict, repr=False)

    def now(self) -> datetime:
        return self.clock()

    def iso_now(self) -> str:
        return iso(self.clock())

    @property
    def colour_allowed(self) -> bool:
        """Colour unless --no-color or NO_COLOR (https://no-color.org); a terminal is checked per stream."""
        return not self.no_color and "NO_COLOR" not in self.environ
