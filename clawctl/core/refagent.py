"""The reference agent's behaviour, pure: conversations, sessions, capacity, drain, faults with leases.

The HTTP server (adapters/agent_server.py) owns the clock and the event loop and calls in here;
everything decided about a request is decided here, from the state, the time it is handed and the
random generator it was given. It implements the clawctl agent API v1: conversations, sessions and
admin routes under `/v1/`, plus `/healthz`, `/readyz` and `/metrics` answered in the shapes an
OpenClaw gateway uses, so one prober serves both. The session store is in
:mod:`clawctl.core.refagent_sessions`.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from clawctl.core.refagent_sessions import (
    MAX_EVENTS,
    MAX_FIELD_CHARS,
    MAX_IMPORT_SESSIONS,
    MAX_SESSION_BYTES,
    MAX_SESSIONS,
    MAX_STORE_BYTES,
    ApiError,
    Budget,
    Session,
    SessionStore,
    state_hash,
    weight,
)
from clawctl.core.service_time import Distribution, make

__all__ = ["BUCKETS", "FAULT_MODES", "MAX_EVENTS", "MAX_FIELD_CHARS", "MAX_IMPORT_SESSIONS", "MAX_LATENCY",
           "MAX_LEASE", "MAX_SESSIONS", "MAX_SESSION_BYTES", "MAX_STORE_BYTES", "AgentInfo", "ApiError", "Budget",
           "Counters", "Fault", "ReferenceAgent", "Session", "Started", "state_hash", "weight"]

FAULT_MODES = ("none", "crash", "hang", "slow", "error", "unready")
MAX_LEASE = 3600.0  # seconds: a fault reverts by itself after at most an hour
MAX_LATENCY = 3600.0  # seconds a `slow` fault may add (and never beyond the fault's own lease)
# Histogram buckets of clawctl_agent_response_time_seconds (Prometheus defaults, trimmed).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class AgentInfo:
    id: str
    version: str = "0"
    domain: str | None = None
    region: str | None = None
    capabilities: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    max_concurrent_conversations: int = 10
    service_time: Distribution = field(default_factory=lambda: make("lognormal", 90.0, 240.0))

    def as_dict(self) -> dict:
        return {"id": self.id, "version": self.version, "domain": self.domain, "region": self.region,
                "capabilities": self.capabilities, "channels": self.channels,
                "max_concurrent_conversations": self.max_concurrent_conversations}


@dataclass
class Fault:
    mode: str = "none"
    latency: float = 0.0
    error_rate: float = 0.0
    until: float = 0.0  # monotonic seconds; the fault reverts by itself then


def _number(body: dict, key: str, default: float) -> float:
    """A JSON number from ``body`` (absent or null: ``default``); finite, or a 400."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"{key} must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ApiError(400, f"{key} must be a finite number")
    return number


class Started(NamedTuple):
    """A conversation request taken: the answer's body, the service time (seconds, scaled), whether it is new."""

    body: dict
    service: float
    new: bool


@dataclass
class Counters:
    ok: int = 0
    error: int = 0
    rejected: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1


class ReferenceAgent(SessionStore):
    """One agent's state. ``time_scale`` shrinks service times (0.01: a 90 s conversation lasts 0.9 s)."""

    def __init__(self, info: AgentInfo, rng: random.Random, *, time_scale: float = 1.0,
                 budget: Budget | None = None) -> None:
        self.info = info
        self.rng = rng
        self.time_scale = time_scale
        self.budget = budget if budget is not None else Budget()  # shared by the agents of one process
        self.sessions: dict[str, Session] = {}
        self.by_customer: dict[str, str] = {}
        self.active: dict[str, float] = {}  # conversation (session) id -> when it ends (monotonic)
        self.draining = False
        self.fault = Fault()
        self.counters = Counters()
        self.started = False  # set once the server listens

    # -- faults ------------------------------------------------------------------------------
    def current_fault(self, now: float) -> Fault:
        if self.fault.mode != "none" and now >= self.fault.until:
            self.fault = Fault()
        return self.fault

    def set_fault(self, body: dict, now: float) -> dict:
        """Inject a fault. Every value is checked: a NaN, infinite or huge latency or lease would hold
        requests for ever, so latency is in [0, 3600] seconds, lease in (0, 3600], error_rate in [0, 1]."""
        mode = body.get("mode", "none")
        if not isinstance(mode, str) or mode not in FAULT_MODES:
            raise ApiError(400, f"mode must be one of {', '.join(FAULT_MODES)}")
        latency = _number(body, "latency", 0.0)
        error_rate = _number(body, "error_rate", 1.0 if mode == "error" else 0.0)
        lease = _number(body, "lease", 60.0)
        if not (0 <= error_rate <= 1) or not (0 <= latency <= MAX_LATENCY) \
                or (mode != "none" and not (0 < lease <= MAX_LEASE)):
            raise ApiError(400, f"error_rate in [0, 1], latency in [0, {MAX_LATENCY:g}] seconds, "
                                f"lease in (0, {MAX_LEASE:g}] seconds")
        self.fault = Fault(mode, latency, error_rate, now + lease) if mode != "none" else Fault()
        return {"mode": self.fault.mode, "latency": latency, "error_rate": error_rate,
                "lease": lease if mode != "none" else 0}

    # -- probes ------------------------------------------------------------------------------
    def readiness(self, now: float) -> tuple[int, dict]:
        failing = []
        if not self.started:
            failing.append("startup")
        if self.draining:
            failing.append("gateway-draining")
        if self.current_fault(now).mode == "unready":
            failing.append("fault-injected")
        ready = not failing
        return (200 if ready else 503), {"ready": ready, "failing": failing}

    # -- conversations -----------------------------------------------------------------------
    def expire(self, now: float, stamp: str) -> list[str]:
        """End the conversations whose service time is over; return their ids."""
        done = [sid for sid, end in self.active.items() if end <= now]
        for sid in done:
            del self.active[sid]
            session = self.sessions.get(sid)
            if session is not None:
                self._append(session, session.history, {"role": "agent", "event": "conversation_ended", "at": stamp})
                session.updated_at = stamp
        return done

    def start_conversation(self, body: dict, now: float, stamp: str) -> Started:
        """Start a conversation: the response body, its service time (seconds, scaled) and whether it is new.

        A customer already mid-conversation takes another turn in it: not new, service time 0."""
        if self.draining:
            raise ApiError(503, "draining: not taking new conversations")
        ready, _ = self.readiness(now)
        if ready != 200:
            raise ApiError(503, "not ready")
        customer, channel, kind = body.get("customer_id"), body.get("channel"), body.get("type")
        if not isinstance(customer, str) or not customer or len(customer) > MAX_FIELD_CHARS:
            raise ApiError(400, f"customer_id (a non-empty string of at most {MAX_FIELD_CHARS} characters) "
                                "is required")
        for key, value in (("channel", channel), ("type", kind)):
            if value is not None and (not isinstance(value, str) or len(value) > MAX_FIELD_CHARS):
                raise ApiError(400, f"{key} must be a string of at most {MAX_FIELD_CHARS} characters")
        if channel is not None and self.info.channels and channel not in self.info.channels:
            raise ApiError(400, f"this agent does not serve channel {channel}")
        known = self.by_customer.get(customer)
        if known in self.active:  # the customer is mid-conversation: another turn, no new slot
            session = self.sessions[known]
            self._append(session, session.history, {"role": "customer", "event": "message", "type": kind, "at": stamp})
            session.updated_at = stamp
            self._make_room(0, 0, keep={known})
            return Started({"session_id": known}, 0.0, new=False)
        if len(self.active) >= self.info.max_concurrent_conversations:
            self.counters.rejected += 1
            raise ApiError(429, "at capacity")
        if known is not None and known in self.sessions:  # a returning customer: the session grows
            session = self.sessions[known]
            sid = known
        else:
            sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            session = Session(sid, customer, channel)
            size = weight(session.context())
            if not self._make_room(1, size):
                raise ApiError(503, "the session store is full: every session is in a conversation")
            self.sessions[sid] = session
            self.by_customer[customer] = sid
            self._charge(session, size)
        self._append(session, session.history, {"role": "customer", "event": "conversation_started", "type": kind,
                                                "channel": channel, "at": stamp})
        types = session.extracted_data.get("types") if kind else None
        if kind and types is None:
            types = session.extracted_data["types"] = []
        if isinstance(types, list):  # an imported context may hold anything under `types`: left alone then
            self._append(session, types, kind)
        self._append(session, session.agent_interactions, {"agent": self.info.id, "at": stamp})
        session.updated_at = stamp
        self._make_room(0, 0, keep={sid})  # the session grew: over the budget, older idle sessions go
        service = max(0.0, self.info.service_time.sample(self.rng)) * self.time_scale
        self.active[sid] = now + service
        return Started({"session_id": sid}, service, new=True)

    def cut_by_fault(self, stamp: str) -> list[str]:
        """End the conversations in progress that the fault just set cuts short; return their ids.

        `crash` and `hang` cut every one (the agent stops serving them), `error` each one with
        probability `error_rate`; `slow`, `unready` and `none` cut none (nor does a drain)."""
        fault = self.fault
        if fault.mode in ("crash", "hang"):
            cut = list(self.active)
        elif fault.mode == "error":
            cut = [sid for sid in self.active if self.rng.random() < fault.error_rate]
        else:
            return []
        for sid in cut:
            del self.active[sid]
            session = self.sessions.get(sid)
            if session is not None:
                self._append(session, session.history, {"role": "agent", "event": "conversation_cut",
                                                        "fault": fault.mode, "at": stamp})
                session.updated_at = stamp
        return cut

    # -- metrics -----------------------------------------------------------------------------
    def metrics_text(self, cpu_percent: float, memory_percent: float) -> str:
        c = self.counters
        out = [
            "# HELP clawctl_agent_active_conversations Conversations in progress.",
            "# TYPE clawctl_agent_active_conversations gauge",
            f"clawctl_agent_active_conversations {len(self.active)}",
            "# HELP clawctl_agent_max_conversations Concurrent conversations this agent takes.",
            "# TYPE clawctl_agent_max_conversations gauge",
            f"clawctl_agent_max_conversations {self.info.max_concurrent_conversations}",
            "# HELP clawctl_agent_response_time_seconds Time to answer a conversation request.",
            "# TYPE clawctl_agent_response_time_seconds histogram",
        ]
        for bound, n in zip(BUCKETS, c.buckets):
            out.append(f'clawctl_agent_response_time_seconds_bucket{{le="{bound}"}} {n}')
        out += [
            f'clawctl_agent_response_time_seconds_bucket{{le="+Inf"}} {c.count}',
            f"clawctl_agent_response_time_seconds_sum {c.total:.6f}",
            f"clawctl_agent_response_time_seconds_count {c.count}",
            "# HELP clawctl_agent_requests_total Conversation requests by outcome.",
            "# TYPE clawctl_agent_requests_total counter",
            f'clawctl_agent_requests_total{{outcome="ok"}} {c.ok}',
            f'clawctl_agent_requests_total{{outcome="error"}} {c.error}',
            f'clawctl_agent_requests_total{{outcome="rejected"}} {c.rejected}',
            "# HELP clawctl_agent_cpu_percent CPU use of this agent's process.",
            "# TYPE clawctl_agent_cpu_percent gauge",
            f"clawctl_agent_cpu_percent {cpu_percent:.2f}",
            "# HELP clawctl_agent_memory_percent Memory use of this agent's process, share of the machine.",
            "# TYPE clawctl_agent_memory_percent gauge",
            f"clawctl_agent_memory_percent {memory_percent:.3f}",
        ]
        return "\n".join(out) + "\n"
