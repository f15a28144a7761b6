"""Options shared by several commands, defined once, and the command's environment."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from clawctl.adapters.clock import utc_now
from clawctl.core.env import Env


class OutputFormat(str, Enum):
    """Every verb's formats: text for people, json for scripts (the shapes docs/cli.md documents)."""

    text = "text"
    json = "json"


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"


class RuleFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


def process_env() -> Env:
    """The environment of a real run: the process's streams, the system clock, os.environ."""
    return Env(stdout=sys.stdout, stderr=sys.stderr, clock=utc_now, environ=os.environ)


def env_of(ctx: typer.Context) -> Env:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Env) else process_env()


Paths = Annotated[
    Optional[list[str]],
    typer.Argument(help="Fleet files or folders (walked for *.yaml, *.yml); `-` reads stdin.", show_default=False),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="text or json.", case_sensitive=False)]
LintFormatOpt = Annotated[
    Optional[LintFormat],
    typer.Option("--format", "-f", help="Output format. Default: text, or github under GitHub Actions.",
                 case_sensitive=False, show_default=False),
]
RuleFormatOpt = Annotated[RuleFormat, typer.Option("--format", "-f", help="text, json or markdown (the docs page).",
                                                   case_sensitive=False)]
FleetOpt = Annotated[Optional[str], typer.Option("--fleet", help="Only this fleet (its `metadata.name`).",
                                                 show_default=False)]
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
