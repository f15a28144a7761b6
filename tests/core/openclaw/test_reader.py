"""Reading openclaw.json as OpenClaw does: JSON5 with positions, `$include` (replace, deep merge, siblings,
relative paths, confinement, cycles), opaque `${VAR}` and SecretRefs, both roster shapes, bounds.

Most tests read through an in-memory file system (:class:`MemFS`), as the pure reader allows; those about
symbolic links and real bounds use the real one (``adapters.openclaw_files.LocalFS``) in a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawctl.adapters.openclaw_files import LocalFS
from clawctl.adapters.openclaw_files import read_config as read_local
from clawctl.core.errors import ExitCode, InputError
from clawctl.core.openclaw import json5
from clawctl.core.openclaw.reader import is_config_name, looks_like_openclaw, may_be_openclaw, read_config

ROOT = "/cfg"


class MemFS:
    """A file system of ``{absolute path: text}``; no symbolic links."""

    def __init__(self, files: dict[str, str], max_bytes: int = 16 * 1024 * 1024) -> None:
        self.files = {posixpath.normpath(k): v for k, v in files.items()}
        self.max_bytes = max_bytes
        self.reads: list[str] = []

    def abspath(self, path: str) -> str:
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(ROOT, path))

    def realpath(self, path: str) -> str:
        return posixpath.normpath(path)

    def exists(self, path: str) -> bool:
        return path in self.files

    def read(self, path: str, name: str) -> str:
        self.reads.append(path)
        if path not in self.files:
            raise InputError(f"{name}: no such file")
        return self.files[path]


def read(files: dict[str, str], path: str = "openclaw.json", **kw):
    fs = MemFS({posixpath.join(ROOT, k): v for k, v in files.items()}, **kw)
    return read_config(path, fs), fs


def refused(files: dict[str, str], path: str = "openclaw.json", **kw) -> str:
    with pytest.raises(InputError) as info:
        read(files, path, **kw)
    assert info.value.exit_code == ExitCode.UNREADABLE
    message = str(info.value)
    assert "\n" not in message
    return message


# -- JSON5 -----------------------------------------------------------------------------------------------
JSON5_DOC = """\
// OpenClaw's config, written the way its docs write it
{
  gateway: { port: 18789, bind: 'loopback', },   // unquoted keys, single quotes, trailing commas
  /* a block comment */
  "quoted": "a \\"b\\" \\x41\\u0042 \\
continued",
  numbers: [+1, .5, 5., 0x1F, -Infinity, 1e3, -0],
  $dollar: null, _under: true, ünï: false,
}
"""


def test_json5_syntax_as_openclaw_writes_it():
    value, _ = json5.parse(JSON5_DOC)
    assert value["gateway"] == {"port": 18789, "bind": "loopback"}
    assert value["quoted"] == 'a "b" AB continued'
    nums = value["numbers"]
    assert nums[:4] == [1, 0.5, 5.0, 31] and nums[4] == -math.inf and nums[5] == 1000.0
    assert value["$dollar"] is None and value["_under"] is True and value["ünï"] is False


def test_a_repeated_key_keeps_its_place_and_takes_the_last_value():
    value, spans = json5.parse('{a: 1, b: 2, a: 3}')
    assert list(value) == ["a", "b"] and value["a"] == 3
    assert json5.unpack(spans["/a"])[0] == len("{a: 1, b: 2, a: ")


@pytest.mark.parametrize("text, message, offset", [
    ("{a: 1", "`}` is missing", 5),
    ("{a 1}", "expected `:` after the key", 3),
    ("[1 2]", "expected `,` or `]`", 3),
    ("{a: yes}", "`yes` is not a value", 4),
    ("{a: 'open}", "unterminated string", 10),
    ("{a: 1}}", "after the end of the value", 6),
    ("", "holds no value", 0),
    ("/* never closed", "unterminated `/*` comment", 0),
    ("{a: 01}", "malformed number", 4),
    ("{a: '\\uD800'}", "lone UTF-16 surrogate", 5),
    ("{,}", "expected a key", 1),
])
def test_not_json5_is_refused_with_the_place(text, message, offset):
    with pytest.raises(json5.Json5Error) as info:
        json5.parse(text)
    assert message in info.value.message
    assert info.value.offset == offset


def test_not_json5_is_one_line_naming_file_line_and_column():
    message = refused({"openclaw.json": '{\n  gateway: {\n    port: 18789\n    bind: "lan",\n  },\n}\n'})
    assert message.startswith("openclaw.json:4:5: not valid JSON5: expected `,` or `}`")


def test_nesting_and_value_count_are_bounded():
    deep = "[" * 65 + "]" * 65
    with pytest.raises(json5.Json5Error, match="nested deeper than 64"):
        json5.parse(deep)
    json5.parse("[" * 64 + "]" * 64)
    with pytest.raises(json5.Json5Error, match="more than 10 values"):
        json5.parse("[" + "1," * 11 + "]", max_values=10)


def test_a_deep_config_is_refused_in_one_line():
    message = refused({"openclaw.json": "{a:" * 70 + "1" + "}" * 70})
    assert message.startswith("openclaw.json:1:") and "nested deeper than 64 levels" in message


# Random documents: dumped in JSON5 style, read back identical, and every value found where it was written.
_keys = st.one_of(st.from_regex(r"[A-Za-z_$][A-Za-z0-9_$]{0,8}", fullmatch=True),
                  st.text(min_size=0, max_size=6))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                     st.floats(allow_nan=False, allow_infinity=False, width=64), st.text(max_size=12))
_values = st.recursive(_scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                         st.dictionaries(_keys, kids, max_size=4)), max_leaves=25)


def _dump(value, rnd) -> str:
    """JSON5 text for ``value``, with the syntax varied by ``rnd`` (a list of booleans, cycled)."""
    flags = iter(rnd * 50 + [False] * 1000)

    def key(k: str) -> str:
        if next(flags) and k and (k[0].isalpha() or k[0] in "_$") and all(c.isalnum() or c in "_$" for c in k) \
                and k.isascii():
            return k
        return string(k)

    def string(s: str) -> str:
        if next(flags) and "'" not in s and "\\" not in s and all(c.isprintable() for c in s):
            return "'" + s + "'"
        return json.dumps(s)

    def walk(v) -> str:
        gap = " /* c */ " if next(flags) else "\n  "
        if isinstance(v, dict):
            body = ("," + gap).join(f"{key(k)}:{gap}{walk(x)}" for k, x in v.items())
            return "{" + body + ("," if v and next(flags) else "") + "}"
        if isinstance(v, list):
            return "[" + ("," + gap).join(walk(x) for x in v) + ("," if v and next(flags) else "") + "]"
        if isinstance(v, str):
            return string(v)
        return json.dumps(v)

    return "// generated\n" + walk(value) + "\n"


def _get(value, pointer: str):
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, st.lists(st.booleans(), min_size=1, max_size=8))
def test_random_documents_read_back_with_every_position(value, rnd):
    text = _dump(value, rnd)
    parsed, spans = json5.parse(text)
    assert parsed == json.loads(json.dumps(value))
    for ptr, packed in spans.items():
        start, _ = json5.unpack(packed)
        end = json5.value_end(text, start)
        assert json5.parse(text[start:end])[0] == _get(parsed, ptr)


# -- the model: both roster shapes ---------------------------------------------------------------------
LIST_SHAPE = """\
// up to 2026.7: agents.list[] (docs/gateway/config-agents.md of that time)
{
  gateway: { mode: "local", port: 18789, auth: { mode: "token", token: "${OPENCLAW_GATEWAY_TOKEN}" } },
  agents: {
    defaults: { maxConcurrent: 4, workspace: "~/.openclaw/workspace" },
    list: [
      { id: "main", default: true, workspace: "~/.openclaw/workspace-main" },
      { id: "work", agentDir: "~/.openclaw/agents/work/agent", maxConcurrent: 2,
        sandbox: { mode: "all", scope: "agent" } },
    ],
  },
  bindings: [
    { agentId: "work", comment: "biz line", match: { channel: "whatsapp", accountId: "biz" } },
    { agentId: "main", match: { channel: "discord", guildId: 123, roles: ["ops", 7], peer: {kind: "group", id: 99} }},
    { type: "acp", agentId: "work", match: { channel: "telegram", peer: { kind: "direct", id: "*" } } },
  ],
  channels: {
    whatsapp: { defaultAccount: "biz", accounts: { biz: {}, personal: {} } },
    defaults: { groupPolicy: "allowlist" },
  },
}
"""

ENTRIES_SHAPE = """\
{
  agents: {
    ownership: "explicit",
    entries: {
      home: { workspace: "~/.openclaw/workspace-home" },
      "work/eu": { workspace: "~/.openclaw/workspace-work" },
    },
  },
  bindings: [
    { agentId: "home", match: { channel: "whatsapp", accountId: "personal" } },
  ],
}
"""


def test_the_old_list_shape():
    config, _ = read({"openclaw.json": LIST_SHAPE})
    assert config.shape == "list" and config.ownership is None
    main, work = config.agents
    assert (main.id, main.default, main.workspace, main.max_concurrent) == \
        ("main", True, "~/.openclaw/workspace-main", 4)
    assert (work.id, work.default, work.agent_dir, work.max_concurrent) == \
        ("work", False, "~/.openclaw/agents/work/agent", 2)
    assert work.sandbox == {"mode": "all", "scope": "agent"} and work.pointer == "/agents/list/1"
    assert (main.pos.line, main.pos.col) == (7, 13)  # its `id` value
    assert (work.agent_dir_pos.line, work.agent_dir_pos.col) == (8, 31)
    assert config.default_max_concurrent == 4
    assert (config.gateway_port, config.gateway_port_pos.line, config.gateway_port_pos.col) == (18789, 3, 35)
    first, second, acp = config.bindings
    assert (first.agent_id, first.channel, first.account_id, first.comment) == ("work", "whatsapp", "biz", "biz line")
    assert (second.guild_id, second.roles, second.peer.kind, second.peer.id) == ("123", ("ops", "7"), "group", "99")
    assert acp.type == "acp" and acp.peer.id == "*" and acp.index == 2 and acp.pointer == "/bindings/2"
    assert (first.pos.line, first.pos.col) == (13, 5)
    assert list(config.channels) == ["whatsapp"]  # `defaults` configures every channel: not a channel
    wa = config.channels["whatsapp"]
    assert (wa.accounts, wa.default_account, wa.pos.line) == (("biz", "personal"), "biz", 18)


def test_the_new_entries_shape():
    config, _ = read({"openclaw.json": ENTRIES_SHAPE})
    assert config.shape == "entries" and config.ownership == "explicit"
    assert [a.id for a in config.agents] == ["home", "work/eu"]
    assert config.agents[1].pointer == "/agents/entries/work~1eu"
    assert (config.agents[0].pos.line, config.agents[0].pos.col) == (5, 7)  # the key
    assert config.where("/agents/entries/work~1eu/workspace").line == 6
    assert config.gateway_port is None and config.state_dir == "/cfg"  # openclaw.json: its folder is the state dir


def test_no_roster():
    config, _ = read({"openclaw.json": '{gateway: {port: 19001}}'})
    assert config.shape == "none" and config.agents == [] and config.bindings == []


def test_positions_cover_every_value_and_fall_back_to_the_nearest_ancestor():
    config, _ = read({"openclaw.json": LIST_SHAPE})
    assert config.positions[""].line == 2
    assert config.positions["/bindings/1/match/roles/1"] == config.where("/bindings/1/match/roles/1")
    assert config.where("/bindings/1/match/nothing/here") == config.positions["/bindings/1/match"]
    file, span = config.source.locate("/bindings/0/match", at_key=True)
    assert (file, span.line, span.column, span.end_column) == ("openclaw.json", 13, 45, 50)


# -- secrets and ${VAR} ----------------------------------------------------------------------------------
def test_env_references_and_secret_refs_stay_opaque():
    text = """{
      gateway: { auth: { token: "${OPENCLAW_GATEWAY_TOKEN}" } },
      models: { providers: { openai: { apiKey: { source: "env", provider: "default", id: "OPENAI_API_KEY" } } } },
      channels: { telegram: { botToken: "prefix-${TG}-suffix" } },
    }"""
    config, fs = read({"openclaw.json": text})
    assert config.data["gateway"]["auth"]["token"] == "${OPENCLAW_GATEWAY_TOKEN}"
    assert config.data["models"]["providers"]["openai"]["apiKey"] == {"source": "env", "provider": "default",
                                                                      "id": "OPENAI_API_KEY"}
    assert config.channels["telegram"].raw["botToken"] == "prefix-${TG}-suffix"
    assert fs.reads == ["/cfg/openclaw.json"]  # nothing else looked up: no env file, no secret file


def test_the_reader_never_puts_a_value_in_an_error():
    secret = "sk-live-0123456789abcdefghij"
    message = refused({"openclaw.json": '{gateway: {auth: {token: "' + secret + '"}}, bad: yes}'})
    assert secret not in message


# -- $include --------------------------------------------------------------------------------------------
def test_a_single_include_replaces_the_object_and_positions_stay_in_the_included_file():
    config, _ = read({
        "openclaw.json": '{\n  agents: { $include: "./agents/roster.json5" },\n}\n',
        "agents/roster.json5": '// the roster\n{\n  ownership: "explicit",\n'
                               '  entries: {\n    a: {},\n    b: {},\n  },\n}\n',
    })
    assert config.data["agents"] == {"ownership": "explicit", "entries": {"a": {}, "b": {}}}
    assert config.files == ("openclaw.json", "agents/roster.json5")
    pos = config.where("/agents/entries/b")
    assert (pos.file, pos.line, pos.col) == ("agents/roster.json5", 6, 8)
    assert (config.agents[1].pos.file, config.agents[1].pos.line) == ("agents/roster.json5", 6)
    assert config.where("/agents").file == "agents/roster.json5"


def test_an_include_list_deep_merges_in_order_and_concatenates_arrays():
    config, _ = read({
        "openclaw.json": '{ agents: { $include: ["a.json5", "b.json5"] }, '
                         'bindings: { $include: ["x.json5", "y.json5"] } }',
        "a.json5": '{ defaults: { maxConcurrent: 2, workspace: "~/w" }, entries: { a: { workspace: "~/a" } } }',
        "b.json5": '{ defaults: { maxConcurrent: 8 }, entries: { b: {} } }',
        "x.json5": '[{ agentId: "a", match: { channel: "slack" } }]',
        "y.json5": '[\n{ agentId: "b", match: { channel: "discord" } }]',
    })
    assert config.data["agents"]["defaults"] == {"maxConcurrent": 8, "workspace": "~/w"}  # later wins, others kept
    assert [a.id for a in config.agents] == ["a", "b"]
    assert [b.agent_id for b in config.bindings] == ["a", "b"]
    assert [(b.index, b.pos.file, b.pos.line) for b in config.bindings] == [(0, "x.json5", 1), (1, "y.json5", 2)]
    assert config.where("/agents/defaults/maxConcurrent").file == "b.json5"
    assert config.where("/agents/defaults/workspace").file == "a.json5"


def test_sibling_keys_merge_over_the_included_value():
    config, _ = read({
        "openclaw.json": '{ agents: { $include: "base.json5", ownership: "explicit", '
                         'defaults: { maxConcurrent: 3 } } }',
        "base.json5": '{ ownership: "implicit", defaults: { maxConcurrent: 1, timeoutSeconds: 60 }, '
                      'entries: { a: {} } }',
    })
    assert config.ownership == "explicit"
    assert config.data["agents"]["defaults"] == {"maxConcurrent": 3, "timeoutSeconds": 60}
    assert config.where("/agents/ownership").file == "openclaw.json"
    assert config.where("/agents/defaults/timeoutSeconds").file == "base.json5"


def test_nested_includes_resolve_relative_to_the_including_file():
    config, _ = read({
        "openclaw.json": '{ agents: { $include: "agents/index.json5" } }',
        "agents/index.json5": '{ entries: { $include: "./team/entries.json5" } }',
        "agents/team/entries.json5": '{ ops: { workspace: "~/ops" } }',
    })
    assert config.agents[0].id == "ops"
    assert config.agents[0].pos.file == "agents/team/entries.json5"


def test_an_include_inside_an_array_and_a_file_included_twice():
    config, fs = read({
        "openclaw.json": '{ bindings: [ { $include: "b.json5" }, { $include: "b.json5" } ] }',
        "b.json5": '{ agentId: "a", match: { channel: "slack" } }',
    })
    assert [b.index for b in config.bindings] == [0, 1]
    assert fs.reads.count("/cfg/b.json5") == 1  # read and parsed once


def test_keys_beside_an_include_that_is_not_an_object_are_refused():
    message = refused({"openclaw.json": '{ bindings: { $include: "b.json5", extra: 1 } }', "b.json5": "[]"})
    assert message.startswith("openclaw.json:1:25: $include: keys beside $include need the included value")


@pytest.mark.parametrize("include", ["../outside.json5", "/etc/passwd", "sub/../../outside.json5"])
def test_a_path_escaping_the_config_folder_is_refused(include):
    message = refused({"openclaw.json": '{\n  agents: { $include: ' + json.dumps(include) + ' },\n}\n'})
    assert message.startswith("openclaw.json:2:23: $include " + json.dumps(include) + " escapes the config's folder")


def test_a_nested_include_may_not_climb_above_the_config_folder_either():
    message = refused({"openclaw.json": '{ agents: { $include: "sub/a.json5" } }',
                       "sub/a.json5": '{ entries: { $include: "../../x.json5" } }'})
    assert message.startswith("sub/a.json5:1:24: $include \"../../x.json5\" escapes")


def test_an_include_of_a_missing_file_is_refused_naming_it():
    message = refused({"openclaw.json": '{ agents: { $include: "./agents.json5" } }'})
    assert message == "openclaw.json:1:23: $include \"./agents.json5\": no such file (agents.json5)"


def test_an_include_cycle_is_refused_with_the_chain():
    message = refused({"openclaw.json": '{ agents: { $include: "a.json5" } }',
                       "a.json5": '{ $include: "b.json5" }', "b.json5": '{ $include: "a.json5" }'})
    assert message == "b.json5:1:13: $include cycle: openclaw.json -> a.json5 -> b.json5 -> a.json5"


def test_a_config_including_itself_is_a_cycle():
    message = refused({"openclaw.json": '{ $include: "openclaw.json" }'})
    assert "$include cycle: openclaw.json -> openclaw.json" in message


def test_more_than_ten_nested_includes_are_refused():
    files = {"openclaw.json": '{ agents: { $include: "f1.json5" } }'}
    for i in range(1, 12):
        files[f"f{i}.json5"] = f'{{ $include: "f{i + 1}.json5" }}'
    files["f12.json5"] = "{}"
    assert "more than 10 nested includes" in refused(files)
    del files["f11.json5"]
    files["f10.json5"] = "{}"
    read(files)  # ten levels are fine


def test_an_included_file_that_is_not_json5_is_named():
    message = refused({"openclaw.json": '{ agents: { $include: "a.json5" } }', "a.json5": "{\n  list: [\n}"})
    assert message.startswith("a.json5:3:1: not valid JSON5:")


@pytest.mark.parametrize("spec, message", [
    ("42", "$include: expected a path or a list of paths, found a number"),
    ('["a.json5", 3]', "$include: each entry is a path, found a number"),
    ('""', "$include: an empty path"),
])
def test_malformed_include_values(spec, message):
    assert message in refused({"openclaw.json": "{ agents: { $include: " + spec + " } }", "a.json5": "{}"})


def test_includes_expand_within_the_size_limit():
    """Files including each other many times stay under the byte budget (each inclusion counted)."""
    files = {"openclaw.json": '{ $include: ["a.json5", "a.json5", "a.json5", "a.json5"] }'}
    for level in "abcdefgh":
        nxt = chr(ord(level) + 1)
        files[f"{level}.json5"] = f'{{ $include: ["{nxt}.json5", "{nxt}.json5", "{nxt}.json5", "{nxt}.json5"] }}'
    files["i.json5"] = '{ x: "' + "y" * 200 + '" }'
    assert "over the 1 MiB limit" in refused(files, max_bytes=1 << 20)


def test_stdin_may_not_include():
    fs = MemFS({})
    with pytest.raises(InputError, match="escapes the config's folder"):
        read_config("", fs, text='{ agents: { $include: "a.json5" } }')


# -- the real file system ----------------------------------------------------------------------------------
def test_a_symlink_out_of_the_config_folder_is_refused(tmp_path: Path):
    outside = tmp_path / "outside.json5"
    outside.write_text("{}")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "agents.json5").symlink_to(outside)
    (cfg / "openclaw.json").write_text('{ agents: { $include: "./agents.json5" } }')
    with pytest.raises(InputError, match="resolves outside the config's folder through a symbolic link"):
        read_local(str(cfg / "openclaw.json"))


def test_the_real_file_system_reads_the_16_mib_bound(tmp_path: Path):
    big = tmp_path / "openclaw.json"
    big.write_text('{ pad: "' + "x" * (16 * 1024 * 1024) + '" }')
    with pytest.raises(InputError, match="16 MiB"):
        read_local(str(big))
    assert LocalFS().max_bytes == 16 * 1024 * 1024


def test_state_dir_is_the_real_folder_of_openclaw_json(tmp_path: Path):
    real = tmp_path / "state"
    real.mkdir()
    (real / "openclaw.json").write_text("{}")
    os.symlink(real, tmp_path / "link")
    assert read_local(str(tmp_path / "link" / "openclaw.json")).state_dir == str(real)
    (real / "main.json").write_text("{}")
    assert read_local(str(real / "main.json")).state_dir is None  # another name: the state dir is the environment's


# -- detection ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("openclaw.json", True), ("dir/openclaw.json5", True), ("prod.openclaw.json", True), ("OpenClaw.JSON", True),
    ("fleet.yaml", False), ("openclaw.yaml", False), ("package.json", False),
])
def test_config_names(name, expected):
    assert is_config_name(name) is expected


@pytest.mark.parametrize("data, expected", [
    ({"gateway": {"port": 1}}, True), ({"agents": {"list": []}}, True), ({"agents": {"entries": {}}}, True),
    ({"bindings": [{"agentId": "a", "match": {}}]}, True), ({"$include": "x.json5"}, True),
    ({"agents": {"sales": {}}}, False),  # a fleet file's agents
    ({"apiVersion": "clawctl/v1", "gateway": {"port": 1}}, False), ({"name": "x", "version": "1"}, False), ([], False),
])
def test_content_that_makes_a_config(data, expected):
    assert looks_like_openclaw(data) is expected


def test_a_cheap_look_at_the_head_of_a_file():
    assert may_be_openclaw('// c\n{ "gateway": { "port": 1 } }')
    assert may_be_openclaw("\ufeff{\n  agents: {}\n}")
    assert not may_be_openclaw('{ "name": "pkg", "dependencies": {} }')
    assert not may_be_openclaw("agents:\n  gateway: 1\n")


# -- positions through includes ----------------------------------------------------------------------------
def test_a_repeated_key_leaves_no_stale_positions_and_keeps_document_order():
    value, spans = json5.parse("{a: {x: 1, y: [2]}, b: 2, a: {z: 3}}")
    assert value == {"a": {"z": 3}, "b": 2}
    assert list(spans) == ["", "/a", "/a/z", "/b"]


def test_positions_of_values_beside_and_inside_included_files():
    config, _ = read({
        "openclaw.json": '{\n  gateway: { port: 19001 },\n  agents: { $include: "a.json5" },\n'
                         '  bindings: [ { $include: "b.json5" }, { agentId: "x", match: { channel: "slack" } } ],\n}\n',
        "a.json5": '{\n  entries: {\n    x: { workspace: "~/x" },\n  },\n}\n',
        "b.json5": '{ agentId: "x",\n  match: { channel: "discord" } }\n',
    })
    assert (config.where("/gateway/port").file, config.where("/gateway/port").line) == ("openclaw.json", 2)
    assert config.gateway_port_pos.col == 20
    ws = config.where("/agents/entries/x/workspace")
    assert (ws.file, ws.line, ws.col) == ("a.json5", 3, 21)
    chan = config.where("/bindings/0/match/channel")
    assert (chan.file, chan.line, chan.col) == ("b.json5", 2, 21)
    assert config.where("/bindings/1/match/channel").file == "openclaw.json"
    file, span = config.source.locate("/bindings/0/match/channel")
    assert (file, span.line, span.column, span.end_column) == ("b.json5", 2, 21, 30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, st.lists(st.booleans(), min_size=1, max_size=8))
def test_an_included_document_keeps_every_position_in_its_own_file(value, rnd):
    text = _dump(value, rnd)
    config, _ = read({"openclaw.json": '{ gateway: { port: 1 },\n  part: { $include: "p/doc.json5" } }',
                      "p/doc.json5": text})
    _, spans = json5.parse(text)
    doc = config.source.files[1]
    for ptr, packed in spans.items():
        pos = config.where("/part" + ptr)
        assert (pos.file, pos.line, pos.col) == ("p/doc.json5", *doc.line_col(json5.unpack(packed)[0]))
