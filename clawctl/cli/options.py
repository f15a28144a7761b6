"""Options shared by several commands, defined once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


@dataclass
class GlobalState:
    db: Optional[Path] = None
    no_color: bool = False


def state(ctx: typer.Context) -> GlobalState:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalState) else GlobalState()


Paths = Annotated[
    Optional[list[str]],
    typer.Argument(help="Fleet files or folders (walked for *.yaml, *.yml); `-` reads stdin.", show_default=False),
]
FormatOpt = Annotated[
    Optional[LintFormat],
    typer.Option("--format", "-f", help="Output format. Default: text, or github under GitHub Actions.",
                 case_sensitive=False, show_default=False),
]
CodesOpt = Annotated[
    Optional[list[str]],
    typer.Option(help="Rule codes or prefixes, comma-separated or repeated (`B001`, `B`, `ALL`).",
                 show_default=False),
]


def split_codes(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out
