"""The rapidyaml-based loader: YAML 1.2 typing, positions, duplicate keys, budgets (docs/fleet-format.md)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from clawctl.adapters import ryml_tree as rt
from clawctl.adapters import yamlbuild
from clawctl.adapters.yamlload import Budgets, LoadedYaml, load_yaml, node_estimate
from clawctl.core.errors import ExitCode, InputError
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
            ("types", "key_ptr", "key_len", "val_ptr", "val_len", "first_child", "next_sibling")}


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
    monkeypatch.setattr(rt, "_layout_ok", lambda *args: False)  # as if rapidyaml's layout changed
    slow_doc = load(text)
    assert slow_doc._table is not None and not slow_doc._table.fast
    assert slow_doc.data == fast_doc.data
    assert [(p.code, p.span, p.path) for p in slow_doc.problems] == \
           [(p.code, p.span, p.path) for p in fast_doc.problems]
    for path in [("agents", "a", "channels", 1), ("agents", "b", "tagged"), ("agents", "a", "empty"), ("dup",)]:
        assert slow_doc.locate(path) == fast_doc.locate(path)


# -- hostile inputs (attack report items 6 and 8): each class fixed at its root -----------------------

HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile" / "loader"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())


def test_the_corpus_and_its_expectations_list_the_same_files():
    assert sorted(p.name for p in HOSTILE.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_corpus_through_the_cli(cli, name):
    expected = EXPECTED[name]
    result = cli("validate", str(HOSTILE / name), "--format", "json")
    assert result.code == expected["exit"], result.err
    assert "internal error" not in result.err
    if expected["exit"] == ExitCode.UNREADABLE:
        assert result.err.count("\n") == 1 and expected["stderr"] in result.err
        return
    assert result.err == ""
    found = {f["code"] for f in json.loads(result.out)["findings"]}
    assert set(expected["codes"]) <= found


def test_deep_nesting_in_a_second_document_is_y005_not_a_crash():
    doc = load("agents: {}\n---\n" + "[" * 20_000 + "]" * 20_000 + "\n")
    assert codes(doc) == ["Y005"] and doc.data == {"agents": {}}


def test_a_chain_of_merges_is_indexed_without_recursion():
    chain = ["m0: &m0 {k0: 0}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: {i}}}" for i in range(1, 1200)]
    doc = load("\n".join(chain) + "\nuse:\n  <<: *m1199\n")
    assert doc.data["use"]["k0"] == 0 and len(doc.data["use"]) == 1200
    # Every merged key is placed where it is written, however many merges away.
    assert doc.locate(("use", "k0")) == Span(1, 14, 1, 15)
    assert doc.locate(("use", "k0"), at_key=True) == Span(1, 10, 1, 12)
    assert doc.locate(("use", "k1198")).line == 1199


@pytest.mark.parametrize("text", [
    "a: &x {<<: *x}\n",
    "a: &x {k: 1, <<: *x}\n",
    "a: &x\n  <<: [*x]\n",
    "a: &x [*x]\n",
    "a: &x {k: *x}\n",
    "a: &x 1\nb: &x [*x]\n",  # the alias names the anchor that holds it, not the earlier one
])
def test_an_alias_inside_its_own_anchor_is_a_cycle_finding(text):
    doc = load(text)
    assert codes(doc) == ["Y004"]
    assert "a cycle" in doc.problems[0].message and "`&x` (line" in doc.problems[0].message
    for path in [("a",), ("a", "k"), ("a", 0), ("b", 0)]:
        doc.locate(path)  # never loops: a cycle has no target to follow


def test_a_cycle_keeps_the_rest_of_the_mapping():
    doc = load("agents: &x\n  <<: *x\n  a: {domain: sales}\n")
    assert doc.data == {"agents": {"a": {"domain": "sales"}}}
    assert "merge key `<<: *x` merges" in doc.problems[0].message


def _alias_chain(levels: int) -> str:
    return "\n".join(["m0: &m0 {k: 1}"] + [f"m{i}: &m{i} {{k: *m{i - 1}}}" for i in range(1, levels)]) + "\n"


def _merge_chain(levels: int) -> str:
    return "\n".join(["m0: &m0 {k: 1}"] + [f"m{i}: &m{i} {{<<: {{k: *m{i - 1}}}}}" for i in range(1, levels)]) + "\n"


@pytest.mark.parametrize("chain", [_alias_chain, _merge_chain], ids=["aliases", "merge-keys"])
def test_depth_counts_the_built_value(chain):
    # m{n-1} builds n nested mappings, one more with the top-level mapping: 64 pass, 65 are refused.
    assert load(chain(63)).data["m62"]["k"]["k"]
    with pytest.raises(InputError, match=r"f\.yaml:64: nesting deeper than 64 levels \(counting what aliases"):
        load(chain(64))


def test_depth_of_a_merged_list_of_mappings():
    text = "a: &a {k: {k: {k: 1}}}\nb: {<<: [*a], j: 1}\n"  # b builds 4 levels: b, k, k, k
    assert load(text, Budgets(depth=4)).data["b"]["k"]["k"]["k"] == 1
    with pytest.raises(InputError, match="nesting deeper than 3"):
        load(text, Budgets(depth=3))


def test_an_inline_merge_counts_one_level_deeper():
    text = "a: {b: {<<: {c: {d: 1}}}}\n"  # the file nests 5 collections; the value 4
    with pytest.raises(InputError, match="nesting deeper than 4 levels"):
        load(text, Budgets(depth=4))
    with pytest.raises(InputError, match=r"f\.yaml:1: nesting deeper than 64"):
        load("a: " + "{<<: " * 1000 + "{k: 1}" + "}" * 1000 + "\n")


@pytest.mark.parametrize("text, digits", [("1" * 5000, 5000), ("-" + "9" * 4301, 4301), ("0o" + "7" * 20_000, 20_000),
                                          ("0x" + "f" * 20_000, 20_000), ("1" * 101, 101)])
def test_an_overlong_integer_is_y006_and_kept_as_text(text, digits):
    doc = load(f"agents: {{}}\nn: {text}\ns: [{text}]\n")
    assert codes(doc) == ["Y006", "Y006"]
    assert f"an integer of {digits:,} digits" in doc.problems[0].message
    assert doc.data["n"] == text and doc.data["s"] == [text]


def test_a_100_digit_integer_is_read():
    assert load("n: " + "9" * 100 + "\n").data["n"] == int("9" * 100)


@pytest.mark.parametrize("text", ["1_" * 3000 + "1", "1" * 400 + ":00", "0b_", "0x_", "+0b_1"])
def test_yaml11_integers_of_any_length_do_not_crash(text):
    doc = load(f"n: {text}\n{text}: key\n")
    assert doc.data["n"] == text and text in doc.data
    assert all(p.code == "Y003" for p in doc.problems)


MISREAD_TABS = [
    ("metadata:\n  name:\tprod\n", 2, 8, ":"),
    ("a: {b:\t1}\n", 1, 7, ":"),
    ("[a:\tb]\n", 1, 4, ":"),
    ("agents:\t# the agents\n", 1, 8, ":"),
    ("a:\t'x'\n", 1, 3, ":"),
    ("a:\t[1]\n", 1, 3, ":"),
    ("a:\t|\n  x\n", 1, 3, ":"),
    ("x:\ty: z\n", 1, 3, ":"),
    ("a:\n  - x:\ty\n", 2, 7, ":"),
    ("---\tx\n", 1, 4, "---"),
    ("-\t-1\n", 1, 2, "-"),
    ("a: -\tx\n", 1, 5, "-"),
    ("?\tkey:\n", 1, 2, "?"),
    ("a:\n-\tx\n", 2, 2, "-"),
    ("- a\n-\tb\n", 2, 2, "-"),
]


@pytest.mark.parametrize("text, line, column, indicator", MISREAD_TABS, ids=[repr(t[0]) for t in MISREAD_TABS])
def test_a_tab_after_an_indicator_is_y001_that_says_tab(text, line, column, indicator):
    doc = load(text)
    (problem,) = doc.problems
    assert problem.code == "Y001" and f"a tab after `{indicator}`" in problem.message
    assert (problem.span.line, problem.span.column) == (line, column)
    assert doc.data is None


@pytest.mark.parametrize("text", ["a:\t\n  b: 1\n", '"a":\t1\n', "- \t-\n", "? -\n:\t-\n", "a: [b\t#c\n]\n"])
def test_other_tab_syntax_errors_mention_the_tab(text):
    (problem,) = load(text).problems
    assert problem.code == "Y001" and "tab" in problem.message


@pytest.mark.parametrize("text, data", [
    ("a: x\t# c\n", {"a": "x"}), ("a\t: b\n", {"a": "b"}), ("[a,\tb]\n", ["a", "b"]),
    ("{a: 1,\tb: 2}\n", {"a": 1, "b": 2}), ("a: x\ty\n", {"a": "x\ty"}), ("k: \tv\n", {"k": "v"}),
    ("a: 'x:\ty'\n", {"a": "x:\ty"}), ("a: |\n  x:\ty\n", {"a": "x:\ty\n"}), ("? a\n:\tb\n", {"a": "b"}),
    ("a: x #\tc\n", {"a": "x"}), ("a: \"-\tx\"\n", {"a": "-\tx"}),
])
def test_tabs_rapidyaml_reads_as_yaml_12_does_pass(text, data):
    doc = load(text)
    assert doc.problems == [] and doc.data == data


def test_node_budget_is_checked_on_the_text_before_parsing(monkeypatch):
    monkeypatch.setattr(rt, "parse", lambda *a, **k: pytest.fail("parsed a text over the node budget"))
    with pytest.raises(InputError, match=r"f\.yaml: about 1,00\d YAML nodes .* over the 1,000 one fleet file"):
        load("[" + ", ".join(["1"] * 1000) + "]\n", Budgets(nodes=1000))


def test_node_budget_is_checked_on_the_tree_too():
    # `- - - x` holds three nodes in one line; the estimate counts `- `, so it is not fooled either.
    text = "- " * 600 + "x\n"
    assert node_estimate(text.encode()) >= 600
    with pytest.raises(InputError, match="YAML nodes"):
        load(text, Budgets(nodes=500, depth=1000))


def test_node_estimate_is_above_the_true_count_for_large_shapes():
    shapes = ["[" + ", ".join(["1"] * 500) + "]\n", "- 1\n" * 500, "".join(f"k{i}: 1\n" for i in range(500)),
              "- a: 1\n" * 500, "[" + ", ".join(["a: 1"] * 500) + "]\n", "- - - 1\n" * 200,
              "{" + ", ".join(f"k{i}: [1, 2]" for i in range(300)) + "}\n"]
    for text in shapes:
        tree = rt.parse(bytearray(text.encode()))
        assert node_estimate(text.encode()) >= tree.size() - 2, text[:20]


class _Counting:
    """A column of the node table that counts how often it is read."""

    def __init__(self, column):
        self.column, self.reads = column, 0

    def __getitem__(self, i):
        self.reads += 1
        return self.column[i]

    def __len__(self):
        return len(self.column)


def _duplicate_key_work(count: int, monkeypatch) -> int:
    calls = 0
    original = yamlbuild.Builder._key

    def counted(self, node):
        nonlocal calls
        calls += 1
        return original(self, node)

    monkeypatch.setattr(yamlbuild.Builder, "_key", counted)
    keys = "".join(f"key_{i}: 1\n" for i in range(count))
    doc = load(keys + keys)
    assert codes(doc).count("Y002") == count
    return calls


def test_duplicate_keys_cost_linear_work(monkeypatch):
    small, large = _duplicate_key_work(2000, monkeypatch), _duplicate_key_work(8000, monkeypatch)
    assert large <= 4.5 * small  # quadratic work would be 16 times


def _locate_work(count: int) -> int:
    items = ", ".join(f"c{i}" for i in range(count))
    doc = load(f"agents:\n  a:\n    channels: [{items}]\n")
    assert doc._table is not None
    counting = _Counting(doc._table.next_sibling)
    doc._table.next_sibling = counting
    for i in range(count):
        doc.locate(("agents", "a", "channels", i))
    return counting.reads


def test_locating_every_item_of_a_long_list_is_linear():
    small, large = _locate_work(2000), _locate_work(8000)
    assert large <= 4.5 * small + 100


def test_positions_on_a_long_non_ascii_line():
    items = [f"é{i}" for i in range(3000)]
    text = "k: [" + ", ".join(items) + "]\n"
    doc = load(text)
    line = text.splitlines()[0]
    for i in (0, 1, 1500, 2999):
        column = line.index(f"é{i},") if i < 2999 else line.index(f"é{i}]")
        assert doc.locate(("k", i)) == Span(1, column + 1, 1, column + 1 + len(f"é{i}"))


def test_scalars_written_outside_the_buffer_are_read_right():
    text = 'a: "' + "\\L" * 300 + '"\nb: ["\\P\\P"]\n"\\L\\L": k\n'
    data = load(text).data
    assert data == {"a": "\u2028" * 300, "b": ["\u2029\u2029"], "\u2028\u2028": "k"}


def test_a_node_without_text_takes_its_parents_position():
    doc = load("a:\n  b: [[], [[]]]\n")
    assert doc.locate(("a", "b", 1, 0)) == Span(2, 3, 2, 4)


def test_loaded_yaml_keeps_no_python_object_per_node():
    doc = load("[" + ", ".join(["1"] * 1000) + "]\n")
    assert isinstance(doc, LoadedYaml) and doc._table is not None and doc._table.fast
    assert isinstance(doc._table.types, memoryview) and isinstance(doc._table.next_sibling, memoryview)


@pytest.mark.parametrize("text", ["[!a !b !c !d]\n", "a: [!!str !!str !!str !!str]\n", "!\n! ! !\n", "{? !a !b !c !d}\n",
                                  "[&a !b &c !d &e !f &g !h]\n", "[!a !b !c #c\n !d]\n"])
def test_stacked_tags_never_reach_rapidyaml(text, monkeypatch):
    # rapidyaml 0.15 kills the process (segmentation fault) on these; libyaml refuses them first.
    monkeypatch.setattr(rt, "parse", lambda *a, **k: pytest.fail("handed stacked tags to rapidyaml"))
    (problem,) = load(text).problems
    assert problem.code == "Y001" and problem.message.startswith("YAML syntax error: ")


@pytest.mark.parametrize("text, data", [("a: hello! !world\n", {"a": "hello! !world"}), ("a: '!x !y'\n", {"a": "!x !y"}),
                                        ("# !a !b\na: 1\n", {"a": 1}), ("a: !!str x\nb: !!str y\n", {"a": "x", "b": "y"})])
def test_what_only_looks_like_stacked_tags_is_read(text, data):
    doc = load(text)
    assert doc.problems == [] and doc.data == data


@pytest.mark.parametrize("text, value", [
    ("a: |\n  x", "x"), ("a: >\n  x\n  y", "x y"), ("a: |\n  x  ", "x  "), ("a: |\n  x\n    ", "x\n  "),
    ("a: |\n  x\n  ", "x\n"), ("a: |\n  # c\n# c", "# c\n"), ("a: |+\n  x", "x"), ("a: |-\n  x", "x"),
])
def test_a_block_scalar_ending_the_file_without_a_line_break(text, value):
    assert load(text).data == {"a": value}


@pytest.mark.parametrize("text, pattern", [("{a: b\n  c #d\n}\n", "`#` after white space"),
                                           ("{x: [1], a: b\n  c #d\n}\n", "`#` after white space")])
def test_a_comment_read_into_a_multi_line_value_is_y001(text, pattern):
    (problem,) = load(text).problems
    assert problem.code == "Y001" and pattern in problem.message and problem.span.line == 2
