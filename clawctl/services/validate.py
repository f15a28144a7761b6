"""`clawctl validate`: read the files, lint the fleet, place every finding, apply suppressions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from clawctl.adapters import sources
from clawctl.adapters.yamlload import LoadedYaml, load_yaml
from clawctl.core.errors import UsageError
from clawctl.core.findings import Finding, Severity, Span
from clawctl.core.fleet import Fleet
from clawctl.core.lint import suppress
from clawctl.core.lint.catalogue import all_rules
from clawctl.core.lint.engine import ParsedFile, Selection, lint
from clawctl.core.lint.masking import MaskedSource, mask_text
from clawctl.core.lint.report import LintReport
from clawctl.core.lint.rules.x_secrets import Flagged


@dataclass
class ValidateOptions:
    select: Sequence[str] = ("ALL",)
    ignore: Sequence[str] = ()
    fail_on: Severity = Severity.ERROR
    stdin_filename: str | None = None
    stdin: BinaryIO | None = field(default=None, repr=False)


def _check_selectors(selectors: Sequence[str], known: set[str], flag: str) -> None:
    for sel in selectors:
        if sel != "ALL" and not any(code.startswith(sel) for code in known):
            raise UsageError(f"{flag} {sel}: no rule code starts with `{sel}` (see `clawctl rule --all`)")


def load_files(paths: Sequence[str], options: ValidateOptions) -> list[LoadedYaml]:
    found = sources.discover(list(paths) or ["."], stdin_filename=options.stdin_filename)
    return [load_yaml(src.name, sources.read(src, stdin=options.stdin)) for src in found]


@dataclass
class Checked:
    """A lint run with what later verbs need: the report, the fleets, and each file's data."""

    report: LintReport
    fleets: list[Fleet]
    data: dict[str, object]
    secrets: dict[str, list[Flagged]] = field(default_factory=dict)  # file -> what the secret screen flagged


def validate(paths: Sequence[str], options: ValidateOptions | None = None) -> LintReport:
    return check(paths, options).report


def check(paths: Sequence[str], options: ValidateOptions | None = None) -> Checked:
    options = options or ValidateOptions()
    rules = all_rules()
    known = set(rules)
    select = [s.strip().upper() for s in options.select if s.strip()]
    ignore = [s.strip().upper() for s in options.ignore if s.strip()]
    _check_selectors(select, known, "--select")
    _check_selectors(ignore, known, "--ignore")
    docs = load_files(paths, options)
    selection = Selection(select or ("ALL",), ignore)
    parsed = [ParsedFile(d.name, d.data, d.problems, d.text, d.user_keys) for d in docs]
    fleets, findings = lint(parsed, selection)
    by_name = {d.name: d for d in docs}
    for f in findings:
        if f.span is None and f.file in by_name:
            f.span = by_name[f.file].locate(f.path, at_key=f.at_key)
    secrets = {p.name: p.secrets for p in parsed if p.secrets}
    source = _masked_source(by_name, secrets)
    if secrets:  # a message never repeats a flagged value, whichever rule wrote it
        values = {name: {flag.value for flag in flags} for name, flags in secrets.items()}
        for f in findings:
            if f.file in values:
                f.message = mask_text(f.message, values[f.file])
    marks = []
    for doc in docs:
        if suppress.MARKER in doc.text:
            lines = [(n, doc.line_text(n)) for n in _marker_lines(doc)]
            marks.extend(suppress.find_suppressions(doc.name, lines))
    if marks:
        findings = [f for f in suppress.apply(findings, marks, known, selection.wants) if selection.wants(f.code)]
    findings.sort(key=Finding.sort_key)

    report = LintReport(files=[d.name for d in docs], findings=findings, rules=rules,
                        fail_on=options.fail_on, source_line=source)
    return Checked(report, fleets, {d.name: d.data for d in docs}, secrets)


def _masked_source(by_name: dict[str, LoadedYaml], secrets: dict[str, list[Flagged]]) -> MaskedSource:
    """Source lines for code frames, with every value the secret screen flagged masked."""

    def line(file: str, number: int) -> str:
        doc = by_name.get(file)
        return doc.line_text(number) if doc else ""

    spans: dict[str, list[Span]] = {}
    for name, flags in secrets.items():
        doc = by_name[name]
        located = (doc.locate(flag.path, at_key=flag.at_key) for flag in flags)
        spans[name] = [span for span in located if span is not None]
    return MaskedSource(line, spans, {name: {flag.value for flag in flags} for name, flags in secrets.items()})


def load_fleet(path: str) -> Fleet:
    """The one fleet in ``path`` for verbs that act on it; any error finding refuses it (exit 2)."""
    checked = check([path])
    if checked.report.failed:
        first = next(f for f in checked.report.findings if f.severity.value == "error")
        where = f"{first.file}:{first.span.line}" if first.span else first.file
        raise UsageError(f"{where}: {first.code} {first.message} (run `clawctl validate {path}`)")
    if len(checked.fleets) != 1:
        names = ", ".join(f.name for f in checked.fleets[:3]) + (", ..." if len(checked.fleets) > 3 else "")
        raise UsageError(f"{path}: expected one fleet, found {len(checked.fleets)} ({names}); files merge into "
                         "one fleet only when they share `metadata.name`")
    return checked.fleets[0]


def _marker_lines(doc: LoadedYaml) -> list[int]:
    text = doc.text
    out = []
    i = text.find(suppress.MARKER)
    while i >= 0:
        out.append(text.count(b"\n", 0, i) + 1)
        i = text.find(suppress.MARKER, i + 1)
    return sorted(set(out))
