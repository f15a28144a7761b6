"""The reference agent's HTTP server (aiohttp): agent API v1 over real sockets.

One process serves one agent at ``/``, or (``many=True``) every agent of a fleet under
``/agents/<id>/``, which is how the probe benchmark puts 1,000 agents behind one port.
Behaviour lives in :mod:`clawctl.core.refagent`; this module owns sockets, clock and timers.

Everything a client sends is untrusted: request bodies are read up to a limit per route (413
past it), parsed as strict JSON (no NaN or Infinity, nesting at most MAX_JSON_DEPTH deep; 400
otherwise), and the bearer token is compared as raw header bytes, so no header can make a request
fail with a 500. A client's mistake is an answer with a JSON error body, never a traceback in the log.

`POST /v1/conversations?wait=1` holds its answer until the conversation ends. Each conversation in
progress has one timer that ends it at its end time, and at most one held request (the one that
started it), so held requests are bounded by the agents' capacity. The timer frees the slot first
and then releases the held request, which answers 200; a fault that cuts the conversation short
releases it with the fault's mode instead (see ``_conversation``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

from clawctl.adapters.agent_requests import (
    ServerLog,
    parse_body,
    token_bytes,
)
from clawctl.adapters.clock import utc_now
from clawctl.core.env import iso
from clawctl.core.refagent import MAX_LEASE, ApiError, ReferenceAgent

JSON = "application/json"
_PROBES = {"/healthz", "/health", "/readyz", "/ready", "/startupz", "/startup"}
_OPEN = _PROBES | {"/metrics"}  # answered without the token; every other route needs it when one is set
BODY_LIMIT = 64 * 1024  # request body of every route but the import
IMPORT_BODY_LIMIT = 4 * 1024 * 1024  # request body of POST /v1/sessions/import
WAIT_VALUES = ("1", "true")  # what `?wait=` takes on POST /v1/conversations
KEEPALIVE_S = MAX_LEASE + 30.0  # seconds an idle connection is kept: longer than any fault's lease


@dataclass
class _Running:
    """A conversation in progress on an agent: the timer that ends it, and its held `?wait=1` request."""

    timer: asyncio.TimerHandle
    held: asyncio.Future[str] | None = None  # resolved with how it ended: "ended", a fault's mode, or "stop"


def _stamp() -> str:
    return iso(utc_now())


def _json(status: int, body: dict, *, head: bool = False) -> web.Response:
    if head:
        return web.Response(status=status, content_type=JSON)
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=JSON,
                        headers={"Cache-Control": "no-store"})


class AgentServer:
    """Serve ``agents`` (id -> ReferenceAgent).

    ``tokens`` (agent id -> token, or None for none) guards each agent's routes; ``token`` is the
    token of every agent ``tokens`` does not name. An agent with a token answers every route but
    the probes and `/metrics` with 401 unless the request carries ``Authorization: Bearer <token>``.
    """

    def __init__(self, agents: dict[str, ReferenceAgent], *, token: str | None = None,
                 tokens: dict[str, str | None] | None = None, many: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.agents = agents
        self._tokens = {agent_id: token_bytes((tokens or {}).get(agent_id, token)) for agent_id in agents}
        self.many = many
        self.clock = clock
        self.started_at = clock()
        self.process = psutil.Process()
        self.process.cpu_percent(None)
        self.site: web.TCPSite | None = None
        self.runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self._crash_task: asyncio.Task | None = None
        self._figures: tuple[float, float, float] | None = None
        self._stopping = False
        self._only = next(iter(agents)) if len(agents) == 1 and not many else None  # its id
        self._running: dict[ReferenceAgent, dict[str, _Running]] = {agent: {} for agent in agents.values()}
        self._fault_changed: dict[ReferenceAgent, asyncio.Future[None]] = {}  # wakes requests held by a hang

    # -- lifecycle ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=IMPORT_BODY_LIMIT)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)  # every path, newlines (%0A) included
        return app

    async def start(self, host: str, port: int) -> int:
        # An idle connection stays open past a fault's longest lease: a drill clears a `crash` over the
        # connection it set the fault on (a crashed agent accepts no new one), which older aiohttp's
        # default of 75 s would close during a long lease.
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                                    logger=ServerLog(server_logger, {}), keepalive_timeout=KEEPALIVE_S)
        await self.runner.setup()
        self.host = host
        self.site = web.TCPSite(self.runner, host, port, reuse_address=True, backlog=1024)
        await self.site.start()
        sockets = self.site._server.sockets if self.site._server else []  # noqa: SLF001 - aiohttp exposes no getter
        self.port = sockets[0].getsockname()[1] if sockets else port
        for agent in self.agents.values():
            agent.started = True
        return self.port

    async def stop(self) -> None:
        self._stopping = True
        for agent, running in self._running.items():  # held requests end now, not at the shutdown timeout
            for entry in running.values():
                entry.timer.cancel()
                if entry.held is not None and not entry.held.done():
                    entry.held.set_result("stop")
            running.clear()
            self._notify_fault_changed(agent)
        if self._crash_task is not None and not self._crash_task.done():
            self._crash_task.cancel()  # or its `finally` would listen again on a cleaned-up runner
            try:
                await self._crash_task
            except asyncio.CancelledError:
                pass
        if self.runner is not None:
            await self.runner.cleanup()

    async def _crash(self, lease: float) -> None:
        """A crash: stop listening (connections refused) for the lease, then come back."""
        await asyncio.sleep(0.05)  # let the fault request's answer go out first
        if self.site is not None:
            await self.site.stop()
        try:
            await asyncio.sleep(lease)
        finally:
            await self._listen_again()

    async def _listen_again(self, attempts: int = 120, pause: float = 0.5) -> None:
        """Re-open the port after a crash; if something else took it meanwhile, keep trying (and say so)."""
        for attempt in range(attempts):
            if self.runner is None or self._stopping:
                return
            self.site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True, backlog=1024)
            try:
                await self.site.start()
                return
            except OSError as exc:
                if attempt == 0:
                    sys.stderr.write(f"clawctl agent: cannot listen on {self.host}:{self.port} again after the "
                                     f"crash fault ({exc.strerror or exc}); retrying every {pause:g}s\n")
                await asyncio.sleep(pause)
        sys.stderr.write(f"clawctl agent: gave up listening on {self.host}:{self.port} after the crash fault\n")

    def _process_figures(self, now: float) -> tuple[float, float]:
        """This process's CPU and memory, read at most once a second (agents of `--all` share them)."""
        if self._figures is None or now - self._figures[0] >= 1.0:
            self._figures = (now, self.process.cpu_percent(None), self.process.memory_percent())
        return self._figures[1], self._figures[2]

    # -- routing -----------------------------------------------------------------------------
    def _route(self, path: str) -> tuple[str | None, str]:
        if not self.many:
            return self._only, path
        parts = path.split("/", 3)  # '', 'agents', id, rest
        if len(parts) >= 3 and parts[1] == "agents" and parts[2] in self.agents:
            return parts[2], "/" + (parts[3] if len(parts) > 3 else "")
        return None, path

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        agent_id, path = self._route(request.path)
        if agent_id is None:
            return _json(404, {"error": "no such agent"})
        agent = self.agents[agent_id]
        now = self.clock()
        self._expire(agent, now)
        admin = path.startswith("/v1/admin/")
        if path not in _OPEN and not self._authorized(request, self._tokens[agent_id]):
            return _json(401, {"error": "missing or wrong bearer token"})
        fault = agent.current_fault(now)
        if not admin and fault.mode == "crash":
            # A crashed process answers nothing: drop the connection. Without this, keep-alive
            # connections opened before the crash (and every request in --all mode) were answered.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if not admin and fault.mode == "hang":
            await asyncio.sleep(max(0.0, fault.until - now))
        elif not admin and fault.mode == "slow" and fault.latency:
            await asyncio.sleep(min(fault.latency, max(0.0, fault.until - now)))  # never past the lease
        try:
            return await self._handle(agent, request, path, now)
        except ApiError as err:
            # After a 413 aiohttp reads and drops the unread rest of the body (for up to its 10 s
            # lingering time), so a client that sends it all still reads the answer.
            return _json(err.status, {"error": err.message})

    @staticmethod
    def _authorized(request: web.Request, token: bytes | None) -> bool:
        """The request carries exactly one `Authorization: Bearer <token>`, compared as raw bytes."""
        if token is None:
            return True
        values = [value for name, value in request.raw_headers if name.lower() == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, value = values[0].partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), token)

    async def _body(self, request: web.Request, limit: int = BODY_LIMIT) -> dict:
        """The request's JSON object, read up to ``limit`` bytes (413 past it, 400 when it is not one)."""
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, f"the body is over {limit // 1024} KiB")
        data = bytearray()
        try:
            async for chunk in request.content.iter_chunked(65536):
                data += chunk
                if len(data) > limit:
                    raise ApiError(413, f"the body is over {limit // 1024} KiB")
        except (HttpProcessingError, ConnectionError, asyncio.IncompleteReadError):
            raise ApiError(400, "the body could not be read") from None
        body = parse_body(bytes(data))
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object")
        return body

    async def _handle(self, agent: ReferenceAgent, request: web.Request, path: str, now: float) -> web.StreamResponse:
        method = request.method
        head = method == "HEAD"
        if path in _PROBES:
            if method not in ("GET", "HEAD"):
                return web.Response(status=405, text="method not allowed", headers={"Allow": "GET, HEAD"})
            if path in ("/healthz", "/health"):
                return _json(200, {"ok": True, "status": "live"}, head=head)
            if path in ("/readyz", "/ready"):
                status, body = agent.readiness(now)
                body["uptimeMs"] = int((now - self.started_at) * 1000)
                return _json(status, body, head=head)
            draining = agent.draining
            return _json(503 if draining else 200, {"ok": not draining, "status": "draining" if draining else "started"},
                         head=head)
        if path == "/metrics" and method in ("GET", "HEAD"):
            cpu, memory = self._process_figures(now)
            text = agent.metrics_text(cpu, memory)
            return web.Response(text=text, content_type="text/plain", charset="utf-8",
                                headers={"X-Content-Type-Version": "0.0.4"})
        if path == "/v1/info" and method == "GET":
            return _json(200, agent.info.as_dict())
        if path == "/v1/conversations" and method == "POST":
            return await self._conversation(agent, request, now)
        if path == "/v1/sessions" and method == "GET":
            return _json(200, agent.list_sessions())
        if path == "/v1/sessions/import" and method == "POST":
            return _json(200, agent.import_sessions(await self._body(request, IMPORT_BODY_LIMIT), _stamp()))
        if path.startswith("/v1/sessions/") and method == "GET":
            return _json(200, agent.get_session(path.rsplit("/", 1)[1]))
        if path == "/v1/admin/fault" and method == "POST":
            body = await self._body(request)
            result = agent.set_fault(body, now)
            self._ended(agent, agent.cut_by_fault(_stamp()), result["mode"])
            self._notify_fault_changed(agent)
            if self._crash_task is not None and not self._crash_task.done():
                self._crash_task.cancel()  # a new fault (sent on a kept-alive connection) ends the crash
            if result["mode"] == "crash" and not self.many:
                self._crash_task = asyncio.get_running_loop().create_task(self._crash(result["lease"]))
            return _json(200, result)
        if path == "/v1/admin/drain" and method == "POST":
            agent.draining = True
            return _json(200, {"draining": True, "active_conversations": len(agent.active)})
        if path == "/v1/admin/resume" and method == "POST":
            agent.draining = False
            return _json(200, {"draining": False})
        return _json(404, {"error": f"no route {method} {path}"})

    # -- conversations ---------------------------------------------------------------------
    def _expire(self, agent: ReferenceAgent, now: float) -> None:
        """End the agent's conversations that are over, then release their held requests (slot first)."""
        self._ended(agent, agent.expire(now, _stamp()), "ended")

    def _ended(self, agent: ReferenceAgent, ids: list[str], how: str) -> None:
        running = self._running[agent]
        for sid in ids:
            entry = running.pop(sid, None)
            if entry is None:
                continue
            entry.timer.cancel()
            if entry.held is not None and not entry.held.done():
                entry.held.set_result(how)

    def _notify_fault_changed(self, agent: ReferenceAgent) -> None:
        changed = self._fault_changed.pop(agent, None)
        if changed is not None and not changed.done():
            changed.set_result(None)

    async def _hang_over(self, agent: ReferenceAgent) -> None:
        """Return once the agent's hang fault is over: its lease ran out, another fault replaced it, or the
        server stops. Each round waits for one of those, so the rounds are as many as faults set meanwhile."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = self.clock()
            fault = agent.current_fault(now)
            if fault.mode != "hang":
                return
            changed = self._fault_changed.get(agent)
            if changed is None or changed.done():
                changed = self._fault_changed[agent] = loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(changed), fault.until - now)
            except TimeoutError:
                pass

    async def _conversation(self, agent: ReferenceAgent, request: web.Request, now: float) -> web.StreamResponse:
        """Start a conversation: 201 at once, or with `?wait=1` 200 once it has ended (its slot free first).

        Counted once per request, when it is answered: one outcome and one observation of the time taken to
        start the conversation (the `slow` fault's latency included, the time held by `wait` not). A held
        request is answered by how its conversation ended: at its end time, 200 (a drain or an `unready`
        fault does not cut it); cut short by a `crash` (or the server stopping), the connection is dropped;
        by an `error` fault, 503 at once; by a `hang`, 503 once the hang is over. A client that leaves
        while held does not end the conversation: it runs to its end time, as it would have.
        """
        started = time.perf_counter()
        fault = agent.current_fault(now)
        latency = fault.latency if fault.mode == "slow" else 0.0
        try:
            try:
                wait = _wait(request)
                if fault.mode == "error" and agent.rng.random() < fault.error_rate:
                    raise ApiError(500, "injected error")
                body = await self._body(request)
                taken = agent.start_conversation(body, self.clock(), _stamp())
            except ApiError as err:  # 429 is counted as rejected by the agent itself
                if err.status == 503:
                    agent.counters.rejected += 1
                elif err.status != 429:
                    agent.counters.error += 1
                raise
        except ApiError:
            agent.counters.observe(time.perf_counter() - started + latency)
            raise
        sid = taken.body["session_id"]
        entry = None
        if taken.new:
            self._ended(agent, [sid], "ended")  # a stale entry of this session's last conversation, if any
            end = agent.active[sid]
            timer = asyncio.get_running_loop().call_later(max(0.0, end - self.clock()), self._end_at, agent, end)
            entry = self._running[agent][sid] = _Running(timer)
        if not wait or entry is None:  # no wait, or another turn of a conversation: answered at once
            agent.counters.ok += 1
            agent.counters.observe(time.perf_counter() - started + latency)
            return _json(200, {**taken.body, "service_s": 0.0}) if wait else _json(201, taken.body)
        taking = time.perf_counter() - started + latency
        held = entry.held = asyncio.get_running_loop().create_future()
        if self._stopping:  # taken while the server stops: not held past it
            held.set_result("stop")
        ok = False
        try:
            how = await held
            if how == "ended":
                ok = True
                return _json(200, {**taken.body, "service_s": taken.service})
            if how == "hang":
                await self._hang_over(agent)
            if how in ("hang", "error") and not self._stopping:
                return _json(503, {"error": f"the conversation was cut short by a {how} fault"})
            if request.transport is not None:  # a crash (or the server stopping): nothing answers
                request.transport.abort()
            raise asyncio.CancelledError
        finally:
            if ok:
                agent.counters.ok += 1
            else:
                agent.counters.error += 1
            agent.counters.observe(taking)

    def _end_at(self, agent: ReferenceAgent, end: float) -> None:
        """A conversation's timer: end what is over at ``end`` (the loop may wake a hair before the agent's clock)."""
        self._expire(agent, max(self.clock(), end))


def _wait(request: web.Request) -> bool:
    """The `wait` query parameter of a conversation request: absent (False), or once, 1 or true (True); else a 400."""
    try:
        values = request.query.getall("wait", [])
    except (ValueError, UnicodeError):
        raise ApiError(400, "the query string could not be read") from None
    if not values:
        return False
    if len(values) == 1 and values[0] in WAIT_VALUES:
        return True
    raise ApiError(400, "the query parameter wait must be 1 or true (given once)")


def write_ready_file(path: Path, payload: dict) -> None:
    """Atomically write where the agent listens, so a parent process can wait for it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


async def serve_forever(server: AgentServer, host: str, port: int, ready_file: Path | None,
                        on_ready: Callable[[int], None] | None = None) -> None:
    bound = await server.start(host, port)
    if ready_file is not None:
        write_ready_file(ready_file, {"pid": os.getpid(), "port": bound, "endpoint": f"http://{host}:{bound}"})
    if on_ready is not None:
        on_ready(bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread
            pass
    try:
        await stop.wait()
    finally:
        await server.stop()
