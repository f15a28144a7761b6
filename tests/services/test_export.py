"""`clawctl export prometheus-sd`: file_sd target groups per agent, written atomically, tokens never written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clawctl.adapters import prometheus as prom
from clawctl.core.errors import InputError
from clawctl.services.export import file_sd_groups, file_sd_text
from clawctl.services.validate import load_fleet

TOKEN_VAR = "CLAWCTL_TEST_EXPORT_TOKEN"
SECRET = "export-secret-token-never-written"
FLEET = f"""\
apiVersion: clawctl/v1
kind: Fleet
metadata:
  name: shop
agents:
  web:
    domain: sales
    region: us-east
    availability: 24/7
    endpoint: http://10.0.0.5:8080
  prefixed:
    domain: billing
    region: eu-west
    availability: 24/7
    endpoint: https://agents.example.com/agents/prefixed/
    auth: {{token_env: {TOKEN_VAR}}}
  gateway:
    region: eu-west
    availability: 24/7
    endpoint: http://[fd00::7]:18789
    endpoint_kind: openclaw
  gateway-prefixed:
    availability: 24/7
    endpoint: https://gw.example.com/ops
    endpoint_kind: openclaw
  nowhere:
    domain: sales
    availability: 24/7
"""
NOTE = "clawctl: note: nowhere: not exported: no endpoint: set `endpoint` in the fleet file, or run `clawctl lab up`\n"


@pytest.fixture
def fleet(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(TOKEN_VAR, SECRET)
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return path


EXPECTED = [
    {"targets": ["10.0.0.5:8080"],
     "labels": {"fleet": "shop", "agent": "web", "region": "us-east", "domain": "sales",
                "__meta_clawctl_endpoint_kind": "clawctl"}},
    {"targets": ["agents.example.com:443"],
     "labels": {"fleet": "shop", "agent": "prefixed", "region": "eu-west", "domain": "billing",
                "__metrics_path__": "/agents/prefixed/metrics", "__scheme__": "https",
                "__meta_clawctl_endpoint_kind": "clawctl", "__meta_clawctl_token_env": TOKEN_VAR}},
    {"targets": ["[fd00::7]:18789"],
     "labels": {"fleet": "shop", "agent": "gateway", "region": "eu-west",
                "__metrics_path__": "/api/diagnostics/prometheus", "__meta_clawctl_endpoint_kind": "openclaw"}},
    {"targets": ["gw.example.com:443"],
     "labels": {"fleet": "shop", "agent": "gateway-prefixed", "__metrics_path__": "/ops/api/diagnostics/prometheus",
                "__scheme__": "https", "__meta_clawctl_endpoint_kind": "openclaw"}},
]


def test_one_target_group_per_agent_with_an_endpoint(fleet, cli):
    run = cli("export", "prometheus-sd", str(fleet))
    assert run.code == 0, run.err
    assert json.loads(run.out) == EXPECTED
    assert run.out == file_sd_text(EXPECTED)
    assert run.err == NOTE


def test_the_token_is_never_written(fleet, cli, tmp_path):
    out = tmp_path / "sd.json"
    for argv in (("-o", str(out)), (), ("--format", "json")):
        run = cli("export", "prometheus-sd", str(fleet), *argv)
        assert run.code == 0, run.err
        assert SECRET not in run.out + run.err
    assert SECRET not in out.read_text()


def test_lab_endpoints_fill_the_gaps_and_are_named_as_the_source(fleet):
    groups, skipped, sources = file_sd_groups(load_fleet(str(fleet)), {"nowhere": "http://127.0.0.1:40001",
                                                                       "web": "http://127.0.0.1:40002"})
    assert skipped == {}
    assert groups[:4] == EXPECTED  # the fleet file's endpoint wins over the lab's
    assert groups[4] == {"targets": ["127.0.0.1:40001"],
                         "labels": {"fleet": "shop", "agent": "nowhere", "domain": "sales",
                                    "__meta_clawctl_endpoint_kind": "clawctl"}}
    assert sources == {"web": "fleet", "prefixed": "fleet", "gateway": "fleet", "gateway-prefixed": "fleet",
                       "nowhere": "lab"}


def test_a_lab_endpoint_that_cannot_be_a_target_is_left_out_with_a_reason(fleet):
    _, skipped, _ = file_sd_groups(load_fleet(str(fleet)), {"nowhere": "http://user:pw@127.0.0.1:1"})
    assert skipped == {"nowhere": "endpoint not exported: the endpoint URL holds credentials; they are never "
                                  "exported"}


def test_output_file_is_written_and_replaced_whole(fleet, cli, tmp_path):
    out = tmp_path / "sd" / "agents.json"
    out.parent.mkdir()
    out.write_text("old content that is longer than the new document " * 200)
    run = cli("export", "prometheus-sd", str(fleet), "-o", str(out))
    assert run.code == 0, run.err
    assert run.out == f"{out}: 4 targets of fleet shop\n" and run.err == NOTE
    assert json.loads(out.read_text()) == EXPECTED
    assert sorted(p.name for p in out.parent.iterdir()) == ["agents.json"]  # no temporary file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file: readable by Prometheus's user


def test_json_format_reports_what_was_written(fleet, cli, tmp_path):
    out = tmp_path / "agents.yml"
    doc = cli("export", "prometheus-sd", str(fleet), "-o", str(out), "--format", "json").json()
    assert list(doc) == ["schema_version", "fleet", "output", "targets", "sources", "skipped"]
    assert doc["schema_version"] == 1 and doc["fleet"] == "shop" and doc["output"] == str(out)
    assert doc["targets"] == EXPECTED and json.loads(out.read_text()) == EXPECTED
    assert doc["skipped"] == [{"id": "nowhere", "reason": "no endpoint: set `endpoint` in the fleet file, or run "
                                                          "`clawctl lab up`"}]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(fleet, cli, tmp_path, monkeypatch):
    out = tmp_path / "agents.json"
    out.write_text("[]\n")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prom.os, "replace", broken)
    run = cli("export", "prometheus-sd", str(fleet), "-o", str(out))
    assert run.code == 3
    assert run.err.endswith(f"clawctl: error: cannot write {out}: no space left on device\n")
    assert out.read_text() == "[]\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_file_sd_refuses_a_folder_and_a_missing_one(tmp_path):
    with pytest.raises(InputError, match="it is a folder"):
        prom.write_file_sd(tmp_path, "[]\n")
    with pytest.raises(InputError, match="no folder"):
        prom.write_file_sd(tmp_path / "missing" / "sd.json", "[]\n")


def test_exit_codes(fleet, cli, tmp_path):
    assert cli("export", "prometheus-sd", str(tmp_path / "missing.yaml")).code == 3
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe not yaml")
    assert cli("export", "prometheus-sd", str(bad)).code == 3
    run = cli("export", "prometheus-sd", str(fleet), "-o", str(tmp_path / "sd.txt"))
    assert run.code == 2 and "name it *.json" in run.err and not (tmp_path / "sd.txt").exists()
    none = tmp_path / "none.yaml"
    none.write_text("apiVersion: clawctl/v1\nkind: Fleet\nagents:\n  a:\n    availability: 24/7\n")
    run = cli("export", "prometheus-sd", str(none), "-o", str(tmp_path / "none.json"))
    assert run.code == 2 and "no agent has an endpoint" in run.err and not (tmp_path / "none.json").exists()
    run = cli("export", "prometheus-sd", str(fleet), "-o", str(tmp_path / "no" / "sd.json"))
    assert run.code == 3 and "no folder" in run.err


def test_dash_writes_to_stdout(fleet, cli):
    run = cli("export", "prometheus-sd", str(fleet), "-o", "-")
    assert run.code == 0 and json.loads(run.out) == EXPECTED


def _documented_exit_codes() -> dict[int, str]:
    """docs/cli.md, section export: `- **Exit codes:** 0 ...; 1 ...; ...` as {code: what}."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = text.split("\n## export", 1)[1].split("\n## ", 1)[0]
    item = section.split("**Exit codes:**", 1)[1].split("\n- ", 1)[0].split("\n\n", 1)[0]
    item = " ".join(item.split())
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"(?:^|; )(\d+) (.*?)(?=; \d+ |$)", item)}


def test_the_documented_exit_codes_are_the_ones_given(fleet, cli, tmp_path):
    documented = _documented_exit_codes()
    assert set(documented) == {0, 1, 2, 3}, documented
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("apiVersion: clawctl/v1\nkind: Fleet\nagents:\n  a:\n    max_concurrent_conversations: -1\n"
                       "    endpoint: http://127.0.0.1:1\n")
    two = tmp_path / "two"
    two.mkdir()
    for name in ("one", "other"):
        (two / f"{name}.yaml").write_text(f"apiVersion: clawctl/v1\nkind: Fleet\nmetadata: {{name: {name}}}\n"
                                          "agents:\n  a:\n    availability: 24/7\n    endpoint: http://10.0.0.1:80\n")
    none = tmp_path / "none.yaml"
    none.write_text("apiVersion: clawctl/v1\nkind: Fleet\nagents:\n  a:\n    availability: 24/7\n")
    cases = [([str(fleet), "-o", str(tmp_path / "sd.json")], 0, "written"),
             ([str(invalid)], 1, "error findings"),
             ([str(fleet), "-o", str(tmp_path / "sd.txt")], 2, "bad flags"),
             ([str(two)], 2, "more than one fleet"),
             ([str(none)], 2, "no agent with an endpoint"),
             ([str(tmp_path / "missing.yaml")], 3, "unreadable fleet"),
             ([str(fleet), "-o", str(tmp_path / "no" / "sd.json")], 3, "cannot be written")]
    for argv, code, words in cases:
        run = cli("export", "prometheus-sd", *argv)
        assert run.code == code, (argv, run.err)
        assert words in documented[code], (code, words, documented[code])
