"""`clawctl capacity --write FILE`: the fleet file with the answer applied, comments kept."""

from __future__ import annotations

from pathlib import Path

from clawctl.core.capacity.groups import Group, _spread
from clawctl.core.capacity.groups import copies as copies_of
from clawctl.core.errors import InputError, UsageError


def check_destination(fleet, dst: str) -> tuple[Path, Path]:
    """The fleet's one file and ``dst``, refused before any simulation when the answer could not be written."""
    if len(fleet.files) != 1:
        raise UsageError("--write needs a fleet of one file (this one has "
                         f"{len(fleet.files)}: {', '.join(fleet.files)})")
    src = Path(fleet.files[0])
    target = Path(dst)
    if target.is_dir():
        raise UsageError(f"--write {dst}: a folder; name a file")
    if not target.parent.exists():
        raise InputError(f"--write {dst}: no such folder {target.parent}")
    return src, target


def write_fleet(path: str, dst: str, fleet, found: list[Group], vary: str, answer: dict[str, int],
                today: dict[str, int]) -> list[str]:
    """Write ``dst``; returns notes on what it did not write (agents to remove are left to a person)."""
    from clawctl.adapters.fleet_edit import edit_fleet

    src, target = check_destination(fleet, dst)
    slots: dict[str, int] = {}
    copies: dict[str, str] = {}
    notes: list[str] = []
    for g in found:
        n = answer[g.name]
        if n == today[g.name]:
            continue
        if vary == "slots":
            caps = _spread(n, [fleet.agents[a].max_concurrent_conversations for a in g.agent_ids])
            slots.update({a: c for a, c in zip(g.agent_ids, caps)
                          if c != fleet.agents[a].max_concurrent_conversations})
        elif n > today[g.name]:
            copies.update(copies_of(fleet, g, n - today[g.name]))
        else:
            notes.append(f"group {g.name} needs {today[g.name] - n} agent(s) fewer: not removed from "
                         f"{dst}; clawctl does not delete agents")
    edit_fleet(src, target, slots, copies, "added by clawctl capacity")
    return notes
