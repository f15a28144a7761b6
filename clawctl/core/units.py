"""Durations, rates and percentages as the fleet format writes them (pure functions).

Each parser takes the YAML value (already typed by the loader) and returns a number, or raises
:class:`ValueError` with a message that names the accepted forms.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_ORDER = ["d", "h", "m", "s", "ms"]
DURATION_FORMS = "`250ms`, `30s`, `2m`, `1h`, `1h30m` or a number of seconds"

# A bare number, as the exported JSON Schema's patterns write it (no sign, exponent or underscore).
_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*")
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*/\s*([a-z]+)\s*")
_RATE_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}
RATE_FORMS = "`120/min`, `2/s` or `50000/h`"

_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*%?\s*")
PERCENT_FORMS = "`85`, `85%` or `99.95%`"

# No duration, rate or percentage takes 100 characters. Longer text is refused before any pattern
# runs, so work stays small whatever the input; shorter text is cached.
MAX_TEXT = 100
_SHOWN = 40  # characters of a refused value quoted back in a message


def _show(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def _finite_non_negative(value: float, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got a boolean")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {_show(str(value))}")
    return float(value)


def _too_long(text: str, what: str, forms: str) -> ValueError:
    return ValueError(f"`{_show(text)}` is too long to be {what} ({len(text):,} characters); use {forms}")


@lru_cache(maxsize=4096)
def _parse_duration_text(text: str) -> float:
    s = text.strip()
    if not s:
        raise ValueError(f"empty duration; use {DURATION_FORMS}")
    if _NUMBER.fullmatch(s):
        return _finite_non_negative(float(s), "a duration")
    pos = 0
    total = 0.0
    last_rank = -1
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)  # anchored at pos: one pass over the text
        if not m:
            break
        rank = _DURATION_ORDER.index(m.group(2))
        if rank <= last_rank:
            raise ValueError(f"`{_show(text)}` repeats or misorders its units; a duration is {DURATION_FORMS}")
        last_rank = rank
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"`{_show(text)}` is not a duration; use {DURATION_FORMS}")
    return _finite_non_negative(total, "a duration")


def parse_duration(value: object) -> float:
    """Seconds from ``250ms``, ``30s``, ``2m``, ``1h``, ``1h30m``, ``1d`` or a bare number of seconds."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a duration ({DURATION_FORMS})")
    if isinstance(value, (int, float)):
        return _finite_non_negative(value, "a duration")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _too_long(value, "a duration", DURATION_FORMS)
        return _parse_duration_text(value)
    raise ValueError(f"expected a duration ({DURATION_FORMS})")


@lru_cache(maxsize=1024)
def _parse_rate_text(text: str) -> float:
    m = _RATE.fullmatch(text)
    if not m:
        raise ValueError(f"`{_show(text)}` is not a rate; use {RATE_FORMS}")
    unit = m.group(2)
    if unit not in _RATE_UNITS:
        raise ValueError(f"`{_show(text)}` has an unknown time unit `{_show(unit)}`; use {RATE_FORMS}")
    return _finite_non_negative(float(m.group(1)) / _RATE_UNITS[unit], "a rate")


def parse_rate(value: object) -> float:
    """Events per second from ``120/min``, ``2/s``, ``50000/h``."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _too_long(value, "a rate", RATE_FORMS)
        return _parse_rate_text(value)
    raise ValueError(f"expected a rate with a unit ({RATE_FORMS})")


def parse_percent(value: object) -> float:
    """A percentage in 0..100 from ``85``, ``85%`` or ``99.95%``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a percentage ({PERCENT_FORMS})")
    if isinstance(value, (int, float)):
        number = _finite_non_negative(value, "a percentage")
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _too_long(value, "a percentage", PERCENT_FORMS)
        m = _PERCENT.fullmatch(value)
        if not m:
            raise ValueError(f"`{_show(value)}` is not a percentage; use {PERCENT_FORMS}")
        number = float(m.group(1))
    else:
        raise ValueError(f"expected a percentage ({PERCENT_FORMS})")
    if number > 100:
        raise ValueError(f"a percentage must be between 0 and 100, got {number:g}")
    return number


def _plain(number: float) -> str:
    """``number`` in at most 6 significant digits, never in exponent form (which no parser reads)."""
    text = f"{number:g}"
    if "e" in text:
        text = f"{number:.9f}".rstrip("0").rstrip(".") or "0"
    return text


def format_duration(seconds: float) -> str:
    """The shortest fleet-format spelling of a number of seconds (``90`` -> ``1m30s``).

    :func:`parse_duration` reads it back to within 6 significant digits (and 1e-9 s).
    """
    if isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite number >= 0, got {seconds!r}")
    if seconds < 1:
        return f"{_plain(seconds * 1000)}ms"
    parts = []
    rest = seconds
    for unit in ("h", "m"):
        size = _DURATION_UNITS[unit]
        whole = int(rest // size)
        if whole:
            parts.append(f"{whole}{unit}")
            rest -= whole * size
    rest = max(rest, 0.0)  # float error can leave a hair below zero
    if rest or not parts:
        parts.append(f"{_plain(rest)}s")
    return "".join(parts)
