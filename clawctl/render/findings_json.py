"""`clawctl validate --format json`: the findings as the documented JSON shape (docs: spec/cli.md).

The shape is a promise to scripts; tests pin it key for key. Findings come out in the order the
report holds them (the linter sorts them).
"""

from __future__ import annotations

import json
from typing import Any

from clawctl.core.findings import Finding, json_path
from clawctl.core.lint.report import LintReport

SCHEMA_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """One finding as its JSON object; positions are 1-based and null when unknown."""
    span = finding.span
    return {
        "file": finding.file,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "end_line": span.end_line if span else None,
        "end_column": span.end_column if span else None,
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "path": json_path(finding.path),
    }


def report_to_dict(report: LintReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "files": list(report.files),
        "findings": [finding_to_dict(f) for f in report.findings],
        "summary": report.counts(),
    }


def render_json(report: LintReport) -> str:
    return json.dumps(report_to_dict(report), indent=2) + "\n"
