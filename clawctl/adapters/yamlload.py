"""Load one YAML fleet file: YAML 1.2 values, positions for every node, and the YAML-level findings.

What it guarantees (fleet-format.md, "Reading rules"):
- YAML 1.2 core-schema typing of plain scalars; quoted and block scalars are strings.
- Line and column for any JSON path, found lazily (a clean file pays nothing for positions).
- Duplicate keys reported with both lines; a YAML 1.1 retyping (``17:00``, ``NO``) reported as a warning.
- Anchors and aliases shared, not copied, and refused past budgets (alias count, expanded size,
  nesting depth of the built value, aliases and merge keys included) in time linear in the file,
  before anything expands them. An alias inside the node it names (a cycle) is a finding.
- A tab that rapidyaml would misread (``key:<TAB>value`` read as one string) is a Y001 finding.
- Work and memory linear in the file: a node budget, checked on a count of the text before parsing
  (3,000,000 nodes; a 16 MiB fleet holds about 900,000), no per-node Python objects for the tree,
  and position lookups that cost the same for the ten-thousandth finding as for the first.
- Nothing recurses as deep as the input: no input reaches Python's recursion limit.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from clawctl.adapters import ryml_tree as rt
from clawctl.adapters import yamlguard
from clawctl.adapters.yamlbuild import ALIAS_TYPES, Builder, Misread
from clawctl.adapters.yamllines import LineIndex
from clawctl.core.errors import InputError
from clawctl.core.findings import Finding, Path, Severity, Span

MAX_DEPTH = 64
MAX_ALIASES = 100_000
MAX_EXPANDED_NODES = 2_000_000
MAX_NODES = 3_000_000

_NOT_MARKS = bytes(b for b in range(256) if b not in b"\n,[{")  # deleted: what is left is the one-byte marks
_COLONS_TO_NUL = bytes(0 if b in b"-?:" else 1 if b == 0 else b for b in range(256))
_SPAN_SEARCH = 1_000  # nodes a position search looks at below a node before it asks the node's parents


@dataclass(slots=True)
class Budgets:
    depth: int = MAX_DEPTH
    aliases: int = MAX_ALIASES
    expanded_nodes: int = MAX_EXPANDED_NODES
    nodes: int = MAX_NODES


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
    _alias_target: dict[int, int] = field(default_factory=dict)  # alias node -> the node it names
    _index_cache: dict[int, dict[str, int]] = field(default_factory=dict)
    _seq_cache: dict[int, array] = field(default_factory=dict)
    _line_index: LineIndex | None = None
    _parents: tuple[array, array] | None = None
    _buf: bytearray = field(default_factory=bytearray)
    _str: str | None = None  # the parsed buffer as a str, when it is ASCII (keys are sliced from it)
    _merges: bool | None = None  # whether the text holds `<<` at all
    user_keys: bool = False  # some key starts with `x-`
    # Every distinct mapping key and string value the document holds (None: not built): those of ``data``,
    # and the few the value does not keep (`<<`, a duplicate key's first value, keys a mapping overrides).
    keys: set[str] | None = None
    strings: set[str] | None = None

    def release(self) -> None:
        """Drop the value, the tree and the position caches, keeping the text and its line index:
        what a report's code frames read (:meth:`line_text`) once every position is known."""
        self.data = self.keys = self.strings = None
        self._tree = self._table = self._parents = None
        self._root = -1
        self._buf, self._str = bytearray(), None
        self._alias_target, self._index_cache, self._seq_cache = {}, {}, {}

    # -- positions ---------------------------------------------------------------------------
    def _lines(self) -> LineIndex:
        if self._line_index is None:
            self._line_index = LineIndex(self.text)
        return self._line_index

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a byte offset; columns count characters, not bytes."""
        return self._lines().position(offset)

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) of the text, without its line break ("" past the end)."""
        return self._lines().line_text(line)

    @property
    def line_count(self) -> int:
        return self._lines().lines

    def span_of(self, offset: int, length: int) -> Span:
        line, column = self.position(offset)
        end_line, end_column = self.position(offset + max(length, 1))
        return Span(line, column, end_line, end_column)

    def _scalar_span(self, node: int, *, key: bool) -> Span | None:
        table = self._table
        assert table is not None
        off = table.key_off(node) if key else table.val_off(node)
        length = table.key_len[node] if key else table.val_len[node]
        if off < 0 or off > len(self.text):
            return None
        ty = table.types[node]
        quoted = ty & (rt.T_KEY_QUOTED if key else rt.T_VAL_QUOTED)
        if quoted and off > 0:
            off -= 1
            length += 2
        return self.span_of(off, length)

    def _own_span(self, node: int, *, at_key: bool) -> Span | None:
        table = self._table
        assert table is not None
        ty = table.types[node]
        if ty & rt.T_KEY and (at_key or ty & (rt.T_MAP | rt.T_SEQ)):
            span = self._scalar_span(node, key=True)
            if span:
                return span
        if not ty & (rt.T_MAP | rt.T_SEQ):
            return self._scalar_span(node, key=False)
        return None

    def _node_span(self, node: int, *, at_key: bool) -> Span | None:
        """The node's own span, else the first one found below it (depth first), else its parent's.

        Iterative, and the search below a node is bounded: no input makes it recurse or rescan.
        """
        table = self._table
        assert table is not None
        span = self._own_span(node, at_key=at_key)
        if span:
            return span
        first, nxt = table.first_child, table.next_sibling
        stack = [first[node]] if first[node] >= 0 else []
        seen = 0
        while stack and seen < _SPAN_SEARCH:
            current = stack.pop()
            seen += 1
            span = self._own_span(current, at_key=True)
            if span:
                return span
            if nxt[current] >= 0:
                stack.append(nxt[current])
            if first[current] >= 0:
                stack.append(first[current])  # popped first: depth before breadth, document order
        if self._parents is None:
            self._parents = rt.parents(table)
        parent = self._parents[0]
        up = parent[node] if node < len(parent) else -1
        while up >= 0:
            span = self._own_span(up, at_key=True)
            if span:
                return span
            up = parent[up]
        return None

    def _has_merges(self) -> bool:
        if self._merges is None:
            self._merges = b"<<" in self.text  # no `<<` in the text, no merge key anywhere
        return self._merges

    def _merge_sources(self, node: int) -> list[int]:
        """The mappings a mapping merges (`<<: *a`, `<<: [*a, *b]`, `<<: {k: v}`), in order."""
        table = self._table
        assert table is not None
        out: list[int] = []
        child = table.first_child[node] if self._has_merges() else -1
        while child >= 0:
            if table.key_len[child] == 2 and table.types[child] & rt.T_KEY_PLAIN and self._key_text(child) == "<<":
                target = self._deref(child)
                if table.types[target] & rt.T_MAP:
                    out.append(target)
                elif table.types[target] & rt.T_SEQ:
                    item = table.first_child[target]
                    while item >= 0:
                        resolved = self._deref(item)
                        if table.types[resolved] & rt.T_MAP:
                            out.append(resolved)
                        item = table.next_sibling[item]
            child = table.next_sibling[child]
        return out

    def _children_index(self, node: int) -> dict[str, int]:
        """Key -> child node of a mapping, merged keys included (pointing where they are written).

        Built once per mapping. Merge sources are indexed first, from an explicit stack: a chain of
        a thousand merges recurses no deeper than one.
        """
        cache = self._index_cache
        if node in cache:
            return cache[node]
        table = self._table
        assert table is not None
        if not self._has_merges() and self._str is not None:  # the common case, the same index in one loop
            text, base, limit, key_ptr, key_len, nxt = \
                self._str, table.base, len(self._str), table.key_ptr, table.key_len, table.next_sibling
            index: dict[str, int] = {}
            child = table.first_child[node]
            while child >= 0:
                ptr, length = key_ptr[child], key_len[child]
                off = ptr - base
                index[text[off:off + length] if ptr and 0 <= off and off + length <= limit
                      else self._key_text(child)] = child
                child = nxt[child]
            cache[node] = index
            return index
        stack: list[tuple[int, list[int] | None]] = [(node, None)]
        pending = {node}
        while stack:
            current, sources = stack.pop()
            if sources is None:
                sources = self._merge_sources(current)
                stack.append((current, sources))
                for source in sources:
                    if source not in cache and source not in pending:
                        pending.add(source)
                        stack.append((source, None))
                continue
            index = {}
            child = table.first_child[current]
            while child >= 0:
                name = self._key_text(child)
                if not (name == "<<" and table.types[child] & rt.T_KEY_PLAIN):
                    index[name] = child
                child = table.next_sibling[child]
            for source in sources:
                for name, target in cache.get(source, {}).items():
                    index.setdefault(name, target)
            cache[current] = index
            pending.discard(current)
        return cache[node]

    def _seq_children(self, node: int) -> array:
        children = self._seq_cache.get(node)
        if children is None:
            table = self._table
            assert table is not None
            children = array("q")
            child = table.first_child[node]
            while child >= 0:
                children.append(child)
                child = table.next_sibling[child]
            self._seq_cache[node] = children
        return children

    def _deref(self, node: int) -> int:
        table = self._table
        assert table is not None
        if table.types[node] & rt.T_VALREF:
            return self._alias_target.get(node, node)
        return node

    def locate(self, path: Path, *, at_key: bool = False) -> Span | None:
        """The span of the value at ``path`` (or of its key), as close as the file allows."""
        if self._table is None or self._root < 0:
            return Span(1, 1, 1, 2) if self.text else Span(1, 1, 1, 1)
        table = self._table
        node = self._root
        for part in path:
            node = self._deref(node)
            ty = table.types[node]
            nxt = -1
            if ty & rt.T_MAP and isinstance(part, str):
                nxt = self._children_index(node).get(part, -1)
            elif ty & rt.T_SEQ and isinstance(part, int) and part >= 0:
                children = self._seq_children(node)
                nxt = children[part] if part < len(children) else -1
            if nxt < 0:
                break
            node = nxt
        else:
            return self._node_span(node, at_key=at_key)
        return self._node_span(node, at_key=True)

    def path_of(self, node: int) -> Path:
        """The JSON path of ``node`` from the document root (for findings the loader raises)."""
        table = self._table
        if table is None or node < 0:
            return ()
        if self._parents is None:
            self._parents = rt.parents(table)
        parent, ordinal = self._parents
        parts: list[str | int] = []
        while node != self._root and parent[node] >= 0:
            up = parent[node]
            parts.append(self._key_text(node) if table.types[up] & rt.T_MAP else ordinal[node])
            node = up
        return tuple(reversed(parts))

    # -- text of nodes -----------------------------------------------------------------------
    def _key_text(self, node: int) -> str:
        table = self._table
        assert table is not None
        off, length = table.key_off(node), table.key_len[node]
        if 0 <= off and off + length <= len(self._buf):
            if self._str is not None:
                return self._str[off:off + length]
            return self._buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self._tree, node, key=True)

    def _val_text(self, node: int) -> str:
        table = self._table
        assert table is not None
        off, length = table.val_off(node), table.val_len[node]
        if 0 <= off and off + length <= len(self._buf):
            return self._buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self._tree, node, key=False)


def node_estimate(text: bytes) -> int:
    """An estimate of the YAML nodes in ``text``, from a count of what starts one.

    A node starts on a line, after `,`, `[` or `{`, after `- ` or `? `, or after `: ` (a compact
    `- key: value` holds two nodes on one line). Each count is one pass in C. For a fleet file the
    estimate is about 1.5 times the true count; it is at least the true count for the shapes a
    large input can take (long flow or block sequences and mappings, one item a line or many).
    """
    # The same sum as text.count(b"\n") + text.count(b",") + text.count(b"[") + text.count(b"{")
    # + text.count(b"- ") + text.count(b"? ") + text.count(b": ") + 4, in three passes instead of
    # seven: the one-byte marks are what is left once every other byte is deleted, and the three
    # two-byte ones are a NUL then a space once `-`, `?` and `:` become NUL (and NUL becomes 1).
    return len(text.translate(None, _NOT_MARKS)) + text.translate(_COLONS_TO_NUL).count(b"\0 ") + 4


def load_yaml(name: str, text: bytes, budgets: Budgets | None = None) -> LoadedYaml:
    """Parse ``text`` (UTF-8, BOM already removed). Budget breaches raise :class:`InputError`."""
    budgets = budgets or Budgets()
    doc = LoadedYaml(name=name, text=text)
    if text.startswith(b"%YAML") or b"\n%YAML" in text:
        yamlguard.version_directive(doc)
    estimate = node_estimate(text)
    if estimate > budgets.nodes:
        raise InputError(_too_many_nodes(name, f"about {estimate:,}", budgets.nodes))
    if b"!" in text and yamlguard.stacked_tags(text):
        refused = yamlguard.libyaml_refusal(doc)
        if refused is not None:  # never handed to rapidyaml: it crashes the process on some of these
            doc.problems.append(refused)
            return doc
    buf = bytearray(text)
    try:
        tree = rt.parse(buf, capacity=estimate if estimate > 4096 else 0)
    except rt.ParseError as err:
        doc.problems.append(yamlguard.syntax_finding(doc, err))
        return doc
    if tree.size() > budgets.nodes + 2:  # the stream and document nodes are not the author's
        raise InputError(_too_many_nodes(name, f"{tree.size():,}", budgets.nodes))
    table = rt.node_table(tree, buf)
    doc._tree, doc._table, doc._buf = tree, table, buf
    if b"\t" in text:
        misread = yamlguard.tab_misread(doc)
        if misread is not None:
            doc.problems.append(misread)
            return doc
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
    builder = Builder(doc, tree, table, buf, budgets)
    if builder.ascii:
        doc._str = builder.text
    if b"*" in text and any(t & ALIAS_TYPES for t in table.types):  # no `*`, no alias
        builder.check_budgets(root)
    try:
        doc.data = builder.build(root, 0)
    except Misread as misread:
        doc.problems[:] = [p for p in doc.problems if p.code == "Y008"]
        doc.problems.append(yamlguard.misread_finding(doc, misread))
        doc.data = None
        return doc
    doc.keys, doc.strings = builder.keys(), builder.strings()
    doc.user_keys = any(key.startswith("x-") for key in doc.keys)
    if not text.endswith((b"\n", b"\r")):
        yamlguard.clip_at_end_of_text(doc, root)
    return doc


def _too_many_nodes(name: str, count: str, limit: int) -> str:
    return (f"{name}: {count} YAML nodes (items, keys and values), over the {limit:,} one fleet file "
            "may hold (a 16 MiB fleet holds about 900,000); refused: split the fleet into several files")
