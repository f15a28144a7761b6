"""`clawctl validate --format junit`: JUnit XML for CI test-report views.

One ``<testsuite>`` per file, one ``<testcase>`` per finding. Findings at or above
``--fail-on`` carry a ``<failure>``; those below it pass but show their text in ``<system-out>``,
so they stay visible without failing the build. A clean file gets one passing test case.
Characters XML cannot hold become U+FFFD; CR, C1 controls and bidi and format characters become
character references, so the output is safe to print on a terminal (clawctl/render/safe.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from clawctl.core.env import Env
from clawctl.core.findings import Finding
from clawctl.core.lint.report import LintReport
from clawctl.render.safe import escape_unsafe

SUITES_NAME = "clawctl validate"
CLEAN_CASE = "clawctl validate"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _char_ref(ch: str) -> str:
    return f"&#x{ord(ch):X};"


def terminal_safe_xml(xml: str) -> str:
    """Serialised XML whose bytes are safe on a terminal: CR, DEL, C1 controls and bidi and other format
    characters (which XML may carry) become character references, the same characters to an XML reader."""
    return escape_unsafe(xml, _char_ref, keep="\n\t")


def _where(finding: Finding) -> str:
    span = finding.span
    return f"{finding.file}:{span.line}:{span.column}" if span else finding.file


def finding_text(finding: Finding) -> str:
    return f"{_where(finding)}: {finding.code} [{finding.severity.value}] {finding.message}"


def _case_name(finding: Finding) -> str:
    span = finding.span
    return f"{finding.code} {span.line}:{span.column}" if span else finding.code


def _files_in_order(report: LintReport) -> list[str]:
    files = list(dict.fromkeys(report.files))
    seen = set(files)
    for finding in report.findings:
        if finding.file not in seen:
            seen.add(finding.file)
            files.append(finding.file)
    return files


def _suite(file: str, findings: list[Finding], report: LintReport) -> tuple[ET.Element, int, int]:
    suite = ET.Element("testsuite", name=_xml(file))
    failures = 0
    if not findings:
        ET.SubElement(suite, "testcase", classname=_xml(file), name=CLEAN_CASE)
    for finding in findings:
        case = ET.SubElement(suite, "testcase", classname=_xml(file), name=_xml(_case_name(finding)))
        text = _xml(finding_text(finding))
        if finding.severity.rank >= report.fail_on.rank:
            failures += 1
            failure = ET.SubElement(case, "failure", type=finding.code, message=_xml(finding.message))
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = text
    tests = max(len(findings), 1)
    suite.attrib.update(tests=str(tests), failures=str(failures), errors="0", skipped="0")
    return suite, tests, failures


def render_junit(report: LintReport) -> str:
    by_file: dict[str, list[Finding]] = {file: [] for file in _files_in_order(report)}
    for finding in report.findings:
        by_file[finding.file].append(finding)
    root = ET.Element("testsuites", name=SUITES_NAME)
    tests = failures = 0
    for file, findings in by_file.items():
        suite, n, failed = _suite(file, findings, report)
        root.append(suite)
        tests += n
        failures += failed
    root.attrib.update(tests=str(tests), failures=str(failures), errors="0")
    ET.indent(root)
    return _XML_DECLARATION + terminal_safe_xml(ET.tostring(root, encoding="unicode")) + "\n"


def junit(report: LintReport, env: Env) -> str:
    return render_junit(report)
