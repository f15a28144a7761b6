"""`clawctl export prometheus-sd`: the file_sd document itself on stdout, or one line saying where it went."""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.render.safe import terminal_safe


def prometheus_sd(result, env: Env) -> str:
    if result.output is None:
        return result.file_sd()  # data for a pipe or a file: written as is
    n = len(result.groups)
    return terminal_safe(f"{result.output}: {n} target{'s' if n != 1 else ''} of fleet {result.fleet}")


def notes(result, env: Env) -> None:
    """One line on stderr per agent left out, whatever the format: diagnostics, not data."""
    for agent_id, why in result.skipped.items():
        env.stderr.write(terminal_safe(f"clawctl: note: {agent_id}: not exported: {why}") + "\n")
    env.stderr.flush()
