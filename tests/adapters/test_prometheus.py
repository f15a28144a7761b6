"""PrometheusSource: fast tests over httpx.MockTransport for every error path, and one test against a real
Prometheus (Debian's `prometheus` package) scraping real reference agents on 127.0.0.1 through the file
`clawctl export prometheus-sd` writes, compared with a direct probe of the same agents.

The real test skips when no `prometheus` binary is installed, except under CI (env var CI set), where a
missing binary fails the run: `apt-get install prometheus`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from clawctl.adapters.agent_server import AgentServer
from clawctl.adapters.prober import Target, probe_once
from clawctl.adapters.prometheus import (
    PrometheusError,
    PrometheusSource,
    figure_queries,
    fleet_query,
    selector,
    window_text,
)
from clawctl.core.errors import ExitCode
from clawctl.core.refagent import AgentInfo, ReferenceAgent
from clawctl.core.service_time import make

WAIT = 30.0  # seconds: the bound of every wait on Prometheus or the agents


# -- fast: the adapter over a mock transport ----------------------------------------------------------------
def vector(*series: tuple[dict, str], at: float = 1767605400.5) -> dict:
    return {"status": "success", "data": {"resultType": "vector",
                                          "result": [{"metric": m, "value": [at, v]} for m, v in series]}}


def source(handler, **kw) -> PrometheusSource:
    return PrometheusSource("http://prometheus.test:9090/", transport=httpx.MockTransport(handler), **kw)


def answer(status: int, body: object, content_type: str = "application/json"):
    def handler(request: httpx.Request) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=raw, headers={"Content-Type": content_type})

    return handler


def raising(exc: Exception):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def failure(src: PrometheusSource) -> PrometheusError:
    with src, pytest.raises(PrometheusError) as info:
        src.figures(fleet="prod")
    assert "\n" not in str(info.value)
    return info.value


def test_one_post_per_cycle_carries_every_figure_grouped_by_agent():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=vector())

    with source(handler, window=90) as src:
        src.figures(fleet="prod")
    (request,) = sent
    assert request.method == "POST" and request.url.path == "/api/v1/query"
    query = httpx.QueryParams(request.content.decode())["query"]
    assert query == fleet_query("prod", 90)
    for name, expr in figure_queries("prod", 90).items():
        assert f'label_replace({expr}, "figure", "{name}", "agent", ".*")' in query
        assert "by (agent" in expr and 'agent!="",fleet="prod"' in expr
    assert "[90s]" in query


def test_figures_are_read_per_agent_and_non_finite_values_are_none():
    series = [({"agent": "a", "figure": "up"}, "1"), ({"agent": "b", "figure": "up"}, "0"),
              ({"agent": "a", "figure": "scraped_at"}, "1767605399.25"),
              ({"agent": "a", "figure": "active"}, "3"), ({"agent": "a", "figure": "max"}, "10"),
              ({"agent": "a", "figure": "cpu"}, "12.5"), ({"agent": "a", "figure": "memory"}, "0.75"),
              ({"agent": "a", "figure": "requests_per_s"}, "0.5"), ({"agent": "a", "figure": "error_rate"}, "2.5"),
              ({"agent": "a", "figure": "response_time_ms"}, "41"),
              ({"agent": "a", "figure": "p50_ms"}, "NaN"), ({"agent": "a", "figure": "p95_ms"}, "+Inf"),
              ({"agent": "a", "figure": "something_new"}, "7")]
    with source(answer(200, vector(*series))) as src:
        got = src.figures()
    assert got.at == 1767605400.5 and got.window == 60
    a, b = got.agents["a"], got.agents["b"]
    assert (a.up, a.scraped_at, a.active_conversations, a.max_conversations, a.cpu, a.memory) == \
        (True, 1767605399.25, 3, 10, 12.5, 0.75)
    assert (a.requests_per_s, a.error_rate, a.response_time_ms, a.p50_ms, a.p95_ms) == (0.5, 2.5, 41, None, None)
    assert b.up is False and b.cpu is None and b.scraped_at is None
    m = a.metrics()
    assert (m.active_conversations, m.max_conversations, m.response_time_ms, m.error_rate, m.cpu, m.memory) == \
        (3, 10, 41, 2.5, 12.5, 0.75)


def test_an_empty_answer_is_no_agents():
    with source(answer(200, vector())) as src:
        got = src.figures(fleet="prod")
    assert got.agents == {} and got.at is None


def test_refused_is_unreachable():
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        err = failure(PrometheusSource(f"http://127.0.0.1:{port}", timeout=2.0))
    assert err.exit_code == ExitCode.UNREACHABLE
    assert "connection refused" in str(err) and f"127.0.0.1:{port}/api/v1/query" in str(err)


def test_credentials_in_the_url_are_never_shown():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        err = failure(PrometheusSource(f"http://ops:hunter2@127.0.0.1:{port}/prom", timeout=2.0))
    assert "hunter2" not in str(err) and f"http://127.0.0.1:{port}/prom/api/v1/query" in str(err)


def test_a_slow_drip_answer_is_bounded_by_the_timeout_in_total():
    def handler(request: httpx.Request) -> httpx.Response:
        def drip():
            yield b'{"status": "success", '
            time.sleep(0.3)
            yield b'"data": {"resultType": "vector", "result": []}}'

        return httpx.Response(200, content=drip())

    err = failure(source(handler, timeout=0.1))
    assert err.exit_code == ExitCode.UNREACHABLE and "no answer within 0.1s" in str(err)


def test_refused_through_the_transport_and_timeouts_are_unreachable():
    err = failure(source(raising(httpx.ConnectError("[Errno 111] Connection refused"))))
    assert err.exit_code == ExitCode.UNREACHABLE and "connection refused" in str(err)
    err = failure(source(raising(httpx.ReadTimeout("timed out")), timeout=1.5))
    assert err.exit_code == ExitCode.UNREACHABLE and "no answer within 1.5s" in str(err)


def test_a_promql_error_is_one_line_with_its_type():
    body = {"status": "error", "errorType": "bad_data", "error": "1:5: parse error:\nunexpected character"}
    err = failure(source(answer(400, body)))
    assert err.exit_code == ExitCode.UNREADABLE
    assert "HTTP 400, bad_data: 1:5: parse error:?unexpected character" in str(err)


def test_status_error_with_200_is_still_an_error():
    err = failure(source(answer(200, {"status": "error", "errorType": "execution", "error": "query timed out"})))
    assert err.exit_code == ExitCode.UNREADABLE and "execution: query timed out" in str(err)


def test_a_server_error_page_is_unreachable():
    err = failure(source(answer(503, b"<html>Service Unavailable</html>", "text/html")))
    assert err.exit_code == ExitCode.UNREACHABLE and "HTTP 503, not the query API's JSON" in str(err)


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"status": "success"}',
                                  b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
                                  b"[" * 100_000])
def test_bad_json_is_unreadable(body):
    err = failure(source(answer(200, body)))
    assert err.exit_code == ExitCode.UNREADABLE


@pytest.mark.parametrize("item", [{"metric": {"agent": "a"}}, {"metric": {"agent": "a"}, "value": [1, "x"]},
                                  {"metric": {"agent": 3}, "value": [1, "1"]}, "nope"])
def test_a_misshapen_series_is_unreadable(item):
    body = {"status": "success", "data": {"resultType": "vector", "result": [item]}}
    err = failure(source(answer(200, body)))
    assert err.exit_code == ExitCode.UNREADABLE and "does not shape" in str(err)


def test_a_series_without_an_agent_label_is_unreadable():
    err = failure(source(answer(200, vector(({"figure": "up", "job": "node"}, "1")))))
    assert err.exit_code == ExitCode.UNREADABLE
    assert "without an `agent` label" in str(err) and "clawctl export prometheus-sd" in str(err)


def test_selector_and_window():
    assert selector() == 'agent!=""'
    assert selector('we"ird\\') == 'agent!="",fleet="we\\"ird\\\\"'
    assert [window_text(x) for x in (60, 1.5, 300.0)] == ["60s", "1500ms", "300s"]
    for bad in (0, -1, float("nan"), float("inf"), 0.0001):
        with pytest.raises(ValueError):
            window_text(bad)
    with pytest.raises(ValueError):
        PrometheusSource("http://x", timeout=float("nan"))


# -- real: Prometheus scraping reference agents --------------------------------------------------------------
def installed(name: str) -> str:
    """The path of Debian's `prometheus` package's binary ``name``; skip without it, fail under CI."""
    found = shutil.which(name)
    if found is None:
        message = f"no `{name}` binary on PATH: `apt-get install prometheus` (Debian/Ubuntu) to run this test"
        if os.environ.get("CI"):
            pytest.fail(message + " (under CI a missing Prometheus fails the run)")
        pytest.skip(message)
    return found


@pytest.fixture
def prometheus_bin() -> str:
    return installed("prometheus")


def test_the_documented_scrape_config_is_valid(tmp_path, cli):
    """docs/cli.md's snippet, pointed at this test's folder, passes `promtool check config`."""
    promtool = installed("promtool")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text().split("\n## export\n", 1)[1]
    snippet = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    folder = tmp_path / "clawctl"
    folder.mkdir()
    (folder / "shop.token").write_text("a-token\n")
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs:\n" + snippet.replace("/etc/prometheus/clawctl", str(folder)))
    fleet = fleet_file(tmp_path / "fleet.yaml", {"a": "http://127.0.0.1:9"}, {"a": 1})
    assert cli("export", "prometheus-sd", str(fleet), "-o", str(folder / "shop.json")).code == 0
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=WAIT,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, *, limit: float = WAIT, step: float = 0.2):
    """``check()``'s first truthy value, polled for at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, PrometheusError) as exc:
            value, last = None, exc
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what}: not within {limit:g}s (last error: {last})")


@pytest.fixture
def prometheus(prometheus_bin, tmp_path):
    """``prometheus(file_sd_path) -> base URL``: a Prometheus on a free 127.0.0.1 port scraping every second
    the targets in the file; stopped (SIGTERM, then SIGKILL) at teardown."""
    procs: list[subprocess.Popen] = []

    def start(sd_file: Path) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "clawctl",
                                "file_sd_configs": [{"files": [str(sd_file)], "refresh_interval": "1s"}]}],
        }))
        log = tmp_path / "prometheus.log"
        for _ in range(3):  # the free port may be taken between the probe and Prometheus binding it
            port = free_port()
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            procs.append(proc)
            base = f"http://127.0.0.1:{port}"

            def ready(proc: subprocess.Popen = proc, base: str = base) -> bool | str:
                if proc.poll() is not None:
                    return "exited"
                return httpx.get(f"{base}/-/ready", timeout=2.0, trust_env=False).status_code == 200

            if wait_for(ready, "Prometheus ready") is True:
                return base
            if "address already in use" not in log.read_text(errors="replace"):
                break
        raise AssertionError(f"Prometheus did not start:\n{log.read_text(errors='replace')[-2000:]}")

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


class FixedFigures(AgentServer):
    """A reference-agent server whose process CPU and memory figures are fixed, so a scrape and a later
    probe read the same gauges."""

    def __init__(self, agents, cpu: float, memory: float, **kw) -> None:
        super().__init__(agents, **kw)
        self.fixed = (cpu, memory)

    def _process_figures(self, now: float) -> tuple[float, float]:
        return self.fixed


def agent(agent_id: str, cap: int, *, seconds: float, region: str | None = None,
          domain: str | None = None) -> ReferenceAgent:
    info = AgentInfo(agent_id, region=region, domain=domain, max_concurrent_conversations=cap,
                     service_time=make("deterministic", 1.0))
    return ReferenceAgent(info, random.Random(agent_id), time_scale=seconds)


FLEET = "prom-tests"


def fleet_file(path: Path, endpoints: dict[str, str | None], caps: dict[str, int]) -> Path:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata:", f"  name: {FLEET}", "agents:"]
    for name, endpoint in endpoints.items():
        lines += [f"  {name}:", "    availability: 24/7", "    region: eu-west", "    domain: sales",
                  f"    max_concurrent_conversations: {caps[name]}"]
        if endpoint:
            lines.append(f"    endpoint: {endpoint}")
    path.write_text("\n".join(lines) + "\n")
    return path


def talk(client: httpx.Client, base: str, n: int, at_once: int) -> list[int]:
    """``n`` conversations, ``at_once`` at a time, each held until it ends (?wait=1); their status codes."""
    def one(i: int) -> int:
        return client.post(f"{base}/v1/conversations", params={"wait": "1"},
                           json={"customer_id": f"customer-{i}", "type": "question"}).status_code

    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(one, range(n)))


def fault(client: httpx.Client, base: str, **body) -> None:
    assert client.post(f"{base}/v1/admin/fault", json={"lease": 120, **body}).status_code == 200


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile over cumulative (upper bound, count) buckets, +Inf last."""
    total = buckets[-1][1]
    if total == 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return None


def histogram(client: httpx.Client, base: str) -> list[tuple[float, float]]:
    out = []
    for line in client.get(f"{base}/metrics").text.splitlines():
        if line.startswith("clawctl_agent_response_time_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out.append((float(le), float(line.rsplit(" ", 1)[1])))
    return out


def test_top_figures_from_prometheus_match_a_direct_probe(prometheus, agent_servers, cli, tmp_path):
    started = time.monotonic()
    # a and b alone on their ports; c and d behind one port under /agents/<id> (a path prefix: __metrics_path__);
    # e has no endpoint (left out, with a note); f's endpoint is a port nothing listens on (up == 0).
    base_a = agent_servers(FixedFigures({"a": agent("a", 3, seconds=0.05)}, 12.5, 1.25))
    base_b = agent_servers(FixedFigures({"b": agent("b", 4, seconds=0.05)}, 33.0, 2.5))
    base_cd = agent_servers(FixedFigures({"c": agent("c", 5, seconds=0.05), "d": agent("d", 2, seconds=0.6)},
                                         7.25, 0.5, many=True))
    endpoints = {"a": base_a, "b": base_b, "c": f"{base_cd}/agents/c", "d": f"{base_cd}/agents/d", "e": None,
                 "f": f"http://127.0.0.1:{free_port()}"}
    caps = {"a": 3, "b": 4, "c": 5, "d": 2, "e": 1, "f": 1}
    path = fleet_file(tmp_path / "fleet.yaml", endpoints, caps)
    sd = tmp_path / "sd" / "agents.json"
    sd.parent.mkdir()
    run = cli("export", "prometheus-sd", str(path), "-o", str(sd))
    assert run.code == 0, run.err
    assert run.err == ("clawctl: note: e: not exported: no endpoint: set `endpoint` in the fleet file, "
                       "or run `clawctl lab up`\n")
    url = prometheus(sd)
    live = {"a", "b", "c", "d"}

    def targets_seen() -> bool:
        active = httpx.get(f"{url}/api/v1/targets", params={"state": "active"}, timeout=5.0,
                           trust_env=False).json()["data"]["activeTargets"]
        health = {t["labels"].get("agent"): t["health"] for t in active}
        return active if health == {**{a: "up" for a in live}, "f": "down"} else None

    active = wait_for(targets_seen, "every live target up and f down")
    for target in active:  # the four labels on every series; the __meta_* ones only seen by relabeling
        name = target["labels"]["agent"]
        assert set(target["labels"]) == {"fleet", "agent", "region", "domain", "job", "instance"}, target
        assert target["discoveredLabels"]["__meta_clawctl_endpoint_kind"] == "clawctl"
        path = target["scrapeUrl"].split("/", 3)[3]
        assert "/" + path == (f"/agents/{name}/metrics" if name in "cd" else "/metrics")
    up_at = time.monotonic()
    # Counters move only now, after a scrape saw them at zero: rates over the window then cover the lifetimes.
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        fault(client, base_a, mode="slow", latency=0.03)
        fault(client, base_b, mode="error", error_rate=0.5)
        fault(client, endpoints["c"], mode="slow", latency=0.12)
        codes = {name: talk(client, endpoints[name], n, at_once)  # a and c within capacity, b and d past it
                 for name, n, at_once in (("a", 9, 3), ("b", 12, 12), ("c", 10, 5), ("d", 6, 6))}
        assert set(codes["a"]) == {200} and set(codes["c"]) == {200}
        assert 500 in codes["b"] and 200 in codes["b"]
        assert codes["d"].count(429) >= 3  # capacity 2: the rest are rejected
        hist = {name: histogram(client, endpoints[name]) for name in live}
    done = time.time()

    with PrometheusSource(url, timeout=5.0, window=300) as src:
        def after_the_talk():
            got = src.figures(fleet=FLEET)
            fresh = all(got.agents.get(a) and (got.agents[a].scraped_at or 0) > done + 0.01 for a in live)
            return got if fresh else None

        got = wait_for(after_the_talk, "a scrape of every agent after the conversations")
    scraped = time.monotonic()
    targets = [Target(name, endpoints[name]) for name in sorted(live | {"f"})]
    probed = {r.agent_id: r for r in probe_once(targets, timeout=5.0)}

    assert set(got.agents) == live | {"f"}
    f = got.agents["f"]
    assert f.up is False and f.cpu is None and f.max_conversations is None and probed["f"].verdict.state == "down"
    for name in sorted(live):
        mine, direct = got.agents[name], probed[name].metrics
        assert direct is not None and probed[name].verdict.state == "ready", name
        assert mine.up is True, name
        assert mine.scraped_at is not None and mine.scraped_at <= got.at
        # gauges: the same numbers
        assert (mine.active_conversations, mine.max_conversations, mine.cpu, mine.memory) == \
            (direct.active_conversations, direct.max_conversations, direct.cpu, direct.memory), name
        assert mine.max_conversations == caps[name] and mine.active_conversations == 0
        # rates over a window that holds every request: the lifetime figures a probe computes
        assert mine.error_rate == pytest.approx(direct.error_rate, rel=1e-6, abs=1e-9), name
        assert mine.requests_per_s is not None and mine.requests_per_s > 0, name
        assert mine.response_time_ms == pytest.approx(direct.response_time_ms, rel=1e-3), name
        for figure, q in (("p50_ms", 0.5), ("p95_ms", 0.95)):
            expected = quantile(q, hist[name])
            assert getattr(mine, figure) == pytest.approx(expected * 1000, rel=1e-6), (name, figure)
    assert got.agents["a"].cpu == 12.5 and got.agents["c"].cpu == got.agents["d"].cpu == 7.25
    assert got.agents["b"].error_rate > 0 and got.agents["d"].error_rate == 0  # rejected is no error
    assert 30 <= got.agents["a"].response_time_ms < 50 and 120 <= got.agents["c"].response_time_ms < 150
    assert 25 <= got.agents["a"].p50_ms <= got.agents["a"].p95_ms <= 50
    assert 100 <= got.agents["c"].p50_ms <= got.agents["c"].p95_ms <= 250
    print(f"\nreal Prometheus: targets up after {up_at - started:.1f}s, fresh figures after "
          f"{scraped - started:.1f}s, total {time.monotonic() - started:.1f}s")

    # `clawctl top --prometheus` shows the same figures: gauges as probed, rates as Prometheus computes them
    top = cli("top", str(tmp_path / "fleet.yaml"), "--prometheus", url, "--once", "--format", "json", "--no-record")
    assert top.code == 4, top.err  # f is down (e, with no endpoint, is not in Prometheus either)
    frame = json.loads(top.out)
    assert frame["source"] == "prometheus"
    rows = {a["id"]: a for a in frame["agents"]}
    assert rows["f"]["state"] == "down" and rows["f"]["cpu"] is None
    assert rows["e"]["state"] == "down" and "no series in Prometheus" in rows["e"]["detail"]
    for name in sorted(live):
        row, direct = rows[name], probed[name].metrics
        assert row["state"] == "ready" and row["stale"] is False, name
        assert (row["active_conversations"], row["capacity"], row["cpu"], row["memory"]) == \
            (direct.active_conversations, direct.max_conversations, round(direct.cpu, 1), round(direct.memory, 1))
        assert row["response_time_ms"] == pytest.approx(got.agents[name].p95_ms, abs=0.1), name  # rounded to 0.1
        assert row["error_rate"] == pytest.approx(got.agents[name].error_rate, abs=0.005), name
