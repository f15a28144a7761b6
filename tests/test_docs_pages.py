"""The user guide has a page per verb: every top-level command of `clawctl --help` has
docs/commands/<name>.md, listed in docs/commands/README.md and linking to its section of docs/cli.md,
and every relative link in those pages (and #anchor into a markdown file) resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from clawctl.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "commands"
INDEX = PAGES / "README.md"

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def verbs() -> list[str]:
    """The top-level commands `clawctl --help` lists (typer's own click group, as test_docs_drift reads it)."""
    group = typer.main.get_command(app)
    return sorted(name for name, command in group.commands.items() if not getattr(command, "hidden", False))


def pages() -> list[Path]:
    return sorted(p for p in PAGES.glob("*.md") if p.name != "README.md")


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    """Every markdown link target outside code blocks and code spans."""
    return LINK.findall(CODE_SPAN.sub("", _prose(text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (code spans and links unwrapped), lower case, punctuation
    other than `-` and `_` dropped, spaces as `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "")
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a markdown file's headings produce (duplicates get -1, -2, ... as on GitHub)."""
    text = path.read_text()
    seen: dict[str, int] = {}
    out: set[str] = set(HTML_ANCHOR.findall(text))
    for _, heading in HEADING.findall(_prose(text)):
        base = slug(heading)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


def test_slugs_are_githubs():
    assert slug("What `top --prometheus URL` reads") == "what-top---prometheus-url-reads"
    assert slug("JSON (`--format json`)") == "json---format-json"
    assert slug("B001 unknown-backup") == "b001-unknown-backup"
    assert slug("Several files, several fleets") == "several-files-several-fleets"
    assert slug("OpenClaw gateways: the admin RPC fault") == "openclaw-gateways-the-admin-rpc-fault"


def test_the_cli_has_verbs():
    assert {"validate", "simulate", "top", "failover"} <= set(verbs())


@pytest.mark.parametrize("verb", verbs())
def test_every_verb_has_a_page(verb):
    page = PAGES / f"{verb}.md"
    assert page.is_file(), f"`clawctl {verb}` has no user-guide page: write docs/commands/{verb}.md"
    text = page.read_text()
    assert text.startswith(f"# clawctl {verb}"), f"{page.name} should start with `# clawctl {verb}`"
    assert f"../cli.md#{verb}" in links(text), \
        f"{page.name} should link to its section of docs/cli.md: ../cli.md#{verb}"


@pytest.mark.parametrize("verb", verbs())
def test_every_page_is_in_the_index(verb):
    listed = {t.split("#", 1)[0] for t in links(INDEX.read_text())}
    assert f"{verb}.md" in listed, f"docs/commands/README.md does not list {verb}.md"


def test_every_page_is_a_verb():
    stale = [p.name for p in pages() if p.stem not in verbs()]
    assert not stale, f"pages for commands clawctl does not have: {stale}"


def test_the_index_and_cli_md_are_linked():
    assert "docs/commands/README.md" in links((ROOT / "README.md").read_text())
    assert "commands/README.md" in links((ROOT / "docs" / "cli.md").read_text())


@pytest.mark.parametrize("page", [INDEX, *pages()], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    broken = []
    for target in links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading in {dest.relative_to(ROOT)} makes the anchor #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"
