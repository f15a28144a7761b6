"""Where each value of an openclaw.json was written: the files read, and a map from the merged
document's JSON pointers to the file and pointer each value came from. Pure.

:class:`SourceFile` is one file as read (its text, its own value, the span of every value in it);
:class:`ConfigSource` is the config with its ``$include`` files, and answers "where is ``/bindings/3``?"
with the included file and the line and column in it (:meth:`ConfigSource.locate`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from clawctl.core.findings import Span
from clawctl.core.openclaw.json5 import SHIFT, key_end, unpack, value_end
from clawctl.core.openclaw.model import Pos


@dataclass(eq=False)
class SourceFile:
    """One file as read: ``name`` as findings show it, ``path`` absolute (``""`` for stdin)."""

    name: str
    path: str
    text: str
    value: object
    spans: dict[str, int] = field(repr=False)  # JSON pointer in this file -> packed span (json5.unpack)
    _starts: list[int] | None = field(default=None, repr=False)

    def line_starts(self) -> list[int]:
        if self._starts is None:
            text, starts = self.text, [0]
            i = text.find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = text.find("\n", i + 1)
            self._starts = starts
        return self._starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of ``offset``."""
        starts = self.line_starts()
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def line_text(self, number: int) -> str:
        """Line ``number`` (1-based) without its line break; ``""`` past the end."""
        starts = self.line_starts()
        if not 1 <= number <= len(starts):
            return ""
        end = starts[number] - 1 if number < len(starts) else len(self.text)
        return self.text[starts[number - 1]:end].rstrip("\r")

    def pos(self, pointer: str) -> Pos | None:
        packed = self.spans.get(pointer)
        if packed is None:
            return None
        return Pos(self.name, *self.line_col(unpack(packed)[0]))

    def span(self, pointer: str, *, at_key: bool = False) -> Span | None:
        """The span of the value at ``pointer`` (of its key with ``at_key``, when it has one)."""
        packed = self.spans.get(pointer)
        if packed is None:
            return None
        start, key = unpack(packed)
        if at_key and key >= 0:
            start, end = key, key_end(self.text, key)
        else:
            end = value_end(self.text, start)
        line, col = self.line_col(start)
        end_line, end_col = self.line_col(end)
        return Span(line, col, end_line, end_col)


@dataclass(eq=False)
class ConfigSource:
    """The files of one config (the config first) and where each value of the merged document came from.

    ``origin`` maps a pointer of the merged document to ``(file index, pointer in that file)``; it is
    None when nothing was included (every pointer is the config's own).
    """

    files: list[SourceFile]
    origin: dict[str, tuple[int, str]] | None = field(default=None, repr=False)

    def resolve(self, pointer: str) -> tuple[SourceFile, str]:
        """The file and the pointer in it of ``pointer``, or of its nearest ancestor that was written."""
        while True:
            if self.origin is None:
                if pointer in self.files[0].spans:
                    return self.files[0], pointer
            else:
                ref = self.origin.get(pointer)
                if ref is not None:
                    return self.files[ref[0]], ref[1]
            if not pointer:
                return self.files[0], ""
            pointer = pointer.rsplit("/", 1)[0]

    def locate(self, pointer: str, *, at_key: bool = False) -> tuple[str, Span | None]:
        """(file name, span) of the value at ``pointer`` (or its nearest written ancestor)."""
        file, inner = self.resolve(pointer)
        return file.name, file.span(inner, at_key=at_key)

    def positions(self) -> dict[str, Pos]:
        """Every value's position, by pointer of the merged document."""
        out: dict[str, Pos] = {}
        right = bisect.bisect_right
        if self.origin is None:
            file = self.files[0]
            name, starts = file.name, file.line_starts()
            for ptr, packed in file.spans.items():
                start = packed % SHIFT
                line = right(starts, start)
                out[ptr] = Pos(name, line, start - starts[line - 1] + 1)
            return out
        names = [f.name for f in self.files]
        starts_of = [f.line_starts() for f in self.files]
        spans_of = [f.spans for f in self.files]
        for ptr, (index, inner) in self.origin.items():
            packed = spans_of[index].get(inner)
            if packed is None:
                continue
            start, starts = packed % SHIFT, starts_of[index]
            line = right(starts, start)
            out[ptr] = Pos(names[index], line, start - starts[line - 1] + 1)
        return out
