"""Property tests of the loader: whatever the bytes, a value and findings or one InputError, in bounded
time and memory; and what PyYAML writes, the loader reads back.

The default run is derandomized and keeps no example database, so CI sees the same examples every
time (about 10 s here). A soak run draws fresh examples, fifty times as many:

    CLAWCTL_SOAK=1 python -m pytest tests/adapters/test_loader_properties.py tests/core/test_parser_properties.py
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.adapters.sources import decode_check
from clawctl.adapters.yamlload import LoadedYaml, load_yaml
from clawctl.core.errors import ExitCode, InputError
from clawctl.core.findings import Finding

SOAK = os.environ.get("CLAWCTL_SOAK") == "1"
MEMORY_BOUND = 64 * 1024 * 1024  # bytes of Python memory one example may reach (inputs are a few KB)
Y_CODES = {f"Y00{i}" for i in range(1, 9)}


def budget(examples: int, *, seconds: float = 2.0) -> settings:
    """``examples`` per run (fifty times that in a soak run), each within ``seconds``."""
    return settings(
        max_examples=examples * (50 if SOAK else 1),
        derandomize=not SOAK,
        database=None,
        deadline=timedelta(seconds=seconds),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=SOAK,
    )


# -- what the loader may do with any input ------------------------------------------------------------

def _walk(value: object, depth: int = 0) -> int:
    """Check a built value (no cycles, no foreign types, the depth budget) and count its nodes."""
    assert depth <= 65
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        return 1 + sum(_walk(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_walk(v, depth + 1) for v in value)
    assert value is None or isinstance(value, (str, int, float, bool)), type(value)
    if isinstance(value, int) and not isinstance(value, bool):
        assert value.bit_length() <= 420  # at most 100 decimal digits, or 100 hex ones
    return 1


def _check_document(doc: LoadedYaml) -> None:
    for problem in doc.problems:
        assert isinstance(problem, Finding) and problem.code in Y_CODES
        assert problem.message and "\n" not in problem.message
        if problem.span is not None:
            assert 1 <= problem.span.line <= doc.line_count + 1
    if doc.data is not None:
        seen: set[int] = set()

        def no_cycle(value: object) -> None:
            if isinstance(value, (dict, list)):
                assert id(value) not in seen, "a value contains itself"
                seen.add(id(value))
                for item in value.values() if isinstance(value, dict) else value:
                    no_cycle(item)
                seen.discard(id(value))

        no_cycle(doc.data)
        _walk(doc.data)
    # Positions of every path the value has, and of some it has not, never fail.
    for path in _some_paths(doc.data):
        span = doc.locate(path)
        assert span is None or span.line >= 1
        doc.locate(path, at_key=True)
    doc.locate(("nope", 3, "deeper"))
    for line in (0, 1, doc.line_count, doc.line_count + 1):
        assert isinstance(doc.line_text(line), str)


def _some_paths(value: object, prefix: tuple = (), limit: list | None = None):
    limit = limit if limit is not None else [200]
    if limit[0] <= 0:
        return
    limit[0] -= 1
    yield prefix
    if isinstance(value, dict):
        for key, item in list(value.items())[:5]:
            yield from _some_paths(item, prefix + (key,), limit)
    elif isinstance(value, list):
        for i, item in enumerate(value[:5]):
            yield from _some_paths(item, prefix + (i,), limit)


def load_within_bounds(data: bytes) -> LoadedYaml | None:
    """Decode and load ``data``; None when refused with InputError (exit 3). Memory is checked."""
    tracemalloc.start()
    try:
        try:
            doc = load_yaml("fuzz.yaml", decode_check("fuzz.yaml", data))
        except InputError as err:
            assert err.exit_code == ExitCode.UNREADABLE and "\n" not in err.message
            return None
        _check_document(doc)
        return doc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, f"{peak / 1e6:.0f} MB of Python memory for {len(data)} bytes"


@budget(300)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    load_within_bounds(data)


# Pieces YAML is made of, heavy on what broke before: indicators, tabs, anchors, merges, long numbers.
_PIECES = [
    "\n", "\n", "\n  ", "\n    ", " ", "  ", "\t", ":", ": ", ":\t", "- ", "-\t", "-", "? ", "?\t", "---", "---\t",
    "...", "[", "]", "{", "}", ", ", ",", "#", " # c", "\t#", "|", ">", "|-", "'", '"', "&a ", "&b ", "*a", "*b",
    "<<: ", "<<: *a", "<<: [*a, *b]", "!!str ", "!!int ", "!x ", "%YAML 1.1\n", "agents", "agents:", "a", "b",
    "k", "name", "region", "x-note", "17:00", "NO", "on", "~", "null", "0x1F", "0o17", "0b101", "1_000", "1e3",
    ".inf", ".nan", "-", "=", "é", "日本", "\\L", "\\u00e9", "\\", "\r\n", "\ufeff", "1" * 120, "0x" + "f" * 120,
    "1_" * 60, "1" * 60 + ":00",
]
yamlish = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=120).map("".join)


@budget(800)
@given(yamlish)
def test_yaml_ish_text(text):
    load_within_bounds(text.encode("utf-8", "surrogatepass").replace(b"\x00", b""))


def _nested(depth: int) -> st.SearchStrategy:
    """Deep nesting: block and flow, sequences and mappings, through aliases and merge keys."""
    return st.lists(st.sampled_from(["[", "{k: ", "- ", "\n  " * 2, "{<<: ", "&a {k: ", "*a", "{<<: *a, k: "]),
                    min_size=depth, max_size=depth).map(lambda parts: "a: " + "".join(parts) + "1")


@budget(200)
@given(st.integers(1, 300).flatmap(_nested))
def test_deep_nesting_never_reaches_the_recursion_limit(text):
    load_within_bounds(text.encode())


# -- what PyYAML writes, the loader reads back ----------------------------------------------------------

# Strings PyYAML and the loader must agree on: letters, digits, spaces, punctuation, tabs, non-ASCII.
_plain_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")) | st.just("\t"),
                      max_size=20)
_leaves = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), _plain_text,
                    st.floats(allow_nan=False, allow_infinity=True))
# Keys are not empty: PyYAML writes an empty key as `? ''`, an explicit key rapidyaml cannot always
# read when its value is another explicit key (it refuses it, Y001: no misreading).
_values = st.recursive(_leaves, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                         st.dictionaries(_plain_text.filter(bool), inner, max_size=5)),
                       max_leaves=40)


_INDICATOR_KEY = re.compile(r"(?m)^[ ]*[-:?]\S*:(?:\s|$)")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isnan(a) and math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@budget(300)
@given(_values, st.booleans())
def test_what_pyyaml_writes_is_read_back(value, flow):
    text = yaml.safe_dump({"v": value}, default_flow_style=flow, allow_unicode=True, sort_keys=False, width=60)
    doc = load_within_bounds(text.encode())
    assert doc is not None
    codes = [p.code for p in doc.problems if p.code != "Y003"]
    if codes == ["Y001"] and _INDICATOR_KEY.search(text):
        return  # rapidyaml refuses some keys that start with `-`, `:` or `?` after a list: refused, not misread
    assert codes == [], (text, doc.problems)
    assert _same(doc.data, {"v": value}), (text, doc.data)


# -- the whole `validate` path: never exit 70 -----------------------------------------------------------

_FLEET_PIECES = _PIECES + [
    "agents:\n  a:\n    domain: sales\n    region: us-east\n", "    channels: [email, ", "    backups: [b]\n",
    "  b: &b {domain: support, region: europe}\n", "  c:\n    <<: *b\n", "metadata:\n  name: ", "business_hours:",
    " {schedule: 9AM-6PM weekdays}", "service_time: {mean: 90s, p95: ", "traffic:\n  arrivals: {rate: 10/s}\n",
]
fleetish = st.lists(st.sampled_from(_FLEET_PIECES), max_size=40).map("".join)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "fleet.yaml"


@budget(120, seconds=5.0)
@given(text=fleetish)
def test_validate_never_fails_inside(scratch, text):
    from clawctl.cli.main import run
    from clawctl.core.env import Env

    scratch.write_bytes(text.encode("utf-8", "surrogatepass").replace(b"\x00", b""))
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: datetime.now(timezone.utc),
              db=scratch.with_name("store.db"), environ={})
    code = run(["validate", str(scratch), "--format", "json"], env)
    assert code in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.UNREADABLE), env.stderr.getvalue()
    if code != ExitCode.UNREADABLE:
        json.loads(env.stdout.getvalue())


@pytest.mark.parametrize("seed_text", ["agents: &x {<<: *x}\n", "a: {b:\t1}\n", "n: " + "1" * 5000 + "\n"])
def test_the_strategies_reach_what_broke_before(seed_text):
    # A fixed anchor for the generated families: these inputs come from the same pieces.
    load_within_bounds(seed_text.encode())
