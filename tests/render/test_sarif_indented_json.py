"""SARIF is written by orjson when that gives json.dumps(indent=2)'s text, and by json otherwise."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from clawctl.render.findings_sarif import indented_json

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=12),  # any character: control characters, DEL, non-ASCII, astral
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12),
    st.sampled_from(["", "\x7f", "\u2028", "é", "😀", "\\", '"', "/", "\ud800"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _VALUES, max_size=5))
def test_indented_json_is_json_dumps_with_indent_2(value):
    assert indented_json(value) == json.dumps(value, indent=2)


def test_a_sarif_sized_log_takes_the_fast_way_and_reads_back():
    results = [{"ruleId": "A003", "ruleIndex": 0, "level": "warning", "message": {"text": f"unknown `c{i}`"},
                "locations": [{"physicalLocation": {"region": {"startLine": i + 1, "startColumn": 7}}}]}
               for i in range(2000)]
    log = {"version": "2.1.0", "runs": [{"results": results, "empty": [], "none": {}}]}
    text = indented_json(log)
    assert text == json.dumps(log, indent=2) and json.loads(text) == log
