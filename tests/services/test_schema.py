import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from clawctl.adapters.yamlload import load_yaml
from clawctl.services.schema import fleet_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_schema_is_valid_draft_07():
    schema = fleet_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in json.dumps(schema)
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate_against_the_schema(path):
    doc = load_yaml(path.name, path.read_bytes())
    errors = list(jsonschema.Draft7Validator(fleet_schema()).iter_errors(doc.data))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("bad, where", [
    ({"agents": {"a": {"weight": -1}}}, "weight"),
    ({"agents": {"a": {"colour": 1}}}, "colour"),
    ({"agents": {"Bad Id": {}}}, "Bad Id"),
    ({"agents": {"a": {"auth": {"token_env": "T", "token": "s3cret"}}}}, "token"),
    ({}, "agents"),
    ({"agents": {}, "load_balancing": {"strategy": "fastest"}}, "fastest"),
])
def test_schema_rejects_what_the_linter_rejects(bad, where):
    errors = list(jsonschema.Draft7Validator(fleet_schema()).iter_errors(bad))
    assert errors and any(where in (e.message + json.dumps(list(e.path))) for e in errors)


def test_user_keys_are_allowed_by_the_schema():
    jsonschema.validate({"agents": {"a": {"x-team": "payments"}}, "x-notes": "hi"}, fleet_schema(),
                        cls=jsonschema.Draft7Validator)


def test_schema_command_prints_it():
    out = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "schema"], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == fleet_schema()
