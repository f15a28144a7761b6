"""`clawctl openclaw route` and `clawctl import openclaw` end to end: exit codes, the JSON shapes, files
written atomically and never over an existing one, no token ever printed; and OpenClaw's own schema
(`openclaw config schema` of a real install) accepts every key they read or suggest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOKEN = "oc_live_5d41402abc4b2a76b9719d911017c592"

SHOP = {
    "gateway": {"port": 18789, "auth": {"mode": "token", "token": TOKEN}},
    "agents": {
        "ownership": "explicit",
        "defaults": {"maxConcurrent": 6, "sandbox": {"mode": "all", "scope": "session"}},
        "entries": {"support": {}, "sales": {"sandbox": {"mode": "off"}}},
    },
    "channels": {"telegram": {"dmPolicy": "pairing", "groupPolicy": "allowlist"}},
    "bindings": [
        {"agentId": "support", "match": {"channel": "telegram"}},
        {"agentId": "sales", "match": {"channel": "telegram", "peer": {"kind": "direct", "id": "42"}}},
        {"agentId": "sales", "match": {"channel": "discord", "accountId": "*", "guildId": "g1"}},
    ],
}


def write_config(folder: Path, config: dict = SHOP) -> Path:
    """openclaw.json as plain JSON (JSON5 is a superset), one binding per line so lines are known."""
    text = json.dumps({k: v for k, v in config.items() if k != "bindings"}, indent=2)[:-2]
    rows = ",\n".join("    " + json.dumps(b) for b in config.get("bindings", []))
    path = folder / "openclaw.json"
    path.write_text(text + ',\n  "bindings": [\n' + rows + "\n  ]\n}\n")
    return path


def binding_line(path: Path, index: int) -> int:
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines, 1) if '"bindings"' in line)
    return start + 1 + index


# -- route --------------------------------------------------------------------------------------------------
def test_route_names_the_agent_the_tier_and_the_deciding_binding(cli, tmp_path):
    path = write_config(tmp_path)
    run = cli("openclaw", "route", str(path), "--channel", "telegram", "--peer", "direct:42")
    assert run.code == 0, run.err
    first, second = run.out.splitlines()[:2]
    assert first == "telegram message (account default, peer direct:42) -> sales"
    assert second == f"  decided at tier 1 (exact peer) by bindings[1] at {path}:{binding_line(path, 1)}"
    assert "more specific" in run.out and "channel discord, the message's is telegram" in run.out


def test_route_json_has_the_pinned_shape(cli, tmp_path):
    path = write_config(tmp_path)
    data = cli("openclaw", "route", str(path), "--channel", "telegram", "--peer", "direct:42", "-f", "json").json()
    assert list(data) == ["schema_version", "config", "message", "outcome", "agent", "tier", "tier_name",
                          "matched_by", "binding", "reason", "considered", "notes", "suggestion"]
    assert data["message"] == {"channel": "telegram", "account": "default", "peer": "direct:42", "parent_peer": None,
                               "guild": None, "team": None, "roles": []}
    assert (data["outcome"], data["agent"], data["tier"], data["tier_name"], data["matched_by"]) == \
        ("routed", "sales", 1, "peer", "binding.peer")
    b = data["binding"]
    assert (b["index"], b["file"], b["line"], b["agent"]) == (1, str(path), binding_line(path, 1), "sales")
    assert b["match"] == {"channel": "telegram", "peer": {"kind": "direct", "id": "42"}}
    assert [(c["index"], c["tier"], c["outcome"], c["matched_tier"], c["field"]) for c in data["considered"]] == [
        (0, 7, "lower-tier", 7, None), (1, 1, "won", 1, None), (2, 5, "no-match", None, "channel")]
    assert set(data["considered"][0]) == {"index", "at", "file", "line", "column", "agent", "type", "match", "tier",
                                          "outcome", "matched_tier", "field", "reason"}


def test_a_thread_inherits_its_parents_binding(cli, tmp_path):
    path = write_config(tmp_path)
    data = cli("openclaw", "route", str(path), "--channel", "telegram", "--peer", "direct:99",
               "--parent-peer", "direct:42", "-f", "json").json()
    assert (data["agent"], data["tier"], data["matched_by"]) == ("sales", 2, "binding.peer.parent")


def test_route_to_nobody_exits_1_and_suggests_a_binding(cli, tmp_path):
    path = write_config(tmp_path)
    run = cli("openclaw", "route", str(path), "--channel", "slack", "--account", "work")
    assert run.code == 1
    assert run.out.splitlines()[0] == "slack message (account work) -> nobody: the gateway refuses it"
    assert '{"agentId": "<agentId>", "match": {"channel": "slack", "accountId": "work"}}' in run.out
    data = json.loads(cli("openclaw", "route", str(path), "--channel", "slack", "-f", "json").out)
    assert (data["outcome"], data["agent"], data["tier"]) == ("nobody", None, 9)


@pytest.mark.parametrize("args", [
    ("--channel", "telegram", "--peer", "42"),
    ("--channel", "telegram", "--peer", "person:42"),
    ("--channel", " "),
    ("--peer", "direct:42"),
])
def test_route_usage_errors_exit_2(cli, tmp_path, args):
    run = cli("openclaw", "route", str(write_config(tmp_path)), *args)
    assert run.code == 2, run.out + run.err
    assert len(run.err.strip().splitlines()) <= 3


def test_route_reads_json5_and_points_into_included_files(cli, tmp_path):
    (tmp_path / "openclaw.json5").write_text(
        "// the main file\n{\n  agents: { ownership: 'explicit', entries: { support: {}, sales: {}, } },\n"
        "  $include: './routing.json5',\n}\n")
    (tmp_path / "routing.json5").write_text(
        "{\n  bindings: [\n    { agentId: 'support', match: { channel: 'telegram' } },\n"
        "    // the VIP goes to sales\n    { agentId: 'sales', match: { channel: 'telegram', "
        "peer: { kind: 'dm', id: '42' } } },\n  ],\n}\n")
    data = cli("openclaw", "route", str(tmp_path / "openclaw.json5"), "--channel", "telegram", "--peer", "direct:42",
               "-f", "json").json()
    assert (data["agent"], data["tier"]) == ("sales", 1)
    assert (data["binding"]["file"], data["binding"]["line"]) == (str(tmp_path / "routing.json5"), 5)


def test_an_unreadable_config_exits_3(cli, tmp_path):
    assert cli("openclaw", "route", str(tmp_path / "missing.json"), "--channel", "telegram").code == 3
    bad = tmp_path / "openclaw.json"
    bad.write_text("{ this is not a config")
    run = cli("openclaw", "route", str(bad), "--channel", "telegram")
    assert run.code == 3 and run.err.count("\n") == 1


# -- import -------------------------------------------------------------------------------------------------
def test_import_writes_a_fleet_file_that_validates(cli, tmp_path):
    path = write_config(tmp_path)
    run = cli("import", "openclaw", str(path))
    assert run.code == 0, run.err
    assert run.out.startswith("# Fleet file written by `clawctl import openclaw`")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(run.out)
    checked = cli("validate", str(fleet), "-f", "json")
    assert checked.code == 0, checked.out
    assert not [f for f in json.loads(checked.out)["findings"] if f["severity"] == "error"]
    assert "support:" in run.out and "- telegram" in run.out and "max_concurrent_conversations: 6" in run.out
    assert "endpoint_kind: openclaw" in run.out and '"http://127.0.0.1:18789"' in run.out


def test_import_never_prints_the_gateway_token(cli, tmp_path):
    path = write_config(tmp_path)
    for args in ((), ("-f", "json")):
        run = cli("import", "openclaw", str(path), *args)
        assert TOKEN not in run.out + run.err
        assert "OPENCLAW_GATEWAY_TOKEN" in run.out
    assert "clawctl: note: gateway.auth.token holds a literal secret" in run.err


def test_import_to_a_file_is_atomic_and_never_replaces_one_without_force(cli, tmp_path):
    path = write_config(tmp_path)
    out = tmp_path / "fleet.yaml"
    run = cli("import", "openclaw", str(path), "-o", str(out))
    assert run.code == 0, run.err
    assert run.out.startswith(f"{out}: 2 agents from {path}")
    written = out.read_text()
    assert cli("validate", str(out)).code == 0
    out.write_text("# mine\n")
    again = cli("import", "openclaw", str(path), "-o", str(out))
    assert again.code == 2 and "--force" in again.err
    assert out.read_text() == "# mine\n"
    assert cli("import", "openclaw", str(path), "-o", str(out), "--force").code == 0
    assert out.read_text() == written
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert cli("import", "openclaw", str(path), "-o", str(tmp_path / "no" / "such" / "f.yaml")).code == 3


def test_import_json_has_the_pinned_shape(cli, tmp_path):
    data = cli("import", "openclaw", str(write_config(tmp_path)), "-f", "json").json()
    assert list(data) == ["schema_version", "config", "output", "fleet", "endpoint", "token_env", "agents",
                          "isolation_levels", "notes", "openclaw_suggestions", "text"]
    assert data["agents"] == [
        {"id": "support", "openclaw_id": "support", "channels": ["telegram"], "max_concurrent_conversations": 6,
         "isolation": "openclaw-all-session"},
        {"id": "sales", "openclaw_id": "sales", "channels": ["telegram", "discord"], "max_concurrent_conversations": 6,
         "isolation": "openclaw-host"},
    ]
    assert (data["endpoint"], data["token_env"], data["output"]) == ("http://127.0.0.1:18789",
                                                                     "OPENCLAW_GATEWAY_TOKEN", None)
    assert data["text"].startswith("# Fleet file")
    assert data["openclaw_suggestions"] == [{"gateway": {"auth": {"token": "${OPENCLAW_GATEWAY_TOKEN}"}}}]


# -- OpenClaw's own schema -------------------------------------------------------------------------------------
# Every openclaw.json key routing and import read, in one config (values chosen to be valid).
EVERY_KEY_READ = {
    "gateway": {"port": 18789, "bind": "custom", "customBindHost": "10.0.0.5", "tls": {"enabled": True},
                "auth": {"mode": "token", "token": "${OC_TOKEN}",
                         "password": {"source": "env", "provider": "default", "id": "OC_PASSWORD"}}},
    "agents": {
        "ownership": "explicit",
        "defaults": {"maxConcurrent": 4, "systemAgent": {"agentId": "support"},
                     "sandbox": {"mode": "all", "scope": "session", "backend": "docker", "docker": {"network": "none"}}},
        "entries": {"support": {"default": True, "sandbox": {"mode": "non-main", "scope": "shared"}}},
    },
    "bindings": [{"type": "route", "agentId": "support", "comment": "c",
                  "match": {"channel": "discord", "accountId": "*", "peer": {"kind": "channel", "id": "C1"},
                            "guildId": "g1", "teamId": "t1", "roles": ["r1"]}}],
    "channels": {"telegram": {"enabled": True, "defaultAccount": "work", "accounts": {"work": {}},
                              "dmPolicy": "pairing", "groupPolicy": "allowlist"}},
}


@pytest.fixture(scope="module")
def openclaw_schema(openclaw_gateway):
    proc = openclaw_gateway.cli("config", "schema", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _schema_errors(schema: dict, config: dict) -> list[str]:
    import jsonschema

    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in jsonschema.Draft7Validator(schema).iter_errors(config)]


def test_openclaws_schema_accepts_every_key_clawctl_reads(openclaw_schema):
    assert _schema_errors(openclaw_schema, EVERY_KEY_READ) == []
    # the check means something: the schema refuses a key it does not know, as the gateway does
    stray = json.loads(json.dumps(EVERY_KEY_READ))
    stray["bindings"][0]["match"]["priority"] = 1
    assert _schema_errors(openclaw_schema, stray)


def test_openclaws_schema_accepts_the_binding_route_suggests(cli, tmp_path, openclaw_schema):
    path = write_config(tmp_path)
    suggestion = json.loads(cli("openclaw", "route", str(path), "--channel", "slack", "--account", "Work",
                                "-f", "json").out)["suggestion"]
    assert suggestion is not None
    config = json.loads(json.dumps(SHOP))
    config.pop("channels")  # the fixture's channel blocks are not the point here
    config["bindings"].append({**suggestion, "agentId": "support"})
    assert _schema_errors(openclaw_schema, config) == []


def _merged(base: dict, fragment: dict) -> dict:
    out = dict(base)
    for key, value in fragment.items():
        out[key] = _merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def test_openclaws_schema_accepts_what_the_import_suggests(cli, tmp_path, openclaw_schema):
    data = cli("import", "openclaw", str(write_config(tmp_path)), "-f", "json").json()
    assert data["openclaw_suggestions"]
    for fragment in data["openclaw_suggestions"]:
        assert _schema_errors(openclaw_schema, _merged(SHOP, fragment)) == [], fragment


def test_openclaws_schema_accepts_the_openclaw_json_the_docs_show(openclaw_schema):
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    sections = docs.split("\n## openclaw\n", 1)[1].split("\n## export\n", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", sections, re.DOTALL)
    assert blocks, "docs/cli.md shows no openclaw.json in its openclaw and import sections"
    for block in blocks:
        assert _schema_errors(openclaw_schema, json.loads(block)) == []
