"""The rule catalogue documents itself: docs/rules.md is generated, every rule is named and explained,
and `clawctl rule CODE` explains one rule (or fails cleanly for an unknown code)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clawctl.core.lint.catalogue import FAMILIES, all_rules
from clawctl.core.lint.report import RuleList
from clawctl.render.rules import markdown

ROOT = Path(__file__).resolve().parents[2]
RULES = all_rules()
KEBAB = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
CODE = re.compile(r"^[A-Z]\d{3}$")


def clawctl(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from clawctl.cli.main import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_docs_page_is_generated_from_the_catalogue():
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == markdown(RuleList(list(RULES.values()))), \
        "docs/rules.md is stale: run `clawctl rule --all --format markdown > docs/rules.md`"


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_named_and_explained(code):
    info = RULES[code]
    assert CODE.match(info.code) and info.code == code
    assert info.code[0] in FAMILIES and info.family == FAMILIES[info.code[0]]
    assert KEBAB.match(info.name), f"{code}: name `{info.name}` is not kebab-case"
    assert info.summary.strip(), f"{code}: empty summary"
    assert info.doc.strip(), f"{code}: empty doc"


def test_rule_names_are_unique():
    names = [r.name for r in RULES.values()]
    assert len(names) == len(set(names))


def test_rule_command_explains_one_rule():
    result = clawctl("rule", "B001")
    assert result.returncode == 0, result.stderr
    assert RULES["B001"].name in result.stdout
    assert "B001" in result.stdout
    assert result.stderr == ""


def test_rule_command_accepts_lower_case():
    result = clawctl("rule", "b001")
    assert result.returncode == 0, result.stderr
    assert RULES["B001"].name in result.stdout


def test_rule_command_refuses_an_unknown_code():
    result = clawctl("rule", "Z999")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Z999" in lines[0]
    assert "Traceback" not in result.stderr


def test_catalogue_is_grouped_by_family_in_a_fixed_order():
    """One section per family in docs/rules.md, in the order of FAMILIES, whatever was imported first."""
    prefixes = [code[0] for code in RULES]
    groups = [p for i, p in enumerate(prefixes) if i == 0 or prefixes[i - 1] != p]
    assert groups == [p for p in FAMILIES if p in prefixes]
    script = ("import clawctl.core.lint.rules.c_suppressions, clawctl.core.lint.rules.x_secrets\n"
              "from clawctl.core.lint.catalogue import all_rules\nprint(' '.join(all_rules()))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == list(RULES)
