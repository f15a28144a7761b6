"""Scalar typing: the YAML 1.2 core schema, and where a YAML 1.1 reader (PyYAML) disagrees."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from clawctl.core import yamlscalars as ys
from clawctl.core.yamlscalars import describe, resolve_core, yaml11_retype, yaml11_value


@pytest.mark.parametrize("text, value", [
    ("", None), ("~", None), ("null", None), ("Null", None), ("NULL", None),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
    ("0", 0), ("-0", 0), ("+12", 12), ("0755", 755), ("00", 0),
    ("0o17", 15), ("0o0", 0), ("0x1F", 31), ("0xff", 255),
    ("1e3", 1000.0), ("1.5", 1.5), ("-.5", -0.5), ("1.", 1.0), ("2.5E-3", 0.0025), ("+1.0e+3", 1000.0),
    (".inf", math.inf), ("+.Inf", math.inf), ("-.INF", -math.inf),
    # Strings in YAML 1.2 (and some of them not in 1.1):
    ("NO", "NO"), ("no", "no"), ("on", "on"), ("off", "off"), ("yes", "yes"), ("y", "y"), ("n", "n"),
    ("17:00", "17:00"), ("09:00", "09:00"), ("1:30:00", "1:30:00"),
    ("0b101", "0b101"), ("1_000", "1_000"), ("0o8", "0o8"), ("0x", "0x"), ("0X1F", "0X1F"), ("0O17", "0O17"),
    ("2024-01-01", "2024-01-01"), (".", "."), ("+", "+"), ("-", "-"), ("1e", "1e"), ("e3", "e3"),
    ("nulls", "nulls"), ("truely", "truely"), ("tRUE", "tRUE"), ("inf", "inf"), (".Nan", ".Nan"),
    ("250ms", "250ms"), ("24/7", "24/7"), ("99.95%", "99.95%"), ("us-east", "us-east"),
])
def test_resolve_core(text, value):
    got = resolve_core(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", [".nan", ".NaN", ".NAN"])
def test_resolve_core_nan(text):
    assert math.isnan(resolve_core(text))


@pytest.mark.parametrize("text, value", [
    ("17:00", 1020), ("1:30:00", 5400), ("-1:00", -60), ("190:20:30", 685230), ("1:30.5", 90.5),
    ("NO", False), ("on", True), ("Off", False), ("YES", True), ("y", True), ("N", False),
    ("0755", 493), ("0b101", 5), ("0x_1F", 31), ("1_000", 1000), ("+0", 0),
    ("1.0e+3", 1000.0), ("1.5", 1.5), (".5", 0.5),
    ("2024-01-01", date(2024, 1, 1)),
    ("2001-12-14t21:59:43.10-05:00", datetime(2001, 12, 14, 21, 59, 43, 100000, timezone(timedelta(hours=-5)))),
    ("~", None), ("null", None),
])
def test_yaml11_value(text, value):
    got = yaml11_value(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["09:00", "1e3", "0o17", "<<", "", "hello", "_1", ".", "+.", "2024-1-1x"])
def test_yaml11_strings(text):
    assert yaml11_value(text) is ys._MISSING


@pytest.mark.parametrize("text, says", [
    ("17:00", "the integer 1020"),
    ("NO", "the boolean false"),
    ("on", "the boolean true"),
    ("0755", "the integer 493"),
    ("1e3", 'the string "1e3"'),
    ("0o17", 'the string "0o17"'),
    ("2024-01-01", "the date 2024-01-01"),
    ("=", "(the YAML 1.1 value key)"),
])
def test_retyped(text, says):
    assert yaml11_retype(text, resolve_core(text)) == says


@pytest.mark.parametrize("text", ["09:00", "0x1F", "12", "0", "1.5", ".5", "-.inf", ".nan", "true", "False",
                                  "~", "null", "", "hello", "<<", "us-east", "24/7", "1.0e+3"])
def test_not_retyped(text):
    assert yaml11_retype(text, resolve_core(text)) is None


def test_quoted_values_compare_as_strings():
    # The loader asks about a quoted "17:00" as the string it is; a 1.1 reader agrees it is a string.
    assert yaml11_retype("hello", "hello") is None


def test_same_distinguishes_bool_from_int():
    assert yaml11_retype("1", True) == "the integer 1"


@pytest.mark.parametrize("value, text", [
    (None, "null"), (True, "the boolean true"), (False, "the boolean false"), (1020, "the integer 1020"),
    (1.5, "the float 1.5"), (1e20, "the float 1e+20"), (date(2024, 1, 1), "the date 2024-01-01"),
    (datetime(2024, 1, 1, 9, 0), "the timestamp 2024-01-01T09:00:00"), ("x", "the string `x`"),
    ("(x)", "the string `(x)`"), ("a" * 40, f"the string `{'a' * 40}`"), ("a" * 41, "a string"),
    ([1, 2], "a list"), ({"a": 1}, "a mapping"),
])
def test_describe(value, text):
    assert describe(value) == text


def test_describe_quotes_strings_as_told():
    assert describe("x", quote='"') == 'the string "x"'


# -- integers of any length (attack report: ValueError on 5,000 digits, OverflowError in YAML 1.1 forms) --

@pytest.mark.parametrize("text, digits", [("1" * 101, 101), ("-" + "1" * 5000, 5000), ("0o" + "7" * 20_000, 20_000),
                                          ("0x" + "f" * 101, 101)])
def test_an_integer_over_100_digits_is_integer_too_long(text, digits):
    with pytest.raises(ys.IntegerTooLong) as err:
        resolve_core(text)
    assert err.value.digits == digits and isinstance(err.value, ValueError)


def test_an_integer_of_100_digits_is_read():
    assert resolve_core("-" + "9" * 100) == -int("9" * 100)
    assert resolve_core("0x" + "f" * 100) == int("f" * 100, 16)


def test_a_long_float_is_read_as_a_float():
    assert resolve_core("1" * 5000 + ".5") == math.inf


@pytest.mark.parametrize("text", ["1_" * 3000 + "1", "1" * 400 + ":00", "0b" + "1" * 200, "0x_" + "f" * 200,
                                  "0" + "7" * 200])
def test_yaml11_integers_too_long_to_show_are_named_not_printed(text):
    said = yaml11_retype(text, text)
    assert said == "an integer of more than 100 digits"


@pytest.mark.parametrize("text", ["0b_", "0x_", "-0b_", "+0x__"])
def test_yaml11_prefix_without_digits_is_a_string(text):
    assert yaml11_retype(text, text) is None


def test_describe_a_huge_integer_without_converting_it():
    assert describe(10 ** 5000) == "an integer of more than 100 digits"
    assert describe(10 ** 99) == f"the integer {10 ** 99}"


@pytest.mark.parametrize("text", [".", "._", "-._", "+.__", "._e+1"])
def test_yaml11_float_shapes_without_a_digit_are_strings(text):
    """Found by the property test on a fresh install: `._` matched the YAML 1.1 float pattern and
    float('.') raised, which made a key `._` exit 70."""
    from clawctl.core.yamlscalars import yaml11_retype

    assert yaml11_retype(text, text) is None
