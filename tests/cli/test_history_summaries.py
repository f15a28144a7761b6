"""`clawctl history` text: one readable line per run, whatever its kind, and the kinds listed from one tuple.

The runs are real: applies, simulations, sweeps, capacity searches and simulated drills run in-process;
live traffic and a `top` recording run against reference agents on 127.0.0.1."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from clawctl.adapters.agent_server import AgentServer
from clawctl.adapters.store_schema import RUN_KINDS
from clawctl.render.store import history as render_history
from clawctl.services.agent_serve import ServeOptions, build
from clawctl.services.store_views import history as runs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "multi-region.yaml")
SCALE = 0.02


def live_fleet(base: str | None) -> str:
    lines = ["apiVersion: clawctl/v1", "kind: Fleet", "metadata: {name: history-live}",
             "monitoring: {interval: 0.25s, breach_after: 1}", "traffic:", "  arrivals: {rate: 5/s}", "agents:"]
    for name in ("a", "b"):
        lines += [f"  {name}:", "    availability: 24/7", "    channels: [email]", "    max_concurrent_conversations: 4",
                  "    service_time: {distribution: deterministic, mean: 1s}"]
        if base is not None:
            lines.append(f"    endpoint: {base}/agents/{name}")
    return "\n".join(lines) + "\n"


def summaries(cli) -> dict[str, str]:
    """{kind: the SUMMARY cell of its newest run} from the text view."""
    out = cli("history").out.splitlines()
    header = out[0]
    at = header.index("SUMMARY")
    got: dict[str, str] = {}
    for line in out[1:]:
        kind = line.split()[1]
        got.setdefault(kind, line[at:].rstrip())
    return got


def test_each_run_kind_has_a_one_line_human_summary(cli, tmp_path, agent_servers):
    assert cli("apply", EXAMPLE).code == 0
    assert cli("simulate", EXAMPLE, "--requests", "2000", "--strategy", "least_conn").code == 0
    assert cli("simulate", EXAMPLE, "--requests", "1000", "--compare").code == 0
    assert cli("simulate", EXAMPLE, "--requests", "1000", "--sweep", "strategy=least_conn,p2c",
               "--replications", "2", "--workers", "1").code == 0
    cap = cli("capacity", EXAMPLE, "--requests", "2000", "--replications", "2", "--workers", "1")
    assert cap.code in (0, 1), cap.err
    drill = cli("failover", "drill", EXAMPLE, "--agent", "us_sales", "--mode", "sim")
    assert drill.code in (0, 1), drill.err

    plain = tmp_path / "serve.yaml"
    plain.write_text(live_fleet(None))
    agents, tokens = build(ServeOptions(None, fleet=str(plain), seed=3, all_agents=True, time_scale=SCALE))
    base = agent_servers(AgentServer(agents, tokens=tokens, many=True))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(live_fleet(base))
    sent = cli("traffic", str(fleet), "--requests", "40", "--time-scale", str(SCALE))
    assert sent.code == 0, sent.err
    top = cli("top", str(fleet), "--count", "2", "--format", "jsonl")
    assert top.code == 0, top.err

    got = summaries(cli)
    assert set(got) == set(RUN_KINDS)
    assert got["apply"] == "version 1: 14 added, 0 changed, 0 removed"
    assert re.fullmatch(r"7 strategies, 1,000 requests, SLA .+", got["sim"]), got["sim"]
    assert "schema_version" not in got["sim"] and "=" not in got["sim"]
    assert got["sweep"] == "2 points (strategy), 2 replications each, 4 simulations"
    assert re.fullmatch(r"SLA (met|not met), \d+ of 3 groups changed(: .+ slots)?", got["capacity"]), got["capacity"]
    assert re.fullmatch(r"agent us_sales \(sim\): (passed|failed), \d of 3 objectives met", got["drill"]), got["drill"]
    assert re.fullmatch(r"least_conn: 40 sent, \d+ served, 0 errors", got["traffic"]), got["traffic"]
    assert got["metrics"] == "2 agents, 2 cycles, every 0.25s from probe"
    one = cli("history", "--kind", "sim", "--limit", "2").out.splitlines()
    assert re.search(r"least_conn, 2,000 requests, SLA \d+\.\d%$", one[2].rstrip()), one
    for line in cli("history").out.splitlines():
        assert len(line) < 200, line  # no raw dump of agents and thresholds


def test_summaries_are_cut_to_the_terminal_width(cli, tmp_path):
    cli("apply", EXAMPLE)
    assert cli("simulate", EXAMPLE, "--requests", "1000", "--compare").code == 0
    result = runs(cli.db)
    env = cli("store", "path").env  # an Env of this store; its console is made narrow below
    out = io.StringIO()
    env.consoles["stdout"] = Console(file=out, width=80, no_color=True, soft_wrap=False)
    render_history(result, env)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 2  # one line per run
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[1].rstrip().endswith("…")  # the sim's summary, cut


def test_a_filter_that_matches_nothing_says_so(cli):
    assert cli("history").out == "no runs recorded yet\n"
    cli("apply", EXAMPLE)
    assert cli("history", "--kind", "sim").out == "no runs match --kind sim\n"
    assert cli("history", "--fleet", "nope", "--kind", "apply").out == "no runs match --kind apply --fleet nope\n"
    assert cli("history", "--format", "json", "--kind", "sim").json() == {"schema_version": 1, "runs": []}


def test_an_older_or_unknown_summary_still_gets_one_short_line():
    from clawctl.render.store import run_summary

    assert run_summary("sim", {"schema_version": 1, "results": "odd"}) == "results=odd"
    assert run_summary("drill", {}) == "-"
    assert run_summary("metrics", {"interval": 1.0, "agents": [["a", None, None]]}) == \
        "1 agent, every 1s from probe, no cycle count yet"


def test_history_help_and_docs_list_every_run_kind(cli):
    import typer.main

    from clawctl.cli.app import app

    history = typer.main.get_command(app).commands["history"]
    (kind,) = [p for p in history.params if "--kind" in getattr(p, "opts", ())]
    assert kind.help == f"Only runs of this kind: {', '.join(RUN_KINDS)}."  # what `history --help` shows
    bad = cli("history", "--kind", "bogus")
    assert bad.code == 2 and bad.err == f"clawctl: error: --kind bogus: use one of {', '.join(RUN_KINDS)}\n"
    cli_md = (ROOT / "docs" / "cli.md").read_text()
    section = cli_md.split("\n## history", 1)[1].split("\n## ", 1)[0]
    assert f"[--kind {'|'.join(RUN_KINDS)}]" in " ".join(section.split())
    store_md = " ".join((ROOT / "docs" / "store.md").read_text().split())
    assert f"[--kind {'|'.join(RUN_KINDS)}]" in store_md


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_every_kind_has_its_own_summary(kind):
    from clawctl.render.store import _BRIEFS

    assert kind in _BRIEFS
