"""Docs and help cannot drift: every command has help and a section in docs/cli.md."""

from pathlib import Path

import typer.main

from clawctl.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _commands():
    group = typer.main.get_command(app)
    return group.commands


def test_every_command_has_help():
    for name, command in _commands().items():
        assert (command.help or "").strip(), name


def test_every_command_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text()
    for name in _commands():
        assert f"## {name}" in text, f"docs/cli.md has no section for `{name}`"


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (ROOT / "README.md").read_text()
