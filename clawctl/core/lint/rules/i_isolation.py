"""I: session isolation levels and what agents at each level may read."""

from __future__ import annotations

from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import finding, rule
from clawctl.core.lint.context import LintContext
from clawctl.core.model.fleet_file import ENCRYPTION_ORDER
from clawctl.core.suggest import did_you_mean


def _levels(ctx: LintContext):
    iso = ctx.fleet.session_isolation
    return iso.security_levels if iso else []


@rule("I001", "undefined-isolation", Severity.ERROR, "An agent names an isolation level that is not defined.", """
    `isolation` must name a `level` of `session_isolation.security_levels`.
""")
def undefined_isolation(ctx: LintContext) -> Iterator[Finding]:
    names = [lv.level for lv in _levels(ctx)]
    seen: set[tuple] = set()  # an undefined level in `defaults` is reported once, not once per agent
    for agent in ctx.fleet.agents.values():
        if agent.isolation is not None and agent.isolation not in names:
            where = "no levels are defined" if not names else f"defined: {', '.join(names)}"
            path = ("agents", agent.id, "isolation") if agent.spec.isolation is not None else ("defaults", "isolation")
            if (agent.file, path) in seen:
                continue
            seen.add((agent.file, path))
            yield finding("I001", f"isolation level `{agent.isolation}` is not defined "
                          f"({where}){did_you_mean(agent.isolation, names)}", agent.file, path)


@rule("I002", "data-outside-level", Severity.ERROR, "An agent reads data its isolation level does not allow.", """
    When a level lists `data_classes`, an agent at that level may only list those classes in
    `data_access`. This keeps, say, medical records away from a scheduling agent.
""")
def data_outside_level(ctx: LintContext) -> Iterator[Finding]:
    levels = {lv.level: lv for lv in _levels(ctx)}
    allowed_sets = {lv.level: frozenset(lv.data_classes) for lv in levels.values() if lv.data_classes is not None}
    for agent in ctx.fleet.agents.values():
        level = levels.get(agent.isolation or "")
        if level is None or level.data_classes is None:
            continue
        if allowed_sets[level.level].issuperset(agent.data_access):
            continue  # the common case: nothing to report
        for i, data_class in enumerate(agent.data_access):
            if data_class not in level.data_classes:
                path = ("agents", agent.id, "data_access", i) if agent.spec.data_access is not None \
                    else ("defaults", "data_access", i)
                allowed = ", ".join(level.data_classes) or "nothing"
                yield finding("I002", f"agent `{agent.id}` at level `{level.level}` reads `{data_class}`, "
                              f"which that level does not allow (allowed: {allowed})", agent.file, path)


@rule("I003", "duplicate-level", Severity.ERROR, "Two isolation levels with the same name.", """
    Levels are named by `level`; a repeated name makes `isolation` ambiguous.
""")
def duplicate_level(ctx: LintContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, level in enumerate(_levels(ctx)):
        if level.level in seen:
            yield finding("I003", f"isolation level `{level.level}` is defined twice",
                          ctx.fleet.where("session_isolation"), ("session_isolation", "security_levels", i, "level"))
        seen.add(level.level)


@rule("I004", "weaker-encryption", Severity.WARNING, "A stricter isolation level encrypts less than a looser one.", """
    Levels are ranked by their order, strictest first. A stricter level whose `encryption` is weaker
    than a later (looser) level's is almost certainly a mistake. Order: none < AES-128 < AES-256 < AES-256-GCM.
""")
def weaker_encryption(ctx: LintContext) -> Iterator[Finding]:
    levels = _levels(ctx)
    for i, strict in enumerate(levels):
        if strict.encryption is None:
            continue
        for loose in levels[i + 1:]:
            if loose.encryption is not None and \
                    ENCRYPTION_ORDER.index(strict.encryption) < ENCRYPTION_ORDER.index(loose.encryption):
                yield finding("I004", f"level `{strict.level}` is stricter than `{loose.level}` but uses weaker "
                              f"encryption ({strict.encryption} < {loose.encryption})",
                              ctx.fleet.where("session_isolation"),
                              ("session_isolation", "security_levels", i, "encryption"))
                break
