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


# -- hostile values (attack report: every parser parses or raises ValueError, in bounded time) ----------

@pytest.mark.parametrize("text", ["9" * 400 + "s", "9" * 400 + "h", "9" * 400])
def test_a_duration_too_large_for_a_float_is_a_value_error(text):
    with pytest.raises(ValueError):
        units.parse_duration(text)


def test_a_rate_too_large_for_a_float_is_a_value_error():
    with pytest.raises(ValueError, match="too long"):
        units.parse_rate("9" * 400 + "/s")


@pytest.mark.parametrize("parse", [units.parse_duration, units.parse_rate, units.parse_percent])
def test_long_text_is_refused_before_any_pattern_runs(parse):
    # "1" * 16 MiB + "x": the old `finditer` retried the digit run from every position (quadratic).
    with pytest.raises(ValueError, match=r"too long to be .* \(16,777,217 characters\)") as err:
        parse("1" * (16 << 20) + "x")
    assert len(str(err.value)) < 200  # the message quotes a piece of the value, not all of it


@pytest.mark.parametrize("text", ["1_000", "1e3", "nan", "inf", "٣", "١s", "+5", "1.", "0x10"])
def test_only_the_documented_number_spellings_are_durations(text):
    with pytest.raises(ValueError):
        units.parse_duration(text)


@pytest.mark.parametrize("seconds, text", [(1e-8, "0.00001ms"), (3600 + 1e-9, "1h0.000000001s"), (1e-13, "0ms"),
                                           (59.9999999, "60s")])
def test_format_duration_never_writes_an_exponent(seconds, text):
    assert units.format_duration(seconds) == text
    assert units.parse_duration(text) == pytest.approx(seconds, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("bad", [math.inf, math.nan, -1.0, True])
def test_format_duration_refuses_what_is_no_duration(bad):
    with pytest.raises(ValueError):
        units.format_duration(bad)
