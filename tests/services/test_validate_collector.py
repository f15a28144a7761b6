"""`validate` and `check` pause the cyclic garbage collector while they work and leave it as they found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from clawctl.core.errors import InputError
from clawctl.services.validate import check, validate

FLEET = "agents:\n  a: {region: us-east, backups: [b]}\n  b: {region: europe, backups: [a]}\n"


@pytest.mark.parametrize("run", [validate, check])
def test_the_collector_is_on_again_after_a_run(tmp_path: Path, run):
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    assert gc.isenabled()
    run([str(path)])
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_refused_file(tmp_path: Path):
    path = tmp_path / "deep.yaml"
    path.write_text("agents: {}\nx: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(InputError):
        validate([str(path)])
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(tmp_path: Path):
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    gc.disable()
    try:
        report = validate([str(path)])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert [f.code for f in report.findings] == []
