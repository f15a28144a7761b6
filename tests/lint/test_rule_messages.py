"""Messages whose exact wording users rely on: both lines of a duplicate, the right "did you mean",
the YAML 1.1 value spelled out, and never the secret itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawctl.render.output import json_text
from clawctl.services.validate import validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"

AGENTS = """\
agents:
  sales_us:
    region: us-east
    channels: [whatsapp, email]
    backups: [sales_eu]
  sales_eu:
    region: europe
    channels: [whatsapp, email]
    backups: [sales_us]
"""


def only(path: Path | str, code: str):
    hits = [f for f in validate([str(path)]).findings if f.code == code]
    assert len(hits) == 1, hits
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "fleet.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_key_names_both_lines():
    f = only(FIXTURES / "Y002" / "fail.yaml", "Y002")
    assert f.span.line == 8
    assert "`region`" in f.message
    assert "first at line 4" in f.message
    assert [r.span.line for r in f.related] == [4]


def test_unknown_key_suggests_the_right_key():
    f = only(FIXTURES / "S001" / "fail.yaml", "S001")
    assert "unknown key `capabilites`" in f.message
    assert "did you mean `capabilities`?" in f.message
    assert f.path == ("agents", "billing_us", "capabilites")


def test_unknown_top_level_key_says_the_top_level(tmp_path):
    f = only(write(tmp_path, AGENTS + "load_balancer:\n  strategy: least_conn\n"), "S001")
    assert f.message == "unknown key `load_balancer` in the top level (did you mean `load_balancing`?)"


def test_unknown_strategy_suggests_least_conn():
    f = only(FIXTURES / "L002" / "fail.yaml", "L002")
    assert "unknown strategy `least_con`" in f.message
    assert "did you mean `least_conn`?" in f.message
    assert f.path == ("load_balancing", "strategy")


def test_unknown_timezone_suggests_the_zone():
    f = only(FIXTURES / "V006" / "fail.yaml", "V006")
    assert "`Europe/Londn` is not an IANA time zone" in f.message
    assert "did you mean `Europe/London`?" in f.message


def test_backup_typo_suggests_the_existing_agent():
    f = only(FIXTURES / "B001" / "fail", "B001")
    assert "backup `suport_us` of agent `sales_us`" in f.message
    assert "did you mean `support_us`?" in f.message
    assert f.file.endswith("sales.yaml")


def test_sexagesimal_time_says_1020():
    f = only(FIXTURES / "Y003" / "fail.yaml", "Y003")
    assert "`17:00`" in f.message
    assert "1020" in f.message
    assert '"17:00"' in f.message  # tells how to quote it
    assert (f.span.line, f.span.column) == (9, 12)


def test_range_error_reads_as_a_sentence():
    f = only(FIXTURES / "S003" / "fail.yaml", "S003")
    assert f.message == "`max_concurrent_conversations` must be greater than or equal to 1"


@pytest.mark.parametrize("line, message", [
    ("weight: \"3\"", "`weight` must be an integer, not the string `3`"),
    ("weight: true", "`weight` must be an integer, not the boolean true"),
    ("weight: 1.5", "`weight` must be an integer, not the float 1.5"),
    ("weight: [1]", "`weight` must be an integer, not a list"),
    ("region: {a: 1}", "`region` must be a string, not a mapping"),
    ("region: 7", "`region` must be a string, not the integer 7"),
])
def test_wrong_type_names_the_value_it_got(tmp_path, line, message):
    f = only(write(tmp_path, f"agents:\n  a:\n    backups: [b]\n    {line}\n  b:\n    backups: [a]\n"), "S002")
    assert f.message == message


def test_request_type_without_agents_says_so(tmp_path):
    f = only(write(tmp_path, "agents: {}\ntraffic:\n  arrivals: {rate: 1/s}\n  mix:\n    - {name: any, share: 1}\n"),
             "T002")
    assert f.message == "request type `any` can never be served: the fleet has no agents"


# -- secrets: never in a message, never in JSON -------------------------------------------------

SECRET = "7f3c9a12e4b8d6f0a1c2"
SHAPED = "sk-ant-api03-Zq8vN2kLm4Rt6Wx9Yb1Cd3Ef"

SECRET_FLEETS = {
    "auth-token": (f"""\
agents:
  sales_us:
    region: us-east
    auth:
      token_env: SALES_US_TOKEN
      token: {SECRET}
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
""", SECRET, "X001"),
    "auth-token-without-env": (f"""\
agents:
  sales_us:
    region: us-east
    auth: {{token: {SECRET}}}
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
""", SECRET, "X001"),
    "endpoint-credentials": (f"""\
agents:
  sales_us:
    region: us-east
    endpoint: http://ops:{SECRET}@10.0.0.5:8080
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
""", SECRET, "X001"),
    "secret-key": (AGENTS + f"x-alerting:\n  pagerduty_api_key: {SECRET}\n", SECRET, "X002"),
    "secret-dashed-key": (AGENTS + f"x-alerting:\n  x-api-key: {SECRET}\n", SECRET, "X002"),
    "secret-camel-key": (AGENTS + f"x-alerting:\n  accessToken: {SECRET}\n", SECRET, "X002"),
    "secret-number": (AGENTS + "x-alerting:\n  password: 73914562\n", "73914562", "X002"),
    "secret-shape": (AGENTS + f"x-notes:\n  anthropic: {SHAPED}\n", SHAPED, "X002"),
    "secret-under-user-auth": (AGENTS + f"x-legacy:\n  auth:\n    token: {SECRET}\n", SECRET, "X002"),
    # Other rules see the secret too (a wrong type, a bad URL); they must not repeat it either.
    "auth-as-a-string": (f"""\
agents:
  sales_us:
    region: us-east
    auth: {SHAPED}
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
""", SHAPED, "X002"),
    "bad-url-with-credentials": (f"""\
agents:
  sales_us:
    region: us-east
    endpoint: ftp://ops:{SECRET}@10.0.0.5:8080
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
""", SECRET, "V005"),
}


@pytest.mark.parametrize("case", sorted(SECRET_FLEETS))
def test_secret_is_reported_but_never_repeated(tmp_path, case):
    text, secret, code = SECRET_FLEETS[case]
    path = write(tmp_path, text)
    report = validate([str(path)])
    assert code in {f.code for f in report.findings}, [f"{f.code} {f.message}" for f in report.findings]
    for f in report.findings:
        assert secret not in f.message, f"{f.code} repeats the secret: {f.message}"
    out = json_text(report.as_dict())
    assert secret not in out
    assert json.loads(out)["schema_version"] == 1


@pytest.mark.parametrize("code", ["X001", "X002"])
def test_secret_fixtures_never_repeat_the_value(code):
    path = FIXTURES / code / "fail.yaml"
    secret = {"X001": "7f3c9a12e4b8d6f0a1c2", "X002": "u+Xz81kQw3pLmA9vT2rB"}[code]
    assert secret in path.read_text()  # the fixture does hold it
    report = validate([str(path)])
    hits = [f for f in report.findings if f.code == code]
    assert hits
    assert all(secret not in f.message for f in report.findings)
    assert secret not in json_text(report.as_dict())


def test_literal_token_points_at_the_token():
    f = only(FIXTURES / "X001" / "fail.yaml", "X001")
    assert f.path == ("agents", "sales_us", "auth", "token")
    assert f.span.line == 9


def test_literal_token_is_reported_even_without_token_env(tmp_path):
    path = write(tmp_path, SECRET_FLEETS["auth-token-without-env"][0])
    codes = sorted(f.code for f in validate([str(path)]).findings)
    assert codes == ["S004", "X001"]


def test_reference_keys_are_not_secrets(tmp_path):
    path = write(tmp_path, AGENTS + "x-alerting:\n  api_key_env: PAGERDUTY_KEY\n  token_file: /run/secrets/pd\n"
                 "  max_tokens: 4096\n")
    assert [f.code for f in validate([str(path)]).findings] == []
