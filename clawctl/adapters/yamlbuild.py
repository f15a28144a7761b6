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

from typing import TYPE_CHECKING

from clawctl.adapters import ryml_tree as rt
from clawctl.adapters.yamlanchors import _BUILDING, alias, check_budgets, merge_into
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
_KEY_FLAGS = rt.T_KEY_PLAIN | rt.T_KEYREF | rt.T_KEYTAG  # a key takes the short way when only KEY_PLAIN is set
_KEY_PLAIN, _VAL_PLAIN, _MAP, _SEQ = rt.T_KEY_PLAIN, rt.T_VAL_PLAIN, rt.T_MAP, rt.T_SEQ
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


class Builder:
    def __init__(self, doc: LoadedYaml, tree, table: rt.NodeTable, buf: bytearray, budgets: Budgets) -> None:
        self.doc, self.tree, self.t, self.buf, self.budgets = doc, tree, table, buf, budgets
        self.ascii = buf.isascii()
        self.text = buf.decode("ascii") if self.ascii else ""
        self.values: dict[str, object] = {}
        self.anchor_nodes: dict[str, int] = {}  # anchor name -> the node it is on, as built so far
        # mapping -> (key -> first child, the next child to index): built at its first duplicate key
        self.first_keys: dict[int, tuple[dict[str, int], int]] = {}
        # Every distinct key and string value built, in four sets: plain keys and plain strings that
        # passed every check (their next occurrences skip the checks), and all the others.
        self.plain_keys: set[str] = set()
        self.other_keys: set[str] = set()
        self.plain_strings: set[str] = set()
        self.other_strings: set[str] = set()
        self.quoted = self.other_strings  # quoted scalars, as strings

    def keys(self) -> set[str]:
        """Every distinct mapping key read so far (`<<` and the keys of values later replaced included)."""
        return self.plain_keys | self.other_keys

    def strings(self) -> set[str]:
        """Every distinct string value read so far (those of values later replaced included)."""
        return self.plain_strings | self.other_strings

    def check_budgets(self, root: int) -> None:
        """Refuse past the alias count, the expanded size or the built depth; record alias targets."""
        check_budgets(self, root)

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
            return alias(self, node)
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
            if value.__class__ is str:
                self.other_strings.add(value)  # type: ignore[arg-type]
        if anchor is not None:
            self.values[anchor] = value
            self.anchor_nodes[anchor] = node
        return value

    def _seq(self, node: int, depth: int) -> list:
        t = self.t
        types, nxt, val_ptr, val_len = t.types, t.next_sibling, t.val_ptr, t.val_len
        base, text, limit = t.base, self.text, len(self.text)  # the text is "" unless the buffer is ASCII
        known, quoted = self.plain_strings, self.quoted
        items: list = []
        append = items.append
        child = t.first_child[node]
        while child >= 0:
            cty = types[child]
            if cty & _SLOW_TYPES:
                append(self.build(child, depth + 1))
            else:  # a scalar, inline (the hot path; the same steps as in _map)
                ptr, length = val_ptr[child], val_len[child]
                off = ptr - base
                value = text[off:off + length] if ptr and 0 <= off and off + length <= limit else self._val(child)
                if not cty & _VAL_PLAIN:
                    quoted.add(value)
                    append(value)
                elif value in known:
                    append(value)
                else:
                    append(self._plain(child, value))
            child = nxt[child]
        return items

    def _map(self, node: int, depth: int) -> dict:
        t = self.t
        types, nxt, key_ptr, key_len = t.types, t.next_sibling, t.key_ptr, t.key_len
        val_ptr, val_len = t.val_ptr, t.val_len
        base, text, limit = t.base, self.text, len(self.text)  # the text is "" unless the buffer is ASCII
        known_keys, known, quoted = self.plain_keys, self.plain_strings, self.quoted
        nested = depth + 1 < self.budgets.depth  # whether a collection value is within the depth budget
        first = t.first_child
        out: dict[str, object] = {}
        merges: list[int] = []
        child = t.first_child[node]
        while child >= 0:
            cty = types[child]
            ptr, length = key_ptr[child], key_len[child]
            off = ptr - base
            key = text[off:off + length] if ptr and 0 <= off and off + length <= limit else self._key(child)
            # A plain key seen before without a problem needs no check again (nor does its text).
            if (cty & _KEY_FLAGS != _KEY_PLAIN or key not in known_keys) and self._check_key(child, cty, key):
                merges.append(child)  # a merge key `<<`
                child = nxt[child]
                continue
            if key in out:
                self._duplicate(node, child, key)
            slow = cty & _SLOW_TYPES
            if not slow:  # a scalar, inline (the hot path; the same steps as in _seq)
                ptr, length = val_ptr[child], val_len[child]
                off = ptr - base
                value = text[off:off + length] if ptr and 0 <= off and off + length <= limit else self._val(child)
                if not cty & _VAL_PLAIN:
                    quoted.add(value)
                    out[key] = value
                elif value in known:
                    out[key] = value
                else:
                    out[key] = self._plain(child, value)
            elif slow == _SEQ and nested:  # what build() and _seq() do for a sequence without anchor or tag
                items: list = []
                append = items.append
                item = first[child]
                while item >= 0:
                    ity = types[item]
                    if ity & _SLOW_TYPES:
                        append(self.build(item, depth + 2))
                    else:
                        ptr, length = val_ptr[item], val_len[item]
                        off = ptr - base
                        value = text[off:off + length] if ptr and 0 <= off and off + length <= limit \
                            else self._val(item)
                        if not ity & _VAL_PLAIN:
                            quoted.add(value)
                            append(value)
                        elif value in known:
                            append(value)
                        else:
                            append(self._plain(item, value))
                    item = nxt[item]
                out[key] = items
            elif slow == _MAP and nested:
                out[key] = self._map(child, depth + 1)
            else:
                out[key] = self.build(child, depth + 1)
            child = nxt[child]
        for merge in merges:
            merge_into(self, out, merge, depth)
        return out

    def _check_key(self, child: int, cty: int, key: str) -> bool:
        """The checks on a mapping key, in order; True for a merge key (`<<`). A plain key that passes
        them without a finding is remembered, so that its next occurrences skip them."""
        self.other_keys.add(key)
        if cty & (rt.T_KEYREF | rt.T_KEYTAG):
            self._problem("Y006", Severity.ERROR, "aliases and tags on keys are not supported in fleet files",
                          child, key=True)
        if not cty & rt.T_KEY_PLAIN:
            return False
        if "#" in key or ":" in key:
            _check_plain(child, key, key=True)
        if key and key[0] in _SPECIAL_KEY_FIRST and (key[0] not in _LETTERS or key in _SPECIAL_WORDS):
            if key == "<<":
                return True
            if key not in _ONE_LETTER_BOOLS:
                try:
                    old = yaml11_retype(key, resolve_core(key))
                except IntegerTooLong:
                    old = None  # keys stay strings; a reader of either version reads an integer
                if old is not None:
                    self._retyped(child, key, key, old, key=True)
                    return False  # warned at every occurrence: not remembered
        if not cty & (rt.T_KEYREF | rt.T_KEYTAG):
            self.plain_keys.add(key)
        return False

    def _plain(self, child: int, text: str) -> object:
        """A plain scalar's value (not seen before as a plain string): YAML 1.2 typing, misread checks.
        A string that passes without a finding is remembered, so that its next occurrences skip this."""
        if not text:
            return None  # `key:` with no value is null in YAML 1.2, as in 1.1
        if "#" in text or ":" in text:
            _check_plain(child, text, key=False)
        first = text[0]
        if first not in _SPECIAL_FIRST or first in _LETTERS and text not in _SPECIAL_WORDS:
            self.plain_strings.add(text)
            return text
        value = self._typed(child, text)
        if value.__class__ is str:
            self.other_strings.add(value)  # type: ignore[arg-type]
        return value

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
