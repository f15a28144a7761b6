"""Find and read fleet files: paths, folders (walked for *.yaml / *.yml), and stdin.

Everything refused here is refused with one line naming the file, and exit 3.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from clawctl.core.errors import InputError

MAX_BYTES = 16 * 1024 * 1024  # about 35,000 agents in one file; split larger fleets
YAML_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # as shown in findings
    path: Path | None  # None for stdin


def discover(paths: list[str], *, stdin_filename: str | None = None) -> list[Source]:
    """Expand folders (sorted, hidden and vendored folders skipped); keep the order given."""
    out: list[Source] = []
    seen: set[str] = set()
    for raw in paths:
        if raw == "-":
            out.append(Source(stdin_filename or "<stdin>", None))
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(_walk(path))
            if not found:
                raise InputError(f"{raw}: folder holds no *.yaml or *.yml file")
            for item in found:
                key = os.path.normpath(item)
                if key not in seen:
                    seen.add(key)
                    out.append(Source(str(item), item))
        elif path.exists() or path.is_symlink():
            key = os.path.normpath(path)
            if key not in seen:
                seen.add(key)
                out.append(Source(raw, path))
        else:
            raise InputError(f"{raw}: no such file or folder")
    return out


def _walk(folder: Path):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in files:
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                path = Path(root) / name
                # A FIFO or a device found in a folder is skipped: opening a FIFO waits for a writer.
                # Named on the command line, any kind of file is read (with the same bound).
                if path.is_file() or path.is_symlink() and not path.exists():
                    yield path


def read(source: Source, *, max_bytes: int = MAX_BYTES, stdin: BinaryIO | None = None) -> bytes:
    """The file's bytes, checked: size, text (UTF-8 only, a BOM is dropped).

    Every input is read with a bound, ``max_bytes + 1`` bytes at most, whatever it is: a regular
    file, standard input, a pipe or process substitution (``<(cmd)``), a FIFO or a device such as
    ``/dev/zero``. Reading one byte more than the limit is what tells an input over the limit.
    """
    if source.path is None:
        stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if stream is None:  # stdin closed (`<&-`)
            raise InputError(f"{source.name}: no standard input to read")
        try:
            data = _read_bounded(stream, max_bytes + 1)
        except OSError as exc:  # stdin redirected from a folder, say
            raise InputError(f"{source.name}: cannot read standard input: {exc.strerror or exc}") from None
    else:
        try:
            with open(source.path, "rb") as stream:
                info = os.fstat(stream.fileno())
                if stat.S_ISDIR(info.st_mode):
                    raise IsADirectoryError(source.path)
                if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                    raise InputError(_too_large(source.name, info.st_size, max_bytes))
                data = _read_bounded(stream, max_bytes + 1)
        except FileNotFoundError:
            raise InputError(f"{source.name}: no such file (a broken link?)") from None
        except IsADirectoryError:
            raise InputError(f"{source.name}: is a folder") from None
        except PermissionError:
            raise InputError(f"{source.name}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{source.name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # read no further than the limit: the size of a stream is unknown
        raise InputError(_too_large(source.name, None, max_bytes))
    return decode_check(source.name, data)


def _read_bounded(stream: BinaryIO, limit: int) -> bytes:
    """At most ``limit`` bytes from ``stream``, however few each read returns (a raw pipe)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = stream.read(left)
        if not chunk:  # end of input (None from a non-blocking stream with nothing to give: stop too)
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(name: str, size: int | None, limit: int) -> str:
    what = "the input is" if size is None else f"{size / 1048576:.1f} MiB is"
    return (f"{name}: {what} over the {limit // 1048576} MiB limit for one fleet file; "
            "split the fleet into several files")


def decode_check(name: str, data: bytes) -> bytes:
    """Refuse anything but UTF-8 text, naming the byte offset; drop a UTF-8 BOM."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise InputError(f"{name}: UTF-16/UTF-32 text; fleet files are UTF-8 (save the file as UTF-8)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{name}: binary data (a NUL byte at offset {nul}); not a fleet file")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InputError(
                f"{name}: not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); "
                "fleet files are UTF-8"
            ) from None
    return data
