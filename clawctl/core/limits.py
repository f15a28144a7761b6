"""Upper bounds on every size a fleet file or a flag can ask for.

A fleet file is untrusted input (CI lints files anyone can push): each number that turns into
memory, time or a loop count is bounded here, and a value past its bound is a finding or a usage
error that names the bound, never a MemoryError or a hang. docs/fleet-format.md lists them.
"""

from __future__ import annotations

MAX_SLOTS_PER_AGENT = 100_000  # max_concurrent_conversations
MAX_WEIGHT = 1_000_000
MAX_CUSTOMERS = 10_000_000  # traffic.customers: the simulator keeps one history entry per customer
MAX_REQUESTS = 10_000_000_000  # traffic.requests and --requests
MAX_QUEUE_CAPACITY = 1_000_000_000
MAX_DURATION_S = 366 * 86400.0  # any duration: a run, a spike, a service time, a timeout
MAX_RATE_PER_S = 1_000_000.0  # traffic.arrivals.rate
MAX_MULTIPLIER = 100.0  # spike and diurnal peak multipliers
MAX_COUNT = 10_000  # thresholds counted in probes or samples (failure_threshold, breach_after, max_fails)
MAX_SEED = 2**63 - 1
SIM_STATE_BYTES = 2 * 1024**3  # the simulator's arrays for one run


def human_duration(seconds: float) -> str:
    """``31622400`` -> ``366d``: bounds in the unit a fleet file would use."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
