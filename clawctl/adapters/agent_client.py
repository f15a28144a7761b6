"""An HTTP client for clawctl-API agents (aiohttp): readiness, and conversations held until they end.

One session with one bounded connection pool; a bearer token per agent; redirects are never followed;
every request has its own total timeout. Failures come back as a kind, never as an exception:
``refused`` (no connection), ``timeout``, ``429``, ``503`` (or the connection dropped while held, which
is how an agent cut by a crash answers), ``other`` (any other status or transport error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp

BODY_LIMIT = 64 * 1024  # bytes read from a conversation answer


@dataclass
class Reply:
    kind: str  # "ok", "refused", "timeout", "429", "503", "other"
    service_s: float = 0.0
    detail: str = ""


class AgentClient:
    def __init__(self, *, limit: int = 1000, timeout: float = 60.0) -> None:
        self.limit = limit
        self.timeout = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AgentClient:
        connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=0)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None),
                                             trust_env=False, auto_decompress=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    @staticmethod
    def _headers(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def ready(self, base: str, token: str | None, *, timeout: float = 2.0) -> str | None:
        """None when ``base``/readyz answers 200, else one line saying what happened."""
        assert self.session is not None
        try:
            async with self.session.get(base + "/readyz", headers=self._headers(token), allow_redirects=False,
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                await r.content.read(BODY_LIMIT)
                return None if r.status == 200 else f"/readyz answered {r.status}"
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except aiohttp.ClientConnectorError as exc:
            return f"connection refused ({exc.os_error.strerror if exc.os_error else 'no route'})"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}"

    async def converse(self, base: str, token: str | None, body: dict) -> Reply:
        """POST /v1/conversations?wait=1: the answer once the conversation has ended, or why it failed."""
        assert self.session is not None
        # the body encoded once and sent as bytes, the query in the URL, one timeout object: aiohttp's
        # json=/params= paths cost ~10% more CPU per request, and the driver sends thousands a second
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.session.post(base + "/v1/conversations?wait=1", data=json.dumps(body).encode(),
                                         headers=headers, allow_redirects=False, timeout=self._timeout) as r:
                data = await r.content.read(BODY_LIMIT)
                if r.status == 200:
                    try:
                        service = float(json.loads(data).get("service_s", 0.0))
                    except (ValueError, AttributeError, TypeError):
                        service = 0.0
                    return Reply("ok", service)
                if r.status in (429, 503):
                    return Reply(str(r.status))
                return Reply("other", detail=f"status {r.status}")
        except TimeoutError:
            return Reply("timeout")
        except aiohttp.ClientConnectorError:
            return Reply("refused")
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError,
                ConnectionResetError):
            return Reply("503", detail="connection dropped")
        except aiohttp.ClientError as exc:
            return Reply("other", detail=type(exc).__name__)
