"""`clawctl validate --format github`: GitHub Actions workflow commands, one line per finding.

Each line becomes an annotation on the pull request: ``::error file=F,line=L,...::message``.
Escaping follows the Actions runner: in the message ``%``, CR and LF are percent-encoded; in
property values ``:`` and ``,`` are too (they delimit the properties). Other control, bidi and
format characters, which the runner passes through to the log and the annotation, are shown as
escapes (clawctl/render/safe.py).
"""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.report import LintReport
from clawctl.render.safe import escape_char, escape_unsafe

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """A message for the runner: `%`, CR and LF percent-encoded (the annotation shows the line breaks);
    every other control, bidi or format character shown as an escape (`\\x1b`), as in the text view."""
    text = escape_unsafe(text, escape_char, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _title(finding: Finding, report: LintReport) -> str:
    info = report.rules.get(finding.code)
    return f"{finding.code} {info.name}" if info else finding.code


def github_command(finding: Finding, report: LintReport) -> str:
    props: list[tuple[str, str]] = [("file", finding.file)]
    span = finding.span
    if span is not None:
        # GitHub annotations take columns only for a range on one line; a multi-line range keeps
        # its lines and drops the columns.
        one_line = span.end_line == span.line
        props.append(("line", str(span.line)))
        if one_line:
            props.append(("col", str(span.column)))
        props.append(("endLine", str(span.end_line)))
        if one_line:
            props.append(("endColumn", str(span.end_column)))
    props.append(("title", _title(finding, report)))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{COMMANDS[finding.severity]} {rendered}::{escape_data(finding.message)}"


def render_github(report: LintReport) -> str:
    return "".join(github_command(f, report) + "\n" for f in report.findings)


def github(report: LintReport, env: Env) -> str:
    return render_github(report)
