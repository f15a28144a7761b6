"""Run the catalogue over parsed fleet files: schema per file, then the fleet-level rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from clawctl.core.findings import Finding
from clawctl.core.fleet import Fleet, merge
from clawctl.core.lint import load_rules
from clawctl.core.lint.catalogue import checks, finding, matches
from clawctl.core.lint.context import LintContext
from clawctl.core.lint.rules.x_secrets import Flagged, screen, secret_findings
from clawctl.core.model.base import strip_user_keys
from clawctl.core.model.fleet_file import FleetFile


@dataclass
class ParsedFile:
    """A file as the loader left it: its name, its YAML value, and the loader's findings."""

    name: str
    data: object
    problems: list[Finding]
    text: bytes = b""  # the source, for rules that pre-screen it (secrets)
    user_keys: bool = True  # whether any key may start with `x-` (False lets the engine skip a pass)
    secrets: list[Flagged] = field(default_factory=list)  # set by the engine: what the secret screen flags
    keys: set[str] | None = None  # every distinct mapping key of data (or more), when the loader knows them
    strings: set[str] | None = None  # every distinct string value of data (or more), when the loader knows them


@dataclass
class Selection:
    select: Sequence[str] = ("ALL",)
    ignore: Sequence[str] = ()

    def wants(self, code: str) -> bool:
        return matches(code, self.select) and not matches(code, self.ignore)


def _shape_findings(parsed: ParsedFile) -> Iterable[Finding]:
    if any(p.code == "Y001" for p in parsed.problems):
        return
    if parsed.data is None:
        yield finding("Y007", "the file is empty; a fleet file is a mapping with at least `agents`", parsed.name)
    elif not isinstance(parsed.data, dict):
        kind = "a list" if isinstance(parsed.data, list) else "a single value"
        yield finding("Y007", f"the top level is {kind}; a fleet file is a mapping with at least `agents`",
                      parsed.name)


def fleet_key(file: str, model: FleetFile) -> tuple[str, str]:
    """Files merge into one fleet only when they share a non-empty `metadata.name`; a file without
    one is a fleet of its own (`staging.yaml` and `prod.yaml` may define the same agents)."""
    if model.metadata and model.metadata.name:
        return ("name", model.metadata.name)
    return ("file", file)


def build_fleets(files: Sequence[ParsedFile]) -> tuple[list[LintContext], list[Finding]]:
    """Schema-check each file, merge files into fleets, and return them with every finding so far."""
    load_rules()
    from clawctl.core.lint.schema_check import check_file

    findings: list[Finding] = []
    groups: dict[tuple[str, str], list[tuple[str, FleetFile]]] = {}
    raw: dict[str, object] = {}
    texts: dict[str, bytes] = {}
    for parsed in files:
        findings.extend(parsed.problems)
        if parsed.data is not None:
            # Every file is screened, whatever its shape: what the screen flags is masked wherever
            # the file is shown or stored, also when X002 is not selected or is suppressed.
            parsed.secrets = screen(parsed.data, parsed.text or None, parsed.keys, parsed.strings)
        shape = list(_shape_findings(parsed))
        findings.extend(shape)
        if shape or not isinstance(parsed.data, dict):
            findings.extend(secret_findings(parsed.name, parsed.secrets))
            continue
        raw[parsed.name] = parsed.data
        texts[parsed.name] = parsed.text
        data = strip_user_keys(parsed.data) if parsed.user_keys else parsed.data
        model, schema_findings = check_file(parsed.name, data)
        findings.extend(schema_findings)
        literal = {f.path for f in schema_findings if f.code == "X001"}  # X001 already says it
        findings.extend(f for f in secret_findings(parsed.name, parsed.secrets) if f.path not in literal)
        if model is not None:
            groups.setdefault(fleet_key(parsed.name, model), []).append((parsed.name, model))
    contexts = []
    for members in groups.values():
        fleet, merge_findings = merge(members)
        findings.extend(merge_findings)
        names = set(fleet.files)
        contexts.append(LintContext(fleet=fleet, raw={k: v for k, v in raw.items() if k in names},
                                    texts={k: v for k, v in texts.items() if k in names}))
    return contexts, findings


def lint(files: Sequence[ParsedFile], selection: Selection | None = None) -> tuple[list[Fleet], list[Finding]]:
    """Every finding for the fleets made of ``files`` (positions not yet resolved)."""
    selection = selection or Selection()
    contexts, findings = build_fleets(files)
    for info in checks():
        if selection.wants(info.code):
            for ctx in contexts:
                findings.extend(info.check(ctx))  # type: ignore[misc]
    return [c.fleet for c in contexts], [f for f in findings if selection.wants(f.code)]
