"""The rule modules follow the catalogue: family F's rules live in ``clawctl/core/lint/rules/<f>_<family>.py``.

A reader who sees code L002 finds it in ``l_load_balancing.py``; these tests keep it that way when a
rule or a family is added.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from clawctl.core.lint.catalogue import FAMILIES, all_rules, family_module

RULES = all_rules()
RULES_DIR = Path(importlib.import_module("clawctl.core.lint.rules").__file__).parent


def _files_of(prefix: str) -> list[Path]:
    """The source files of family ``prefix``: its module, or every module of its package once split."""
    name = family_module(prefix).rsplit(".", 1)[1]
    package = RULES_DIR / name
    if package.is_dir():
        return sorted(package.rglob("*.py"))
    return [RULES_DIR / f"{name}.py"]


def _registered_codes(path: Path) -> list[str]:
    """The codes that ``rule(...)`` and ``declare(...)`` calls in ``path`` register (their first argument)."""
    codes = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("rule", "declare") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            codes.append(node.args[0].value)
    return codes


@pytest.mark.parametrize("prefix", list(FAMILIES))
def test_every_family_has_its_module(prefix):
    module = importlib.import_module(family_module(prefix))
    assert module.__name__ == family_module(prefix)
    assert all(path.is_file() for path in _files_of(prefix)), _files_of(prefix)


def test_the_rules_package_holds_only_family_modules():
    expected = {family_module(p).rsplit(".", 1)[1] for p in FAMILIES}
    found = {p.stem for p in RULES_DIR.glob("*.py") if p.name != "__init__.py"}
    found |= {p.name for p in RULES_DIR.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert found == expected


@pytest.mark.parametrize("prefix", list(FAMILIES))
def test_each_family_module_registers_exactly_its_familys_codes(prefix):
    registered = [code for path in _files_of(prefix) for code in _registered_codes(path)]
    assert len(registered) == len(set(registered)), f"a code registered twice: {registered}"
    assert sorted(registered) == sorted(code for code in RULES if code[0] == prefix)


@pytest.mark.parametrize("code", [code for code, info in RULES.items() if info.check is not None])
def test_each_check_function_lives_in_its_familys_module(code):
    module = RULES[code].check.__module__
    home = family_module(code[0])
    assert module == home or module.startswith(home + "."), f"{code} is checked in {module}, not in {home}"
