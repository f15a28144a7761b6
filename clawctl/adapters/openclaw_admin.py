"""An OpenClaw gateway's admin HTTP RPC (httpx, sync): suspend a gateway for a drill and resume it.

The bundled `admin-http-rpc` plugin (off until ``openclaw plugins enable admin-http-rpc``) adds
``POST /api/v1/admin/rpc`` with the gateway's bearer token. Shapes as OpenClaw 2026.9.6 ships them
(``dist/extensions/admin-http-rpc/index.js``, ``dist/suspend-*.mjs``, the schemas in
``dist/sessions-*.mjs`` from ``packages/gateway-protocol/src/schema/gateway-suspend.ts``):

- request ``{"id": str?, "method": str, "params": any?}``;
- answer ``{"id", "ok": true, "payload"}``, or ``{"id", "ok": false, "error": {"code", "message",
  "retryable"?, "retryAfterMs"?, "details"?}}`` with HTTP 400 (INVALID_REQUEST), 404
  (APPROVAL_NOT_FOUND), 409 (NOT_LINKED, NOT_PAIRED), 503 (UNAVAILABLE), 504 (AGENT_TIMEOUT), 500;
  a body the plugin cannot read: ``{"ok": false, "error": {"type": "invalid_request", "message"}}``;
- gateway auth failures: 401 ``{"error": {"type": "unauthorized", ...}}``, 429 ``rate_limited``
  (with ``Retry-After``), 403 ``proxy_attribution_required``;
- the plugin disabled: the route is not registered, a POST gets 404 ``text/plain`` "Not Found"
  (a GET on an unknown path gets the Control UI's 200 HTML page).

``gateway.suspend.prepare`` ``{"requestId", "terminalPolicy": "preserve"|"terminate", "drain": bool}``
answers ``{"status": "ready", "suspensionId", "expiresAtMs", "activeCount", "blockers"}`` (no work
left: prepared), ``{"status": "draining", "suspensionId", "expiresAtMs", "retryAfterMs", ...}``
(admission closed, admitted work still finishing), or ``{"status": "busy", "reason", "retryAfterMs",
...}`` (no lease). A lease lasts two minutes; repeating prepare with the same request id, policy and
drain before it runs out renews it (same ``suspensionId``); another request id gets 503 UNAVAILABLE
(``gateway-suspension-conflict``) until it is resumed or runs out. While suspended `/readyz` answers
503 with ``failing: ["gateway-draining"]`` (the prober reads `draining`) and other RPCs answer 503
UNAVAILABLE. ``gateway.suspend.resume`` ``{"suspensionId"}`` answers ``{"ok": true, "status":
"running", "resumed": bool}`` (``false`` when no lease was held any more: it ran out); a different id
than the held lease's is 400 INVALID_REQUEST "gateway suspension id does not match".

Every failure is one :class:`OpenClawAdminError` line (exit 4: the gateway could not be driven; exit 3
when it answered something that is not the admin RPC's JSON), with a ``kind`` callers can branch on.
The token goes into the Authorization header only: never into a message, a repr or a log.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from clawctl.adapters.http_text import refused, without_credentials
from clawctl.core.errors import ClawctlError, ExitCode
from clawctl.core.probe import clean

RPC_PATH = "/api/v1/admin/rpc"
BODY_LIMIT = 1024 * 1024  # bytes of one answer; a suspend answer is a few hundred
MESSAGE_CHARS = 200  # what of a gateway's own text goes into a message
ENABLE_HINT = "the admin-http-rpc plugin is not enabled there: run `openclaw plugins enable admin-http-rpc`"
KINDS = ("refused", "timeout", "transport", "http", "auth", "rate_limited", "no_plugin", "rpc", "busy",
         "protocol")


class OpenClawAdminError(ClawctlError):
    """The admin RPC could not be used. ``kind`` is one of :data:`KINDS`; ``code`` the RPC error code
    (``INVALID_REQUEST``, ``UNAVAILABLE``, ...) for ``rpc``; ``retry_after_ms`` when the gateway said when
    to try again (``busy``, a suspension conflict, rate limits)."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, kind: str, code: str | None = None, retry_after_ms: int | None = None,
                 exit_code: ExitCode | None = None) -> None:
        super().__init__(message, exit_code=exit_code)
        self.kind = kind
        self.code = code
        self.retry_after_ms = retry_after_ms


@dataclass(frozen=True)
class Suspension:
    """A held suspension lease. ``status``: ``ready`` (prepared: no tracked work left) or ``draining``
    (admission closed, admitted work still finishing; poll :meth:`OpenClawAdmin.status`). Either way the
    gateway reads `draining` to a probe until it is resumed or the lease runs out."""

    suspension_id: str
    request_id: str
    status: str
    expires_at_ms: int | None = None  # the gateway's clock, epoch milliseconds
    active_count: int | None = None
    retry_after_ms: int | None = None  # draining: when to poll again
    blockers: tuple[str, ...] = field(default_factory=tuple)  # the gateway's own words, cleaned

    @property
    def expires_at(self) -> float | None:
        """When the lease runs out, epoch seconds (the gateway's clock), if the answer said."""
        return None if self.expires_at_ms is None else self.expires_at_ms / 1000


class OpenClawAdmin:
    """``with OpenClawAdmin("http://127.0.0.1:18789", token) as admin: s = admin.suspend("drill-1"); ...
    admin.resume(s.suspension_id)``.

    ``base_url`` is the gateway's (scheme, host, port, a path prefix if it is served under one);
    ``timeout`` bounds each call in seconds, in total; ``transport`` replaces the network (tests pass
    an ``httpx.MockTransport``). Redirects are not followed; proxies from the environment are not used.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds above 0, not {timeout!r}")
        if not isinstance(token, str) or not all(" " <= ch <= "~" for ch in token):
            # said without the token: a header with a newline or a non-ASCII character would fail later, in
            # a transport error that quotes the header
            raise ValueError("the token must be printable ASCII (it goes into an Authorization header)")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + RPC_PATH
        self.shown = without_credentials(self.url)
        self.timeout = timeout
        self._token = token
        headers = {"User-Agent": "clawctl-openclaw-admin", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(timeout=timeout, transport=transport, trust_env=False, follow_redirects=False,
                                   headers=headers)

    def __repr__(self) -> str:
        return f"OpenClawAdmin({self.shown!r}, token={'***' if self._token else None}, timeout={self.timeout:g})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- the suspension handshake -------------------------------------------------------------------------
    def suspend(self, request_id: str, *, drain: bool = True, terminal_policy: str = "preserve") -> Suspension:
        """``gateway.suspend.prepare``: close the gateway's admission (its `/readyz` turns 503 `gateway-draining`).

        With ``drain`` (the default) a gateway with work in flight keeps it running and answers
        ``draining``; without, it refuses (a ``busy`` error). Calling again with the same ``request_id``
        (and the same policy and drain) before the lease runs out renews it: same id, a later expiry.
        """
        _check_id("request_id", request_id)
        if terminal_policy not in ("preserve", "terminate"):
            raise ValueError(f"terminal_policy is `preserve` or `terminate`, not {terminal_policy!r}")
        method = "gateway.suspend.prepare"
        payload = self.call(method, {"requestId": request_id, "terminalPolicy": terminal_policy,
                                           "drain": bool(drain)})
        status = payload.get("status") if isinstance(payload, dict) else None
        if status == "busy":
            retry = _count(payload.get("retryAfterMs"))
            reason = clean(str(payload.get("reason") or "active work"), 80)
            blockers = _blockers(payload.get("blockers"))
            what = f"{reason}, {_count(payload.get('activeCount')) or 0} active"
            what += f": {'; '.join(blockers)}" if blockers else ""
            raise OpenClawAdminError(f"{self._where(method)}: the gateway is busy ({clean(what, MESSAGE_CHARS)})"
                                     f"{_retry_text(retry)}", kind="busy", retry_after_ms=retry)
        sid = payload.get("suspensionId") if isinstance(payload, dict) else None
        if status not in ("ready", "draining") or not isinstance(sid, str) or not sid.strip():
            raise self._unexpected(method, payload)
        return Suspension(suspension_id=sid, request_id=request_id, status=status,
                          expires_at_ms=_count(payload.get("expiresAtMs")),
                          active_count=_count(payload.get("activeCount")),
                          retry_after_ms=_count(payload.get("retryAfterMs")),
                          blockers=tuple(_blockers(payload.get("blockers"))))

    def status(self, suspension_id: str) -> str:
        """``gateway.suspend.status``: ``running`` (no lease held), ``draining`` or ``ready`` (the lease is
        held). Another lease held is an ``rpc`` error (UNAVAILABLE, ``gateway-suspension-conflict``)."""
        _check_id("suspension_id", suspension_id)
        method = "gateway.suspend.status"
        payload = self.call(method, {"suspensionId": suspension_id})
        status = payload.get("status") if isinstance(payload, dict) else None
        if status not in ("running", "draining", "ready"):
            raise self._unexpected(method, payload)
        return status

    def resume(self, suspension_id: str) -> None:
        """``gateway.suspend.resume``: reopen admission. Resuming a lease that has already been resumed or
        has run out is a no-op; an id other than the held lease's is an ``rpc`` error (INVALID_REQUEST)."""
        _check_id("suspension_id", suspension_id)
        method = "gateway.suspend.resume"
        payload = self.call(method, {"suspensionId": suspension_id})
        if not (isinstance(payload, dict) and payload.get("status") == "running"):
            raise self._unexpected(method, payload)

    # -- one call -----------------------------------------------------------------------------------------
    def call(self, method: str, params: Any = None) -> Any:
        """One RPC: its ``payload`` on success, else an :class:`OpenClawAdminError`."""
        request: dict[str, Any] = {"id": f"clawctl-{uuid.uuid4()}", "method": method}
        if params is not None:
            request["params"] = params
        status, content_type, headers, body = self._post(method, json.dumps(request).encode())
        return self._payload(method, status, content_type, headers, body)

    def _where(self, method: str) -> str:
        return f"{self.shown} ({clean(method, 80)})"

    def _post(self, method: str, data: bytes) -> tuple[int, str, httpx.Headers, bytes]:
        where = self._where(method)
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("POST", self.url, content=data,
                                    headers={"Content-Type": "application/json"}) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > BODY_LIMIT:
                        raise OpenClawAdminError(f"{where}: answer over {BODY_LIMIT // 1024} KiB", kind="protocol",
                                                 exit_code=ExitCode.UNREADABLE)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer took longer than the timeout")
                return resp.status_code, resp.headers.get("Content-Type", ""), resp.headers, bytes(body)
        except httpx.ConnectError as exc:
            if refused(exc):
                raise OpenClawAdminError(f"{where}: connection refused (is the gateway running?)",
                                         kind="refused") from None
            raise OpenClawAdminError(f"{where}: cannot connect ({self._scrub(str(exc))})", kind="transport") from None
        except httpx.TimeoutException:
            raise OpenClawAdminError(f"{where}: no answer within {self.timeout:g}s", kind="timeout") from None
        except httpx.HTTPError as exc:
            raise OpenClawAdminError(f"{where}: {type(exc).__name__}: {self._scrub(str(exc))}",
                                     kind="transport") from None

    def _payload(self, method: str, status: int, content_type: str, headers: httpx.Headers, body: bytes) -> Any:
        where = self._where(method)
        doc = _json(body) if "json" in content_type.lower() else None
        error = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(doc, dict) and doc.get("ok") is True and "payload" in doc and status == 200:
            return doc["payload"]
        detail = self._error_text(error)
        if status == 401:
            what = "the gateway refused the token" if self._token else "the gateway wants a token and none was given"
            raise OpenClawAdminError(f"{where}: HTTP 401, {what}; check the gateway's token (gateway.auth.token)",
                                     kind="auth")
        if status == 403:
            raise OpenClawAdminError(f"{where}: HTTP 403, forbidden" + (f" ({detail})" if detail else ""), kind="auth")
        if status == 429:
            retry = _retry_after(headers.get("Retry-After"))
            raise OpenClawAdminError(f"{where}: HTTP 429, rate limited" + (f" ({detail})" if detail else "")
                                     + _retry_text(retry), kind="rate_limited", retry_after_ms=retry)
        if isinstance(doc, dict) and doc.get("ok") is False and isinstance(error, dict):
            # a method's error {code, message, retryAfterMs?, details?}, or the plugin's own refusal of the
            # request {type, message} (not JSON, no method, ...)
            raw_code = error.get("code", error.get("type"))
            code = clean(str(raw_code), 60) if isinstance(raw_code, str) and raw_code else None
            retry = _count(error.get("retryAfterMs"))
            details = error.get("details")
            reason = details.get("reason") if isinstance(details, dict) else None
            text = self._scrub(str(error.get("message") or "no message"))
            if isinstance(reason, str) and reason:
                text += f" ({self._scrub(reason, 80)})"
            raise OpenClawAdminError(f"{where}: HTTP {status}, {code or 'error'}: {text}{_retry_text(retry)}",
                                     kind="rpc", code=code, retry_after_ms=retry)
        if status == 404:
            raise OpenClawAdminError(f"{where}: HTTP 404, {ENABLE_HINT}", kind="no_plugin")
        if "html" in content_type.lower():
            raise OpenClawAdminError(f"{where}: HTTP {status} with an HTML page (the Control UI), not the admin RPC; "
                                     f"{ENABLE_HINT} (or the URL's path prefix is wrong)", kind="no_plugin")
        if detail:  # some other JSON error ({error: {type, message}})
            raise OpenClawAdminError(f"{where}: HTTP {status}, {detail}", kind="http",
                                     exit_code=ExitCode.UNREADABLE if status < 500 else None)
        kind_of = clean(content_type.split(";")[0], 60) or "no content type"
        what = f"HTTP {status} ({kind_of}), not the admin RPC's JSON" + (f": {self._snippet(body)}" if body.strip()
                                                                          else "")
        raise OpenClawAdminError(f"{where}: {what}", kind="http" if status >= 500 else "protocol",
                                 exit_code=ExitCode.UNREACHABLE if status >= 500 else ExitCode.UNREADABLE)

    def _unexpected(self, method: str, payload: Any) -> OpenClawAdminError:
        shown = self._scrub(json.dumps(payload, default=str)[:MESSAGE_CHARS * 2], 120)
        return OpenClawAdminError(f"{self._where(method)}: an answer this client does not know: {shown}",
                                  kind="protocol", exit_code=ExitCode.UNREADABLE)

    def _error_text(self, error: object) -> str:
        """``type: message`` of an error object (`{error: {type, message}}`), cleaned; "" when there is none."""
        if not isinstance(error, dict):
            return ""
        parts = [str(error[k]) for k in ("code", "type", "message") if isinstance(error.get(k), (str, int, float))
                 and not isinstance(error.get(k), bool)]
        return self._scrub(": ".join(parts)) if parts else ""

    def _scrub(self, text: str, limit: int = MESSAGE_CHARS) -> str:
        """A gateway's (or the transport's) words, safe to print: never the token, no control characters, cut."""
        if self._token and len(self._token) >= 4:
            text = text.replace(self._token, "***")
        return clean(text, limit)

    def _snippet(self, body: bytes) -> str:
        return self._scrub(body[:300].decode("utf-8", "replace").strip().replace("\n", " "), 120)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, not UTF-8, nested too deep
        return None


def _check_id(name: str, value: object) -> None:
    """OpenClaw's token rule (SuspensionTokenSchema): 1-128 characters, at least one not whitespace."""
    if not (isinstance(value, str) and value.strip() and len(value) <= 128):
        raise ValueError(f"{name} must be 1-128 characters, not all whitespace, not {value!r}")


def _count(value: object) -> int | None:
    """A non-negative integer from the answer, or None (absent, a bool, a float that is no count, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value < 2**63 else None


def _blockers(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value[:8]:
        if isinstance(item, dict):
            text = item.get("message") or item.get("kind")
            if isinstance(text, str):
                out.append(clean(text, 80))
    return out


def _retry_after(value: str | None) -> int | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return int(seconds * 1000) if seconds is not None and math.isfinite(seconds) and 0 <= seconds < 1e9 else None


def _retry_text(retry_ms: int | None) -> str:
    return "" if retry_ms is None else f"; retry after {round(retry_ms / 1000, 1):g}s"



