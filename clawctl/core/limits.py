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

# The simulator's cost model: `clawctl simulate` refuses a run whose estimate passes SIM_MAX_ESTIMATE_S unless
# --force. One request under one strategy costs SIM_NS_PER_REQUEST, plus SIM_NS_PER_AGENT per agent (more
# conversations in progress at once, a deeper routing index: picks no longer scan the agents, docs/simulation.md
# "Fleets of thousands of agents"). Measured on this project's 2-core machine with the compiled kernel, the
# machine busy (load about 2), reference fleets of 10 slots per agent at rho 0.9, 500,000 requests: least_conn
# 2.2 us a request at 100 agents, 3.1 us at 10,000; round_robin 1.8 and 2.9 us (quiet: about half). The bound is
# for runs that would take hours, so the estimate errs high. Re-measure when the kernel changes.
SIM_NS_PER_REQUEST = 2000.0
SIM_NS_PER_AGENT = 0.1
SIM_NS_PER_AGENT_BY_STRATEGY: dict[str, float] = {}
SIM_MAX_ESTIMATE_S = 600.0


def sim_estimate_s(requests: float, strategies: list[str] | tuple[str, ...], agents: int) -> float:
    """Seconds of compute for ``requests`` arrivals under each of ``strategies`` over ``agents`` agents."""
    per = [SIM_NS_PER_REQUEST + SIM_NS_PER_AGENT_BY_STRATEGY.get(s, SIM_NS_PER_AGENT) * agents for s in strategies]
    return max(requests, 0.0) * sum(per) * 1e-9


def rough_duration(seconds: float) -> str:
    """``12345`` -> ``3.4 hours``, ``3600`` -> ``1 hour``: an estimate, in the largest unit that keeps it above 1."""
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            text = f"{seconds / size:,.1f}".removesuffix(".0")
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return ""  # not reached


def human_duration(seconds: float) -> str:
    """``31622400`` -> ``366d``: bounds in the unit a fleet file would use."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
