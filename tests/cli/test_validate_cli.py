"""`clawctl validate` end to end: every bad input gets one clear line and its documented exit code.

The contract (docs/cli.md, spec/cli.md): findings exit 1, usage errors 2, unreadable input 3, never a
Python traceback. The bad-input cases run the real CLI in a subprocess (`python -m clawctl.cli.main`),
so an uncaught exception, a hang or a crash in C code shows up as it would for a user; the behaviour
tests run in-process for speed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clawctl import __version__
from clawctl.cli.main import main

# -- helpers ---------------------------------------------------------------------------------------

GOOD = """\
agents:
  sales_agent:
    region: us-east
    channels: [email, website_chat]
    backups: [support_agent]
  support_agent:
    region: europe
    channels: [email, website_chat]
    backups: [sales_agent]
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR", "CLAWCTL_DEBUG")}
    env.update(extra or {})
    return env


def run_cli(cwd: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process; raises subprocess.TimeoutExpired if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "clawctl.cli.main", *args],
        cwd=cwd, input=stdin, capture_output=True, timeout=timeout, env=_env(env),
    )


def _text(proc: subprocess.CompletedProcess) -> tuple[str, str]:
    return proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def assert_one_error_line(stderr: str, names: str | None = None) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got:\n{stderr}"
    line = lines[0]
    assert line.startswith("clawctl: error: "), line
    if names is not None:
        assert names in line, line
    return line


def assert_refused(proc: subprocess.CompletedProcess, names: str | None, *, code: int = 3) -> str:
    """Exit ``code``, one `clawctl: error:` line naming ``names``, nothing on stdout, no traceback."""
    out, err = _text(proc)
    assert "Traceback" not in out + err, out + err
    assert proc.returncode == code, (proc.returncode, out, err)
    assert out == "", out
    return assert_one_error_line(err, names)


def assert_finding(proc: subprocess.CompletedProcess | tuple[int, str, str], code: str, name: str) -> list[dict]:
    """Exit 1 with ``code`` among the JSON findings for ``name``; stderr empty, no traceback.

    ``proc`` is a finished subprocess, or ``(exit code, stdout, stderr)`` from an in-process run.
    """
    if isinstance(proc, tuple):
        returncode, out, err = proc
    else:
        returncode, (out, err) = proc.returncode, _text(proc)
    assert "Traceback" not in out + err, out + err
    assert returncode == 1, (returncode, out, err)
    assert err.strip() == "", err
    doc = json.loads(out)
    hits = [f for f in doc["findings"] if f["code"] == code]
    assert hits, doc["findings"]
    assert all(f["file"] == name for f in hits)
    return hits


def run_in_process(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def json_of(capsys, monkeypatch, tmp_path):
    """`clawctl validate --format json NAME` in-process, from tmp_path: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(name: str = "fleet.yaml") -> tuple[int, str, str]:
        return run_in_process(capsys, "validate", "--format", "json", name)

    return run


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    """The in-process tests must not inherit CI's format switch or colour settings."""
    for name in ("GITHUB_ACTIONS", "NO_COLOR", "CLAWCTL_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# -- the subprocess entry point itself --------------------------------------------------------------


def test_module_entry_point_runs_and_exits_with_the_code(tmp_path):
    write(tmp_path / "fleet.yaml", GOOD)
    proc = run_cli(tmp_path, "validate", "fleet.yaml")
    out, err = _text(proc)
    assert proc.returncode == 0, out + err
    assert "All checks passed" in out
    assert err == ""


def test_version(tmp_path):
    proc = run_cli(tmp_path, "--version")
    assert proc.returncode == 0
    assert _text(proc)[0] == f"clawctl {__version__}\n"


def test_version_through_typer(capsys):
    """`--version` after another global option goes through typer rather than the fast path."""
    code, out, err = run_in_process(capsys, "--no-color", "--version")
    assert code == 0
    assert out.strip() == f"clawctl {__version__}"
    assert err == ""


# -- bad inputs that are findings (exit 1) ----------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"# a comment\n# and another\n", b"\n\n   \n", b"---\n", b"\xef\xbb\xbf"],
                         ids=["empty", "comment-only", "blank-lines", "empty-document", "bom-only"])
def test_empty_documents_are_y007(tmp_path, json_of, content):
    write(tmp_path / "fleet.yaml", content)
    hits = assert_finding(json_of(), "Y007", "fleet.yaml")
    assert "empty" in hits[0]["message"]


def test_empty_file_text_format(tmp_path):
    write(tmp_path / "fleet.yaml", b"")
    proc = run_cli(tmp_path, "validate", "fleet.yaml")
    out, err = _text(proc)
    assert proc.returncode == 1
    assert "Traceback" not in out + err and err == ""
    assert "fleet.yaml" in out and "Y007" in out


@pytest.mark.parametrize("content, line, column", [
    ("a: b: c\n", 1, 5),
    ("agents: [\n", 2, 1),
    ("agents:\n  a:\n    channels: [email, sms\n    region: us\n", None, None),
    ("agents: {a: 1\n", None, None),
    ("agents:\n\tsales: {}\n", 2, None),
    ("agents: 'unterminated\n", None, None),
], ids=["mapping-in-value", "unclosed-bracket", "unclosed-flow-list", "unclosed-brace", "tab-indent",
        "unclosed-quote"])
def test_not_yaml_is_y001_with_a_position(tmp_path, json_of, content, line, column):
    write(tmp_path / "fleet.yaml", content)
    (hit,) = assert_finding(json_of(), "Y001", "fleet.yaml")
    assert isinstance(hit["line"], int) and hit["line"] >= 1
    assert isinstance(hit["column"], int) and hit["column"] >= 1
    if line is not None:
        assert hit["line"] == line
    if column is not None:
        assert hit["column"] == column
    assert hit["message"].startswith("YAML syntax error")


def test_not_yaml_end_to_end(tmp_path):
    write(tmp_path / "fleet.yaml", "a: b: c\n")
    proc = run_cli(tmp_path, "validate", "fleet.yaml")
    out, err = _text(proc)
    assert proc.returncode == 1 and err == "" and "Traceback" not in out
    assert out.startswith("fleet.yaml:1:5: Y001 [error] YAML syntax error")


def test_top_level_list_is_y007(tmp_path, json_of):
    write(tmp_path / "fleet.yaml", "- sales_agent\n- support_agent\n")
    (hit,) = assert_finding(json_of(), "Y007", "fleet.yaml")
    assert "list" in hit["message"]


def test_top_level_scalar_is_y007(tmp_path, json_of):
    write(tmp_path / "fleet.yaml", "just some words\n")
    (hit,) = assert_finding(json_of(), "Y007", "fleet.yaml")
    assert "single value" in hit["message"]


def test_multiple_documents_are_y005(tmp_path, json_of):
    write(tmp_path / "fleet.yaml", GOOD + "---\n" + GOOD)
    (hit,) = assert_finding(json_of(), "Y005", "fleet.yaml")
    assert hit["line"] == GOOD.count("\n") + 2  # the start of the second document
    assert "2" in hit["message"]


def test_undefined_alias_is_y004(tmp_path, json_of):
    write(tmp_path / "fleet.yaml", GOOD.replace("[email, website_chat]\n    backups: [sales_agent]",
                                                "*nowhere\n    backups: [sales_agent]"))
    (hit,) = assert_finding(json_of(), "Y004", "fleet.yaml")
    assert "*nowhere" in hit["message"]
    assert (hit["line"], hit["column"]) == (8, 15)
    assert hit["path"] == "$.agents.support_agent.channels"


def test_duplicate_keys_are_y002_naming_both_lines(tmp_path):
    write(tmp_path / "fleet.yaml", GOOD.replace("    backups: [support_agent]\n",
                                                "    backups: [support_agent]\n    region: europe\n"))
    proc = run_cli(tmp_path, "validate", "--format", "json", "fleet.yaml")
    (hit,) = assert_finding(proc, "Y002", "fleet.yaml")
    assert hit["line"] == 6  # the second `region`
    assert "line 3" in hit["message"]  # the first
    assert hit["path"] == "$.agents.sales_agent.region"
    text = run_cli(tmp_path, "validate", "fleet.yaml")
    out = _text(text)[0]
    assert "fleet.yaml:6:5: Y002" in out
    assert "`region` first defined here at fleet.yaml:3:5" in out  # the related first definition


# -- bad inputs that are refused (exit 3) -----------------------------------------------------------


def test_binary_file_is_refused(tmp_path):
    write(tmp_path / "logo.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    line = assert_refused(run_cli(tmp_path, "validate", "logo.yaml"), "logo.yaml")
    assert "NUL" in line and "offset 8" in line


def test_latin1_is_refused_naming_offset_and_line(tmp_path):
    write(tmp_path / "fleet.yaml", b"agents:\n  a:\n    region: caf\xe9\n")
    line = assert_refused(run_cli(tmp_path, "validate", "fleet.yaml"), "fleet.yaml")
    assert "0xe9" in line and "offset 28" in line and "line 3" in line


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_refused(tmp_path, encoding):
    data = GOOD.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    write(tmp_path / "fleet.yaml", data)
    line = assert_refused(run_cli(tmp_path, "validate", "fleet.yaml"), "fleet.yaml")
    assert "UTF-8" in line


def test_utf8_bom_is_accepted_and_positions_ignore_it(tmp_path):
    write(tmp_path / "fleet.yaml", b"\xef\xbb\xbfagentz: {}\nagents:\n  a:\n    regionx: us\n    backups: [a2]\n"
                                   b"  a2:\n    backups: [a]\n")
    proc = run_cli(tmp_path, "validate", "--format", "json", "fleet.yaml")
    hits = assert_finding(proc, "S001", "fleet.yaml")
    assert [(h["line"], h["column"]) for h in hits] == [(1, 1), (4, 5)]


def test_folder_without_yaml_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "notes.txt", "not a fleet")
    line = assert_refused(run_cli(tmp_path, "validate", "empty"), "empty")
    assert "no *.yaml" in line


def test_missing_path_is_refused(tmp_path):
    assert_refused(run_cli(tmp_path, "validate", "nope.yaml"), "nope.yaml")


def test_missing_path_among_good_ones_is_refused(tmp_path):
    write(tmp_path / "fleet.yaml", GOOD)
    assert_refused(run_cli(tmp_path, "validate", "fleet.yaml", "nope.yaml"), "nope.yaml")


def test_broken_symlink_is_refused(tmp_path):
    (tmp_path / "fleet.yaml").symlink_to(tmp_path / "gone.yaml")
    assert_refused(run_cli(tmp_path, "validate", "fleet.yaml"), "fleet.yaml")


def test_50_mb_file_is_refused_quickly(tmp_path):
    with open(tmp_path / "huge.yaml", "wb") as fh:
        fh.write(b"agents: {}\n# ")
        fh.write(b"x" * (50 * 1024 * 1024))
        fh.write(b"\n")
    line = assert_refused(run_cli(tmp_path, "validate", "huge.yaml", timeout=30), "huge.yaml")
    assert "limit" in line and "MiB" in line


def test_over_limit_stdin_is_refused(tmp_path):
    proc = run_cli(tmp_path, "validate", "-", "--stdin-filename", "fleet.yaml",
                   stdin=b"# " + b"x" * (17 * 1024 * 1024), timeout=30)
    assert "limit" in assert_refused(proc, "fleet.yaml")


def _deep_block(depth: int) -> str:
    # Compact nested block sequences (`- - - x`): block style, one line, linear size.
    return "agents:\n  deep:\n    x-nest:\n      " + "- " * depth + "leaf\n"


def _deep_block_mapping(depth: int) -> str:
    # Nested block mappings need one more column of indentation per level: quadratic size.
    return "".join(" " * i + "k:\n" for i in range(depth)) + " " * depth + "leaf\n"


def _deep_flow(depth: int) -> str:
    return "agents: " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("content", [_deep_block(10_000), _deep_block_mapping(2_000), _deep_flow(10_000)],
                         ids=["block-sequences-10000", "block-mappings-2000", "flow-10000"])
def test_deep_nesting_is_refused(tmp_path, content):
    write(tmp_path / "deep.yaml", content)
    line = assert_refused(run_cli(tmp_path, "validate", "deep.yaml", timeout=20), "deep.yaml")
    assert "nesting deeper than" in line


def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["lol0: &lol0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nagents:\n  a:\n    capabilities: *lol{levels}\n"


def test_alias_bomb_is_refused_without_expanding(tmp_path):
    write(tmp_path / "bomb.yaml", _billion_laughs())
    # A regression that expands the bomb must fail here, not hang the suite.
    proc = run_cli(tmp_path, "validate", "bomb.yaml", timeout=20)
    line = assert_refused(proc, "bomb.yaml")
    assert "aliases" in line


def test_alias_bomb_of_mappings_is_refused(tmp_path):
    keys = "abcdefghi"
    lines = ["m0: &m0 {" + ", ".join(f"{k}: lol" for k in keys) + "}"]
    for i in range(1, 10):
        lines.append(f"m{i}: &m{i} {{" + ", ".join(f"{k}: *m{i - 1}" for k in keys) + "}")
    write(tmp_path / "bomb.yaml", "\n".join(lines) + "\nagents:\n  a:\n    <<: *m9\n")
    assert "aliases" in assert_refused(run_cli(tmp_path, "validate", "bomb.yaml", timeout=20), "bomb.yaml")


def test_stdin_closed_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "clawctl.cli.main", "validate", "-"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=_env())
    # /dev/null is an empty stream: an empty document, not an error.
    assert proc.returncode == 1 and b"Y007" in proc.stdout and b"Traceback" not in proc.stderr


# -- usage errors (exit 2) --------------------------------------------------------------------------


@pytest.mark.parametrize("args, mentions", [
    (["validate", "--bogus", "fleet.yaml"], "--bogus"),
    (["validate", "--select", "ZZZ", "fleet.yaml"], "ZZZ"),
    (["validate", "--ignore", "Q9", "fleet.yaml"], "Q9"),
    (["validate", "--select", "Y,ZZZ", "fleet.yaml"], "ZZZ"),
    (["validate", "--format", "nope", "fleet.yaml"], "nope"),
    (["validate", "--fail-on", "info", "fleet.yaml"], "info"),
    (["validate", "--select"], "--select"),
    (["--bogus"], "--bogus"),
    (["no-such-command"], "no-such-command"),
], ids=["unknown-option", "select-unknown", "ignore-unknown", "select-list-unknown", "bad-format",
        "bad-fail-on", "missing-value", "unknown-global-option", "unknown-command"])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, mentions):
    write(tmp_path / "fleet.yaml", GOOD)
    line = assert_refused(run_cli(tmp_path, *args), None, code=2)
    assert mentions in line


def test_usage_errors_in_process(capsys, tmp_path):
    """The same funnel in-process: `main()` returns the code rather than exiting."""
    write(tmp_path / "fleet.yaml", GOOD)
    code, out, err = run_in_process(capsys, "validate", "--select", "ZZZ", str(tmp_path / "fleet.yaml"))
    assert code == 2 and out == ""
    assert "no rule code starts with `ZZZ`" in assert_one_error_line(err)


# -- stdin -----------------------------------------------------------------------------------------


def test_stdin_with_a_name(tmp_path):
    bad = GOOD.replace("region: us-east", "regionx: us-east")
    proc = run_cli(tmp_path, "validate", "-", "--stdin-filename", "fleet.yaml", "--format", "json",
                   stdin=bad.encode())
    (hit,) = assert_finding(proc, "S001", "fleet.yaml")
    assert (hit["line"], hit["column"]) == (3, 5)
    assert json.loads(_text(proc)[0])["files"] == ["fleet.yaml"]


def test_stdin_without_a_name(tmp_path):
    proc = run_cli(tmp_path, "validate", "-", stdin=b"- a\n")
    out, err = _text(proc)
    assert proc.returncode == 1 and err == ""
    assert "<stdin>" in out and "Y007" in out


def test_stdin_not_utf8_names_the_stdin_filename(tmp_path):
    proc = run_cli(tmp_path, "validate", "-", "--stdin-filename", "fleet.yaml", stdin=b"agents: caf\xe9\n")
    assert "offset 11" in assert_refused(proc, "fleet.yaml")


# -- output shapes and options (in-process) ---------------------------------------------------------

FINDING_KEYS = ["file", "line", "column", "end_line", "end_column", "code", "severity", "message", "path"]


def test_json_shape_matches_the_spec(capsys, tmp_path):
    fleet = write(tmp_path / "fleet.yaml", GOOD.replace("backups: [support_agent]", "backups: [suport_agent]"))
    code, out, err = run_in_process(capsys, "validate", "--format", "json", str(fleet))
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert list(doc) == ["schema_version", "files", "findings", "summary"]
    assert doc["schema_version"] == 1
    assert doc["files"] == [str(fleet)]
    assert list(doc["summary"]) == ["error", "warning", "info"]
    for f in doc["findings"]:
        assert list(f) == FINDING_KEYS
        assert f["severity"] in ("error", "warning", "info")
    (b001,) = [f for f in doc["findings"] if f["code"] == "B001"]
    assert b001["path"] == "$.agents.sales_agent.backups[0]"
    assert (b001["line"], b001["column"], b001["end_line"], b001["end_column"]) == (5, 15, 5, 27)
    assert b001["file"] == str(fleet)
    assert doc["summary"]["error"] == sum(f["severity"] == "error" for f in doc["findings"])


def test_json_path_of_loader_findings(capsys, tmp_path):
    fleet = write(tmp_path / "fleet.yaml", GOOD.replace("[email, website_chat]\n    backups: [support_agent]",
                                                        "[email, website_chat, NO]\n    backups: [support_agent]"))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", "--select", "Y", str(fleet))
    assert code == 0
    (hit,) = json.loads(out)["findings"]
    assert hit["code"] == "Y003"
    assert hit["path"] == "$.agents.sales_agent.channels[2]"
    assert (hit["line"], hit["column"]) == (4, 37)


WARNINGS_ONLY = GOOD.replace("channels: [email, website_chat]\n    backups: [support_agent]",
                             "channels: [email, website_chat, carrier_pigeon]\n    backups: [support_agent]")


def test_fail_on_warning(capsys, tmp_path):
    fleet = write(tmp_path / "fleet.yaml", WARNINGS_ONLY)
    code, out, _ = run_in_process(capsys, "validate", str(fleet))
    assert code == 0 and "A003" in out
    code, out, _ = run_in_process(capsys, "validate", "--fail-on", "warning", str(fleet))
    assert code == 1 and "A003" in out
    code, out, _ = run_in_process(capsys, "validate", "--fail-on", "error", str(fleet))
    assert code == 0


def _codes(out: str) -> set[str]:
    return {f["code"] for f in json.loads(out)["findings"]}


def test_select_and_ignore_with_prefixes(capsys, tmp_path):
    content = GOOD.replace("backups: [support_agent]", "backups: [suport_agent, carrier]").replace(
        "region: europe", "region: europe\n    start: 17:00")
    fleet = write(tmp_path / "fleet.yaml", content)
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", str(fleet))
    everything = _codes(out)
    assert {"B001", "S001", "Y003"} <= everything
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", "--select", "B", str(fleet))
    assert _codes(out) == {c for c in everything if c.startswith("B")}
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", "--select", "b001,y", str(fleet))
    assert _codes(out) == {"B001", "Y003"}
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", "--select", "B", "--select", "S",
                               str(fleet))
    assert _codes(out) == {c for c in everything if c[0] in "BS"}
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", "--ignore", "B,Y003", str(fleet))
    assert _codes(out) == {c for c in everything if not c.startswith("B") and c != "Y003"}
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", "--select", "Y", str(fleet))
    assert _codes(out) == {"Y003"} and code == 0  # a warning alone does not fail


def test_statistics(capsys, tmp_path):
    fleet = write(tmp_path / "fleet.yaml", GOOD.replace("backups: [support_agent]", "backups: [x1, x2]"))
    code, out, err = run_in_process(capsys, "validate", "--statistics", str(fleet))
    assert code == 1 and err == ""
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert ["2", "B001", "[error]", "unknown-backup"] in rows
    assert all(re.fullmatch(r"[A-Z]\d{3}", row[1]) for row in rows), rows
    code, out, _ = run_in_process(capsys, "validate", "--statistics", "--format", "json", str(fleet))
    stats = json.loads(out)
    assert stats["schema_version"] == 1
    assert {"code": "B001", "severity": "error", "count": 2} in stats["statistics"]


Y003_FLEET = """\
agents:
  support_eu:
    region: europe
    business_hours:
      timezone: Europe/London
      start: "09:00"{start_comment}
      end: 17:00{end_comment}
      days: [mon, tue, wed, thu, fri]
    backups: [support_us]
  support_us:
    region: us-east
    availability: 24/7
    backups: [support_eu]
"""


def test_inline_suppression(capsys, tmp_path):
    plain = write(tmp_path / "plain.yaml", Y003_FLEET.format(start_comment="", end_comment=""))
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", str(plain))
    assert _codes(out) == {"Y003"}
    quiet = write(tmp_path / "quiet.yaml", Y003_FLEET.format(start_comment="", end_comment="  # clawctl: ignore[Y003]"))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", "--fail-on", "warning", str(quiet))
    assert code == 0 and json.loads(out)["findings"] == []


def test_unused_suppression_is_c001(capsys, tmp_path):
    stale = write(tmp_path / "stale.yaml",
                  Y003_FLEET.format(start_comment="  # clawctl: ignore[Y003]", end_comment="  # clawctl: ignore[Y003]"))
    _, out, _ = run_in_process(capsys, "validate", "--format", "json", str(stale))
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("C001", 6)]
    assert findings[0]["column"] == 23  # the `#`


def test_github_actions_switches_the_default_format(capsys, tmp_path, monkeypatch):
    fleet = write(tmp_path / "fleet.yaml", Y003_FLEET.format(start_comment="", end_comment=""))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run_in_process(capsys, "validate", str(fleet))
    assert code == 0
    (line,) = out.splitlines()
    assert line.startswith(f"::warning file={fleet},line=7,col=12,")
    assert "title=Y003 yaml11-retype::" in line
    code, out, _ = run_in_process(capsys, "validate", "--format", "text", str(fleet))
    assert not out.startswith("::") and f"{fleet}:7:12: Y003" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    _, out, _ = run_in_process(capsys, "validate", str(fleet))
    assert not out.startswith("::")


def _run_on_a_terminal(cwd: Path, args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run the CLI with stdout and stderr on a pseudo-terminal, so colour would be on."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", *args], cwd=cwd, stdout=slave,
                            stderr=slave, stdin=subprocess.DEVNULL, env=_env({"TERM": "xterm-256color", **env}))
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO once the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_only_without_no_color(tmp_path):
    write(tmp_path / "fleet.yaml", Y003_FLEET.format(start_comment="", end_comment=""))
    code, raw = _run_on_a_terminal(tmp_path, ["validate", "fleet.yaml"], {})
    assert code == 0 and b"Y003" in raw
    assert b"\x1b[" in raw, "on a terminal the text format is coloured (else this test proves nothing)"
    code, raw = _run_on_a_terminal(tmp_path, ["--no-color", "validate", "fleet.yaml"], {})
    assert code == 0 and b"Y003" in raw and b"\x1b" not in raw
    code, raw = _run_on_a_terminal(tmp_path, ["validate", "fleet.yaml"], {"NO_COLOR": "1"})
    assert code == 0 and b"Y003" in raw and b"\x1b" not in raw


def test_no_ansi_when_piped(capsys, tmp_path):
    fleet = write(tmp_path / "fleet.yaml", Y003_FLEET.format(start_comment="", end_comment=""))
    _, out, err = run_in_process(capsys, "validate", str(fleet))
    assert "Y003" in out and "\x1b" not in out + err


# -- several files: one fleet or several -------------------------------------------------------------

SALES = "agents:\n  sales_us:\n    region: us-east\n    backups: [sales_eu]\n"
SALES_EU = "agents:\n  sales_eu:\n    region: europe\n    backups: [sales_us]\n"
NAMED = "metadata:\n  name: acme\n"


def test_files_with_one_name_merge_into_one_fleet(capsys, tmp_path):
    a = write(tmp_path / "a.yaml", NAMED + SALES)
    b = write(tmp_path / "b.yaml", NAMED + SALES_EU)
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(a))
    assert "B001" in _codes(out) and code == 1  # alone, the backup is unknown
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(a), str(b))
    assert code == 0 and "B001" not in _codes(out)
    assert json.loads(out)["files"] == [str(a), str(b)]


def test_unnamed_files_are_fleets_of_their_own(capsys, tmp_path):
    """A file without `metadata.name` is its own fleet: its backups do not resolve in another file."""
    a = write(tmp_path / "a.yaml", SALES)
    b = write(tmp_path / "b.yaml", SALES_EU)
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(a), str(b))
    assert code == 1
    assert sorted((f["code"], Path(f["file"]).name) for f in json.loads(out)["findings"]) == \
        [("B001", "a.yaml"), ("B001", "b.yaml")]


def test_staging_and_prod_with_the_same_agents_are_not_duplicates(capsys, tmp_path):
    """Pre-commit passes every changed fleet file at once: `staging.yaml` and `prod.yaml` define the
    same agents, and without a shared `metadata.name` that is no A001."""
    fleet = SALES + SALES_EU.replace("agents:\n", "")
    staging = write(tmp_path / "staging.yaml", fleet)
    prod = write(tmp_path / "prod.yaml", fleet.replace("us-east", "us-west"))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(staging), str(prod))
    assert code == 0, out
    assert json.loads(out)["findings"] == []
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(tmp_path))
    assert code == 0 and json.loads(out)["findings"] == []
    # Named alike, they say they are one fleet: then the same ids are duplicates.
    write(tmp_path / "staging.yaml", NAMED + fleet)
    write(tmp_path / "prod.yaml", NAMED + fleet)
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(staging), str(prod))
    assert code == 1 and [f["code"] for f in json.loads(out)["findings"]] == ["A001", "A001"]


def test_folder_is_walked_and_merged(capsys, tmp_path):
    write(tmp_path / "fleet" / "a.yaml", NAMED + SALES)
    write(tmp_path / "fleet" / "nested" / "b.yml", NAMED + SALES_EU)
    write(tmp_path / "fleet" / ".hidden" / "c.yaml", "not: [valid\n")
    write(tmp_path / "fleet" / "notes.txt", "ignored")
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(tmp_path / "fleet"))
    doc = json.loads(out)
    assert code == 0, doc
    assert [Path(f).name for f in doc["files"]] == ["a.yaml", "b.yml"]


def test_same_agent_in_two_files_is_a001(capsys, tmp_path):
    a = write(tmp_path / "a.yaml", NAMED + SALES)
    b = write(tmp_path / "b.yaml", NAMED + SALES_EU)
    c = write(tmp_path / "c.yaml", NAMED + SALES.replace("us-east", "us-west"))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(a), str(b), str(c))
    assert code == 1
    (hit,) = [f for f in json.loads(out)["findings"] if f["code"] == "A001"]
    assert hit["file"] == str(c) and str(a) in hit["message"]
    assert (hit["line"], hit["column"]) == (4, 3)


def test_different_metadata_names_are_separate_fleets(capsys, tmp_path):
    one = write(tmp_path / "one.yaml", "metadata:\n  name: one\n" + SALES + SALES_EU.replace("agents:\n", ""))
    two = write(tmp_path / "two.yaml", "metadata:\n  name: two\n" + SALES + SALES_EU.replace("agents:\n", ""))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(one), str(two))
    assert code == 0, out
    assert "A001" not in _codes(out)
    # ... and the same names make one fleet again.
    same = write(tmp_path / "same.yaml", "metadata:\n  name: one\n" + SALES)
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(one), str(same))
    assert code == 1 and "A001" in _codes(out)


def test_same_file_twice_is_read_once(capsys, tmp_path):
    a = write(tmp_path / "a.yaml", SALES + SALES_EU.replace("agents:\n", ""))
    code, out, _ = run_in_process(capsys, "validate", "--format", "json", str(a), str(a), str(tmp_path))
    assert code == 0 and json.loads(out)["files"] == [str(a)]


def test_no_path_means_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_in_process(capsys, "validate")
    assert code == 3 and out == ""
    assert "folder holds no" in assert_one_error_line(err, ".")
    write(tmp_path / "fleet.yaml", GOOD)
    code, out, _ = run_in_process(capsys, "validate", "--format", "json")
    assert code == 0 and json.loads(out)["files"] == ["fleet.yaml"]


def test_an_error_line_never_carries_terminal_escapes_from_a_path(cli):
    r = cli("validate", "/nowhere/x\x1b[2J\u202eevil.yaml")
    assert r.code == 3
    assert r.err == "clawctl: error: /nowhere/x\\x1b[2J\\u202eevil.yaml: no such file or folder\n"
