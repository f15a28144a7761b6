"""JSON5, as OpenClaw reads openclaw.json, with the position of every value by JSON pointer. Pure.

Why a scanner of our own: no maintained Python JSON5 library reports positions at the speed a lint
needs. Measured on one 700 kB openclaw.json (1,000 agents, 5,000 bindings; bench/openclaw_validate.py):

- ``json5`` (dpranke, the reference Python port): ~9 s, values only;
- ``json-five``: ~6.5 s, and its model loader has line/column per node, but at that same speed;
- ``json5kit``: ~0.9 s, a concrete syntax tree without positions, last released 2023;
- ``pyjson5`` (Cython): ~0.01 s, values only, no positions;
- ``json5-document``: spans, but Python 3.12+ only (clawctl supports 3.11).

So this module tokenises with compiled regular expressions (the C regex engine does the character
work) and builds the values in the same single pass, recording for each value where it starts and
where its key starts. String escapes go through one ``re.sub``; numbers through ``int``/``float``.
Handing the values to ``pyjson5`` and keeping only positions here was the other way: it would add a
compiled dependency and a second pass over the text, while the pass that finds every position costs
about what building the values does. The 700 kB file parses in ~0.12 s on a 2-core machine (the
benchmark prints its figure beside ``json.loads`` of the same data as JSON, measured in the same run).

The grammar is JSON5 1.0.0: ``//`` and ``/* */`` comments, trailing commas, unquoted keys (ECMAScript
identifier names; letters, digits, ``_``, ``$``, and ``\\uXXXX`` escapes), single-quoted strings,
line continuations, ``\\x`` escapes, hexadecimal numbers, leading or trailing decimal points, a
leading ``+``, ``Infinity`` and ``NaN``. As in JavaScript a repeated key keeps its first place and
takes its last value. Deviations: lone UTF-16 surrogate escapes are refused (they are not text);
unquoted keys use Python's Unicode letters and digits (``\\w``) for ECMAScript's ID_Start/ID_Continue
classes, which differ only for rare marks; lines are counted at ``\\n`` only (a lone ``\\r`` or U+2028
ends no line for positions, as in the YAML loader).

Bounds, checked as the text is read: nesting depth (``max_depth``) and the number of values
(``max_values``), so no input makes the parser recurse or allocate without limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_DEPTH = 64  # the YAML loader's bound (adapters/yamlload.py); callers pass theirs
MAX_VALUES = 1_000_000  # a 16 MiB config of ordinary content holds about 900,000

SHIFT = 1 << 25  # a span packs (start, key start + 1) in one int; texts are under 32 Mi characters

_WS = "\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SKIP = re.compile(rf"(?:[{_WS}]+|//[^\n\r\u2028\u2029]*|/\*[\s\S]*?\*/)*")
_DQ = re.compile(r'"([^"\\\n\r]*)"')
_SQ = re.compile(r"'([^'\\\n\r]*)'")
_DQ_ESC = re.compile(r'"((?:[^"\\\n\r]|\\(?:\r\n|[\s\S]))*)"')
_SQ_ESC = re.compile(r"'((?:[^'\\\n\r]|\\(?:\r\n|[\s\S]))*)'")
_NUMBER = re.compile(r"[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"
                     r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_IDENT = re.compile(r"(?:[^\W\d]|\$|\\u[0-9a-fA-F]{4})(?:[\w$\u200c\u200d]|\\u[0-9a-fA-F]{4})*")
_IDENT_PART = re.compile(r"[\w$\u200c\u200d]")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\s\S]))")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}
_BLANK = frozenset("\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff/"
                   + "".join(map(chr, range(0x2000, 0x200B))))  # characters that may start a skip
_CONTINUATION = ("\n", "\r", "\r\n", "\u2028", "\u2029")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Json5Error(ValueError):
    """Not JSON5: ``message`` at character ``offset`` of the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def escape_key(key: str) -> str:
    """``key`` as one JSON pointer segment (RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``)."""
    if "~" in key or "/" in key:
        return key.replace("~", "~0").replace("/", "~1")
    return key


def pointer(path: tuple) -> str:
    """``("agents", "list", 0, "id")`` -> ``/agents/list/0/id``."""
    return "".join("/" + escape_key(str(p)) for p in path)


def unpack(span: int) -> tuple[int, int]:
    """(where the value starts, where its key starts or -1) from a packed span."""
    return span % SHIFT, span // SHIFT - 1


def _unescape(body: str, start: int) -> str:
    def one(m: re.Match) -> str:
        hex4, hex2, other = m.groups()
        if hex4 is not None:
            return chr(int(hex4, 16))
        if hex2 is not None:
            return chr(int(hex2, 16))
        if other in _CONTINUATION:
            return ""
        if other in "123456789":
            raise Json5Error(f"`\\{other}` is not an escape in JSON5 strings", start + m.start())
        if other == "0" and m.end() < len(body) and body[m.end()].isdigit():
            raise Json5Error("`\\0` followed by a digit is not allowed in JSON5 strings", start + m.start())
        return _SIMPLE.get(other, other)

    text = _ESCAPE.sub(one, body)
    if _SURROGATE.search(text):
        try:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise Json5Error("a lone UTF-16 surrogate escape (`\\uD800`-`\\uDFFF`) is not text", start) from None
    return text


def _number(token: str) -> int | float:
    sign = -1 if token[0] == "-" else 1
    bare = token.lstrip("+-")
    if bare[:2] in ("0x", "0X"):
        return sign * int(bare, 16)
    if bare == "Infinity":
        return sign * float("inf")
    if bare == "NaN":
        return float("nan")
    if "." in bare or "e" in bare or "E" in bare:
        return sign * float(bare)
    return sign * int(bare)


def _describe(text: str, i: int) -> str:
    if i >= len(text):
        return "the end of the text"
    c = text[i]
    return f"`{c}`" if c.isprintable() and not c.isspace() else f"character U+{ord(c):04X}"


def _make(text: str, spans: dict[str, int], max_depth: int, max_values: int) -> Callable[[int, str, int, int], tuple]:
    """The value reader for ``text``: ``value(at, pointer, key_at, depth) -> (value, end)``, recording
    ``spans[pointer]`` for every value it reads."""
    skip = _SKIP.match
    dq, sq, ident, number = _DQ.match, _SQ.match, _IDENT.match, _NUMBER.match
    count = [0]
    n = len(text)
    blank = _BLANK
    shift = SHIFT

    def string(i: int) -> tuple[str, int]:
        quote = text[i]
        m = (dq if quote == '"' else sq)(text, i)
        if m is not None:
            return m.group(1), m.end()
        m = (_DQ_ESC if quote == '"' else _SQ_ESC).match(text, i)
        if m is None:
            line_end = min((p for p in (text.find("\n", i), text.find("\r", i)) if p >= 0), default=len(text))
            raise Json5Error("unterminated string: a string ends on its own line (a newline inside it "
                             "needs `\\n` or a `\\` before the line break)", line_end)
        body = m.group(1)
        return (_unescape(body, i + 1) if "\\" in body else body), m.end()

    def fail_value(i: int) -> None:
        if i >= len(text):
            raise Json5Error("unexpected end of the text: a value is missing", i)
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            raise Json5Error("unterminated `/*` comment", i)
        if c in "}],":
            raise Json5Error(f"expected a value, found `{c}`", i)
        m = ident(text, i)
        if m is not None:
            raise Json5Error(f"`{m.group()}` is not a value: strings need quotes (true, false, null, "
                             "numbers, Infinity and NaN are the bare words JSON5 knows)", i)
        raise Json5Error(f"expected a value, found {_describe(text, i)}", i)

    def value(i: int, ptr: str, key_at: int, depth: int) -> tuple[object, int]:
        count[0] += 1
        if count[0] > max_values:
            raise Json5Error(f"more than {max_values:,} values; split the config with $include", i)
        spans[ptr] = i + (key_at + 1) * SHIFT
        c = text[i] if i < n else ""
        if c == "{":
            if depth >= max_depth:
                raise Json5Error(f"nested deeper than {max_depth} levels", i)
            obj: dict = {}
            j = skip(text, i + 1).end()
            if text.startswith("}", j):
                return obj, j + 1
            while True:
                k = text[j] if j < n else ""
                if k == '"' or k == "'":
                    key, after = string(j)
                else:
                    m = ident(text, j)
                    if m is None:
                        if j >= len(text):
                            raise Json5Error("unexpected end of the text: `}` is missing", j)
                        raise Json5Error(f"expected a key or `}}`, found {_describe(text, j)}", j)
                    key, after = m.group(), m.end()
                    if "\\" in key:
                        key = _unescape(key, j)
                a = after if text.startswith(":", after) else skip(text, after).end()
                if not text.startswith(":", a):
                    raise Json5Error(f"expected `:` after the key, found {_describe(text, a)}", a)
                b = a + 1
                if b < n and text[b] in blank:
                    b = skip(text, b).end()
                child = ptr + "/" + (escape_key(key) if ("~" in key or "/" in key) else key)
                if key in obj:
                    spans["\0dupes"] = 1
                m = dq(text, b) if text.startswith('"', b) else None
                if m is not None:  # the common case, a plain string, read here without a call
                    count[0] += 1
                    if count[0] > max_values:
                        raise Json5Error(f"more than {max_values:,} values; split the config with $include", b)
                    spans[child] = b + (j + 1) * shift
                    obj[key] = m.group(1)
                    end = m.end()
                else:
                    obj[key], end = value(b, child, j, depth + 1)
                j = skip(text, end).end() if end < n and text[end] in blank else end
                k = text[j] if j < n else ""
                if k == ",":
                    j = skip(text, j + 1).end()
                    if text.startswith("}", j):
                        return obj, j + 1
                elif k == "}":
                    return obj, j + 1
                elif not k:
                    raise Json5Error("unexpected end of the text: `}` is missing", j)
                else:
                    raise Json5Error(f"expected `,` or `}}`, found {_describe(text, j)}", j)
        if c == "[":
            if depth >= max_depth:
                raise Json5Error(f"nested deeper than {max_depth} levels", i)
            arr: list = []
            j = skip(text, i + 1).end()
            if text.startswith("]", j):
                return arr, j + 1
            index = 0
            while True:
                item, end = value(j, f"{ptr}/{index}", -1, depth + 1)
                arr.append(item)
                index += 1
                j = skip(text, end).end() if end < n and text[end] in blank else end
                k = text[j] if j < n else ""
                if k == ",":
                    j = skip(text, j + 1).end()
                    if text.startswith("]", j):
                        return arr, j + 1
                elif k == "]":
                    return arr, j + 1
                elif not k:
                    raise Json5Error("unexpected end of the text: `]` is missing", j)
                else:
                    raise Json5Error(f"expected `,` or `]`, found {_describe(text, j)}", j)
        if c == '"' or c == "'":
            return string(i)
        if c == "t" and text.startswith("true", i):
            end = i + 4
            if not _IDENT_PART.match(text, end):
                return True, end
        elif c == "f" and text.startswith("false", i):
            end = i + 5
            if not _IDENT_PART.match(text, end):
                return False, end
        elif c == "n" and text.startswith("null", i):
            end = i + 4
            if not _IDENT_PART.match(text, end):
                return None, end
        else:
            m = number(text, i)
            if m is not None:
                end = m.end()
                if end < len(text) and (text[end].isdigit() or _IDENT_PART.match(text, end)):
                    raise Json5Error(f"malformed number `{text[i:end + 1]}`", i)
                return _number(m.group()), end
        fail_value(i)
        raise AssertionError  # fail_value always raises

    return value


def parse(text: str, *, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES) -> tuple[object, dict[str, int]]:
    """``(value, spans)``: the document's value and, for every value in it, where it was written.

    ``spans`` maps a JSON pointer (``""`` the root, ``/agents/list/0/id``) to a packed span
    (:func:`unpack`: the value's first character and its key's, as offsets into ``text``), in document
    order: a value comes before its parts, and the parts of a value are one run of entries.
    Raises :class:`Json5Error` (with the offset of the problem) for anything that is not JSON5.
    """
    if len(text) >= SHIFT:
        raise Json5Error(f"over {SHIFT // (1 << 20)} Mi characters", 0)
    spans: dict[str, int] = {}
    start = _SKIP.match(text, 0).end()
    if start >= len(text):
        if text.find("/*", 0) >= 0 and "*/" not in text[text.find("/*"):]:
            raise Json5Error("unterminated `/*` comment", text.find("/*"))
        raise Json5Error("the text holds no value (empty, or only comments)", start)
    try:
        data, end = _make(text, spans, max_depth, max_values)(start, "", -1, 0)
    except RecursionError:  # only with a max_depth above what the interpreter allows
        raise Json5Error(f"nested too deep for this reader (max_depth {max_depth})", start) from None
    end = _SKIP.match(text, end).end()
    if end < len(text):
        if text.startswith("/*", end):
            raise Json5Error("unterminated `/*` comment", end)
        raise Json5Error(f"unexpected {_describe(text, end)} after the end of the value", end)
    if spans.pop("\0dupes", None) is not None:
        spans = _preorder(data, spans)
    return data, spans


def _preorder(data: object, spans: dict[str, int]) -> dict[str, int]:
    """``spans`` of the values ``data`` holds, in document order (pre-order: a value, then its parts).

    Needed only when a key was repeated: the later value replaced the earlier, whose parts must go, and
    its own parts were recorded after the keys between. Callers rely on the order (a subtree is a run)."""
    out: dict[str, int] = {}
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        ptr, value = stack.pop()
        if ptr in spans:
            out[ptr] = spans[ptr]
        if isinstance(value, dict):
            stack.extend(reversed([(f"{ptr}/{escape_key(k)}", v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{ptr}/{i}", v) for i, v in enumerate(value)]))
    return out


def value_end(text: str, start: int) -> int:
    """Where the value that starts at ``start`` of (already parsed) ``text`` ends (exclusive)."""
    return _make(text, {}, 1 << 30, 1 << 62)(start, "", -1, 0)[1]


def key_end(text: str, key_at: int) -> int:
    """Where the key that starts at ``key_at`` ends (exclusive)."""
    c = text[key_at]
    if c == '"' or c == "'":
        m = (_DQ_ESC if c == '"' else _SQ_ESC).match(text, key_at)
    else:
        m = _IDENT.match(text, key_at)
    return m.end() if m is not None else key_at + 1
