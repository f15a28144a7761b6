"""`clawctl import openclaw`: an openclaw.json's agents, channels, capacity, isolation and endpoint as a
fleet file that `clawctl validate` passes, with no secret copied and the rest left to the user."""

from __future__ import annotations

import io
import random

import pytest

from clawctl.core.openclaw.import_fleet import CHANNEL_IDS, fleet_id, level_of, plan
from clawctl.core.openclaw.model import (
    OCAgent,
    OCBinding,
    OCChannel,
    OCConfig,
    Peer,
    Pos,
)
from clawctl.services.validate import ValidateOptions, check

FILE = "/home/op/.openclaw/openclaw.json"
SECRET = "oc_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def pos(line: int) -> Pos:
    return Pos(FILE, line, 5)


def agent(agent_id: str, line: int = 3, **kw) -> OCAgent:
    return OCAgent(agent_id, pos(line), **kw)


def binding(i: int, agent_id: str | None, channel: str, **kw) -> OCBinding:
    return OCBinding(i, agent_id, pos(20 + i), channel=channel, **kw)


def channel(cid: str, **raw) -> OCChannel:
    return OCChannel(cid, pos(40), raw=raw)


def config(agents, bindings=(), channels=(), *, ownership="explicit", port=18789, data=None, default_max=None,
           shape="entries") -> OCConfig:
    return OCConfig(FILE, shape, list(agents), list(bindings), {c.id: c for c in channels}, ownership=ownership,
                    gateway_port=port, gateway_port_pos=pos(2) if port else None,
                    default_max_concurrent=default_max, data=data or {})


def errors(text: str) -> list[str]:
    report = check(["-"], ValidateOptions(stdin=io.BytesIO(text.encode()), stdin_filename="fleet.yaml")).report
    return [f"{f.code} {f.message}" for f in report.findings if f.severity.value == "error"]


def fleet(text: str) -> dict:
    checked = check(["-"], ValidateOptions(stdin=io.BytesIO(text.encode()), stdin_filename="fleet.yaml"))
    assert not errors(text), errors(text)
    return checked.fleets[0]


SUPPORT_SHOP = config(
    [agent("support", sandbox={"mode": "all", "scope": "session"}), agent("sales", 5, max_concurrent=3)],
    [binding(0, "support", "telegram"), binding(1, "sales", "telegram", peer=Peer("direct", "+15551234567")),
     binding(2, "sales", "openclaw-weixin", account_id="*"), binding(3, "support", "Discord", guild_id="g1")],
    [channel("telegram"), channel("discord")],
    data={"agents": {"defaults": {"maxConcurrent": 8}}, "gateway": {"auth": {"mode": "token", "token": SECRET}}},
    default_max=8,
)


def test_the_written_fleet_passes_validate_with_no_error():
    assert errors(plan(SUPPORT_SHOP).text) == []


def test_agents_channels_capacity_isolation_and_endpoint_come_from_openclaw():
    imported = plan(SUPPORT_SHOP)
    f = fleet(imported.text)
    support, sales = f.agents["support"], f.agents["sales"]
    assert support.channels == ["telegram", "discord"]
    assert sales.channels == ["telegram", "wechat"]  # openclaw-weixin is clawctl's wechat
    assert (support.max_concurrent_conversations, sales.max_concurrent_conversations) == (8, 3)
    assert support.isolation == "openclaw-all-session" and sales.isolation == "openclaw-host"
    levels = {lv.level: lv for lv in f.session_isolation.security_levels}
    assert levels["openclaw-all-session"].memory_isolation == "container_level"
    assert levels["openclaw-all-session"].network_segmentation is True  # docker.network defaults to none
    assert levels["openclaw-host"].memory_isolation == "none"
    assert [lv.level for lv in f.session_isolation.security_levels] == ["openclaw-all-session", "openclaw-host"]
    for a in (support, sales):
        assert (a.endpoint_kind, a.endpoint, a.auth.token_env) == ("openclaw", "http://127.0.0.1:18789",
                                                                   "OPENCLAW_GATEWAY_TOKEN")


def test_a_literal_gateway_token_is_never_copied_only_a_variable_named():
    imported = plan(SUPPORT_SHOP)
    assert SECRET not in imported.text
    assert not any(SECRET in note for note in imported.notes)
    assert any("literal secret" in note for note in imported.notes)


@pytest.mark.parametrize(("auth", "expected"), [
    ({"token": "${OC_TOKEN}"}, "OC_TOKEN"),
    ({"token": {"source": "env", "provider": "default", "id": "GW_TOKEN"}}, "GW_TOKEN"),
    ({"mode": "password", "password": "hunter2-but-longer"}, "OPENCLAW_GATEWAY_PASSWORD"),
    ({}, "OPENCLAW_GATEWAY_TOKEN"),
    ({"mode": "none"}, None),
])
def test_the_token_variable_is_the_one_openclaw_reads_it_from(auth, expected):
    imported = plan(config([agent("a")], data={"gateway": {"auth": auth}}))
    assert imported.token_env == expected
    f = fleet(imported.text)
    assert (f.agents["a"].auth.token_env if f.agents["a"].auth else None) == expected
    assert "hunter2" not in imported.text


def test_clawctl_only_fields_are_left_as_todo_comments():
    text = plan(SUPPORT_SHOP).text
    for key in ("domain", "region", "capabilities", "availability", "service_time", "backups", "load_balancing"):
        assert f"# {key}:" in text, key
    assert "TODO(clawctl)" in text
    f = fleet(text)
    assert all(a.domain is None and a.region is None and a.backups == [] for a in f.agents.values())
    assert "\nload_balancing:" not in text and "\n# load_balancing:" in text


def test_the_fallback_owner_takes_every_channel_no_channel_wide_binding_covers():
    cfg = config([agent("solo")], [binding(0, "solo", "slack", peer=Peer("channel", "C1"))],
                 [channel("telegram"), channel("slack"), channel("signal", enabled=False)], ownership=None)
    f = fleet(plan(cfg).text)
    assert f.agents["solo"].channels == ["slack", "telegram"]  # signal is disabled
    covered = config([agent("a"), agent("b", default=True)], [binding(0, "a", "telegram", account_id="*")],
                     [channel("telegram"), channel("slack")], ownership=None, shape="list")
    agents = fleet(plan(covered).text).agents
    assert (agents["a"].channels, agents["b"].channels) == (["telegram"], ["slack"])


def test_explicit_ownership_gives_unbound_channels_to_nobody():
    cfg = config([agent("a"), agent("b")], [binding(0, "a", "telegram")], [channel("telegram"), channel("slack")])
    imported = plan(cfg)
    assert fleet(imported.text).agents["b"].channels == []
    assert any("b: no binding routes to it" in n for n in imported.notes)


def test_bindings_to_unknown_agents_are_left_out_with_a_note():
    imported = plan(config([agent("a")], [binding(0, "ghost", "telegram")]))
    assert fleet(imported.text).agents["a"].channels == []
    assert any("ghost" in n and "not configured" in n for n in imported.notes)


def test_openclaw_ids_clawctl_refuses_are_renamed_and_remembered():
    taken: set[str] = set()
    assert fleet_id("_ops", taken) == "ops"
    assert fleet_id("Sales Team", taken) == "sales-team"
    assert fleet_id("x" * 64, taken) == "x" * 63
    assert fleet_id("ops", {"ops"}) == "ops-2"
    imported = plan(config([agent("_ops"), agent("ops")], [binding(0, "_ops", "telegram")]))
    text = imported.text
    assert 'x-openclaw-id: "_ops"' in text
    assert set(fleet(text).agents) == {"ops", "ops-2"}


def test_without_a_gateway_port_the_endpoint_is_a_commented_placeholder():
    imported = plan(config([agent("a")], port=None))
    assert imported.endpoint is None
    assert "# endpoint: http://127.0.0.1:18789" in imported.text
    assert fleet(imported.text).agents["a"].endpoint is None


def test_a_gateway_with_tls_on_a_custom_host_is_https_there():
    data = {"gateway": {"bind": "custom", "customBindHost": "10.0.0.5", "tls": {"enabled": True}}}
    assert plan(config([agent("a")], port=443, data=data)).endpoint == "https://10.0.0.5:443"


@pytest.mark.parametrize(("sandbox", "defaults", "name", "memory", "segmented"), [
    (None, None, "openclaw-host", "none", False),
    ({"mode": "off"}, {"mode": "all"}, "openclaw-host", "none", False),
    ({"mode": "all"}, None, "openclaw-all-agent", "container_level", True),
    (None, {"mode": "non-main", "scope": "shared"}, "openclaw-non-main-shared", "none", True),
    ({"docker": {"network": "bridge"}}, {"mode": "all"}, "openclaw-all-agent-net", "container_level", False),
    ({"mode": "all", "backend": "ssh"}, None, "openclaw-all-agent-ssh", None, None),
    ({"mode": "all", "backend": "podman", "scope": "session"}, None, "openclaw-all-session-podman",
     "container_level", True),
])
def test_sandbox_settings_map_to_isolation_levels(sandbox, defaults, name, memory, segmented):
    cfg = config([agent("a", sandbox=sandbox)], data={"agents": {"defaults": {"sandbox": defaults}}} if defaults
                 else None)
    level = level_of(cfg, sandbox)
    assert (level.name, level.memory_isolation, level.network_segmentation) == (name, memory, segmented)
    assert errors(plan(cfg).text) == []


def test_capacity_is_floored_at_one_and_capped_at_clawctls_ceiling():
    cfg = config([agent("a", max_concurrent=10**9), agent("b", max_concurrent=0)], default_max=4)
    agents = fleet(plan(cfg).text).agents
    assert (agents["a"].max_concurrent_conversations, agents["b"].max_concurrent_conversations) == (100_000, 1)


def test_channel_aliases_become_clawctls_ids():
    assert CHANNEL_IDS["teams"] == "msteams" and CHANNEL_IDS["weixin"] == "wechat"
    cfg = config([agent("a")], [binding(0, "a", "Teams"), binding(1, "a", "lark"), binding(2, "a", "telegram")])
    assert fleet(plan(cfg).text).agents["a"].channels == ["msteams", "feishu", "telegram"]


def test_a_roster_with_no_agents_still_writes_a_valid_file():
    assert errors(plan(config([], shape="none", ownership=None)).text) == []


NASTY = ["yes", "no", "on", "007", "1e3", "null", "a: b", "#x", "it's", 'q"uote', "tab\there", "new\nline",
         "ünï", "\u202eevil", "-dash", "*", "&anchor", "!tag", "~", "%pct", "@at", "`tick`", "{x}", "[y]"]


def test_any_ids_openclaw_allows_still_give_a_valid_fleet_file():
    rng = random.Random(7)
    for _ in range(40):
        ids = rng.sample(["a", "_x", "Y", "on", "007", "z" * 64, "yes", "agent-1", *NASTY], rng.randint(1, 4))
        bindings = [binding(i, rng.choice(ids + ["ghost", None]), rng.choice(NASTY + ["telegram", "slack"]),
                            account_id=rng.choice([None, "*", rng.choice(NASTY)]),
                            peer=rng.choice([None, Peer("group", rng.choice(NASTY))]))
                    for i in range(rng.randint(0, 5))]
        channels = [channel(c) for c in rng.sample(NASTY + ["telegram"], 3)]
        cfg = config([agent(i, max_concurrent=rng.choice([None, 1, 7])) for i in ids], bindings, channels,
                     ownership=rng.choice([None, "explicit"]), port=rng.choice([None, 18789]),
                     data={"gateway": {"auth": {"token": rng.choice(NASTY)}}})
        text = plan(cfg).text
        assert errors(text) == [], text
