"""The agent registry: what `apply` records for each agent, and how two versions differ (pure)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from clawctl.core.fleet import Fleet
from clawctl.core.model.agent import Agent


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def content_digest(files: dict[str, object]) -> str:
    """A fleet version's address: its files' data, independent of file names and order."""
    return digest(sorted(canonical_json(data) for data in files.values()))


def agent_record(agent: Agent) -> dict:
    """The registry row for one agent, defaults applied. Holds the token's variable name only."""
    return {
        "agent_id": agent.id,
        "type": agent.type,
        "domain": agent.domain,
        "region": agent.region,
        "endpoint": agent.endpoint,
        "endpoint_kind": agent.endpoint_kind,
        "token_env": agent.auth.token_env if agent.auth else None,
        "capabilities": list(agent.capabilities),
        "channels": list(agent.channels),
        "backups": list(agent.backups),
        "max_concurrent_conversations": agent.max_concurrent_conversations,
        "weight": agent.weight,
    }


def fleet_name(fleet: Fleet) -> str:
    """`metadata.name`, else the first file's name without its folder and suffix."""
    if fleet.metadata and fleet.metadata.name:
        return fleet.metadata.name
    first = fleet.files[0] if fleet.files else "fleet"
    stem = first.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem or "fleet"


# A fleet name kept as it is for a folder name: lower-case ASCII letters, digits, `.`, `_` and `-`,
# starting with a letter or digit, no `..`, at most SAFE_NAME_MAX characters.
SAFE_NAME_MAX = 64
_KEPT = re.compile(r"[a-z0-9][a-z0-9._-]*")
_NOT_PATH_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_HASH_CHARS = 16  # 64 bits of SHA-256
# Names Windows keeps for devices, whatever follows a dot (`nul.txt` too).
_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                           *(f"lpt{i}" for i in range(10))})


def safe_path_component(name: str) -> str:
    """``name`` (a fleet name) as one safe path component: a folder or file name that stays where it is put.

    A readable name (lower-case letters, digits, ``.``, ``_``, ``-``; starting with a letter or digit;
    no ``..``; at most 64 characters; not a Windows device name) is returned as it is. Any other name
    has every character outside ``A-Za-z0-9._-`` (path separators, control characters, spaces, any
    non-ASCII character) replaced by ``_``, every ``..`` broken up, a leading ``.`` or ``-`` replaced,
    is cut to fit, and gets ``~`` and 16 hex digits of the SHA-256 of the name appended: ``../../x``
    becomes ``___.__x~<hash>``. No kept name contains ``~``, so a changed name never equals a kept one,
    and two changed names differ by their hash; upper-case letters are kept but also earn the hash,
    so names differing only in case never share a folder on a case-insensitive file system.
    The result is never empty, ``.`` or ``..``, and never longer than 64 characters.
    """
    if len(name) <= SAFE_NAME_MAX and _KEPT.fullmatch(name) and ".." not in name \
            and name.split(".", 1)[0] not in _DEVICE_NAMES and not name.endswith("."):
        return name
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    body = _NOT_PATH_CHARS.sub("_", name)
    while ".." in body:
        body = body.replace("..", "._")
    if not body or not body[0].isalnum():
        body = "_" + body[1:] if body else "_"
    if body.split(".", 1)[0].lower() in _DEVICE_NAMES:
        body = "_" + body
    return body[: SAFE_NAME_MAX - len(tag)] + tag


@dataclass
class AgentDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def diff_agents(old: dict[str, str], new: dict[str, str]) -> AgentDiff:
    """Compare ``agent id -> record digest`` maps."""
    out = AgentDiff()
    for agent_id, d in sorted(new.items()):
        if agent_id not in old:
            out.added.append(agent_id)
        elif old[agent_id] != d:
            out.changed.append(agent_id)
        else:
            out.unchanged += 1
    out.removed = sorted(set(old) - set(new))
    return out
