"""Findings for people: `file:line:col: CODE [severity] message`, a code frame, and a summary."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.report import LintReport

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_MAX_FRAME = 200  # characters of a source line shown in a frame


def _frame(console: Console, report: LintReport, f: Finding) -> None:
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
    console.print(Text(f"{gutter} |", style="blue"))
    for number, text in lines:
        shown = text.replace("\t", " ")[:_MAX_FRAME]
        row = Text(f"{number:>{width}} | ", style="blue")
        row.append(shown)
        console.print(row)
    end = span.end_column if span.end_line == span.line else len(lines[-1][1]) + 1
    length = max(1, min(end, _MAX_FRAME + 1) - span.column)
    marker = Text(f"{gutter} | ", style="blue")
    marker.append(" " * (span.column - 1) + "^" * length + f" {f.code}", style=_STYLE[f.severity])
    console.print(marker)
    for rel in f.related:
        if rel.span is not None:
            console.print(Text(f"{gutter} = note: {rel.message} at {rel.file}:{rel.span.line}:{rel.span.column}",
                               style="dim"))
    console.print()


def headline(f: Finding) -> Text:
    where = f"{f.file}:{f.span.line}:{f.span.column}:" if f.span else f"{f.file}:"
    line = Text(where, style="bold")
    line.append(" ")
    line.append(f.code, style=_STYLE[f.severity])
    line.append(f" [{f.severity.value}] ", style=_STYLE[f.severity])
    line.append(f.message)
    return line


def render_text(report: LintReport, console: Console, *, frames: bool = True) -> None:
    for f in report.findings:
        console.print(headline(f))
        if frames:
            _frame(console, report, f)
    counts = report.counts()
    total = sum(counts.values())
    files = len(report.files)
    noun = "file" if files == 1 else "files"
    if total == 0:
        console.print(Text(f"All checks passed: {files} {noun}, no findings.", style="green"))
        return
    parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items() if n]
    console.print(Text(f"Found {total} finding{'s' if total != 1 else ''} in {files} {noun} ({', '.join(parts)}).",
                       style="bold"))


def render_statistics(report: LintReport, console: Console) -> None:
    for code, severity, count in report.statistics():
        info = report.rules.get(code)
        name = info.name if info else ""
        row = Text(f"{count:>6}  ")
        row.append(f"{code:<5}", style=_STYLE[severity])
        row.append(f" [{severity.value}] {name}")
        console.print(row)
