"""Which files form one fleet: files merge only when they share a non-empty `metadata.name`; every
file without one is a fleet of its own. Checked at the engine, in `check`, and in `load_fleet`."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawctl.core.errors import UsageError
from clawctl.core.lint.engine import ParsedFile, lint
from clawctl.services.validate import check, load_fleet

AGENTS = {"sales_us": {"region": "us-east", "backups": ["sales_eu"]},
          "sales_eu": {"region": "europe", "backups": ["sales_us"]}}


def _fleets(*docs: tuple[str, dict]):
    fleets, findings = lint([ParsedFile(name, data, []) for name, data in docs])
    return sorted(sorted(f.files) for f in fleets), sorted(f.code for f in findings)


def test_unnamed_files_with_the_same_agents_are_separate_fleets():
    fleets, codes = _fleets(("staging.yaml", {"agents": AGENTS}), ("prod.yaml", {"agents": AGENTS}))
    assert fleets == [["prod.yaml"], ["staging.yaml"]] and codes == []


def test_an_empty_name_is_no_name():
    fleets, codes = _fleets(("a.yaml", {"metadata": {"name": ""}, "agents": AGENTS}),
                            ("b.yaml", {"metadata": {"name": ""}, "agents": AGENTS}))
    assert fleets == [["a.yaml"], ["b.yaml"]] and codes == []


def test_files_sharing_a_name_merge_and_others_stay_apart():
    named = {"metadata": {"name": "acme"}}
    fleets, codes = _fleets(("us.yaml", {**named, "agents": {"sales_us": AGENTS["sales_us"]}}),
                            ("eu.yaml", {**named, "agents": {"sales_eu": AGENTS["sales_eu"]}}),
                            ("lab.yaml", {"agents": AGENTS}),
                            ("other.yaml", {"metadata": {"name": "other"}, "agents": AGENTS}))
    assert fleets == [["eu.yaml", "us.yaml"], ["lab.yaml"], ["other.yaml"]]
    assert codes == []


def test_a_named_file_and_an_unnamed_one_do_not_merge():
    fleets, codes = _fleets(("us.yaml", {"metadata": {"name": "acme"}, "agents": {"sales_us": AGENTS["sales_us"]}}),
                            ("eu.yaml", {"agents": {"sales_eu": AGENTS["sales_eu"]}}))
    assert fleets == [["eu.yaml"], ["us.yaml"]]
    assert codes == ["B001", "B001"]  # each backup is in the other fleet


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


FLEET = "agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"


def test_check_returns_one_fleet_per_unnamed_file(tmp_path):
    _write(tmp_path, "staging.yaml", FLEET)
    _write(tmp_path, "prod.yaml", FLEET)
    checked = check([str(tmp_path)])
    assert not checked.report.failed
    assert sorted(Path(f.files[0]).name for f in checked.fleets) == ["prod.yaml", "staging.yaml"]


def test_load_fleet_refuses_a_folder_of_several_fleets_and_says_why(tmp_path):
    _write(tmp_path, "staging.yaml", FLEET)
    _write(tmp_path, "prod.yaml", FLEET)
    with pytest.raises(UsageError) as info:
        load_fleet(str(tmp_path))
    assert "expected one fleet, found 2" in info.value.message
    assert "`metadata.name`" in info.value.message


def test_load_fleet_takes_a_folder_of_one_named_fleet(tmp_path):
    _write(tmp_path, "us.yaml", "metadata: {name: acme}\n" + FLEET)
    _write(tmp_path, "eu.yaml", "metadata: {name: acme}\nagents:\n  sales_eu:\n    region: europe\n"
           "    availability: 24/7\n")
    fleet = load_fleet(str(tmp_path))
    assert sorted(fleet.agents) == ["sales_eu", "sales_us"]
