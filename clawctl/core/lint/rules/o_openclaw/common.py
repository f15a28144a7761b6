"""What every O rule shares: the context, findings placed through the reader's source, channel ids."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from clawctl.core.findings import Finding, Related, Span
from clawctl.core.lint.catalogue import finding
from clawctl.core.openclaw.json5 import pointer
from clawctl.core.openclaw.model import OCConfig

# Configurable channel ids of OpenClaw 2026.9.6 (its `openclaw config schema`, `channels.properties`).
BUILTIN_CHANNELS = (
    "a2a", "buzz", "clickclack", "discord", "feishu", "googlechat", "imessage", "irc", "line", "matrix",
    "mattermost", "msteams", "nextcloud-talk", "nostr", "qa-channel", "raft", "reef", "signal", "slack", "sms",
    "synology-chat", "telegram", "tlon", "twitch", "whatsapp", "zalo", "zalouser",
)
# Channels OpenClaw's documentation lists (docs/channels/index.md, August 2026) that come as plugins: known
# to a gateway with the plugin installed, so clawctl accepts them ("weixin" and "wechat" are aliases).
PLUGIN_CHANNELS = ("qqbot", "yuanbao", "wecom", "openclaw-weixin", "weixin", "wechat", "openclaw-zaloclawbot")
KNOWN_CHANNELS = BUILTIN_CHANNELS + PLUGIN_CHANNELS
ROUTED_CHANNELS = KNOWN_CHANNELS + ("webchat",)  # webchat is internal: not configurable, but routed

DEFAULT_PORT = 18789  # gateway.port when unset


@dataclass
class OpenClawContext:
    """The configs of one run, in the order given. Configs given together are one deployment."""

    configs: list[OCConfig]


def at(code: str, message: str, config: OCConfig, path: tuple, *, at_key: bool = False,
       related: tuple[Related, ...] = ()) -> Finding:
    """A finding of ``code`` on the value at ``path`` of ``config``, placed where it was written."""
    ptr = pointer(path)
    if config.source is not None:
        file, span = config.source.locate(ptr, at_key=at_key)
        if not path and span is not None:  # the whole file: its first character, not every line of it
            span = Span(span.line, span.column, span.line, span.column + 1)
    else:  # a config built by hand: the position it recorded, if any
        file, span = config.where(ptr).file, None
    out = finding(code, message, file, path, at_key=at_key)
    out.span = span
    out.related = related
    return out


def related(config: OCConfig, path: tuple, message: str, *, at_key: bool = False) -> Related:
    """A second place for a finding (the first of two agents sharing a directory, say)."""
    ptr = pointer(path)
    if config.source is not None:
        file, span = config.source.locate(ptr, at_key=at_key)
    else:
        file, span = config.where(ptr).file, None
    return Related(file, span, message)


def line_of(config: OCConfig, path: tuple) -> str:
    """``file:line`` of ``path``, for messages that point elsewhere."""
    pos = config.where(pointer(path))
    return f"{pos.file}:{pos.line}"


def path_key(value: str) -> str:
    """A directory as written, normalised for comparison (``~/a/b/`` and ``~/a//b`` are the same)."""
    text = value.strip()
    return posixpath.normpath(text) if text else text


def agent_path(config: OCConfig, index: int) -> tuple:
    """The JSON path of ``config.agents[index]`` in its roster."""
    agent = config.agents[index]
    if config.shape == "list":
        return ("agents", "list", int(agent.pointer.rsplit("/", 1)[1]))
    return ("agents", "entries", agent.id)
