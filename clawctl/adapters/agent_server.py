"""The reference agent's HTTP server (aiohttp): agent API v1 over real sockets.

One process serves one agent at ``/``, or (``many=True``) every agent of a fleet under
``/agents/<id>/``, which is how the probe benchmark puts 1,000 agents behind one port.
Behaviour lives in :mod:`clawctl.core.refagent`; this module owns sockets, clock and timers.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from aiohttp import web

from clawctl.adapters.clock import utc_now
from clawctl.core.env import iso
from clawctl.core.refagent import ApiError, ReferenceAgent

JSON = "application/json"
_PROBES = {"/healthz", "/health", "/readyz", "/ready", "/startupz", "/startup"}


def _stamp() -> str:
    return iso(utc_now())


def _json(status: int, body: dict, *, head: bool = False) -> web.Response:
    if head:
        return web.Response(status=status, content_type=JSON)
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=JSON,
                        headers={"Cache-Control": "no-store"})


class AgentServer:
    """Serve ``agents`` (id -> ReferenceAgent). ``token`` guards every /v1 route when set."""

    def __init__(self, agents: dict[str, ReferenceAgent], *, token: str | None = None, many: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.agents = agents
        self.token = token
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
        self._only = next(iter(agents.values())) if len(agents) == 1 and not many else None

    # -- lifecycle ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
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
    def _route(self, path: str) -> tuple[ReferenceAgent | None, str]:
        if not self.many:
            return self._only, path
        parts = path.split("/", 3)  # '', 'agents', id, rest
        if len(parts) >= 3 and parts[1] == "agents":
            return self.agents.get(parts[2]), "/" + (parts[3] if len(parts) > 3 else "")
        return None, path

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        agent, path = self._route(request.path)
        if agent is None:
            return _json(404, {"error": "no such agent"})
        now = self.clock()
        agent.expire(now, _stamp())
        admin = path.startswith("/v1/admin/")
        if path.startswith("/v1/") and not self._authorized(request):
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
            await asyncio.sleep(fault.latency)
        try:
            return await self._handle(agent, request, path, now)
        except ApiError as err:
            return _json(err.status, {"error": err.message})

    def _authorized(self, request: web.Request) -> bool:
        if not self.token:
            return True
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    async def _body(self, request: web.Request) -> dict:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise ApiError(400, "the body must be JSON") from None
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
            return _json(200, agent.import_sessions(await self._body(request), _stamp()))
        if path.startswith("/v1/sessions/") and method == "GET":
            return _json(200, agent.get_session(path.rsplit("/", 1)[1]))
        if path == "/v1/admin/fault" and method == "POST":
            body = await self._body(request)
            result = agent.set_fault(body, now)
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

    async def _conversation(self, agent: ReferenceAgent, request: web.Request, now: float) -> web.StreamResponse:
        started = time.perf_counter()
        fault = agent.current_fault(now)
        try:
            if fault.mode == "error" and agent.rng.random() < fault.error_rate:
                agent.counters.error += 1
                raise ApiError(500, "injected error")
            try:
                body, service = agent.start_conversation(await self._body(request), now, _stamp())
            except ApiError as err:  # 429 is counted as rejected by the agent itself
                if err.status == 503:
                    agent.counters.rejected += 1
                elif err.status != 429:
                    agent.counters.error += 1
                raise
            agent.counters.ok += 1
            if service > 0:
                loop = asyncio.get_running_loop()
                loop.call_later(service, lambda: agent.expire(self.clock(), _stamp()))
            return _json(201, body)
        finally:
            agent.counters.observe(time.perf_counter() - started + (fault.latency if fault.mode == "slow" else 0))


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
