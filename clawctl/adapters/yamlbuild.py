"""Build Python values from a parsed rapidyaml tree: YAML 1.2 typing, YAML 1.1 retype warnings,
duplicate keys, anchors, aliases and merge keys, and the alias and depth budgets.

The hot path (plain scalars in mappings and sequences) reads the node table's columns directly;
everything unusual (anchors, aliases, tags, containers) goes through :meth:`_Builder.build`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawctl.adapters import ryml_tree as rt
from clawctl.core.errors import InputError
from clawctl.core.findings import Finding, Related, Severity
from clawctl.core.yamlscalars import describe, resolve_core, yaml11_retype

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


class Builder:
    def __init__(self, doc: LoadedYaml, tree, table: rt.NodeTable, buf: bytearray, budgets: Budgets) -> None:
        self.doc, self.tree, self.t, self.buf, self.budgets = doc, tree, table, buf, budgets
        self.ascii = buf.isascii()
        self.text = buf.decode("ascii") if self.ascii else ""
        self.values: dict[str, object] = {}

    # Budgets are checked on the tree before anything is built: linear time, no expansion.
    def check_budgets(self, root: int) -> None:
        t = self.t
        types, first, nxt = t.types, t.first_child, t.next_sibling
        anchors: dict[str, int] = {}
        size_of: dict[int, int] = {}
        aliases = 0
        stack = [(root, 0, False)]
        order: list[int] = []
        while stack:
            node, depth, done = stack.pop()
            if done:
                order.append(node)
                continue
            if depth > self.budgets.depth:
                line, _ = self.doc.position(max(0, t.key_off[node] if t.key_off[node] >= 0 else t.val_off[node]))
                raise InputError(
                    f"{self.doc.name}:{line}: nesting deeper than {self.budgets.depth} levels; "
                    "refused (a fleet file needs fewer than 10)"
                )
            ty = types[node]
            if ty & rt.T_VALANCH:
                anchors[rt.anchor_of(self.tree, node, key=False)] = node
            if ty & rt.T_VALREF:
                aliases += 1
                if aliases > self.budgets.aliases:
                    raise InputError(f"{self.doc.name}: more than {self.budgets.aliases} aliases; refused")
            stack.append((node, depth, True))
            children = []
            child = first[node]
            while child >= 0:
                children.append((child, depth + 1, False))
                child = nxt[child]
            stack.extend(reversed(children))  # popped in document order: anchors sized before their aliases
        # Post-order sizes: an alias weighs what its anchor expands to.
        total_budget = self.budgets.expanded_nodes
        for node in order:
            ty = types[node]
            if ty & rt.T_VALREF:
                target = anchors.get(self._val(node)[1:])
                size = size_of.get(target, 1) if target is not None else 1
            else:
                size = 1
                child = first[node]
                while child >= 0:
                    size += size_of[child]
                    child = nxt[child]
            if size > total_budget:
                line, _ = self.doc.position(max(0, t.key_off[node] if t.key_off[node] >= 0 else t.val_off[node]))
                raise InputError(
                    f"{self.doc.name}:{line}: aliases expand to more than {total_budget:,} nodes "
                    "(an alias bomb?); refused without expanding"
                )
            size_of[node] = size
        self.doc._anchors = anchors

    def _val(self, node: int) -> str:
        off, length = self.t.val_off[node], self.t.val_len[node]
        if 0 <= off and off + length <= len(self.buf):
            if self.ascii:
                return self.text[off:off + length]
            return self.buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self.tree, node, key=False)

    def _key(self, node: int) -> str:
        off, length = self.t.key_off[node], self.t.key_len[node]
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

    def _scalar(self, node: int, ty: int) -> object:
        text = self._val(node)
        if ty & rt.T_VALTAG:
            tag = rt.tag_of(self.tree, node, key=False)
            if tag in _STR_TAGS:
                return text
            self._problem("Y006", Severity.ERROR,
                          f"YAML tag `{tag}` is not supported in fleet files; remove it", node, key=False)
        if not ty & rt.T_VAL_PLAIN or text and text[0] not in _SPECIAL_FIRST:
            return text
        value = resolve_core(text)  # an empty plain scalar (`key:`) is null
        old = yaml11_retype(text, value)
        if old is not None:
            self._retyped(node, text, value, old, key=False)
        return value

    def _retyped(self, node: int, text: str, value: object, old: str, *, key: bool) -> None:
        now = describe(value, quote='"')
        self._problem(
            "Y003", Severity.WARNING,
            f"`{text}` is {now} in YAML 1.2 but {old} to a YAML 1.1 reader (PyYAML and others); "
            f'quote it ("{text}") to mean the same everywhere',
            node, key=key,
        )

    def build(self, node: int, depth: int) -> object:
        t = self.t
        ty = t.types[node]
        if ty & rt.T_VALREF:
            return self._alias(node)
        if ty & (rt.T_MAP | rt.T_SEQ):
            if depth >= self.budgets.depth:
                line, _ = self.doc.position(max(0, t.key_off[node], t.val_off[node]))
                raise InputError(
                    f"{self.doc.name}:{line}: nesting deeper than {self.budgets.depth} levels; "
                    "refused (a fleet file needs fewer than 10)"
                )
            if ty & rt.T_VALTAG:  # `!!map` on a mapping says nothing; `!custom` or `!!set` must not pass silently
                tag, kind = rt.tag_of(self.tree, node, key=False), "map" if ty & rt.T_MAP else "seq"
                if tag not in ("!", f"!!{kind}", f"<tag:yaml.org,2002:{kind}>"):
                    self._problem("Y006", Severity.ERROR,
                                  f"YAML tag `{tag}` is not supported in fleet files; remove it", node, key=True)
            value: object = self._map(node, depth) if ty & rt.T_MAP else self._seq(node, depth)
        else:
            value = self._scalar(node, ty)
        if ty & rt.T_VALANCH:
            self.values[rt.anchor_of(self.tree, node, key=False)] = value
        return value

    def _child_value(self, child: int, cty: int, depth: int) -> object:
        """A child's value; plain and quoted scalars inline (the hot path), the rest through build."""
        if cty & _SLOW_TYPES:
            return self.build(child, depth + 1)
        off = self.t.val_off[child]
        length = self.t.val_len[child]
        if off < 0 or not self.ascii:
            text = self._val(child)
        else:
            text = self.text[off:off + length]
        if not cty & rt.T_VAL_PLAIN:
            return text
        if not text:
            return None  # `key:` with no value is null in YAML 1.2, as in 1.1
        first = text[0]
        if first not in _SPECIAL_FIRST or first in _LETTERS and text not in _SPECIAL_WORDS:
            return text
        value = resolve_core(text)
        old = yaml11_retype(text, value)
        if old is not None:
            self._retyped(child, text, value, old, key=False)
        return value

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
        if name not in self.values:
            self._problem("Y004", Severity.ERROR, f"alias `*{name}` refers to no anchor defined before it",
                          node, key=False)
            return None
        return self.values[name]

    def _map(self, node: int, depth: int) -> dict:
        t = self.t
        types, nxt, key_off, key_len = t.types, t.next_sibling, t.key_off, t.key_len
        fast_keys = self.ascii
        text = self.text
        out: dict[str, object] = {}
        merges: list[int] = []
        child = t.first_child[node]
        while child >= 0:
            cty = types[child]
            if cty & (rt.T_KEYREF | rt.T_KEYTAG):
                self._problem("Y006", Severity.ERROR, "aliases and tags on keys are not supported in fleet files",
                              child, key=True)
            off = key_off[child]
            key = text[off:off + key_len[child]] if fast_keys and off >= 0 else self._key(child)
            if key[:2] == "x-":
                self.doc.user_keys = True
            if cty & rt.T_KEY_PLAIN and key and key[0] in _SPECIAL_KEY_FIRST and \
                    (key[0] not in _LETTERS or key in _SPECIAL_WORDS):
                if key == "<<":
                    merges.append(child)
                    child = nxt[child]
                    continue
                old = yaml11_retype(key, resolve_core(key)) if key not in _ONE_LETTER_BOOLS else None
                if old is not None:
                    self._retyped(child, key, key, old, key=True)
            if key in out:
                self._duplicate(node, child, key)
            out[key] = self._child_value(child, cty, depth)
            child = nxt[child]
        for merge in merges:
            self._merge(out, merge)
        return out

    def _merge(self, out: dict, node: int) -> None:
        source = self.build(node, 0)
        sources = source if isinstance(source, list) else [source]
        for item in sources:
            if not isinstance(item, dict):
                self._problem("Y006", Severity.ERROR, "a merge key `<<` takes a mapping or a list of mappings",
                              node, key=True)
                return
            for key, value in item.items():
                out.setdefault(key, value)

    def _duplicate(self, parent: int, second: int, key: str) -> None:
        t = self.t
        first = t.first_child[parent]
        while first >= 0 and first != second and self._key(first) != key:
            first = t.next_sibling[first]
        first_span = self.doc._scalar_span(first, key=True) if first >= 0 else None
        line_note = f" (first at line {first_span.line})" if first_span else ""
        self._problem(
            "Y002", Severity.ERROR,
            f"duplicate key `{key}`{line_note}; YAML readers disagree on which one wins",
            second, key=True,
            related=(Related(self.doc.name, first_span, f"`{key}` first defined here"),) if first_span else (),
        )
