"""What rapidyaml reads differently from YAML 1.2, or cannot survive, and how the loader guards it.

Each guard is a check of the text or of the parsed tree that costs nothing on a file without the
pattern it looks for, and that ends in a Y001 finding (refused, never misread) or a repair:

- four tags in a row (`[!a !b !c !d]`) kill the process inside rapidyaml 0.15: text with a tag
  after a tag goes to libyaml first, and rapidyaml never sees what libyaml refuses;
- a tab after `:`, `-`, `?` or `---` is read as part of a plain scalar (`name:<TAB>prod`);
- a comment inside a multi-line value of a flow mapping is read as part of the value (see
  ``yamlbuild.Misread``);
- a `|` or `>` block scalar that ends the file without a line break gets one added.

Syntax errors are worded by libyaml where it agrees the text is wrong (its messages are more
specific), with a word on tabs when one is near.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawctl.adapters import ryml_tree as rt
from clawctl.core.findings import Finding, Severity, Span

if TYPE_CHECKING:
    from clawctl.adapters.yamlbuild import Misread
    from clawctl.adapters.yamlload import LoadedYaml

_SECOND_OPINION_BYTES = 2 << 20  # libyaml words a syntax error better; past this size it is too slow


def clip_at_end_of_text(doc: LoadedYaml, root: int) -> None:
    """A `|` or `>` block scalar whose last line ends the file without a line break has no final
    line break to keep (YAML 1.2, clip chomping); rapidyaml adds one. Take it off again."""
    table, text = doc._table, doc.text
    assert table is not None
    # The last node in document order, and its path in the built value.
    node, path = root, []
    while table.types[node] & (rt.T_MAP | rt.T_SEQ):
        child, index, last = table.first_child[node], 0, -1
        while child >= 0:
            last, index, child = child, index + 1, table.next_sibling[child]
        if last < 0:
            return
        path.append(doc._key_text(last) if table.types[node] & rt.T_MAP else index - 1)
        node = last
    ty = table.types[node]
    start = table.val_off(node)  # the first line after the block scalar's header
    if not ty & (rt.T_VAL_LITERAL | rt.T_VAL_FOLDED) or ty & rt.T_VALREF or not 0 < start <= len(text):
        return
    header = text[text.rfind(b"\n", 0, start - 1) + 1:start - 1].split(b"#")[0].rstrip()
    if header[-1:].isdigit() or header.endswith((b"+", b"-")):  # an explicit indentation, or not clip
        return
    indent = -1
    for raw in text[start:].split(b"\n"):  # the content's indentation: its first line with text
        if raw.strip(b" "):
            indent = len(raw) - len(raw.lstrip(b" "))
            break
    last_line = text[text.rfind(b"\n") + 1:].decode("utf-8", "replace")
    content = last_line[indent:] if indent >= 0 and len(last_line) - len(last_line.lstrip(" ")) >= indent else ""
    if not content:  # the last line is empty or a comment after the scalar: its line break is real
        return
    holder, value = None, doc.data
    for part in path:
        if isinstance(value, dict) and part in value or isinstance(value, list) and 0 <= part < len(value):
            holder, value = value, value[part]  # type: ignore[index]
        else:
            return  # a merge key, a refused value: nothing built there to trim
    if not (isinstance(value, str) and value.endswith("\n") and value[:-1].endswith(content)):
        return
    if holder is None:
        doc.data = value[:-1]
    else:
        holder[path[-1]] = value[:-1]  # type: ignore[index]


_TAG_START_AFTER = frozenset(b" \t\r\n[{,")
_TAG_END = frozenset(b" \t\r\n[]{},")


def stacked_tags(text: bytes) -> bool:
    """Whether a tag is followed by another tag (anchors, comments and white space between).

    YAML gives a node one tag at most, so this is never valid YAML; but rapidyaml 0.15 crashes the
    whole process (a segmentation fault) on four tags in a row in a flow collection, such as
    `[!a !b !c !d]`. Text that looks like it, even inside a comment or a string, is checked by
    libyaml instead (one pass over the tags; it stops at the first pair).
    """
    size = len(text)
    i = text.find(b"!")
    while i >= 0:
        if i == 0 or text[i - 1] in _TAG_START_AFTER:
            j = i + 1
            while j < size and text[j] not in _TAG_END:
                j += 1
            while j < size:  # white space, comments and anchors may stand between two tags
                c = text[j]
                if c in b" \t\r\n":
                    j += 1
                elif c == 0x23:  # `#`: a comment to the end of the line
                    end = text.find(b"\n", j)
                    j = size if end < 0 else end
                elif c == 0x26:  # `&`: an anchor
                    j += 1
                    while j < size and text[j] not in _TAG_END:
                        j += 1
                else:
                    break
            if j < size and text[j] == 0x21:  # `!`
                return True
        i = text.find(b"!", i + 1)
    return False


def libyaml_refusal(doc: LoadedYaml) -> Finding | None:
    """libyaml's Y001 on a text it refuses, else None."""
    refused = _libyaml_error(doc)
    if refused is None:
        return None
    message, line, column = refused
    line, column = max(line, 1), max(column, 1)
    return Finding("Y001", Severity.ERROR, f"YAML syntax error: {message}", doc.name,
                   span=Span(line, column, line, column + 1))


def _libyaml_error(doc: LoadedYaml) -> tuple[str, int, int] | None:
    """(message, line, column) of libyaml's first error on the text, or None if it reads it.

    Events only: no node graph, no recursion. PyYAML counts lines at NEL, U+2028 and U+2029 too
    (YAML 1.1): its mark is placed by character index in our lines, which break at LF (YAML 1.2).
    """
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        return ("a text clawctl's YAML readers cannot check", 1, 1)
    try:
        for _event in yaml.parse(doc.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or "parse error") + (f" ({exc.context})" if exc.context else "")
        if mark is None:
            return (message, 1, 1)
        offset = len(doc.text.decode("utf-8", "replace")[:mark.index].encode("utf-8"))
        line, column = doc.position(offset)
        return (message, line, column)
    except yaml.YAMLError as exc:  # no position (a reader error names a character, not a place)
        return (str(exc).split("\n")[0] or "parse error", 0, 0)
    return None


# A plain scalar never holds `:` followed by a tab, nor starts with an indicator and a tab: in
# YAML 1.2 both are indicators followed by white space. rapidyaml reads tabs there as part of the
# scalar (`name:<TAB>prod` becomes the string "name:\tprod"). Seen in a plain scalar (with the
# byte after it), they are a misreading, never what the author wrote.
_TAB_STARTS = (b"-\t", b"?\t", b":\t", b"---\t", b"...\t")
_INDICATOR_ALONE = (b"-", b"?", b":", b"---", b"...")


def tab_misread(doc: LoadedYaml) -> Finding | None:
    """The first plain scalar that holds a tab rapidyaml misread as part of it, as a Y001 finding."""
    table, buf, text = doc._table, doc._buf, doc.text
    assert table is not None
    types, size = table.types, len(text)
    plain = rt.T_KEY_PLAIN | rt.T_VAL_PLAIN
    for node in range(len(types)):
        ty = types[node]
        if not ty & plain:
            continue
        for is_key, flag in ((True, rt.T_KEY_PLAIN), (False, rt.T_VAL_PLAIN)):
            if not ty & flag:
                continue
            off = table.key_off(node) if is_key else table.val_off(node)
            length = table.key_len[node] if is_key else table.val_len[node]
            if off < 0 or off + length > size:
                continue
            scalar = bytes(buf[off:off + length])
            # A one-line scalar is the text itself; a folded (multi-line) one was rewritten in place.
            unchanged = text[off:off + length] == scalar
            after = text[off + length:off + length + 1] if unchanged else b""
            if b":\t" in scalar:
                indicator = ":"
                at = (off + scalar.index(b":\t") if unchanged else text.find(b":\t", off)) + 1
            elif scalar.startswith(_TAB_STARTS):
                indicator = scalar[:scalar.index(b"\t")].decode()
                at = off + len(indicator)  # the first line is never moved by folding
            elif after == b"\t" and (scalar.endswith(b":") or scalar in _INDICATOR_ALONE):
                indicator = scalar.decode() if scalar in _INDICATOR_ALONE else ":"
                at = off + length
            else:
                continue
            line, column = doc.position(at)
            return Finding(
                "Y001", Severity.ERROR,
                f"YAML syntax error: a tab after `{indicator}`; clawctl's YAML reader (like PyYAML) "
                "does not take a tab as the space after an indicator: use a space",
                doc.name, span=Span(line, column, line, column + 1),
            )
    return None


def misread_finding(doc: LoadedYaml, misread: Misread) -> Finding:
    table = doc._table
    assert table is not None
    off = table.key_off(misread.node) if misread.key else table.val_off(misread.node)
    found = doc.text.find(misread.pattern.encode(), max(off, 0)) if 0 <= off <= len(doc.text) else -1
    at = found + (1 if misread.pattern[0] in " \t" else 0) if found >= 0 else max(off, 0)
    line, column = doc.position(at)
    if misread.pattern == ": ":
        what = ("`: ` inside a plain value: YAML reads it as a key and a value, clawctl's reader would "
                "read one string; quote the value or put the key on a line of its own")
    else:
        what = ("`#` after white space starts a comment, but clawctl's reader would read it as part of a "
                "value that goes on over several lines; end the value before the comment, or quote it")
    return Finding("Y001", Severity.ERROR, f"YAML syntax error: {what}", doc.name,
                   span=Span(line, column, line, column + 1))


def version_directive(doc: LoadedYaml) -> None:
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
        doc.name, span=Span(line_no, 1, line_no, min(len(line), 200) + 1),
    ))


def syntax_finding(doc: LoadedYaml, err: rt.ParseError) -> Finding:
    """Prefer libyaml's wording (more specific) when it also rejects the text, on texts small enough
    to scan twice; else rapidyaml's message and position."""
    message, line, column = err.message, err.line, err.column
    if len(doc.text) <= _SECOND_OPINION_BYTES:
        refused = _libyaml_error(doc)
        if refused is not None and refused[1] > 0:
            message, line, column = refused
    message += _tab_hint(doc.line_text(line), column, doc.line_text(line - 1) if line > 1 else "")
    return Finding("Y001", Severity.ERROR, f"YAML syntax error: {message}", doc.name,
                   span=Span(line, column, line, column + 1))


def _tab_hint(text: str, column: int, previous: str) -> str:
    """What a tab at or near a syntax error has to do with it, if there is one."""
    before = text[:column - 1]
    if text[column - 1:column] == "\t" and before.rstrip("\t")[-1:] in ("-", "?", ":") and before.strip(" \t"):
        indicator = before.rstrip("\t")[-1]
        return (f"; a tab after `{indicator}`: clawctl's YAML reader (like PyYAML) does not take a tab as the "
                "space after an indicator: use a space")
    if text[column - 1:column] == "\t" and not before.strip(" \t") or text[:1] == "\t":
        return "; YAML does not allow tabs for indentation"
    if "\t" in text or "\t" in previous:
        return ("; a tab near here may be the cause: YAML indents with spaces, and clawctl's reader "
                "(like PyYAML) takes no tab after `:`, `-` or `?`: use spaces")
    return ""
