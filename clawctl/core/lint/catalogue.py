"""The rule catalogue: every lint rule has a stable code, a name, a severity, a summary and a doc entry.

Each family of :data:`FAMILIES` has one module, ``clawctl/core/lint/rules/<letter>_<family>.py``
(:func:`family_module`), whose rules register themselves with :func:`rule`. A rule checks fleet files
(``target="fleet"``, the default: its check takes a ``LintContext``) or OpenClaw configs
(``target="openclaw"``: its check takes the configs given together, the ``O`` family). Some rules are raised
while loading or schema-checking a file (for example the ``Y``, ``S`` and ``V`` codes); their family
module registers them with :func:`declare`, without a check function, so that docs, ``--select`` and
``clawctl rule`` know them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from clawctl.core.findings import Finding, Severity

DOCS_PAGE = "docs/rules.md"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    family: str
    check: Callable[..., Iterable[Finding]] | None = None
    target: str = "fleet"  # what the check reads: "fleet" (fleet files) or "openclaw" (openclaw.json)

    @property
    def anchor(self) -> str:
        """The heading anchor of this rule in docs/rules.md."""
        return f"{self.code.lower()}-{self.name}"

    @property
    def doc_ref(self) -> str:
        return f"{DOCS_PAGE}#{self.anchor}"


FAMILIES = {
    "Y": "YAML",
    "S": "Schema",
    "V": "Values",
    "A": "Agents",
    "B": "Backups",
    "I": "Isolation",
    "L": "Load balancing",
    "T": "Traffic",
    "X": "Secrets",
    "O": "OpenClaw",
    "C": "Suppressions",
}

RULES: dict[str, RuleInfo] = {}


def family_module(prefix: str) -> str:
    """The module that holds family ``prefix``'s rules: ``L`` -> ``clawctl.core.lint.rules.l_load_balancing``."""
    return f"clawctl.core.lint.rules.{prefix.lower()}_{FAMILIES[prefix].lower().replace(' ', '_')}"


def rule(code: str, name: str, severity: Severity, summary: str, doc: str = "", *, target: str = "fleet"):
    """Register a rule; used as a decorator on its check, or called bare for a rule raised elsewhere."""
    if code in RULES:
        raise ValueError(f"rule {code} registered twice")
    family = FAMILIES[code[0]]

    def register(check: Callable[..., Iterable[Finding]] | None) -> Callable[..., Iterable[Finding]] | None:
        RULES[code] = RuleInfo(code, name, severity, summary, textwrap.dedent(doc).strip(), family, check, target)
        return check

    return register


def declare(code: str, name: str, severity: Severity, summary: str, doc: str = "") -> None:
    rule(code, name, severity, summary, doc)(None)


def finding(code: str, message: str, file: str, path: tuple = (), *, at_key: bool = False,
            severity: Severity | None = None) -> Finding:
    """A finding of a registered rule, with the rule's severity unless told otherwise."""
    info = RULES.get(code) or all_rules()[code]
    return Finding(code, severity or info.severity, message, file, path, at_key=at_key)


def all_rules() -> dict[str, RuleInfo]:
    """Every rule, in catalogue order: by family (the order of FAMILIES), then by code.

    Modules register in whatever order they are first imported, so the order is fixed here rather
    than left to import order.
    """
    from clawctl.core.lint import load_rules

    load_rules()
    ordered = sorted(RULES.values(), key=_catalogue_order)
    if list(RULES.values()) != ordered:
        RULES.clear()
        RULES.update((info.code, info) for info in ordered)
    return RULES


_FAMILY_RANK = {prefix: i for i, prefix in enumerate(FAMILIES)}


def _catalogue_order(info: RuleInfo) -> tuple[int, str]:
    return _FAMILY_RANK[info.code[0]], info.code


def matches(code: str, selectors: Iterable[str]) -> bool:
    """ruff-style selection: a selector is a full code, a prefix (``B``, ``B00``) or ``ALL``."""
    return any(sel == "ALL" or code.startswith(sel) for sel in selectors)


def checks(target: str = "fleet") -> Iterator[RuleInfo]:
    """The rules with a check function for ``target`` (``fleet`` or ``openclaw``), in catalogue order."""
    for info in all_rules().values():
        if info.check is not None and info.target == target:
            yield info
