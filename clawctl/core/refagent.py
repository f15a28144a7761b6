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
import math
import random
import sys
import uuid
from dataclasses import dataclass, field

from clawctl.core.service_time import Distribution, make

FAULT_MODES = ("none", "crash", "hang", "slow", "error", "unready")
MAX_LEASE = 3600.0  # seconds: a fault reverts by itself after at most an hour
MAX_LATENCY = 3600.0  # seconds a `slow` fault may add (and never beyond the fault's own lease)
# Sizes (docs/cli.md, "agent"): what an agent keeps, so no client can grow it without bound.
MAX_SESSIONS = 10_000  # sessions per agent
MAX_STORE_BYTES = 32 * 1024 * 1024  # memory of the sessions of all agents of one process (Python objects)
MAX_IMPORT_SESSIONS = 1_000  # sessions in one import request
MAX_SESSION_BYTES = 256 * 1024  # one imported session context, as canonical JSON
MAX_EVENTS = 1_000  # history events (and interactions, types) per session; a longer one drops its oldest
MAX_FIELD_CHARS = 256  # customer_id, channel and type of a conversation request
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


def _canonical(context: dict) -> bytes:
    """The context (everything but `updated_at` and the hash itself) as canonical JSON bytes.

    Strings may hold lone surrogates (JSON's `"\\ud800"` parses to one); they are encoded as they
    are (`surrogatepass`) rather than refused, so hashing never fails on what a client sent.
    """
    core = {k: v for k, v in context.items() if k not in ("state_hash", "updated_at")}
    blob = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return blob.encode("utf-8", "surrogatepass")


def state_hash(context: dict) -> str:
    """A stable hash of a session context (everything but `updated_at` and the hash itself)."""
    return "sha256:" + hashlib.sha256(_canonical(context)).hexdigest()


def weight(value: object) -> int:
    """Memory a parsed JSON value holds, in bytes: `sys.getsizeof` of it and everything inside it.

    Walked with a list, not recursion. What the session store charges: an import of tiny objects
    (`[{}, {}, ...]`) costs Python thirty times its JSON size, so JSON bytes would undercount it.
    """
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


@dataclass
class Budget:
    """Memory of session data (see :func:`weight`) held by the agents sharing it: one per server process."""

    limit: int = MAX_STORE_BYTES
    used: int = 0


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


@dataclass
class Session:
    id: str
    customer_id: str
    channel: str | None
    history: list[dict] = field(default_factory=list)
    extracted_data: dict = field(default_factory=dict)
    agent_interactions: list[dict] = field(default_factory=list)
    updated_at: str = ""
    size: int = field(default=0, compare=False, repr=False)  # what the session store charged for it

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

    def start_conversation(self, body: dict, now: float, stamp: str) -> tuple[dict, float]:
        """Start a conversation; returns the response body and its service time (seconds, scaled)."""
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
        return {"session_id": sid}, service

    # -- the session store -------------------------------------------------------------------
    def _charge(self, session: Session, delta: int) -> None:
        session.size += delta
        self.budget.used += delta

    def _append(self, session: Session, events: list, event: object) -> None:
        """Append to one of the session's lists, keeping its newest MAX_EVENTS entries, and charge for it."""
        events.append(event)
        delta = weight(event) + 8
        if len(events) > MAX_EVENTS:
            dropped = events[:len(events) - MAX_EVENTS]
            del events[:len(events) - MAX_EVENTS]
            delta -= sum(weight(e) + 8 for e in dropped)
        self._charge(session, delta)

    def _drop(self, sid: str) -> None:
        session = self.sessions.pop(sid)
        self.budget.used -= session.size
        if self.by_customer.get(session.customer_id) == sid:
            del self.by_customer[session.customer_id]

    def _make_room(self, count: int, size: int, keep: set[str] | frozenset[str] = frozenset()) -> bool:
        """Make room for ``count`` more sessions of ``size`` bytes in all: drop this agent's oldest idle
        sessions (not in a conversation, not in ``keep``) until they fit under MAX_SESSIONS and the budget.
        Whether they fit; when they cannot, nothing is dropped."""
        held, used = len(self.sessions), self.budget.used
        drop = []
        for sid in self.sessions:
            if held + count <= MAX_SESSIONS and used + size <= self.budget.limit:
                break
            if sid not in self.active and sid not in keep:
                drop.append(sid)
                held, used = held - 1, used - self.sessions[sid].size
        if held + count > MAX_SESSIONS or used + size > self.budget.limit:
            return False
        for sid in drop:
            self._drop(sid)
        return True

    # -- sessions ----------------------------------------------------------------------------
    def list_sessions(self) -> dict:
        return {"sessions": [s.summary() for s in self.sessions.values()]}

    def get_session(self, sid: str) -> dict:
        session = self.sessions.get(sid)
        if session is None:
            raise ApiError(404, f"no session {sid}")
        return session.context()

    def import_sessions(self, body: dict, stamp: str) -> dict:
        """Import session contexts; idempotent by id. Oldest idle sessions make room as conversations do.

        Over a limit the whole request is refused (413) and nothing changes: more than
        MAX_IMPORT_SESSIONS contexts, one context over MAX_SESSION_BYTES, or more than the store holds
        even after dropping every idle session.
        """
        items = body.get("sessions")
        if not isinstance(items, list):
            raise ApiError(400, "sessions must be a list of session contexts")
        if len(items) > MAX_IMPORT_SESSIONS:
            raise ApiError(413, f"at most {MAX_IMPORT_SESSIONS} sessions per import (got {len(items)})")
        transfer = body.get("transfer") if isinstance(body.get("transfer"), dict) else {}
        imported, rejected, incoming = [], [], {}
        for item in items:
            reason = _invalid_context(item)
            if reason:
                sid = item.get("id") if isinstance(item, dict) else None
                rejected.append({"id": sid[:MAX_FIELD_CHARS] if isinstance(sid, str) else None, "reason": reason})
                continue
            imported.append(item["id"])
            known = self.sessions.get(item["id"])
            if known is None or known.context()["state_hash"] != item["state_hash"]:
                incoming[item["id"]] = item  # new or changed (the last one wins); the same context again is a no-op
        sessions = {sid: Session(sid, item["customer_id"], item.get("channel"), list(item["history"]),
                                 dict(item["extracted_data"]), list(item["agent_interactions"]),
                                 item["updated_at"] if isinstance(item.get("updated_at"), str) else stamp)
                    for sid, item in incoming.items()}
        sizes = {sid: weight(session.context()) for sid, session in sessions.items()}
        new = sum(sid not in self.sessions for sid in sessions)
        freed = sum(self.sessions[sid].size for sid in sessions if sid in self.sessions)
        if not self._make_room(new, sum(sizes.values()) - freed, keep=set(sessions)):
            raise ApiError(413, f"the session store is full: at most {MAX_SESSIONS} sessions per agent and "
                                f"{self.budget.limit / 2**20:g} MiB of session data per process")
        for sid, session in sessions.items():
            if sid in self.sessions:
                self._drop(sid)
            self.sessions[sid] = session
            self.by_customer.setdefault(session.customer_id, sid)
            self._charge(session, sizes[sid])
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
    """Why ``item`` is not a whole session context, or None. A context over MAX_SESSION_BYTES is a 413."""
    if not isinstance(item, dict):
        return "not an object"
    for key in ("id", "customer_id", "state_hash"):
        if not isinstance(item.get(key), str) or not item.get(key):
            return f"missing {key}"
    if len(item["id"]) > MAX_FIELD_CHARS or len(item["customer_id"]) > MAX_FIELD_CHARS:
        return f"id and customer_id are at most {MAX_FIELD_CHARS} characters"
    if item.get("channel") is not None and not isinstance(item.get("channel"), str):
        return "channel must be a string"
    for key, kind in (("history", list), ("extracted_data", dict), ("agent_interactions", list)):
        if not isinstance(item.get(key), kind):
            return f"{key} must be a {'list' if kind is list else 'mapping'} (a whole session context is required)"
    blob = _canonical(item)
    if len(blob) > MAX_SESSION_BYTES:
        raise ApiError(413, f"session {item['id'][:64]} is over {MAX_SESSION_BYTES // 1024} KiB")
    if "sha256:" + hashlib.sha256(blob).hexdigest() != item["state_hash"]:
        return "state_hash does not match the context (damaged in transfer?)"
    return None
