"""A fuzz test of the reference agent's HTTP routes: hypothesis drives real loopback servers.

Two servers run for the whole module, in-process on an asyncio loop in a background thread: one
agent at `/` with a token, and a fleet of two agents with different tokens under `/agents/<id>/`
(as `clawctl agent serve --all`). Every example is one HTTP/1.1 request written byte by byte on a
raw socket: a random method, a path under `/v1` (known routes, random segments, probes), a query
string (`?wait=` variants among them), an Authorization header (none, right, wrong, another agent's,
another scheme, non-UTF-8 bytes, twice), and a body (random bytes, random JSON, deep JSON, huge
numbers, NaN, lone surrogates, fault, conversation and import bodies with hostile values, bodies over
the limits, chunked or not).

Properties, checked on every example:
- the server answers, within ANSWER_LIMIT seconds;
- never with a 500 (or any 5xx but a 503 readiness or drain answer);
- every route but the probes and `/metrics`, without the agent's token, answers 401 (or aiohttp's own
  400 for a request it cannot parse, which never reaches a route);
- a JSON answer is strict JSON (no NaN), and a fault the agent accepted has values inside its bounds;
- no answer but a 401 holds a token;
- nothing is logged at WARNING or above, and no log record carries a traceback.
After the examples, every agent still answers `/healthz` with 200.

Faults and drain set by an example are undone before the next one, so each example starts from a
serving agent. The default run is derandomized and bounded (FUZZ_EXAMPLES); set
CLAWCTL_FUZZ_EXAMPLES=20000 for a soak run with fresh random inputs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
import yarl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clawctl.adapters.agent_server import BODY_LIMIT, IMPORT_BODY_LIMIT, AgentServer
from clawctl.core.refagent import (
    FAULT_MODES,
    MAX_IMPORT_SESSIONS,
    MAX_LATENCY,
    MAX_LEASE,
    MAX_SESSION_BYTES,
    AgentInfo,
    Fault,
    ReferenceAgent,
    state_hash,
)
from clawctl.core.service_time import make

ANSWER_LIMIT = 5.0  # seconds for one answer; the slowest legitimate one (a 4 MiB import) takes well under 1 s
SOAK = int(os.environ.get("CLAWCTL_FUZZ_EXAMPLES", "0") or 0)
FUZZ_EXAMPLES = SOAK or 2000  # about 20 s on a shared 2-core machine
TOKENS = {"solo": "solo-tok-3f9a", "a1": "a1-tok-77c2", "a2": "a2-tok-0be5"}
OPEN = {"/healthz", "/health", "/readyz", "/ready", "/startupz", "/startup", "/metrics"}
ROUTES = ["info", "conversations", "sessions", "sessions/import", "admin/fault", "admin/drain", "admin/resume"]
# `?wait=` of POST /v1/conversations: the two values it takes (the answer is held for the 60 ms
# conversation), and others, which are a 400.
WAIT_QUERIES = ["wait=1", "wait=true", "wait=1", "wait=0", "wait=false", "wait=", "wait", "wait=TRUE", "wait=%ff",
                "wait=1&wait=1", "wait=1&wait=0", "x=%00&wait=1", "wait=1%00", "wait=%31", "WAIT=1"]


# ------------------------------------------------------------------------------------- the servers


class Records(logging.Handler):
    """Every log record of aiohttp, asyncio and clawctl, at any level, kept for the properties."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            self.records.append(record)

    def since(self, n: int) -> list[logging.LogRecord]:
        with self.guard:
            return self.records[n:]

    def bad(self, n: int) -> list[str]:
        """Records from the n-th on that a real run would show as a problem: WARNING and up, or a traceback."""
        return [f"{r.levelname} {r.name}: {r.getMessage()}" + (" (with a traceback)" if r.exc_info else "")
                for r in self.since(n) if r.levelno >= logging.WARNING or r.exc_info]


@dataclass
class Served:
    loop: asyncio.AbstractEventLoop
    records: Records
    ports: dict[str, int]  # "one" | "many" -> port
    agents: dict[str, ReferenceAgent] = field(default_factory=dict)  # every agent of both servers, by id
    examples: int = 0

    def reset(self) -> None:
        """Undo what an example may have set: faults and drain (on the server's loop, between examples)."""
        async def reset() -> None:
            for agent in self.agents.values():
                agent.fault = Fault()
                agent.draining = False

        asyncio.run_coroutine_threadsafe(reset(), self.loop).result(5)


def _agent(agent_id: str, seed: int) -> ReferenceAgent:
    info = AgentInfo(agent_id, channels=["email", "sms"], max_concurrent_conversations=3,
                     service_time=make("deterministic", 60.0))
    return ReferenceAgent(info, random.Random(seed), time_scale=0.001)  # conversations last 60 ms


@pytest.fixture(scope="module")
def served():
    records = Records()
    loggers = [logging.getLogger(name) for name in ("aiohttp", "asyncio", "clawctl")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(records)
        lg.setLevel(logging.DEBUG)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-agent-server", daemon=True)
    thread.start()
    solo = {"solo": _agent("solo", 1)}
    fleet = {"a1": _agent("a1", 2), "a2": _agent("a2", 3)}
    one = AgentServer(solo, token=TOKENS["solo"])
    many = AgentServer(fleet, tokens={k: TOKENS[k] for k in fleet}, many=True)
    servers = [one, many]
    try:
        ports = {name: asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
                 for name, server in (("one", one), ("many", many))}
        yield Served(loop, records, ports, {**solo, **fleet})
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        for lg, level in saved:
            lg.removeHandler(records)
            lg.setLevel(level)


# ------------------------------------------------------------------------------------- the client


@dataclass
class Answer:
    status: int | None
    content_type: str
    body: bytes
    seconds: float
    error: str | None = None


def exchange(port: int, request: bytes, limit: float = ANSWER_LIMIT) -> Answer:
    """Send ``request`` on a new connection and read the answer until the server closes it (or ``limit``)."""
    started = time.monotonic()
    data = bytearray()
    error = None
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):  # answered (413) and closed before the body went out
            pass
        while True:
            left = limit - (time.monotonic() - started)
            if left <= 0:
                error = "timeout"
                break
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                error = "timeout"
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    seconds = time.monotonic() - started
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = None
    if lines and lines[0].startswith(b"HTTP/1.") and len(lines[0]) >= 12:
        status = int(lines[0][9:12])
    content_type = ""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            content_type = value.strip().decode("latin-1")
    return Answer(status, content_type, body, seconds, error)


# ------------------------------------------------------------------------------------- the inputs


@dataclass
class Case:
    server: str  # "one" | "many"
    agent: str | None  # the agent the request is meant for (None: an unknown one)
    method: bytes
    target: bytes  # request-target as sent
    auth: list[bytes]  # Authorization header values, in order
    content_type: bytes | None
    body: bytes | None
    chunked: bool

    def request(self) -> bytes:
        lines = [self.method + b" " + self.target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        lines += [b"Authorization: " + value for value in self.auth]
        if self.content_type is not None:
            lines.append(b"Content-Type: " + self.content_type)
        payload = b""
        if self.body is not None:
            if self.chunked:
                lines.append(b"Transfer-Encoding: chunked")
                step = 65536
                parts = [self.body[i:i + step] for i in range(0, len(self.body), step)]
                payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
            else:
                lines.append(b"Content-Length: %d" % len(self.body))
                payload = self.body
        return b"\r\n".join(lines) + b"\r\n\r\n" + payload

    def route(self) -> str | None:
        """The route (the path inside the agent) as the server sees it, or None when no agent is reached."""
        raw = self.target.split(b"?", 1)[0].split(b"#", 1)[0].decode("latin-1")
        try:
            path = yarl.URL.build(path=raw, encoded=True).path
        except ValueError:
            return None
        if self.server == "one":
            return path
        parts = path.split("/", 3)
        if len(parts) >= 3 and parts[1] == "agents" and parts[2] in ("a1", "a2"):
            return "/" + (parts[3] if len(parts) > 3 else "")
        return None

    def reached(self) -> str | None:
        """The agent id the server routes this to."""
        if self.server == "one":
            return "solo"
        raw = self.target.split(b"?", 1)[0].split(b"#", 1)[0].decode("latin-1")
        try:
            parts = yarl.URL.build(path=raw, encoded=True).path.split("/", 3)
        except ValueError:
            return None
        return parts[2] if len(parts) >= 3 and parts[1] == "agents" and parts[2] in ("a1", "a2") else None

    def authorized(self, agent_id: str) -> bool:
        """The rule the server must apply: exactly one `Bearer <token>` with this agent's token."""
        if len(self.auth) != 1:
            return False
        scheme, _, value = self.auth[0].partition(b" ")
        return scheme.lower() == b"bearer" and value.strip() == TOKENS[agent_id].encode()


SEGMENT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda s: quote(s, safe=""))
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e308", "1e999", "-0", "9" * 5000, "1" + "0" * 400,
                     "0.000001", "3600", "3600.0001", "-1", "true", "null", '"5"', "[]", "{}"])
    .map(lambda s: ("raw", s)),
)


def _dump(value: object) -> str:
    """JSON text for generated values: ("raw", text) is spliced in as it is (NaN, 1e999, 5,000 digits)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "raw":
        return str(value[1])
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value)  # floats: NaN and Infinity as Python writes them


# Text with lone surrogates too: JSON's "\ud800" parses to one, and the hash of a context holding it once failed.
TEXT = st.one_of(st.text(max_size=20), st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1,
                                                 max_size=3))
# A few customers shared by imports and conversations, so a conversation meets an imported session.
CUSTOMERS = st.one_of(st.sampled_from(["cust-1", "cust-2", "cust-3"]), st.text(min_size=1, max_size=10))
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, NUMBERS)
ANY_JSON = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


@st.composite
def fault_body(draw, server: str) -> object:
    modes = [m for m in FAULT_MODES if m != "crash" or server == "many"]  # a crash of the single agent closes the port
    body: dict = {"mode": draw(st.one_of(st.sampled_from(modes), JSON_LEAVES))}
    for key in ("latency", "lease", "error_rate"):
        if draw(st.booleans()):
            body[key] = draw(NUMBERS)
    return body


@st.composite
def conversation_body(draw) -> object:
    body: dict = {"customer_id": draw(st.one_of(CUSTOMERS, st.just("x" * 300), JSON_LEAVES))}
    if draw(st.booleans()):
        body["channel"] = draw(st.one_of(st.sampled_from(["email", "sms", "fax"]), ANY_JSON))
    if draw(st.booleans()):
        body["type"] = draw(st.one_of(TEXT, ANY_JSON))
    return body


@st.composite
def session_context(draw) -> object:
    ctx = {"id": draw(st.one_of(st.text(min_size=1, max_size=10), TEXT)), "customer_id": draw(CUSTOMERS),
           "channel": draw(st.one_of(st.none(), st.just("email"), JSON_LEAVES)),
           "history": draw(st.one_of(st.lists(st.one_of(TEXT, ANY_JSON), max_size=3), st.lists(TEXT, max_size=3),
                                     ANY_JSON)),
           "extracted_data": draw(st.one_of(st.dictionaries(st.text(max_size=6), ANY_JSON, max_size=3),
                                            st.dictionaries(st.text(max_size=6), ANY_JSON, max_size=3), ANY_JSON)),
           "agent_interactions": draw(st.lists(ANY_JSON, max_size=2)), "updated_at": draw(JSON_LEAVES)}
    if draw(st.booleans()):
        ctx["extracted_data"] = {"types": draw(JSON_LEAVES)}  # not a list: a later conversation must cope
    try:
        ctx["state_hash"] = state_hash(ctx)  # a valid hash, so the context is stored
    except (TypeError, ValueError):  # ("raw", ...) values spliced in later, or a hash function that fails
        ctx["state_hash"] = "sha256:0"
    return ctx


@st.composite
def import_body(draw) -> object:
    kind = draw(st.sampled_from(["contexts", "contexts", "contexts", "many", "big", "junk"]))
    if kind == "contexts":
        return {"sessions": draw(st.lists(st.one_of(session_context(), session_context(), ANY_JSON), max_size=4)),
                "transfer": draw(ANY_JSON)}
    if kind == "many":
        return {"sessions": [{}] * (MAX_IMPORT_SESSIONS + 1)}
    if kind == "big":
        ctx = {"id": "big", "customer_id": "c", "channel": None, "history": ["x" * MAX_SESSION_BYTES],
               "extracted_data": {}, "agent_interactions": []}
        ctx["state_hash"] = state_hash(ctx)
        return {"sessions": [ctx]}
    return {"sessions": draw(ANY_JSON)}


@st.composite
def body_bytes(draw, server: str, route: str) -> bytes | None:
    kind = draw(st.sampled_from(["none", "bytes", "json", "shaped", "shaped", "shaped", "deep", "deep", "number",
                                 "number", "over"]))
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return _dump(draw(ANY_JSON)).encode("utf-8", "surrogatepass")
    if kind == "deep":
        depth = draw(st.sampled_from([63, 64, 65, 500, 990, 2000, 100_000]))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        inner = '{"sessions":' if draw(st.booleans()) else ""
        return (inner + opener * depth + "1" + closer * depth + ("}" if inner else "")).encode()
    if kind == "number":
        return ('{"mode":"slow","latency":' + draw(NUMBERS.map(_dump)) + "}").encode()
    if kind == "over":
        limit = IMPORT_BODY_LIMIT if route == "sessions/import" else BODY_LIMIT
        return b'{"k":"' + b"x" * (limit + draw(st.integers(1, 70_000))) + b'"}'
    shaped = {"admin/fault": fault_body(server), "conversations": conversation_body(),
              "sessions/import": import_body()}.get(route, ANY_JSON)
    return _dump(draw(shaped)).encode("utf-8", "surrogatepass")


@st.composite
def cases(draw) -> Case:
    server = draw(st.sampled_from(["one", "many"]))
    agent = "solo" if server == "one" else draw(st.sampled_from(["a1", "a2", "zz"]))
    prefix = "" if server == "one" else f"/agents/{agent}"
    route = draw(st.sampled_from(ROUTES + ["conversations", "sessions/import", "sessions/import", "admin/fault",
                                           "sessions/*", "random", "probe", "odd"]))  # body routes more often
    if route == "sessions/*":
        path = "/v1/sessions/" + draw(SEGMENT)
    elif route == "random":
        path = "/v1/" + "/".join(draw(st.lists(SEGMENT, max_size=4)))
    elif route == "probe":
        path = draw(st.sampled_from(sorted(OPEN)))
    elif route == "odd":
        path = draw(st.sampled_from(["/v1", "/v1/", "//v1/info", "/v1/../healthz", "/v1/%2e%2e/metrics",
                                     "/V1/info", "/v1/admin/fault/", "/v1/info%00", "/v1/%ff", "/%68ealthz",
                                     "/v1/admin%2Fdrain", "/"]))
    else:
        path = "/v1/" + route
    target = prefix + path
    if draw(st.booleans()):
        if route == "conversations" or draw(st.booleans()):  # a `wait` query (only conversations read it)
            target += "?" + draw(st.sampled_from(WAIT_QUERIES))
        else:
            target += "?" + "&".join(f"{draw(SEGMENT)}={draw(SEGMENT)}" for _ in range(draw(st.integers(1, 3))))
    proper = b"POST" if route in ("conversations", "sessions/import") or route.startswith("admin/") else b"GET"
    method = draw(st.one_of(st.just(proper), st.just(proper),  # about half the requests use the route's method
                            st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"HEAD", b"OPTIONS"]),
                            st.from_regex(rb"\A[A-Z]{1,10}\Z")))
    own = TOKENS[agent] if agent in TOKENS else TOKENS["a1"]
    auth_kind = draw(st.sampled_from(["right"] * 6 + ["none", "wrong", "other", "scheme", "bytes", "twice", "bare",
                                                      "spaces"]))
    auth = {
        "none": [], "right": [b"Bearer " + own.encode()], "wrong": [b"Bearer " + draw(st.binary(max_size=20))
                                                                    .replace(b"\r", b"").replace(b"\n", b"")],
        "other": [b"Bearer " + TOKENS["a2" if agent == "a1" else "a1"].encode()],
        "scheme": [b"Basic " + own.encode()], "twice": [b"Bearer " + own.encode(), b"Bearer " + own.encode()],
        "bytes": [b"Bearer " + bytes(draw(st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=12)))],
        "bare": [b"Bearer"], "spaces": [b"bearer   " + own.encode() + b"  "],
    }[auth_kind]
    body = draw(body_bytes(server, route))
    content_type = draw(st.sampled_from([None, b"application/json", b"text/plain",
                                         b"application/json; charset=latin-1"]))
    chunked = body is not None and draw(st.booleans())
    return Case(server, agent, method, target.encode("latin-1"), auth, content_type, body, chunked)


# ------------------------------------------------------------------------------------- the properties


def problems(served: Served, case: Case) -> list[str]:
    """What is wrong with the server's answer to ``case`` (an empty list when nothing is)."""
    mark = len(served.records.records)
    answer = exchange(served.ports[case.server], case.request())
    served.examples += 1
    out = []
    if answer.status is None:
        out.append(f"no answer ({answer.error or 'closed without one'}) after {answer.seconds:.1f}s")
    elif answer.seconds > ANSWER_LIMIT:
        out.append(f"answered after {answer.seconds:.1f}s")
    if answer.status is not None and answer.status >= 500 and answer.status != 503:
        out.append(f"answered {answer.status}: {answer.body[:200]!r}")
    agent_id, route = case.reached(), case.route()
    protocol_400 = answer.status == 400 and not answer.content_type.startswith("application/json")
    if agent_id is not None and route is not None and route not in OPEN and not case.authorized(agent_id) \
            and answer.status != 401 and not protocol_400:
        out.append(f"answered {answer.status} without the agent's token")
    if answer.status is not None and answer.status != 401 and any(t.encode() in answer.body for t in TOKENS.values()):
        out.append("the answer holds a token")
    if answer.content_type.startswith("application/json") and answer.body and case.method != b"HEAD":
        try:
            value = json.loads(answer.body, parse_constant=_refuse)
        except ValueError as exc:
            out.append(f"the answer is not strict JSON ({exc})")
        else:
            if route == "/v1/admin/fault" and answer.status == 200:
                out += _accepted_fault_problems(value)
    time.sleep(0.002)  # let the server log what it logs about this request
    out += served.records.bad(mark)
    served.reset()
    return out


def _refuse(name: str) -> None:
    raise ValueError(f"{name} in the answer")


def _accepted_fault_problems(value: dict) -> list[str]:
    """A fault the agent took has finite values inside the documented bounds (else requests hang for ever)."""
    latency, lease, rate = value.get("latency"), value.get("lease"), value.get("error_rate")
    if not (isinstance(latency, (int, float)) and 0 <= latency <= MAX_LATENCY):
        return [f"accepted a fault with latency {latency!r}"]
    if not (isinstance(lease, (int, float)) and 0 <= lease <= MAX_LEASE):
        return [f"accepted a fault with lease {lease!r}"]
    if not (isinstance(rate, (int, float)) and 0 <= rate <= 1):
        return [f"accepted a fault with error_rate {rate!r}"]
    return []


@settings(max_examples=FUZZ_EXAMPLES, derandomize=not SOAK, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), print_blob=True)
@given(case=cases())
# Held answers (`?wait=1`) on both servers, whatever the random examples reach: each is held for the
# conversation's 60 ms, then 200.
@example(case=Case("one", "solo", b"POST", b"/v1/conversations?wait=1", [b"Bearer " + TOKENS["solo"].encode()],
                   b"application/json", b'{"customer_id": "held-1", "channel": "email"}', False))
@example(case=Case("many", "a2", b"POST", b"/agents/a2/v1/conversations?wait=true",
                   [b"Bearer " + TOKENS["a2"].encode()], None, b'{"customer_id": "held-2"}', True))
def test_fuzz_every_route_answers_in_bounds_without_500_or_traceback(served, case):
    found = problems(served, case)
    assert not found, f"{case.method!r} {case.target[:200]!r} auth={case.auth!r} " \
                      f"body={(case.body or b'')[:200]!r} chunked={case.chunked}: {found}"


def test_fuzz_server_stays_responsive_afterwards(served):
    """After the examples (in this order, pytest runs the module's tests as written): every agent answers."""
    for server, prefix in (("one", ""), ("many", "/agents/a1"), ("many", "/agents/a2")):
        answer = exchange(served.ports[server], f"GET {prefix}/healthz HTTP/1.1\r\nHost: x\r\n"
                                                "Connection: close\r\n\r\n".encode())
        assert answer.status == 200, answer
        assert answer.seconds < 1.0
    assert served.records.bad(0) == []
