"""The text view of `clawctl simulate`: every arrival is accounted for in the table."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
COUNTS = ("ARRIVED", "SERVED", "REJECTED", "ABANDONED", "LOST", "IN FLIGHT")


def test_the_table_has_an_in_flight_column_so_the_counts_add_up(cli):
    run = cli("simulate", EXAMPLE, "--requests", "2000", "--no-store")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    header = next(line for line in lines if line.startswith("STRATEGY"))
    assert "LOST  IN FLIGHT" in header
    row = next(line for line in lines if line.startswith("least_conn"))
    arrived, served, rejected, abandoned, lost, in_flight = (int(cell.replace(",", "")) for cell in row.split()[1:7])
    assert in_flight > 0  # the example's 2,000 requests end with conversations still going
    assert arrived == served + rejected + abandoned + lost + in_flight
    doc = cli("simulate", EXAMPLE, "--requests", "2000", "--no-store", "--format", "json").json()
    assert doc["results"][0]["in_flight"] == in_flight
