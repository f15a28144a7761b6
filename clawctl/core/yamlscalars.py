"""YAML scalar typing, pure: the YAML 1.2 core schema, and what a YAML 1.1 reader would do instead.

The loader resolves every plain scalar with :func:`resolve_core` (YAML 1.2: ``NO``, ``on`` and
``17:00`` stay strings). :func:`yaml11_value` says how a YAML 1.1 reader (PyYAML and many tools)
would read the same text, so ``validate`` can warn where the two disagree.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = {".nan", ".NaN", ".NAN"}
# First characters that can start a non-string plain scalar in the core schema.
_CORE_FIRST = frozenset("0123456789-+.~nNtTfF")

_MISSING = object()
_VALUE_KEY = "(the YAML 1.1 value key)"  # what a YAML 1.1 reader makes of a plain `=`

# YAML 1.2 integers are unbounded, but no fleet value needs more than 20 digits, and Python refuses
# to convert strings of more than 4,300 digits to int and back (640 at its strictest setting). Past
# this many digits the loader reports the scalar (Y006) instead of reading it.
MAX_INT_DIGITS = 100


class IntegerTooLong(ValueError):
    """A plain scalar that is an integer of more than :data:`MAX_INT_DIGITS` digits."""

    def __init__(self, digits: int) -> None:
        super().__init__(f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS})")
        self.digits = digits


_CORE_ANY = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def resolve_core(text: str) -> object:
    """The YAML 1.2 core-schema value of a plain scalar."""
    if not text:
        return None
    if text[0] not in _CORE_FIRST or not _CORE_ANY.fullmatch(text):
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT10.fullmatch(text):
        _check_digits(len(text.lstrip("+-")))
        return int(text)
    if _INT8.fullmatch(text):
        _check_digits(len(text) - 2)
        return int(text[2:], 8)
    if _INT16.fullmatch(text):
        _check_digits(len(text) - 2)
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text[0] == "-" else math.inf
    if text in _NAN:
        return math.nan
    return text


def _check_digits(digits: int) -> None:
    if digits > MAX_INT_DIGITS:
        raise IntegerTooLong(digits)


# YAML 1.1 (the type repository as PyYAML, go-yaml v2 and SnakeYAML implement it).
_Y11_BOOL = {
    **{w: True for w in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: False for w in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
}
_Y11_INT2 = re.compile(r"[-+]?0b[0-1_]+")
_Y11_INT8 = re.compile(r"[-+]?0[0-7_]+")
_Y11_INT10 = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")
_Y11_INT16 = re.compile(r"[-+]?0x[0-9a-fA-F_]+")
_Y11_INT60 = re.compile(r"[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+")
_Y11_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?")
_Y11_FLOAT60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*")
_Y11_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
_Y11_FIRST = frozenset("0123456789-+.~nNtTfFyYoO<=")


class _LongInteger:
    """What a YAML 1.1 reader makes of an integer too long to convert here: named, never shown."""

    def __repr__(self) -> str:
        return f"an integer of more than {MAX_INT_DIGITS} digits"


_LONG_INTEGER = _LongInteger()


def _y11_integer(text: str, base: int, prefix: int) -> object:
    """A YAML 1.1 integer (underscores allowed; ``prefix`` characters such as `0x` after the sign)."""
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-")[prefix:].replace("_", "")
    if not body:  # `0b_`, `0x_`: PyYAML fails on them; nothing to warn about
        return _MISSING
    if len(body) > MAX_INT_DIGITS:
        return _LONG_INTEGER
    return sign * int(body, base)


def _sexagesimal(text: str) -> float:
    sign = -1 if text[0] == "-" else 1
    total = 0.0
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + float(part)
    return sign * total


def _y11_timestamp(text: str) -> object:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("t", "T"))
    except ValueError:
        return text


_Y11_ANY = re.compile(
    "|".join([
        "|".join(re.escape(w) for w in _Y11_BOOL), "~|null|Null|NULL|=",
        _Y11_INT2.pattern, _Y11_INT8.pattern, _Y11_INT10.pattern, _Y11_INT16.pattern, _Y11_INT60.pattern,
        _Y11_FLOAT.pattern, _Y11_FLOAT60.pattern, _INF.pattern, r"\.(?:nan|NaN|NAN)", _Y11_TIMESTAMP.pattern,
    ])
)


def yaml11_value(text: str) -> object:
    """How a YAML 1.1 reader types a plain scalar (``_MISSING`` for "a string, as in 1.2")."""
    if not text or text[0] not in _Y11_FIRST or not _Y11_ANY.fullmatch(text):
        return _MISSING
    if text in _NULL:
        return None
    if text in _Y11_BOOL:
        return _Y11_BOOL[text]
    if text == "<<":
        return _MISSING  # merge key: both readers treat it specially
    if text == "=":
        return _VALUE_KEY
    if _Y11_INT2.fullmatch(text):
        return _y11_integer(text, 2, 2)
    if _Y11_INT16.fullmatch(text):
        return _y11_integer(text, 16, 2)
    if _Y11_INT8.fullmatch(text) and text.lstrip("+-") != "0":
        return _y11_integer(text, 8, 0)
    if _Y11_INT10.fullmatch(text):
        return _y11_integer(text, 10, 0)
    if _Y11_INT60.fullmatch(text):
        if len(text) > MAX_INT_DIGITS:
            return _LONG_INTEGER
        sign = -1 if text[0] == "-" else 1
        total = 0
        for part in text.lstrip("+-").replace("_", "").split(":"):
            total = total * 60 + int(part)
        return sign * total
    if _Y11_FLOAT60.fullmatch(text):
        return _sexagesimal(text)
    if _Y11_FLOAT.fullmatch(text):
        try:  # `._` or `-._` match the 1.1 pattern but hold no digit (PyYAML itself fails on them)
            return float(text.replace("_", ""))
        except ValueError:
            return _MISSING
    if _INF.fullmatch(text):
        return -math.inf if text[0] == "-" else math.inf
    if text in _NAN:
        return math.nan
    if _Y11_TIMESTAMP.fullmatch(text):
        return _y11_timestamp(text)
    return _MISSING


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):  # type: ignore[arg-type]
        return True
    return a == b


_LONG_INT_BITS = 332  # 2**332 has 100 digits
_LONG_STRING = 40  # longer strings are described as "a string", to keep messages short


def describe(value: object, *, quote: str = "`") -> str:
    """A short phrase for a YAML value, named by its type: ``the integer 1020``, ``the boolean false``.

    Used by the Y003 warning (how a YAML 1.1 reader types a scalar) and by schema findings (the value
    a key holds). Strings are shown between ``quote`` (backticks, as finding messages quote values);
    strings over 40 characters, lists and mappings are named by their type only.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        if value.bit_length() > _LONG_INT_BITS:  # str() of a huge int is slow, and refused past 4,300 digits
            return f"an integer of more than {MAX_INT_DIGITS} digits"
        return f"the integer {value}"
    if isinstance(value, _LongInteger):
        return repr(value)
    if isinstance(value, float):
        return f"the float {value:g}"
    if isinstance(value, datetime):
        return f"the timestamp {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the string {quote}{value}{quote}" if len(value) <= _LONG_STRING else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def yaml11_retype(text: str, core_value: object) -> str | None:
    """If a YAML 1.1 reader would read ``text`` differently from YAML 1.2, say how; else None."""
    if not text or text[0] not in _Y11_FIRST:
        return None
    old = yaml11_value(text)
    if old is _MISSING:
        old = text
    if _same(old, core_value):
        return None
    if text == "=":
        return _VALUE_KEY  # a key, not a value: nothing for describe() to name
    # Double quotes: the message goes on to say how to quote the scalar in YAML, `quote it ("17:00")`.
    return describe(old, quote='"')

