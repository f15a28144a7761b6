"""Bugs found while writing the rule fixtures, pinned so they stay fixed."""

from __future__ import annotations

from pathlib import Path

from clawctl.services.validate import validate

PAIR = """\
  sales_us:
    region: us-east
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
"""


def lint(tmp_path: Path, **files: str):
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return validate([str(tmp_path)]).findings


def test_named_fleet_split_over_files_is_not_a_duplicate_section(tmp_path):
    """Files of one fleet share `metadata.name`; that must not draw S006 for `metadata`."""
    found = lint(tmp_path,
                 us="metadata: {name: acme}\nagents:\n  sales_us: {region: us-east, backups: [sales_eu]}\n",
                 eu="metadata: {name: acme}\nagents:\n  sales_eu: {region: europe, backups: [sales_us]}\n")
    assert found == []


def test_sections_other_than_metadata_still_may_not_repeat(tmp_path):
    found = lint(tmp_path, a="metadata: {name: acme}\nagents:\n" + PAIR + "traffic: {requests: 10}\n",
                 b="metadata: {name: acme}\nagents: {}\ntraffic: {requests: 20}\n")
    assert [(f.code, f.path) for f in found] == [("S006", ("traffic",))]


def test_unknown_channel_in_defaults_is_reported_once(tmp_path):
    found = lint(tmp_path, fleet="defaults:\n  channels: [whatsap, email]\nagents:\n" + PAIR)
    assert [(f.code, f.path) for f in found] == [("A003", ("defaults", "channels", 0))]
    assert "did you mean `whatsapp`?" in found[0].message


def test_undefined_level_in_defaults_is_reported_once(tmp_path):
    found = lint(tmp_path, fleet="defaults:\n  isolation: critcal\nagents:\n" + PAIR
                 + "session_isolation:\n  security_levels:\n    - level: critical\n")
    assert [(f.code, f.path) for f in found] == [("I001", ("defaults", "isolation"))]


def test_language_spoken_only_by_agents_that_cannot_serve_the_request(tmp_path):
    """T003 asks the agents that can serve the request type, not any agent of the fleet."""
    found = lint(tmp_path, fleet="""\
agents:
  email_us:
    region: us-east
    channels: [email]
    languages: [english]
    backups: [email_eu]
  email_eu:
    region: europe
    channels: [email]
    languages: [english]
    backups: [email_us]
  chat_de:
    region: europe
    channels: [whatsapp]
    languages: [german]
    backups: [chat_de_2]
  chat_de_2:
    region: us-east
    channels: [whatsapp]
    backups: [chat_de]
traffic:
  arrivals: {rate: 1/s}
  mix:
    - {name: de_email, share: 1, channel: email, language: german}
""")
    assert [(f.code, f.path) for f in found] == [("T003", ("traffic", "mix", 0, "language"))]


def test_schedule_error_points_at_the_schedule(tmp_path):
    found = lint(tmp_path, fleet="agents:\n  sales_us:\n    region: us-east\n    business_hours:\n"
                 "      timezone: UTC\n      schedule: 9AM-6PM weekday\n    backups: [sales_eu]\n"
                 "  sales_eu:\n    region: europe\n    backups: [sales_us]\n")
    assert [(f.code, f.path, f.span.line) for f in found] == \
        [("V004", ("agents", "sales_us", "business_hours", "schedule"), 6)]


def test_secret_screen_lets_private_key_spellings_through(tmp_path):
    found = lint(tmp_path, fleet="agents:\n" + PAIR + "x-sso:\n  privatekey: 3f9a8b7c6d5e4f3a2b1c\n"
                 "  signing-private-key: 3f9a8b7c6d5e4f3a2b1c\n")
    assert [(f.code, f.path[-1]) for f in found] == [("X002", "privatekey"), ("X002", "signing-private-key")]


def test_b001_never_suggests_the_agent_itself(tmp_path):
    """A typo near the agent's own id suggests another agent, or nothing: naming itself would be B002."""
    found = lint(tmp_path, fleet="agents:\n  web: {backups: [wbe]}\n  api: {backups: [web]}\n")
    (b001,) = [f for f in found if f.code == "B001"]
    assert "did you mean `web`" not in b001.message and "`wbe`" in b001.message
    found = lint(tmp_path, fleet="agents:\n  web: {backups: [webx]}\n  webs: {backups: [web]}\n")
    (b001,) = [f for f in found if f.code == "B001"]
    assert "did you mean `webs`" in b001.message  # `web` is nearer, but it is the agent itself
