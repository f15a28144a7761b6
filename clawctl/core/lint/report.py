"""The result of `clawctl validate`: findings with positions, counts, and the exit decision."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from clawctl.core.errors import ExitCode
from clawctl.core.findings import Finding, Severity, json_path
from clawctl.core.lint.catalogue import RuleInfo

SCHEMA_VERSION = 1


def _no_source(file: str, line: int) -> str:
    return ""


@dataclass
class LintReport:
    view: ClassVar[str] = "lint"

    files: list[str]
    findings: list[Finding]
    rules: dict[str, RuleInfo]
    fail_on: Severity = Severity.ERROR
    source_line: Callable[[str, int], str] = field(default=_no_source, repr=False)

    def counts(self) -> dict[str, int]:
        by = Counter(f.severity.value for f in self.findings)
        return {"error": by["error"], "warning": by["warning"], "info": by["info"]}

    def statistics(self) -> list[tuple[str, Severity, int]]:
        """(code, severity, count), most frequent first."""
        by = Counter((f.code, f.severity) for f in self.findings)
        return [(code, sev, n) for (code, sev), n in sorted(by.items(), key=lambda kv: (-kv[1], kv[0][0]))]

    @property
    def failed(self) -> bool:
        return any(f.severity.rank >= self.fail_on.rank for f in self.findings)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FINDINGS if self.failed else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        """`clawctl validate --format json`: a promise to scripts (docs/cli.md); tests pin it key for key."""
        return {
            "schema_version": SCHEMA_VERSION,
            "files": list(self.files),
            "findings": [finding_dict(f) for f in self.findings],
            "summary": self.counts(),
        }


@dataclass
class LintStatistics:
    """`clawctl validate --statistics`: findings counted per rule, most frequent first."""

    view: ClassVar[str] = "lint-statistics"

    report: LintReport

    def rows(self) -> list[tuple[str, Severity, int]]:
        return self.report.statistics()

    @property
    def exit_code(self) -> ExitCode:
        return self.report.exit_code

    def as_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION,
                "statistics": [{"code": c, "severity": s.value, "count": n} for c, s, n in self.rows()]}


def finding_dict(finding: Finding) -> dict[str, Any]:
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


@dataclass
class RuleList:
    """`clawctl rule`: one rule or the whole catalogue."""

    view: ClassVar[str] = "rules"

    rules: list[RuleInfo]

    def as_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION,
                "rules": [{"code": r.code, "name": r.name, "severity": r.severity.value, "family": r.family,
                           "summary": r.summary, "doc": r.doc} for r in self.rules]}
