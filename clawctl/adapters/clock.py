"""The system clock: the one place that reads the wall time (services take a clock, see core.env)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
