"""The reference agent's session store, pure: session contexts, their state hash, the bounds on what is kept.

:class:`SessionStore` is mixed into :class:`clawctl.core.refagent.ReferenceAgent`: it keeps the
agent's sessions (by id and by customer), charges their memory to a :class:`Budget` shared by the
agents of one process, and makes room by dropping the oldest sessions not in a conversation.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field

# Sizes (docs/cli.md, "agent"): what an agent keeps, so no client can grow it without bound.
MAX_SESSIONS = 10_000  # sessions per agent
MAX_STORE_BYTES = 32 * 1024 * 1024  # memory of the sessions of all agents of one process (Python objects)
MAX_IMPORT_SESSIONS = 1_000  # sessions in one import request
MAX_SESSION_BYTES = 256 * 1024  # one imported session context, as canonical JSON
MAX_EVENTS = 1_000  # history events (and interactions, types) per session; a longer one drops its oldest
MAX_FIELD_CHARS = 256  # customer_id, channel and type of a conversation request


class ApiError(Exception):
    """An answer other than success: its HTTP status and a message for the JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


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



class SessionStore:
    """The session part of a reference agent. The agent sets these attributes; ``active`` maps the ids of
    sessions in a conversation to when it ends, and such sessions are never dropped to make room."""

    sessions: dict[str, Session]
    by_customer: dict[str, str]
    budget: Budget
    active: dict[str, float]

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
