"""C: inline suppressions, ``# clawctl: ignore[CODE, ...]`` on the line of a finding."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from clawctl.core.findings import Finding, Severity, Span
from clawctl.core.lint.registry import declare

MARKER = b"clawctl:"
_COMMENT = re.compile(r"(?:^|\s)#\s*clawctl:\s*ignore(?:\[([^\]]*)\])?")

declare("C001", "unused-suppression", Severity.WARNING, "A suppression comment that suppresses nothing.", """
    `# clawctl: ignore[CODE]` hides findings of CODE that start on its line. When none does (the
    problem was fixed, or the comment sits on the wrong line), the comment is stale: remove it.
""")
declare("C002", "bad-suppression", Severity.WARNING, "A suppression comment without codes, or with an unknown code.", """
    Suppressions name the rules they silence: `# clawctl: ignore[B007]`, or several separated by
    commas. A bare `# clawctl: ignore` would hide everything on the line, so it is not honoured.
""")


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
