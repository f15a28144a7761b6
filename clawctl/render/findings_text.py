"""Findings for people: `file:line:col: CODE [severity] message`, a code frame, and a summary.

Without colour (a pipe, CI, NO_COLOR) lines are written straight to the stream: a fleet with
thousands of findings prints in a fraction of a second. With colour, rich styles them.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from clawctl.core.env import Env
from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.report import LintReport, LintStatistics
from clawctl.render.console import console

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_MAX_FRAME = 200  # characters of a source line shown in a frame

Part = tuple[str, str | None]
_MASKED = frozenset({"X001", "X002"})  # findings about secrets never echo the secret in their frame


def _mask(text: str, span) -> str:
    end = span.end_column if span.end_line == span.line else len(text) + 1
    start = span.column - 1
    return text[:start] + "*" * min(max(end - 1 - start, 1), 8) + text[end - 1:]


class _Out:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.plain = console.color_system is None
        self.buffer: list[str] = []

    def line(self, *parts: Part) -> None:
        if self.plain:
            self.buffer.append("".join(text for text, _ in parts))
        else:
            self.console.print(Text.assemble(*((t, s or "") for t, s in parts)))

    def flush(self) -> None:
        if self.buffer:
            self.console.file.write("\n".join(self.buffer) + "\n")
            self.console.file.flush()
            self.buffer.clear()


def _frame(out: _Out, report: LintReport, f: Finding) -> None:
    span = f.span
    if span is None:
        return
    lines = []
    for number in (span.line - 1, span.line):
        if number >= 1:
            text = report.source_line(f.file, number)
            if number == span.line or text.strip():
                lines.append((number, text))
    width = len(str(span.line))
    gutter = " " * width
    blue = "blue"
    out.line((f"{gutter} |", blue))
    for number, text in lines:
        if number == span.line and f.code in _MASKED:
            text = _mask(text, span)
        out.line((f"{number:>{width}} | ", blue), (text.replace("\t", " ")[:_MAX_FRAME], None))
    end = span.end_column if span.end_line == span.line else len(lines[-1][1]) + 1
    length = max(1, min(end, _MAX_FRAME + 1) - span.column)
    if f.code in _MASKED:
        length = min(length, 8)
    out.line((f"{gutter} | ", blue), (" " * (span.column - 1) + "^" * length + f" {f.code}", _STYLE[f.severity]))
    for rel in f.related:
        if rel.span is not None:
            out.line((f"{gutter} = note: {rel.message} at {rel.file}:{rel.span.line}:{rel.span.column}", "dim"))
    out.line(("", None))


def _headline(f: Finding) -> tuple[Part, ...]:
    where = f"{f.file}:{f.span.line}:{f.span.column}:" if f.span else f"{f.file}:"
    style = _STYLE[f.severity]
    return ((where, "bold"), (" ", None), (f.code, style), (f" [{f.severity.value}] ", style), (f.message, None))


def render_text(report: LintReport, console: Console, *, frames: bool = True) -> None:
    out = _Out(console)
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


def render_statistics(report: LintReport, console: Console) -> None:
    out = _Out(console)
    for code, severity, count in report.statistics():
        info = report.rules.get(code)
        name = info.name if info else ""
        out.line((f"{count:>6}  ", None), (f"{code:<5}", _STYLE[severity]), (f" [{severity.value}] {name}", None))
    out.flush()


def text(report: LintReport, env: Env) -> None:
    render_text(report, console(env))


def statistics(result: LintStatistics, env: Env) -> None:
    render_statistics(result.report, console(env))
