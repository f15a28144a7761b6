"""Load one YAML fleet file: YAML 1.2 values, positions for every node, and the YAML-level findings.

What it guarantees (fleet-format.md, "Reading rules"):
- YAML 1.2 core-schema typing of plain scalars; quoted and block scalars are strings.
- Line and column for any JSON path, found lazily (a clean file pays nothing for positions).
- Duplicate keys reported with both lines; a YAML 1.1 retyping (``17:00``, ``NO``) reported as a warning.
- Anchors and aliases shared, not copied, and refused past budgets (alias count, expanded size,
  nesting depth) in time linear in the file, before anything expands them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from clawctl.adapters import ryml_tree as rt
from clawctl.core.errors import InputError
from clawctl.core.findings import Finding, Path, Related, Severity, Span
from clawctl.core.yamlscalars import resolve_core, yaml11_retype

MAX_DEPTH = 64
MAX_ALIASES = 100_000
MAX_EXPANDED_NODES = 2_000_000

_STR_TAGS = {"!!str", "tag:yaml.org,2002:str", "!"}
_ONE_LETTER_BOOLS = frozenset("yYnN")
_ALIAS_TYPES = rt.T_VALREF | rt.T_KEYREF
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


@dataclass(slots=True)
class Budgets:
    depth: int = MAX_DEPTH
    aliases: int = MAX_ALIASES
    expanded_nodes: int = MAX_EXPANDED_NODES


@dataclass
class LoadedYaml:
    """One parsed document: its value, its YAML findings, and a way to find any path's position."""

    name: str
    text: bytes
    data: object = None
    problems: list[Finding] = field(default_factory=list)
    _tree: object = None
    _table: rt.NodeTable | None = None
    _root: int = -1
    _anchors: dict[str, int] = field(default_factory=dict)
    _index_cache: dict[int, dict[str, int]] = field(default_factory=dict)
    _line_starts: list[int] | None = None
    _buf: bytearray = field(default_factory=bytearray)
    user_keys: bool = False  # some key starts with `x-`

    # -- positions ---------------------------------------------------------------------------
    def _starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            i = find(b"\n")
            while i >= 0:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a byte offset; columns count characters, not bytes."""
        starts = self._starts()
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(starts, offset) - 1
        start = starts[line]
        chunk = self.text[start:offset]
        column = len(chunk) if chunk.isascii() else len(chunk.decode("utf-8", "replace"))
        return line + 1, column + 1

    def line_text(self, line: int) -> str:
        starts = self._starts()
        if not 1 <= line <= len(starts):
            return ""
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].decode("utf-8", "replace").rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self._starts())

    def span_of(self, offset: int, length: int) -> Span:
        line, column = self.position(offset)
        end_line, end_column = self.position(offset + max(length, 1))
        return Span(line, column, end_line, end_column)

    def _scalar_span(self, node: int, *, key: bool) -> Span | None:
        table = self._table
        assert table is not None
        off = table.key_off[node] if key else table.val_off[node]
        length = table.key_len[node] if key else table.val_len[node]
        if off < 0 or off > len(self.text):
            return None
        ty = table.types[node]
        quoted = ty & (rt.T_KEY_QUOTED if key else rt.T_VAL_QUOTED)
        if quoted and off > 0:
            off -= 1
            length += 2
        return self.span_of(off, length)

    def _node_span(self, node: int, *, at_key: bool) -> Span | None:
        table = self._table
        assert table is not None
        ty = table.types[node]
        if ty & rt.T_KEY and (at_key or ty & (rt.T_MAP | rt.T_SEQ)):
            span = self._scalar_span(node, key=True)
            if span:
                return span
        if not ty & (rt.T_MAP | rt.T_SEQ):
            span = self._scalar_span(node, key=False)
            if span:
                return span
        child = table.first_child[node]
        while child >= 0:
            span = self._node_span(child, at_key=True)
            if span:
                return span
            child = table.next_sibling[child]
        return None

    def _children_index(self, node: int) -> dict[str, int]:
        index = self._index_cache.get(node)
        if index is None:
            table = self._table
            assert table is not None
            index = {}
            merges: list[int] = []
            child = table.first_child[node]
            while child >= 0:
                name = self._key_text(child)
                if name == "<<" and table.types[child] & rt.T_KEY_PLAIN:
                    merges.append(child)
                else:
                    index[name] = child
                child = table.next_sibling[child]
            for merge in merges:
                for source in self._merge_sources(merge):
                    for name, target in self._children_index(source).items():
                        index.setdefault(name, target)
            self._index_cache[node] = index
        return index

    def _merge_sources(self, node: int) -> list[int]:
        table = self._table
        assert table is not None
        target = self._deref(node)
        if table.types[target] & rt.T_MAP:
            return [target]
        out = []
        child = table.first_child[target] if table.types[target] & rt.T_SEQ else -1
        while child >= 0:
            item = self._deref(child)
            if table.types[item] & rt.T_MAP:
                out.append(item)
            child = table.next_sibling[child]
        return out

    def _deref(self, node: int) -> int:
        table = self._table
        assert table is not None
        if table.types[node] & rt.T_VALREF:
            target = self._anchors.get(self._val_text(node)[1:])
            if target is not None:
                return target
        return node

    def locate(self, path: Path, *, at_key: bool = False) -> Span | None:
        """The span of the value at ``path`` (or of its key), as close as the file allows."""
        if self._table is None or self._root < 0:
            return Span(1, 1, 1, 2) if self.text else None
        table = self._table
        node = self._root
        for part in path:
            node = self._deref(node)
            ty = table.types[node]
            nxt = -1
            if ty & rt.T_MAP and isinstance(part, str):
                nxt = self._children_index(node).get(part, -1)
            elif ty & rt.T_SEQ and isinstance(part, int) and part >= 0:
                child = table.first_child[node]
                for _ in range(part):
                    if child < 0:
                        break
                    child = table.next_sibling[child]
                nxt = child
            if nxt < 0:
                break
            node = nxt
        else:
            return self._node_span(node, at_key=at_key)
        return self._node_span(node, at_key=True)

    # -- text of nodes -----------------------------------------------------------------------
    def _key_text(self, node: int) -> str:
        table = self._table
        assert table is not None
        off, length = table.key_off[node], table.key_len[node]
        if 0 <= off and off + length <= len(self._buf):
            return self._buf[off:off + length].decode("utf-8")
        return rt.text_at(self._tree, node, key=True)

    def _val_text(self, node: int) -> str:
        table = self._table
        assert table is not None
        off, length = table.val_off[node], table.val_len[node]
        if 0 <= off and off + length <= len(self._buf):
            return self._buf[off:off + length].decode("utf-8")
        return rt.text_at(self._tree, node, key=False)


def load_yaml(name: str, text: bytes, budgets: Budgets | None = None) -> LoadedYaml:
    """Parse ``text`` (UTF-8, BOM already removed). Budget breaches raise :class:`InputError`."""
    doc = LoadedYaml(name=name, text=text)
    buf = bytearray(text)
    try:
        tree = rt.parse(buf)
    except rt.ParseError as err:
        doc.problems.append(_syntax_finding(doc, err))
        return doc
    table = rt.node_table(tree, buf)
    doc._tree, doc._table, doc._buf = tree, table, buf
    root = tree.root_id()
    ty = table.types[root]
    if ty & rt.T_STREAM:
        docs = []
        child = table.first_child[root]
        while child >= 0:
            docs.append(child)
            child = table.next_sibling[child]
        if not docs:
            return doc
        if len(docs) > 1:
            span = doc._node_span(docs[1], at_key=True) or Span(1, 1, 1, 2)
            doc.problems.append(Finding(
                "Y005", Severity.ERROR,
                f"a fleet file holds one YAML document; this one has {len(docs)} "
                "(split them into several files: clawctl merges them)",
                name, span=span,
            ))
        root = docs[0]
        ty = table.types[root]
    if not ty & (rt.T_MAP | rt.T_SEQ | rt.T_VAL):
        return doc  # empty document: data stays None
    doc._root = root
    builder = _Builder(doc, tree, table, buf, budgets or Budgets())
    if any(ty & _ALIAS_TYPES for ty in table.types):
        builder.check_budgets(root)
    doc.data = builder.build(root, 0)
    return doc


def _syntax_finding(doc: LoadedYaml, err: rt.ParseError) -> Finding:
    """Prefer PyYAML's wording (more specific) when it also rejects the text; keep our position."""
    message, line, column = err.message, err.line, err.column
    try:
        import yaml

        try:
            yaml.compose(doc.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if exc.problem and mark is not None:
                message = exc.problem + (f" ({exc.context})" if exc.context else "")
                line, column = mark.line + 1, mark.column + 1
        except yaml.YAMLError:
            pass
    except ImportError:  # pragma: no cover
        pass
    text = doc.line_text(line)
    if column - 1 < len(text) and text[column - 1:column] == "\t" or text[:1] == "\t":
        message += "; YAML does not allow tabs for indentation"
    return Finding("Y001", Severity.ERROR, f"YAML syntax error: {message}", doc.name,
                   span=Span(line, column, line, column + 1))


class _Builder:
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
            child = first[node]
            while child >= 0:
                stack.append((child, depth + 1, False))
                child = nxt[child]
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
            return self.buf[off:off + length].decode("utf-8")
        return rt.text_at(self.tree, node, key=False)

    def _key(self, node: int) -> str:
        off, length = self.t.key_off[node], self.t.key_len[node]
        if 0 <= off and off + length <= len(self.buf):
            if self.ascii:
                return self.text[off:off + length]
            return self.buf[off:off + length].decode("utf-8")
        return rt.text_at(self.tree, node, key=True)

    def _problem(self, code: str, severity: Severity, message: str, node: int, *, key: bool,
                 related: tuple[Related, ...] = ()) -> None:
        span = self.doc._scalar_span(node, key=key) if node >= 0 else None
        if span is None and node >= 0:
            span = self.doc._node_span(node, at_key=True)
        self.doc.problems.append(Finding(code, severity, message, self.doc.name, span=span, related=related))

    def _scalar(self, node: int, ty: int) -> object:
        text = self._val(node)
        if ty & rt.T_VALTAG:
            tag = rt.tag_of(self.tree, node, key=False)
            if tag in _STR_TAGS:
                return text
            self._problem("Y006", Severity.ERROR,
                          f"YAML tag `{tag}` is not supported in fleet files; remove it", node, key=False)
        if not ty & rt.T_VAL_PLAIN or not text or text[0] not in _SPECIAL_FIRST:
            return text
        value = resolve_core(text)
        old = yaml11_retype(text, value)
        if old is not None:
            self._retyped(node, text, value, old, key=False)
        return value

    def _retyped(self, node: int, text: str, value: object, old: str, *, key: bool) -> None:
        now = f'the string "{text}"' if isinstance(value, str) else repr(value)
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
        if not cty & rt.T_VAL_PLAIN or not text:
            return text
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
