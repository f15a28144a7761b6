"""The loader's shortcuts give what the long way gives: the line index, the node estimate, the builder's
caches of checked keys and strings, and the sets of keys and strings it hands the secret screen."""

from __future__ import annotations

import bisect
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.adapters import yamlbuild
from clawctl.adapters.yamllines import LineIndex
from clawctl.adapters.yamlload import load_yaml, node_estimate


def load(text: str):
    return load_yaml("f.yaml", text.encode("utf-8"))


# -- the line index ------------------------------------------------------------------------------------

def _line_starts(text: bytes) -> list[int]:
    return [0] + [i + 1 for i, byte in enumerate(text) if byte == 10]


@pytest.mark.parametrize("seed", range(40))
def test_line_index_agrees_with_a_table_of_every_line_start(seed):
    rng = random.Random(seed)
    line = rng.choice([b"", b"a", b"ab: c", b"x" * 700, b"y" * 3000])  # short lines, and lines across blocks
    text = b"\n".join(rng.choice([line, b"", b"k: v"]) for _ in range(rng.randint(0, 400)))
    if rng.random() < 0.5:
        text += b"\n"
    starts = _line_starts(text)
    index = LineIndex(text)
    assert index.lines == len(starts)
    for offset in range(0, len(text) + 1, max(1, len(text) // 300)):
        line = bisect.bisect_right(starts, offset) - 1
        assert index.locate(offset) == (line, starts[line])
    assert index.locate(len(text)) == (len(starts) - 1, starts[-1])
    for line, start in enumerate(starts):
        assert index.start(line) == start
        end = text.find(b"\n", start)
        assert index.line_text(line + 1) == text[start:end if end >= 0 else len(text)].decode()
    assert index.line_text(0) == index.line_text(len(starts) + 1) == ""
    for line in rng.sample(range(len(starts)), len(starts)):  # out of order: no stepping on from the last one
        assert index.start(line) == starts[line]


def test_line_index_counts_characters_in_columns():
    text = "k: 'é'\n" + "ü" * 5000 + "x: 1\n"
    index = LineIndex(text.encode())
    assert index.position(len("k: 'é".encode())) == (1, 6)
    assert index.position(len(("k: 'é'\n" + "ü" * 5000).encode())) == (2, 5001)  # a long non-ASCII line
    assert index.position(10**9) == (3, 1)  # clamped to the end of the text


# -- the node estimate --------------------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=60) | st.text(alphabet="\x00 -?:,[{\n\tab", max_size=60).map(str.encode))
def test_node_estimate_is_the_sum_of_its_seven_counts(text):
    assert node_estimate(text) == (text.count(b"\n") + text.count(b",") + text.count(b"[") + text.count(b"{")
                                   + text.count(b"- ") + text.count(b"? ") + text.count(b": ") + 4)


# -- the builder's caches and the sets of keys and strings ---------------------------------------------

def _distinct(data: object, keys: set, strings: set) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(key)
            _distinct(value, keys, strings)
    elif isinstance(data, list):
        for item in data:
            _distinct(item, keys, strings)
    elif isinstance(data, str):
        strings.add(data)


_WORDS = ["a", "no", "on", "yes", "17:00", "09:00", "1_000", "0755", "x-note", "<<", "~", "true", "key", "12",
          "'quoted'", '"NO"', "1.5", "web chat", "", "y"]


@st.composite
def _documents(draw) -> str:
    """Block and flow YAML where keys and values repeat (so the caches are hit), typed and retyped ones too."""
    lines = []
    for i in range(draw(st.integers(1, 12))):
        key = draw(st.sampled_from(_WORDS[:-1] + [f"k{i}"]))
        if key in ("", "<<"):
            key = f"k{i}"
        shape = draw(st.sampled_from(["scalar", "flow", "block", "map"]))
        values = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4))
        if shape == "scalar":
            lines.append(f"{key}: {values[0]}")
        elif shape == "flow":
            lines.append(f"{key}: [{', '.join(v or 'z' for v in values)}]")
        elif shape == "block":
            lines.append(f"{key}:")
            lines.extend(f"  - {v}" for v in values)
        else:
            lines.append(f"{key}:")
            lines.extend(f"  {v or 'z'}{j}: {v}" for j, v in enumerate(values))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_the_builder_caches_change_nothing(text):
    """What a document builds, and every finding about it, with the caches of checked keys and strings
    (the short way for a key or string seen before) and with them emptied before every look-up."""
    cached = load(text)
    original = yamlbuild.Builder.__init__

    class Forgetful(set):
        def __contains__(self, item: object) -> bool:
            return False

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.plain_keys, self.plain_strings = Forgetful(), Forgetful()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(yamlbuild.Builder, "__init__", init)
        uncached = load(text)
    assert cached.data == uncached.data
    assert [(p.code, p.message, p.span, p.path) for p in cached.problems] == \
        [(p.code, p.message, p.span, p.path) for p in uncached.problems]
    if cached.data is not None:
        keys: set = set()
        strings: set = set()
        _distinct(cached.data, keys, strings)
        # every key and string of the value, and those the document held that the value lost (a
        # duplicate key's first value, a merge key)
        assert keys <= cached.keys == uncached.keys and strings <= cached.strings == uncached.strings
        assert cached.user_keys == any(k.startswith("x-") for k in cached.keys)


def test_keys_and_strings_of_anchors_aliases_merges_and_tags():
    doc = load("base: &b {region: eu, tags: [x, 'y']}\nagents:\n  a:\n    <<: *b\n    name: !!str n1\n"
               "    copy: *b\n    n: 12\n")
    assert doc.keys == {"base", "region", "tags", "agents", "a", "name", "copy", "n", "<<"}  # `<<` too
    assert doc.strings == {"eu", "x", "y", "n1"}


def test_release_keeps_the_lines_and_drops_the_rest():
    doc = load("a: 1\nb: [x, y]\n")
    assert doc.locate(("b", 1)) is not None
    doc.release()
    assert doc.data is None and doc.keys is None and doc._tree is None
    assert doc.line_text(2) == "b: [x, y]" and doc.position(5) == (2, 1)


def test_a_key_with_every_letter_is_checked_once_and_right():
    keys = [f"{c}{c}" for c in string.ascii_letters]
    doc = load("".join(f"{k}: 1\n" for k in keys) + "a:\n" + "".join(f"  {k}: 2\n" for k in keys))
    assert doc.problems == [] and list(doc.data["a"]) == keys
