"""examples/README.md says how the example folder behaves: check that it does."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_the_examples_folder_is_four_fleets_that_validate_without_s006(cli):
    readme = " ".join((EXAMPLES / "README.md").read_text().split())
    assert "merged into one fleet" not in readme  # what it said before files merged by `metadata.name` only
    assert "a file without one is a fleet of its own" in readme and "no S006" in readme
    run = cli("validate", str(EXAMPLES), "--format", "json")
    assert run.code == 0, run.err
    codes = {f["code"] for f in run.json()["findings"]}
    assert "S006" not in codes and codes == {"B007", "Y003"}  # the findings the README names
    one = cli("probe", str(EXAMPLES))
    assert one.code == 2 and "expected one fleet, found 4" in one.err
    assert "expected one fleet, found 4" in readme
