"""`clawctl validate` on OpenClaw configs end to end: found by name or content (in folders too), linted by
the O rules in every output format with positions in the file each value came from, secrets never
printed, and bad input refused in one line with exit 3.

Behaviour runs in-process (the ``cli`` fixture); bad input runs the real CLI in a child process, so that a
traceback or a hang would show as it would for a user.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clawctl.core.lint.catalogue import all_rules
from clawctl.services.validate import ValidateOptions, check, load_fleet, validate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OC = FIXTURES / "openclaw"
SECRETS = ("sk-live-Q7vX2mK9pL4sT8wR3nB6yZ1c", "7712345678:AAHk3Lq9ZxVbN2mP8rT5wY1cD4fG6hJ0sQe",
           "7798765432:AAEp4Wn7RtYu2Io9Pa5Sd8Fg3Hj6Kl1ZxCv", "AAHk3Lq9ZxVbN2mP8rT5wY1cD4fG6hJ0sQe")
FLEET = """\
agents:
  sales:
    region: us-east
    channels: [email]
    backups: [support]
  support:
    region: europe
    channels: [email]
    backups: [sales]
"""
CONFIG = """\
// a small config
{
  gateway: { mode: "local", port: 19001 },
  agents: { ownership: "explicit", entries: { a: {}, b: {} } },
  bindings: [ { agentId: "c", match: { channel: "slack", accountId: "*" } } ],
}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(report) -> list[tuple[str, str]]:
    return [(f.code, os.path.basename(f.file)) for f in report.findings]


@pytest.fixture(autouse=True)
def _plain(monkeypatch):
    for name in ("GITHUB_ACTIONS", "NO_COLOR", "CLAWCTL_DEBUG"):
        monkeypatch.delenv(name, raising=False)


# -- finding configs ---------------------------------------------------------------------------------------
def test_a_config_is_found_by_name_in_a_folder_beside_fleet_files(tmp_path):
    write(tmp_path / "fleet.yaml", FLEET)
    write(tmp_path / "gw" / "openclaw.json", CONFIG)
    write(tmp_path / "gw" / "prod.openclaw.json5", CONFIG.replace("19001", "19200"))
    report = validate([str(tmp_path)])
    assert sorted(report.files) == sorted([str(tmp_path / "fleet.yaml"), str(tmp_path / "gw" / "openclaw.json"),
                                           str(tmp_path / "gw" / "prod.openclaw.json5")])
    assert sorted(codes(report)) == [("O001", "openclaw.json"), ("O001", "prod.openclaw.json5")]


def test_a_config_is_found_by_content(tmp_path):
    write(tmp_path / "gateway-prod.json", CONFIG)
    write(tmp_path / "package.json", '{ "name": "tool", "dependencies": {} }')
    write(tmp_path / "settings.json5", "// not a config\n{ theme: 'dark' }\n")
    assert codes(validate([str(tmp_path)])) == [("O001", "gateway-prod.json")]
    assert codes(validate([str(tmp_path / "gateway-prod.json")])) == [("O001", "gateway-prod.json")]


def test_a_folder_of_configs_only_is_a_valid_input(tmp_path):
    write(tmp_path / "openclaw.json", CONFIG.replace('agentId: "c"', 'agentId: "a"'))
    assert validate([str(tmp_path)]).findings == []


def test_a_folder_with_neither_is_refused(tmp_path, cli):
    write(tmp_path / "notes.txt", "hello")
    r = cli("validate", str(tmp_path))
    assert r.code == 3 and "holds no *.yaml, *.yml or openclaw.json file" in r.err


def test_files_a_config_includes_are_not_configs_of_their_own(tmp_path):
    write(tmp_path / "openclaw.json", '{ $include: "./base.json5", gateway: { port: 19001 } }')
    write(tmp_path / "base.json5", '{ gateway: { mode: "local", port: 18789 }, agents: { entries: { a: {} } } }')
    report = validate([str(tmp_path)])
    assert report.findings == []  # base.json5 alone would share the port with nothing, but it is not a gateway
    assert [os.path.basename(f) for f in report.files] == ["openclaw.json", "base.json5"]


def test_a_fleet_file_named_json_is_still_a_fleet_file(tmp_path):
    write(tmp_path / "fleet.json", json.dumps({"agents": {"sales": {"region": "us-east", "backups": ["eu"]},
                                                          "eu": {"region": "europe", "backups": ["sales"]}}}))
    report = validate([str(tmp_path / "fleet.json")])
    assert report.findings == [] and report.files == [str(tmp_path / "fleet.json")]


def test_stdin_is_a_config_by_its_name_or_its_content():
    for name in ("openclaw.json", None):
        report = validate(["-"], ValidateOptions(stdin=io.BytesIO(CONFIG.encode()), stdin_filename=name))
        assert [f.code for f in report.findings] == ["O001"]


def test_verbs_that_want_one_fleet_ignore_configs(tmp_path):
    write(tmp_path / "fleet.yaml", FLEET)
    write(tmp_path / "openclaw.json", "{ not json5")
    assert list(load_fleet(str(tmp_path)).agents) == ["sales", "support"]


def test_fleet_files_and_configs_are_linted_in_one_run(tmp_path):
    write(tmp_path / "fleet.yaml", FLEET + "    weight: -1\n")  # the last agent's
    write(tmp_path / "openclaw.json", CONFIG)
    assert sorted(c for c, _ in codes(validate([str(tmp_path)]))) == ["O001", "S003"]


def test_select_and_ignore_take_o_codes(tmp_path):
    path = str(write(tmp_path / "openclaw.json", CONFIG.replace("19001", '"x"').replace("slack", "slak")))
    assert {f.code for f in validate([path], ValidateOptions(select=["O"])).findings} == {"O001", "O010"}
    assert {f.code for f in validate([path], ValidateOptions(ignore=["O001"])).findings} == {"O010"}


# -- configs given together -------------------------------------------------------------------------------
def test_two_configs_without_a_port_share_the_default_one(tmp_path):
    write(tmp_path / "a" / "openclaw.json", '{ agents: { entries: { a: {} } } }')
    write(tmp_path / "b" / "openclaw.json", '// rescue\n{ gateway: { mode: "local" }, agents: { entries: { b: {} } } }')
    (finding,) = validate([str(tmp_path)]).findings
    assert finding.code == "O012" and finding.file == str(tmp_path / "b" / "openclaw.json")
    assert "gateway port 18789 (gateway.port is unset: the default) is also the port of" in finding.message
    assert (finding.span.line, finding.span.column) == (2, 3) and finding.path == ("gateway",)
    assert finding.related[0].file == str(tmp_path / "a" / "openclaw.json")


def test_one_state_folder_reached_by_two_paths_is_shared_state(tmp_path):
    write(tmp_path / "state" / "openclaw.json", '{ gateway: { port: 19001 } }')
    (tmp_path / "link").symlink_to(tmp_path / "state")
    report = validate([str(tmp_path / "state" / "openclaw.json"), str(tmp_path / "link" / "openclaw.json")])
    assert sorted(f.code for f in report.findings) == ["O012", "O013"]
    o13 = next(f for f in report.findings if f.code == "O013")
    assert f"state directory `{tmp_path / 'state'}` is also used by" in o13.message


# -- output formats ----------------------------------------------------------------------------------------
O004 = FIXTURES / "rules" / "O004" / "fail"
INCLUDED = str(O004 / "routing" / "bindings.json5")


def test_text_points_into_the_included_file_with_a_frame(cli):
    r = cli("validate", str(O004))
    assert r.code == 0, r.err  # a warning does not fail the run
    first = r.out.splitlines()[0]
    assert first.startswith(f"{INCLUDED}:4:25: O004 [warning] bindings[1] can never win: bindings[0]")
    assert '4 |   { agentId: "support", match:' in r.out and "^^^^^ O004" in r.out
    assert f"bindings[0] wins at {INCLUDED}:3:21" in r.out  # its `match` key
    assert cli("validate", "--fail-on", "warning", str(O004)).code == 1


def test_json_carries_file_position_and_merged_path(cli):
    r = cli("validate", "--format", "json", str(O004))
    doc = json.loads(r.out)
    assert doc["files"] == [str(O004 / "openclaw.json"), INCLUDED]
    assert doc["findings"] == [{
        "file": INCLUDED, "line": 4, "column": 25, "end_line": 4, "end_column": 30, "code": "O004",
        "severity": "warning", "path": "$.bindings[1].match",
        "message": f"bindings[1] can never win: bindings[0] ({INCLUDED}:3) comes first in the same tier "
                   "(exact peer) and matches every message this one matches"}]


def test_sarif_github_junit_and_statistics(cli):
    sarif = json.loads(cli("validate", "--format", "sarif", str(O004)).out)
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "O004"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("O004/fail/routing/bindings.json5")
    assert location["region"]["startLine"] == 4 and location["region"]["startColumn"] == 25
    github = cli("validate", "--format", "github", str(O004)).out
    assert github.startswith(f"::warning file={INCLUDED},line=4,col=25,endLine=4,endColumn=30,"
                             "title=O004 shadowed-binding::")
    junit = ET.fromstring(cli("validate", "--format", "junit", str(O004)).out)
    assert [s.get("name") for s in junit.iter("testsuite")] == [str(O004 / "openclaw.json"), INCLUDED]
    stats = json.loads(cli("validate", "--statistics", "--format", "json", str(O004)).out)
    assert stats["statistics"] == [{"code": "O004", "severity": "warning", "count": 1}]


def test_every_o_rule_is_documented_for_clawctl_rule(cli):
    o_rules = [code for code in all_rules() if code.startswith("O")]
    assert len(o_rules) >= 14
    r = cli("rule", "O013")
    assert r.code == 0 and "shared-state-dir" in r.out


# -- secrets ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_a_secret_in_a_config_is_never_printed(cli, fmt):
    config = OC / "secrets"
    r = cli("validate", "--format", fmt, str(config))
    assert r.code == 1
    for secret in SECRETS:
        assert secret not in r.out + r.err, fmt
    if fmt == "text":  # the frames show the secrets' lines, masked
        assert '3 |   gateway: { mode: "local", port: 19001, auth: { mode: "token", token: ********' in r.out


def test_secrets_in_frames_of_an_included_file_are_masked(tmp_path, cli):
    write(tmp_path / "openclaw.json", '{ channels: { $include: "./ch.json5" } }')
    write(tmp_path / "ch.json5", '{\n  telegram: { botToken: "7712345678:AAHk3Lq9ZxVbN2mP8rT5wY1cD4fG6hJ0sQe" },\n'
                                 '  telegrm: {},\n}\n')
    r = cli("validate", str(tmp_path))
    assert r.code == 1 and "O009" in r.out and "botToken: ********" in r.out
    assert "AAHk3Lq9ZxVbN2mP8rT5wY1cD4fG6hJ0sQe" not in r.out + r.err


def test_a_credential_that_a_rule_would_quote_is_masked_in_its_message(tmp_path):
    token = "sk-live-Q7vX2mK9pL4sT8wR3nB6yZ1c"  # pasted where a path goes: the O002 message quotes the path
    write(tmp_path / "openclaw.json", '{ agents: { list: [ { id: "a", default: true, agentDir: "%s" },\n'
                                      '  { id: "b", agentDir: "%s" } ] } }' % (token, token))
    (finding,) = validate([str(tmp_path)]).findings
    assert finding.code == "O002" and token not in finding.message and "agentDir `***`" in finding.message


def test_statistics_and_rule_outputs_hold_no_secret(cli):
    r = cli("validate", "--statistics", str(OC / "secrets"))
    assert all(s not in r.out + r.err for s in SECRETS)


# -- bad input: one line, exit 3 ----------------------------------------------------------------------------
def run_cli(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR", "CLAWCTL_DEBUG")}
    return subprocess.run([sys.executable, "-m", "clawctl.cli.main", *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=120, env=env)


def refused(proc: subprocess.CompletedProcess, pattern: str) -> str:
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "Traceback" not in out + err
    assert proc.returncode == 3, (proc.returncode, out, err)
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("clawctl: error: ") and re.search(pattern, lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize("case, pattern", [
    ("not-json5", r"bad/not-json5/openclaw\.json:4:3: not valid JSON5: expected `,` or `}`, found `a`$"),
    ("cycle", r"bad/cycle/b\.json5:2:13: \$include cycle: .*cycle/openclaw\.json -> .*a\.json5 -> .*b\.json5 -> "
              r".*a\.json5$"),
    ("missing", r"bad/missing/openclaw\.json:2:23: \$include \"\./agents\.json5\": no such file "
                r"\(.*bad/missing/agents\.json5\)$"),
    ("escape/cfg", r"bad/escape/cfg/openclaw\.json:2:23: \$include \"\.\./outside\.json5\" escapes the "
                   r"config's folder"),
    ("top-level-list", r"bad/top-level-list/openclaw\.json:1:1: the top level is a list"),
])
def test_bad_configs_are_refused_in_one_line(case, pattern):
    refused(run_cli(ROOT, "validate", f"tests/fixtures/openclaw/bad/{case}"), pattern)
    refused(run_cli(ROOT, "validate", f"tests/fixtures/openclaw/bad/{case}/openclaw.json", "--format", "json"), pattern)


def test_a_config_over_16_mib_is_refused(tmp_path):
    write(tmp_path / "openclaw.json", '{ pad: "' + "x" * (16 * 1024 * 1024) + '" }')
    refused(run_cli(tmp_path, "validate", "openclaw.json"), r"openclaw\.json: .*over the 16 MiB limit")


def test_includes_over_16_mib_together_are_refused(tmp_path):
    write(tmp_path / "big.json5", '{ pad: "' + "x" * (5 * 1024 * 1024) + '" }')
    write(tmp_path / "openclaw.json", '{ a: { $include: ["big.json5", "big.json5", "big.json5", "big.json5"] } }')
    refused(run_cli(tmp_path, "validate", "openclaw.json"), r"openclaw\.json:1:\d+: the config and the files it "
                                                           r"includes .* over the 16 MiB limit")


def test_a_config_nested_too_deep_is_refused(tmp_path):
    write(tmp_path / "openclaw.json", "{ a: " * 100 + "1" + " }" * 100)
    refused(run_cli(tmp_path, "validate", "openclaw.json"), r"openclaw\.json:1:\d+: not valid JSON5: nested deeper "
                                                           r"than 64 levels")


def test_a_config_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "openclaw.json").write_bytes(b'{ gateway: { name: "caf\xe9" } }')
    refused(run_cli(tmp_path, "validate", "openclaw.json"), r"openclaw\.json: not UTF-8")


def test_stdin_config_may_not_include(tmp_path):
    refused(run_cli(tmp_path, "validate", "-", stdin=b'{ agents: { $include: "./a.json5" } }'),
            r"<stdin>:1:23: \$include \"\./a\.json5\" escapes the config's folder")


# -- the benchmark's input ------------------------------------------------------------------------------------
def _bench():
    spec = importlib.util.spec_from_file_location("bench_openclaw_validate", ROOT / "bench" / "openclaw_validate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shape, split", [("entries", False), ("list", True)])
def test_the_benchmark_config_is_clean_and_large_configs_read_whole(tmp_path, shape, split):
    """bench/openclaw_validate.py times a clean config: the generator must keep it clean (no timing here)."""
    for name, text in _bench().generate(100, 500, shape=shape, split=split).items():
        write(tmp_path / name, text)
    checked = check([str(tmp_path / "openclaw.json")])
    assert checked.report.findings == []
    assert len(checked.report.files) == (3 if split else 1)


def test_every_unknown_binding_agent_gets_its_suggestion(tmp_path):
    """Suggestions were capped at 50 per config while difflib was slow; each of 80 now has its own."""
    roster = ", ".join(f'{{ id: "team-{i:03d}" }}' for i in range(200))
    bindings = ", ".join(f'{{ agentId: "team_{i:03d}", match: {{ channel: "telegram", accountId: "a{i}" }} }}'
                         for i in range(80))
    write(tmp_path / "openclaw.json", f"{{ agents: {{ list: [{roster}] }}, bindings: [{bindings}] }}")
    found = [f for f in validate([str(tmp_path / "openclaw.json")]).findings if f.code == "O001"]
    assert len(found) == 80
    assert all(f"did you mean `team-{i:03d}`?" in f.message for i, f in enumerate(found)), found[-1].message
