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
        if getattr(result, "filtered", False):
            asked = " ".join(f"--{flag} {safe(value)}" for flag, value in (("kind", result.kind), ("fleet", result.fleet))
                             if value is not None)
            console.print(f"no runs match {asked}")
        else:
            console.print("no runs recorded yet")
        return
    # One line per run: the summary is cut (with an ellipsis) to what the terminal has left.
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("ID", "KIND", "FLEET", "STARTED", "STATUS"):
        table.add_column(col, no_wrap=True)
    table.add_column("SUMMARY", no_wrap=True, overflow="ellipsis", min_width=10)
    for r in rows:
        table.add_row(str(r["id"]), safe(r["kind"]), safe(r["fleet"] or "-"), safe(r["started_at"]), safe(r["status"]),
                      safe(run_summary(r["kind"], r["summary"])))
    console.print(table)


def run_summary(kind: str, summary: dict) -> str:
    """One line saying what a recorded run did, for people; its JSON has everything."""
    brief = _BRIEFS.get(kind)
    if brief is not None and isinstance(summary, dict):
        try:
            return brief(summary)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
            pass  # a summary of another shape (an older clawctl's): the generic line below
    return _generic(summary)


def _generic(summary) -> str:
    if not isinstance(summary, dict):
        return "-"
    items = [f"{k}={v}" for k, v in summary.items()
             if k != "schema_version" and v is not None and not isinstance(v, (list, dict))]
    return ", ".join(items[:4]) or "-"


def _n(value) -> str:
    return f"{int(value):,}" if value is not None else "?"


def _pct(share) -> str:
    return f"{share * 100:.1f}%" if share is not None else "-"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _apply(s: dict) -> str:
    if s.get("unchanged"):
        return f"version {s['version_id']}, unchanged"
    return (f"version {s['version_id']}: {len(s['added'])} added, {len(s['changed'])} changed, "
            f"{len(s['removed'])} removed")


def _sim(s: dict) -> str:
    results = s["results"]
    if not results:
        return "no results"
    arrived = results[0].get("arrived", s.get("requests"))
    head = f"{_n(arrived)} requests"
    if len(results) == 1:
        r = results[0]
        return f"{r['strategy']}, {head}, SLA {_pct(r.get('sla_attainment'))}"
    known = [r for r in results if r.get("sla_attainment") is not None]
    if not known:
        return f"{len(results)} strategies, {head}, SLA -"
    best = max(known, key=lambda r: r["sla_attainment"])
    worst = min(known, key=lambda r: r["sla_attainment"])
    if best["sla_attainment"] == worst["sla_attainment"]:
        return f"{len(results)} strategies, {head}, SLA {_pct(best['sla_attainment'])} for each"
    return (f"{len(results)} strategies, {head}, SLA {_pct(worst['sla_attainment'])} ({worst['strategy']}) "
            f"to {_pct(best['sla_attainment'])} ({best['strategy']})")


def _traffic(s: dict) -> str:
    r = s["results"][0]
    errors = {k: v for k, v in (s.get("errors") or {}).items() if v}
    total = sum(errors.values())
    kinds = f" ({', '.join(f'{k} {v:,}' for k, v in errors.items())})" if errors else ""
    return (f"{r['strategy']}: {_n(r['arrived'])} sent, {_n(r['served'])} served, "
            f"{_plural(total, 'error')}{kinds}")


def _drill(s: dict) -> str:
    target = s["target"]
    if "agent" in target:
        what = f"agent {target['agent']}"
    else:
        what = f"region {target['region']} ({_plural(len(target.get('agents') or []), 'agent')})"
    objectives = s.get("objectives") or []
    met = sum(1 for o in objectives if o.get("met") is True)
    return f"{what} ({s.get('mode', '?')}): {s['status']}, {met} of {len(objectives)} objectives met"


def _metrics(s: dict) -> str:
    agents = _plural(len(s["agents"]), "agent")
    source = f"every {s['interval']:g}s from {s.get('source', 'probe')}"
    if "cycles" not in s:
        return f"{agents}, {source}, no cycle count yet"
    missed = f" ({_n(s['missed'])} missed)" if s.get("missed") else ""
    return f"{agents}, {_plural(s['cycles'], 'cycle')}{missed}, {source}"


def _capacity(s: dict) -> str:
    unit = "slots" if s.get("vary", "slots") == "slots" else "agents"
    groups = s["groups"]
    changed = [g for g in groups if g.get("change")]
    head = "SLA met" if s["met"] else "SLA not met"
    line = f"{head}, {len(changed)} of {_plural(len(groups), 'group')} changed"
    if changed:
        line += ": " + ", ".join(f"{g['group']} {g['change']:+,}" for g in changed) + f" {unit}"
    return line


def _sweep(s: dict) -> str:
    points = s["points"]
    keys = ", ".join(s.get("keys") or [])
    over = f" ({keys})" if keys else ""
    line = f"{_plural(len(points), 'point')}{over}, {_plural(s['replications'], 'replication')} each"
    if s.get("simulations") is not None:
        line += f", {_plural(s['simulations'], 'simulation')}"
    return line


_BRIEFS = {"apply": _apply, "sim": _sim, "traffic": _traffic, "drill": _drill, "metrics": _metrics,
           "capacity": _capacity, "sweep": _sweep}


def store_check(result, env: Env) -> None:
    console = console_for(env)
    status = Text("ok" if result.ok else "PROBLEM", style="green" if result.ok else "bold red")
    console.print(Text.assemble("store ", safe(result.path), ": ", status))
    console.print(f"  schema version {result.schema_version} (this clawctl: {result.supported_version})")
    console.print(f"  integrity_check: {safe('; '.join(result.integrity))}")
    console.print("  " + ", ".join(f"{k} {'unreadable' if v is None else v}" for k, v in result.counts.items()))
