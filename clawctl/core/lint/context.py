"""What every fleet-level rule receives: the merged fleet and each file's raw data."""

from __future__ import annotations

from dataclasses import dataclass, field

from clawctl.core.fleet import Fleet


@dataclass
class LintContext:
    fleet: Fleet
    raw: dict[str, object] = field(default_factory=dict)  # file -> the YAML value as loaded
    texts: dict[str, bytes] = field(default_factory=dict)  # file -> its source text
    # What several rules derive from the fleet, computed once by the first rule that needs it (name -> value)
    memo: dict[str, object] = field(default_factory=dict)
