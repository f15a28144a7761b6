"""`clawctl init`: a starter fleet that validates clean and simulates; never over an existing file."""

from __future__ import annotations

import json
import subprocess
import sys

from clawctl.services.init import starter_text


def test_init_writes_a_fleet_that_validates_clean_and_simulates_with_its_schema(tmp_path, cli):
    fleet = tmp_path / "fleet.yaml"
    run = cli("init", str(fleet))
    assert run.code == 0, run.err
    assert fleet.read_text() == starter_text() and fleet.read_text().startswith(
        "# yaml-language-server: $schema=fleet.schema.json")
    schema = json.loads((tmp_path / "fleet.schema.json").read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    lint = cli("validate", str(fleet), "--format", "json").json()
    assert lint["findings"] == []
    sim = cli("simulate", str(fleet), "--requests", "2000", "--no-store", "--format", "json").json()
    (r,) = sim["results"]
    assert r["served"] > 1900 and r["rejected"] == 0


def test_init_into_a_folder_and_without_the_schema(tmp_path, cli):
    assert cli("init", str(tmp_path), "--no-schema").code == 0
    assert (tmp_path / "fleet.yaml").exists() and not (tmp_path / "fleet.schema.json").exists()


def test_init_never_overwrites(tmp_path, cli):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("mine\n")
    run = cli("init", str(fleet))
    assert run.code == 2 and "already exists" in run.err and run.err.count("\n") == 1
    assert fleet.read_text() == "mine\n" and not list(tmp_path.glob(".*tmp"))


def test_an_existing_schema_is_kept(tmp_path, cli):
    (tmp_path / "fleet.schema.json").write_text("{}\n")
    run = cli("init", str(tmp_path / "a.yaml"), "--format", "json")
    assert run.code == 0 and run.json()["schema"] is None and "kept" in run.json()["notes"][0]
    assert (tmp_path / "fleet.schema.json").read_text() == "{}\n"


def test_a_missing_folder_is_exit_3(tmp_path, cli):
    run = cli("init", str(tmp_path / "nope" / "fleet.yaml"))
    assert run.code == 3 and "no such folder" in run.err


def test_python_dash_m_clawctl_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "clawctl", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("clawctl ")


def test_init_example_writes_the_shipped_example(tmp_path, cli):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = cli("init", str(tmp_path / "mr.yaml"), "--example", "multi-region", "--no-schema")
    assert run.code == 0, run.err
    assert (tmp_path / "mr.yaml").read_text() == (root / "examples" / "multi-region.yaml").read_text()
    assert cli("validate", str(tmp_path / "mr.yaml"), "--format", "json").json()["findings"] == []


def test_init_unknown_example_is_a_usage_error_listing_them(tmp_path, cli):
    run = cli("init", str(tmp_path / "x.yaml"), "--example", "multi-regon")
    assert run.code == 2 and run.err.count("\n") == 1
    assert "did you mean `multi-region`" in run.err and "enterprise-session-management" in run.err
    assert not list(tmp_path.iterdir())


def test_the_package_ships_every_example_and_the_current_schema():
    """The wheel carries clawctl/data/examples (a link to examples/) and fleet.schema.json; the schema
    file is what `clawctl schema` prints today (regenerate: clawctl schema > clawctl/data/fleet.schema.json)."""
    from pathlib import Path

    from clawctl.services.init import example_names
    from clawctl.services.schema import fleet_schema

    root = Path(__file__).resolve().parents[2]
    assert example_names() == sorted(p.stem for p in (root / "examples").glob("*.yaml"))
    shipped = json.loads((root / "clawctl" / "data" / "fleet.schema.json").read_text())
    assert shipped == fleet_schema(), "regenerate: clawctl schema > clawctl/data/fleet.schema.json"


def test_package_data_globs_cover_the_shipped_files():
    """What `pip install .` puts in the wheel: pyproject's package-data globs must match these files."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["clawctl"]
    matched = {p.relative_to(root / "clawctl").as_posix() for g in globs for p in (root / "clawctl").glob(g)}
    wanted = {"data/demo.yaml", "data/starter.yaml", "data/fleet.schema.json", "data/examples/README.md",
              *(f"data/examples/{p.name}" for p in (root / "examples").glob("*.yaml"))}
    assert wanted <= matched
