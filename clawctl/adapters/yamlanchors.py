"""Anchors, aliases and merge keys for the YAML builder (clawctl/adapters/yamlbuild.py).

:func:`check_budgets` runs on the tree before anything is built when the document holds aliases: the
alias count, the expanded size and the depth of the value the document builds, measured in linear time,
without recursing and without expanding anything. :func:`alias` and :func:`merge_into` give what an
alias and a merge key stand for while the document is built.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from clawctl.adapters import ryml_tree as rt
from clawctl.core.errors import InputError
from clawctl.core.findings import Related, Severity

if TYPE_CHECKING:
    from clawctl.adapters.yamlbuild import Builder


class _Building:
    """The value of an anchor whose collection is being built: an alias to it is a cycle."""


_BUILDING = _Building()
_MISSING = object()


def check_budgets(builder: Builder, root: int) -> None:
    """Refuse past the alias count, the expanded size or the built depth; record alias targets.

    One pass in document order (anchors are registered when their node opens, so an alias
    inside its own anchor's node is seen as a cycle), then sizes and heights after each node's
    children. The height of a node is the depth of the value it builds: an alias has its
    anchor's height; a merge key lifts its mappings' keys to the merging mapping's level.
    """
    t = builder.t
    types, first, nxt = t.types, t.first_child, t.next_sibling
    budgets = builder.budgets
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
            raise InputError(builder._too_deep(node))
        if ty & rt.T_VALANCH:
            anchors[rt.anchor_of(builder.tree, node, key=False)] = node
        if ty & rt.T_VALREF:
            aliases += 1
            if aliases > budgets.aliases:
                raise InputError(f"{builder.doc.name}: more than {budgets.aliases} aliases; refused")
            named = anchors.get(builder._val(node)[1:])
            if named is not None and named not in open_nodes:  # an open anchor is a cycle: no target
                target[node] = named
        if ty & (rt.T_MAP | rt.T_SEQ):
            open_nodes.add(node)
            nodes.append(node)
            cursors.append(first[node])
        else:
            _measure(builder, node, ty, size_of, added, height, target)
        while nodes and cursors[-1] < 0:  # every child seen: the collection is complete
            done = nodes.pop()
            cursors.pop()
            open_nodes.discard(done)
            _measure(builder, done, types[done], size_of, added, height, target)
        if not nodes:
            break
        node = cursors[-1]
        cursors[-1] = nxt[node]
        depth = len(nodes)
    builder.doc._alias_target = target

def _measure(builder: Builder, node: int, ty: int, size_of: array, added: array, height: array,
             target: dict[int, int]) -> None:
    """Size (nodes built, aliases expanded), nodes added by aliases, and height, of one node."""
    t = builder.t
    budgets = builder.budgets
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
            if is_map and t.key_len[child] == 2 and t.types[child] & rt.T_KEY_PLAIN and builder._key(child) == "<<":
                # `<<: {a: ...}` puts a's value one level up; `<<: [m1, m2]` puts m1's keys' values two.
                resolved = target.get(child, child)
                reach -= 2 if t.types[resolved] & rt.T_SEQ else 1
            if reach > inner:
                inner, deepest = reach, child
            child = t.next_sibling[child]
        tall = inner + 1
        if tall > budgets.depth:
            raise InputError(builder._too_deep(deepest, built=True))  # the child that brings the depth
    else:
        size, extra, tall = 1, 0, 0
    if extra > budgets.expanded_nodes:  # what aliases add, not what the file holds (the node budget)
        line, _ = builder.doc.position(builder._offset(node))
        raise InputError(
            f"{builder.doc.name}:{line}: aliases expand to more than {budgets.expanded_nodes:,} nodes "
            "(an alias bomb?); refused without expanding"
        )
    size_of[node], added[node], height[node] = size, extra, tall


def alias(builder: Builder, node: int) -> object:
    """The value of alias ``node``: its anchor's (Y004 for an undefined anchor or a cycle: None)."""
    name = builder._val(node)[1:]
    value = builder.values.get(name, _MISSING)
    if value is _MISSING:
        builder._problem("Y004", Severity.ERROR, f"alias `*{name}` refers to no anchor defined before it",
                         node, key=False)
        return None
    if value is _BUILDING:
        cycle(builder, node, name)
        return None
    return value


def cycle(builder: Builder, node: int, name: str, *, merge: bool = False) -> None:
    """Y004 on an alias or merge key inside the node its anchor is on."""
    anchored = builder.anchor_nodes.get(name, -1)
    span = builder.doc._node_span(anchored, at_key=True) if anchored >= 0 else None
    where = f" (line {span.line})" if span else ""
    what = f"merge key `<<: *{name}` merges" if merge else f"alias `*{name}` refers to"
    builder._problem(
        "Y004", Severity.ERROR,
        f"{what} the node anchored `&{name}`{where} that holds it: a cycle, which a fleet file "
        "cannot hold; refer to another anchor",
        node, key=merge,
        related=(Related(builder.doc.name, span, f"`&{name}` anchored here"),) if span else (),
    )


def merge_into(builder: Builder, out: dict, node: int, depth: int) -> None:
    """The keys a merge key `<<` (``node``) brings into the mapping ``out``, where it has none of its own."""
    t = builder.t
    if t.types[node] & rt.T_VALREF:
        name = builder._val(node)[1:]
        if name not in builder.values:
            builder.build(node, depth + 1)  # reports the undefined alias (Y004)
            return
        if builder.values[name] is _BUILDING:
            cycle(builder, node, name, merge=True)
            return
    source = builder.build(node, depth + 1)  # an inline `<<: {...}` is one level deeper, like any value
    if isinstance(source, list):
        items = []
        child = t.first_child[builder.doc._deref(node)] if t.types[node] & rt.T_VALREF else t.first_child[node]
        for item in source:
            reported = item is None and child >= 0 and t.types[child] & rt.T_VALREF and \
                builder.values.get(builder._val(child)[1:], _BUILDING) is _BUILDING  # undefined or a cycle: Y004
            if not reported:
                items.append(item)
            child = t.next_sibling[child] if child >= 0 else -1
    else:
        items = [source]
    for item in items:
        if not isinstance(item, dict):
            builder._problem("Y006", Severity.ERROR, "a merge key `<<` takes a mapping or a list of mappings",
                             node, key=True)
            return
        for key, value in item.items():
            out.setdefault(key, value)
