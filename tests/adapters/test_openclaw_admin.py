"""OpenClawAdmin: fast tests over httpx.MockTransport for the request shapes and every error path, and tests
against a real OpenClaw gateway (the ``openclaw_gateway`` fixture: npm's openclaw on 127.0.0.1), where a
suspension must turn the prober's verdict to `draining` and a resume back to `ready`.

The real tests skip when npm is missing or the install fails offline, except under CI (env var CI set).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from clawctl.adapters.openclaw_admin import (
    RPC_PATH,
    OpenClawAdmin,
    OpenClawAdminError,
    Suspension,
)
from clawctl.adapters.prober import Target, probe_once
from clawctl.core.errors import ExitCode

TOKEN = "s3cret-token-value"
BASE = "http://gw.test:18789"
WAIT = 30.0  # seconds: the bound of every wait on the real gateway


def admin_with(handler, token: str = TOKEN, **kw) -> OpenClawAdmin:
    return OpenClawAdmin(BASE, token, transport=httpx.MockTransport(handler), **kw)


def answer(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json; charset=utf-8", **headers})


def failure(handler, call=lambda a: a.suspend("drill-1")) -> OpenClawAdminError:
    with admin_with(handler) as admin, pytest.raises(OpenClawAdminError) as info:
        call(admin)
    err = info.value
    assert "\n" not in str(err) and TOKEN not in str(err) and TOKEN not in repr(err.args)
    return err


READY = {"status": "ready", "suspensionId": "2c3f-aa", "expiresAtMs": 1796036218297, "activeCount": 0,
         "blockers": [], "writeCustody": []}


# -- request and answer shapes ----------------------------------------------------------------------------
def test_suspend_posts_prepare_with_drain_and_returns_the_lease() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(200, {"id": json.loads(request.content)["id"], "ok": True, "payload": READY})

    with admin_with(handler) as admin:
        s = admin.suspend("drill-1")
    assert s == Suspension("2c3f-aa", "drill-1", "ready", 1796036218297, 0, None, ())
    assert s.expires_at == pytest.approx(1796036218.297)
    (req,) = seen
    assert req.method == "POST" and str(req.url) == BASE + RPC_PATH
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.headers["Content-Type"] == "application/json"
    body = json.loads(req.content)
    assert body["method"] == "gateway.suspend.prepare"
    assert body["params"] == {"requestId": "drill-1", "terminalPolicy": "preserve", "drain": True}


def test_suspend_with_work_in_flight_is_draining_with_its_blockers() -> None:
    payload = {"status": "draining", "suspensionId": "x1", "expiresAtMs": 5, "retryAfterMs": 20000, "activeCount": 2,
               "blockers": [{"kind": "root-request", "count": 1, "message": "1 active request"},
                            {"kind": "terminal-session", "count": 1, "message": "1 open terminal\x1b[31m session"}]}
    with admin_with(lambda r: answer(200, {"ok": True, "payload": payload})) as admin:
        s = admin.suspend("d", drain=True)
    assert (s.status, s.suspension_id, s.retry_after_ms, s.active_count) == ("draining", "x1", 20000, 2)
    assert s.blockers == ("1 active request", "1 open terminal?[31m session")


def test_suspend_without_drain_sends_drain_false() -> None:
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return answer(200, {"ok": True, "payload": READY})

    with admin_with(handler) as admin:
        admin.suspend("d", drain=False)
    assert bodies[0]["params"]["drain"] is False


def test_a_busy_gateway_is_an_error_saying_when_to_retry() -> None:
    payload = {"status": "busy", "reason": "active-work", "retryAfterMs": 1500, "activeCount": 1,
               "blockers": [{"kind": "chat-run", "count": 1, "message": "1 chat run"}]}
    err = failure(lambda r: answer(200, {"ok": True, "payload": payload}))
    assert (err.kind, err.retry_after_ms, err.exit_code) == ("busy", 1500, ExitCode.UNREACHABLE)
    assert "busy (active-work, 1 active: 1 chat run); retry after 1.5s" in str(err)


def test_resume_posts_the_suspension_id_and_accepts_an_already_resumed_lease() -> None:
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return answer(200, {"ok": True, "payload": {"ok": True, "status": "running", "resumed": len(bodies) == 1}})

    with admin_with(handler) as admin:
        assert admin.resume("2c3f-aa") is None
        assert admin.resume("2c3f-aa") is None  # resumed: false, the lease is gone already
    assert [b["method"] for b in bodies] == ["gateway.suspend.resume"] * 2
    assert bodies[0]["params"] == {"suspensionId": "2c3f-aa"}


def test_status_reads_the_lease_state() -> None:
    with admin_with(lambda r: answer(200, {"ok": True, "payload": {"status": "ready", "expiresAtMs": 9}})) as admin:
        assert admin.status("2c3f-aa") == "ready"


@pytest.mark.parametrize("payload", [{"status": "ready"}, {"status": "weird", "suspensionId": "x"}, [], None,
                                     {"status": "ready", "suspensionId": " "}])
def test_a_prepare_answer_outside_the_contract_is_unreadable(payload) -> None:
    err = failure(lambda r: answer(200, {"ok": True, "payload": payload}))
    assert (err.kind, err.exit_code) == ("protocol", ExitCode.UNREADABLE)
    assert "an answer this client does not know" in str(err)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 129, None])
def test_an_id_openclaw_would_refuse_is_refused_before_sending(bad) -> None:
    with admin_with(lambda r: pytest.fail("sent")) as admin:
        for call in (admin.suspend, admin.resume, admin.status):
            with pytest.raises(ValueError):
                call(bad)


@pytest.mark.parametrize("token", ["line\nbreak", "caf\u00e9", "tab\there"])
def test_a_token_no_header_can_carry_is_refused_without_showing_it(token) -> None:
    with pytest.raises(ValueError) as info:
        OpenClawAdmin(BASE, token)
    assert token not in str(info.value)


# -- errors ---------------------------------------------------------------------------------------------
def test_a_refused_connection_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    err = failure(handler)
    assert (err.kind, err.exit_code) == ("refused", ExitCode.UNREACHABLE)
    assert str(err) == f"{BASE}{RPC_PATH} (gateway.suspend.prepare): connection refused (is the gateway running?)"


def test_a_real_refused_port_is_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with OpenClawAdmin(f"http://127.0.0.1:{port}", TOKEN, timeout=2.0) as admin, \
            pytest.raises(OpenClawAdminError) as info:
        admin.resume("x")
    assert (info.value.kind, info.value.exit_code) == ("refused", ExitCode.UNREACHABLE)


def test_a_timeout_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    err = failure(handler)
    assert (err.kind, err.exit_code) == ("timeout", ExitCode.UNREACHABLE)
    assert str(err).endswith("no answer within 5s")


def test_a_wrong_token_is_a_clear_line_without_the_token() -> None:
    err = failure(lambda r: answer(401, {"error": {"message": "Unauthorized", "type": "unauthorized"}}))
    assert (err.kind, err.exit_code) == ("auth", ExitCode.UNREACHABLE)
    assert "HTTP 401, the gateway refused the token; check the gateway's token (gateway.auth.token)" in str(err)


def test_no_token_says_none_was_given() -> None:
    with admin_with(lambda r: answer(401, {"error": {"type": "unauthorized"}}), token="") as admin, \
            pytest.raises(OpenClawAdminError, match="wants a token and none was given"):
        admin.suspend("d")


def test_forbidden_and_rate_limited_say_why() -> None:
    err = failure(lambda r: answer(403, {"error": {"message": "Proxy client attribution is required.",
                                                   "type": "proxy_attribution_required"}}))
    assert err.kind == "auth" and "HTTP 403, forbidden (proxy_attribution_required: Proxy client" in str(err)
    err = failure(lambda r: answer(429, {"error": {"message": "Too many failed authentication attempts.",
                                                   "type": "rate_limited"}}, **{"Retry-After": "7"}))
    assert (err.kind, err.retry_after_ms) == ("rate_limited", 7000)
    assert str(err).endswith("; retry after 7s")


@pytest.mark.parametrize("response", [
    httpx.Response(404, text="Not Found", headers={"Content-Type": "text/plain; charset=utf-8"}),
    httpx.Response(200, text="<!doctype html><html><body>Control UI</body></html>",
                   headers={"Content-Type": "text/html; charset=utf-8"}),
], ids=["404", "html"])
def test_a_gateway_without_the_plugin_says_how_to_enable_it(response) -> None:
    err = failure(lambda r: response)
    assert (err.kind, err.exit_code) == ("no_plugin", ExitCode.UNREACHABLE)
    assert "run `openclaw plugins enable admin-http-rpc`" in str(err)


def test_an_rpc_error_is_its_code_and_message() -> None:
    body = {"id": "1", "ok": False, "error": {"code": "INVALID_REQUEST",
                                              "message": "invalid gateway.suspend.prepare params"}}
    err = failure(lambda r: answer(400, body))
    assert (err.kind, err.code, err.exit_code) == ("rpc", "INVALID_REQUEST", ExitCode.UNREACHABLE)
    assert str(err) == (f"{BASE}{RPC_PATH} (gateway.suspend.prepare): HTTP 400, INVALID_REQUEST: invalid "
                        "gateway.suspend.prepare params")


def test_a_suspension_conflict_carries_its_retry_delay() -> None:
    body = {"ok": False, "error": {"code": "UNAVAILABLE", "message": "another gateway suspension is already prepared",
                                   "retryable": True, "retryAfterMs": 119982,
                                   "details": {"reason": "gateway-suspension-conflict", "expiresAtMs": 1}}}
    err = failure(lambda r: answer(503, body))
    assert (err.kind, err.code, err.retry_after_ms) == ("rpc", "UNAVAILABLE", 119982)
    assert str(err).endswith("UNAVAILABLE: another gateway suspension is already prepared "
                             "(gateway-suspension-conflict); retry after 120s")


def test_the_plugins_own_refusal_is_its_type_and_message() -> None:
    err = failure(lambda r: answer(400, {"ok": False, "error": {"type": "invalid_request",
                                                                "message": "request body must be valid JSON"}}))
    assert (err.kind, err.code) == ("rpc", "invalid_request")
    assert str(err).endswith("HTTP 400, invalid_request: request body must be valid JSON")


def test_a_hostile_error_message_is_cleaned_cut_and_never_shows_the_token() -> None:
    body = {"ok": False, "error": {"code": "X\x1b[2J", "message": f"token {TOKEN} bad\n" + "A" * 5000}}
    err = failure(lambda r: answer(500, body))
    text = str(err)
    assert "\x1b" not in text and "\n" not in text and TOKEN not in text and "***" in text
    assert len(text) < 400 and text.endswith("...")


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]", b'{"ok": true}', b"[" * 100000])
def test_bad_json_is_unreadable(content) -> None:
    err = failure(lambda r: httpx.Response(200, content=content, headers={"Content-Type": "application/json"}))
    assert (err.kind, err.exit_code) == ("protocol", ExitCode.UNREADABLE)
    assert "not the admin RPC's JSON" in str(err)


def test_a_server_error_page_is_unreachable() -> None:
    err = failure(lambda r: httpx.Response(502, text="Bad Gateway", headers={"Content-Type": "text/plain"}))
    assert (err.kind, err.exit_code) == ("http", ExitCode.UNREACHABLE)
    assert str(err).endswith("HTTP 502 (text/plain), not the admin RPC's JSON: Bad Gateway")


def test_an_answer_past_the_limit_is_cut_off() -> None:
    err = failure(lambda r: httpx.Response(200, content=b" " * (2 * 1024 * 1024),
                                           headers={"Content-Type": "application/json"}))
    assert (err.kind, err.exit_code) == ("protocol", ExitCode.UNREADABLE)


def test_the_token_and_url_credentials_stay_out_of_reprs_and_messages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    admin = OpenClawAdmin("http://user:pw@gw.test:1/", TOKEN, transport=httpx.MockTransport(handler))
    assert TOKEN not in repr(admin) and "pw" not in repr(admin)
    with admin, pytest.raises(OpenClawAdminError) as info:
        admin.suspend("d")
    assert "pw" not in str(info.value) and str(info.value).startswith("http://gw.test:1/api/v1/admin/rpc ")


# -- a real gateway ------------------------------------------------------------------------------------------
def verdict(gw, token: str | None = None) -> str:
    target = Target("gw", gw.base_url, kind="openclaw", token=token or gw.token, metrics=False)
    return probe_once([target], timeout=3.0)[0].verdict.state


def wait_for(gw, state: str) -> str:
    deadline = time.monotonic() + WAIT
    seen = verdict(gw)
    while seen != state and time.monotonic() < deadline:
        time.sleep(0.25)  # /readyz caches its answer for 1 s
        seen = verdict(gw)
    return seen


def test_a_suspended_gateway_probes_draining_and_ready_again_once_resumed(openclaw_gateway) -> None:
    gw = openclaw_gateway
    assert wait_for(gw, "ready") == "ready"
    with OpenClawAdmin(gw.base_url, gw.token) as admin:
        s = admin.suspend("clawctl-test-drain")
        try:
            assert s.status in ("ready", "draining") and s.suspension_id
            assert s.expires_at_ms is not None and s.expires_at_ms > time.time() * 1000  # a lease, ~2 minutes
            assert wait_for(gw, "draining") == "draining"
            assert admin.status(s.suspension_id) in ("ready", "draining")
            renewed = admin.suspend("clawctl-test-drain")  # the same request id renews the same lease
            assert renewed.suspension_id == s.suspension_id
            with pytest.raises(OpenClawAdminError) as other:  # another controller's request waits its turn
                admin.suspend("someone-else")
            assert (other.value.kind, other.value.code) == ("rpc", "UNAVAILABLE")
            assert other.value.retry_after_ms is not None and other.value.retry_after_ms > 0
            with pytest.raises(OpenClawAdminError) as wrong:
                admin.resume("not-the-lease")
            assert (wrong.value.kind, wrong.value.code) == ("rpc", "INVALID_REQUEST")
            assert "suspension id does not match" in str(wrong.value)
        finally:
            admin.resume(s.suspension_id)
        assert wait_for(gw, "ready") == "ready"
        admin.resume(s.suspension_id)  # again: the lease is gone, nothing to do
        assert admin.status(s.suspension_id) == "running"


def test_a_wrong_token_against_a_real_gateway_is_a_clear_error(openclaw_gateway) -> None:
    gw = openclaw_gateway
    with OpenClawAdmin(gw.base_url, "not-the-token") as admin, pytest.raises(OpenClawAdminError) as info:
        admin.suspend("clawctl-test-wrong-token")
    assert (info.value.kind, info.value.exit_code) == ("auth", ExitCode.UNREACHABLE)
    assert "HTTP 401, the gateway refused the token" in str(info.value)
    assert gw.token not in str(info.value)
    assert verdict(gw) == "ready"  # nothing was suspended
