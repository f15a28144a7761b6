"""Property tests of the value parsers: durations, rates, percentages and business-hour schedules.

Each parser either returns a value in its range or raises ValueError (which the schema turns into a
finding), for any input, in bounded time; and what it prints, it reads back. Derandomized and
without an example database by default; `CLAWCTL_SOAK=1` draws fifty times as many fresh examples.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clawctl.core import schedule, units

SOAK = os.environ.get("CLAWCTL_SOAK") == "1"


def budget(examples: int, *, seconds: float = 0.5) -> settings:
    return settings(
        max_examples=examples * (50 if SOAK else 1),
        derandomize=not SOAK,
        database=None,
        deadline=timedelta(seconds=seconds),
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=SOAK,
    )


# Anything a YAML value can be, and text shaped like what the parsers read (long runs included).
_PIECES = ["0", "1", "9", "12", ".", "5", "ms", "s", "m", "h", "d", "/", "min", "hour", "%", " ", "\t", "-", ":",
           "AM", "pm", "a.m.", "Mon", "fri", "weekdays", "daily", ",", "Sat-Mon", "24:00", "12AM", "1" * 400,
           "9" * 30 + ".", "1e5", "_", "nan", "inf", "٣", "é"]
shaped = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=40).map("".join)
anything = st.one_of(
    shaped, st.text(max_size=300), st.integers(), st.floats(), st.booleans(), st.none(),
    st.lists(st.one_of(shaped, st.integers(), st.none(), st.lists(shaped, max_size=2)), max_size=4),
    st.dictionaries(shaped, shaped, max_size=2),
)


def _ok_or_value_error(parse, value):
    try:
        return parse(value)
    except ValueError as err:
        assert str(err) and len(str(err)) < 400  # the message quotes at most a short piece of the input
        return None


# -- durations ------------------------------------------------------------------------------------------

@budget(400)
@given(anything)
def test_parse_duration_returns_seconds_or_value_error(value):
    seconds = _ok_or_value_error(units.parse_duration, value)
    if seconds is not None:
        assert isinstance(seconds, float) and math.isfinite(seconds) and seconds >= 0


def _long(pieces: list[str]) -> st.SearchStrategy[str]:
    """A piece repeated into thousands of characters (what made the old patterns backtrack)."""
    return st.tuples(st.sampled_from(pieces), st.integers(1000, 20_000), st.sampled_from(["", "x", " weekdays"])) \
        .map(lambda t: t[0] * (t[1] // len(t[0])) + t[2])


@budget(100)
@given(_long(["1", "1.", "1m", "9h1", "0.5s", "1ms"]))
def test_long_duration_text_is_refused_quickly(text):
    assert _ok_or_value_error(units.parse_duration, text) is None


_parts = st.lists(st.sampled_from(["d", "h", "m", "s", "ms"]), min_size=1, max_size=5, unique=True)


@budget(300)
@given(_parts, st.lists(st.integers(0, 10**6), min_size=5, max_size=5))
def test_duration_text_sums_its_parts(unit_names, amounts):
    order = ["d", "h", "m", "s", "ms"]
    chosen = sorted(unit_names, key=order.index)
    text = "".join(f"{amounts[i]}{u}" for i, u in enumerate(chosen))
    expected = sum(amounts[i] * {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for i, u in enumerate(chosen))
    assert units.parse_duration(text) == pytest.approx(expected)
    if len(chosen) > 1:  # the same units out of order are refused
        with pytest.raises(ValueError, match="misorders"):
            units.parse_duration("".join(f"{amounts[i]}{u}" for i, u in enumerate(reversed(chosen))))


@budget(600)
@given(st.one_of(st.floats(0, 1e12, allow_nan=False), st.floats(0, 1, allow_nan=False),
                 st.integers(0, 10**9).map(float), st.sampled_from([1e-7, 1e-9, 3600.000000001, 59.9999999, 0.0])))
def test_a_printed_duration_reads_back(seconds):
    text = units.format_duration(seconds)
    assert "e" not in text and " " not in text
    assert units.parse_duration(text) == pytest.approx(seconds, rel=1e-5, abs=1e-9)


@budget(200)
@given(st.one_of(st.floats(max_value=-1e-300), st.just(math.inf), st.just(math.nan)))
def test_format_duration_refuses_what_no_duration_is(seconds):
    with pytest.raises(ValueError):
        units.format_duration(seconds)


# -- rates and percentages ------------------------------------------------------------------------------

@budget(500)
@given(anything)
def test_parse_rate_returns_a_rate_or_value_error(value):
    rate = _ok_or_value_error(units.parse_rate, value)
    if rate is not None:
        assert isinstance(rate, float) and math.isfinite(rate) and rate >= 0


@budget(300)
@given(st.integers(0, 10**9), st.sampled_from(["s", "sec", "second", "min", "minute", "h", "hr", "hour", "d", "day"]),
       st.sampled_from(["", " "]))
def test_rate_text_divides_by_its_unit(count, unit, space):
    seconds = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600,
               "d": 86400, "day": 86400}[unit]
    assert units.parse_rate(f"{count}{space}/{space}{unit}") == pytest.approx(count / seconds)


@budget(500)
@given(anything)
def test_parse_percent_returns_0_to_100_or_value_error(value):
    percent = _ok_or_value_error(units.parse_percent, value)
    if percent is not None:
        assert 0 <= percent <= 100


@budget(200)
@given(st.decimals(0, 100, places=3, allow_nan=False), st.booleans())
def test_a_percentage_reads_back(number, sign):
    text = f"{number}{'%' if sign else ''}"
    assert units.parse_percent(text) == pytest.approx(float(number))


# -- schedules ------------------------------------------------------------------------------------------

@budget(600)
@given(anything)
def test_parse_schedule_returns_hours_or_value_error(value):
    hours = _ok_or_value_error(schedule.parse_schedule, value)
    if hours is not None:
        assert 0 <= hours.start < 24 * 60 and 0 < hours.end <= 24 * 60 or hours.end == 0
        assert hours.days <= frozenset(range(7))


@budget(300)
@given(st.one_of(anything, st.lists(anything, max_size=3)))
def test_parse_days_and_parse_time_return_values_or_value_error(value):
    days = _ok_or_value_error(schedule.parse_days, value)
    assert days is None or days <= frozenset(range(7))
    minute = _ok_or_value_error(schedule.parse_time, value)
    assert minute is None or 0 <= minute < 24 * 60
    minute = _ok_or_value_error(lambda v: schedule.parse_time(v, is_end=True), value)
    assert minute is None or 0 <= minute <= 24 * 60


@budget(100)
@given(_long(["a-", "9AM-", "-", "9AM-6PM ", "Mon,", "a -b "]))
def test_long_schedule_text_is_refused_quickly(text):
    assert _ok_or_value_error(schedule.parse_schedule, text) is None


_DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _clock(minute: int, twelve_hour: bool) -> str:
    hour, rest = divmod(minute, 60)
    if not twelve_hour:
        return f"{hour:02d}:{rest:02d}"
    meridiem = "AM" if hour < 12 else "PM"
    return f"{hour % 12 or 12}:{rest:02d}{meridiem}"


@budget(400)
@given(st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60 - 1), st.sets(st.integers(0, 6), min_size=1),
       st.booleans(), st.booleans())
def test_a_printed_schedule_reads_back(start, end, days, twelve_hour, as_list):
    assume(start != end)
    spelled = ",".join(_DAY_NAMES[d] for d in sorted(days)) if as_list else \
        f"{_DAY_NAMES[min(days)]}-{_DAY_NAMES[max(days)]}"
    want_days = days if as_list else set(range(min(days), max(days) + 1))
    text = f"{_clock(start, twelve_hour)}-{_clock(end, twelve_hour)} {spelled}"
    hours = schedule.parse_schedule(text)
    assert (hours.start, hours.end % (24 * 60), set(hours.days)) == (start, end, want_days)


@budget(100, seconds=2.0)
@given(st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60), st.sets(st.integers(0, 6)))
def test_open_minutes_add_up_to_minutes_per_week(start, end, days):
    hours = schedule.Hours(start, end, frozenset(days))
    open_minutes = sum(hours.open_at_local(day, minute) for day in range(7) for minute in range(24 * 60))
    assert open_minutes == hours.minutes_per_week()


@budget(200)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)),
       st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]))
def test_is_open_answers_for_any_instant_and_zone(instant, zone):
    hours = schedule.parse_schedule("9AM-6PM weekdays")
    assert schedule.is_open(hours, ZoneInfo(zone), instant) in (True, False)
