"""C: inline suppression comments. Raised by clawctl/core/lint/suppress.py; declared here."""

from clawctl.core.findings import Severity
from clawctl.core.lint.catalogue import declare

declare("C001", "unused-suppression", Severity.WARNING, "A suppression comment that suppresses nothing.", """
    `# clawctl: ignore[CODE]` hides findings of CODE that start on its line. When none does (the
    problem was fixed, or the comment sits on the wrong line), the comment is stale: remove it.
""")
declare("C002", "bad-suppression", Severity.WARNING, "A suppression comment without codes, or with an unknown code.", """
    Suppressions name the rules they silence: `# clawctl: ignore[B007]`, or several separated by
    commas. A bare `# clawctl: ignore` would hide everything on the line, so it is not honoured.
""")
