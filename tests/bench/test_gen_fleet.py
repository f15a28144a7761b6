"""bench/gen_fleet.py makes the speed benchmark's input: a clean, realistic fleet, the same for a seed.

Fast (200 agents). No timing here: speed is measured by bench/validate.py (ARCHITECTURE.md habit 12).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from clawctl.adapters.yamlload import load_yaml
from clawctl.core.findings import Severity
from clawctl.services.schema import fleet_schema
from clawctl.services.validate import validate

ROOT = Path(__file__).resolve().parents[2]
GEN_PATH = ROOT / "bench" / "gen_fleet.py"
AGENTS = 200


def _load_generator():
    spec = importlib.util.spec_from_file_location("bench_gen_fleet", GEN_PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


gen_fleet = _load_generator()


@pytest.fixture(scope="module")
def fleet_text() -> str:
    return gen_fleet.generate(AGENTS, 7)


@pytest.fixture(scope="module")
def fleet_file(fleet_text, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "fleet.yaml"
    path.write_text(fleet_text)
    return path


def test_generated_fleet_has_no_errors_or_warnings(fleet_file):
    report = validate([str(fleet_file)])
    loud = [f"{f.code} {f.message}" for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    assert loud == []


def test_every_generated_agent_has_backups_so_no_infos_either(fleet_file):
    report = validate([str(fleet_file)])
    assert [f"{f.code} {f.message}" for f in report.findings] == []


def test_generated_fleet_has_the_asked_number_of_agents(fleet_text):
    assert len(yaml.safe_load(fleet_text)["agents"]) == AGENTS


def test_generation_is_deterministic_for_a_seed():
    assert gen_fleet.generate(AGENTS, 7) == gen_fleet.generate(AGENTS, 7)
    assert gen_fleet.generate(AGENTS, 7) != gen_fleet.generate(AGENTS, 8)


def test_backups_sit_in_another_region_and_cover_the_agent(fleet_text):
    agents = yaml.safe_load(fleet_text)["agents"]
    for agent_id, agent in agents.items():
        assert len(agent["backups"]) == 2, agent_id
        for backup_id in agent["backups"]:
            backup = agents[backup_id]
            assert backup["region"] != agent["region"]
            assert set(agent["capabilities"]) <= set(backup["capabilities"])
            assert set(agent["channels"]) <= set(backup["channels"])


def test_generated_fleet_validates_against_the_exported_schema(fleet_text):
    data = yaml.safe_load(fleet_text)  # PyYAML: a YAML 1.1 reader, like many tools that use the schema
    errors = list(jsonschema.Draft7Validator(fleet_schema()).iter_errors(data))
    assert [f"{list(e.path)}: {e.message}" for e in errors[:5]] == []


def test_yaml_1_1_and_1_2_readers_agree_on_the_generated_fleet(fleet_text):
    """Times are quoted, so PyYAML (1.1) and clawctl's loader (1.2) read the same values."""
    assert yaml.safe_load(fleet_text) == load_yaml("fleet.yaml", fleet_text.encode()).data


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])
def test_tiny_fleets_have_no_errors_or_warnings(n, tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(gen_fleet.generate(n, 1))
    report = validate([str(path)])
    assert [f.code for f in report.findings if f.severity is not Severity.INFO] == []


def test_runs_as_a_script():
    out = subprocess.run([sys.executable, str(GEN_PATH), "20", "--seed", "3"], capture_output=True, text=True,
                         check=True).stdout
    assert out == gen_fleet.generate(20, 3)
