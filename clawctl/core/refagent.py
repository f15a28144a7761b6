"""The reference agent's behaviour, pure: conversations, sessions, capacity, drain, faults with leases.

The HTTP server (adapters/agent_server.py) owns the clock and the event loop and calls in here;
everything decided about a request is decided here, from the state, the time it is handed and the
random generator it was given. It implements the clawctl agent API v1: conversations, sessions and
admin routes under `/v1/`, plus `/healthz`, `/readyz` and `/metrics` answered in the shapes an
OpenClaw gateway uses, so one prober serves both.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field

from clawctl.core.service_time import Distribution, make

FAULT_MODES = ("none", "crash", "hang", "slow", "error", "unready")
# Histogram buckets of clawctl_agent_response_time_seconds (Prometheus defaults, trimmed).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


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


def state_hash(context: dict) -> str:
    """A stable hash of a session context (everything but `updated_at` and the hash itself)."""
    core = {k: v for k, v in context.items() if k not in ("state_hash", "updated_at")}
    blob = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Session:
    id: str
    customer_id: str
    channel: str | None
    history: list[dict] = field(default_factory=list)
    extracted_data: dict = field(default_factory=dict)
    agent_interactions: list[dict] = field(default_factory=list)
    updated_at: str = ""

    def context(self) -> dict:
        ctx = {"id": self.id, "customer_id": self.customer_id, "channel": self.channel, "history": self.history,
               "extracted_data": self.extracted_data, "agent_interactions": self.agent_interactions,
               "updated_at": self.updated_at}
        ctx["state_hash"] = state_hash(ctx)
        return ctx

    def summary(self) -> dict:
        ctx = self.context()
        return {k: ctx[k] for k in ("id", "customer_id", "channel", "state_hash", "updated_at")}


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


class ReferenceAgent:
    """One agent's state. ``time_scale`` shrinks service times (0.01: a 90 s conversation lasts 0.9 s)."""

    def __init__(self, info: AgentInfo, rng: random.Random, *, time_scale: float = 1.0) -> None:
        self.info = info
        self.rng = rng
        self.time_scale = time_scale
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
        mode = body.get("mode", "none")
        if mode not in FAULT_MODES:
            raise ApiError(400, f"mode must be one of {', '.join(FAULT_MODES)}")
        try:
            latency = float(body.get("latency", 0) or 0)
            error_rate = float(body.get("error_rate", 1.0 if mode == "error" else 0) or 0)
            lease = float(body.get("lease", 60) or 0)
        except (TypeError, ValueError):
            raise ApiError(400, "latency, error_rate and lease are numbers (seconds, share, seconds)") from None
        if not (0 <= error_rate <= 1) or latency < 0 or (mode != "none" and not (0 < lease <= 3600)):
            raise ApiError(400, "error_rate in 0..1, latency >= 0, lease in (0, 3600] seconds")
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
                session.history.append({"role": "agent", "event": "conversation_ended", "at": stamp})
                session.updated_at = stamp
        return done

    def start_conversation(self, body: dict, now: float, stamp: str) -> tuple[dict, float]:
        """Start a conversation; returns the response body and its service time (seconds, scaled)."""
        if self.draining:
            raise ApiError(503, "draining: not taking new conversations")
        ready, _ = self.readiness(now)
        if ready != 200:
            raise ApiError(503, "not ready")
        customer = body.get("customer_id")
        if not isinstance(customer, str) or not customer:
            raise ApiError(400, "customer_id (a non-empty string) is required")
        channel = body.get("channel")
        if channel is not None and self.info.channels and channel not in self.info.channels:
            raise ApiError(400, f"this agent does not serve channel {channel}")
        known = self.by_customer.get(customer)
        if known in self.active:  # the customer is mid-conversation: another turn, no new slot
            session = self.sessions[known]
            session.history.append({"role": "customer", "event": "message", "type": body.get("type"), "at": stamp})
            session.updated_at = stamp
            return {"session_id": known}, 0.0
        if len(self.active) >= self.info.max_concurrent_conversations:
            self.counters.rejected += 1
            raise ApiError(429, "at capacity")
        if known is not None and known in self.sessions:  # a returning customer: the session grows
            session = self.sessions[known]
            sid = known
        else:
            sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            session = Session(sid, customer, channel)
            self.sessions[sid] = session
            self.by_customer[customer] = sid
        session.history.append({"role": "customer", "event": "conversation_started", "type": body.get("type"),
                                "channel": channel, "at": stamp})
        if body.get("type"):
            session.extracted_data.setdefault("types", []).append(body["type"])
        session.agent_interactions.append({"agent": self.info.id, "at": stamp})
        session.updated_at = stamp
        service = max(0.0, self.info.service_time.sample(self.rng)) * self.time_scale
        self.active[sid] = now + service
        return {"session_id": sid}, service

    # -- sessions ----------------------------------------------------------------------------
    def list_sessions(self) -> dict:
        return {"sessions": [s.summary() for s in self.sessions.values()]}

    def get_session(self, sid: str) -> dict:
        session = self.sessions.get(sid)
        if session is None:
            raise ApiError(404, f"no session {sid}")
        return session.context()

    def import_sessions(self, body: dict, stamp: str) -> dict:
        items = body.get("sessions")
        if not isinstance(items, list):
            raise ApiError(400, "sessions must be a list of session contexts")
        transfer = body.get("transfer") if isinstance(body.get("transfer"), dict) else {}
        imported, rejected = [], []
        for item in items:
            reason = _invalid_context(item)
            if reason:
                rejected.append({"id": item.get("id") if isinstance(item, dict) else None, "reason": reason})
                continue
            sid = item["id"]
            if sid in self.sessions and self.sessions[sid].context()["state_hash"] == item["state_hash"]:
                imported.append(sid)  # idempotent: the same context again
                continue
            session = Session(sid, item["customer_id"], item.get("channel"), list(item.get("history") or []),
                              dict(item.get("extracted_data") or {}), list(item.get("agent_interactions") or []),
                              item.get("updated_at") or stamp)
            self.sessions[sid] = session
            self.by_customer.setdefault(session.customer_id, sid)
            imported.append(sid)
        return {"imported": imported, "rejected": rejected, "transfer": transfer}

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


def _invalid_context(item: object) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    for key in ("id", "customer_id", "state_hash"):
        if not isinstance(item.get(key), str) or not item.get(key):
            return f"missing {key}"
    for key, kind in (("history", list), ("extracted_data", dict), ("agent_interactions", list)):
        if not isinstance(item.get(key), kind):
            return f"{key} must be a {'list' if kind is list else 'mapping'} (a whole session context is required)"
    if state_hash(item) != item["state_hash"]:
        return "state_hash does not match the context (damaged in transfer?)"
    return None
