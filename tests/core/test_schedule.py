from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from clawctl.core import schedule as s

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, start, end, days", [
    ("9AM-6PM weekdays", 540, 1080, {0, 1, 2, 3, 4}),
    ("8AM-5PM weekdays", 480, 1020, {0, 1, 2, 3, 4}),
    ("09:00-17:30 Mon-Fri", 540, 1050, {0, 1, 2, 3, 4}),
    ("9:30am - 4:15pm daily", 570, 975, set(range(7))),
    ("22:00-06:00 Mon,Wed,Fri", 1320, 360, {0, 2, 4}),
    ("12AM-12PM weekends", 0, 720, {5, 6}),
    ("00:00-24:00 Sat-Mon", 0, 1440, {5, 6, 0}),
    ("9AM-12AM daily", 540, 1440, set(range(7))),
])
def test_schedule_grammar(text, start, end, days):
    hours = s.parse_schedule(text)
    assert (hours.start, hours.end, set(hours.days)) == (start, end, days)


@pytest.mark.parametrize("bad", ["9AM-6PM", "9-17 weekdays", "25:00-26:00 daily", "9AM-6PM someday",
                                 "13PM-2PM daily", "9:75AM-5PM daily", "nonsense", "9AM-6PM Mon,,Tue"])
def test_bad_schedules_raise(bad):
    with pytest.raises(ValueError):
        s.parse_schedule(bad)


def test_business_hours_are_read_in_the_agents_own_zone():
    hours = s.parse_schedule("9AM-6PM weekdays")
    # Monday 2026-11-23 13:59 UTC is 08:59 in New York (EST, UTC-5): closed; 14:00 UTC is 09:00: open.
    assert not s.is_open(hours, NY, utc(2026, 11, 23, 13, 59))
    assert s.is_open(hours, NY, utc(2026, 11, 23, 14, 0))
    assert s.is_open(hours, NY, utc(2026, 11, 23, 22, 59))
    assert not s.is_open(hours, NY, utc(2026, 11, 23, 23, 0))
    # Saturday 15:00 UTC: weekend in New York.
    assert not s.is_open(hours, NY, utc(2026, 11, 28, 15, 0))


def test_daylight_saving_moves_the_window_in_utc():
    hours = s.parse_schedule("9AM-5PM weekdays")
    # London is UTC+1 in July (BST) and UTC+0 in November.
    assert s.is_open(hours, LONDON, utc(2026, 7, 6, 8, 30))
    assert not s.is_open(hours, LONDON, utc(2026, 11, 23, 8, 30))


def test_overnight_window_belongs_to_the_day_it_opens():
    hours = s.parse_schedule("22:00-06:00 Mon-Fri")
    assert hours.crosses_midnight
    # Friday 23:00 London (UTC in November): open; Saturday 05:00: still Friday's shift; Saturday 23:00: closed.
    assert s.is_open(hours, LONDON, utc(2026, 11, 27, 23, 0))
    assert s.is_open(hours, LONDON, utc(2026, 11, 28, 5, 0))
    assert not s.is_open(hours, LONDON, utc(2026, 11, 28, 23, 0))
    # Monday 03:00: Sunday had no shift.
    assert not s.is_open(hours, LONDON, utc(2026, 11, 23, 3, 0))
    assert hours.minutes_per_week() == 8 * 60 * 5


def test_start_end_form_without_days_is_daily():
    hours = s.hours_from_parts("09:00", "17:00", None)
    assert hours.days == frozenset(range(7))
    assert s.hours_from_parts("9AM", "5PM", ["mon", "Tue"]).days == {0, 1}


def test_empty_window_never_opens():
    hours = s.parse_schedule("9AM-9AM daily")
    assert not hours.ever_open
    assert not s.is_open(hours, LONDON, utc(2026, 11, 23, 9, 0))


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        s.is_open(s.parse_schedule("9AM-5PM daily"), LONDON, datetime(2026, 1, 1, 12))


# -- hostile values: ValueError, never another exception, in bounded time -------------------------------

@pytest.mark.parametrize("value", [None, 9, 9.5, True, ["9AM-6PM weekdays"], {"a": 1}])
def test_a_schedule_that_is_not_text_is_a_value_error(value):
    with pytest.raises(ValueError, match="as text"):
        s.parse_schedule(value)


@pytest.mark.parametrize("value", [9, None, [["mon"]], [1], {"mon": 1}])
def test_days_that_are_not_text_are_a_value_error(value):
    with pytest.raises(ValueError):
        s.parse_days(value)


@pytest.mark.parametrize("value", [9, None, 9.5])
def test_a_time_that_is_not_text_is_a_value_error(value):
    with pytest.raises(ValueError):
        s.parse_time(value)
    with pytest.raises(ValueError):
        s.hours_from_parts(value, "5PM", None)


def test_a_long_schedule_is_refused_before_the_pattern_backtracks():
    # "a-" * 8 MiB: the schedule pattern's work grows with the square of the length.
    with pytest.raises(ValueError, match=r"too long to be a schedule \(16,777,216 characters\)"):
        s.parse_schedule("a-" * (8 << 20))


def test_digits_are_ascii_digits():
    with pytest.raises(ValueError):
        s.parse_time("٩:٠٠")  # Arabic-Indic digits: `\d` matched them
