"""The agent API calls a failover drill makes (httpx, async): sessions, their contexts, imports, faults.

Every call has its own timeout; failures raise :class:`AgentCallError` with one line (the agent, the
call, what happened), never a traceback, and never the token. Bodies read from an agent are bounded.

A fault and its clear go over a connection of their own to the agent (:meth:`AgentAdmin.hold`), kept
alive from the fault to the clear: a `crash` fault stops the agent listening, so a clear on a new
connection would be refused and the agent would stay down until the fault's lease ran out, while
the connection opened before the crash still reaches it (admin routes are never faulted).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import httpx

from clawctl.core.probe import clean

BODY_LIMIT = 64 * 1024 * 1024  # a session list or a batch of contexts
IMPORT_BATCH = 200  # contexts per import request (the reference agent takes up to 1,000)


class AgentCallError(Exception):
    """One agent call failed: ``str()`` is the line to show."""


class AgentAdmin:
    def __init__(self, *, timeout: float = 5.0, concurrency: int = 32) -> None:
        self.timeout = timeout
        self.gate = asyncio.Semaphore(concurrency)
        self.client: httpx.AsyncClient | None = None
        self.lines: dict[str, httpx.AsyncClient] = {}  # agent -> its fault line (see `hold`)

    def hold(self, agent: str, keep_s: float) -> None:
        """Send ``agent``'s faults and clears over one connection of their own, kept alive ``keep_s``
        seconds between requests (the fault's lease and the restore's wait)."""
        if agent not in self.lines:
            self.lines[agent] = httpx.AsyncClient(
                timeout=self.timeout, trust_env=False, follow_redirects=False,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=keep_s))

    async def __aenter__(self) -> AgentAdmin:
        self.client = httpx.AsyncClient(timeout=self.timeout, trust_env=False, follow_redirects=False,
                                        limits=httpx.Limits(max_connections=64))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for line in self.lines.values():
            await line.aclose()
        self.lines.clear()
        if self.client is not None:
            await self.client.aclose()

    async def _call(self, agent: str, method: str, url: str, token: str | None, body: object = None, *,
                    client: httpx.AsyncClient | None = None) -> object:
        client = client or self.client
        assert client is not None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        what = f"{agent}: {method} {url.split('/v1/', 1)[-1] if '/v1/' in url else url}"
        async with self.gate:
            try:
                r = await client.request(method, url, headers=headers,
                                              content=None if body is None else json.dumps(body).encode())
            except httpx.TimeoutException:
                raise AgentCallError(f"{what}: no answer within {self.timeout:g}s") from None
            except httpx.HTTPError as exc:
                raise AgentCallError(f"{what}: {clean(type(exc).__name__ + ': ' + str(exc), 120)}") from None
        if len(r.content) > BODY_LIMIT:
            raise AgentCallError(f"{what}: answer over {BODY_LIMIT // 2**20} MiB")
        if r.status_code >= 300:
            raise AgentCallError(f"{what}: HTTP {r.status_code} {clean(r.text, 160)}")
        try:
            return r.json()
        except ValueError:
            raise AgentCallError(f"{what}: the answer is not JSON") from None

    async def sessions(self, agent: str, base: str, token: str | None) -> list[dict]:
        data = await self._call(agent, "GET", base + "/v1/sessions", token)
        items = data.get("sessions") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise AgentCallError(f"{agent}: GET sessions: no `sessions` list in the answer")
        return [s for s in items if isinstance(s, dict) and isinstance(s.get("id"), str)]

    async def context(self, agent: str, base: str, token: str | None, sid: str) -> dict:
        data = await self._call(agent, "GET", f"{base}/v1/sessions/{quote(sid, safe='')}", token)
        if not isinstance(data, dict):
            raise AgentCallError(f"{agent}: GET session {clean(sid, 40)}: not an object")
        return data

    async def contexts(self, agent: str, base: str, token: str | None, ids: list[str]) -> list[dict]:
        return list(await asyncio.gather(*(self.context(agent, base, token, sid) for sid in ids)))

    async def import_sessions(self, agent: str, base: str, token: str | None, contexts: list[dict],
                              transfer: dict) -> tuple[list[str], list[dict]]:
        """Import in batches, in parallel: (imported ids, rejected entries)."""
        batches = [contexts[i:i + IMPORT_BATCH] for i in range(0, len(contexts), IMPORT_BATCH)]
        answers = await asyncio.gather(*(self._call(agent, "POST", base + "/v1/sessions/import", token,
                                                    {"sessions": b, "transfer": transfer}) for b in batches))
        imported: list[str] = []
        rejected: list[dict] = []
        for a in answers:
            if isinstance(a, dict):
                imported += [i for i in a.get("imported", []) if isinstance(i, str)]
                rejected += [r for r in a.get("rejected", []) if isinstance(r, dict)]
        return imported, rejected

    async def fault(self, agent: str, base: str, token: str | None, mode: str, *, lease: float = 60.0,
                    latency: float | None = None) -> dict:
        """Set (or, with mode ``none``, clear) a fault: over the agent's fault line when it has one."""
        body: dict = {"mode": mode, "lease": lease} if mode != "none" else {"mode": "none"}
        if latency is not None:
            body["latency"] = latency
        data = await self._call(agent, "POST", base + "/v1/admin/fault", token, body, client=self.lines.get(agent))
        return data if isinstance(data, dict) else {}
