"""The prober against hostile agents, each a real loopback server written here, and against good ones.

Every scenario runs in ``asyncio.run`` under a hard bound (``run``), and every server it starts is
closed in a ``finally`` (``Servers.aclose``): no test can hang the suite or leave a socket listening.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import math
import os
import random
import socket
import ssl
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.adapters.prober import READY_LIMIT, Prober, ProbeResult, Target
from clawctl.core.probe import CLAWCTL_SERIES, Observation, metrics_from, readiness, scan_metrics
from clawctl.core.refagent import AgentInfo, ReferenceAgent
from clawctl.services.probe import ProbeReport

HUNDRED_MB = 100 * 1024 * 1024
SCENARIO_LIMIT = 20.0  # seconds: a scenario that takes longer fails instead of hanging


def run(coro):
    async def bounded():
        return await asyncio.wait_for(coro, SCENARIO_LIMIT)

    return asyncio.run(bounded())


# ------------------------------------------------------------------------------------- the servers


class Request:
    def __init__(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.path, _ = lines[0].split(" ", 2)
        self.headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers[name.strip().lower()] = value.strip()


def response(status: int, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    reason = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(status, "X")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{extra}\r\n")
    return head.encode() + body


def json_response(status: int, body: object) -> bytes:
    return response(status, json.dumps(body).encode())


class Server:
    """A raw loopback HTTP/1.1 server: ``handler(request, reader, writer)`` writes whatever it likes."""

    def __init__(self, handler, *, tls: ssl.SSLContext | None = None, raw: bool = False) -> None:
        self.handler, self.tls, self.raw = handler, tls, raw
        self.requests: list[Request] = []
        self.tasks: set[asyncio.Task] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> "Server":
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            if self.raw:
                await self.handler(None, reader, writer)
            else:
                head = await reader.readuntil(b"\r\n\r\n")
                request = Request(head)
                self.requests.append(request)
                await self.handler(request, reader, writer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            self.tasks.discard(task)
            self.writers.discard(writer)
            writer.close()

    async def aclose(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        for writer in list(self.writers):
            writer.transport.abort()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=2)
        if self.server is not None:
            await self.server.wait_closed()


class Servers:
    """Every server a scenario starts; ``aclose`` stops them all (use in ``finally``)."""

    def __init__(self) -> None:
        self.raw: list[Server] = []
        self.agents: list[AgentServer] = []

    async def start(self, handler, **kw) -> Server:
        server = Server(handler, **kw)
        self.raw.append(server)
        return await server.start()

    async def agent(self, agent_id: str = "good") -> str:
        server = AgentServer({agent_id: ReferenceAgent(AgentInfo(agent_id), random.Random(1))})
        self.agents.append(server)
        port = await server.start("127.0.0.1", 0)
        return f"http://127.0.0.1:{port}"

    async def aclose(self) -> None:
        for server in self.raw:
            await server.aclose()
        for agent in self.agents:
            await agent.stop()


def fixed(status: int, body: bytes, content_type: str = "application/json"):
    async def handler(request, reader, writer):
        writer.write(response(status, body, content_type))

    return handler


def json_handler(status: int, payload: object):
    return fixed(status, json.dumps(payload).encode())


async def hang(request, reader, writer):
    await asyncio.sleep(3600)  # cancelled by aclose


async def trickle(request, reader, writer):
    """One byte a second: a status line that never finishes inside any sane deadline."""
    for byte in json_response(200, {"ready": True}):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)


async def trickle_body(request, reader, writer):
    """Prompt headers, then the body one byte a second."""
    body = json.dumps({"ready": True, "failing": []}).encode()
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                 .encode())
    for byte in body:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)


def redirect_loop():
    async def handler(request, reader, writer):
        writer.write(response(302, b"", "text/plain", extra=f"Location: {request.path}\r\n"))

    return handler


class BigBody:
    """Announces and streams a 100 MB body, 64 KiB at a time, lazily; records how much went out."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def __call__(self, request, reader, writer):
        chunk = b"x" * 65536
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {HUNDRED_MB}\r\n"
                     "Connection: close\r\n\r\n".encode())
        self.sent.append(0)
        index = len(self.sent) - 1
        try:
            for _ in range(HUNDRED_MB // len(chunk)):
                writer.write(chunk)
                await writer.drain()
                self.sent[index] += len(chunk)
        except ConnectionError:
            pass


async def garbage(request, reader, writer):
    """Speaks plain text to a TLS client: the handshake cannot succeed."""
    await reader.read(1024)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nthis is not TLS at all\r\n" * 4)
    await writer.drain()


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (the `cryptography` package)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clawctl-test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def closed_port() -> int:
    """A port with no listener: bind, read the port, close."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


async def probe_one(target: Target, *, timeout: float = 1.0, verify_tls: bool = True) -> tuple[ProbeResult, float]:
    started = time.monotonic()
    async with Prober(timeout=timeout, verify_tls=verify_tls) as prober:
        (result,) = await prober.cycle([target])
    return result, time.monotonic() - started


def scenario(handler, *, timeout: float = 1.0, kind: str = "clawctl", token: str | None = None,
             metrics: bool = True) -> tuple[ProbeResult, float, Server]:
    async def main():
        servers = Servers()
        try:
            server = await servers.start(handler)
            result, elapsed = await probe_one(Target("x", server.url(), kind, token, metrics), timeout=timeout)
            return result, elapsed, server
        finally:
            await servers.aclose()

    return run(main())


# ----------------------------------------------------------------------------- one hostile agent each


def test_connection_refused_is_down():
    async def main():
        return await probe_one(Target("x", f"http://127.0.0.1:{closed_port()}"))

    result, elapsed = run(main())
    assert result.verdict.state == "down" and result.verdict.detail == "refused"
    assert result.metrics_error == "refused" and result.latency_ms is None
    assert elapsed < 1.0


def test_accept_then_hang_is_down_within_the_deadline():
    result, elapsed, server = scenario(hang, timeout=0.5)
    assert result.verdict.state == "down"
    assert result.verdict.detail.startswith("timeout")
    assert result.metrics_error.startswith("timeout")
    assert 0.45 <= elapsed < 1.0
    assert {r.path for r in server.requests} == {"/readyz", "/metrics"}  # accepted and read, never answered


@pytest.mark.parametrize("handler", [trickle, trickle_body], ids=["headers", "body"])
def test_one_byte_a_second_is_down_bounded_by_the_deadline(handler):
    result, elapsed, _ = scenario(handler, timeout=0.6)
    assert result.verdict.state == "down" and result.verdict.detail.startswith("timeout")
    assert elapsed < 1.0


def test_http_500_is_down():
    result, _, _ = scenario(json_handler(500, {"error": "boom"}))
    assert result.verdict.state == "down" and result.verdict.detail == "HTTP 500"


@pytest.mark.parametrize("failing,state", [(["whatsapp"], "degraded"), ([], "degraded"),
                                           (["gateway-draining"], "draining"),
                                           (["startup-sidecars"], "starting")])
def test_readiness_503_is_an_answer(failing, state):
    result, _, _ = scenario(json_handler(503, {"ready": False, "failing": failing}))
    assert result.verdict.state == state
    assert result.verdict.failing == failing
    assert result.latency_ms is not None  # answered


def test_invalid_json_is_unsupported():
    result, _, _ = scenario(fixed(200, b'{"ready": tru', "application/json"))
    assert result.verdict.state == "unsupported"


def test_json_without_ready_is_unsupported():
    result, _, _ = scenario(json_handler(200, {"ok": True, "status": "live"}))
    assert result.verdict.state == "unsupported" and "ready" in result.verdict.detail


def test_html_200_is_unsupported_never_ready():
    page = b"<!doctype html><html><body>Control UI {\"ready\": true}</body></html>"
    result, _, _ = scenario(fixed(200, page, "text/html; charset=utf-8"))
    assert result.verdict.state == "unsupported"
    assert "text/html" in result.verdict.detail


def test_a_100mb_body_is_unsupported_and_the_read_stops_early():
    big = BigBody()
    result, elapsed, _ = scenario(big, timeout=3.0)
    assert result.verdict.state == "unsupported"
    assert result.verdict.detail.startswith("too_large")
    assert result.metrics_error.startswith("too_large")  # /metrics got the same body: over its limit too
    assert elapsed < 2.0
    assert len(big.sent) == 2
    # Nowhere near everything went out: the reads stopped past their limits (64 KiB readiness, 4 MiB
    # metrics) and the connections closed; what was sent beyond that is what the socket buffers held.
    assert min(big.sent) >= READY_LIMIT
    assert all(sent < HUNDRED_MB // 8 for sent in big.sent), big.sent


def test_a_redirect_loop_is_unsupported_after_one_request():
    result, _, server = scenario(redirect_loop())
    assert result.verdict.state == "unsupported"
    assert result.verdict.detail.startswith("redirect")
    assert result.metrics_error.startswith("redirect")
    assert Counter(r.path for r in server.requests) == {"/readyz": 1, "/metrics": 1}


def test_tls_handshake_with_a_plain_tcp_server_is_down():
    async def main():
        servers = Servers()
        try:
            server = await servers.start(garbage, raw=True)
            return await probe_one(Target("x", server.url("https")))
        finally:
            await servers.aclose()

    result, elapsed = run(main())
    assert result.verdict.state == "down"
    assert result.verdict.detail.startswith("tls")
    assert elapsed < 1.5


def test_self_signed_tls_is_down_unless_verification_is_off(tmp_path):
    ctx = self_signed(tmp_path)

    async def main():
        servers = Servers()
        try:
            server = await servers.start(json_handler(200, {"ready": True, "failing": []}), tls=ctx)
            verified, _ = await probe_one(Target("x", server.url("https"), metrics=False))
            insecure, _ = await probe_one(Target("x", server.url("https"), metrics=False), verify_tls=False)
            return verified, insecure
        finally:
            await servers.aclose()

    verified, insecure = run(main())
    assert verified.verdict.state == "down"
    assert verified.verdict.detail.startswith("tls") and "certificate" in verified.verdict.detail.lower()
    assert insecure.verdict.state == "ready"


# --------------------------------------------------------------------------- all of them, one cycle


def test_one_cycle_over_every_hostile_agent_and_two_good_ones_stays_bounded(tmp_path):
    ctx = self_signed(tmp_path)
    big = BigBody()

    async def main():
        servers = Servers()
        try:
            expected: dict[str, tuple[str, str]] = {}
            targets: list[Target] = []

            def add(agent_id: str, url: str, state: str, detail: str = "") -> None:
                targets.append(Target(agent_id, url))
                expected[agent_id] = (state, detail)

            add("refused", f"http://127.0.0.1:{closed_port()}", "down", "refused")
            add("hang", (await servers.start(hang)).url(), "down", "timeout")
            add("trickle", (await servers.start(trickle)).url(), "down", "timeout")
            add("http500", (await servers.start(json_handler(500, {}))).url(), "down", "HTTP 500")
            add("unready", (await servers.start(json_handler(503, {"ready": False, "failing": ["slack"]}))).url(),
                "degraded", "slack")
            add("draining", (await servers.start(json_handler(503, {"ready": False,
                                                                     "failing": ["gateway-draining"]}))).url(),
                "draining", "gateway-draining")
            add("badjson", (await servers.start(fixed(200, b"{{{", "application/json"))).url(), "unsupported")
            add("html", (await servers.start(fixed(200, b"<html></html>", "text/html"))).url(), "unsupported")
            add("huge", (await servers.start(big)).url(), "unsupported", "too_large")
            add("redirect", (await servers.start(redirect_loop())).url(), "unsupported", "redirect")
            add("tls-garbage", (await servers.start(garbage, raw=True)).url("https"), "down", "tls")
            add("tls-selfsigned", (await servers.start(json_handler(200, {"ready": True}), tls=ctx)).url("https"),
                "down", "tls")
            add("good-1", await servers.agent("good-1"), "ready")
            add("good-2", await servers.agent("good-2"), "ready")
            started = time.monotonic()
            async with Prober(timeout=1.0, concurrency=50) as prober:
                results = await prober.cycle(targets)
            return expected, results, time.monotonic() - started
        finally:
            await servers.aclose()

    expected, results, elapsed = run(main())
    assert elapsed < 5.0  # about 1 s: every agent under one total deadline, all at once
    assert [r.agent_id for r in results] == list(expected)
    for r in results:
        state, detail = expected[r.agent_id]
        assert r.verdict.state == state, (r.agent_id, r.verdict)
        assert r.verdict.detail.startswith(detail), (r.agent_id, r.verdict)
    good = {r.agent_id: r for r in results if r.agent_id.startswith("good")}
    for r in good.values():
        assert r.metrics is not None and r.metrics.max_conversations == 10 and r.metrics.memory > 0
    assert all(sent < HUNDRED_MB // 4 for sent in big.sent)


# -------------------------------------------------------------------------- concurrency and offsets


class ConnectionCounter:
    """Counts connections open at once; each hangs until the client goes away.

    At every accept, connections whose client already closed (EOF waiting, not yet seen by the loop)
    are dropped from the count first, so the figure is what the prober really holds open.
    """

    def __init__(self) -> None:
        self.open: set[asyncio.StreamWriter] = set()
        self.max_open = 0
        self.total = 0

    @staticmethod
    def _gone(writer: asyncio.StreamWriter) -> bool:
        if writer.transport.is_closing():
            return True
        sock = writer.get_extra_info("socket")
        fd = sock.fileno() if sock is not None else -1
        if fd < 0:
            return True
        peek = socket.socket(fileno=os.dup(fd))
        try:
            return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            peek.close()

    async def __call__(self, request, reader, writer):
        for other in [w for w in self.open if self._gone(w)]:
            self.open.discard(other)
        self.open.add(writer)
        self.total += 1
        self.max_open = max(self.max_open, len(self.open))
        try:
            await reader.read()  # until the client closes
        finally:
            self.open.discard(writer)


def test_concurrency_is_bounded():
    counter = ConnectionCounter()

    async def main():
        servers = Servers()
        try:
            server = await servers.start(counter)
            targets = [Target(f"agent-{i}", f"{server.url()}/a/{i}") for i in range(10)]
            started = time.monotonic()
            async with Prober(timeout=0.3, concurrency=3) as prober:
                results = await prober.cycle(targets)
            return results, time.monotonic() - started
        finally:
            await servers.aclose()

    results, elapsed = run(main())
    assert [r.verdict.state for r in results] == ["down"] * 10
    assert counter.total == 20  # readiness and metrics of each
    assert 2 <= counter.max_open <= 3 * 2
    assert 4 * 0.3 * 0.9 <= elapsed < 3.0  # four rounds of three under the 0.3 s deadline


def test_offsets_are_stable_and_inside_the_spread():
    targets = [Target(f"agent-{i}", "http://127.0.0.1:1") for i in range(200)]
    offsets = [t.offset(10.0) for t in targets]
    assert offsets == [Target(f"agent-{i}", "http://elsewhere:2", token="t").offset(10.0) for i in range(200)]
    assert all(0.0 <= o < 10.0 for o in offsets)
    assert len(set(offsets)) == 200  # spread out, not bunched
    assert sum(o < 5.0 for o in offsets) in range(70, 131)
    assert Target("x", "http://a").offset(2.0) == pytest.approx(Target("x", "http://a").offset(1.0) * 2)


def test_cycle_with_a_spread_starts_each_agent_at_its_offset():
    arrivals: dict[str, float] = {}
    spread = 0.6

    async def recording(request, reader, writer):
        if request.path.endswith("/readyz"):
            arrivals[request.path.split("/")[2]] = time.monotonic()
        writer.write(json_response(200, {"ready": True, "failing": []}))

    async def main():
        servers = Servers()
        try:
            server = await servers.start(recording)
            targets = [Target(f"ag{i}", f"{server.url()}/t/ag{i}", metrics=False) for i in range(5)]
            started = time.monotonic()
            async with Prober(timeout=1.0) as prober:
                results = await prober.cycle(targets, spread=spread)
            return targets, results, started, time.monotonic() - started
        finally:
            await servers.aclose()

    targets, results, started, elapsed = run(main())
    assert all(r.verdict.state == "ready" for r in results)
    for t in targets:
        assert arrivals[t.agent_id] - started >= t.offset(spread) - 0.01
        assert arrivals[t.agent_id] - started < t.offset(spread) + 0.3
    by_offset = sorted(targets, key=lambda t: t.offset(spread))
    assert sorted(arrivals, key=arrivals.__getitem__) == [t.agent_id for t in by_offset]
    assert elapsed < spread + 1.0


# ----------------------------------------------------------------------------------------- tokens


TOKEN = "tok-hush-8d2f1c"


class Recorder:
    """Answers like a gateway or a clawctl agent and records path and Authorization of every request."""

    def __init__(self, ready_status: int = 200, ready_body: object | None = None,
                 startup: tuple[int, object] | None = None, startup_delay: float = 0.0,
                 ready_delay: float = 0.0, gateway_metrics: bytes | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.gateway_metrics = gateway_metrics
        self.ready = (ready_status, ready_body if ready_body is not None else {"ready": True, "failing": []})
        self.startup, self.startup_delay, self.ready_delay = startup, startup_delay, ready_delay

    async def __call__(self, request, reader, writer):
        self.seen.append((request.path, request.headers.get("authorization")))
        if request.path == "/readyz":
            await asyncio.sleep(self.ready_delay)
            writer.write(json_response(*self.ready))
        elif request.path == "/metrics":
            writer.write(response(200, b"clawctl_agent_active_conversations 4\nclawctl_agent_max_conversations 9\n",
                                  "text/plain; version=0.0.4"))
        elif request.path == "/api/diagnostics/prometheus":
            writer.write(response(200, self.gateway_metrics or (b"# TYPE openclaw_run_duration_seconds histogram\n"
                                       b"openclaw_run_duration_seconds_sum 12.0\n"
                                       b"openclaw_run_duration_seconds_count 4\n"), "text/plain; version=0.0.4"))
        elif request.path == "/startupz" and self.startup is not None:
            await asyncio.sleep(self.startup_delay)
            writer.write(json_response(*self.startup))
        else:
            writer.write(response(200, b"<html>control ui</html>", "text/html"))


def test_the_token_is_sent_and_never_shown(caplog):
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()

    async def main():
        servers = Servers()
        try:
            server = await servers.start(recorder)
            targets = [Target("ok", server.url(), token=TOKEN),
                       Target("refused", f"http://127.0.0.1:{closed_port()}", token=TOKEN)]
            async with Prober(timeout=1.0) as prober:
                return targets, await prober.cycle(targets)
        finally:
            await servers.aclose()

    targets, results = run(main())
    assert sorted(recorder.seen) == [("/metrics", f"Bearer {TOKEN}"), ("/readyz", f"Bearer {TOKEN}")]
    assert results[0].verdict.state == "ready" and results[0].metrics.active_conversations == 4
    assert results[1].verdict.state == "down"
    report = ProbeReport("f", datetime.now(timezone.utc), results, sources={"ok": "fleet", "refused": "fleet"})
    shown = [repr(t) for t in targets] + [str(t) for t in targets] + [repr(r) for r in results]
    shown.append(json.dumps(report.as_dict()))
    shown.append(caplog.text)
    for text in shown:
        assert TOKEN not in text


def test_openclaw_metrics_only_with_a_token_from_the_prometheus_route():
    without, with_token = Recorder(), Recorder()
    r1, _, _ = scenario(without, kind="openclaw")
    r2, _, _ = scenario(with_token, kind="openclaw", token=TOKEN)
    assert without.seen == [("/readyz", None)]
    assert r1.verdict.state == "ready" and r1.metrics is None and r1.metrics_error is None
    assert sorted(with_token.seen) == [("/api/diagnostics/prometheus", f"Bearer {TOKEN}"),
                                       ("/readyz", f"Bearer {TOKEN}")]
    assert r2.metrics is not None and r2.metrics.response_time_ms == pytest.approx(3000.0)
    assert "/metrics" not in {path for path, _ in with_token.seen}


LABELLED_GATEWAY = b"".join(
    b'openclaw_run_duration_seconds_%s{channel="%s",model="m1",outcome="ok"%s} %s\n' % (suffix, channel, le, value)
    for channel, total, count in ((b"telegram", b"6.0", b"2"), (b"discord", b"10.0", b"3"))
    for suffix, le, value in ((b"bucket", b',le="+Inf"', count), (b"sum", b"", total), (b"count", b"", count)))


def test_a_gateways_labelled_run_histogram_gives_its_response_time():
    # real gateways label the run histogram (diagnostics-prometheus plugin): 16 s over 5 runs in all
    r, _, _ = scenario(Recorder(gateway_metrics=LABELLED_GATEWAY), kind="openclaw", token=TOKEN)
    assert r.metrics is not None and r.metrics.response_time_ms == pytest.approx(3200.0)
    assert r.scrape is not None and r.scrape.buckets == ((float("inf"), 5.0),)


def test_openclaw_startup_probe_refines_a_not_ready_gateway():
    recorder = Recorder(503, {"ready": False}, startup=(503, {"ok": False, "status": "starting"}))
    result, _, _ = scenario(recorder, kind="openclaw")
    assert result.verdict.state == "starting"
    assert [path for path, _ in recorder.seen] == ["/readyz", "/startupz"]


def test_openclaw_startup_probe_stays_inside_the_one_deadline():
    recorder = Recorder(503, {"ready": False}, startup=(503, {"ok": False, "status": "starting"}),
                        ready_delay=0.6, startup_delay=30.0)
    result, elapsed, _ = scenario(recorder, kind="openclaw", timeout=1.0)
    assert result.verdict.state == "degraded"  # /startupz did not answer in time: readiness stands
    assert elapsed < 1.4


# --------------------------------------------------------------------------------------- scanning


def test_scan_metrics_finds_unlabelled_and_labelled_series():
    text = (b"# HELP clawctl_agent_cpu_percent 99\n# TYPE clawctl_agent_cpu_percent gauge\n"
            b"clawctl_agent_cpu_percent 12.5\n"
            b'clawctl_agent_requests_total{outcome="error"} 3\n'
            b'clawctl_agent_requests_total{outcome="ok"} 40 1712345678000\n')
    values = scan_metrics(text, CLAWCTL_SERIES)
    assert values == {"cpu": 12.5, "error": 3.0, "ok": 40.0}


def test_scan_metrics_does_not_confuse_prefixes_labels_or_comments():
    text = (b"clawctl_agent_active_conversations_total 99\n"
            b'clawctl_agent_active_conversations{shard="1"} 98\n'
            b"xclawctl_agent_active_conversations 97\n"
            b"# clawctl_agent_active_conversations 96\n"
            b"clawctl_agent_active_conversations 3\n"
            b'clawctl_agent_requests_total{outcome="ok",region="eu"} 5\n'
            b'clawctl_agent_requests_total{outcome="okay"} 6\n')
    values = scan_metrics(text, CLAWCTL_SERIES)
    assert values == {"active": 3.0}


def test_scan_metrics_edges():
    assert scan_metrics(b"", CLAWCTL_SERIES) == {}
    assert scan_metrics(b"clawctl_agent_max_conversations 7", {"max": b"clawctl_agent_max_conversations"}) \
        == {"max": 7.0}  # first line, no newline at the end
    assert scan_metrics(b"a 1\r\nclawctl_agent_max_conversations 8\r\n", {"max": b"clawctl_agent_max_conversations"}) \
        == {"max": 8.0}
    assert scan_metrics(b"clawctl_agent_cpu_percent not-a-number\n", {"cpu": b"clawctl_agent_cpu_percent"}) == {}
    assert scan_metrics(b"clawctl_agent_cpu_percent \n", {"cpu": b"clawctl_agent_cpu_percent"}) == {}
    # Non-finite values are "no value" (docs/probing.md): NaN and +Inf never reach a result or the JSON.
    for value in (b"NaN", b"nan", b"+Inf", b"-Inf", b"Infinity", b"1e999", b"-1e400"):
        assert scan_metrics(b"clawctl_agent_cpu_percent " + value + b"\n", {"cpu": b"clawctl_agent_cpu_percent"}) \
            == {}, value


def test_metrics_from_scanned_values():
    m = metrics_from({"active": 2, "max": 10, "rt_sum": 3.0, "rt_count": 6, "ok": 6, "error": 2, "rejected": 2,
                      "cpu": 1.5, "memory": 0.4})
    assert m.response_time_ms == pytest.approx(500.0)
    assert m.requests == 10 and m.error_rate == pytest.approx(20.0)
    assert (m.active_conversations, m.max_conversations, m.cpu, m.memory) == (2, 10, 1.5, 0.4)
    empty = metrics_from({})
    assert empty.response_time_ms is None and empty.error_rate is None and empty.requests is None


# ------------------------------------------------------------------------ hardening: one hostile agent

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "agents"


def hostile(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def strict_json(text: str | bytes) -> object:
    """json.loads that refuses NaN and Infinity, as any other JSON parser does."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


class MetricsAgent:
    """Ready, and `/metrics` answers ``metrics`` (text/plain)."""

    def __init__(self, metrics: bytes) -> None:
        self.metrics = metrics

    async def __call__(self, request, reader, writer):
        if request.path == "/readyz":
            writer.write(json_response(200, {"ready": True, "failing": []}))
        else:
            writer.write(response(200, self.metrics, "text/plain; version=0.0.4"))


def test_readyz_with_60000_brackets_is_unsupported_invalid_json():
    """Attack item 9: json.loads raised RecursionError, and `probe` exited 70 reporting nothing."""
    result, _, _ = scenario(fixed(200, hostile("readyz-60000-brackets.json")))
    assert result.verdict.state == "unsupported"
    assert result.verdict.detail == "HTTP 200 with application/json, invalid JSON (nested too deep)"
    result, _, _ = scenario(fixed(503, hostile("readyz-60000-brackets.json")))
    assert result.verdict.state == "down" and "invalid JSON" in result.verdict.detail


def test_one_hostile_agent_never_blinds_the_cycle():
    async def main():
        servers = Servers()
        try:
            targets = [
                Target("brackets", (await servers.start(fixed(200, hostile("readyz-60000-brackets.json")))).url()),
                Target("not-a-list", (await servers.start(fixed(503, hostile("readyz-failing-not-a-list.json"))))
                       .url()),
                Target("flood", (await servers.start(fixed(503, hostile("readyz-failing-flood.json")))).url()),
                Target("nan-metrics", (await servers.start(MetricsAgent(hostile("metrics-non-finite.txt")))).url()),
                Target("deep-metrics", (await servers.start(MetricsAgent(b"[" * 60000))).url()),
                Target("good-1", await servers.agent("good-1")),
                Target("good-2", await servers.agent("good-2")),
            ]
            async with Prober(timeout=2.0) as prober:
                return await prober.cycle(targets)
        finally:
            await servers.aclose()

    results = {r.agent_id: r for r in run(main())}
    assert len(results) == 7
    assert results["brackets"].verdict.state == "unsupported"
    assert results["not-a-list"].verdict.state == "degraded" and results["not-a-list"].verdict.failing == []
    flood = results["flood"].verdict
    assert flood.state == "degraded" and len(flood.failing) == 17 and flood.failing[-1] == "(+984 more)"
    assert all(entry.isprintable() and len(entry) <= 80 for entry in flood.failing)
    assert flood.failing[0] == "?[31mred?[0m" and "\n" not in flood.detail
    for agent_id in ("nan-metrics", "deep-metrics"):
        r = results[agent_id]
        assert r.verdict.state == "ready" and r.metrics is not None and r.metrics_error is None
        assert [getattr(r.metrics, f) for f in ("active_conversations", "max_conversations", "response_time_ms",
                                                "error_rate", "cpu", "memory", "requests")] == [None] * 7
    assert results["good-1"].verdict.state == results["good-2"].verdict.state == "ready"
    report = ProbeReport("f", datetime.now(timezone.utc), list(results.values()))
    strict_json(json.dumps(report.as_dict(), allow_nan=False))  # no NaN or Infinity anywhere in it


def test_an_error_reading_one_agents_answer_is_that_agents_result(monkeypatch):
    """The guard behind the fixes: whatever the next unforeseen answer breaks stays with its agent."""
    import clawctl.adapters.prober as prober_module

    real = prober_module.readiness

    def fragile(obs):
        if b"boom" in obs.body:
            raise RuntimeError("cannot read this one")
        return real(obs)

    monkeypatch.setattr(prober_module, "readiness", fragile)

    async def main():
        servers = Servers()
        try:
            targets = [Target("odd", (await servers.start(fixed(200, b'{"ready": "boom"}'))).url()),
                       Target("good", await servers.agent("good"))]
            async with Prober(timeout=2.0) as prober:
                return await prober.cycle(targets)
        finally:
            await servers.aclose()

    odd, good = run(main())
    assert odd.verdict.state == "unsupported"
    assert odd.verdict.detail == "error: the answer could not be read (RuntimeError: cannot read this one)"
    assert good.verdict.state == "ready"


def test_readiness_failing_must_be_a_list_of_strings():
    def verdict(body: object, status: int = 503):
        return readiness(Observation(status, "application/json", json.dumps(body).encode()))

    for failing in (5, True, "startup", {"startup": 1}, None, 1.5):
        v = verdict({"ready": False, "failing": failing})
        assert v.state == "degraded" and v.failing == [], failing
    v = verdict({"ready": False, "failing": ["startup", 7, 1.5, None, True, 10**30, ["x"]]})
    assert v.state == "starting" and v.failing == ["startup", "7"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "0", "-1", "1e9", "600.5"])
def test_probe_refuses_a_timeout_that_is_not_a_finite_positive_bounded_number(cli, tmp_path, value):
    """Attack item 9: `--timeout nan` was taken, and the probe never finished."""
    r = cli("probe", str(write_probe_fleet(tmp_path, {"a": f"http://127.0.0.1:{closed_port()}"})), "--timeout", value)
    assert r.code == 2 and "--timeout" in r.err and r.err.count("\n") == 1, r.err


@pytest.mark.parametrize("value", ["0", "-5", "10001", "99999999999999999999", "1" + "0" * 400])
def test_probe_refuses_a_concurrency_out_of_bounds(cli, tmp_path, value):
    r = cli("probe", str(write_probe_fleet(tmp_path, {"a": f"http://127.0.0.1:{closed_port()}"})), "--concurrency",
            value)
    assert r.code == 2 and "--concurrency" in r.err, r.err


def test_the_prober_refuses_a_deadline_that_never_fires():
    for timeout in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(ValueError):
            Prober(timeout=timeout)
    with pytest.raises(ValueError):
        Prober(concurrency=0)


def write_probe_fleet(tmp_path: Path, endpoints: dict[str, str]) -> Path:
    agents = "".join(f"  {agent_id}:\n    domain: support\n    endpoint: {url}\n"
                     for agent_id, url in endpoints.items())
    path = tmp_path / "hostile-fleet.yaml"
    path.write_text("apiVersion: clawctl/v1\nkind: Fleet\nmetadata:\n  name: hostile\ndefaults:\n"
                    "  availability: 24/7\n  capabilities: [ticket_creation]\n  channels: [email]\n"
                    "  max_concurrent_conversations: 5\n  service_time: {distribution: exponential, mean: 60s}\n"
                    f"agents:\n{agents}")
    return path


class ThreadedServers:
    """Raw servers and reference agents on a loop in a background thread, for tests that run the CLI in this one."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="hostile-agents", daemon=True)
        self.servers = Servers()

    def __enter__(self) -> "ThreadedServers":
        self.thread.start()
        return self

    def raw(self, handler) -> str:
        return asyncio.run_coroutine_threadsafe(self.servers.start(handler), self.loop).result(10).url()

    def agent(self, agent_id: str) -> str:
        return asyncio.run_coroutine_threadsafe(self.servers.agent(agent_id), self.loop).result(10)

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.servers.aclose(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def test_probe_command_reports_every_agent_despite_hostile_ones(cli, tmp_path):
    """The attack end to end: `clawctl probe` exited 70 and printed nothing; now each agent has its state."""
    with ThreadedServers() as servers:
        fleet = write_probe_fleet(tmp_path, {
            "brackets": servers.raw(fixed(200, hostile("readyz-60000-brackets.json"))),
            "flood": servers.raw(fixed(503, hostile("readyz-failing-flood.json"))),
            "nanmetrics": servers.raw(MetricsAgent(hostile("metrics-non-finite.txt"))),
            "good": servers.agent("good"),
        })
        as_json = cli("probe", str(fleet), "--timeout", "3", "--format", "json")
        as_text = cli("probe", str(fleet), "--timeout", "3")
    assert as_json.code == 1, as_json.err  # some agents answer outside the contract: findings, not a crash
    report = strict_json(as_json.out)
    states = {a["id"]: a["state"] for a in report["agents"]}
    assert states == {"brackets": "unsupported", "flood": "degraded", "nanmetrics": "ready", "good": "ready"}
    nan_agent = next(a for a in report["agents"] if a["id"] == "nanmetrics")
    assert nan_agent["cpu"] is None and nan_agent["memory"] is None and nan_agent["response_time_ms"] is None
    assert as_text.code == 1, as_text.err
    assert "brackets" in as_text.out and "invalid JSON" in as_text.out
