"""Fast access to a rapidyaml tree: parse, then read its node table in bulk.

rapidyaml parses a 4.5 MB fleet in about 0.1 s, but reading the tree one SWIG call per node costs
about 4 us a node (0.9 s for 10,000 agents). Its node table is a plain C array of 144-byte records;
:func:`node_table` reads the columns we need straight from that array, after checking the layout
against the SWIG accessors on sampled nodes. If the check fails (another rapidyaml build), it falls
back to the accessors: slower, never wrong.

The columns are strided views of the tree's own array, not copies: a Python list of ints costs about
40 bytes a node a column, which for a 16 MiB file of short items was gigabytes. Indexing a view
costs about what indexing a list does. A view is valid as long as the tree lives: the table keeps a
reference to it.
"""

from __future__ import annotations

import ctypes
import os
import random
from array import array
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import ryml
from ryml import _ryml

NONE = ryml.NONE
T_KEY = 0x1
T_VAL = 0x2
T_MAP = 0x4
T_SEQ = 0x8
T_DOC = 0x10
T_STREAM = 0x20
T_KEYREF = 0x40
T_VALREF = 0x80
T_KEYANCH = 0x100
T_VALANCH = 0x200
T_KEYTAG = 0x400
T_VALTAG = 0x800
T_VAL_PLAIN = int(ryml.VAL_PLAIN)
T_KEY_PLAIN = int(ryml.KEY_PLAIN)
T_VAL_DQUO = int(ryml.VAL_DQUO)
T_VAL_SQUO = int(ryml.VAL_SQUO)
T_VAL_LITERAL = int(ryml.VAL_LITERAL)
T_VAL_FOLDED = int(ryml.VAL_FOLDED)
T_KEY_QUOTED = int(ryml.KEYQUO)
T_VAL_QUOTED = int(ryml.VALQUO)

_WORDS = 18  # uint64 words per NodeData record in rapidyaml 0.15
_W_TYPE, _W_KEY, _W_KEY_LEN, _W_VAL, _W_VAL_LEN = 0, 3, 4, 9, 10
_W_KEY_TAG, _W_KEY_ANCHOR, _W_VAL_TAG, _W_VAL_ANCHOR = 1, 5, 7, 11
_W_FIRST, _W_NEXT = 14, 16


class ParseError(Exception):
    def __init__(self, message: str, line: int, column: int, offset: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.offset = message, line, column, offset


@contextmanager
def _quiet_stderr():
    """rapidyaml's C++ error handler writes to fd 2 before raising; keep our stderr ours."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def parse(buf: bytearray, capacity: int = 0) -> ryml.Tree:
    """Parse ``buf`` in place (scalars point into it); raise :class:`ParseError` with a position.

    ``capacity`` reserves room for that many nodes up front: rapidyaml doubles its node array when
    it is full, which for a large file means a copy of the whole array and up to twice the memory.
    """
    tree = ryml.Tree(capacity, 0) if capacity > 0 else ryml.Tree()
    try:
        with _quiet_stderr():
            ryml.parse_in_place(buf, tree)
    except ryml.ExceptionParse as exc:
        loc = exc.errdata_parse.ymlloc
        raise ParseError(str(exc.msg or "parse error"), int(loc.line), int(loc.col), int(loc.offset)) from None
    except ryml.ExceptionBasic as exc:
        raise ParseError(str(exc.msg or "parse error"), 1, 1, 0) from None
    return tree


@dataclass(slots=True)
class NodeTable:
    """Columns of the tree, indexed by node id.

    ``key_ptr`` and ``val_ptr`` are the addresses of the key and value text (0 for none);
    ``ptr - base`` is the offset in the parsed buffer. A scalar rapidyaml had to write elsewhere
    (its arena) has an offset outside ``0..len(buffer)``: read it through :func:`text_at`.
    ``first_child`` and ``next_sibling`` are -1 for none.
    """

    types: Sequence[int]
    key_ptr: Sequence[int]
    key_len: Sequence[int]
    val_ptr: Sequence[int]
    val_len: Sequence[int]
    first_child: Sequence[int]
    next_sibling: Sequence[int]
    base: int
    fast: bool
    owner: object = None  # what keeps the viewed memory alive (the tree)

    def __len__(self) -> int:
        return len(self.types)

    def key_off(self, node: int) -> int:
        ptr = self.key_ptr[node]
        return ptr - self.base if ptr else -1

    def val_off(self, node: int) -> int:
        ptr = self.val_ptr[node]
        return ptr - self.base if ptr else -1


def _address(buf: bytearray) -> int:
    if not buf:  # an empty file: ctypes cannot map a zero-length buffer, and no scalar points into it
        return 0
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def _columns(tree: ryml.Tree) -> tuple[memoryview, memoryview] | None:
    """The node array as unsigned and as signed 64-bit words (views, not copies)."""
    header = (ctypes.c_uint64 * 3).from_address(int(tree.this))
    array, capacity, size = header[0], header[1], header[2]
    if size != tree.size() or capacity != tree.capacity() or not array or not size:
        return None
    raw = memoryview((ctypes.c_uint64 * (size * _WORDS)).from_address(array)).cast("B")
    return raw.cast("Q"), raw.cast("q")


def _layout_ok(tree: ryml.Tree, unsigned: memoryview, signed: memoryview) -> bool:
    size = tree.size()
    sample = list(range(min(size, 32))) + random.Random(size).sample(range(size), min(size, 32))
    for n in sample:
        row = n * _WORDS
        ty = _ryml.Tree_type(tree, n)
        if unsigned[row + _W_TYPE] != ty:
            return False
        fc = _ryml.Tree_first_child(tree, n)
        ns = _ryml.Tree_next_sibling(tree, n)
        if signed[row + _W_FIRST] != (-1 if fc == NONE else fc) or signed[row + _W_NEXT] != (-1 if ns == NONE else ns):
            return False
        if ty & T_VAL and not ty & (T_MAP | T_SEQ):
            view = _ryml.Tree_val(tree, n)  # None for a null value (`---` alone, `&a` alone)
            ptr, length = unsigned[row + _W_VAL], unsigned[row + _W_VAL_LEN]
            raw = ctypes.string_at(ptr, length) if ptr else b""
            if (b"" if view is None else bytes(view)) != raw or (view is None and length):
                return False
    return True


def node_table(tree: ryml.Tree, buf: bytearray) -> NodeTable:
    base = _address(buf)
    cols = _columns(tree)
    if cols is not None and _layout_ok(tree, *cols):
        unsigned, signed = cols
        return NodeTable(
            types=unsigned[_W_TYPE::_WORDS],
            key_ptr=unsigned[_W_KEY::_WORDS],
            key_len=unsigned[_W_KEY_LEN::_WORDS],
            val_ptr=unsigned[_W_VAL::_WORDS],
            val_len=unsigned[_W_VAL_LEN::_WORDS],
            first_child=signed[_W_FIRST::_WORDS],
            next_sibling=signed[_W_NEXT::_WORDS],
            base=base,
            fast=True,
            owner=tree,
        )
    return _slow_table(tree, base)


def parents(table: NodeTable) -> tuple[array, array]:
    """Each node's parent (-1 for the root) and its index among its siblings, in one pass.

    Arrays, not lists: 16 bytes a node rather than about 80.
    """
    size = len(table.types)
    parent, ordinal = array("q", bytes(8 * size)), array("q", bytes(8 * size))
    first, nxt = table.first_child, table.next_sibling
    if size:
        parent[0] = -1  # the root; every other node is some node's child
    for node in range(size):
        child, i = first[node], 0
        while child >= 0:
            parent[child], ordinal[child] = node, i
            child, i = nxt[child], i + 1
    return parent, ordinal


def _slow_table(tree: ryml.Tree, base: int) -> NodeTable:
    size = tree.size()
    types, kptr, klen, vptr, vlen, fc, ns = ([] for _ in range(7))
    for n in range(size):
        ty = _ryml.Tree_type(tree, n)
        types.append(ty)
        for getter, ptrs, lens in ((_ryml.Tree_key, kptr, klen), (_ryml.Tree_val, vptr, vlen)):
            # What the record holds, as node_table reads it: an empty scalar (`""`) keeps its address.
            view = getter(tree, n)
            ptrs.append(_view_address(view) if view is not None else 0)
            lens.append(len(view) if view is not None else 0)
        first = _ryml.Tree_first_child(tree, n)
        nxt = _ryml.Tree_next_sibling(tree, n)
        fc.append(-1 if first == NONE else first)
        ns.append(-1 if nxt == NONE else nxt)
    return NodeTable(types, kptr, klen, vptr, vlen, fc, ns, base=base, fast=False, owner=tree)


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p),
    ]


def _view_address(view: memoryview) -> int:
    """The address of a read-only buffer (ctypes' from_buffer wants a writable one)."""
    pybuf = _PyBuffer()
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    release = ctypes.pythonapi.PyBuffer_Release
    release.argtypes = [ctypes.POINTER(_PyBuffer)]
    if get(view, ctypes.byref(pybuf), 0) != 0:  # pragma: no cover - a memoryview always exports
        return 0
    try:
        return pybuf.buf or 0
    finally:
        release(ctypes.byref(pybuf))


def text_at(tree: ryml.Tree, node: int, *, key: bool) -> str:
    """The key or value text of ``node`` through the accessors (for scalars outside the buffer)."""
    view = (_ryml.Tree_key if key else _ryml.Tree_val)(tree, node)
    return "" if view is None else bytes(view).decode("utf-8", "replace")


def anchor_of(tree: ryml.Tree, node: int, *, key: bool) -> str:
    view = (_ryml.Tree_key_anchor if key else _ryml.Tree_val_anchor)(tree, node)
    return "" if view is None else bytes(view).decode("utf-8", "replace")


def tag_of(tree: ryml.Tree, node: int, *, key: bool) -> str:
    view = (_ryml.Tree_key_tag if key else _ryml.Tree_val_tag)(tree, node)
    return "" if view is None else bytes(view).decode("utf-8", "replace")
