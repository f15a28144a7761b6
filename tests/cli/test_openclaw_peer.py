"""OpenClaw's own validator as a peer: `OPENCLAW_CONFIG_PATH=FILE openclaw config validate --json` (openclaw
2026.9.6 from npm, tests/openclaw_gateway.py) on every openclaw.json under tests/fixtures, beside
`clawctl validate` on the same fixture.

- clawctl flags everything OpenClaw flags, at the same JSON paths (one a prefix of the other: OpenClaw
  reports a roster problem at ``agents.entries``, clawctl at the agent's ``agentDir``; an old-shape
  ``agents.list[i]`` is compared as ``agents.entries.<id>``, the shape OpenClaw migrates it to);
- where OpenClaw accepts a config, clawctl raises nothing but what OpenClaw does not look at
  (:data:`OPENCLAW_BLIND`): a shadowed binding, a port or state directory shared by two configs, ...;
- where clawctl raises an error OpenClaw also checks, OpenClaw refuses the config;
- what neither can read (tests/fixtures/openclaw/bad) both refuse.

No npm, or an install that fails (offline): skipped, saying why; with ``CI`` set: failed. Each run uses a
state folder of its own, so a gateway another test runs is not disturbed. ~2 s per file, two at a time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clawctl.adapters.openclaw_files import read_config
from clawctl.core.errors import InputError
from clawctl.core.findings import Severity
from clawctl.services.validate import validate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# O rules about what `openclaw config validate` does not check: on a config it accepts, only these may show.
OPENCLAW_BLIND = {"O003", "O004", "O008", "O010", "O012", "O013"}


def _units() -> list[Path]:
    """The fixtures linted as one run: a rule fixture folder (pass/, fail/), or a folder of tests/fixtures/openclaw."""
    units = sorted({p.parent for p in (FIXTURES / "rules").glob("O*/*/openclaw.json")}
                   | {p.parents[1] for p in (FIXTURES / "rules").glob("O*/*/*/openclaw.json")})
    units += sorted(p.parent for p in (FIXTURES / "openclaw").rglob("openclaw.json"))
    return units


UNITS = _units()
CONFIGS = [c for u in UNITS for c in sorted(u.rglob("openclaw.json"))]


@pytest.fixture(scope="module")
def peer():
    """OpenClaw's verdict on every fixture config: ``{path: {"valid": bool, "issues": [...], ...}}``. Each run's
    state folder (~10 MB: OpenClaw sets up its state even to validate) is removed as soon as it is done."""
    import openclaw_gateway as og  # tests/openclaw_gateway.py (tests/ is on sys.path through its conftest)

    try:
        inst = og.install()
    except og.Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"openclaw CLI unavailable under CI: {exc}", pytrace=False)
        pytest.skip(f"openclaw CLI unavailable, so no peer comparison: {exc}")
    base = Path(tempfile.mkdtemp(prefix="clawctl-oc-peer-"))

    def run(index_config: tuple[int, Path]) -> tuple[Path, dict]:
        index, config = index_config
        folder = base / f"run{index}"
        env = og.gateway_env(folder, inst.node)
        env["OPENCLAW_CONFIG_PATH"] = str(config)
        try:
            proc = subprocess.run([str(inst.node), str(inst.openclaw), "config", "validate", "--json"], env=env,
                                  cwd=folder, capture_output=True, text=True, timeout=180, check=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        text = proc.stdout
        try:
            verdict = json.loads(text[text.index("{"):])
        except ValueError:
            pytest.fail(f"openclaw config validate --json on {config}: no JSON (exit {proc.returncode}): "
                        f"{proc.stdout[-500:]} {proc.stderr[-500:]}")
        return config, verdict

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            yield dict(pool.map(run, enumerate(CONFIGS)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- comparing paths ------------------------------------------------------------------------------------------
_UNRECOGNIZED = re.compile(r'^Unrecognized keys?: (.*)$')


def peer_paths(issue: dict) -> list[tuple[str, ...]]:
    """The JSON path(s) an OpenClaw issue is about: ``bindings.1.agentId`` -> ('bindings', '1', 'agentId');
    ``<root>`` is the top; `Unrecognized keys: "a", "b"` at P is about P.a and P.b."""
    base = () if issue["path"] in ("<root>", "") else tuple(issue["path"].split("."))
    m = _UNRECOGNIZED.match(issue["message"])
    if m:
        return [(*base, key) for key in re.findall(r'"([^"]+)"', m.group(1))]
    return [base]


def our_paths(finding, config) -> list[tuple[str, ...]]:
    """A finding's path, and for the old roster shape the same path in the shape OpenClaw migrates it to."""
    path = tuple(str(p) for p in finding.path)
    out = [path]
    if path[:2] == ("agents", "list") and len(path) >= 3:
        agent = next((a for a in config.agents if a.pointer == f"/agents/list/{path[2]}"), None)
        if agent is not None:
            out.append(("agents", "entries", agent.id, *path[3:]))
    return out


def related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _ours(unit: Path):
    """clawctl's findings on a fixture, by the config each belongs to (None when clawctl refuses it)."""
    try:
        report = validate([str(unit)])
    except InputError as exc:
        return None, str(exc)
    by_config = {}
    for config_path in sorted(unit.rglob("openclaw.json")):
        config = read_config(str(config_path))
        files = {os.path.realpath(f.path) for f in config.source.files}
        by_config[config_path] = (config, [f for f in report.findings if os.path.realpath(f.file) in files])
    return by_config, None


# -- the comparison ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("unit", UNITS, ids=[str(u.relative_to(FIXTURES)) for u in UNITS])
def test_clawctl_agrees_with_openclaw_config_validate(peer, unit):
    ours, refusal = _ours(unit)
    if ours is None:  # tests/fixtures/openclaw/bad: clawctl cannot read it, and neither can OpenClaw
        for config in unit.rglob("openclaw.json"):
            assert peer[config]["valid"] is False, (config, refusal)
            assert any(i["path"] == "<root>" for i in peer[config]["issues"]), peer[config]
        return
    for config_path, (config, findings) in ours.items():
        verdict = peer[config_path]
        errors = [f for f in findings if f.severity == Severity.ERROR]
        mine = [(f, p) for f in errors for p in our_paths(f, config)]
        for issue in verdict.get("issues", []):
            for path in peer_paths(issue):
                assert any(related(path, p) for _, p in mine), \
                    f"{config_path}: OpenClaw flags {'.'.join(path) or '<root>'} ({issue['message'][:120]}); " \
                    f"clawctl: {[(f.code, f.path) for f in findings]}"
        if verdict["valid"]:
            extra = {f.code for f in findings} - OPENCLAW_BLIND
            assert not extra, f"{config_path}: OpenClaw accepts it, clawctl raises {sorted(extra)}"
        checked = [f.code for f in errors if f.code not in OPENCLAW_BLIND]
        if checked:
            assert verdict["valid"] is False, f"{config_path}: clawctl raises {checked}, OpenClaw accepts it"


def test_every_pass_fixture_is_valid_for_openclaw_and_clean_for_clawctl(peer):
    for config in CONFIGS:
        if "/pass/" in str(config):
            assert peer[config]["valid"] is True, (config, peer[config])
            assert validate([str(config)]).findings == [] or config.parent.name in ("main", "rescue")


@pytest.mark.parametrize("code", sorted(OPENCLAW_BLIND))
def test_clawctl_finds_what_openclaw_misses(peer, code):
    """On each of these fail fixtures OpenClaw says valid; clawctl raises the rule."""
    unit = FIXTURES / "rules" / code / "fail"
    assert all(peer[c]["valid"] is True for c in unit.rglob("openclaw.json"))
    assert code in {f.code for f in validate([str(unit)]).findings}


def test_the_peer_is_the_pinned_openclaw(peer):
    import openclaw_gateway as og

    assert og.OPENCLAW_VERSION == "2026.9.6"  # the channel list and messages above are this version's
    assert len(peer) == len(CONFIGS) >= 40
