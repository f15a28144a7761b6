"""Business hours: the schedule grammar and "is agent X available at instant T" (pure).

Grammar (docs/fleet-format.md): ``<time>-<time> <days>``; a time is ``9AM``, ``9:30AM`` or ``18:00``;
days are ``daily``, ``weekdays``, ``weekends``, a range ``Mon-Fri`` or a list ``Mon,Wed,Fri``.
An end before the start crosses midnight: the window opens on each listed day and closes on the
next day. ``24:00`` (or ``12AM`` as an end) means the end of the day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{d: i for i, d in enumerate(DAY_NAMES)},
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "tues": 1, "thur": 3, "thurs": 3,
}
_DAY_SETS = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_TIME = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?\s*([ap]\.?m\.?)?", re.IGNORECASE)
_SCHEDULE = re.compile(r"\s*(\S+?)\s*-\s*(\S+)\s+(.+?)\s*")
# No time, day list or schedule takes this many characters; longer text is refused before any
# pattern runs (the schedule pattern backtracks: its work grows with the square of the length).
MAX_TEXT = 200
_SHOWN = 40

SCHEDULE_FORMS = "`9AM-6PM weekdays`, `09:00-17:30 Mon-Fri` or `22:00-06:00 Mon,Wed,Fri`"


@dataclass(frozen=True, slots=True)
class Hours:
    """A weekly window: minutes after local midnight, and the days (0 = Monday) it opens on."""

    start: int
    end: int
    days: frozenset[int]

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start and not (self.start == 0 and self.end == 24 * 60)

    @property
    def ever_open(self) -> bool:
        return bool(self.days) and self.start != self.end

    def open_at_local(self, weekday: int, minute: float) -> bool:
        """Whether the window is open at local ``weekday`` (0 = Monday), ``minute`` after midnight."""
        if not self.ever_open:
            return False
        if not self.crosses_midnight:
            return weekday in self.days and self.start <= minute < self.end
        if weekday in self.days and minute >= self.start:
            return True
        return (weekday - 1) % 7 in self.days and minute < self.end

    def minutes_per_week(self) -> int:
        if not self.ever_open:
            return 0
        length = (self.end - self.start) % (24 * 60) or 24 * 60
        return length * len(self.days)


def _show(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def _text(value: object, what: str, forms: str) -> str:
    """``value`` as a string short enough to parse, else the ValueError every parser here raises."""
    if not isinstance(value, str):
        raise ValueError(f"expected {what} as text ({forms}), got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise ValueError(f"`{_show(value)}` is too long to be {what} ({len(value):,} characters); use {forms}")
    return value


def parse_time(text: str, *, is_end: bool = False) -> int:
    """Minutes after midnight for ``9AM``, ``9:30am``, ``18:00``; ``24:00`` only as an end."""
    text = _text(text, "a time", "`9AM`, `9:30AM` or `18:00`")
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"`{text}` is not a time; use `9AM`, `9:30AM` or `18:00`")
    hour, minute, meridiem = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if minute > 59:
        raise ValueError(f"`{text}` has minutes past 59")
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"`{text}`: a 12-hour time takes hours 1 to 12")
        pm = meridiem.lower().startswith("p")
        hour = (hour % 12) + (12 if pm else 0)
        if is_end and hour == 0 and minute == 0:
            return 24 * 60
    elif m.group(2) is None:
        raise ValueError(f"`{text}` is ambiguous; write `{hour}AM`, `{hour}PM` or `{hour:02d}:00`")
    if hour == 24 and minute == 0 and is_end:
        return 24 * 60
    if hour > 23:
        raise ValueError(f"`{text}` has an hour past 23")
    return hour * 60 + minute


_DAY_FORMS = "`daily`, `weekdays`, `weekends`, `Mon-Fri`, `Mon,Wed,Fri` or a list of days"


def _day(token: str) -> int:
    key = token.strip().lower()
    if key not in _DAY_ALIASES:
        raise ValueError(f"`{_show(token.strip())}` is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
    return _DAY_ALIASES[key]


def parse_days(spec: str | list[str]) -> frozenset[int]:
    """Days from ``daily``, ``weekdays``, ``weekends``, ``Mon-Fri``, ``Mon,Wed,Fri`` or a list."""
    if isinstance(spec, list):
        out: set[int] = set()
        for item in spec:  # items are day specs as text: a list in a list is refused, not recursed into
            out |= parse_days(_text(item, "days", _DAY_FORMS))
        return frozenset(out)
    spec = _text(spec, "days", _DAY_FORMS)
    text = spec.strip().lower()
    if text in _DAY_SETS:
        return _DAY_SETS[text]
    days: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            i = a
            while True:
                days.add(i)
                if i == b:
                    break
                i = (i + 1) % 7
        elif part.strip():
            days.add(_day(part))
        else:
            raise ValueError(f"`{spec}` has an empty day in its list")
    return frozenset(days)


def parse_schedule(text: str) -> Hours:
    """``9AM-6PM weekdays`` -> :class:`Hours`."""
    return _parse_schedule(_text(text, "a schedule", SCHEDULE_FORMS))


@lru_cache(maxsize=2048)
def _parse_schedule(text: str) -> Hours:
    m = _SCHEDULE.fullmatch(text)
    if not m:
        raise ValueError(f"`{text}` is not a schedule; use {SCHEDULE_FORMS}")
    start = parse_time(m.group(1))
    end = parse_time(m.group(2), is_end=True)
    return Hours(start, end, parse_days(m.group(3)))


def hours_from_parts(start: str, end: str, days: list[str] | str | None) -> Hours:
    """The ``{start, end, days}`` form; without ``days`` the window opens every day."""
    return Hours(
        parse_time(start),
        parse_time(end, is_end=True),
        parse_days(days) if days is not None else _DAY_SETS["daily"],
    )


def is_open(hours: Hours, zone: tzinfo, instant: datetime) -> bool:
    """Whether ``hours`` in time zone ``zone`` are open at the aware ``instant``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(zone)
    minute = local.hour * 60 + local.minute + local.second / 60
    return hours.open_at_local(local.weekday(), minute)

