"""Findings for people: `file:line:col: CODE [severity] message`, a code frame, and a summary.

Without colour (a pipe, CI, NO_COLOR) lines are written straight to the stream: a fleet with
thousands of findings prints in a fraction of a second, and rich is not even imported. With colour,
rich styles them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from clawctl.core.env import Env
from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.masking import LINE_MASK
from clawctl.core.lint.report import LintReport, LintStatistics
from clawctl.render.safe import safe_with_columns, terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_MAX_FRAME = 200  # characters of a source line shown in a frame

Part = tuple[str, str | None]
_MASKED = frozenset({"X001", "X002"})  # findings about secrets also mask their own span in the frame


class _Out:
    """Where the lines go: a rich console that styles them, or (``console`` None, or a console without
    colour) plain lines written to ``stream`` (the console's own when there is one)."""

    def __init__(self, console: Console | None, stream: TextIO | None = None) -> None:
        self.console = console
        self.plain = console is None or console.color_system is None
        self.stream = console.file if console is not None else stream
        self.buffer: list[str] = []

    def line(self, *parts: Part) -> None:
        if self.plain:
            self.buffer.append("".join(text for text, _ in parts))
        else:
            from rich.text import Text

            assert self.console is not None
            self.console.print(Text.assemble(*((t, s or "") for t, s in parts)))

    def flush(self) -> None:
        if self.buffer:
            assert self.stream is not None
            self.stream.write("\n".join(self.buffer) + "\n")
            self.stream.flush()
            self.buffer.clear()


def _out(env: Env) -> _Out:
    """The env's console on a terminal that may take colour; elsewhere (a pipe, CI, `NO_COLOR`,
    `--no-color`), where its console would style nothing either, the stream itself."""
    if env.colour_allowed and _isatty(env.stdout):
        from clawctl.render.console import console

        return _Out(console(env))
    return _Out(None, env.stdout)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _pieces(report: LintReport, file: str, number: int) -> list[tuple[str, bool]]:
    """Line ``number`` as ``(text, secret)`` parts: the report's source masks secrets when it can say where."""
    pieces = getattr(report.source_line, "pieces", None)
    if pieces is not None:
        return pieces(file, number)
    return [(report.source_line(file, number), False)]


def _cut(pieces: list[tuple[str, bool]], start: int, end: int) -> list[tuple[str, bool]]:
    """``pieces`` with the characters ``[start, end)`` of their text marked secret as well."""
    out: list[tuple[str, bool]] = []
    at = 0
    for text, secret in pieces:
        n = len(text)
        if secret or end <= at or start >= at + n:
            out.append((text, secret))
        else:
            a, b = max(start - at, 0), min(end - at, n)
            out += [(text[:a], False), (text[a:b], True), (text[b:], False)]
        at += n
    return [(t, s) for t, s in out if t]


def _display(pieces: list[tuple[str, bool]]) -> tuple[str, list[int], list[int]]:
    """What a frame shows for a source line, and where each of its characters went.

    Secrets become ``********``; tabs one space; control and bidi characters escapes. ``starts[i]``
    and ``ends[i]`` are the shown offsets of where character ``i`` of the raw line starts and where
    the character before it ends (they differ only inside a masked secret, which a caret covers whole).
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for text, secret in pieces:
        if secret:
            starts += [at] * len(text)
            ends += [at] + [at + len(LINE_MASK)] * (len(text) - 1)
            out.append(LINE_MASK)
            at += len(LINE_MASK)
            continue
        shown, cols = safe_with_columns(text.replace("\t", " "))
        starts += [at + c for c in cols[:-1]]
        ends += [at + c for c in cols[:-1]]
        out.append(shown)
        at += len(shown)
    starts.append(at)
    ends.append(at)
    return "".join(out), starts, ends


def _frame(out: _Out, report: LintReport, f: Finding) -> None:
    span = f.span
    if span is None:
        return
    lines: list[tuple[int, list[tuple[str, bool]]]] = []
    for number in (span.line - 1, span.line):
        if number >= 1:
            pieces = _pieces(report, f.file, number)
            if number == span.line or "".join(t for t, _ in pieces).strip():
                lines.append((number, pieces))
    width = len(str(span.line))
    gutter = " " * width
    blue = "blue"
    out.line((f"{gutter} |", blue))
    caret = (0, 1)
    for number, pieces in lines:
        raw_length = sum(len(t) for t, _ in pieces)
        start = min(span.column - 1, raw_length)
        end = min(span.end_column - 1, raw_length) if span.end_line == span.line else raw_length
        if number == span.line and f.code in _MASKED:
            pieces = _cut(pieces, start, max(end, start + 1))
        shown, starts, ends = _display(pieces)
        if number == span.line:
            caret = (starts[start], max(ends[max(end, start)], starts[start] + 1))
        out.line((f"{number:>{width}} | ", blue), (shown[:_MAX_FRAME], None))
    first, last = min(caret[0], _MAX_FRAME), min(caret[1], _MAX_FRAME + 1)
    out.line((f"{gutter} | ", blue), (" " * first + "^" * max(1, last - first) + f" {f.code}", _STYLE[f.severity]))
    for rel in f.related:
        if rel.span is not None:
            where = f"{terminal_safe(rel.file)}:{rel.span.line}:{rel.span.column}"
            out.line((f"{gutter} = note: {terminal_safe(rel.message)} at {where}", "dim"))
    out.line(("", None))


def _headline(f: Finding) -> tuple[Part, ...]:
    file = terminal_safe(f.file)
    where = f"{file}:{f.span.line}:{f.span.column}:" if f.span else f"{file}:"
    style = _STYLE[f.severity]
    return ((where, "bold"), (" ", None), (f.code, style), (f" [{f.severity.value}] ", style),
            (terminal_safe(f.message), None))


def render_text(report: LintReport, out: _Out, *, frames: bool = True) -> None:
    for f in report.findings:
        out.line(*_headline(f))
        if frames:
            _frame(out, report, f)
    counts = report.counts()
    total = sum(counts.values())
    files = len(report.files)
    noun = "file" if files == 1 else "files"
    if total == 0:
        out.line((f"All checks passed: {files} {noun}, no findings.", "green"))
    else:
        parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items() if n]
        out.line((f"Found {total} finding{'s' if total != 1 else ''} in {files} {noun} ({', '.join(parts)}).",
                  "bold"))
    out.flush()


def render_statistics(report: LintReport, out: _Out) -> None:
    for code, severity, count in report.statistics():
        info = report.rules.get(code)
        name = info.name if info else ""
        out.line((f"{count:>6}  ", None), (f"{code:<5}", _STYLE[severity]), (f" [{severity.value}] {name}", None))
    out.flush()


def text(report: LintReport, env: Env) -> None:
    render_text(report, _out(env))


def statistics(result: LintStatistics, env: Env) -> None:
    render_statistics(result.report, _out(env))
