"""Read an openclaw.json as OpenClaw does, into :class:`~clawctl.core.openclaw.model.OCConfig`. Pure: files
come through a :class:`~clawctl.core.openclaw.includes.ConfigFS` (``clawctl.adapters.openclaw_files`` has
the real one and ``read_config(path)`` for callers that just want a config).

    config = read_config("~/.openclaw/openclaw.json", fs)
    config.agents, config.bindings, config.channels     # both roster shapes, normalised
    config.where("/bindings/3/agentId")                  # Pos: the included file, line, column
    config.source.locate("/bindings/3", at_key=False)    # (file name, Span) for a finding

- JSON5 (:mod:`clawctl.core.openclaw.json5`: comments, trailing commas, unquoted keys, ...), with the
  position of every value.
- ``$include`` resolved (:mod:`clawctl.core.openclaw.includes`): positions stay in the included file.
- ``${VAR}`` strings and SecretRef objects (``{source, provider, id}``) are kept exactly as written:
  nothing is substituted, looked up or resolved, and no value is ever printed by the reader.
- Both roster shapes: ``agents.list[]`` (up to 2026.7, ``id`` and ``default: true``) and
  ``agents.entries{id: {...}}`` (from 2026.8.1, with ``agents.ownership``).

Bad input is one :class:`~clawctl.core.errors.InputError` (exit 3) naming the file, and line and column
where there is one: not JSON5, a top level that is not an object, an include problem (missing file,
cycle, a path out of the config's folder), or a size or nesting bound.
"""

from __future__ import annotations

import posixpath
import re

from clawctl.core.errors import InputError
from clawctl.core.openclaw.includes import ConfigFS, parse_file, resolve
from clawctl.core.openclaw.json5 import MAX_DEPTH, SHIFT, escape_key
from clawctl.core.openclaw.model import OCAgent, OCBinding, OCChannel, OCConfig, Peer, Pos
from clawctl.core.openclaw.source import ConfigSource, SourceFile

CONFIG_NAMES = ("openclaw.json", "openclaw.json5")
NOT_CHANNELS = ("defaults", "modelByChannel")  # keys of `channels` that configure all channels, not one

__all__ = ["CONFIG_NAMES", "ConfigFS", "build", "from_root", "is_config_name", "looks_like_openclaw", "may_be_openclaw",
           "parse_root", "read_config"]


def is_config_name(name: str) -> bool:
    """``openclaw.json``, ``openclaw.json5``, or ``<anything>.openclaw.json[5]`` (``prod.openclaw.json``)."""
    base = posixpath.basename(name.replace("\\", "/")).lower()
    return base in CONFIG_NAMES or base.endswith((".openclaw.json", ".openclaw.json5"))


_MARKERS = re.compile(r"""(?:^|[{,\s])["']?(?:gateway|agents|bindings)["']?\s*:""")
_LEADING = re.compile(r"(?:\s+|//[^\n]*|/\*[\s\S]*?\*/)*")


def may_be_openclaw(head: str) -> bool:
    """A cheap look at the start of a file: an object with a key OpenClaw's top level uses (``gateway``,
    ``agents``, ``bindings``). A file this says no to is not read further when a folder is searched (so a
    file that only includes others, or a part of a config, is not taken for a config there)."""
    start = _LEADING.match(head.lstrip("\ufeff")).end()
    return head.lstrip("\ufeff").startswith("{", start) and _MARKERS.search(head) is not None


def looks_like_openclaw(data: object) -> bool:
    """Whether a parsed document is an OpenClaw config: an object with a ``gateway`` (mode, port, bind,
    auth), an agent roster (``agents.list``, ``entries``, ``defaults`` or ``ownership``), bindings, or a
    top-level ``$include``; and not a clawctl fleet file (``apiVersion: clawctl/...``)."""
    if not isinstance(data, dict):
        return False
    api = data.get("apiVersion")
    if isinstance(api, str) and api.startswith("clawctl"):
        return False
    gateway, agents, bindings = data.get("gateway"), data.get("agents"), data.get("bindings")
    if isinstance(gateway, dict) and any(k in gateway for k in ("mode", "port", "bind", "auth")):
        return True
    if isinstance(agents, dict) and any(k in agents for k in ("list", "entries", "defaults", "ownership", "$include")):
        return True
    if isinstance(gateway, dict) and "$include" in gateway or isinstance(bindings, dict) and "$include" in bindings:
        return True
    if isinstance(bindings, list) and any(isinstance(b, dict) and "match" in b for b in bindings):
        return True
    return "$include" in data


def read_config(path: str, fs: ConfigFS, *, text: str | None = None, name: str | None = None,
                max_depth: int = MAX_DEPTH) -> OCConfig:
    """The config at ``path`` (read through ``fs`` unless its ``text`` is given), ``$include`` resolved.

    ``name`` is how findings name it (default ``path``). ``path`` ``""`` is standard input: it may not
    include files. Raises :class:`InputError` for anything OpenClaw could not read either.
    """
    return from_root(parse_root(path, fs, text=text, name=name, max_depth=max_depth), fs, max_depth=max_depth)


def parse_root(path: str, fs: ConfigFS, *, text: str | None = None, name: str | None = None,
               max_depth: int = MAX_DEPTH) -> SourceFile:
    """The config file itself, parsed (its includes not yet followed): :func:`from_root` finishes the read.
    Split so that content detection parses a file once."""
    shown = name or path or "<stdin>"
    absolute = fs.abspath(path) if path else ""
    if text is None:
        text = fs.read(absolute, shown)
    if len(text) > fs.max_bytes:
        raise InputError(f"{shown}: over the {fs.max_bytes // (1 << 20)} MiB limit")
    return parse_file(shown, absolute, text, max_depth)


def from_root(root: SourceFile, fs: ConfigFS, *, max_depth: int = MAX_DEPTH) -> OCConfig:
    """The config whose file :func:`parse_root` read, ``$include`` resolved."""
    if not isinstance(root.value, dict):
        kind = "a list" if isinstance(root.value, list) else "a single value"
        raise InputError(f"{root.name}:1:1: the top level is {kind}; openclaw.json holds an object")
    data, source = resolve(root, fs, max_depth)
    # OpenClaw's layout: the config is <state dir>/openclaw.json (~/.openclaw/openclaw.json by default)
    absolute = root.path
    is_default_name = absolute and posixpath.basename(absolute) == "openclaw.json"
    state_dir = fs.realpath(posixpath.dirname(absolute)) if is_default_name else None
    return build(data, source, root.name, state_dir)


# -- the model --------------------------------------------------------------------------------------------
def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: object) -> str | None:
    """A string, or a number written where an id goes (``peer.id: 12345``), as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


class _Where:
    """Positions from the config's source, found lazily (only the values the model keeps)."""

    def __init__(self, source: ConfigSource) -> None:
        self.source = source

    def pos(self, pointer: str, *, at_key: bool = False) -> Pos:
        file, inner = self.source.resolve(pointer)
        packed = file.spans.get(inner)
        if packed is None:
            return Pos(file.name, 1, 1)
        start, key = packed % SHIFT, packed // SHIFT - 1
        line, col = file.line_col(key if at_key and key >= 0 else start)
        return Pos(file.name, line, col)

    def maybe(self, pointer: str, present: bool) -> Pos | None:
        return self.pos(pointer) if present else None


def _agent(agent_id: str, spec: dict, pointer: str, pos: Pos, where: _Where, default_mc: int | None) -> OCAgent:
    agent_dir, workspace = _str(spec.get("agentDir")), _str(spec.get("workspace"))
    own_mc = _int(spec.get("maxConcurrent"))
    sandbox = spec.get("sandbox")
    return OCAgent(
        id=agent_id, pos=pos, default=spec.get("default") is True,
        agent_dir=agent_dir, agent_dir_pos=where.maybe(f"{pointer}/agentDir", agent_dir is not None),
        workspace=workspace, workspace_pos=where.maybe(f"{pointer}/workspace", workspace is not None),
        max_concurrent=own_mc if own_mc is not None else default_mc,
        sandbox=sandbox if isinstance(sandbox, dict) else None, raw=spec, pointer=pointer)


def _binding(index: int, spec: dict, where: _Where) -> OCBinding:
    pointer = f"/bindings/{index}"
    match = _dict(spec.get("match"))
    peer_spec = match.get("peer")
    peer = Peer(_str(peer_spec.get("kind")), _id(peer_spec.get("id"))) if isinstance(peer_spec, dict) else None
    roles = match.get("roles")
    return OCBinding(
        index=index, agent_id=_id(spec.get("agentId")), pos=where.pos(pointer),
        channel=_str(match.get("channel")), account_id=_id(match.get("accountId")), peer=peer,
        guild_id=_id(match.get("guildId")), team_id=_id(match.get("teamId")),
        roles=tuple(r for r in (_id(x) for x in roles) if r is not None) if isinstance(roles, list) else (),
        type=_str(spec.get("type")) or "route", comment=_str(spec.get("comment")), raw=spec, pointer=pointer)


def build(data: dict, source: ConfigSource, path: str, state_dir: str | None = None) -> OCConfig:
    """The model of a merged document ``data`` whose values ``source`` locates."""
    where = _Where(source)
    agents_spec = _dict(data.get("agents"))
    defaults = _dict(agents_spec.get("defaults"))
    default_mc = _int(defaults.get("maxConcurrent"))
    agents: list[OCAgent] = []
    entries, listed = agents_spec.get("entries"), agents_spec.get("list")
    if isinstance(entries, dict):
        shape = "entries"
        for agent_id, spec in entries.items():
            pointer = f"/agents/entries/{escape_key(agent_id)}"
            agents.append(_agent(agent_id, _dict(spec), pointer, where.pos(pointer, at_key=True), where, default_mc))
    elif isinstance(listed, list):
        shape = "list"
        for i, spec in enumerate(listed):
            agent_id = _id(spec.get("id")) if isinstance(spec, dict) else None
            if agent_id is None:
                continue  # not an agent OpenClaw could load; its schema refuses it
            pointer = f"/agents/list/{i}"
            agents.append(_agent(agent_id, spec, pointer, where.pos(f"{pointer}/id"), where, default_mc))
    else:
        shape = "none"
    bindings_spec = data.get("bindings")
    bindings = [_binding(i, spec, where) for i, spec in enumerate(bindings_spec)
                if isinstance(spec, dict)] if isinstance(bindings_spec, list) else []
    channels: dict[str, OCChannel] = {}
    for channel_id, spec in _dict(data.get("channels")).items():
        if channel_id in NOT_CHANNELS:
            continue
        spec = _dict(spec)
        accounts = spec.get("accounts")
        channels[channel_id] = OCChannel(
            id=channel_id, pos=where.pos(f"/channels/{escape_key(channel_id)}", at_key=True),
            accounts=tuple(accounts) if isinstance(accounts, dict) else (),
            default_account=_id(spec.get("defaultAccount")), raw=spec)
    gateway = _dict(data.get("gateway"))
    port = _int(gateway.get("port"))
    return OCConfig(
        path=path, shape=shape, agents=agents, bindings=bindings, channels=channels,
        ownership=_str(agents_spec.get("ownership")),
        gateway_port=port, gateway_port_pos=where.maybe("/gateway/port", port is not None),
        state_dir=state_dir, default_max_concurrent=default_mc, data=data,
        positions=source.positions(), files=tuple(f.name for f in source.files), source=source)
