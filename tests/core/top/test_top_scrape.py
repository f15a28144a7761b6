"""Reading one metrics body (clawctl.core.top.scrape): the reference agent's real output, an OpenClaw
gateway's labelled histogram, and hostile bodies, which must never raise and give only sane values."""

from __future__ import annotations

import math
import random
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import astuple, fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.core.refagent import BUCKETS, AgentInfo, ReferenceAgent
from clawctl.core.service_time import make
from clawctl.core.top.scrape import MAX_BODY, MAX_SERIES, Scrape, number, parse

INF = math.inf
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def ref_agent(cap: int = 4) -> ReferenceAgent:
    info = AgentInfo("a1", max_concurrent_conversations=cap, service_time=make("deterministic", 10.0))
    ref = ReferenceAgent(info, random.Random(7))
    ref.started = True
    return ref


def well_formed(s: Scrape) -> None:
    """The invariants every Scrape holds, whatever the body."""
    for f in fields(Scrape):
        value = getattr(s, f.name)
        if f.name == "buckets":
            continue
        assert value is None or (type(value) is float and math.isfinite(value) and value >= 0), (f.name, value)
    if s.buckets:
        les = [le for le, _ in s.buckets]
        counts = [c for _, c in s.buckets]
        assert les == sorted(set(les)) and les[-1] == INF
        assert not any(math.isnan(le) for le in les) and les[0] > -INF
        assert all(math.isfinite(c) and c >= 0 for c in counts)
        assert counts == sorted(counts)


# ------------------------------------------------------------------------ the reference agent


def test_reads_every_series_of_the_reference_agents_real_metrics_text():
    ref = ref_agent(cap=4)
    ref.start_conversation({"customer_id": "c1", "channel": "email"}, 0.0, "t0")
    for seconds in (0.003, 0.02, 0.02, 0.7, 30.0):
        ref.counters.observe(seconds)
    ref.counters.ok, ref.counters.error, ref.counters.rejected = 3, 1, 1
    s = parse(ref.metrics_text(12.5, 0.25).encode())
    assert (s.active, s.capacity, s.cpu, s.memory) == (1.0, 4.0, 12.5, 0.25)
    assert (s.ok, s.error, s.rejected) == (3.0, 1.0, 1.0)
    assert s.rt_count == 5.0
    assert s.rt_sum == pytest.approx(30.743)
    # by hand: <=0.005: 1, <=0.01: 1, <=0.025: 3, ... <=0.5: 3, <=1.0: 4, ... <=10: 4, +Inf: 5
    expected = [1, 1, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5]
    assert s.buckets == tuple(zip((*BUCKETS, INF), map(float, expected)))
    well_formed(s)


def test_a_fresh_reference_agent_has_an_empty_histogram_not_none():
    s = parse(ref_agent().metrics_text(0.0, 0.0).encode())
    assert s.buckets == tuple((le, 0.0) for le in (*BUCKETS, INF))
    assert (s.rt_sum, s.rt_count, s.ok, s.error) == (0.0, 0.0, 0.0, 0.0)


def test_the_clawctl_series_mean_nothing_for_an_openclaw_gateway():
    s = parse(ref_agent().metrics_text(5.0, 1.0).encode(), "openclaw")
    assert s == Scrape()


def test_an_unknown_kind_is_a_callers_mistake():
    with pytest.raises(ValueError, match="unknown endpoint kind"):
        parse(b"", "prometheus")


# ------------------------------------------------------------------------ an OpenClaw gateway

# Shaped as the diagnostics-prometheus plugin writes it: labels sorted, `le` among them, bounds
# written by JavaScript's String() (`1`, not `1.0`), one histogram per label set.
def openclaw_series(channel: str, outcome: str, counts: list[int], total: float, le_text=("0.5", "1", "+Inf")) -> str:
    rest = f'model="m",outcome="{outcome}",provider="p",trigger="user"'
    lines = [f'openclaw_run_duration_seconds_bucket{{channel="{channel}",le="{le}",{rest}}} {n}'
             for le, n in zip(le_text, counts)]
    lines.append(f'openclaw_run_duration_seconds_sum{{channel="{channel}",{rest}}} {total}')
    lines.append(f'openclaw_run_duration_seconds_count{{channel="{channel}",{rest}}} {counts[-1]}')
    return "\n".join(lines) + "\n"


GATEWAY = ("# HELP openclaw_run_duration_seconds Agent run duration in seconds.\n"
           "# TYPE openclaw_run_duration_seconds histogram\n"
           + openclaw_series("slack", "completed", [1, 2, 3], 4.5)
           + openclaw_series("telegram", "error", [0, 1, 1], 0.75)
           + "openclaw_run_completed_total{outcome=\"completed\"} 3\n")


def test_an_openclaw_histogram_is_summed_over_its_label_sets():
    s = parse(GATEWAY.encode(), "openclaw")
    assert s.buckets == ((0.5, 1.0), (1.0, 3.0), (INF, 4.0))
    assert (s.rt_sum, s.rt_count) == (5.25, 4.0)
    assert (s.active, s.capacity, s.cpu, s.memory, s.ok, s.error, s.rejected) == (None,) * 7


def test_openclaw_series_with_different_bounds_give_no_histogram():
    body = openclaw_series("a", "completed", [1, 2, 3], 1.0) + \
        openclaw_series("b", "completed", [1, 2, 3], 1.0, le_text=("0.25", "1", "+Inf"))
    s = parse(body.encode(), "openclaw")
    assert s.buckets == ()
    assert s.rt_count == 6.0  # the totals do not depend on the bounds


def test_a_series_without_its_sum_line_leaves_the_sum_unknown():
    body = openclaw_series("a", "completed", [1, 2, 3], 1.0)
    body += openclaw_series("b", "completed", [1, 1, 1], 2.0).replace("_sum{", "_summary{")
    s = parse(body.encode(), "openclaw")
    assert s.rt_sum is None and s.rt_count == 4.0
    assert s.buckets == ((0.5, 2.0), (1.0, 3.0), (INF, 4.0))


def test_more_label_sets_than_the_cap_give_no_histogram_values():
    body = "".join(openclaw_series(f"c{i}", "completed", [0, 0, 1], 1.0) for i in range(MAX_SERIES + 1))
    assert parse(body.encode(), "openclaw") == Scrape()
    body = "".join(openclaw_series(f"c{i}", "completed", [0, 0, 1], 1.0) for i in range(MAX_SERIES))
    assert parse(body.encode(), "openclaw").rt_count == MAX_SERIES


# ------------------------------------------------------------------------ hostile bodies, one rule at a time

H = "clawctl_agent_response_time_seconds"
GOOD = [f'{H}_bucket{{le="0.5"}} 2', f'{H}_bucket{{le="1"}} 3', f'{H}_bucket{{le="+Inf"}} 4',
        f"{H}_sum 2.5", f"{H}_count 4"]


def body_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_the_good_histogram_reads():
    s = parse(body_of(GOOD))
    assert s.buckets == ((0.5, 2.0), (1.0, 3.0), (INF, 4.0)) and (s.rt_sum, s.rt_count) == (2.5, 4.0)


@pytest.mark.parametrize("bad", ["NaN", "+Inf", "-Inf", "-1", "1e999", "1_000", "0x10", "two", "\u0661"])
@pytest.mark.parametrize("at, le", [(0, "0.5"), (1, "1")])
def test_a_bad_bucket_count_leaves_no_histogram(bad, at, le):
    lines = list(GOOD)
    lines[at] = f'{H}_bucket{{le="{le}"}} {bad}'
    s = parse(body_of(lines))
    assert s.buckets == ()
    assert s.rt_count == 4.0


@pytest.mark.parametrize("bad", ["NaN", "Inf", "-0.5", "1e999", "x"])
def test_a_bad_sum_or_count_is_no_value(bad):
    s = parse(body_of([*GOOD[:3], f"{H}_sum {bad}", f"{H}_count {bad}"]))
    assert (s.rt_sum, s.rt_count) == (None, None)
    assert s.buckets == ((0.5, 2.0), (1.0, 3.0), (INF, 4.0))


def test_without_a_plus_inf_bucket_there_is_no_histogram():
    assert parse(body_of([GOOD[0], GOOD[1], *GOOD[3:]])).buckets == ()


def test_non_monotonic_buckets_give_no_histogram():
    lines = list(GOOD)
    lines[1] = f'{H}_bucket{{le="1"}} 1'  # fewer than the 2 at le=0.5
    assert parse(body_of(lines)).buckets == ()


def test_a_duplicated_line_is_ignored_the_first_decides():
    s = parse(body_of([*GOOD, f'{H}_bucket{{le="0.5"}} 4', f"{H}_count 99", f'{H}_bucket{{le="0.50"}} 3']))
    assert s.buckets == ((0.5, 2.0), (1.0, 3.0), (INF, 4.0)) and s.rt_count == 4.0


@pytest.mark.parametrize("line", [
    f'{H}_bucket{{le="NaN"}} 3', f'{H}_bucket{{le="-Inf"}} 0', f'{H}_bucket{{le="1_0"}} 3', f'{H}_bucket{{le=""}} 3',
    f'{H}_bucket{{le="0.7",le="0.8"}} 3', f'{H}_bucket{{le=0.7}} 3', f'{H}_bucket{{le="0.7"}}3', f'{H}_bucket 3',
    f'{H}_bucket{{le="0.7" 3', f'{H}_bucket{{x="1"}} 3', f'{H}_bucketx{{le="0.7"}} 3', f'{H}_bucket{{le="0.7"}}',
    f'{H}_bucket{{le="0.7"}} ',
    f'x{H}_bucket{{le="0.7"}} 3', f' {H}_bucket{{le="0.7"}} 3', f'{H}_bucket{{le="0\\.7"}} 3',
    f'{H}_bucket{{le="0.7",pad="{"x" * 3000}"}} 3',
])
def test_a_line_that_cannot_be_filed_is_ignored(line):
    assert parse(body_of([*GOOD, line])) == parse(body_of(GOOD))


def test_timestamps_exemplars_crlf_and_spaced_labels_are_read():
    lines = [f'{H}_bucket{{ le = "0.5" , }} 2 1712345678000', f'{H}_bucket{{le="1"}} 3 # {{trace_id="a"}} 0.9 1',
             f'{H}_bucket{{le="+Inf"}}\t4', f"{H}_sum 2.5", f"{H}_count 4"]
    s = parse("\r\n".join(lines).encode())
    assert s.buckets == ((0.5, 2.0), (1.0, 3.0), (INF, 4.0)) and (s.rt_sum, s.rt_count) == (2.5, 4.0)


@pytest.mark.parametrize("value, expected", [("-3", None), ("NaN", None), ("+Inf", None), ("7", 7.0), ("0", 0.0)])
def test_a_gauge_or_counter_that_is_negative_or_not_finite_is_no_value(value, expected):
    body = f'clawctl_agent_cpu_percent {value}\nclawctl_agent_requests_total{{outcome="error"}} {value}\n'
    s = parse(body.encode())
    assert (s.cpu, s.error) == (expected, expected)


def test_a_body_over_the_limit_is_not_read():
    body = body_of(GOOD)
    assert parse(body + b"#" * (MAX_BODY - len(body))).rt_count == 4.0
    assert parse(body + b"#" * (MAX_BODY - len(body) + 1)) == Scrape()


@pytest.mark.parametrize("token, expected", [
    (b"1", 1.0), (b"-2.5e-3", -0.0025), (b".5", 0.5), (b"5.", 5.0), (b"+Inf", INF), (b"-inf", -INF),
    (b"Infinity", INF), (b"INF", INF), (b"1_000", None), (b"0x10", None), (b"1e", None), (b"", None),
    (b"\xd9\xa1", None), (b" 1", None), (b"infx", None), (b"1" * 65, None),
])
def test_numbers_are_prometheus_syntax_only(token, expected):
    assert number(token) == expected
    assert math.isnan(number(b"NaN"))


# ------------------------------------------------------------------------ properties

@contextmanager
def bounded(input_size: int, *, seconds: float = 0.5, per_byte: int = 3, fixed: int = 256 * 1024):
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


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-5, 10**6).map(str),
                    st.sampled_from(["NaN", "+Inf", "-Inf", "1e999", "-0", "1_0", "", "x", "\u0661", "0x1p3"]))
NAMES = st.sampled_from([H, "openclaw_run_duration_seconds", "clawctl_agent_cpu_percent",
                         'clawctl_agent_requests_total{outcome="ok"}'])
SUFFIXES = st.sampled_from(["_bucket", "_bucket", "_sum", "_count", "", "_created"])
LABELS = st.one_of(
    st.builds(lambda le: f'{{le="{le}"}}', NUMBERS),
    st.builds(lambda c, le: f'{{channel="{c}",le="{le}",model="m"}}', st.sampled_from("ab"), NUMBERS),
    st.sampled_from(["", "{}", '{channel="a"}', "{le=}", '{le="1"', '{le="1",le="2"}']),
    st.text(max_size=10),
)


@st.composite
def histogram_bodies(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["series", "series", "series", "junk", "comment"]))
        if kind == "series":
            space = draw(st.sampled_from([" ", "\t", "", "  "]))
            line = draw(NAMES) + draw(SUFFIXES) + draw(LABELS) + space + draw(NUMBERS)
            lines.append(line.encode("utf-8", "surrogatepass"))
        elif kind == "junk":
            lines.append(draw(st.binary(max_size=40)))
        else:
            lines.append(b"# TYPE " + draw(NAMES).encode() + b" histogram")
    return draw(st.sampled_from([b"\n", b"\r\n", b"\n\n"])).join(lines)


@PROPERTIES
@given(body=st.one_of(st.binary(max_size=4096), histogram_bodies()), kind=st.sampled_from(["clawctl", "openclaw"]))
def test_parse_never_raises_and_gives_only_sane_values(body, kind):
    with bounded(len(body)):
        s = parse(body, kind)
    well_formed(s)
    assert all(v is None or type(v) in (float, tuple) for v in astuple(s))


@pytest.mark.parametrize("pattern", [
    f'\n{H}_bucket{{le="1"}} 1'.encode(),  # one series repeated: every line is a duplicate
    f"{H}_bucket".encode(),  # one endless line of names, none at a line start
    b"\n" + H.encode(),  # the family name at every line start, never a known suffix
    f'\n{H}_bucket{{le="1",a="'.encode(),  # unterminated labels on every line
    b"\n",
])
def test_parse_is_linear_on_a_4_mib_body(pattern):
    body = pattern * (MAX_BODY // len(pattern))
    with bounded(len(body), seconds=2.0, per_byte=2):
        s = parse(body)
    well_formed(s)


def test_parse_is_bounded_on_a_4_mib_body_of_distinct_series():
    line = 'openclaw_run_duration_seconds_bucket{{channel="{:07d}",le="+Inf"}} 1\n'
    body = "".join(line.format(i) for i in range(MAX_BODY // len(line.format(0)))).encode()
    with bounded(len(body), seconds=2.0, per_byte=2):
        s = parse(body, "openclaw")
    assert s == Scrape()  # over MAX_SERIES label sets
