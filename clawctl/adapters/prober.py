"""Probe agents over HTTP (aiohttp): readiness and metrics, one total deadline per agent.

Design (docs/probing.md has the measurements): one aiohttp session with one connection pool for the
whole cycle, bounded concurrency, a total deadline per agent enforced outside the HTTP client
(`asyncio.timeout_at`), bodies read up to a limit, no redirects followed, TLS verified unless told
otherwise, each agent at a stable offset inside the cycle, and the cyclic garbage collector's
generation-0 threshold raised while a cycle runs. Tokens go into the Authorization header and
nowhere else.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from clawctl.adapters.gc_headroom import gc_headroom
from clawctl.core.probe import (
    CLAWCTL_SERIES,
    OPENCLAW_SERIES,
    AgentMetrics,
    Observation,
    Verdict,
    clean,
    metrics_from,
    metrics_refusal,
    metrics_verdict,
    readiness,
    scan_metrics,
    startup,
)
from clawctl.core.top.scrape import Scrape
from clawctl.core.top.scrape import parse as parse_scrape

READY_LIMIT = 64 * 1024
METRICS_LIMIT = 4 * 1024 * 1024
@dataclass(frozen=True)
class Target:
    agent_id: str
    base_url: str  # http(s)://host:port[/prefix], no trailing slash
    kind: str = "clawctl"  # clawctl | openclaw
    token: str | None = field(default=None, repr=False)  # never printed
    metrics: bool = True

    def offset(self, spread: float) -> float:
        """A stable place inside the cycle for this agent (a hash of its id), as Prometheus does."""
        return (zlib.crc32(self.agent_id.encode()) / 2**32) * spread

    @property
    def metrics_path(self) -> str | None:
        if self.kind == "openclaw":
            return "/api/diagnostics/prometheus" if self.token else None
        return "/metrics"


@dataclass
class ProbeResult:
    agent_id: str
    verdict: Verdict
    metrics: AgentMetrics | None = None
    metrics_error: str | None = None
    latency_ms: float | None = None
    at: float = 0.0  # wall clock (epoch seconds) when the probe started
    scrape: Scrape | None = None  # the metrics read in full, with the histogram (for `top`'s rates)


def _error_name(exc: BaseException) -> str:
    """A transport failure in a few words; whatever in it came from the agent is cleaned and cut to size."""
    return clean(_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError)):
        return f"tls: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "refused"
        if isinstance(os_error, ssl.SSLError):
            return f"tls: {os_error}"
        return f"connect: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "reset: the server closed the connection"
    if isinstance(exc, (ConnectionResetError, aiohttp.ClientOSError)):
        return f"reset: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"reset: incomplete body ({exc})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"protocol: {exc.message}"
    return f"error: {type(exc).__name__}: {exc}"


class Prober:
    """Use as ``async with Prober(...) as prober: results = await prober.cycle(targets)``."""

    def __init__(self, *, timeout: float = 1.0, concurrency: int = 200, verify_tls: bool = True,
                 clock: Callable[[], float] = time.time, full_scrape: bool = False) -> None:
        """``full_scrape``: also read each metrics body in full, histogram included (``ProbeResult.scrape``,
        for `top`'s rates and percentiles)."""
        # A NaN or infinite deadline would never fire: a cycle that never ends. The CLI refuses such
        # values with a usage error; this is the last line for other callers.
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds above 0, not {timeout!r}")
        if not (isinstance(concurrency, int) and concurrency >= 1):
            raise ValueError(f"concurrency must be an integer of at least 1, not {concurrency!r}")
        self.timeout = timeout
        self.concurrency = concurrency
        self.verify_tls = verify_tls
        self.clock = clock
        self.full_scrape = full_scrape
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Prober":
        connector = aiohttp.TCPConnector(limit=self.concurrency * 2, limit_per_host=0, ssl=None if self.verify_tls
                                         else False, ttl_dns_cache=300, enable_cleanup_closed=True)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None),
                                             auto_decompress=True, raise_for_status=False,
                                             headers={"User-Agent": "clawctl-prober"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def _get(self, url: str, token: str | None, limit: int) -> Observation:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        started = time.perf_counter()
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False) as resp:
                if 300 <= resp.status < 400:
                    where = clean(resp.headers.get("Location", "?"), 200)
                    return Observation(resp.status, resp.content_type or "", b"",
                                       f"redirect: HTTP {resp.status} to {where}", _ms(started))
                body = bytearray()
                async for chunk in resp.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > limit:
                        return Observation(resp.status, resp.content_type or "", b"",
                                           f"too_large: body over {limit // 1024} KiB", _ms(started))
                return Observation(resp.status, resp.headers.get("Content-Type", ""), bytes(body), None,
                                   _ms(started))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every transport failure is an observation
            return Observation(error=_error_name(exc), elapsed_ms=_ms(started))

    async def probe(self, target: Target) -> ProbeResult:
        at = self.clock()
        base = target.base_url.rstrip("/")
        metrics_path = target.metrics_path if target.metrics else None
        ready_task = asyncio.ensure_future(self._get(base + "/readyz", target.token, READY_LIMIT))
        metrics_task = (asyncio.ensure_future(self._get(base + metrics_path, target.token, METRICS_LIMIT))
                        if metrics_path else None)
        tasks = [t for t in (ready_task, metrics_task) if t is not None]
        deadline = asyncio.get_running_loop().time() + self.timeout  # one total deadline, /startupz included
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.gather(*tasks)
        except TimeoutError:
            pass
        for task in tasks:
            if not task.done():
                task.cancel()
        obs = ready_task.result() if ready_task.done() and not ready_task.cancelled() else \
            Observation(error=f"timeout: no answer within {self.timeout:g}s")
        verdict = readiness(obs)
        result = ProbeResult(target.agent_id, verdict, latency_ms=obs.elapsed_ms if obs.error is None else None,
                             at=at)
        if metrics_task is not None:
            if metrics_task.done() and not metrics_task.cancelled():
                mobs = metrics_task.result()
                refusal = metrics_refusal(mobs) if mobs.error is None and mobs.status == 200 else None
                if refusal is not None:
                    result.metrics_error = refusal
                    result.verdict = metrics_verdict(verdict, target.kind, refusal)
                elif mobs.error is None and mobs.status == 200:
                    series = CLAWCTL_SERIES if target.kind == "clawctl" else OPENCLAW_SERIES
                    result.metrics = metrics_from(scan_metrics(mobs.body, series))
                    if self.full_scrape or target.kind == "openclaw":
                        result.scrape = parse_scrape(mobs.body, target.kind)
                    if target.kind == "openclaw" and result.metrics.response_time_ms is None:
                        # a gateway labels its run histogram (channel, model, outcome, ...): the sums over
                        # every label set, as `sum by ()` would
                        sc = result.scrape
                        if sc is not None and sc.rt_count and sc.rt_sum is not None:
                            result.metrics.response_time_ms = sc.rt_sum / sc.rt_count * 1000
                else:
                    result.metrics_error = mobs.error or f"HTTP {mobs.status}"
            else:
                result.metrics_error = f"timeout: no answer within {self.timeout:g}s"
        if verdict.state == "degraded" and target.kind == "openclaw":
            refined = await self._startup(base, target, deadline)
            if refined is not None:
                result.verdict = refined
        return result

    async def _startup(self, base: str, target: Target, deadline: float) -> Verdict | None:
        try:
            async with asyncio.timeout_at(deadline):
                return startup(await self._get(base + "/startupz", target.token, READY_LIMIT))
        except TimeoutError:
            return None

    async def cycle(self, targets: Sequence[Target], *, spread: float = 0.0) -> list[ProbeResult]:
        """Probe every target once; with ``spread`` > 0 each starts at its stable offset in the cycle."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(target: Target) -> ProbeResult:
            if spread > 0:
                await asyncio.sleep(target.offset(spread))
            async with gate:
                try:
                    return await self.probe(target)
                except Exception as exc:  # noqa: BLE001 - one agent's answer must never end the whole cycle
                    return _unreadable(target, exc, self.clock())

        with gc_headroom():
            return list(await asyncio.gather(*(one(t) for t in targets)))


def _unreadable(target: Target, exc: Exception, at: float) -> ProbeResult:
    """The result for an agent whose answers the prober failed to interpret: `unsupported`, with the error.

    Every known hostile answer has its own verdict; this is the guard for the next one. The agent
    answered (transport failures are observations, never exceptions), so it is not `down`, and it
    is never counted as healthy.
    """
    detail = clean(f"error: the answer could not be read ({type(exc).__name__}: {exc})")
    return ProbeResult(target.agent_id, Verdict("unsupported", detail), metrics_error=detail, at=at)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def probe_once(targets: Sequence[Target], *, timeout: float = 1.0, concurrency: int = 200,
               verify_tls: bool = True) -> list[ProbeResult]:
    async def run() -> list[ProbeResult]:
        async with Prober(timeout=timeout, concurrency=concurrency, verify_tls=verify_tls) as prober:
            return await prober.cycle(targets)

    return asyncio.run(run())
