"""Text that came from a fleet file or an agent, made safe to print on a terminal.

A fleet file's keys and values, file names, and what an agent answers can hold terminal escapes (ESC),
BEL, carriage returns and newlines that forge or overwrite lines, and bidirectional controls that
reorder what a reader sees. Every text renderer passes such strings through :func:`terminal_safe`,
which shows each of these characters as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``) and leaves
everything else as it is. JSON and SARIF need no such step (``json.dumps`` escapes them), and JUnit
XML uses it for its human-readable text.

Escaped: the C0 and C1 control characters and DEL (TAB, CR and LF included), the line and paragraph
separators (U+2028, U+2029), every format character (Unicode category Cf: the bidirectional
controls U+061C, U+200E, U+200F, U+202A-U+202E and U+2066-U+2069, zero-width characters, the byte
order mark, tag characters, ...), and lone surrogates. A backslash is not escaped: a file that spells
``\\x1b`` prints as ``\\x1b``, which is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Unicode 15 category Cf, plus Cc, Zl, Zp and Cs; tests/render/test_safe.py checks this against
# unicodedata for every code point.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(ch: str) -> str:
    """One unsafe character as its visible escape."""
    named = _NAMED.get(ch)
    if named:
        return named
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def _sub(match: re.Match[str]) -> str:
    return escape_char(match.group())


def terminal_safe(text: object) -> str:
    """``text`` (made a string) with every control, separator and format character shown as an escape."""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_sub, s) if _UNSAFE.search(s) else s


def escape_unsafe(text: str, escape: Callable[[str], str], keep: str = "") -> str:
    """``text`` with each character :func:`terminal_safe` escapes replaced by ``escape(ch)`` instead,
    except those in ``keep`` (a format with its own escaping for newlines keeps them)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else escape(m.group()), text)


def is_safe(text: str) -> bool:
    """Whether ``text`` holds nothing :func:`terminal_safe` would escape."""
    return _UNSAFE.search(text) is None


def safe_with_columns(text: str) -> tuple[str, list[int]]:
    """``terminal_safe(text)`` and where each character of ``text`` starts in it.

    ``starts[i]`` is the index in the result of the character at index ``i`` of ``text``;
    ``starts[len(text)]`` is the result's length. A code frame uses it to keep its carets under
    the characters they point at.
    """
    if _UNSAFE.search(text) is None:
        return text, list(range(len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    at = 0
    for ch in text:
        starts.append(at)
        piece = escape_char(ch) if _UNSAFE.match(ch) else ch
        out.append(piece)
        at += len(piece)
    starts.append(at)
    return "".join(out), starts
