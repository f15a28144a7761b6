"""``$include`` in openclaw.json, resolved as OpenClaw 2026.9.6 resolves it (src/config/includes.ts). Pure:
the files are read through the :class:`ConfigFS` the caller hands in.

- ``{"$include": "x.json5"}`` is replaced by the included file's value; ``{"$include": ["a", "b"]}`` by
  the deep merge of the files in order (objects merge key by key, arrays concatenate, anything else:
  the later wins). Keys beside ``$include`` are merged over the included value (they win), and need it
  to be an object. ``$include`` may appear in any object, nested or inside arrays, in any file.
- A path is relative to the file that includes it and must stay under the folder of the config given
  (``..`` that climbs out, an absolute path elsewhere, or a symbolic link whose target is elsewhere, is
  refused). ``OPENCLAW_INCLUDE_ROOTS`` is not honoured: clawctl reads no environment variable of OpenClaw's.
- At most 10 nested levels; a file that includes itself, directly or through others, is a cycle.
  A file may be included several times side by side (it is read and parsed once).

Every refusal is an :class:`InputError` (exit 3): one line naming the file, line and column of the
``$include`` at fault. Bounds: the texts read, every inclusion counted, stay under the caller's byte
limit, so a few small files that include each other many times cannot expand without end.

Where each merged value came from is kept (a tree of references beside the values, flattened into
:attr:`ConfigSource.origin <clawctl.core.openclaw.source.ConfigSource.origin>`), so a finding points
into the included file.
"""

from __future__ import annotations

import json
import posixpath
from functools import reduce
from typing import Protocol

from clawctl.core.errors import InputError
from clawctl.core.openclaw.json5 import Json5Error, escape_key, parse
from clawctl.core.openclaw.source import ConfigSource, SourceFile

INCLUDE_KEY = "$include"
MAX_INCLUDE_DEPTH = 10  # OpenClaw's
MAX_INCLUDE_PATH = 4096  # OpenClaw's bound on an include path, before and after resolution

Ref = tuple[int, str]  # (file index, JSON pointer in that file)
# (Ref, children): where a value and its parts came from. Children: dict[str, Node] | list[Node] | None (a
# scalar), or MOUNT: the value and all its parts are the file's own, as written there (no $include below).
Node = tuple
MOUNT = "mount"


class ConfigFS(Protocol):
    """What the reader needs from the file system (clawctl.adapters.openclaw_files.LocalFS is the real one)."""

    max_bytes: int  # the limit for one file, and for everything one config includes

    def abspath(self, path: str) -> str: ...

    def realpath(self, path: str) -> str: ...

    def exists(self, path: str) -> bool: ...

    def read(self, path: str, name: str) -> str:
        """The text of the file at absolute ``path``, bounded and checked; InputError naming ``name``."""
        ...


def parse_file(name: str, path: str, text: str, max_depth: int) -> SourceFile:
    """``text`` parsed as JSON5; not JSON5 is an InputError ``name:line:col: not valid JSON5: ...``."""
    try:
        value, spans = parse(text, max_depth=max_depth)
    except Json5Error as exc:
        probe = SourceFile(name, path, text, None, {})
        line, col = probe.line_col(min(exc.offset, len(text)))
        raise InputError(f"{name}:{line}:{col}: not valid JSON5: {exc.message}") from None
    return SourceFile(name, path, text, value, spans)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _Resolver:
    def __init__(self, root: SourceFile, fs: ConfigFS, max_depth: int) -> None:
        self.fs = fs
        self.files = [root]
        self.by_path: dict[str, int] = {root.path: 0}
        self.root_dir = posixpath.dirname(root.path)
        self.root_real = fs.realpath(self.root_dir) if self.root_dir else ""
        self.max_depth = max_depth
        self.budget = fs.max_bytes - len(root.text)
        self.dirty: list[set[str]] = [_dirty(root)]  # per file: the pointers with a $include at or below them

    # -- errors --------------------------------------------------------------------------------------
    def fail(self, ref: Ref, message: str) -> InputError:
        file = self.files[ref[0]]
        pos = file.pos(ref[1])
        where = f"{file.name}:{pos.line}:{pos.col}" if pos else file.name
        return InputError(f"{where}: {message}")

    # -- values --------------------------------------------------------------------------------------
    def process(self, value: object, ref: Ref, chain: tuple[str, ...], level: int) -> tuple[object, Node]:
        index, ptr = ref
        if ptr not in self.dirty[index]:  # nothing to include below: the file's value as it is
            return value, (ref, MOUNT)
        if level > self.max_depth:
            raise self.fail(ref, f"nested deeper than {self.max_depth} levels (counting included files)")
        if isinstance(value, list):
            items, nodes = [], []
            for i, item in enumerate(value):
                v, n = self.process(item, (index, f"{ptr}/{i}"), chain, level + 1)
                items.append(v)
                nodes.append(n)
            return items, (ref, nodes)
        if not isinstance(value, dict):
            return value, (ref, None)
        if INCLUDE_KEY not in value:
            out, kids = {}, {}
            for key, item in value.items():
                out[key], kids[key] = self.process(item, (index, f"{ptr}/{escape_key(key)}"), chain, level + 1)
            return out, (ref, kids)
        return self.include(value, ref, chain, level)

    def include(self, value: dict, ref: Ref, chain: tuple[str, ...], level: int) -> tuple[object, Node]:
        index, ptr = ref
        spec = value[INCLUDE_KEY]
        at: Ref = (index, f"{ptr}/{escape_key(INCLUDE_KEY)}")
        if isinstance(spec, str):
            result = self.load(spec, at, chain, level)
        elif isinstance(spec, list):
            loaded = []
            for i, item in enumerate(spec):
                if not isinstance(item, str):
                    raise self.fail((index, f"{at[1]}/{i}"), f"$include: each entry is a path, found {_kind(item)}")
                loaded.append(self.load(item, (index, f"{at[1]}/{i}"), chain, level))
            result = reduce(merge, loaded, ({}, (ref, {})))
            result = (result[0], (ref, result[1][1]))
        else:
            raise self.fail(at, f"$include: expected a path or a list of paths, found {_kind(spec)}")
        others = [k for k in value if k != INCLUDE_KEY]
        if not others:
            return result
        if not isinstance(result[0], dict):
            raise self.fail(at, f"$include: keys beside $include need the included value to be an object; "
                                f"it is {_kind(result[0])}")
        rest, kids = {}, {}
        for key in others:
            rest[key], kids[key] = self.process(value[key], (index, f"{ptr}/{escape_key(key)}"), chain, level + 1)
        merged = merge(result, (rest, (ref, kids)))
        return merged[0], (ref, merged[1][1])

    # -- files ---------------------------------------------------------------------------------------
    def load(self, path: str, at: Ref, chain: tuple[str, ...], level: int) -> tuple[object, Node]:
        shown = json.dumps(path, ensure_ascii=False)
        if "\0" in path:
            raise self.fail(at, f"$include {shown}: a path with a NUL character")
        if len(path) >= MAX_INCLUDE_PATH:
            raise self.fail(at, f"$include: a path of {len(path)} characters (the limit is {MAX_INCLUDE_PATH - 1})")
        if not path.strip():
            raise self.fail(at, "$include: an empty path")
        including = self.files[at[0]]
        base = posixpath.dirname(including.path)
        resolved = posixpath.normpath(path if posixpath.isabs(path) else posixpath.join(base, path))
        if not self.root_dir or not _inside(self.root_dir, resolved):
            raise self.fail(at, f"$include {shown} escapes the config's folder ({self.root_dir or 'none: stdin'}); "
                                "included files must stay under the folder of openclaw.json")
        if not self.fs.exists(resolved):
            raise self.fail(at, f"$include {shown}: no such file ({self._name(including, path, resolved)})")
        if not _inside(self.root_real, self.fs.realpath(resolved)):
            raise self.fail(at, f"$include {shown} resolves outside the config's folder through a symbolic link")
        if resolved in chain:
            names = [self.files[self.by_path[p]].name for p in chain if p in self.by_path]
            names.append(self.files[self.by_path[resolved]].name)
            raise self.fail(at, f"$include cycle: {' -> '.join(names)}")
        if len(chain) > MAX_INCLUDE_DEPTH:
            raise self.fail(at, f"$include {shown}: more than {MAX_INCLUDE_DEPTH} nested includes")
        index = self.by_path.get(resolved)
        if index is None:
            name = self._name(including, path, resolved)
            text = self.fs.read(resolved, name)
            self._spend(len(text), at)
            self.files.append(parse_file(name, resolved, text, self.max_depth))
            self.dirty.append(_dirty(self.files[-1]))
            index = self.by_path[resolved] = len(self.files) - 1
        else:
            self._spend(len(self.files[index].text), at)
        return self.process(self.files[index].value, (index, ""), (*chain, resolved), level)

    def _spend(self, size: int, at: Ref) -> None:
        self.budget -= size
        if self.budget < 0:
            limit = self.fs.max_bytes // (1 << 20)
            raise self.fail(at, f"the config and the files it includes (each inclusion counted) are over the "
                                f"{limit} MiB limit")

    @staticmethod
    def _name(including: SourceFile, written: str, resolved: str) -> str:
        """How findings name an included file: beside the including file's name for a relative path."""
        if posixpath.isabs(written):
            return resolved
        return posixpath.normpath(posixpath.join(posixpath.dirname(including.name), written))


def _dirty(file: SourceFile) -> set[str]:
    """The pointers of ``file`` that hold a ``$include`` at or below them."""
    out: set[str] = set()
    for ptr in file.spans:
        if ptr.endswith("/$include"):
            parent = ptr[: -len("/$include")]
            while parent not in out:
                out.add(parent)
                if not parent:
                    break
                parent = parent.rsplit("/", 1)[0]
    return out


def _kids(value: object, node: Node) -> dict | list | None:
    """The children of ``node``, a MOUNT opened one level."""
    ref, kids = node
    if kids != MOUNT:
        return kids
    index, ptr = ref
    if isinstance(value, dict):
        return {k: ((index, f"{ptr}/{escape_key(k)}"), MOUNT) for k in value}
    if isinstance(value, list):
        return [((index, f"{ptr}/{i}"), MOUNT) for i in range(len(value))]
    return None


def merge(a: tuple[object, Node], b: tuple[object, Node]) -> tuple[object, Node]:
    """OpenClaw's ``deepMerge`` (arrays concatenate, objects merge, otherwise ``b`` wins), on values and
    their origins together. Neither input is changed."""
    va, na = a
    vb, nb = b
    if isinstance(va, dict) and isinstance(vb, dict):
        out, kids, other = dict(va), dict(_kids(va, na)), _kids(vb, nb)
        for key, item in vb.items():
            if key in out:
                out[key], kids[key] = merge((out[key], kids[key]), (item, other[key]))
            else:
                out[key], kids[key] = item, other[key]
        return out, (na[0], kids)
    if isinstance(va, list) and isinstance(vb, list):
        return va + vb, (na[0], _kids(va, na) + _kids(vb, nb))
    return b


def _flatten(node: Node, files: list[SourceFile]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    runs: dict[int, tuple[list[str], dict[str, int]]] = {}  # file -> its pointers in order, and their places
    stack = [("", node)]
    while stack:
        ptr, (ref, kids) = stack.pop()
        if kids == MOUNT:
            index, inner = ref
            if not inner:  # a whole file
                for k in files[index].spans:
                    out[ptr + k] = (index, k)
                continue
            if index not in runs:
                keys = list(files[index].spans)
                runs[index] = (keys, {k: i for i, k in enumerate(keys)})
            keys, place = runs[index]
            i = place.get(inner)
            if i is None:
                out[ptr] = ref
                continue
            prefix, cut = inner + "/", len(inner)
            out[ptr] = ref
            i += 1
            while i < len(keys) and keys[i].startswith(prefix):  # the parts of a value are one run of entries
                out[ptr + keys[i][cut:]] = (index, keys[i])
                i += 1
            continue
        out[ptr] = ref
        if isinstance(kids, dict):
            stack.extend((f"{ptr}/{escape_key(k)}", n) for k, n in kids.items())
        elif isinstance(kids, list):
            stack.extend((f"{ptr}/{i}", n) for i, n in enumerate(kids))
    return out


def resolve(root: SourceFile, fs: ConfigFS, max_depth: int) -> tuple[object, ConfigSource]:
    """The merged document of ``root`` (a parsed config) and where each of its values came from."""
    if "include" not in root.text:  # no `$include` (nor an escaped spelling of it) anywhere
        return root.value, ConfigSource([root])
    resolver = _Resolver(root, fs, max_depth)
    value, node = resolver.process(root.value, (0, ""), (root.path,), 0)
    if len(resolver.files) == 1:
        return value, ConfigSource([root])
    return value, ConfigSource(resolver.files, _flatten(node, resolver.files))
