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


def _walk(group, prefix=""):
    import click

    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        yield path, command
        if isinstance(command, click.Group):
            yield from _walk(command, path)


def test_every_option_is_documented():
    """Every flag of every command and subcommand (`--help` aside) appears in docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text()
    group = typer.main.get_command(app)
    missing = []
    for path, command in _walk(group):
        for param in command.params:
            for flag in getattr(param, "opts", []) + getattr(param, "secondary_opts", []):
                if flag.startswith("--") and flag not in ("--help",) and flag not in text:
                    missing.append(f"{path}: {flag}")
    for param in group.params:  # the global options
        for flag in getattr(param, "opts", []):
            if flag.startswith("--") and flag not in ("--help", "--install-completion", "--show-completion") \
                    and flag not in text:
                missing.append(f"clawctl: {flag}")
    assert not missing, missing
