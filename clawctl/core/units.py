"""Durations, rates and percentages as the fleet format writes them (pure functions).

Each parser takes the YAML value (already typed by the loader) and returns a number, or raises
:class:`ValueError` with a message that names the accepted forms.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_ORDER = ["d", "h", "m", "s", "ms"]
DURATION_FORMS = "`250ms`, `30s`, `2m`, `1h`, `1h30m` or a number of seconds"

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*/\s*([a-z]+)\s*")
_RATE_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}
RATE_FORMS = "`120/min`, `2/s` or `50000/h`"

_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*")
PERCENT_FORMS = "`85`, `85%` or `99.95%`"


def _finite_non_negative(value: float, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got a boolean")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return float(value)


@lru_cache(maxsize=4096)
def _parse_duration_text(text: str) -> float:
    s = text.strip()
    if not s:
        raise ValueError(f"empty duration; use {DURATION_FORMS}")
    try:
        return _finite_non_negative(float(s), "a duration")
    except ValueError:
        pass
    pos = 0
    total = 0.0
    last_rank = -1
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        rank = _DURATION_ORDER.index(m.group(2))
        if rank <= last_rank:
            raise ValueError(f"`{text}` repeats or misorders its units; a duration is {DURATION_FORMS}")
        last_rank = rank
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"`{text}` is not a duration; use {DURATION_FORMS}")
    return total


def parse_duration(value: object) -> float:
    """Seconds from ``250ms``, ``30s``, ``2m``, ``1h``, ``1h30m``, ``1d`` or a bare number of seconds."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a duration ({DURATION_FORMS})")
    if isinstance(value, (int, float)):
        return _finite_non_negative(value, "a duration")
    if isinstance(value, str):
        return _parse_duration_text(value)
    raise ValueError(f"expected a duration ({DURATION_FORMS})")


@lru_cache(maxsize=1024)
def _parse_rate_text(text: str) -> float:
    m = _RATE.fullmatch(text)
    if not m:
        raise ValueError(f"`{text}` is not a rate; use {RATE_FORMS}")
    unit = m.group(2)
    if unit not in _RATE_UNITS:
        raise ValueError(f"`{text}` has an unknown time unit `{unit}`; use {RATE_FORMS}")
    return float(m.group(1)) / _RATE_UNITS[unit]


def parse_rate(value: object) -> float:
    """Events per second from ``120/min``, ``2/s``, ``50000/h``."""
    if isinstance(value, str):
        return _parse_rate_text(value)
    raise ValueError(f"expected a rate with a unit ({RATE_FORMS})")


def parse_percent(value: object) -> float:
    """A percentage in 0..100 from ``85``, ``85%`` or ``99.95%``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a percentage ({PERCENT_FORMS})")
    if isinstance(value, (int, float)):
        number = _finite_non_negative(value, "a percentage")
    elif isinstance(value, str):
        m = _PERCENT.fullmatch(value)
        if not m:
            raise ValueError(f"`{value}` is not a percentage; use {PERCENT_FORMS}")
        number = float(m.group(1))
    else:
        raise ValueError(f"expected a percentage ({PERCENT_FORMS})")
    if number > 100:
        raise ValueError(f"a percentage must be between 0 and 100, got {number:g}")
    return number


def format_duration(seconds: float) -> str:
    """The shortest fleet-format spelling of a number of seconds (``90`` -> ``1m30s``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts = []
    rest = seconds
    for unit in ("h", "m"):
        size = _DURATION_UNITS[unit]
        whole = int(rest // size)
        if whole:
            parts.append(f"{whole}{unit}")
            rest -= whole * size
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)
