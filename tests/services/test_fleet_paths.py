"""Fleet names used as paths: `safe_path_component` turns any name into one folder name that stays
where it is put (`clawctl lab` keeps a fleet's logs in `<store folder>/lab/<name>`), and `validate`
reports a name that could not be used as it is (V008)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawctl.core.agent_records import SAFE_NAME_MAX, safe_path_component
from clawctl.services.validate import validate

READABLE = ["acme", "acme-global-customer-care", "acme_sales.v2", "a", "0day", "prod.eu-west-1", "x" * 64]
HOSTILE = ["../../x", "..", ".", "", "/etc/passwd", "/", "a/b", "a\\b", "C:\\fleets\\x", "..\\..\\x", ".hidden",
           "-rf", "x\x00y", "evil\x1b[2J", "a\nb", "a\rb", "\u202eacme", "ac\u2066me", "acme.", "nul", "NUL.txt",
           "com1", "Acme", "ACME", "acme sales", "ventes-été", "東京", "a~b", "x" * 65, "x" * 500, "../" * 40]


@pytest.mark.parametrize("name", READABLE)
def test_readable_names_are_kept(name):
    assert safe_path_component(name) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_other_names_are_changed_and_tagged(name):
    out = safe_path_component(name)
    assert out != name
    _, sep, tag = out.rpartition("~")
    assert sep and len(tag) == 16 and all(c in "0123456789abcdef" for c in tag)


def _assert_safe(out: str) -> None:
    assert out and out not in (".", "..")
    assert len(out) <= SAFE_NAME_MAX
    assert "/" not in out and "\\" not in out and ".." not in out
    assert not out.startswith((".", "-"))
    assert all(c.isascii() and (c.isalnum() or c in "._-~") for c in out)
    assert out.split(".", 1)[0].split("~", 1)[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}


@pytest.mark.parametrize("name", READABLE + HOSTILE)
def test_every_result_is_one_safe_component(name, tmp_path):
    out = safe_path_component(name)
    _assert_safe(out)
    base = tmp_path / "lab"
    base.mkdir()
    folder = base / out
    folder.mkdir()
    assert folder.resolve().parent == base.resolve()  # it stays where it is put
    assert os.listdir(base) == [out]


def test_names_differing_only_in_case_never_share_a_folder():
    outs = {safe_path_component(n).lower() for n in ("acme", "Acme", "ACME", "aCmE")}
    assert len(outs) == 4


def test_a_changed_name_never_equals_a_kept_one():
    """A hostile name cannot take over a readable name's folder: changed names carry a `~` and kept
    names cannot."""
    assert safe_path_component("acme/") != safe_path_component("acme_")
    assert safe_path_component("acme_") == "acme_"
    assert "~" not in safe_path_component("acme_")


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_any_name_is_safe_and_different_names_never_collide(a, b):
    out_a, out_b = safe_path_component(a), safe_path_component(b)
    _assert_safe(out_a)
    _assert_safe(out_b)
    if a != b:
        assert out_a != out_b
    assert safe_path_component(a) == out_a  # the same name, the same folder


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("./\\~-_aZ09\x00\x1b\u202e "), max_size=40))
def test_names_of_path_characters_are_safe(name):
    _assert_safe(safe_path_component(name))


# -- V008 ------------------------------------------------------------------------------------------

PAIR = """\
agents:
  sales_us:
    region: us-east
    backups: [sales_eu]
  sales_eu:
    region: europe
    backups: [sales_us]
"""


def _codes(tmp_path: Path, name: str) -> list[tuple[str, tuple]]:
    fleet = tmp_path / "fleet.yaml"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"').replace("\x1b", "\\e").replace("\n", "\\n")
    fleet.write_text(f'metadata:\n  name: "{quoted}"\n' + PAIR, encoding="utf-8")
    return [(f.code, f.path) for f in validate([str(fleet)]).findings]


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "a/b", "a\\b", "..", "a..b", ".hidden", "evil\x1b[2J",
                                  "a\nb", "\u202eacme"])
def test_v008_reports_names_that_cannot_be_a_folder(tmp_path, name):
    assert _codes(tmp_path, name) == [("V008", ("metadata", "name"))]


@pytest.mark.parametrize("name", ["acme", "Acme Customer Care", "ventes-été", "acme.v2", "x" * 100])
def test_v008_lets_ordinary_names_through(tmp_path, name):
    assert _codes(tmp_path, name) == []


def test_v008_message_names_the_folder_it_would_become(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("metadata:\n  name: ../../x\n" + PAIR, encoding="utf-8")
    (f,) = validate([str(fleet)]).findings
    assert f.code == "V008" and f.span.line == 2
    assert safe_path_component("../../x") in f.message
    assert unicodedata.normalize("NFC", f.message) == f.message
