"""The text view of `clawctl init`."""

from __future__ import annotations

from clawctl.core.env import Env
from clawctl.render.safe import terminal_safe as safe


def text(result, env: Env) -> str:
    lines = [f"wrote {safe(result.fleet)}"]
    if result.schema:
        lines.append(f"wrote {safe(result.schema)} (the file's modeline points editors at it)")
    lines += [safe(n) for n in result.notes]
    lines.append(f"next: clawctl validate {safe(result.fleet)} && clawctl simulate {safe(result.fleet)}")
    return "\n".join(lines) + "\n"
