"""The views of a failover drill: text for a terminal, markdown for a report, JUnit for CI, and the history."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rich.table import Table

from clawctl.core.env import Env
from clawctl.core.failover.drill import DrillReport, Objective
from clawctl.render.console import console as console_for
from clawctl.render.findings_junit import _XML_DECLARATION, _xml, terminal_safe_xml
from clawctl.render.safe import terminal_safe as safe


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}%" if unit == "%" else f"{value:.2f}s"


def _met(o: Objective) -> str:
    return {True: "met", False: "MISSED", None: "-"}[o.met]


def _target(report: DrillReport) -> str:
    t = report.target
    return f"agent {t['agent']}" if "agent" in t else f"region {t.get('region')} ({', '.join(t.get('agents', []))})"


def _headline(report: DrillReport) -> str:
    ident = f"drill {report.drill_id} · " if report.drill_id is not None else ""
    return (f"{ident}fleet {report.fleet} · {report.mode} · {_target(report)}"
            + (f" · fault {report.fault}" if report.fault else "") + f" · {report.status.upper()}")


def text(report: DrillReport, env: Env) -> None:
    console = console_for(env)
    console.print(safe(_headline(report)), highlight=False)
    if report.message:
        console.print(safe(report.message), highlight=False)
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("OBJECTIVE", "TARGET", "PREDICTED", "MEASURED", "RESULT"):
        t.add_column(col, justify="left" if col in ("OBJECTIVE", "RESULT") else "right")
    for o in report.objectives:
        t.add_row(o.name, _value(o.target, o.unit).replace(".00", ""), _value(o.predicted, o.unit),
                  _value(o.measured, o.unit), _met(o))
    console.print(t)
    placed = ", ".join(f"{safe(b)} {n}" for b, n in report.placed.items())
    console.print(f"sessions: {_sessions_line(report)}" + (f" (moved to {placed})" if placed else ""),
                  highlight=False)
    if report.detection_range:
        lo, hi = report.detection_range
        console.print(f"predicted detection: {lo:g}-{hi:g}s from the health settings", highlight=False)
    if report.restore_s is not None:
        console.print(f"restore: ready {report.restore_s:.2f}s after the fault was cleared", highlight=False)
    if report.timeline:
        tl = Table(box=None, header_style="bold", pad_edge=False, title="timeline", title_justify="left")
        tl.add_column("OFFSET", justify="right")
        tl.add_column("EVENT")
        for e in report.timeline:
            tl.add_row(f"{e.offset_s:+.2f}s", safe(e.event))
        console.print(tl)
    for note in report.notes:
        console.print(safe(note), highlight=False)


def _cell(value: object) -> str:
    """A Markdown table cell: control characters shown as escapes, pipes escaped. Markdown is made safe
    field by field, never as the joined document (whose newlines are real)."""
    return safe(value).replace("|", "\\|")


def _sessions_line(report: DrillReport) -> str:
    s = report.sessions
    if report.status == "dry_run" and report.mode == "live":
        talking = s.get("in_conversation")
        return (f"{s.get('before', 0)} on the target" + (f" ({talking} in conversation)" if talking else "")
                + "; a dry run moves none")
    return f"{s.get('before', 0)} before, {s.get('preserved', 0)} preserved, {s.get('lost', 0)} lost"


def markdown(report: DrillReport, env: Env) -> str:
    lines = [f"# Failover drill: {safe(_target(report))}", "", f"- fleet: `{safe(report.fleet)}`",
             f"- mode: {safe(report.mode)}", f"- fault: {safe(report.fault or '-')}",
             f"- status: **{safe(report.status)}**"]
    if report.drill_id is not None:
        lines.append(f"- drill id: {report.drill_id}")
    if report.started_at:
        lines.append(f"- started: {safe(report.started_at)}; finished: {safe(report.finished_at)}")
    if report.message:
        lines += ["", safe(report.message)]
    lines += ["", "## Objectives", "", "| objective | target | predicted | measured | result |", "|---|---:|---:|---:|---|"]
    for o in report.objectives:
        lines.append(f"| {_cell(o.name)} | {_value(o.target, o.unit)} | {_value(o.predicted, o.unit)} | "
                     f"{_value(o.measured, o.unit)} | {_met(o)} |")
    lines += ["", "## Sessions", "", _sessions_line(report) + "."]
    if report.placed:
        lines += ["", "| backup | sessions moved |", "|---|---:|"]
        lines += [f"| {_cell(b)} | {n} |" for b, n in report.placed.items()]
    if report.restore_s is not None:
        lines += ["", "## Restore", "", f"The target was ready {report.restore_s:.2f}s after the fault was cleared."]
    if report.timeline:
        lines += ["", "## Timeline", "", "| offset | at | event |", "|---:|---|---|"]
        lines += [f"| {e.offset_s:+.2f}s | {_cell(e.at)} | {_cell(e.event)} |" for e in report.timeline]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {safe(n)}" for n in report.notes]
    return "\n".join(lines) + "\n"


def junit(report: DrillReport, env: Env) -> str:
    """One test suite, one test case per objective (a missed objective is a failure; an aborted drill or a
    failed restore is an error case)."""
    suites = ET.Element("testsuites", name="clawctl failover drill")
    suite = ET.SubElement(suites, "testsuite", name=_xml(f"{report.fleet}: {_target(report)}"),
                          tests=str(len(report.objectives) + (report.status in ("aborted", "restore_failed"))))
    failures = errors = 0
    for o in report.objectives:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"failover.{report.mode}"), name=o.name)
        if o.met is False:
            failures += 1
            ET.SubElement(case, "failure", message=_xml(f"{o.name}: measured {_value(o.measured, o.unit)}, "
                                                        f"target {_value(o.target, o.unit)}"))
        elif o.met is None:
            ET.SubElement(case, "skipped", message="not measured")
    if report.status in ("aborted", "restore_failed"):
        errors += 1
        case = ET.SubElement(suite, "testcase", classname=_xml(f"failover.{report.mode}"), name=report.status)
        ET.SubElement(case, "error", message=_xml(report.message or report.status))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    out = ET.SubElement(suite, "system-out")
    out.text = _xml("\n".join(f"{e.offset_s:+.2f}s {e.event}" for e in report.timeline))
    return terminal_safe_xml(_XML_DECLARATION + ET.tostring(suites, encoding="unicode") + "\n")


def history(result, env: Env) -> None:
    console = console_for(env)
    if not result.drills:
        console.print("no drills recorded (clawctl failover drill FLEET --agent ID)")
        return
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("ID", "STARTED", "FLEET", "MODE", "TARGET", "STATUS", "OBJECTIVES"):
        t.add_column(col)
    for d in result.drills:
        target = d["target"] or {}
        tgt = target.get("agent") or f"region {target.get('region')}"
        objs = " ".join(f"{o['name']}:{'ok' if o['met'] else ('-' if o['met'] is None else 'MISSED')}"
                        for o in d["objectives"])
        t.add_row(str(d["drill_id"]), d["started_at"], safe(d["fleet"] or "-"), d["mode"] or "-", safe(str(tgt)),
                  d["status"], objs)
    console.print(t)
