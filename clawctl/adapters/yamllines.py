"""Lines and columns of byte offsets in a fleet file's text, and the text of a line (for positions and code
frames), without a table of every line.

The text is cut into blocks of 1 KiB; the index keeps, per block, how many newlines come before it and
where the last of them is: 16 bytes per KiB of text, built with one count per block (loops in C, about
5 ms for 4.6 MB). A look-up counts the newlines of one block. A table of every line start cost a loop
in Python (50 ms for 4.6 MB) or, for large files, numpy (60 ms to import), before the first position.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

_LINE_BLOCK = 1024  # bytes per block
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: bytes - these = characters
_BLOCK = 4096  # bytes per block of the continuation-byte count (columns on long non-ASCII lines)
_CACHED_LINES = 64
_NEAR = 64  # a line this close after the last one asked for is found by stepping from it


class LineIndex:
    __slots__ = ("_ascii", "_before", "_blocks", "_cache", "_last", "_last_start", "lines", "text")

    def __init__(self, text: bytes) -> None:
        before, last = array("q"), array("q")  # per block: newlines before it, offset of the last of them
        total, previous = 0, -1
        count, rfind = text.count, text.rfind
        for start in range(0, len(text) + 1, _LINE_BLOCK):  # a block for the end of the text too
            before.append(total)
            last.append(previous)
            found = count(b"\n", start, start + _LINE_BLOCK)
            if found:
                total += found
                previous = rfind(b"\n", start, start + _LINE_BLOCK)
        self.text, self._before, self._last = text, before, last
        self.lines = total + 1  # a text without a newline is one line
        self._ascii = text.isascii()
        self._blocks: array | None = None  # characters before each block of _BLOCK bytes, when needed
        self._cache: dict[int, str] = {}  # line number -> text (findings come sorted: the same lines recur)
        self._last_start = (0, 0)  # the last line start() gave, and where it starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a byte offset (clamped to the text); columns count characters."""
        offset = max(0, min(offset, len(self.text)))
        line, start = self.locate(offset)
        if self._ascii:
            column = offset - start
        elif offset - start <= _BLOCK:
            column = len(self.text[start:offset].translate(None, _CONTINUATION))
        else:  # a long line: count through the block index rather than copy the line
            column = self._characters_before(offset) - self._characters_before(start)
        return line + 1, column + 1

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based), decoded, without its line break; "" past the end."""
        cached = self._cache.get(line)
        if cached is not None:
            return cached
        if not 1 <= line <= self.lines:
            return ""
        start = self.start(line - 1)
        end = self.text.find(b"\n", start)
        out = self.text[start:end if end >= 0 else len(self.text)].decode("utf-8", "replace").rstrip("\r")
        if len(self._cache) >= _CACHED_LINES:
            self._cache.clear()
        self._cache[line] = out
        return out

    def _characters_before(self, offset: int) -> int:
        """Characters in ``text[:offset]``, in time bounded by the block size (not the text size)."""
        if self._blocks is None:
            counts = array("q", [0])
            text, total = self.text, 0
            for start in range(0, len(text), _BLOCK):
                chunk = text[start:start + _BLOCK]
                total += len(chunk) - len(chunk.translate(None, _CONTINUATION))
                counts.append(total)
            self._blocks = counts
        block = offset // _BLOCK
        chunk = self.text[block * _BLOCK:offset]
        continuation = self._blocks[block] + len(chunk) - len(chunk.translate(None, _CONTINUATION))
        return offset - continuation

    def locate(self, offset: int) -> tuple[int, int]:
        """The 0-based line of ``offset`` (0 to ``len(text)``) and the offset where that line starts."""
        block = offset // _LINE_BLOCK
        start = block * _LINE_BLOCK
        line = self._before[block] + self.text.count(b"\n", start, offset)
        newline = self.text.rfind(b"\n", start, offset)
        return line, (newline if newline >= 0 else self._last[block]) + 1

    def start(self, line: int) -> int:
        """The offset where 0-based ``line`` (0 to ``lines - 1``) starts: just after its ``line``-th newline."""
        if line <= 0:
            return 0
        near, at = self._last_start
        if near <= line <= near + _NEAR:  # code frames ask for lines in order: step on from the last one
            find = self.text.find
            for _ in range(line - near):
                at = find(b"\n", at) + 1
        else:
            block = bisect_left(self._before, line) - 1  # the block holding that newline
            start = block * _LINE_BLOCK
            wanted = line - self._before[block]
            count = self.text.count
            # the shortest stretch of the block from its start that holds `wanted` newlines ends just after it
            ends = range(start + 1, min(start + _LINE_BLOCK, len(self.text)) + 1)
            at = ends[bisect_left(ends, wanted, key=lambda end: count(b"\n", start, end))]
        self._last_start = (line, at)
        return at
