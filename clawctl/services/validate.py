"""`clawctl validate`: read the files, lint the fleet, place every finding, apply suppressions.

Fleet files (YAML) and OpenClaw configs (openclaw.json, JSON5) are told apart by name, then by content
(``adapters.openclaw_files.classify``), in folders too. Configs are read by ``core.openclaw.reader``
(``$include`` followed) and linted by the ``O`` rules, all configs of a run together; their findings
come placed already, in the file each value came from. An unreadable config (not JSON5, an include
missing, cyclic or outside the config's folder, a size bound) is one InputError (exit 3).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from clawctl.adapters import openclaw_files, sources
from clawctl.adapters.yamlload import LoadedYaml, load_yaml
from clawctl.core.errors import ClawctlError, ExitCode, InputError, UsageError
from clawctl.core.findings import Finding, Severity, Span
from clawctl.core.fleet import Fleet
from clawctl.core.lint import suppress
from clawctl.core.lint.catalogue import all_rules, checks
from clawctl.core.lint.engine import ParsedFile, Selection, lint
from clawctl.core.lint.masking import MaskedSource, mask_text
from clawctl.core.lint.report import LintReport
from clawctl.core.lint.rules.o_openclaw import OpenClawContext
from clawctl.core.lint.rules.x_secrets import Flagged, screen
from clawctl.core.openclaw import reader as oc_reader
from clawctl.core.openclaw.json5 import pointer
from clawctl.core.openclaw.model import OCConfig
from clawctl.core.openclaw.source import SourceFile


@dataclass
class ValidateOptions:
    select: Sequence[str] = ("ALL",)
    ignore: Sequence[str] = ()
    fail_on: Severity = Severity.ERROR
    stdin_filename: str | None = None
    stdin: BinaryIO | None = field(default=None, repr=False)
    openclaw: bool = True  # also read and lint OpenClaw configs (verbs that want one fleet say False)


def _check_selectors(selectors: Sequence[str], known: set[str], flag: str) -> None:
    for sel in selectors:
        if sel != "ALL" and not any(code.startswith(sel) for code in known):
            raise UsageError(f"{flag} {sel}: no rule code starts with `{sel}` (see `clawctl rule --all`)")


def load_files(paths: Sequence[str], options: ValidateOptions) -> list[LoadedYaml]:
    return _load(paths, options)[0]


def _load(paths: Sequence[str], options: ValidateOptions) -> tuple[list[LoadedYaml], list[OCConfig]]:
    """The fleet files and the OpenClaw configs among ``paths`` (folders searched), in the order given."""
    if not options.openclaw:
        found = sources.discover(list(paths) or ["."], stdin_filename=options.stdin_filename)
        return [load_yaml(src.name, sources.read(src, stdin=options.stdin)) for src in found], []
    docs: list[tuple[int, LoadedYaml]] = []
    configs: list[tuple[int, OCConfig]] = []
    found = openclaw_files.classify(list(paths) or ["."], stdin_filename=options.stdin_filename)
    later: list[tuple[int, sources.Source]] = []
    for at, (src, kind) in enumerate(found):
        if kind == openclaw_files.SNIFF:
            later.append((at, src))  # after the named configs: a file they include is theirs, not a config
            continue
        data = sources.read(src, stdin=options.stdin)
        if kind == openclaw_files.YAML:
            docs.append((at, load_yaml(src.name, data)))
        else:
            configs.append((at, openclaw_files.read_config(_path(src, options), text=data.decode("utf-8"),
                                                           name=src.name)))
    included = {f.path for _, c in configs if c.source is not None for f in c.source.files[1:]}
    for at, src in later:
        named = src.path is None or _named(src.name, paths)
        if not named and (os.path.abspath(src.path) in included or not openclaw_files.folder_config(src)):
            continue  # found in a folder: an included part of a config, or no config at all
        data = sources.read(src, stdin=options.stdin)
        root = _sniff(_path(src, options), data.decode("utf-8"), src.name, named)
        if root is not None:
            configs.append((at, openclaw_files.from_root(root)))
        elif named:
            docs.append((at, load_yaml(src.name, data)))  # named, not a config: a fleet file, as always
    docs.sort(key=lambda pair: pair[0])
    configs.sort(key=lambda pair: pair[0])
    return [d for _, d in docs], _drop_included([c for _, c in configs])


def _path(src: sources.Source, options: ValidateOptions) -> str:
    """The path a config is read from (its includes resolve beside it); stdin's is ``--stdin-filename``."""
    return str(src.path) if src.path is not None else (options.stdin_filename or "")


def _named(name: str, paths: Sequence[str]) -> bool:
    """Whether ``name`` was given on the command line (rather than found in a folder)."""
    return name in paths


def _sniff(path: str, text: str, name: str, named: bool) -> SourceFile | None:
    """The file parsed, when its content makes it an OpenClaw config: a JSON5 object that
    ``reader.looks_like_openclaw``. A ``*.json5`` file is a config whatever it holds (it cannot be a
    fleet file), so its syntax errors are reported as such (exit 3)."""
    json5_name = name.lower().endswith(".json5")
    if not named and not json5_name and not oc_reader.may_be_openclaw(text[:openclaw_files.HEAD_BYTES]):
        return None
    if not text.lstrip("\ufeff \t\r\n").startswith(("{", "/")):
        return None  # not an object (nor a comment before one): a fleet file, or nothing of ours
    try:
        root = openclaw_files.parse_root(path, text=text, name=name)
    except InputError:
        if json5_name:
            raise
        return None
    return root if json5_name or oc_reader.looks_like_openclaw(root.value) else None


def _drop_included(configs: list[OCConfig]) -> list[OCConfig]:
    """Configs that another config includes are part of it, not configs of their own."""
    included = {f.path for c in configs if c.source is not None for f in c.source.files[1:]}
    return [c for c in configs if c.source is None or c.source.files[0].path not in included]


@dataclass
class Checked:
    """A lint run with what later verbs need: the report, the fleets, and each file's data."""

    report: LintReport
    fleets: list[Fleet]
    data: dict[str, object]
    secrets: dict[str, list[Flagged]] = field(default_factory=dict)  # file -> what the secret screen flagged


def validate(paths: Sequence[str], options: ValidateOptions | None = None) -> LintReport:
    with _collector_paused():  # the files' values and the fleet are freed before the collector resumes
        report = _check(paths, options or ValidateOptions()).report
    return report


def check(paths: Sequence[str], options: ValidateOptions | None = None) -> Checked:
    with _collector_paused():
        return _check(paths, options or ValidateOptions())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while files are read and linted, then resumed.

    A check builds a few hundred thousand objects (the files' values, the models, the fleet) and frees
    almost none until it ends; at CPython's thresholds the collector walks them again and again, full
    collections included: about a fifth of the CPU of `clawctl validate` on 10,000 agents, and more
    than a third with 10,000 findings. Nothing here makes reference cycles to collect (reference
    counting frees what dies as before), and a check takes seconds at most. Left alone when the
    collector is off already (a nested check, or the caller's choice).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _check(paths: Sequence[str], options: ValidateOptions) -> Checked:
    rules = all_rules()
    known = set(rules)
    select = [s.strip().upper() for s in options.select if s.strip()]
    ignore = [s.strip().upper() for s in options.ignore if s.strip()]
    _check_selectors(select, known, "--select")
    _check_selectors(ignore, known, "--ignore")
    docs, configs = _load(paths, options)
    selection = Selection(select or ("ALL",), ignore)
    parsed = [ParsedFile(d.name, d.data, d.problems, d.text, d.user_keys, keys=d.keys, strings=d.strings)
              for d in docs]
    fleets, findings = lint(parsed, selection) if docs or not configs else ([], [])
    by_name = {d.name: d for d in docs}
    for f in findings:
        if f.span is None and f.file in by_name:
            f.span = by_name[f.file].locate(f.path, at_key=f.at_key)
    secrets = {p.name: p.secrets for p in parsed if p.secrets}
    oc_files = {f.name: f for c in configs if c.source is not None for f in c.source.files}
    if configs:
        ctx = OpenClawContext(configs)
        for info in checks("openclaw"):
            if selection.wants(info.code):
                findings.extend(info.check(ctx))  # type: ignore[misc]
        for name, file in oc_files.items():
            flags = screen(file.value, file.text.encode("utf-8"))
            if flags:
                secrets[name] = flags
    source = _masked_source(by_name, secrets, oc_files)
    if secrets:  # a message never repeats a flagged value, whichever rule wrote it
        values = {name: {flag.value for flag in flags} for name, flags in secrets.items()}
        # an O message may name values of other files of its config, or of another config: mask them all
        oc_values = set().union(*(values[name] for name in oc_files if name in values))
        for f in findings:
            if f.file in oc_files:
                f.message = mask_text(f.message, oc_values)
            elif f.file in values:
                f.message = mask_text(f.message, values[f.file])
    marks = []
    for doc in docs:
        if suppress.MARKER in doc.text:
            lines = [(n, doc.line_text(n)) for n in _marker_lines(doc)]
            marks.extend(suppress.find_suppressions(doc.name, lines))
    if marks:
        findings = [f for f in suppress.apply(findings, marks, known, selection.wants) if selection.wants(f.code)]
    findings.sort(key=Finding.sort_key)

    report = LintReport(files=[d.name for d in docs] + list(oc_files), findings=findings, rules=rules,
                        fail_on=options.fail_on, source_line=source)
    checked = Checked(report, fleets, {d.name: d.data for d in docs}, secrets)
    for doc in docs:
        doc.release()  # the report keeps each file's text for code frames, not its value or tree
    return checked


def _masked_source(by_name: dict[str, LoadedYaml], secrets: dict[str, list[Flagged]],
                   oc_files: dict[str, SourceFile] | None = None) -> MaskedSource:
    """Source lines for code frames, with every value the secret screen flagged masked."""
    oc_files = oc_files or {}

    def line(file: str, number: int) -> str:
        doc = by_name.get(file)
        if doc is not None:
            return doc.line_text(number)
        oc = oc_files.get(file)
        return oc.line_text(number) if oc is not None else ""

    spans: dict[str, list[Span]] = {}
    for name, flags in secrets.items():
        doc = by_name.get(name)
        if doc is not None:
            located = (doc.locate(flag.path, at_key=flag.at_key) for flag in flags)
        else:
            oc = oc_files[name]
            located = (oc.span(pointer(flag.path), at_key=flag.at_key) for flag in flags)
        spans[name] = [span for span in located if span is not None]
    return MaskedSource(line, spans, {name: {flag.value for flag in flags} for name, flags in secrets.items()})


def load_fleet(path: str) -> Fleet:
    """The one fleet in ``path`` for verbs that act on it; any error finding refuses it with the exit code
    `clawctl validate` gives that fleet (1, findings)."""
    checked = check([path], ValidateOptions(openclaw=False))
    if checked.report.failed:
        first = next(f for f in checked.report.findings if f.severity.value == "error")
        where = f"{first.file}:{first.span.line}" if first.span else first.file
        raise ClawctlError(f"{where}: {first.code} {first.message} (run `clawctl validate {path}`)",
                           exit_code=ExitCode.FINDINGS)
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
