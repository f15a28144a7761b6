"""Terminal injection: text that came from a fleet file or an agent never reaches a terminal raw.

ESC, BEL, CR, LF, DEL, C1 controls and bidirectional or other invisible format characters can forge
or hide lines. Every text view escapes them (clawctl/render/safe.py); JSON and SARIF escape them as
JSON does, JUnit as XML character references, GitHub annotations percent-encode CR and LF and escape
the rest. Each test looks at the bytes actually written, through the real CLI where one exists.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from clawctl.cli.main import run
from clawctl.core.env import Env
from clawctl.core.probe import AgentMetrics, Verdict
from clawctl.render.output import render
from clawctl.render.safe import escape_char, is_safe, safe_with_columns, terminal_safe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "terminal"
KEYS = FIXTURES / "keys.yaml"
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)

# What must never be written raw: controls, separators, format characters (bidi among them).
UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
HOSTILE = "a\x1b[2J\x1b[Hb\x07c\rd\ne\tf\x7fg\x9bh\u202ei\u2066j\u200fk\u061cl\u2028m\ufeffn\x00o"


def unsafe_in(text: str, *, allow: str = "\n") -> list[str]:
    """The characters of ``text`` a terminal would act on (besides the ones in ``allow``)."""
    return sorted({ch for ch in text if unicodedata.category(ch) in UNSAFE_CATEGORIES and ch not in allow})


def without_sgr(text: str) -> str:
    """``text`` without the colour sequences rich writes itself (ESC [ ... m)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# -- the escaping function ----------------------------------------------------------------------------

def test_every_control_separator_and_format_character_is_escaped():
    """Checked against this Python's Unicode database, code point by code point."""
    missed = [hex(cp) for cp in range(sys.maxunicode + 1)
              if unicodedata.category(chr(cp)) in UNSAFE_CATEGORIES and is_safe(chr(cp))]
    assert missed == []


def test_escapes_are_visible_and_named():
    assert terminal_safe("\x1b[31mred") == "\\x1b[31mred"
    assert terminal_safe("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert terminal_safe("\u202eevil\u2069") == "\\u202eevil\\u2069"
    assert terminal_safe("\U000e0041") == "\\U000e0041"
    assert terminal_safe("\x7f\x85") == "\\x7f\\x85"


def test_ordinary_text_is_left_alone():
    text = "sales_us: région 東京 Ελλάδα emoji \U0001f600 `code` \\x1b (already a backslash)"
    assert terminal_safe(text) is text or terminal_safe(text) == text
    assert is_safe(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_any_text_comes_out_safe_and_columns_map(text):
    out = terminal_safe(text)
    assert unsafe_in(out, allow="") == []
    shown, starts = safe_with_columns(text)
    assert shown == out
    assert len(starts) == len(text) + 1 and starts[-1] == len(out)
    for i, ch in enumerate(text):
        piece = out[starts[i]:starts[i + 1]]
        assert piece == (ch if is_safe(ch) else escape_char(ch))


# -- validate: text ----------------------------------------------------------------------------------

def _validate(cli, *args: str):
    result = cli("validate", *args)
    assert result.code in (0, 1), result.err
    return result


def test_validate_text_escapes_keys_values_comments_and_messages(cli):
    raw = KEYS.read_text(encoding="utf-8")
    assert "\x1b" in raw and "\u202e" in raw and "\u2066" in raw  # the fixture holds raw controls
    result = _validate(cli, str(KEYS))
    assert unsafe_in(result.out) == []
    assert unsafe_in(result.err) == []
    out = result.out
    # The forged "All checks passed" stays inside the escaped key, on the finding's line.
    forged = [line for line in out.splitlines() if "All checks passed" in line]
    assert [line.split(" ", 1)[0] for line in forged] == [f"{KEYS}:4:3:", "4"]  # the headline and the frame
    assert "\\x1b[2J\\x1b[H\\rAll checks passed" in forged[0]  # the message: the key, escaped
    assert '"sales\\e[2J\\e[H\\rAll checks passed' in forged[1]  # the frame: the source as written
    assert "regi\\u202eon_typo" in out  # a raw bidi control in a key, in the message and the frame
    assert "\\x1b[31mred\\x1b[0m and a bell \\x07" in out  # a comment shown as the line before a frame
    assert "whats\\u2066app\\u2069" in out
    assert "\\x1b]8;;http://evil.example/\\x07link" in out  # an OSC 8 hyperlink, shown not followed


def test_validate_text_carets_stay_under_escaped_text(cli):
    out = _validate(cli, str(KEYS)).out.splitlines()
    i = out.index("9 |     regi\\u202eon_typo: x")
    assert out[i + 1] == "  |     " + "^" * len("regi\\u202eon_typo") + " S001"
    frame = [n for n, line in enumerate(out) if line.startswith("10 |")]
    caret = out[frame[0] + 1]
    start = caret.index("^") - len("   | ") + len("10 | ")
    assert out[frame[0]][start:start + caret.count("^")] == '"whats\\u2066app\\u2069"'


def test_validate_text_escapes_file_names(cli, tmp_path):
    evil = tmp_path / "fleet\x1b[31m\u202e.yaml"
    evil.write_text("agents:\n  sales_us:\n    region: us-east\n    regoin: x\n", encoding="utf-8")
    result = _validate(cli, str(evil))
    assert unsafe_in(result.out) == [] and "fleet\\x1b[31m\\u202e.yaml:4:5: S001" in result.out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_validate_text_on_a_colour_terminal_writes_only_its_own_escapes():
    """With colour, rich draws the text; the only ESC bytes left are rich's own colour sequences."""
    env = Env(stdout=_Terminal(), stderr=io.StringIO(), clock=lambda: NOW, environ={"TERM": "xterm-256color"})
    code = run(["validate", str(KEYS)], env)
    out = env.stdout.getvalue()
    assert code == 1 and "\x1b[" in out, "colour was not on: this test would prove nothing"
    assert unsafe_in(without_sgr(out)) == []
    assert "\\x1b[2J" in without_sgr(out)


# -- validate: the machine formats ------------------------------------------------------------------

def test_json_escapes_and_keeps_the_data(cli):
    out = _validate(cli, "--format", "json", str(KEYS)).out
    assert unsafe_in(out) == [] and out.isascii()
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert any("sales\x1b[2J\x1b[H\rAll checks passed" in m for m in messages)  # the JSON string is exact


def test_sarif_escapes_and_keeps_the_data(cli):
    out = _validate(cli, "--format", "sarif", str(KEYS)).out
    assert unsafe_in(out) == [] and out.isascii()
    results = json.loads(out)["runs"][0]["results"]
    assert any("regi\u202eon_typo" in r["message"]["text"] for r in results)


def test_junit_escapes_and_keeps_the_data(cli):
    out = _validate(cli, "--format", "junit", str(KEYS)).out
    assert unsafe_in(out) == []  # LF only: XML's own line breaks
    assert "&#x202E;" in out and "&#xD;" in out
    root = ET.fromstring(out.split("\n", 1)[1])
    messages = [f.get("message") for f in root.iter("failure")]
    assert any("regi\u202eon_typo" in m for m in messages)  # an XML reader gets the character back
    assert any("\rAll checks passed" in m for m in messages)


def test_github_annotations_escape_controls(cli):
    out = _validate(cli, "--format", "github", str(KEYS)).out
    assert unsafe_in(out) == []
    lines = out.splitlines()
    assert all(line.startswith("::") for line in lines)  # no forged line, no forged workflow command
    (v007,) = [line for line in lines if "V007" in line]
    assert "sales\\x1b[2J\\x1b[H%0DAll checks passed: 1 file, no findings.%0A\\x07" in v007


# -- probe, lab, store: tables of what agents and the store say ---------------------------------------

def _env() -> Env:
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: NOW, environ={"NO_COLOR": "1"})


def test_probe_table_escapes_agent_answers():
    from clawctl.adapters.prober import ProbeResult
    from clawctl.services.probe import ProbeReport

    results = [
        ProbeResult("sales_us", Verdict("degraded", detail="failing: " + HOSTILE, failing=[HOSTILE]),
                    metrics=AgentMetrics(active_conversations=1, max_conversations=4), latency_ms=1.5),
        ProbeResult("evil\x1b[2Jid", Verdict("down", detail="refused"), metrics_error="\x1b]0;title\x07"),
    ]
    report = ProbeReport("acme", NOW, results, notes={"ghost\u202e": "not probed\r\nFAKE ready"})
    env = _env()
    render(report, "text", env)
    out = env.stdout.getvalue()
    assert unsafe_in(out) == []
    assert "\\x1b[2J\\x1b[Hb\\x07c\\rd\\ne" in out and "evil\\x1b[2Jid" in out
    assert "ghost\\u202e: not probed: not probed\\r\\nFAKE ready" in out


def test_lab_table_escapes_what_it_shows():
    from clawctl.services.lab import LabAgent, LabResult

    result = LabResult("acme\x1b[31m", verb="up", agents=[
        LabAgent("sales_us", 4242, "http://127.0.0.1:1/\x07", state="running", detail=HOSTILE, fleet="acme\u202e")],
        started=["sales_us"], log_dir="/tmp/lab/\x1b[2J")
    env = _env()
    render(result, "text", env)
    out = env.stdout.getvalue()
    assert unsafe_in(out) == []
    assert "acme\\u202e" in out and "logs in /tmp/lab/\\x1b[2J" in out


class _Hostile(BaseHTTPRequestHandler):
    """An agent whose readiness and metrics answers try to take over the terminal."""

    def do_GET(self) -> None:  # the http.server hook
        if self.path.startswith("/readyz"):
            body = json.dumps({"ready": False, "failing": [HOSTILE, "\x1b[2K\rsales_us  ready"]}).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
        else:
            body = b"# \x1b[31m\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_probe_through_the_cli_against_a_hostile_agent(cli, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text("agents:\n  sales_us:\n    region: us-east\n    availability: 24/7\n"
                         f"    endpoint: http://127.0.0.1:{port}\n", encoding="utf-8")
        result = cli("probe", str(fleet))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert result.code != 70, result.err
    assert "sales_us" in result.out
    assert unsafe_in(result.out) == [] and unsafe_in(result.err) == []
    assert not any(line.lstrip().startswith("sales_us  ready") for line in result.out.splitlines())


def test_store_views_escape_stored_strings(cli, tmp_path):
    """A file name (the fleet name of an unnamed file) and a region with controls, through apply,
    `agents list` and `history`."""
    fleet = tmp_path / "evil\x1b[31m.yaml"
    fleet.write_text('agents:\n  sales_us:\n    region: "us\\e[2J\\u202eeast"\n    availability: 24/7\n',
                     encoding="utf-8")
    applied = cli("apply", str(fleet))
    assert applied.code == 0, applied.out + applied.err
    listed = cli("agents", "list")
    history = cli("history")
    for result in (applied, listed, history):
        assert result.code == 0
        assert unsafe_in(result.out) == [] and unsafe_in(result.err) == []
    assert "fleet evil\\x1b[31m: applied" in applied.out
    assert "us\\x1b[2J\\u202eeast" in listed.out
    assert "evil\\x1b[31m" in history.out
    assert json.loads(cli("agents", "list", "--format", "json").out)  # JSON still holds the data
