"""Inline suppressions, ``# clawctl: ignore[CODE, ...]`` on the line of a finding.

The C rules this raises for stale or malformed comments are declared in rules/c_suppressions.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from clawctl.core.findings import Finding, Severity, Span

MARKER = b"clawctl:"
_COMMENT = re.compile(r"(?:^|\s)#\s*clawctl:\s*ignore(?:\[([^\]]*)\])?")


@dataclass(slots=True)
class Suppression:
    file: str
    line: int
    column: int
    codes: tuple[str, ...]
    used: set[str]


def find_suppressions(file: str, lines: list[tuple[int, str]]) -> list[Suppression]:
    """Suppression comments among ``(line number, text)`` pairs (only lines holding the marker)."""
    out = []
    for number, text in lines:
        m = _COMMENT.search(text)
        if not m:
            continue
        codes = tuple(c.strip().upper() for c in (m.group(1) or "").split(",") if c.strip())
        column = text.index("#", m.start()) + 1
        out.append(Suppression(file, number, column, codes, set()))
    return out


def apply(findings: list[Finding], suppressions: list[Suppression], known: set[str],
          checked: Callable[[str], bool] = lambda code: True) -> list[Finding]:
    """Drop suppressed findings; add C001/C002 findings for stale or malformed comments.

    ``checked(code)`` says whether rule ``code`` ran: a suppression of a rule that was not run
    (``--ignore``, ``--select``) cannot be judged unused.
    """
    by_line = {(s.file, s.line): s for s in suppressions}
    kept = []
    for f in findings:
        s = by_line.get((f.file, f.span.line)) if f.span else None
        if s is not None and f.code in s.codes:
            s.used.add(f.code)
            continue
        kept.append(f)
    for s in suppressions:
        span = Span(s.line, s.column, s.line, s.column + 1)
        if not s.codes:
            kept.append(Finding("C002", Severity.WARNING,
                                "suppression names no rule; write `# clawctl: ignore[CODE]`", s.file, span=span))
            continue
        for code in s.codes:
            if code not in known:
                kept.append(Finding("C002", Severity.WARNING, f"suppression names unknown rule `{code}`",
                                    s.file, span=span))
            elif code not in s.used and checked(code):
                kept.append(Finding("C001", Severity.WARNING,
                                    f"suppression of {code} suppresses nothing on this line; remove it",
                                    s.file, span=span))
    return kept
