"""The rapidyaml-based loader: YAML 1.2 typing, positions, duplicate keys, budgets (docs/fleet-format.md)."""

from __future__ import annotations

import math
import time

import pytest

from clawctl.adapters import ryml_tree as rt
from clawctl.adapters.yamlload import Budgets, load_yaml
from clawctl.core.errors import InputError
from clawctl.core.findings import Span


def load(text: str | bytes, budgets: Budgets | None = None):
    return load_yaml("f.yaml", text.encode("utf-8") if isinstance(text, str) else text, budgets)


def codes(doc) -> list[str]:
    return [p.code for p in doc.problems]


# -- YAML 1.2 typing --------------------------------------------------------------------------------

TYPING = [
    ("NO", "NO"), ("no", "no"), ("on", "on"), ("On", "On"), ("off", "off"), ("yes", "yes"), ("Y", "Y"),
    ("y", "y"), ("n", "n"),
    ("true", True), ("False", False), ("TRUE", True),
    ("17:00", "17:00"), ("09:00", "09:00"), ("1:30:00", "1:30:00"),
    ("0o17", 15), ("0x1F", 31), ("0755", 755), ("-12", -12), ("+3", 3), ("0", 0),
    ("1e3", 1000.0), ("1.5", 1.5), ("-.5", -0.5), (".inf", math.inf), ("-.Inf", -math.inf),
    ("~", None), ("null", None), ("Null", None), ("", None),
    ("'1'", "1"), ('"1"', "1"), ('"17:00"', "17:00"), ("'NO'", "NO"), ('"~"', "~"), ('""', ""),
    ("2024-01-01", "2024-01-01"), ("1_000", "1_000"), ("0b101", "0b101"), ("=", "="), ("<<x", "<<x"),
    ("250ms", "250ms"), ("24/7", "24/7"), ("99.95%", "99.95%"), ("1h30m", "1h30m"),
]


@pytest.mark.parametrize("text, value", TYPING, ids=[t or "<empty>" for t, _ in TYPING])
def test_yaml12_typing_in_a_mapping(text, value):
    data = load(f"k: {text}\n").data
    assert data == {"k": value}
    assert type(data["k"]) is type(value)


@pytest.mark.parametrize("text, value", [(t, v) for t, v in TYPING if t], ids=[t for t, _ in TYPING if t])
def test_yaml12_typing_in_a_flow_sequence(text, value):
    # Sequence items take the inline (fast) path; anchored values the slow one: both type alike.
    # (The empty scalar is left out: `[ ]` is an empty list.)
    data = load(f"s: [{text}]\na: &x {text}\n").data
    assert data["s"] == [value] and data["a"] == value
    assert type(data["s"][0]) is type(value) and type(data["a"]) is type(value)


def test_nan():
    assert math.isnan(load("k: .nan\n").data["k"])


def test_keys_stay_strings():
    data = load("1: a\ntrue: b\n~: c\n0x1F: d\nNO: e\n").data
    assert list(data) == ["1", "true", "~", "0x1F", "NO"]


def test_block_scalars_and_str_tag_are_strings():
    data = load("a: |\n  17:00\nb: >-\n  NO\nc: !!str 0x1F\nd: !!str\ne: |\n").data
    assert data == {"a": "17:00\n", "b": "NO", "c": "0x1F", "d": "", "e": ""}


def test_empty_values_are_null():
    assert load("a:\nb: &x\nc: *x\ns:\n  -\n  - \nf: {k: , j}\n").data == {
        "a": None, "b": None, "c": None, "s": [None, None], "f": {"k": None, "j": None}}


# -- YAML 1.1 retyping warnings (Y003) ----------------------------------------------------------------


@pytest.mark.parametrize("text, says", [
    ("17:00", "the integer 1020"),
    ("NO", "the boolean false"),
    ("on", "the boolean true"),
    ("yes", "the boolean true"),
    ("0755", "the integer 493"),
    ("1e3", 'the string "1e3"'),
    ("0o17", 'the string "0o17"'),
    ("2024-01-01", "the date 2024-01-01"),
    ("1_000", "the integer 1000"),
    ("n", "the boolean false"),  # y/n as values: go-yaml v2 and the 1.1 spec (keys are exempt, below)
    ("Y", "the boolean true"),
])
def test_y003_for_what_yaml11_retypes(text, says):
    doc = load(f"agents:\n  a:\n    v: {text}\n")
    (problem,) = doc.problems
    assert problem.code == "Y003" and problem.severity.value == "warning"
    assert says in problem.message and f'quote it ("{text}")' in problem.message
    assert problem.span == Span(3, 8, 3, 8 + len(text))
    assert problem.path == ("agents", "a", "v")


@pytest.mark.parametrize("text", ['"17:00"', "'NO'", "09:00", "0x1F", "12", "1.5", "true", "~", "null",
                                  "hello", '"on"', "|\n  on", "24/7", "250ms"])
def test_no_y003_where_readers_agree(text):
    assert load(f"v: {text}\n").problems == []


def test_y003_on_a_key_but_not_for_one_letter_keys():
    doc = load("on: 1\ny: 2\nn: 3\n")
    assert [(p.code, p.span.line) for p in doc.problems] == [("Y003", 1)]
    assert doc.data == {"on": 1, "y": 2, "n": 3}


def test_y003_in_flow_sequence_names_the_item():
    doc = load("agents:\n  a:\n    days: [mon, NO, \"on\", off]\n")
    assert [(p.path, p.span.column) for p in doc.problems] == [
        (("agents", "a", "days", 1), 17), (("agents", "a", "days", 3), 27)]


# -- anchors, aliases, merge keys -------------------------------------------------------------------


def test_anchors_are_shared_not_copied():
    doc = load("a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n")
    data = doc.data
    assert data["a"] == {"k": [1, 2]}
    assert data["b"] is data["a"] and data["c"][0] is data["a"] and data["c"][1] is data["a"]
    assert doc.problems == []


def test_merge_keys():
    doc = load("base: &b {region: eu, weight: 2}\nmore: &m {tier: gold}\n"
               "one:\n  <<: *b\n  weight: 5\nboth:\n  <<: [*b, *m]\n  region: us\n")
    assert doc.problems == []
    assert doc.data["one"] == {"region": "eu", "weight": 5}
    assert doc.data["both"] == {"region": "us", "weight": 2, "tier": "gold"}
    # A merged key's position is where it is written: in the anchored mapping.
    assert doc.locate(("one", "region")) == Span(1, 19, 1, 21)
    assert doc.locate(("one", "weight")) == Span(5, 11, 5, 12)


def test_merge_of_a_scalar_is_y006():
    doc = load("s: &s 3\nm:\n  <<: *s\n  k: 1\n")
    assert codes(doc) == ["Y006"]
    assert doc.problems[0].span.line == 3


def test_alias_to_an_anchor_defined_later_is_y004():
    doc = load("a: *later\nb: &later 1\n")
    assert codes(doc) == ["Y004"]
    assert doc.data == {"a": None, "b": 1}
    assert doc.problems[0].span == Span(1, 4, 1, 10)


@pytest.mark.parametrize("text, tag", [("a: !!int 3\n", "!!int"), ("a: !custom x\n", "!custom"),
                                       ("a: !custom {k: 1}\n", "!custom"), ("a: !!set {x}\n", "!!set"),
                                       ("a: !!seq {k: 1}\n", "!!seq")])
def test_tags_are_y006(text, tag):
    doc = load(text)
    assert codes(doc) == ["Y006"] and f"`{tag}`" in doc.problems[0].message
    assert doc.problems[0].path == ("a",)


def test_harmless_tags_pass():
    assert load("a: !!map {k: 1}\nb: !!seq [1]\nc: !!str 1\nd: ! x\n").problems == []


# -- positions ----------------------------------------------------------------------------------------

POSITIONS = """\
agents:
  名前:
    region: "us-east"
    channels: [email, 'sms', voice]
    note: {ラベル: 日本, x: 17:00}
  b:
    capabilities:
      - a
      - "b"
    empty: ""
"""


@pytest.mark.parametrize("path, at_key, span", [
    (("agents", "名前", "region"), False, Span(3, 13, 3, 22)),  # the quotes are part of the span
    (("agents", "名前", "region"), True, Span(3, 5, 3, 11)),
    (("agents", "名前"), True, Span(2, 3, 2, 5)),  # columns count characters, not bytes
    (("agents", "名前", "channels"), False, Span(4, 5, 4, 13)),  # a collection: its key
    (("agents", "名前", "channels", 0), False, Span(4, 16, 4, 21)),
    (("agents", "名前", "channels", 1), False, Span(4, 23, 4, 28)),
    (("agents", "名前", "channels", 2), False, Span(4, 30, 4, 35)),
    (("agents", "名前", "note", "x"), False, Span(5, 24, 5, 29)),  # after wide characters on the line
    (("agents", "名前", "note", "ラベル"), False, Span(5, 17, 5, 19)),
    (("agents", "b", "capabilities", 1), False, Span(9, 9, 9, 12)),
    (("agents", "b", "empty"), False, Span(10, 12, 10, 14)),
    # A path that goes past what the file holds points at the deepest node that exists.
    (("agents", "名前", "channels", 9), False, Span(4, 5, 4, 13)),
    (("agents", "nope", "deeper"), False, Span(1, 1, 1, 7)),
])
def test_locate(path, at_key, span):
    assert load(POSITIONS).locate(path, at_key=at_key) == span


def test_position_counts_characters():
    doc = load("k: 'é'  # ü\nk2: 😀x\n")
    assert doc.position(0) == (1, 1)
    assert doc.position(len("k: 'é".encode())) == (1, 6)
    assert doc.position(len("k: 'é'  # ü\nk2: 😀".encode())) == (2, 6)
    assert doc.line_text(2) == "k2: 😀x"


def test_crlf_line_text():
    doc = load("a: 1\r\nb: NO\r\n")
    (problem,) = doc.problems
    assert problem.span == Span(2, 4, 2, 6)
    assert doc.line_text(2) == "b: NO"


# -- duplicate keys -----------------------------------------------------------------------------------


def test_duplicate_key_names_both_positions():
    doc = load("agents:\n  a:\n    region: us\n    domain: sales\n    region: eu\n")
    (problem,) = doc.problems
    assert problem.code == "Y002" and problem.severity.value == "error"
    assert problem.span == Span(5, 5, 5, 11)
    assert "first at line 3" in problem.message
    (related,) = problem.related
    assert related.file == "f.yaml" and related.span == Span(3, 5, 3, 11)
    assert problem.path == ("agents", "a", "region")
    assert doc.data["agents"]["a"]["region"] == "eu"


def test_duplicate_key_in_flow_mapping_and_quoted():
    doc = load('m: {a: 1, "a": 2}\n')
    (problem,) = doc.problems
    assert problem.code == "Y002"
    assert problem.related[0].span.line == 1


# -- documents and syntax errors ---------------------------------------------------------------------


def test_multiple_documents_are_y005_first_one_kept():
    doc = load("a: 1\n---\nb: 2\n---\nc: 3\n")
    assert codes(doc) == ["Y005"] and "3" in doc.problems[0].message
    assert doc.problems[0].span.line == 3
    assert doc.data == {"a": 1}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "...\n", "&a\n", "\n\n"])
def test_empty_documents(text):
    doc = load(text)
    assert doc.data is None and doc.problems == []


@pytest.mark.parametrize("text, line", [("a: b: c\n", 1), ("a: [1, 2\n", 2), ("a:\n\tb: 1\n", 2)])
def test_syntax_error_is_y001_with_position(text, line):
    doc = load(text)
    (problem,) = doc.problems
    assert problem.code == "Y001" and problem.span.line == line
    assert doc.data is None


def test_tab_indent_is_explained():
    (problem,) = load("a:\n\tb: 1\n").problems
    assert "tabs" in problem.message


def test_invalid_escape_does_not_crash():
    doc = load('a: "\\ud800"\n')  # a lone surrogate: not a character
    assert isinstance(doc.data["a"], str)


# -- budgets ----------------------------------------------------------------------------------------


def _laughs(levels: int, width: int = 9) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly():
    start = time.perf_counter()
    with pytest.raises(InputError, match="aliases expand to more than"):
        load(_laughs(9))
    assert time.perf_counter() - start < 10  # generous; the point is that nothing is expanded


def test_expansion_budget_counts_anchors_defined_earlier():
    # Regression: siblings were sized in reverse order, so an alias to an earlier sibling weighed 1.
    text = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    assert load(text, Budgets(expanded_nodes=100)).data["c"][0][0] == ["x", "x", "x"]
    with pytest.raises(InputError, match="more than 20 nodes"):
        load(text, Budgets(expanded_nodes=20))


def test_alias_count_budget():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 5) + "]\n"
    assert load(text, Budgets(aliases=5)).data["b"] == [1] * 5
    with pytest.raises(InputError, match="more than 4 aliases"):
        load(text, Budgets(aliases=4))


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5 + "]" * 5 + "\n",
    "a:\n  b:\n    c:\n      d:\n        e:\n          f: 1\n",
    "a:\n  - - - - - x\n",
    "x: &x 1\na: " + "[" * 5 + "*x" + "]" * 5 + "\n",  # with aliases: the budget pass, not the builder
])
def test_depth_budget(text):
    with pytest.raises(InputError, match="nesting deeper than 3 levels"):
        load(text, Budgets(depth=3))
    load(text, Budgets(depth=10))


def test_deep_flow_nesting_is_refused_with_default_budget():
    with pytest.raises(InputError, match=r"f\.yaml:1: nesting deeper than 64 levels"):
        load("a: " + "[" * 10_000 + "]" * 10_000 + "\n")


# -- the fast node table ------------------------------------------------------------------------------

VARIED = """\
# a comment
agents:
  a: &base
    region: "us-east"
    empty: ''
    nothing:
    none: ~
    channels: [email, 'sms', {k: v}, [1, 2]]
    literal: |
      two
      lines
    folded: >
      one
      line
    plain: multi
      line plain
    escaped: "caf\\u00e9 \\t tab"
    名前: 日本語
  b:
    <<: *base
    list:
      -
      - - nested
    tagged: !!str 12
    anchored: &an [1]
    alias: *an
? "quoted key"
: value
"""


def _table_fields(table: rt.NodeTable) -> dict[str, list[int]]:
    return {name: list(getattr(table, name)) for name in
            ("types", "key_off", "key_len", "val_off", "val_len", "first_child", "next_sibling")}


def test_fast_table_equals_the_accessor_table():
    buf = bytearray(VARIED.encode("utf-8"))
    tree = rt.parse(buf)
    fast = rt.node_table(tree, buf)
    slow = rt._slow_table(tree, rt._address(buf))
    assert fast.fast and not slow.fast
    assert _table_fields(fast) == _table_fields(slow)


@pytest.mark.parametrize("text", ["", "a: 1\n", "---\n", "- [a, {b: c}]\n"])
def test_fast_table_equals_the_accessor_table_on_small_documents(text):
    buf = bytearray(text.encode("utf-8"))
    tree = rt.parse(buf)
    assert _table_fields(rt.node_table(tree, buf)) == _table_fields(rt._slow_table(tree, rt._address(buf)))


def test_loader_gives_the_same_answers_on_the_slow_table(monkeypatch):
    text = VARIED + "dup: 1\ndup: NO\n"
    fast_doc = load(text)
    monkeypatch.setattr(rt, "_layout_ok", lambda tree, cols: False)  # as if rapidyaml's layout changed
    slow_doc = load(text)
    assert slow_doc._table is not None and not slow_doc._table.fast
    assert slow_doc.data == fast_doc.data
    assert [(p.code, p.span, p.path) for p in slow_doc.problems] == \
           [(p.code, p.span, p.path) for p in fast_doc.problems]
    for path in [("agents", "a", "channels", 1), ("agents", "b", "tagged"), ("agents", "a", "empty"), ("dup",)]:
        assert slow_doc.locate(path) == fast_doc.locate(path)
