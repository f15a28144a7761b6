"""`clawctl openclaw route` and `clawctl import openclaw`: an openclaw.json, read, routed or imported.

The config is read by :func:`read_config` (``clawctl.core.openclaw.reader``: JSON5, ``$include``,
positions), routed by ``core.openclaw.routing`` and turned into a fleet file by
``core.openclaw.import_fleet``. Nothing here resolves or prints a secret: the import names the token's
variable, and a route names bindings, never credentials.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import ClassVar

from clawctl.core.errors import ClawctlError, ExitCode, InputError, UsageError
from clawctl.core.openclaw.import_fleet import FleetImport, plan
from clawctl.core.openclaw.model import OCBinding, OCConfig, Peer
from clawctl.core.openclaw.routing import TIER_NAMES, Decision, Message, route

def read_config(path: str) -> OCConfig:
    """The openclaw.json at ``path`` (an :class:`InputError`, exit 3, when it cannot be read): the reader
    (``clawctl.core.openclaw.reader``: JSON5, ``$include``, positions) over the real files."""
    from clawctl.adapters.openclaw_files import read_config as reader

    return reader(path)


# -- route ------------------------------------------------------------------------------------------------
def parse_peer(text: str | None, flag: str = "--peer") -> Peer | None:
    """``kind:id`` (``direct:+15551234567``, ``group:-100123``, ``channel:C0123``; ``dm`` = direct)."""
    if text is None:
        return None
    kind, sep, pid = text.partition(":")
    kind = kind.strip().lower()
    kind = "direct" if kind == "dm" else kind
    if not sep or kind not in ("direct", "group", "channel") or not pid.strip():
        raise UsageError(f"{flag} {text}: write KIND:ID, KIND one of direct, group, channel (e.g. direct:+15551234567)")
    return Peer(kind, pid.strip())


def message_of(channel: str, account: str | None = None, peer: str | None = None, parent_peer: str | None = None,
               guild: str | None = None, team: str | None = None, roles: str | None = None) -> Message:
    if not channel.strip():
        raise UsageError("--channel: give the channel id (telegram, discord, slack, ...)")
    role_list = tuple(r.strip() for r in (roles or "").split(",") if r.strip())
    return Message(channel.strip(), account.strip() if account and account.strip() else None,
                   parse_peer(peer), parse_peer(parent_peer, "--parent-peer"),
                   guild.strip() if guild else None, team.strip() if team else None, role_list)


def binding_dict(b: OCBinding) -> dict:
    """A binding as JSON: where it is, its agent, its tier-relevant match fields as written."""
    match: dict = {"channel": b.channel}
    if b.account_id is not None:
        match["accountId"] = b.account_id
    if b.peer is not None:
        match["peer"] = {"kind": b.peer.kind, "id": b.peer.id}
    if b.guild_id is not None:
        match["guildId"] = b.guild_id
    if b.team_id is not None:
        match["teamId"] = b.team_id
    if b.roles:
        match["roles"] = list(b.roles)
    return {"index": b.index, "at": str(b.pos), "file": b.pos.file, "line": b.pos.line, "column": b.pos.col,
            "agent": b.agent_id, "type": b.type, "match": match}


def _peer(p: Peer | None) -> str | None:
    return None if p is None else f"{p.kind}:{p.id}"


@dataclass
class RouteResult:
    view: ClassVar[str] = "openclaw-route"

    config: str
    decision: Decision

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.decision.outcome == "routed" else ExitCode.FINDINGS

    def as_dict(self) -> dict:
        d, m = self.decision, self.decision.message
        return {
            "schema_version": 1, "config": self.config,
            "message": {"channel": m.channel, "account": m.account, "peer": _peer(m.peer),
                        "parent_peer": _peer(m.parent_peer), "guild": m.guild_id, "team": m.team_id,
                        "roles": list(m.roles)},
            "outcome": d.outcome, "agent": d.agent_id, "tier": d.tier, "tier_name": TIER_NAMES[d.tier][0],
            "matched_by": d.matched_by, "binding": binding_dict(d.binding) if d.binding else None,
            "reason": d.reason,
            "considered": [{**binding_dict(c.binding), "tier": c.tier, "outcome": c.outcome,
                            "matched_tier": c.matched_tier, "field": c.field, "reason": c.reason}
                           for c in d.considered],
            "notes": list(d.notes), "suggestion": d.suggestion,
        }


def route_message(path: str, message: Message) -> RouteResult:
    config = read_config(path)
    return RouteResult(path, route(config, message))


# -- import -----------------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    view: ClassVar[str] = "import-openclaw"

    config: str
    imported: FleetImport
    output: str | None = None  # the file written, or None (the fleet file goes to stdout)
    findings: list[str] = field(default_factory=list)  # what `clawctl validate` said of it (never errors)

    @property
    def text(self) -> str:
        return self.imported.text

    def as_dict(self) -> dict:
        imp = self.imported
        return {
            "schema_version": 1, "config": self.config, "output": self.output, "fleet": imp.name,
            "endpoint": imp.endpoint, "token_env": imp.token_env,
            "agents": [{"id": a.id, "openclaw_id": a.openclaw_id, "channels": a.channels,
                        "max_concurrent_conversations": a.max_concurrent,
                        "isolation": a.level.name if a.level else None} for a in imp.agents],
            "isolation_levels": [lv.name for lv in imp.levels],
            "notes": list(imp.notes), "openclaw_suggestions": imp.suggestions, "text": imp.text,
        }


def import_openclaw(path: str, *, output: str | None = None, force: bool = False) -> ImportResult:
    """The fleet file for the openclaw.json at ``path``, checked by `clawctl validate`'s own linter, and
    written atomically to ``output`` when given (never over an existing file unless ``force``)."""
    if output == "-":
        output = None
    if output is not None and not force and os.path.lexists(output):
        raise UsageError(f"-o {output}: the file exists; --force replaces it")
    imported = plan(read_config(path))
    _self_check(imported.text)
    result = ImportResult(path, imported, output)
    if output is not None:
        write_new(Path(output), imported.text, replace=force)
    return result


def _self_check(text: str, name: str = "imported-fleet.yaml") -> None:
    """The file must pass `clawctl validate`: anything else is a bug here, never the user's to fix."""
    from clawctl.services.validate import ValidateOptions, check

    report = check(["-"], ValidateOptions(stdin=BytesIO(text.encode("utf-8")), stdin_filename=name)).report
    errors = [f for f in report.findings if f.severity.value == "error"]
    if errors:
        first = errors[0]
        raise ClawctlError(f"the imported fleet file fails validation ({first.code} {first.message}): a bug in "
                           "clawctl import; please report it")


def write_new(path: Path, text: str, *, replace: bool) -> None:
    """``text`` to ``path`` atomically: a temporary file in the same folder, flushed, then linked into place
    (refused when ``path`` exists, even if it appeared a moment ago) or, with ``replace``, renamed over it."""
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {_why(exc, path)}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except FileExistsError:
        raise UsageError(f"-o {path}: the file exists; --force replaces it") from None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {_why(exc, path)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # atomic, and fails when path exists
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: exclusive create, then the (already flushed) bytes
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out:
            out.write(tmp.read_bytes())
            out.flush()
            os.fsync(out.fileno())


def _why(exc: OSError, path: Path) -> str:
    return f"no folder {path.parent}" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc)).lower()

