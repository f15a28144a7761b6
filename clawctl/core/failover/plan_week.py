"""The reference week that business hours are compared on (pure): Monday 2026-01-05, the simulator's
start (no daylight-saving change in it), cut into 15-minute steps. An agent's hours become a bit mask of
the steps it is open in, each step open or closed at its middle, in the agent's own time zone: exact
for windows on quarter hours. Weeks repeat: any instant falls in one step of the reference week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np

from clawctl.core import schedule as sched
from clawctl.core.model.agent import Agent
from clawctl.core.model.types import zone

REFERENCE_WEEK = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday; the simulator's DEFAULT_START
STEP_MIN = 15
SLOTS = 7 * 24 * 60 // STEP_MIN
ALWAYS = (1 << SLOTS) - 1


@lru_cache(maxsize=4096)
def _hours_mask(hours: sched.Hours, zone_name: str) -> int:
    tz = zone(zone_name) or timezone.utc
    bits = ["0"] * SLOTS
    for k in range(SLOTS):
        if sched.is_open(hours, tz, REFERENCE_WEEK + timedelta(minutes=STEP_MIN * k + STEP_MIN / 2)):
            bits[SLOTS - 1 - k] = "1"
    return int("".join(bits), 2)


def open_mask(agent: Agent) -> int:
    """The agent's open steps of the reference week as bits (bit k: step k, 15 minutes from Monday 00:00 UTC)."""
    hours = agent.hours
    if hours is None:
        return ALWAYS
    if not hours.ever_open:
        return 0
    return _hours_mask(hours, agent.hours_zone_name or "UTC")


def week_step(instant: datetime) -> int:
    """The step of the reference week an aware instant falls in (weeks repeat)."""
    return int((instant - REFERENCE_WEEK).total_seconds() // (STEP_MIN * 60)) % SLOTS


def open_at(mask: int, instant: datetime) -> bool:
    return bool(mask >> week_step(instant) & 1)


def share(part: int, whole: int) -> float | None:
    """The share of ``whole``'s open steps that ``part`` is open in; None when ``whole`` never opens."""
    n = whole.bit_count()
    return None if n == 0 else (part & whole).bit_count() / n


def hours_label(agent: Agent) -> str:
    hours = agent.hours
    if hours is None:
        return "24/7" if agent.availability == "24/7" else "always"
    days = sorted(hours.days)
    names = [sched.DAY_NAMES[d].capitalize() for d in days]
    if len(days) == 7:
        text = "daily"
    elif len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        text = f"{names[0]}-{names[-1]}"
    else:
        text = ",".join(names)
    return f"{_hhmm(hours.start)}-{_hhmm(hours.end)} {text} {agent.hours_zone_name or 'UTC'}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def open_matrix(masks: Sequence[int]) -> np.ndarray:
    """``masks`` as booleans, one row per mask, one column per step of the reference week."""
    width = (SLOTS + 7) // 8
    raw = np.frombuffer(b"".join(m.to_bytes(width, "little") for m in masks), dtype=np.uint8)
    return np.unpackbits(raw.reshape(len(masks), width), axis=1, bitorder="little")[:, :SLOTS].astype(bool)
