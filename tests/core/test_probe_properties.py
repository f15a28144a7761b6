"""Properties of what the prober makes of an agent's answers (clawctl.core.probe), with hypothesis.

An agent's answer is untrusted bytes. For any of them: the metric scanner never raises and gives
only finite floats for the series asked for; the figures derived from them are finite or None;
the readiness verdict never raises and its detail is printable and bounded. Every example is also
held to a time and a memory bound (tracemalloc), and the scanner to a linear worst case on a body
as large as the prober reads (4 MiB).
"""

from __future__ import annotations

import json
import math
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import astuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.core.probe import (
    CLAWCTL_SERIES,
    DETAIL_CHARS,
    FAILING_CHARS,
    FAILING_ENTRIES,
    OPENCLAW_SERIES,
    STATES,
    Observation,
    metrics_from,
    readiness,
    scan_metrics,
    startup,
)

SERIES = {**CLAWCTL_SERIES, **OPENCLAW_SERIES}
EXAMPLE_SECONDS = 0.5  # per example; the work is microseconds, the rest is room for a busy machine
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def bounded(input_size: int, *, seconds: float = EXAMPLE_SECONDS, per_byte: int = 3, fixed: int = 256 * 1024):
    """Fail when the block takes longer than ``seconds`` or allocates more than ``per_byte`` x input + ``fixed``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"{elapsed:.3f}s for {input_size} bytes"
    assert peak < per_byte * input_size + fixed, f"{peak} bytes allocated for {input_size} bytes"


def _finite_floats(values: dict[str, float]) -> bool:
    return all(type(v) is float and math.isfinite(v) for v in values.values())


# ------------------------------------------------------------------------------------ the scanner

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(["NaN", "nan", "+Inf", "-Inf", "Inf", "Infinity", "-infinity", "1e999", "-1e400", "1e308",
                     "0x10", "1_000", "", " ", "--1", "1e", ".", "+", "\u0661\u0662", "١", "1\x00"]),
    st.text(max_size=12),
)
NAMES = st.one_of(st.sampled_from(sorted(SERIES.values())),
                  st.sampled_from(sorted(SERIES.values())).map(lambda n: n + b"_total"),
                  st.binary(max_size=20))
SEPARATORS = st.sampled_from([b" ", b"\t", b"  ", b"", b"{x=\"1\"} ", b"\xa0", b"\x0b"])
LINE_ENDS = st.sampled_from([b"\n", b"\r\n", b"", b"\n\n", b"\r", b" 1712345678000\n"])


@st.composite
def exposition(draw) -> bytes:
    """Text shaped like Prometheus exposition, so the wanted series are found and their values vary."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["sample", "sample", "comment", "junk"]))
        if kind == "comment":
            kind = draw(st.sampled_from([b"HELP ", b"TYPE "]))
            lines.append(b"# " + kind + draw(NAMES) + b" " + draw(st.binary(max_size=8)))
        elif kind == "junk":
            lines.append(draw(st.binary(max_size=40)))
        else:
            lines.append(draw(NAMES) + draw(SEPARATORS) + draw(VALUES).encode("utf-8", "surrogatepass"))
        lines[-1] += draw(LINE_ENDS)
    return b"".join(lines)


@PROPERTIES
@given(body=st.one_of(st.binary(max_size=4096), exposition()))
def test_scan_metrics_never_raises_and_gives_only_finite_floats(body):
    for wanted in (CLAWCTL_SERIES, OPENCLAW_SERIES, SERIES):
        with bounded(len(body)):
            values = scan_metrics(body, wanted)
        assert set(values) <= set(wanted)
        assert _finite_floats(values), values


@PROPERTIES
@given(name=st.sampled_from(sorted(SERIES)), value=st.floats(allow_nan=True, allow_infinity=True),
       before=exposition(), after=exposition())
def test_a_series_on_a_line_of_its_own_is_found_when_finite(name, value, before, after):
    line = SERIES[name] + b" " + repr(value).encode() + b"\n"
    body = (before if before.endswith(b"\n") or not before else before + b"\n") + line + after
    values = scan_metrics(body, {name: SERIES[name]})
    earlier = scan_metrics(before, {name: SERIES[name]}) if before else {}
    if math.isfinite(value) and not earlier and SERIES[name] not in before:
        assert values == {name: value}
    assert _finite_floats(values)


@PROPERTIES
@given(values=st.dictionaries(st.sampled_from(sorted(SERIES)), st.floats(allow_nan=True, allow_infinity=True)))
def test_metrics_from_gives_finite_figures_or_none(values):
    m = metrics_from(values)
    for figure in astuple(m):
        assert figure is None or (isinstance(figure, float | int) and math.isfinite(figure)), m
    json.dumps(astuple(m), allow_nan=False)


@pytest.mark.parametrize("pattern", [
    b"\nclawctl_agent_cpu_percent",  # the name at every line start, never followed by a value
    b"clawctl_agent_cpu_percent ",  # one endless line of names, none at a line start
    b"\n",  # only newlines
    b"\nclawctl_agent_requests_total{outcome=\"ok\"}x",
    b"x",
])
def test_scan_metrics_is_linear_on_a_4_mib_body(pattern):
    body = pattern * (4 * 1024 * 1024 // len(pattern))
    with bounded(len(body), seconds=2.0, per_byte=2):
        values = scan_metrics(body, SERIES)
    assert _finite_floats(values)


# ------------------------------------------------------------------------------------ readiness

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=20)


@st.composite
def readiness_bodies(draw) -> bytes:
    kind = draw(st.sampled_from(["shaped", "json", "bytes", "deep", "number"]))
    if kind == "shaped":
        body = {"ready": draw(st.one_of(st.booleans(), JSON_VALUES))}
        if draw(st.booleans()):
            body["failing"] = draw(st.one_of(st.lists(st.one_of(st.text(max_size=200), JSON_VALUES), max_size=40),
                                             JSON_VALUES))
        return json.dumps(body).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "deep":
        return draw(st.sampled_from([b"[", b'{"a":', b"[{\"ready\":true,\"x\":"])) * draw(st.integers(900, 60000))
    if kind == "number":
        return b'{"ready": true, "failing": [' + draw(st.sampled_from([b"1" * 5000, b"NaN", b"1e999", b"-0"])) + b"]}"
    return draw(st.binary(max_size=2000))


@PROPERTIES
@given(status=st.one_of(st.sampled_from([200, 503]), st.sampled_from([200, 503, 500, 302, 404, 204]),
                        st.integers(0, 999)),
       content_type=st.one_of(st.just("application/json"), st.sampled_from(["application/json; charset=utf-8",
                                                                            "text/html", ""]), st.text(max_size=40)),
       body=readiness_bodies())
def test_readiness_never_raises_and_its_detail_is_printable_and_bounded(status, content_type, body):
    obs = Observation(status, content_type, body)
    with bounded(len(body), per_byte=40):  # json.loads builds Python objects: several times the body
        verdict = readiness(obs)
        startup(obs)
    assert verdict.state in STATES
    assert verdict.detail.isprintable()
    assert len(verdict.detail) <= DETAIL_CHARS
    assert len(verdict.failing) <= FAILING_ENTRIES + 1
    assert all(isinstance(f, str) and f.isprintable() and len(f) <= FAILING_CHARS for f in verdict.failing)
    if verdict.state == "ready":
        assert status == 200 and b"true" in body
