"""Build Python values from a parsed rapidyaml tree: YAML 1.2 typing, YAML 1.1 retype warnings,
duplicate keys, anchors, aliases and merge keys, and the alias and depth budgets.

The hot path (plain scalars in mappings and sequences) reads the node table's columns directly;
everything unusual (anchors, aliases, tags, containers) goes through :meth:`Builder.build`.

Recursion is bounded by the depth budget: :meth:`Builder.build` refuses a collection nested deeper
than ``budgets.depth`` in the file, and a merged value counts one level deeper than its `<<` key.
With aliases, :meth:`Builder.check_budgets` first measures the value the document *builds* (an alias
weighs what its anchor holds, a merge key what it merges) without recursing and without expanding.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from clawctl.adapters import ryml_tree as rt
from clawctl.core.errors import InputError
from clawctl.core.findings import Finding, Related, Severity
from clawctl.core.yamlscalars import (
    MAX_INT_DIGITS,
    IntegerTooLong,
    describe,
    resolve_core,
    yaml11_retype,
)

if TYPE_CHECKING:
    from clawctl.adapters.yamlload import Budgets, LoadedYaml

_STR_TAGS = {"!!str", "tag:yaml.org,2002:str", "<tag:yaml.org,2002:str>", "!"}
_ONE_LETTER_BOOLS = frozenset("yYnN")
ALIAS_TYPES = rt.T_VALREF | rt.T_KEYREF
_SLOW_TYPES = rt.T_MAP | rt.T_SEQ | rt.T_VALREF | rt.T_VALANCH | rt.T_VALTAG
# First characters of plain scalars that YAML 1.2 or 1.1 may type as something other than a string.
_SPECIAL_FIRST = frozenset("0123456789-+.~nNtTfFyYoO=")
# Keys: as values, less the one-letter y/n booleans (PyYAML keeps them strings; `x`/`y` keys are common).
_SPECIAL_KEY_FIRST = frozenset("0123456789-+.~nNtTfFyYoO=<")
_LETTERS = frozenset("nNtTfFyYoO")
# Every letter-initial plain scalar that YAML 1.2 or 1.1 types as other than a string.
_SPECIAL_WORDS = frozenset(
    "y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL".split()
)


class Misread(Exception):
    """A plain scalar rapidyaml read past where YAML 1.2 ends it: it holds `: ` or ` #`, which no
    plain scalar can (an indicator, or the start of a comment). The file is refused (Y001)."""

    def __init__(self, node: int, key: bool, pattern: str) -> None:
        super().__init__(pattern)
        self.node, self.key, self.pattern = node, key, pattern


def _check_plain(node: int, text: str, *, key: bool) -> None:
    if "#" in text:
        for pattern in (" #", "\t#"):
            if pattern in text:
                raise Misread(node, key, pattern)
    if ": " in text:
        raise Misread(node, key, ": ")


class _Building:
    """The value of an anchor whose collection is being built: an alias to it is a cycle."""


_BUILDING = _Building()
_MISSING = object()


class Builder:
    def __init__(self, doc: LoadedYaml, tree, table: rt.NodeTable, buf: bytearray, budgets: Budgets) -> None:
        self.doc, self.tree, self.t, self.buf, self.budgets = doc, tree, table, buf, budgets
        self.ascii = buf.isascii()
        self.text = buf.decode("ascii") if self.ascii else ""
        self.values: dict[str, object] = {}
        self.anchor_nodes: dict[str, int] = {}  # anchor name -> the node it is on, as built so far
        # mapping -> (key -> first child, the next child to index): built at its first duplicate key
        self.first_keys: dict[int, tuple[dict[str, int], int]] = {}

    # Budgets are checked on the tree before anything is built: linear time, no expansion, no recursion.
    def check_budgets(self, root: int) -> None:
        """Refuse past the alias count, the expanded size or the built depth; record alias targets.

        One pass in document order (anchors are registered when their node opens, so an alias
        inside its own anchor's node is seen as a cycle), then sizes and heights after each node's
        children. The height of a node is the depth of the value it builds: an alias has its
        anchor's height; a merge key lifts its mappings' keys to the merging mapping's level.
        """
        t = self.t
        types, first, nxt = t.types, t.first_child, t.next_sibling
        budgets = self.budgets
        size_of = array("q", bytes(8 * len(types)))
        added = array("q", bytes(8 * len(types)))
        height = array("q", bytes(8 * len(types)))
        anchors: dict[str, int] = {}
        target: dict[int, int] = {}
        open_nodes: set[int] = set()
        aliases = 0
        # Depth-first, one child at a time: the stack holds the open collections (at most the depth
        # budget), each with the next child to visit, never a list of all children.
        nodes: list[int] = []
        cursors: list[int] = []
        node, depth = root, 0
        while True:
            ty = types[node]
            if depth > budgets.depth:
                raise InputError(self._too_deep(node))
            if ty & rt.T_VALANCH:
                anchors[rt.anchor_of(self.tree, node, key=False)] = node
            if ty & rt.T_VALREF:
                aliases += 1
                if aliases > budgets.aliases:
                    raise InputError(f"{self.doc.name}: more than {budgets.aliases} aliases; refused")
                named = anchors.get(self._val(node)[1:])
                if named is not None and named not in open_nodes:  # an open anchor is a cycle: no target
                    target[node] = named
            if ty & (rt.T_MAP | rt.T_SEQ):
                open_nodes.add(node)
                nodes.append(node)
                cursors.append(first[node])
            else:
                self._measure(node, ty, size_of, added, height, target)
            while nodes and cursors[-1] < 0:  # every child seen: the collection is complete
                done = nodes.pop()
                cursors.pop()
                open_nodes.discard(done)
                self._measure(done, types[done], size_of, added, height, target)
            if not nodes:
                break
            node = cursors[-1]
            cursors[-1] = nxt[node]
            depth = len(nodes)
        self.doc._alias_target = target

    def _measure(self, node: int, ty: int, size_of: array, added: array, height: array,
                 target: dict[int, int]) -> None:
        """Size (nodes built, aliases expanded), nodes added by aliases, and height, of one node."""
        t = self.t
        budgets = self.budgets
        if ty & rt.T_VALREF:
            named = target.get(node)
            size, tall = (size_of[named], height[named]) if named is not None else (1, 0)
            extra = size - 1  # the alias stands for its anchor's nodes: all but one are added
        elif ty & (rt.T_MAP | rt.T_SEQ):
            size, extra, inner, deepest = 1, 0, 0, node
            is_map = ty & rt.T_MAP
            child = t.first_child[node]
            while child >= 0:
                size += size_of[child]
                extra += added[child]
                reach = height[child]
                if is_map and t.key_len[child] == 2 and t.types[child] & rt.T_KEY_PLAIN and self._key(child) == "<<":
                    # `<<: {a: ...}` puts a's value one level up; `<<: [m1, m2]` puts m1's keys' values two.
                    resolved = target.get(child, child)
                    reach -= 2 if t.types[resolved] & rt.T_SEQ else 1
                if reach > inner:
                    inner, deepest = reach, child
                child = t.next_sibling[child]
            tall = inner + 1
            if tall > budgets.depth:
                raise InputError(self._too_deep(deepest, built=True))  # the child that brings the depth
        else:
            size, extra, tall = 1, 0, 0
        if extra > budgets.expanded_nodes:  # what aliases add, not what the file holds (the node budget)
            line, _ = self.doc.position(self._offset(node))
            raise InputError(
                f"{self.doc.name}:{line}: aliases expand to more than {budgets.expanded_nodes:,} nodes "
                "(an alias bomb?); refused without expanding"
            )
        size_of[node], added[node], height[node] = size, extra, tall

    def _offset(self, node: int) -> int:
        off = self.t.key_off(node)
        return off if off >= 0 else max(0, self.t.val_off(node))

    def _too_deep(self, node: int, *, built: bool = False) -> str:
        line, _ = self.doc.position(self._offset(node))
        how = " (counting what aliases and merge keys bring in)" if built else ""
        return (f"{self.doc.name}:{line}: nesting deeper than {self.budgets.depth} levels{how}; "
                "refused (a fleet file needs fewer than 10)")

    def _val(self, node: int) -> str:
        off, length = self.t.val_off(node), self.t.val_len[node]
        if 0 <= off and off + length <= len(self.buf):
            if self.ascii:
                return self.text[off:off + length]
            return self.buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self.tree, node, key=False)

    def _key(self, node: int) -> str:
        off, length = self.t.key_off(node), self.t.key_len[node]
        if 0 <= off and off + length <= len(self.buf):
            if self.ascii:
                return self.text[off:off + length]
            return self.buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self.tree, node, key=True)

    def _problem(self, code: str, severity: Severity, message: str, node: int, *, key: bool,
                 related: tuple[Related, ...] = ()) -> None:
        span = self.doc._scalar_span(node, key=key) if node >= 0 else None
        if span is None and node >= 0:
            span = self.doc._node_span(node, at_key=True)
        self.doc.problems.append(Finding(code, severity, message, self.doc.name, path=self.doc.path_of(node),
                                         span=span, related=related))

    def _typed(self, node: int, text: str) -> object:
        """A plain scalar's YAML 1.2 value, with a Y003 warning where YAML 1.1 differs."""
        if len(text) < 19 and text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
            return int(text)  # a plain decimal integer (the common case): both YAML versions agree
        try:
            value = resolve_core(text)  # an empty plain scalar (`key:`) is null
        except IntegerTooLong as err:
            self._problem("Y006", Severity.ERROR,
                          f"an integer of {err.digits:,} digits; fleet files take integers of up to "
                          f"{MAX_INT_DIGITS} digits (quote it if it is meant as text)", node, key=False)
            return text
        old = yaml11_retype(text, value)
        if old is not None:
            self._retyped(node, text, value, old, key=False)
        return value

    def _scalar(self, node: int, ty: int) -> object:
        text = self._val(node)
        if ty & rt.T_VALTAG:
            tag = rt.tag_of(self.tree, node, key=False)
            if tag in _STR_TAGS:
                return text
            self._problem("Y006", Severity.ERROR,
                          f"YAML tag `{tag}` is not supported in fleet files; remove it", node, key=False)
        if not ty & rt.T_VAL_PLAIN:
            return text
        if "#" in text or ":" in text:
            _check_plain(node, text, key=False)
        if text and text[0] not in _SPECIAL_FIRST:
            return text
        return self._typed(node, text)

    def _retyped(self, node: int, text: str, value: object, old: str, *, key: bool) -> None:
        now = describe(value, quote='"')
        shown = text if len(text) <= 40 else text[:37] + "..."
        self._problem(
            "Y003", Severity.WARNING,
            f"`{shown}` is {now} in YAML 1.2 but {old} to a YAML 1.1 reader (PyYAML and others); "
            f'quote it ("{shown}") to mean the same everywhere',
            node, key=key,
        )

    def build(self, node: int, depth: int) -> object:
        t = self.t
        ty = t.types[node]
        if ty & rt.T_VALREF:
            return self._alias(node)
        anchor = rt.anchor_of(self.tree, node, key=False) if ty & rt.T_VALANCH else None
        if ty & (rt.T_MAP | rt.T_SEQ):
            if depth >= self.budgets.depth:
                raise InputError(self._too_deep(node))
            if ty & rt.T_VALTAG:  # `!!map` on a mapping says nothing; `!custom` or `!!set` must not pass silently
                tag, kind = rt.tag_of(self.tree, node, key=False), "map" if ty & rt.T_MAP else "seq"
                if tag not in ("!", f"!!{kind}", f"<tag:yaml.org,2002:{kind}>"):
                    self._problem("Y006", Severity.ERROR,
                                  f"YAML tag `{tag}` is not supported in fleet files; remove it", node, key=True)
            if anchor is not None:
                self.values[anchor] = _BUILDING  # an alias to it from inside is a cycle
                self.anchor_nodes[anchor] = node
            value: object = self._map(node, depth) if ty & rt.T_MAP else self._seq(node, depth)
        else:
            value = self._scalar(node, ty)
        if anchor is not None:
            self.values[anchor] = value
            self.anchor_nodes[anchor] = node
        return value

    def _child_value(self, child: int, cty: int, depth: int) -> object:
        """A child's value; plain and quoted scalars inline (the hot path), the rest through build."""
        if cty & _SLOW_TYPES:
            return self.build(child, depth + 1)
        t = self.t
        ptr = t.val_ptr[child]
        length = t.val_len[child]
        off = ptr - t.base
        if not ptr or not self.ascii or off < 0 or off + length > len(self.text):
            text = self._val(child)  # no text, non-ASCII, or written outside the buffer (rapidyaml's arena)
        else:
            text = self.text[off:off + length]
        if not cty & rt.T_VAL_PLAIN:
            return text
        if not text:
            return None  # `key:` with no value is null in YAML 1.2, as in 1.1
        if "#" in text or ":" in text:
            _check_plain(child, text, key=False)
        first = text[0]
        if first not in _SPECIAL_FIRST or first in _LETTERS and text not in _SPECIAL_WORDS:
            return text
        return self._typed(child, text)

    def _seq(self, node: int, depth: int) -> list:
        t = self.t
        types, nxt = t.types, t.next_sibling
        items = []
        child = t.first_child[node]
        while child >= 0:
            items.append(self._child_value(child, types[child], depth))
            child = nxt[child]
        return items

    def _alias(self, node: int) -> object:
        name = self._val(node)[1:]
        value = self.values.get(name, _MISSING)
        if value is _MISSING:
            self._problem("Y004", Severity.ERROR, f"alias `*{name}` refers to no anchor defined before it",
                          node, key=False)
            return None
        if value is _BUILDING:
            self._cycle(node, name)
            return None
        return value

    def _cycle(self, node: int, name: str, *, merge: bool = False) -> None:
        anchored = self.anchor_nodes.get(name, -1)
        span = self.doc._node_span(anchored, at_key=True) if anchored >= 0 else None
        where = f" (line {span.line})" if span else ""
        what = f"merge key `<<: *{name}` merges" if merge else f"alias `*{name}` refers to"
        self._problem(
            "Y004", Severity.ERROR,
            f"{what} the node anchored `&{name}`{where} that holds it: a cycle, which a fleet file "
            "cannot hold; refer to another anchor",
            node, key=merge,
            related=(Related(self.doc.name, span, f"`&{name}` anchored here"),) if span else (),
        )

    def _map(self, node: int, depth: int) -> dict:
        t = self.t
        types, nxt, key_ptr, key_len = t.types, t.next_sibling, t.key_ptr, t.key_len
        base, text = t.base, self.text
        limit = len(text)
        fast_keys = self.ascii
        out: dict[str, object] = {}
        merges: list[int] = []
        child = t.first_child[node]
        while child >= 0:
            cty = types[child]
            if cty & (rt.T_KEYREF | rt.T_KEYTAG):
                self._problem("Y006", Severity.ERROR, "aliases and tags on keys are not supported in fleet files",
                              child, key=True)
            ptr = key_ptr[child]
            off, length = ptr - base, key_len[child]
            if fast_keys and ptr and 0 <= off and off + length <= limit:
                key = text[off:off + length]
            else:
                key = self._key(child)
            if key[:2] == "x-":
                self.doc.user_keys = True
            if cty & rt.T_KEY_PLAIN and ("#" in key or ":" in key):
                _check_plain(child, key, key=True)
            if cty & rt.T_KEY_PLAIN and key and key[0] in _SPECIAL_KEY_FIRST and \
                    (key[0] not in _LETTERS or key in _SPECIAL_WORDS):
                if key == "<<":
                    merges.append(child)
                    child = nxt[child]
                    continue
                if key not in _ONE_LETTER_BOOLS:
                    try:
                        old = yaml11_retype(key, resolve_core(key))
                    except IntegerTooLong:
                        old = None  # keys stay strings; a reader of either version reads an integer
                    if old is not None:
                        self._retyped(child, key, key, old, key=True)
            if key in out:
                self._duplicate(node, child, key)
            out[key] = self._child_value(child, cty, depth)
            child = nxt[child]
        for merge in merges:
            self._merge(out, merge, depth)
        return out

    def _merge(self, out: dict, node: int, depth: int) -> None:
        t = self.t
        if t.types[node] & rt.T_VALREF:
            name = self._val(node)[1:]
            if name not in self.values:
                self.build(node, depth + 1)  # reports the undefined alias (Y004)
                return
            if self.values[name] is _BUILDING:
                self._cycle(node, name, merge=True)
                return
        source = self.build(node, depth + 1)  # an inline `<<: {...}` is one level deeper, like any value
        if isinstance(source, list):
            items = []
            child = t.first_child[self.doc._deref(node)] if t.types[node] & rt.T_VALREF else t.first_child[node]
            for item in source:
                reported = item is None and child >= 0 and t.types[child] & rt.T_VALREF and \
                    self.values.get(self._val(child)[1:], _BUILDING) is _BUILDING  # undefined or a cycle: Y004
                if not reported:
                    items.append(item)
                child = t.next_sibling[child] if child >= 0 else -1
        else:
            items = [source]
        for item in items:
            if not isinstance(item, dict):
                self._problem("Y006", Severity.ERROR, "a merge key `<<` takes a mapping or a list of mappings",
                              node, key=True)
                return
            for key, value in item.items():
                out.setdefault(key, value)

    def _duplicate(self, parent: int, second: int, key: str) -> None:
        """Y002 on the second key, naming the first. Each mapping's keys are indexed at most once."""
        t = self.t
        firsts, child = self.first_keys.get(parent, ({}, t.first_child[parent]))
        while child >= 0 and child != second:  # index up to this key: linear over all duplicates
            firsts.setdefault(self._key(child), child)
            child = t.next_sibling[child]
        self.first_keys[parent] = (firsts, child)
        first = firsts.get(key, -1)
        first_span = self.doc._scalar_span(first, key=True) if first >= 0 else None
        line_note = f" (first at line {first_span.line})" if first_span else ""
        shown = key if len(key) <= 80 else key[:77] + "..."
        self._problem(
            "Y002", Severity.ERROR,
            f"duplicate key `{shown}`{line_note}; YAML readers disagree on which one wins",
            second, key=True,
            related=(Related(self.doc.name, first_span, f"`{shown}` first defined here"),) if first_span else (),
        )
