"""Prometheus, both ways: the file_sd file it reads (written atomically), and its HTTP API read back (httpx).

Past one machine an existing Prometheus is the source of `top`'s figures: `clawctl export prometheus-sd`
writes the fleet's targets with the labels `fleet`, `agent`, `region` and `domain`, and
:class:`PrometheusSource` asks Prometheus for the figures `top` shows, per agent (by the `agent`
label), with ONE instant query per cycle (``POST /api/v1/query``): every figure is an aggregation
``by (agent)``, tagged with a `figure` label through ``label_replace`` and joined with ``or``, so the
query costs the same for 3 agents or 3,000 and every figure is evaluated at the same instant.

The figures (docs/cli.md, "export", has the same table):

==================  =====================================================================================
figure              PromQL (``SEL`` is ``agent!=""`` plus ``fleet="NAME"`` when a fleet is given; ``W``
                    the rate window)
==================  =====================================================================================
up                  ``max by (agent) (up{SEL})``
scraped_at          ``max by (agent) (timestamp(up{SEL}))``: when the last scrape started (epoch seconds)
active              ``max by (agent) (clawctl_agent_active_conversations{SEL})``
max                 ``max by (agent) (clawctl_agent_max_conversations{SEL})``
cpu                 ``max by (agent) (clawctl_agent_cpu_percent{SEL})``
memory              ``max by (agent) (clawctl_agent_memory_percent{SEL})``
requests_per_s      ``sum by (agent) (rate(clawctl_agent_requests_total{SEL}[W]))``
error_rate          ``100 * sum by (agent) (rate(clawctl_agent_requests_total{SEL,outcome="error"}[W]))
                    / (sum by (agent) (rate(clawctl_agent_requests_total{SEL}[W])) > 0)``
response_time_ms    ``1000 * sum by (agent) (rate(clawctl_agent_response_time_seconds_sum{SEL}[W]))
                    / (sum by (agent) (rate(clawctl_agent_response_time_seconds_count{SEL}[W])) > 0)``
p50_ms, p95_ms      ``1000 * histogram_quantile(Q, sum by (agent, le)
                    (rate(clawctl_agent_response_time_seconds_bucket{SEL}[W])))``
==================  =====================================================================================

Gauges take ``max`` (an agent scraped by two jobs is not counted twice); rates take ``sum`` over
outcomes and buckets (ratios and quantiles do not change when a job scrapes an agent twice). A window
without requests has no error rate or response time (``> 0`` drops the division by zero; a quantile
of empty buckets is NaN): those figures are None, as is every figure Prometheus has no series for.

Errors are one :class:`PrometheusError` with a one-line message: the server refused or did not answer
in time (exit 4, unreachable), or answered something other than a successful query result: a non-200
status, ``status: error``, a body that is not the API's JSON, a series without an `agent` label
(exit 3, unreadable).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import httpx

from clawctl.adapters.http_text import refused, without_credentials
from clawctl.core.errors import ClawctlError, ExitCode, InputError
from clawctl.core.probe import AgentMetrics, clean

BODY_LIMIT = 64 * 1024 * 1024  # bytes of one query answer: ~11 series per agent, far above any fleet
QUANTILES = {"p50_ms": 0.5, "p95_ms": 0.95}


class PrometheusError(ClawctlError):
    """Prometheus could not be asked (exit 4) or its answer could not be read (exit 3)."""

    exit_code = ExitCode.UNREACHABLE


# -- the file_sd file -------------------------------------------------------------------------------------
def write_file_sd(path: Path, text: str) -> None:
    """Write ``text`` (a file_sd document) to ``path`` atomically: a temporary file in the same folder,
    flushed to disk, then renamed over ``path``, so Prometheus never reads half a file.

    The temporary name ends in `.tmp`, which file_sd's ``*.json`` / ``*.yml`` patterns do not match.
    A file that cannot be written is an :class:`InputError` (exit 3) naming it.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    data = text.encode("utf-8")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask decides, as for any file
    except OSError as exc:
        raise InputError(f"cannot write {path}: {_reason(exc, path)}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {_reason(exc, path)}") from None
    finally:
        tmp.unlink(missing_ok=True)  # a no-op once the file is in place


def _reason(exc: OSError, path: Path) -> str:
    return f"no folder {path.parent}" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc)).lower()


# -- the query ---------------------------------------------------------------------------------------------
def window_text(seconds: float) -> str:
    """A rate window in Prometheus's duration syntax: 60 -> `60s`, 1.5 -> `1500ms`."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"the rate window must be a finite number of seconds above 0, not {seconds!r}")
    ms = round(seconds * 1000)
    if ms < 1:
        raise ValueError(f"the rate window must be at least 1 ms, not {seconds!r}")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _quote(value: str) -> str:
    """A PromQL string literal (Go's double-quoted syntax)."""
    return json.dumps(value)


def selector(fleet: str | None = None) -> str:
    """The label matchers every figure uses: series with an `agent` label, of one fleet when given."""
    return 'agent!=""' + (f",fleet={_quote(fleet)}" if fleet is not None else "")


def figure_queries(fleet: str | None = None, window: float = 60.0) -> dict[str, str]:
    """figure -> its PromQL expression, aggregated by (agent)."""
    sel, w = selector(fleet), window_text(window)
    requests = "clawctl_agent_requests_total"
    rt = "clawctl_agent_response_time_seconds"
    out = {
        "up": f"max by (agent) (up{{{sel}}})",
        "scraped_at": f"max by (agent) (timestamp(up{{{sel}}}))",
        "active": f"max by (agent) (clawctl_agent_active_conversations{{{sel}}})",
        "max": f"max by (agent) (clawctl_agent_max_conversations{{{sel}}})",
        "cpu": f"max by (agent) (clawctl_agent_cpu_percent{{{sel}}})",
        "memory": f"max by (agent) (clawctl_agent_memory_percent{{{sel}}})",
        "requests_per_s": f"sum by (agent) (rate({requests}{{{sel}}}[{w}]))",
        "error_rate": f'100 * sum by (agent) (rate({requests}{{{sel},outcome="error"}}[{w}]))'
                      f" / (sum by (agent) (rate({requests}{{{sel}}}[{w}])) > 0)",
        "response_time_ms": f"1000 * sum by (agent) (rate({rt}_sum{{{sel}}}[{w}]))"
                            f" / (sum by (agent) (rate({rt}_count{{{sel}}}[{w}])) > 0)",
    }
    for name, q in QUANTILES.items():
        out[name] = f"1000 * histogram_quantile({q}, sum by (agent, le) (rate({rt}_bucket{{{sel}}}[{w}])))"
    return out


def fleet_query(fleet: str | None = None, window: float = 60.0) -> str:
    """The one instant query of a cycle: every figure tagged with its name in the `figure` label."""
    return "\nor ".join(f'label_replace({expr}, "figure", "{name}", "agent", ".*")'
                        for name, expr in figure_queries(fleet, window).items())


# -- the answer --------------------------------------------------------------------------------------------
@dataclass
class AgentFigures:
    """What Prometheus holds for one agent. Every figure is a finite float, or None when it has none."""

    agent: str
    up: bool | None = None  # the last scrape succeeded (Prometheus's own `up`)
    scraped_at: float | None = None  # epoch seconds when the last scrape started
    active_conversations: float | None = None
    max_conversations: float | None = None
    cpu: float | None = None
    memory: float | None = None
    requests_per_s: float | None = None  # conversation requests answered per second, over the window
    error_rate: float | None = None  # percent of conversation requests that failed, over the window
    response_time_ms: float | None = None  # mean over the window
    p50_ms: float | None = None
    p95_ms: float | None = None

    def metrics(self) -> AgentMetrics:
        """The figures in the shape a direct probe gives (rates over the window, not lifetime)."""
        return AgentMetrics(self.active_conversations, self.max_conversations, self.response_time_ms,
                            self.error_rate, self.cpu, self.memory)


_ATTRIBUTE = {"active": "active_conversations", "max": "max_conversations"}
_FIGURES = {f.name for f in fields(AgentFigures)} - {"agent", "up"}


@dataclass
class FleetFigures:
    """One cycle's answer: the evaluation instant (Prometheus's clock, epoch seconds) and each agent's figures."""

    at: float | None
    window: float
    agents: dict[str, AgentFigures] = field(default_factory=dict)


class PrometheusSource:
    """Read `top`'s figures from a Prometheus server: ``PrometheusSource(url).figures(fleet="prod")``.

    ``url`` is the server's base URL (``http://prometheus:9090``, a path prefix if it runs behind one;
    credentials in it are used for basic auth and never shown in a message); ``timeout`` bounds each
    query in seconds, in total (httpx's own timeouts are per phase, so the body's reading is checked
    against the deadline too); ``window`` is the rate window in seconds. ``transport`` replaces the
    network (tests pass an ``httpx.MockTransport``). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, url: str, timeout: float = 5.0, *, window: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds above 0, not {timeout!r}")
        window_text(window)  # refuse a bad window now, not at the first query
        self.url = url.rstrip("/")
        self.shown = without_credentials(self.url)
        self.timeout = timeout
        self.window = window
        self.client = httpx.Client(timeout=timeout, transport=transport, trust_env=False, follow_redirects=False,
                                   headers={"User-Agent": "clawctl-prometheus", "Accept": "application/json"})

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def figures(self, fleet: str | None = None) -> FleetFigures:
        """Every agent's figures (of ``fleet`` when given), from one instant query."""
        result = self.query(fleet_query(fleet, self.window))
        out = FleetFigures(at=None, window=self.window)
        for labels, at, value in result:
            agent, figure = labels.get("agent"), labels.get("figure")
            if not agent:
                raise PrometheusError(f"{self.shown}: a series without an `agent` label ({_labels(labels)}); scrape "
                                      "the fleet through the file `clawctl export prometheus-sd` writes",
                                      exit_code=ExitCode.UNREADABLE)
            out.at = at if out.at is None else max(out.at, at)
            figures = out.agents.get(agent)
            if figures is None:
                figures = out.agents[agent] = AgentFigures(agent)
            if figure == "up":
                figures.up = None if value is None else value == 1
            elif figure is not None and _ATTRIBUTE.get(figure, figure) in _FIGURES:
                setattr(figures, _ATTRIBUTE.get(figure, figure), value)
        return out

    def query(self, expr: str) -> list[tuple[dict[str, str], float, float | None]]:
        """An instant query: (labels, evaluation time, value or None when not finite) per series of a vector."""
        where = f"{self.shown}/api/v1/query"
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("POST", f"{self.url}/api/v1/query", data={"query": expr}) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > BODY_LIMIT:
                        raise PrometheusError(f"{where}: answer over {BODY_LIMIT // 2**20} MiB",
                                              exit_code=ExitCode.UNREADABLE)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer took longer than the timeout")
                status = resp.status_code
        except httpx.ConnectError as exc:
            what = "connection refused" if refused(exc) else f"cannot connect ({clean(str(exc), 200)})"
            raise PrometheusError(f"{where}: {what}") from None
        except httpx.TimeoutException:
            raise PrometheusError(f"{where}: no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"{where}: {type(exc).__name__}: {clean(str(exc), 200)}") from None
        return _vector(where, status, bytes(body))


def _vector(where: str, status: int, body: bytes) -> list[tuple[dict[str, str], float, float | None]]:
    """The series of an instant query's answer, or a PrometheusError saying why there are none."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, not UTF-8, nested too deep
        doc = None
    if not isinstance(doc, dict) or doc.get("status") not in ("success", "error"):
        what = f"HTTP {status}, not the query API's JSON" + (f": {_snippet(body)}" if body.strip() else "")
        raise PrometheusError(f"{where}: {what}", exit_code=ExitCode.UNREACHABLE if status >= 500
                              else ExitCode.UNREADABLE)
    if doc["status"] == "error" or status != 200:
        kind, error = doc.get("errorType"), doc.get("error")
        detail = ": ".join(clean(str(x), 200) for x in (kind, error) if x) or "no detail"
        raise PrometheusError(f"{where}: HTTP {status}, {detail}",
                              exit_code=ExitCode.UNREACHABLE if status >= 500 else ExitCode.UNREADABLE)
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise PrometheusError(f"{where}: the answer holds no instant vector", exit_code=ExitCode.UNREADABLE)
    return [_sample(where, item) for item in data["result"]]


def _sample(where: str, item: object) -> tuple[dict[str, str], float, float | None]:
    try:
        labels, (at, text) = item["metric"], item["value"]  # type: ignore[index]
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise TypeError
        at, value = float(at), float(text)
        if not math.isfinite(at):
            raise ValueError
    except (TypeError, ValueError, KeyError, OverflowError):
        raise PrometheusError(f"{where}: a series the answer does not shape as the API does: {clean(repr(item), 120)}",
                              exit_code=ExitCode.UNREADABLE) from None
    return labels, at, value if math.isfinite(value) else None






def _labels(labels: dict[str, str]) -> str:
    return clean("{" + ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}", 160)


def _snippet(body: bytes) -> str:
    return clean(body[:200].decode("utf-8", "replace").strip().replace("\n", " "), 120)
