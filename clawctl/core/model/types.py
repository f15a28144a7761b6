"""Field types of the fleet model: durations, rates, percentages, time zones, URLs, ids.

Each type validates the YAML value, stores a number or a normalised string, raises a
``PydanticCustomError`` whose type names the lint rule that reports it, and describes itself in the
JSON Schema so editors accept the same spellings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from clawctl.core import limits, units

AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
AGENT_ID_MAX = 63
_AGENT_ID = re.compile(AGENT_ID_PATTERN)
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

DURATION_PATTERN = r"^\s*(?:\d+(?:\.\d+)?|\.\d+)\s*$|^(?:(?:\d+(?:\.\d+)?|\.\d+)(?:ms|s|m|h|d))+$"
RATE_PATTERN = r"^\s*(?:\d+(?:\.\d+)?|\.\d+)\s*/\s*(?:s|sec|second|min|minute|h|hr|hour|d|day)\s*$"
PERCENT_PATTERN = r"^\s*(?:\d+(?:\.\d+)?|\.\d+)\s*%?\s*$"


def _custom(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _duration(value: object) -> float:
    try:
        seconds = units.parse_duration(value)
    except ValueError as exc:
        raise _custom("clawctl_duration", str(exc)) from None
    if seconds > limits.MAX_DURATION_S:
        raise _custom("clawctl_range", f"`{value}` is over {limits.human_duration(limits.MAX_DURATION_S)}, "
                      "the longest duration clawctl accepts")
    return seconds


def _rate(value: object) -> float:
    try:
        per_second = units.parse_rate(value)
    except ValueError as exc:
        raise _custom("clawctl_rate", str(exc)) from None
    if per_second > limits.MAX_RATE_PER_S:
        raise _custom("clawctl_range", f"`{value}` is over {limits.MAX_RATE_PER_S:,.0f}/s, the highest rate "
                      "clawctl accepts")
    return per_second


def _percent(value: object) -> float:
    try:
        return units.parse_percent(value)
    except ValueError as exc:
        raise _custom("clawctl_percent", str(exc)) from None


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is no such zone."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise _custom("clawctl_timezone", "expected an IANA time zone name such as `Europe/London`")
    if zone(value) is None:
        from clawctl.core.suggest import did_you_mean

        hint = did_you_mean(value, all_zones(), case_insensitive=True)
        raise _custom("clawctl_timezone", f"`{value}` is not an IANA time zone{hint}")
    return value


_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::(\d{1,5}))?(?:/[A-Za-z0-9._~/-]*)?")


def _url(value: object) -> str:
    if isinstance(value, str):
        m = _PLAIN_URL.fullmatch(value)  # the common shape, without urlsplit's cost
        if m and (m.group(1) is None or 0 < int(m.group(1)) < 65536):
            return value.rstrip("/")
    if not isinstance(value, str):
        raise _custom("clawctl_url", "expected a URL such as `http://10.0.0.5:8080`")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise _custom("clawctl_url", f"`{value}` is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise _custom("clawctl_url", f"`{value}` must start with http:// or https://")
    if not parts.hostname:
        raise _custom("clawctl_url", f"`{value}` names no host")
    if parts.query or parts.fragment:
        raise _custom("clawctl_url", f"`{value}`: an endpoint takes no query or fragment")
    if port is not None and port == 0:
        raise _custom("clawctl_url", f"`{value}`: port 0 is not a port")
    if parts.username or parts.password:
        raise _custom("clawctl_literal_secret",
                      "credentials in an endpoint URL are a literal secret; use `auth: {token_env: NAME}`")
    return value.rstrip("/")


def _agent_id(value: object) -> str:
    if not isinstance(value, str) or not _AGENT_ID.match(value) or len(value) > AGENT_ID_MAX:
        raise _custom(
            "clawctl_agent_id",
            f"agent id `{value}` must match [a-z0-9][a-z0-9_-]* and be at most {AGENT_ID_MAX} characters",
        )
    return value


_NUMBER_OR = {"type": "number", "minimum": 0}

Duration = Annotated[
    float,
    BeforeValidator(_duration),
    WithJsonSchema({"anyOf": [_NUMBER_OR, {"type": "string", "pattern": DURATION_PATTERN}],
                    "description": "a duration: 250ms, 30s, 2m, 1h, 1h30m, or a number of seconds"}),
]
Rate = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "description": "a rate: 120/min, 2/s, 50000/h"}),
]
Percent = Annotated[
    float,
    BeforeValidator(_percent),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 100},
                              {"type": "string", "pattern": PERCENT_PATTERN}],
                    "description": "a percentage: 85, 85% or 99.95%"}),
]
TimeZone = Annotated[
    str,
    BeforeValidator(_timezone),
    WithJsonSchema({"type": "string", "description": "an IANA time zone name, e.g. Europe/London"}),
]
Url = Annotated[
    str,
    BeforeValidator(_url),
    WithJsonSchema({"type": "string", "pattern": r"^https?://", "format": "uri",
                    "description": "http(s)://host:port with an optional path prefix"}),
]
AgentId = Annotated[
    str,
    BeforeValidator(_agent_id),
    WithJsonSchema({"type": "string", "pattern": AGENT_ID_PATTERN, "maxLength": AGENT_ID_MAX}),
]
EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
Fraction = Annotated[float, Field(ge=0, le=1)]
