"""The result of `clawctl validate`: findings with positions, counts, and the exit decision."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from clawctl.core.errors import ExitCode
from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.registry import RuleInfo


def _no_source(file: str, line: int) -> str:
    return ""


@dataclass
class LintReport:
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
