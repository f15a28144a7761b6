"""`clawctl openclaw route` (the decision, then every binding's fate) and `clawctl import openclaw`."""

from __future__ import annotations

import json

from clawctl.core.env import Env
from clawctl.core.openclaw.routing import TIER_NAMES
from clawctl.render.safe import terminal_safe as safe


def _where(d: dict) -> str:
    return f"{d['file']}:{d['line']}"


def route(result, env: Env) -> str:
    """One line for the answer, one for the deciding tier and binding, notes, then each binding."""
    d = result.as_dict()
    m = d["message"]
    about = [f"account {m['account']}"]
    about += [f"{k.replace('_', ' ')} {m[k]}" for k in ("peer", "parent_peer", "guild", "team") if m[k]]
    if m["roles"]:
        about.append("roles " + ",".join(m["roles"]))
    head = f"{m['channel']} message ({', '.join(about)})"
    tier = f"tier {d['tier']} ({TIER_NAMES[d['tier']][1]})"
    lines = []
    if d["outcome"] == "routed":
        lines.append(f"{head} -> {d['agent']}")
    elif d["outcome"] == "unknown-agent":
        lines.append(f"{head} -> nobody: the deciding binding names an agent that is not configured")
    else:
        lines.append(f"{head} -> nobody: the gateway refuses it")
    if d["binding"]:
        b = d["binding"]
        lines.append(f"  decided at {tier} by bindings[{b['index']}] at {_where(b)}")
    else:
        lines.append(f"  decided at {tier}: {d['reason']}")
    lines += [f"  note: {n}" for n in d["notes"]]
    if d["suggestion"]:
        lines.append("  to route it, add a binding: " + json.dumps(d["suggestion"]))
    if d["considered"]:
        lines.append("bindings:")
        width = max(len(f"[{c['index']}] {_where(c)}") for c in d["considered"])
        agents = max(len(str(c["agent"] or "(none)")) for c in d["considered"])
        for c in d["considered"]:
            label = f"[{c['index']}] {_where(c)}".ljust(width)
            agent = str(c["agent"] or "(none)").ljust(agents)
            tier_text = f"tier {c['tier']}" if c["tier"] else "ignored"
            lines.append(f"  {label}  -> {agent}  {tier_text:<7}  {c['reason']}")
    else:
        lines.append("no bindings")
    return "\n".join(safe(line) for line in lines)


def imported(result, env: Env) -> str:
    """The fleet file itself on stdout (data for a pipe or a file), or one line saying where it went.
    Notes go to stderr either way: see :func:`notes`."""
    if result.output is None:
        return result.text
    n = len(result.imported.agents)
    return safe(f"{result.output}: {n} agent{'s' if n != 1 else ''} from {result.config} "
                f"(fleet {result.imported.name}); fill in its TODO(clawctl) fields, then `clawctl validate`")


def notes(result, env: Env) -> None:
    """One line on stderr per note, whatever the format: diagnostics, not data."""
    for note in result.imported.notes:
        env.stderr.write(safe(f"clawctl: note: {note}") + "\n")
    env.stderr.flush()
