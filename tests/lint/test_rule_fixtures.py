"""Every lint rule has a failing and a passing example, and they do what they say.

``tests/fixtures/rules/<CODE>/fail.yaml`` must draw the rule, ``pass.yaml`` (the nearest correct file)
must not. Rules about several files (A001, S006, B001) use folders ``fail/`` and ``pass/`` instead, and
so do the OpenClaw rules (``O``): an ``openclaw.json`` in the folder (or one per gateway in subfolders),
with the files it ``$include``s. A rule added to the catalogue without fixtures fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clawctl.core.lint.catalogue import all_rules
from clawctl.services.validate import validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
RULES = all_rules()
CODES = sorted(RULES)
CHECKED = sorted(code for code, info in RULES.items() if info.check is not None)


def fixture(code: str, kind: str) -> Path:
    """``<CODE>/<kind>.yaml``, or the folder ``<CODE>/<kind>/`` for a rule about several files."""
    file = FIXTURES / code / f"{kind}.yaml"
    return file if file.is_file() else FIXTURES / code / kind


def findings(code: str, kind: str):
    return validate([str(fixture(code, kind))]).findings


def fixture_files(path: Path) -> list[Path]:
    """The files of a fixture: fleet files (``*.yaml``) and OpenClaw configs with their includes (``*.json[5]``)."""
    if path.is_file():
        return [path]
    return sorted(path.glob("*.yaml")) + sorted(p for p in path.rglob("*") if p.suffix in (".json", ".json5"))


@pytest.mark.parametrize("code", CODES)
def test_fixtures_exist(code):
    for kind in ("fail", "pass"):
        path = fixture(code, kind)
        assert path.is_file() or (path.is_dir() and fixture_files(path)), \
            f"{code} has no {kind} fixture: add {FIXTURES / code}/{kind}.yaml"


@pytest.mark.parametrize("code", CODES)
def test_fixture_files_say_what_they_show(code):
    """The first line of every fixture file is a comment naming the rule it shows (`# ` in YAML, `// ` in JSON5)."""
    for kind in ("fail", "pass"):
        for file in fixture_files(fixture(code, kind)):
            first = file.read_text(encoding="utf-8").splitlines()[0]
            comment = "# " if file.suffix == ".yaml" else "// "
            assert first.startswith(comment) and code in first, f"{file}: first line should explain it, naming {code}"


@pytest.mark.parametrize("code", CODES)
def test_fail_fixture_draws_the_rule(code):
    found = findings(code, "fail")
    hits = [f for f in found if f.code == code]
    assert hits, f"{code} fail fixture drew only {[f.code for f in found]}"
    for f in hits:
        assert f.span is not None and f.span.line >= 1 and f.span.column >= 1, f"{code}: no position: {f}"
        assert f.span.end_line >= f.span.line


@pytest.mark.parametrize("code", CODES)
def test_pass_fixture_does_not_draw_the_rule(code):
    found = findings(code, "pass")
    assert code not in {f.code for f in found}, [f"{f.code} {f.message}" for f in found]


# Fail fixtures draw their own rule only, except where another finding is the point of the example.
ALSO_DRAWN = {
    "C002": {"B007"},  # the malformed suppressions are not honoured, so the B007 they aimed at still shows
}


@pytest.mark.parametrize("code", CODES)
def test_fail_fixture_draws_nothing_else(code):
    others = {f.code for f in findings(code, "fail")} - {code}
    assert others <= ALSO_DRAWN.get(code, set()), f"{code} fail fixture also draws {sorted(others)}"


@pytest.mark.parametrize("code", CODES)
def test_pass_fixture_is_clean(code):
    """The nearest correct file draws no finding at all (not only none of its rule)."""
    found = findings(code, "pass")
    assert not found, [f"{f.code} {f.message}" for f in found]


@pytest.mark.parametrize("code", CHECKED)
def test_checked_rule_reports_its_registered_severity(code):
    hits = [f for f in findings(code, "fail") if f.code == code]
    assert hits
    assert {f.severity for f in hits} == {RULES[code].severity}


@pytest.mark.parametrize("code", CODES)
def test_every_fixture_finding_has_its_rules_severity(code):
    """Whoever raises a finding (loader, schema, rule, suppressions), it carries the catalogue's severity."""
    for kind in ("fail", "pass"):
        for f in findings(code, kind):
            assert f.code in RULES, f"unregistered code {f.code}"
            assert f.severity == RULES[f.code].severity, f"{kind}: {f.code} is {f.severity}, registered " \
                f"{RULES[f.code].severity}"


def test_no_stray_fixture_folders():
    """A fixture folder per rule, and no folder for a rule that no longer exists."""
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders == set(CODES), sorted(folders ^ set(CODES))
