"""Renderers for `apply`, `agents list`, `history` and `store check`: text tables and JSON."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from clawctl.core.env import Env
from clawctl.render.console import console as console_for
from clawctl.render.safe import terminal_safe as safe


def applied(result, env: Env) -> None:
    console = console_for(env)
    for f in result.fleets:
        if f.unchanged:
            console.print(Text(f"fleet {safe(f.fleet)}: unchanged (version {f.version_id}, {f.digest[:12]}); nothing to do",
                               style="dim"))
            continue
        console.print(Text(f"fleet {safe(f.fleet)}: applied version {f.version_id} ({f.digest[:12]})", style="bold"))
        for mark, style, ids in (("+", "green", f.diff.added), ("~", "yellow", f.diff.changed),
                                 ("-", "red", f.diff.removed)):
            for agent_id in ids:
                console.print(Text(f"  {mark} {safe(agent_id)}", style=style))
        console.print(f"  {len(f.diff.added)} added, {len(f.diff.changed)} changed, {len(f.diff.removed)} removed, "
                      f"{f.diff.unchanged} unchanged")


def agents(result, env: Env) -> None:
    rows = result.rows
    console = console_for(env)
    if not rows:
        console.print("no agents recorded; `clawctl apply FLEET` records them")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("FLEET", "AGENT", "REGION", "DOMAIN", "ENDPOINT", "KIND", "CAP", "WEIGHT", "BACKUPS"):
        table.add_column(col)
    for r in rows:
        table.add_row(safe(r["fleet"]), safe(r["id"]), safe(r["region"] or "-"), safe(r["domain"] or "-"),
                      safe(r["endpoint"] or "-"), safe(r["endpoint_kind"]), str(r["max_concurrent_conversations"]),
                      str(r["weight"]), safe(",".join(r["backups"]) or "-"))
    console.print(table)


def history(result, env: Env) -> None:
    rows = result.rows
    console = console_for(env)
    if not rows:
        console.print("no runs recorded yet")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("ID", "KIND", "FLEET", "STARTED", "STATUS", "SUMMARY"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), safe(r["kind"]), safe(r["fleet"] or "-"), safe(r["started_at"]), safe(r["status"]),
                      safe(_brief(r["summary"])))
    console.print(table)


def _brief(summary: dict) -> str:
    if {"added", "changed", "removed"} <= set(summary):
        return (f"v{summary.get('version_id')} +{len(summary['added'])} ~{len(summary['changed'])} "
                f"-{len(summary['removed'])}")
    return ", ".join(f"{k}={v}" for k, v in list(summary.items())[:4])


def store_check(result, env: Env) -> None:
    console = console_for(env)
    status = Text("ok" if result.ok else "PROBLEM", style="green" if result.ok else "bold red")
    console.print(Text.assemble("store ", safe(result.path), ": ", status))
    console.print(f"  schema version {result.schema_version} (this clawctl: {result.supported_version})")
    console.print(f"  integrity_check: {safe('; '.join(result.integrity))}")
    console.print("  " + ", ".join(f"{k} {'unreadable' if v is None else v}" for k, v in result.counts.items()))
