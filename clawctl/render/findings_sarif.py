"""`clawctl validate --format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; the driver lists the rules that have findings; each result points at the file and line
(GitHub needs a region with ``startLine >= 1`` on every result, so a finding with no position
points at line 1) and names the offending value by its JSON path as a logical location.
Columns count characters (``columnKind: unicodeCodePoints``), as the YAML loader counts them.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import orjson

from clawctl.core.env import Env
from clawctl.core.findings import Finding, Severity, Span, json_path
from clawctl.core.lint.catalogue import RuleInfo
from clawctl.core.lint.report import LintReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "clawctlFingerprint/v1"
STDIN_NAMES = frozenset({"-", "<stdin>"})

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_location(file: str) -> dict[str, str]:
    """A relative path stays relative to ``%SRCROOT%``; an absolute one becomes a ``file:`` URI."""
    return dict(_artifact_location(file))


@lru_cache(maxsize=1024)  # every result of a file has the same one
def _artifact_location(file: str) -> dict[str, str]:
    if file in STDIN_NAMES:
        return {"uri": file}
    path = PurePath(file)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix(), safe="/-._~!$&'()*+,;=@"), "uriBaseId": SRCROOT}


def region(span: Span | None) -> dict[str, int]:
    if span is None:
        return {"startLine": 1}
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def physical_location(file: str, span: Span | None) -> dict[str, Any]:
    return {"artifactLocation": artifact_location(file), "region": region(span)}


def fingerprint(finding: Finding) -> str:
    """Stable across runs and line moves: the rule, the file, the JSON path and the message."""
    key = "\0".join((finding.code, finding.file, json_path(finding.path), finding.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def reporting_descriptor(info: RuleInfo) -> dict[str, Any]:
    doc = info.doc or info.summary
    help_text = f"{doc}\n\nDocumentation: {info.doc_ref}"
    return {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": doc, "markdown": doc},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {"tags": [info.family]},
    }


def _unknown_descriptor(finding: Finding) -> dict[str, Any]:
    """A finding whose code is not in the catalogue still gets a rule, so its ruleIndex is valid."""
    return {"id": finding.code, "defaultConfiguration": {"level": LEVELS[finding.severity]}}


def sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": physical_location(finding.file, finding.span)}
    location["logicalLocations"] = [{"fullyQualifiedName": json_path(finding.path)}]
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
    }
    if finding.related:
        result["relatedLocations"] = [
            {"id": i, "physicalLocation": physical_location(r.file, r.span), "message": {"text": r.message}}
            for i, r in enumerate(finding.related)
        ]
    result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(finding)}
    return result


def sarif_log(report: LintReport, tool_version: str) -> dict[str, Any]:
    first: dict[str, Finding] = {}
    for finding in report.findings:
        first.setdefault(finding.code, finding)
    codes = sorted(first)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        reporting_descriptor(report.rules[code]) if code in report.rules else _unknown_descriptor(first[code])
        for code in codes
    ]
    run = {
        "tool": {"driver": {"name": "clawctl", "version": tool_version, "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": [sarif_result(f, index[f.code]) for f in report.findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: LintReport, tool_version: str) -> str:
    return indented_json(sarif_log(report, tool_version)) + "\n"


_PLAIN = bytes(range(0x20, 0x7F)) + b"\n"  # printable ASCII, and the line breaks of the indentation


def indented_json(value: dict[str, Any]) -> str:
    """``json.dumps(value, indent=2)``, written by orjson (ten times faster: a log of 10,000 results is
    9 MB) whenever that is the same text.

    It is, but for what orjson writes as it is where json escapes it (``\\uXXXX``): a character outside
    printable ASCII, DEL included; so any such byte in orjson's text, or anything orjson refuses (an
    integer past 64 bits, a lone surrogate), and json writes the log. Floats orjson would write its own
    way, and a SARIF log holds none.
    """
    try:
        out = orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, indent=2)
    if out.translate(None, _PLAIN):
        return json.dumps(value, indent=2)
    return out.decode("ascii")


def sarif(report: LintReport, env: Env) -> str:
    from clawctl import __version__

    return render_sarif(report, __version__)
