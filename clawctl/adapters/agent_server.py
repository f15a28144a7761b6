"""The reference agent's HTTP server (aiohttp): agent API v1 over real sockets.

One process serves one agent at ``/``, or (``many=True``) every agent of a fleet under
``/agents/<id>/``, which is how the probe benchmark puts 1,000 agents behind one port.
Behaviour lives in :mod:`clawctl.core.refagent`; this module owns sockets, clock and timers.

Everything a client sends is untrusted: request bodies are read up to a limit per route (413
past it), parsed as strict JSON (no NaN or Infinity, nesting at most MAX_JSON_DEPTH deep; 400
otherwise), and the bearer token is compared as raw header bytes, so no header can make a request
fail with a 500. A client's mistake is an answer with a JSON error body, never a traceback in the log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.log import server_logger

from clawctl.adapters.clock import utc_now
from clawctl.core.env import iso
from clawctl.core.refagent import ApiError, ReferenceAgent

JSON = "application/json"
_PROBES = {"/healthz", "/health", "/readyz", "/ready", "/startupz", "/startup"}
_OPEN = _PROBES | {"/metrics"}  # answered without the token; every other route needs it when one is set
BODY_LIMIT = 64 * 1024  # request body of every route but the import
IMPORT_BODY_LIMIT = 4 * 1024 * 1024  # request body of POST /v1/sessions/import
MAX_JSON_DEPTH = 64  # nesting of a request body (objects and arrays)


def _stamp() -> str:
    return iso(utc_now())


def _json(status: int, body: dict, *, head: bool = False) -> web.Response:
    if head:
        return web.Response(status=status, content_type=JSON)
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=JSON,
                        headers={"Cache-Control": "no-store"})


def _not_a_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a float")
    return value


def _too_deep(value: object, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` deep (walked with a list, not recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_body(data: bytes) -> object:
    """A request body as strict JSON, or ApiError(400).

    UTF-8 only; NaN, Infinity and numbers too large for a float are refused; nesting deeper than
    MAX_JSON_DEPTH is refused (a deep body makes `json.loads` raise RecursionError, and a body just
    under that depth would make the JSON written back for it raise later).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body must be JSON in UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_not_a_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError(400, f"the body must be JSON nested at most {MAX_JSON_DEPTH} deep") from None
    except ValueError as exc:  # JSONDecodeError, NaN, Infinity, 1e999, an integer over 4,300 digits
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiError(400, f"the body must be JSON ({reason[:100]})") from None
    if _too_deep(value, MAX_JSON_DEPTH):
        raise ApiError(400, f"the body must be JSON nested at most {MAX_JSON_DEPTH} deep")
    return value


class _ServerLog(logging.LoggerAdapter):
    """aiohttp's request-handler log, with a client's malformed request as one line.

    aiohttp answers a request it cannot parse (a bad header byte, a broken chunk, a bad method) with
    400 itself and logs it with a traceback, as an ERROR. That is the client's mistake, not the
    agent's: it becomes one INFO line (or DEBUG, where aiohttp chose DEBUG) naming the error's class
    only, since its message may quote a header, and so a token. Everything else passes unchanged.
    """

    def log(self, level: int, msg: object, *args: object, exc_info: object = None, **kwargs: object) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info is True else None
        if isinstance(exc, BadHttpMessage):
            self.logger.log(min(level, logging.INFO), "clawctl agent: a malformed request answered %s (%s)",
                            exc.code, type(exc).__name__)
            return
        self.logger.log(level, msg, *args, exc_info=exc_info, **kwargs)  # type: ignore[arg-type]

    def exception(self, msg: object, *args: object, exc_info: object = True, **kwargs: object) -> None:
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)


def _token_bytes(token: str | None) -> bytes | None:
    # A token read from the environment may hold undecodable bytes (as surrogates): compare the bytes.
    return token.encode("utf-8", "surrogateescape") if token else None


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
        self._tokens = {agent_id: _token_bytes((tokens or {}).get(agent_id, token)) for agent_id in agents}
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

    # -- lifecycle ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=IMPORT_BODY_LIMIT)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)  # every path, newlines (%0A) included
        return app

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                                    logger=_ServerLog(server_logger, {}))
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
        agent.expire(now, _stamp())
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
