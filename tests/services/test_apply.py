"""`apply` as a service, on real SQLite files: versions are content-addressed, the registry diff is right, and
nothing is recorded for a fleet with error findings or kept of a secret."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from clawctl.adapters.store import open_store
from clawctl.core.errors import UsageError
from clawctl.services.apply import apply

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multi-region.yaml"
FLEET = "acme-global-customer-care"
ALL_AGENTS = sorted([
    "us_sales", "us_sales_enterprise", "us_support", "us_support_night", "us_billing",
    "eu_sales", "eu_sales_dach", "eu_support", "eu_billing",
    "apac_sales", "apac_sales_jp", "apac_support", "apac_support_cn", "apac_billing",
])

SMALL = """\
apiVersion: clawctl/v1
kind: Fleet
metadata:
  name: small-sales
agents:
  sales_a:
    domain: sales
    region: us-east
    capabilities: [lead_qualification]
    channels: [email]
    endpoint: http://127.0.0.1:18901
    auth: {token_env: SALES_TOKEN}
    backups: [sales_b]
  sales_b:
    domain: sales
    region: europe
    capabilities: [lead_qualification]
    channels: [email]
    endpoint: http://127.0.0.1:18902
    auth: {token_env: SALES_TOKEN}
    backups: [sales_a]
"""
SECRET = "supersecretvalue123"


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CLAWCTL_DB", raising=False)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "store.db"


def _variant(tmp_path: Path, name: str, edit) -> str:
    """A copy of the example under another file name (same `metadata.name`), edited."""
    text = EXAMPLE.read_text()
    changed = edit(text)
    assert changed != text or edit is _same
    path = tmp_path / name
    path.write_text(changed)
    return str(path)


def _same(text: str) -> str:
    return text


def _heavier_us_sales(text: str) -> str:
    head, sep, tail = text.partition("  us_sales:\n")
    block, nxt, rest = tail.partition("  us_sales_enterprise:\n")
    assert "    weight: 3\n" in block
    return head + sep + block.replace("    weight: 3\n", "    weight: 5\n") + nxt + rest


def _without_us_support_night(text: str) -> str:
    # nothing names us_support_night as a backup, so the fleet stays free of error findings
    start = text.index("  us_support_night:\n")
    return text[:start] + text[text.index("  us_billing:\n"):]


def _with_ghost_backup(text: str) -> str:
    return text.replace("    backups: [eu_sales, apac_sales]\n", "    backups: [eu_sales, ghost_agent]\n", 1)


def _rows(db: Path, sql: str, params=()) -> list[tuple]:
    with open_store(db) as store:
        return store.db.execute(sql, list(params)).fetchall()


def _count(db: Path, table: str) -> int:
    return _rows(db, f"SELECT COUNT(*) FROM {table}")[0][0]


def test_first_apply_records_a_version_and_adds_every_agent(db):
    result = apply([str(EXAMPLE)], db)
    assert not result.refused
    assert result.store == str(db)
    (applied,) = result.fleets
    assert applied.fleet == FLEET
    assert not applied.unchanged
    assert applied.version_id == 1
    assert re.fullmatch(r"[0-9a-f]{64}", applied.digest)
    assert applied.diff.added == ALL_AGENTS and len(ALL_AGENTS) == 14
    assert applied.diff.changed == [] and applied.diff.removed == []

    (version,) = _rows(db, "SELECT id, digest, files, content, agent_count FROM fleet_versions")
    assert version[:2] == (1, applied.digest)
    assert json.loads(version[2]) == [str(EXAMPLE)]
    assert json.loads(version[3])  # the canonical JSON of the file's data
    assert version[4] == 14
    agents = dict(_rows(db, "SELECT agent_id, weight FROM agents"))
    assert sorted(agents) == ALL_AGENTS
    assert agents["us_sales"] == 3 and agents["us_support_night"] == 1  # defaults applied
    assert _rows(db, "SELECT DISTINCT token_env FROM agents") == [("CLAWCTL_AGENT_TOKEN",)]
    assert _rows(db, "SELECT kind, status FROM runs") == [("apply", "applied")]


def test_the_same_content_again_is_a_no_op_that_says_so(tmp_path, db):
    first = apply([str(EXAMPLE)], db).fleets[0]
    before = _rows(db, "SELECT agent_id, version_id, updated_at FROM agents ORDER BY agent_id")
    again = apply([str(EXAMPLE)], db).fleets[0]
    assert again.unchanged
    assert (again.version_id, again.digest) == (first.version_id, first.digest)
    assert again.diff.empty and again.diff.unchanged == 14
    assert _count(db, "fleet_versions") == 1
    assert _rows(db, "SELECT status FROM runs ORDER BY id") == [("applied",), ("unchanged",)]
    assert _rows(db, "SELECT agent_id, version_id, updated_at FROM agents ORDER BY agent_id") == before
    # the address is the content, not the file's name
    renamed = apply([_variant(tmp_path, "renamed.yaml", _same)], db).fleets[0]
    assert renamed.unchanged and renamed.version_id == first.version_id
    assert _count(db, "fleet_versions") == 1


def test_change_remove_and_revert(tmp_path, db):
    original = apply([str(EXAMPLE)], db).fleets[0]

    heavier = apply([_variant(tmp_path, "heavier.yaml", _heavier_us_sales)], db).fleets[0]
    assert not heavier.unchanged and heavier.fleet == FLEET
    assert (heavier.diff.added, heavier.diff.changed, heavier.diff.removed) == ([], ["us_sales"], [])
    assert heavier.version_id == 2 and heavier.digest != original.digest
    rows = dict((a, (w, v)) for a, w, v in _rows(db, "SELECT agent_id, weight, version_id FROM agents"))
    assert rows["us_sales"] == (5, 2)
    assert all(v == 1 for a, (_, v) in rows.items() if a != "us_sales")  # as of the version that changed them

    smaller = apply([_variant(tmp_path, "smaller.yaml", _without_us_support_night)], db).fleets[0]
    # the weight edit is gone too in this copy: us_sales goes back to 3
    assert (smaller.diff.added, smaller.diff.changed, smaller.diff.removed) == ([], ["us_sales"],
                                                                              ["us_support_night"])
    assert smaller.version_id == 3
    assert "us_support_night" not in {a for (a,) in _rows(db, "SELECT agent_id FROM agents")}
    assert _rows(db, "SELECT agent_count FROM fleet_versions WHERE id = 3") == [(13,)]

    back = apply([str(EXAMPLE)], db).fleets[0]
    assert not back.unchanged  # a return to version 1 is a change from version 3 ...
    assert back.version_id == original.version_id and back.digest == original.digest  # ... to the same version
    assert (back.diff.added, back.diff.changed, back.diff.removed) == (["us_support_night"], [], [])
    assert _count(db, "fleet_versions") == 3  # no duplicate version row
    assert _count(db, "agents") == 14

    still = apply([str(EXAMPLE)], db).fleets[0]
    assert still.unchanged and still.version_id == 1  # version 1 is in force, though not the newest row
    statuses = [s for (s,) in _rows(db, "SELECT status FROM runs ORDER BY id")]
    assert statuses == ["applied", "applied", "applied", "applied", "unchanged"]
    summaries = [json.loads(s) for (s,) in _rows(db, "SELECT summary FROM runs ORDER BY id")]
    assert [s["version_id"] for s in summaries] == [1, 2, 3, 1, 1]


def test_a_revert_straight_back_reuses_the_version(tmp_path, db):
    apply([str(EXAMPLE)], db)
    apply([_variant(tmp_path, "heavier.yaml", _heavier_us_sales)], db)
    back = apply([str(EXAMPLE)], db).fleets[0]
    assert back.version_id == 1 and not back.unchanged
    assert back.diff.changed == ["us_sales"]
    assert _rows(db, "SELECT weight, version_id FROM agents WHERE agent_id = 'us_sales'") == [(3, 1)]
    assert _count(db, "fleet_versions") == 2


def test_error_findings_refuse_and_record_nothing(tmp_path, db):
    bad = _variant(tmp_path, "bad.yaml", _with_ghost_backup)
    result = apply([bad], db)
    assert result.refused and result.fleets == []
    assert not db.exists()  # validation comes first: a refused apply does not even create the store
    assert any(f.code == "B001" and "ghost_agent" in f.message for f in result.report.findings)

    apply([str(EXAMPLE)], db)
    assert apply([bad], db).refused
    assert _count(db, "fleet_versions") == 1
    assert _count(db, "runs") == 1
    assert sorted(a for (a,) in _rows(db, "SELECT agent_id FROM agents")) == ALL_AGENTS


def _store_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_a_token_is_never_stored_only_its_variable_name(tmp_path, db, monkeypatch):
    monkeypatch.setenv("SALES_TOKEN", SECRET)
    fleet = tmp_path / "small.yaml"
    fleet.write_text(SMALL)
    reader = open_store(db)  # held open, so the WAL is not checkpointed away before we read it
    try:
        (applied,) = apply([str(fleet)], db).fleets
        assert applied.diff.added == ["sales_a", "sales_b"]
        assert Path(f"{db}-wal").stat().st_size > 0
        assert SECRET.encode() not in _store_bytes(db)
        assert reader.db.execute("SELECT DISTINCT token_env FROM agents").fetchall() == [("SALES_TOKEN",)]
    finally:
        reader.close()
    data = _store_bytes(db)
    assert SECRET.encode() not in data
    assert b"SALES_TOKEN" in data


def test_a_literal_token_is_refused_and_never_stored(tmp_path, db):
    fleet = tmp_path / "literal.yaml"
    fleet.write_text(SMALL.replace("auth: {token_env: SALES_TOKEN}",
                                   f"auth: {{token_env: SALES_TOKEN, token: {SECRET}}}"))
    apply([str(EXAMPLE)], db)
    result = apply([str(fleet)], db)
    assert result.refused
    assert {f.code for f in result.report.findings if f.severity.value == "error"} >= {"X001"}
    assert SECRET.encode() not in _store_bytes(db)
    assert _count(db, "fleets") == 1


def test_a_failed_apply_batch_leaves_the_store_as_it_was(tmp_path, db, monkeypatch):
    """One apply is one batch: if recording breaks half-way, no fleet, version or agent of it remains."""
    import clawctl.services.apply as service

    apply([str(EXAMPLE)], db)
    calls = []
    real = service._record

    def flaky(store, fleet, *rest):
        calls.append(fleet)
        real(store, fleet, *rest)
        raise sqlite3.OperationalError("simulated failure after the rows were written")

    monkeypatch.setattr(service, "_record", flaky)
    fleet = tmp_path / "small.yaml"
    fleet.write_text(SMALL)
    with pytest.raises(sqlite3.OperationalError, match="simulated"):
        apply([str(fleet)], db)
    assert calls
    assert _rows(db, "SELECT name FROM fleets") == [(FLEET,)]
    assert _count(db, "fleet_versions") == 1
    assert _count(db, "agents") == 14
    assert _count(db, "runs") == 1


# -- secrets the screen flags are never stored, suppressed or not -----------------------------------

HOSTILE = ROOT / "tests" / "fixtures" / "hostile" / "secrets" / "suppressed.yaml"
HOSTILE_SECRETS = (b"SeCrEt", b"hunter2", b"dXNlcjpTZUNyRXQtMg", b"u+Xz81kQw3pLmA9vT2rB")


def test_suppressed_secrets_are_stored_masked_in_the_file_and_its_wal(db):
    """Every finding of the hostile fixture is suppressed, so apply accepts it; no secret reaches
    `fleet_versions.content`, the agent rows, the runs, the database file or its WAL."""
    assert all(s in HOSTILE.read_bytes() for s in HOSTILE_SECRETS)
    reader = open_store(db)  # held open, so the WAL is not checkpointed away before we read it
    try:
        result = apply([str(HOSTILE)], db)
        assert not result.refused and result.report.findings == []
        assert Path(f"{db}-wal").stat().st_size > 0
        data = _store_bytes(db)
        assert [s for s in HOSTILE_SECRETS if s in data] == []
        (content,) = reader.db.execute("SELECT content FROM fleet_versions").fetchone()
    finally:
        reader.close()
    assert [s for s in HOSTILE_SECRETS if s in _store_bytes(db)] == []
    stored = json.loads(content)[str(HOSTILE)]
    assert stored["metadata"]["labels"] == {"pwd": "***", "key": "region", "auth_header": "***", "team": "care"}
    assert stored["agents"]["sales_us"]["endpoint"] == "http://10.0.0.5:8080/?***"
    assert stored["agents"]["sales_eu"]["endpoint"] == "http://***@10.1.0.5:8080"
    assert stored["agents"]["sales_eu"]["auth"] == {"token_env": "SALES_EU_TOKEN", "token": "***"}
    assert stored["x-alerting"]["webhook"] == "https://hooks.example.com/x?***"
    assert stored["x-alerting"]["password"] == "***" and stored["x-alerting"]["token_env"] == "PAGERDUTY_TOKEN"


def test_changing_only_a_secret_records_no_new_version(tmp_path, db):
    """The digest is taken of what is stored, so a rotated secret is not a new version (or a way to
    test guesses of it against the store)."""
    first = apply([str(HOSTILE)], db).fleets[0]
    rotated = tmp_path / "suppressed.yaml"
    rotated.write_text(HOSTILE.read_text().replace("hunter2-SeCrEt-1", "another-SeCrEt-2"))
    again = apply([str(rotated)], db).fleets[0]
    assert again.digest == first.digest and again.version_id == first.version_id
    assert b"another" not in _store_bytes(db)


# -- which files form one fleet ------------------------------------------------------------------------

def test_unnamed_files_apply_as_fleets_of_their_own(tmp_path, db):
    unnamed = SMALL.replace("metadata:\n  name: small-sales\n", "")
    (tmp_path / "staging.yaml").write_text(unnamed)
    (tmp_path / "prod.yaml").write_text(unnamed.replace("18901", "28901"))
    result = apply([str(tmp_path)], db)
    assert not result.refused, [f.message for f in result.report.findings]
    assert sorted(f.fleet for f in result.fleets) == ["prod", "staging"]
    assert sorted(_rows(db, "SELECT name FROM fleets")) == [("prod",), ("staging",)]
    assert _count(db, "agents") == 4


def test_two_unnamed_files_stored_under_one_name_are_refused(tmp_path, db):
    unnamed = SMALL.replace("metadata:\n  name: small-sales\n", "")
    for region in ("us", "eu"):
        (tmp_path / region).mkdir()
        (tmp_path / region / "prod.yaml").write_text(unnamed)
    with pytest.raises(UsageError, match="both be stored as `prod`"):
        apply([str(tmp_path)], db)
    assert not db.exists() or _count(db, "fleets") == 0


def test_a_short_secret_masks_only_itself(tmp_path, db):
    """Masking matches a short flagged value whole: `password: east` must not turn `us-east` into `***`."""
    fleet = tmp_path / "small.yaml"
    fleet.write_text(SMALL + "x-db:\n  password: east  # clawctl: ignore[X002]\n")
    (applied,) = apply([str(fleet)], db).fleets
    assert sorted(_rows(db, "SELECT region FROM agents")) == [("europe",), ("us-east",)]
    (content,) = _rows(db, "SELECT content FROM fleet_versions")[0]
    assert json.loads(content)[str(fleet)]["x-db"] == {"password": "***"}
