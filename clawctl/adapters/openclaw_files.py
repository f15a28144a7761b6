"""OpenClaw configs on disk: the file system the reader includes through, and finding configs in folders.

The reader (``clawctl.core.openclaw.reader``) is pure; :class:`LocalFS` gives it files with the bounds
every input gets (``sources.read``: 16 MiB, UTF-8 only). :func:`read_config` is the one call for a
path. :func:`classify` says how `clawctl validate` reads each path it is given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from clawctl.adapters import sources
from clawctl.adapters.sources import Source
from clawctl.adapters.yamlload import MAX_DEPTH
from clawctl.core.errors import InputError
from clawctl.core.openclaw import reader
from clawctl.core.openclaw.model import OCConfig
from clawctl.core.openclaw.source import SourceFile

JSON_SUFFIXES = (".json", ".json5")
HEAD_BYTES = 64 * 1024  # how much of a *.json file in a folder is read to tell whether it is a config

# How a path is read: a fleet file (YAML), an OpenClaw config, or either, decided by its content.
YAML, OPENCLAW, SNIFF = "yaml", "openclaw", "sniff"


class LocalFS:
    """The real file system, bounded as ``sources.read`` bounds every input."""

    def __init__(self, max_bytes: int = sources.MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def abspath(self, path: str) -> str:
        return os.path.abspath(os.path.expanduser(path)) if path else ""

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def exists(self, path: str) -> bool:
        return os.path.isfile(path) or (os.path.exists(path) and not os.path.isdir(path))

    def read(self, path: str, name: str) -> str:
        return read_bytes(Source(name, Path(path)), max_bytes=self.max_bytes).decode("utf-8")


def read_config(path: str, *, text: str | None = None, name: str | None = None) -> OCConfig:
    """The openclaw.json at ``path``, ``$include`` resolved (InputError, exit 3, when it cannot be read)."""
    return reader.read_config(path, LocalFS(), text=text, name=name, max_depth=MAX_DEPTH)


def parse_root(path: str, *, text: str | None = None, name: str | None = None) -> SourceFile:
    """The file at ``path`` parsed as a config, its includes not yet followed (``reader.parse_root``)."""
    return reader.parse_root(path, LocalFS(), text=text, name=name, max_depth=MAX_DEPTH)


def from_root(root: SourceFile) -> OCConfig:
    """The config of a :func:`parse_root` file, ``$include`` resolved."""
    return reader.from_root(root, LocalFS(), max_depth=MAX_DEPTH)


def classify(paths: list[str], *, stdin_filename: str | None = None) -> list[tuple[Source, str]]:
    """Every file to lint, with how to read it (:data:`YAML`, :data:`OPENCLAW` or :data:`SNIFF`).

    Named on the command line: ``openclaw.json``, ``openclaw.json5`` and ``*.openclaw.json[5]`` are
    OpenClaw configs, ``*.yaml``/``*.yml`` fleet files, anything else is decided by its content. In a
    folder: fleet files as ``sources.discover`` finds them, configs by name, and other ``*.json`` and
    ``*.json5`` files when their content is a config (:func:`folder_config`).
    """
    out: list[tuple[Source, str]] = []
    seen: set[str] = set()
    for raw in paths:
        if raw == "-":
            name = stdin_filename or "<stdin>"
            out.append((Source(name, None), _by_name(name)))
            continue
        path = Path(raw)
        if path.is_dir():
            found = [(src, YAML) for src in _yaml_in(raw)]
            found += [(Source(str(p), p), OPENCLAW if reader.is_config_name(p.name) else SNIFF)
                      for p in sorted(_json_in(path))]
            if not found:
                raise InputError(f"{raw}: folder holds no *.yaml, *.yml or openclaw.json file")
            for src, kind in found:
                key = os.path.normpath(src.path)
                if key not in seen:
                    seen.add(key)
                    out.append((src, kind))
        elif path.exists() or path.is_symlink():
            key = os.path.normpath(path)
            if key not in seen:
                seen.add(key)
                out.append((Source(raw, path), _by_name(raw)))
        else:
            raise InputError(f"{raw}: no such file or folder")
    return out


def _by_name(name: str) -> str:
    if reader.is_config_name(name):
        return OPENCLAW
    if name.lower().endswith(sources.YAML_SUFFIXES):
        return YAML
    return SNIFF


def _yaml_in(folder: str) -> list[Source]:
    try:
        return sources.discover([folder])
    except InputError:  # a folder without fleet files may still hold configs
        return []


def _json_in(folder: Path):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in sources._SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.lower().endswith(JSON_SUFFIXES) and not name.startswith("."):
                path = Path(root) / name
                if path.is_file():  # FIFOs and devices in a folder are skipped, as for fleet files
                    yield path


def folder_config(source: Source) -> bool:
    """Whether a ``*.json`` file found in a folder is worth reading as a config: its first 64 KiB look
    like one (:func:`reader.may_be_openclaw`). Unreadable or binary files are not."""
    try:
        with open(source.path, "rb") as fh:  # type: ignore[arg-type]
            head = fh.read(HEAD_BYTES)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    return reader.may_be_openclaw(head.decode("utf-8", "replace"))


def read_bytes(source: Source, stdin: BinaryIO | None = None, *, max_bytes: int = sources.MAX_BYTES) -> bytes:
    if source.path is not None:
        _refuse_missing(source)
    return sources.read(source, stdin=stdin, max_bytes=max_bytes)


def _refuse_missing(source: Source) -> None:
    """A path that is not there: "no such file", unless it is a link whose target is gone (then say so)."""
    path = source.path
    if os.path.islink(path) and not os.path.exists(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise InputError(f"{source.name}: a broken link (to {target}, which does not exist)")
    if not os.path.lexists(path):
        raise InputError(f"{source.name}: no such file")
