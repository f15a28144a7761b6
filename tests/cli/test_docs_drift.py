"""Docs and help cannot drift: every command has help and a section in docs/cli.md."""

import re
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
    """Every command and subcommand, as ("lab up", command). typer ships its own copy of click, so its groups
    are no `click.Group`: a group is whatever has `commands`."""
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        yield path, command
        if hasattr(command, "commands"):
            yield from _walk(command, path)


def _sections(text):
    """docs/cli.md cut at its `## ` headings: {command: the section's text}; the preamble is under ""."""
    sections, name = {"": []}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].split()[0]
            sections[name] = []
        else:
            sections[name].append(line)
    return {key: "\n".join(lines) for key, lines in sections.items()}


def _mentions(text, flag):
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def _undocumented(text):
    """Every long flag (`--help` aside) missing from its top-level command's section of `text`, and every
    global option missing from the page: ["lab up: --format", ...]."""
    sections = _sections(text)
    group = typer.main.get_command(app)
    missing = []
    for path, command in _walk(group):
        section = sections.get(path.split()[0], "")
        for param in command.params:
            for flag in list(getattr(param, "opts", [])) + list(getattr(param, "secondary_opts", [])):
                if flag.startswith("--") and flag != "--help" and not _mentions(section, flag):
                    missing.append(f"{path}: {flag}")
    for param in group.params:  # the global options
        for flag in getattr(param, "opts", []):
            if flag.startswith("--") and flag not in ("--help", "--install-completion", "--show-completion") \
                    and not _mentions(text, flag):
                missing.append(f"clawctl: {flag}")
    return missing


def test_subcommands_are_walked():
    paths = {path for path, _ in _walk(typer.main.get_command(app))}
    assert {"lab up", "lab down", "export prometheus-sd", "failover drill", "store check"} <= paths


def test_a_flag_missing_from_its_section_is_caught():
    """A subcommand's flag documented only in another command's section still counts as missing."""
    text = (ROOT / "docs" / "cli.md").read_text()
    lab = _sections(text)["lab"]
    without = text.replace(lab, lab.replace("--time-scale", "--time-factor"))
    assert "lab up: --time-scale" in _undocumented(without)
    assert _mentions(without, "--time-scale")  # still on the page, in other sections


def test_every_option_is_documented():
    """Every flag of every command and subcommand (`--help` aside) appears in its section of docs/cli.md."""
    missing = _undocumented((ROOT / "docs" / "cli.md").read_text())
    assert not missing, missing
