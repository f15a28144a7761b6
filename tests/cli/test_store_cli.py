"""`clawctl apply`, `agents list`, `history`, `store path`, `store check`: outputs, exit codes, store location.

A few cases run the real CLI in a subprocess; the rest call ``clawctl.cli.main.main(argv)`` in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clawctl.adapters.store_schema import RUN_KINDS, SCHEMA_VERSION
from clawctl.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
FLEET = "acme-global-customer-care"


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAWCTL_DB", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "store.db")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["schema_version"] == 1
    return payload


def cli(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "CLAWCTL_DB"}
    base.update({"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home"), "NO_COLOR": "1"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "clawctl.cli.main", *argv], capture_output=True, text=True,
                          env=base, cwd=tmp_path, timeout=60)


def _edited(tmp_path: Path, name: str, old: str, new: str) -> str:
    text = Path(EXAMPLE).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return str(path)


def _one_error_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("clawctl: error: "), err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------ end to end


def test_apply_end_to_end_json_then_unchanged_text(tmp_path, db):
    first = cli(tmp_path, "--db", db, "apply", EXAMPLE, "--format", "json")
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["schema_version"] == 1
    assert payload["store"] == db
    (fleet,) = payload["fleets"]
    assert fleet["fleet"] == FLEET and fleet["unchanged"] is False and fleet["version_id"] == 1
    assert len(fleet["added"]) == 14 and fleet["changed"] == [] and fleet["removed"] == []

    again = cli(tmp_path, "--db", db, "apply", EXAMPLE)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"fleet {FLEET}: unchanged (version 1, {fleet['digest'][:12]}); nothing to do")
    assert "Traceback" not in again.stderr


def test_store_check_end_to_end_through_clawctl_db(tmp_path, db):
    assert cli(tmp_path, "apply", EXAMPLE, env={"CLAWCTL_DB": db}).returncode == 0
    proc = cli(tmp_path, "store", "check", "--format", "json", env={"CLAWCTL_DB": db})
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["schema_version"] == 1 and payload["ok"] is True and payload["path"] == db
    assert payload["store_schema_version"] == payload["supported_version"] == SCHEMA_VERSION
    assert payload["counts"]["agents"] == 14
    assert not (tmp_path / "xdg").exists()  # CLAWCTL_DB was honoured


def test_apply_refused_end_to_end(tmp_path, db):
    bad = _edited(tmp_path, "bad.yaml", "backups: [eu_sales, apac_sales]", "backups: [eu_sales, ghost_agent]")
    proc = cli(tmp_path, "--db", db, "apply", bad)
    assert proc.returncode == 1
    assert "B001" in proc.stdout and "ghost_agent" in proc.stdout
    assert proc.stderr == "clawctl: error: not applied: the fleet has error findings\n"
    assert not Path(db).exists()


# ------------------------------------------------------------------------------------------------ apply


def test_apply_text_shows_the_diff(tmp_path, capsys, db):
    code, out, _ = run(capsys, "--db", db, "apply", EXAMPLE)
    assert code == 0
    assert out.startswith(f"fleet {FLEET}: applied version 1 (")
    assert "  + us_sales\n" in out and out.count("  + ") == 14
    assert "14 added, 0 changed, 0 removed, 0 unchanged" in out

    code, out, _ = run(capsys, "--db", db, "apply", EXAMPLE)
    assert code == 0 and "unchanged" in out and "nothing to do" in out
    assert run_json(capsys, "--db", db, "history", "--kind", "apply")["runs"][0]["status"] == "unchanged"
    assert run_json(capsys, "--db", db, "store", "check")["counts"]["fleet_versions"] == 1

    heavier = _edited(tmp_path, "heavier.yaml", "    weight: 3\n", "    weight: 5\n")  # the first is us_sales
    code, out, _ = run(capsys, "--db", db, "apply", heavier)
    assert code == 0
    assert f"fleet {FLEET}: applied version 2 (" in out
    assert "  ~ us_sales\n" in out and "+ " not in out and "  - " not in out
    assert "0 added, 1 changed, 0 removed, 13 unchanged" in out

    start = Path(EXAMPLE).read_text().index("  us_support_night:\n")
    text = Path(EXAMPLE).read_text()
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(text[:start] + text[text.index("  us_billing:\n"):])
    payload = run_json(capsys, "--db", db, "apply", str(smaller))
    assert payload["fleets"][0]["removed"] == ["us_support_night"]
    assert payload["fleets"][0]["changed"] == ["us_sales"]

    code, out, _ = run(capsys, "--db", db, "apply", EXAMPLE)
    assert code == 0 and "applied version 1 (" in out and "  + us_support_night\n" in out
    assert run_json(capsys, "--db", db, "store", "check")["counts"]["fleet_versions"] == 3


def test_apply_refused_shows_findings_and_records_nothing(tmp_path, capsys, db):
    assert run(capsys, "--db", db, "apply", EXAMPLE)[0] == 0
    bad = _edited(tmp_path, "bad.yaml", "backups: [eu_sales, apac_sales]", "backups: [eu_sales, ghost_agent]")
    code, out, err = run(capsys, "--db", db, "apply", bad)
    assert code == 1
    assert "B001" in out and "ghost_agent" in out
    assert err == "clawctl: error: not applied: the fleet has error findings\n"

    code, out, err = run(capsys, "--db", db, "apply", bad, "--format", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [f["code"] for f in findings if f["severity"] == "error"] == ["B001"]
    assert run_json(capsys, "--db", db, "store", "check")["counts"] == {
        "fleets": 1, "fleet_versions": 1, "agents": 14, "runs": 1, "samples": 0, "events": 0, "lab_processes": 0}


# --------------------------------------------------------------------------------------------- agents list


def test_agents_list(capsys, db):
    code, out, _ = run(capsys, "--db", db, "agents", "list")
    assert code == 0 and "no agents recorded" in out
    assert run_json(capsys, "--db", db, "agents", "list")["agents"] == []

    run(capsys, "--db", db, "apply", EXAMPLE)
    payload = run_json(capsys, "--db", db, "agents", "list")
    assert len(payload["agents"]) == 14
    us_sales = next(a for a in payload["agents"] if a["id"] == "us_sales")
    assert us_sales["fleet"] == FLEET and us_sales["weight"] == 3 and us_sales["backups"] == ["eu_sales", "apac_sales"]
    assert us_sales["token_env"] == "CLAWCTL_AGENT_TOKEN" and us_sales["endpoint"] == "http://127.0.0.1:18801"
    assert isinstance(us_sales["capabilities"], list)

    assert len(run_json(capsys, "--db", db, "agents", "list", "--fleet", FLEET)["agents"]) == 14
    code, out, _ = run(capsys, "--db", db, "agents", "list", "--fleet", FLEET)
    assert code == 0 and "AGENT" in out and "us_sales_enterprise" in out and "eu_sales,apac_sales" in out


def test_agents_list_unknown_fleet_is_a_usage_error(capsys, db):
    run(capsys, "--db", db, "apply", EXAMPLE)
    code, out, err = run(capsys, "--db", db, "agents", "list", "--fleet", "nope")
    assert code == 2 and out == ""
    _one_error_line(err)
    assert "no fleet `nope`" in err and FLEET in err


# ------------------------------------------------------------------------------------------------ history


def test_history(capsys, db):
    code, out, _ = run(capsys, "--db", db, "history")
    assert code == 0 and "no runs recorded yet" in out
    run(capsys, "--db", db, "apply", EXAMPLE)
    run(capsys, "--db", db, "apply", EXAMPLE)
    runs = run_json(capsys, "--db", db, "history", "--kind", "apply")["runs"]
    assert [(r["kind"], r["status"], r["fleet"]) for r in runs] == [("apply", "unchanged", FLEET),
                                                                    ("apply", "applied", FLEET)]
    assert runs[1]["summary"]["version_id"] == 1 and len(runs[1]["summary"]["added"]) == 14
    assert run_json(capsys, "--db", db, "history", "--kind", "sim")["runs"] == []
    assert len(run_json(capsys, "--db", db, "history", "--limit", "1")["runs"]) == 1
    assert run_json(capsys, "--db", db, "history", "--fleet", "other")["runs"] == []
    code, out, _ = run(capsys, "--db", db, "history", "--kind", "apply")
    assert code == 0 and "KIND" in out and "version 1: 14 added, 0 changed, 0 removed" in out
    assert "version 1, unchanged" in out


@pytest.mark.parametrize("argv, words", [(["--kind", "bogus"], "--kind bogus"), (["--limit", "0"], "--limit")])
def test_history_bad_options_are_usage_errors(capsys, db, argv, words):
    code, out, err = run(capsys, "--db", db, "history", *argv)
    assert code == 2 and out == ""
    _one_error_line(err)
    assert words in err


# -------------------------------------------------------------------------------------------------- store


def test_store_path_honours_db_then_clawctl_db_then_xdg(tmp_path, capsys, monkeypatch):
    xdg = tmp_path / "xdg"
    assert run(capsys, "store", "path") == (0, f"{xdg / 'clawctl' / 'clawctl.db'}\n", "")
    monkeypatch.setenv("CLAWCTL_DB", str(tmp_path / "env.db"))
    assert run(capsys, "store", "path") == (0, f"{tmp_path / 'env.db'}\n", "")
    assert run(capsys, "--db", str(tmp_path / "flag.db"), "store", "path") == (0, f"{tmp_path / 'flag.db'}\n", "")
    # printing the path creates nothing
    assert not xdg.exists() and not (tmp_path / "env.db").exists() and not (tmp_path / "flag.db").exists()


def test_store_path_end_to_end_precedence(tmp_path):
    env = {"CLAWCTL_DB": str(tmp_path / "env.db")}
    assert cli(tmp_path, "store", "path").stdout == f"{tmp_path / 'xdg' / 'clawctl' / 'clawctl.db'}\n"
    assert cli(tmp_path, "store", "path", env=env).stdout == f"{tmp_path / 'env.db'}\n"
    assert cli(tmp_path, "--db", "flag.db", "store", "path", env=env).stdout == "flag.db\n"


def test_store_check_text_and_json(capsys, db):
    code, out, _ = run(capsys, "--db", db, "store", "check")
    assert code == 0
    assert out.splitlines()[0] == f"store {db}: ok"
    assert f"schema version {SCHEMA_VERSION} (this clawctl: {SCHEMA_VERSION})" in out and "integrity_check: ok" in out
    payload = run_json(capsys, "--db", db, "store", "check")
    assert payload["ok"] is True and payload["schema_version"] == 1
    assert payload["store_schema_version"] == payload["supported_version"] == SCHEMA_VERSION
    assert payload["integrity"] == ["ok"] and payload["path"] == db
    assert set(payload["counts"]) == {"fleets", "fleet_versions", "agents", "runs", "samples", "events",
                                      "lab_processes"}


def test_the_default_store_is_created_under_xdg_data_home(tmp_path, capsys):
    assert run(capsys, "apply", EXAMPLE)[0] == 0
    assert (tmp_path / "xdg" / "clawctl" / "clawctl.db").is_file()
    assert run_json(capsys, "store", "check")["path"] == str(tmp_path / "xdg" / "clawctl" / "clawctl.db")


def test_a_store_that_is_not_sqlite_is_exit_3_for_every_verb(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    for argv in (["apply", EXAMPLE], ["agents", "list"], ["history"], ["store", "check"]):
        code, out, err = run(capsys, "--db", str(path), *argv)
        assert code == 3, argv
        _one_error_line(err)
        assert "not a SQLite database" in err
    assert path.read_text() == "hello"


# --- the injected environment: a fixed clock and captured streams ----------------------------------


def test_apply_and_history_take_their_times_from_the_injected_clock(cli):
    cli.now = cli.now.replace(hour=8)
    assert cli("apply", EXAMPLE).code == 0
    cli.now = cli.now.replace(hour=10)
    assert cli("simulate", EXAMPLE, "--requests", "500", "--format", "json").code == 0
    runs = cli("history", "--format", "json").json()["runs"]
    assert [(r["kind"], r["started_at"]) for r in runs] == [
        ("sim", "2026-01-05T10:30:00.250Z"), ("apply", "2026-01-05T08:30:00.250Z")]
    assert cli.db.exists() and not (cli.db.parent / "xdg").exists()


def test_errors_go_to_the_injected_stderr_and_data_to_its_stdout(cli):
    bad = cli("history", "--kind", "nope")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err == f"clawctl: error: --kind nope: use one of {', '.join(RUN_KINDS)}\n"
    path = cli("store", "path")
    assert (path.code, path.out, path.err) == (0, f"{cli.db}\n", "")


# -- several fleets in one apply ----------------------------------------------------------------------

UNNAMED = "agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"


def test_apply_records_unnamed_files_as_fleets_of_their_own(capsys, tmp_path, db):
    (tmp_path / "fleets").mkdir()
    (tmp_path / "fleets" / "staging.yaml").write_text(UNNAMED)
    (tmp_path / "fleets" / "prod.yaml").write_text(UNNAMED)
    payload = run_json(capsys, "--db", db, "apply", str(tmp_path / "fleets"))
    assert sorted(f["fleet"] for f in payload["fleets"]) == ["prod", "staging"]
    listed = run_json(capsys, "--db", db, "agents", "list")
    assert sorted((a["fleet"], a["id"]) for a in listed["agents"]) == [("prod", "sales_us"), ("staging", "sales_us")]


def test_apply_refuses_two_unnamed_fleets_that_would_share_a_name(capsys, tmp_path, db):
    for region in ("us", "eu"):
        (tmp_path / region).mkdir()
        (tmp_path / region / "prod.yaml").write_text(UNNAMED)
    code, out, err = run(capsys, "--db", db, "apply", str(tmp_path / "us"), str(tmp_path / "eu"))
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("clawctl: error: ") and "both be stored as `prod`" in line and "metadata.name" in line
    assert not Path(db).exists()


def test_apply_stores_no_suppressed_secret(capsys, tmp_path, db):
    hostile = ROOT / "tests" / "fixtures" / "hostile" / "secrets" / "suppressed.yaml"
    payload = run_json(capsys, "--db", db, "apply", str(hostile))
    assert [f["fleet"] for f in payload["fleets"]] == ["acme-secrets"]
    stored = b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))
    assert b"SeCrEt" not in stored and b"hunter2" not in stored
    listed = run_json(capsys, "--db", db, "agents", "list")
    assert "SeCrEt" not in json.dumps(listed)
