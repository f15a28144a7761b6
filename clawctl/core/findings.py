"""Findings: what a lint rule reports, where, and how bad it is (pure data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

Path = tuple[str | int, ...]


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line and column; the end column is exclusive (as in SARIF and ruff)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Related:
    """A second place a finding points to (the first definition of a duplicate key, say)."""

    file: str
    span: Span | None
    message: str


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    file: str
    path: Path = ()
    span: Span | None = None
    at_key: bool = False  # locate the key that holds the value rather than the value
    related: tuple[Related, ...] = field(default_factory=tuple)

    def sort_key(self) -> tuple:
        span = self.span
        return (self.file, span.line if span else 0, span.column if span else 0, self.code, self.message)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(path: Path) -> str:
    """``('agents', 'sales_agent', 'backups', 0)`` -> ``$.agents.sales_agent.backups[0]``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.fullmatch(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)
