"""Pick the renderer for `clawctl validate --format`: one entry point for every format."""

from __future__ import annotations

import sys

from clawctl.core.lint.report import LintReport


def emit(report: LintReport, fmt: str, *, statistics: bool = False, no_color: bool = False, version: str = "") -> None:
    if fmt == "text":
        from clawctl.render.console import make_console
        from clawctl.render.findings_text import render_statistics, render_text

        console = make_console(no_color=no_color)
        if statistics:
            render_statistics(report, console)
        else:
            render_text(report, console)
        return
    if statistics and fmt == "json":
        import json

        rows = [{"code": c, "severity": s.value, "count": n} for c, s, n in report.statistics()]
        sys.stdout.write(json.dumps({"schema_version": 1, "statistics": rows}, indent=2) + "\n")
        return
    if fmt == "json":
        from clawctl.render.findings_json import render_json as render
        out = render(report)
    elif fmt == "sarif":
        from clawctl.render.findings_sarif import render_sarif

        out = render_sarif(report, version)
    elif fmt == "github":
        from clawctl.render.findings_github import render_github

        out = render_github(report)
    elif fmt == "junit":
        from clawctl.render.findings_junit import render_junit

        out = render_junit(report)
    else:  # pragma: no cover - typer restricts the choices
        raise ValueError(fmt)
    sys.stdout.write(out if out.endswith("\n") or not out else out + "\n")
