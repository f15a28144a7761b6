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
from clawctl.adapters.yamlbuild import ALIAS_TYPES, Builder
from clawctl.core.findings import Finding, Path, Severity, Span

MAX_DEPTH = 64
MAX_ALIASES = 100_000
MAX_EXPANDED_NODES = 2_000_000

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
    _parents: tuple[list[int], list[int]] | None = None
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
        off, length = table.key_off[node], table.key_len[node]
        if 0 <= off and off + length <= len(self._buf):
            return self._buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self._tree, node, key=True)

    def _val_text(self, node: int) -> str:
        table = self._table
        assert table is not None
        off, length = table.val_off[node], table.val_len[node]
        if 0 <= off and off + length <= len(self._buf):
            return self._buf[off:off + length].decode("utf-8", "replace")
        return rt.text_at(self._tree, node, key=False)


def load_yaml(name: str, text: bytes, budgets: Budgets | None = None) -> LoadedYaml:
    """Parse ``text`` (UTF-8, BOM already removed). Budget breaches raise :class:`InputError`."""
    doc = LoadedYaml(name=name, text=text)
    if text.startswith(b"%YAML") or b"\n%YAML" in text:
        _version_directive(doc)
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
    builder = Builder(doc, tree, table, buf, budgets or Budgets())
    if any(ty & ALIAS_TYPES for ty in table.types):
        builder.check_budgets(root)
    doc.data = builder.build(root, 0)
    return doc


def _version_directive(doc: LoadedYaml) -> None:
    """A `%YAML 1.1` (or other non-1.2) directive: the author expects another reading than ours."""
    offset = 0 if doc.text.startswith(b"%YAML") else doc.text.index(b"\n%YAML") + 1
    line_no, _ = doc.position(offset)
    line = doc.line_text(line_no)
    version = line.split()[1] if len(line.split()) > 1 else "?"
    if version == "1.2":
        return
    doc.problems.append(Finding(
        "Y008", Severity.WARNING,
        f"the file declares `%YAML {version}`, but fleet files are read as YAML 1.2 (clawctl and editors "
        "using the fleet schema); remove the directive and quote scalars Y003 points at",
        doc.name, span=Span(line_no, 1, line_no, len(line) + 1),
    ))


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


