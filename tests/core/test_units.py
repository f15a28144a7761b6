import math

import pytest

from clawctl.core import units


@pytest.mark.parametrize("text, seconds", [
    ("250ms", 0.25), ("30s", 30), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("1d", 86400),
    ("1m30s", 90), ("1.5s", 1.5), (" 45 ", 45), (12, 12), (0.5, 0.5), ("0", 0),
])
def test_durations_in_every_documented_spelling(text, seconds):
    assert units.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "abc", "30 s", "1m1h", "5mm", "-3s", True, None, -1, [1], "1h 30m", math.inf])
def test_bad_durations_name_the_accepted_forms(bad):
    with pytest.raises(ValueError) as err:
        units.parse_duration(bad)
    assert "duration" in str(err.value)


@pytest.mark.parametrize("text, per_second", [
    ("120/min", 2.0), ("2/s", 2.0), ("50000/h", 50000 / 3600), ("1 / day", 1 / 86400), ("3/minute", 0.05),
])
def test_rates(text, per_second):
    assert units.parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("bad", ["120", 120, "2/fortnight", "/s", "x/s"])
def test_bad_rates(bad):
    with pytest.raises(ValueError):
        units.parse_rate(bad)


@pytest.mark.parametrize("text, value", [("85", 85), (85, 85), ("85%", 85), ("99.95%", 99.95), (0, 0), ("100%", 100)])
def test_percentages(text, value):
    assert units.parse_percent(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["101%", 150, "-5", "abc", True, "85 percent"])
def test_bad_percentages(bad):
    with pytest.raises(ValueError):
        units.parse_percent(bad)


@pytest.mark.parametrize("seconds, text", [(90, "1m30s"), (0.25, "250ms"), (3600, "1h"), (5, "5s")])
def test_format_duration_round_trips(seconds, text):
    assert units.format_duration(seconds) == text
    assert units.parse_duration(text) == pytest.approx(seconds)
