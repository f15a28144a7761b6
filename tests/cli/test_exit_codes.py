"""Exit codes are a named enum: the README's table and the enum agree, and commands return names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from clawctl.core.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def _readme_codes() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning.strip() for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_the_readme_table_lists_exactly_the_enum():
    assert sorted(_readme_codes()) == sorted(int(c) for c in ExitCode)


def test_every_documented_code_has_a_meaning():
    assert all(len(meaning) > 5 for meaning in _readme_codes().values())


def test_cli_modules_return_exit_codes_by_name():
    """No `return 0` / `return 4` in a command: a literal int hides which documented code it is."""
    literal = []
    for path in sorted((ROOT / "clawctl" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) \
                    and type(node.value.value) is int:
                literal.append(f"{path.name}:{node.lineno}")
    assert not literal, literal


def test_clawctl_errors_carry_enum_codes():
    from clawctl.core import errors

    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.ClawctlError):
            assert isinstance(obj.exit_code, ExitCode), name


def test_an_error_caused_by_ctrl_c_is_an_interrupt_not_an_internal_error(monkeypatch, capsys):
    """pybind11 (matplotlib) turns Ctrl-C during a module's initialisation into ImportError("initialization
    failed") raised from the KeyboardInterrupt: that is exit 130, "interrupted", not a bug report."""
    from clawctl.cli.main import run
    from clawctl.services import schema

    def interrupted_import(*_a, **_k):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise ImportError("initialization failed") from ki

    monkeypatch.setattr(schema, "fleet_schema", interrupted_import)
    assert run(["schema"]) == ExitCode.INTERRUPTED
    err = capsys.readouterr().err
    assert err == "clawctl: error: interrupted\n"

    def plain_bug(*_a, **_k):
        raise ImportError("no module named x")

    monkeypatch.setattr(schema, "fleet_schema", plain_bug)
    assert run(["schema"]) == ExitCode.INTERNAL
    assert "internal error: ImportError" in capsys.readouterr().err
