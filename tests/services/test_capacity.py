"""`clawctl capacity`: the answer for independent M/M/c groups is Erlang C's staffing answer; the search
is deterministic for a seed; --write keeps the file's comments; bad input is one line."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from clawctl.core.capacity import erlang
from clawctl.core.capacity.search import judge, search

EXP1 = {"distribution": "exponential", "mean": 1}
# two regions, each one agent taking one request type only: two independent M/M/c queues
LAMBDA = {"north": 8.0, "south": 2.0}
WAIT, TARGET = 0.5, 0.80


def _fleet(path, slots: dict[str, int]) -> str:
    total = sum(LAMBDA.values())
    doc = {
        "agents": {
            "north-a": {"region": "north", "channels": ["whatsapp"], "max_concurrent_conversations": slots["north"],
                        "service_time": EXP1},
            "south-a": {"region": "south", "channels": ["email"], "max_concurrent_conversations": slots["south"],
                        "service_time": EXP1},
        },
        "load_balancing": {"strategy": "least_conn"},
        "traffic": {"arrivals": {"rate": f"{total * 60:g}/min"},
                    "mix": [{"name": "chat", "share": LAMBDA["north"] / total, "channel": "whatsapp"},
                            {"name": "mail", "share": LAMBDA["south"] / total, "channel": "email"}],
                    "sla": {"wait": f"{WAIT}s"}},
    }
    # a comment to keep through --write
    path.write_text("# the capacity test's fleet\n" + yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _erlang_answer() -> dict[str, int]:
    out = {}
    for g, lam in LAMBDA.items():
        c = erlang.servers_needed(lam, 1.0, WAIT, TARGET)
        # the test is only fair when the answer is clear: well above the target at c, well below at c - 1
        assert erlang.share_within(c, lam, 1.0, WAIT) - TARGET > 0.04
        assert TARGET - erlang.share_within(c - 1, lam, 1.0, WAIT) > 0.04
        out[g] = c
    return out


def test_erlang_c_formulas_against_known_values():
    # Erlang C for a = 8 erlangs: c = 10 gives P(wait) 0.4092 (tables); B(1, a) = a / (1 + a)
    assert erlang.erlang_c(10, 8.0) == pytest.approx(0.40918, abs=5e-5)
    assert erlang.erlang_b(1, 3.0) == pytest.approx(0.75)
    assert erlang.erlang_c(5, 5.0) == 1.0 and erlang.share_within(5, 5.0, 1.0, 1.0) == 0.0
    assert erlang.servers_needed(0.0, 1.0, 1.0, 0.9) == 0


@pytest.mark.parametrize("today", [{"north": 2, "south": 1}, {"north": 30, "south": 12}], ids=["grow", "reduce"])
def test_independent_mmc_groups_get_the_erlang_c_staffing_answer(tmp_path, cli, today):
    fleet = _fleet(tmp_path / "fleet.yaml", today)
    args = ["capacity", fleet, "--sla", f"{TARGET * 100:g}% < {WAIT}s", "--vary", "slots", "--requests", "40000",
            "--replications", "4", "--workers", "2", "--format", "json", "--no-store"]
    if today["north"] > 10:
        args.append("--allow-reduce")
    run = cli(*args)
    assert run.code == 0, run.err
    got = run.json()
    needed = {g["group"]: g["needed"] for g in got["groups"]}
    assert needed == _erlang_answer()
    assert got["met"] is True
    for g in got["groups"]:
        assert g["sla_after"] >= TARGET and g["today"] == today[g["group"]]


def test_the_search_is_deterministic_for_a_seed_and_runner_independent(tmp_path, cli):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 6, "south": 2})
    base = ["capacity", fleet, "--requests", "5000", "--replications", "3", "--seed", "11", "--format", "json",
            "--no-store", "--sla", "80% < 0.5s"]
    a = cli(*base, "--workers", "1").json()
    b = cli(*base, "--workers", "2").json()
    for d in (a, b):
        d.pop("elapsed_s"), d.pop("runner")
    assert a == b


def test_write_keeps_comments_and_adds_slots(tmp_path, cli):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 4, "south": 2})
    out = tmp_path / "after.yaml"
    run = cli("capacity", fleet, "--requests", "8000", "--replications", "2", "--sla", "80% < 0.5s",
              "--write", str(out), "--format", "json", "--no-store")
    assert run.code == 0, run.err
    needed = {g["group"]: g["needed"] for g in run.json()["groups"]}
    text = out.read_text()
    assert text.startswith("# the capacity test's fleet\n")
    doc = yaml.safe_load(text)
    assert doc["agents"]["north-a"]["max_concurrent_conversations"] == needed["north"]
    assert doc["agents"]["south-a"]["max_concurrent_conversations"] == needed["south"]
    codes = lambda f: sorted(x["code"] for x in cli("validate", f, "--format", "json").json()["findings"])  # noqa: E731
    assert codes(str(out)) == codes(fleet)  # nothing new to lint


def test_vary_agents_adds_copies_of_the_groups_largest_agent(tmp_path, cli):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 3, "south": 3})
    out = tmp_path / "after.yaml"
    run = cli("capacity", fleet, "--vary", "agents", "--requests", "8000", "--replications", "2",
              "--sla", "80% < 0.5s", "--write", str(out), "--format", "json", "--no-store")
    assert run.code == 0, run.err
    north = next(g for g in run.json()["groups"] if g["group"] == "north")
    assert north["needed"] >= 3 and north["added_agents"] == [f"north-a-cap{i}" for i in range(1, north["needed"])]
    doc = yaml.safe_load(out.read_text())
    for name in north["added_agents"]:
        assert doc["agents"][name]["region"] == "north" and doc["agents"][name]["max_concurrent_conversations"] == 3


def test_the_run_is_recorded(tmp_path, cli):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 12, "south": 5})
    run = cli("capacity", fleet, "--requests", "3000", "--replications", "2", "--sla", "80% < 0.5s",
              "--format", "json")
    assert run.code == 0, run.err
    rid = run.json()["run_id"]
    hist = cli("history", "--format", "json").json()
    assert any(r["id"] == rid and r["kind"] == "capacity" for r in hist["runs"])


@pytest.mark.parametrize(("args", "message"), [
    (["--sla", "95 < 20s"], "write it as a share and a wait"),
    (["--sla", "100% < 20s"], "below 100%"),
    (["--sla", "95% < soon"], "not a duration"),
    (["--group-by", "planet"], "--group-by planet: one of region, domain, agent"),
    (["--vary", "cpus"], "--vary cpus: one of slots, agents"),
    (["--rate", "fast"], "--rate 'fast'"),
    (["--growth", "lots"], "--growth 'lots'"),
    (["--rate", "5/s", "--growth", "10%"], "not both"),
    (["--replications", "0"], "--replications must be between 1 and 1000"),
    (["--seed", "-1"], "--seed must be between 0"),
    (["--workers", "0"], "--workers 0: at least 1"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, cli, args, message):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 12, "south": 5})
    run = cli("capacity", fleet, "--requests", "1000", *args, "--no-store")
    assert run.code == 2, (run.out, run.err)
    assert message in run.err and run.err.count("\n") == 1


def test_an_unreadable_fleet_and_an_unreachable_scheduler(tmp_path, cli):
    run = cli("capacity", str(tmp_path / "missing.yaml"), "--no-store")
    assert run.code == 3 and run.err.count("\n") == 1
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 12, "south": 5})
    run = cli("capacity", fleet, "--scheduler", "tcp://127.0.0.1:9", "--no-store")
    assert run.code == 4 and "cannot reach the Dask scheduler" in run.err and run.err.count("\n") == 1


def test_search_unit_up_then_down_to_the_minimum():
    """The search alone, with a made-up SLA curve per group: share = 1 - 1/units (no noise)."""
    need = {"a": 7, "b": 3}
    calls = []

    def evaluate(cands):
        calls.append(len(cands))
        out = []
        for c in cands:
            runs = [{"groups": {g: (100, 100 if c[g] >= need[g] else 50, 1.0, 2.0) for g in c}, "fleet_sla": None}]
            out.append(judge(c, runs, 0.9))
        return out

    res = search({"a": 1, "b": 1}, evaluate, 0.9)
    assert res.answer == need
    res = search({"a": 40, "b": 1}, evaluate, 0.9)
    assert res.answer == need
    assert json.dumps(res.start) == '{"a": 40, "b": 1}'


def test_a_search_estimated_over_the_bound_is_refused_unless_forced(tmp_path, cli):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 12, "south": 5})
    run = cli("capacity", fleet, "--requests", "50000000", "--no-store")
    assert run.code == 2 and "this search would take about" in run.err and "--force" in run.err
    assert run.err.count("\n") == 1


@pytest.mark.parametrize(("where", "code", "message"), [
    ("missing/after.yaml", 3, "no such folder"),
    (".", 2, "a folder; name a file"),
])
def test_a_write_destination_that_cannot_be_written_is_refused_before_the_search(tmp_path, cli, where, code,
                                                                                 message):
    fleet = _fleet(tmp_path / "fleet.yaml", {"north": 4, "south": 2})
    before = (tmp_path / "fleet.yaml").read_text()
    run = cli("capacity", fleet, "--requests", "2000", "--replications", "2", "--sla", "80% < 0.5s",
              "--write", str(tmp_path / where), "--format", "json")
    assert run.code == code and message in run.err and run.err.count("\n") == 1
    assert run.out == "" and (tmp_path / "fleet.yaml").read_text() == before
    assert cli("history", "--format", "json").json()["runs"] == []  # nothing searched, nothing recorded


@pytest.mark.parametrize("text, expected", [
    ("95% < 20s", (0.95, 20.0)),
    ("95%<20s", (0.95, 20.0)),
    ("95 % <= 20 s", (0.95, 20.0)),
    ("p95 < 20s", (0.95, 20.0)),
    ("P99.9 < 2m", (0.999, 120.0)),
    ("p90 < 1 h 30 m", (0.9, 5400.0)),
])
def test_the_sla_reads_as_a_share_or_a_percentile_of_the_wait(text, expected):
    from clawctl.services.capacity import parse_sla

    assert parse_sla(text) == expected


@pytest.mark.parametrize("text, words", [
    ("p100 < 20s", "below 100%"),
    ("p0 < 20s", "above 0%"),
    ("p95 <", "write it as a share and a wait"),
    ("0.95 < 20s", "write it as a share and a wait"),
    ("p95 < 20 s 3", "`20 s 3` is not a duration"),
])
def test_a_bad_sla_is_one_usage_error(text, words):
    from clawctl.core.errors import UsageError
    from clawctl.services.capacity import parse_sla

    with pytest.raises(UsageError, match=re.escape(words)):
        parse_sla(text)


def _curve(share):
    """An evaluate() whose groups' SLA share is ``share(group, units)``; the fleet's is their minimum."""
    def evaluate(cands):
        out = []
        for c in cands:
            groups = {g: (1000, round(1000 * share(g, u)), 1.0, 2.0) for g, u in c.items()}
            runs = [{"groups": groups, "fleet_sla": min(w / m for m, w, _, _ in groups.values())}]
            out.append(judge(c, runs, 0.9))
        return out
    return evaluate


def test_a_group_that_more_units_do_not_help_ends_the_search_named():
    """b's requests wait for something its units do not give (flat at 40%): the search stops after a few
    steps without a gain instead of doubling until the fleet no longer fits in memory."""
    from clawctl.core.capacity.search import STALL

    res = search({"a": 2, "b": 2}, _curve(lambda g, u: min(1.0, u / 6) if g == "a" else 0.4), 0.9)
    assert res.answer is None and res.stuck == {"b": "no gain"}
    assert res.steps == STALL + 1
    assert max(e.units["b"] for e in res.evaluations) < 2 * 2 ** (STALL + 1)


def test_a_group_past_its_ceiling_ends_the_search_named():
    res = search({"a": 2, "b": 2}, _curve(lambda g, u: 1.0 if u >= 50 else u / 55), 0.9,
                 ceiling={"a": 100, "b": 20})
    assert res.answer is None and res.stuck == {"b": "ceiling"}
    assert all(e.units["b"] <= 20 for e in res.evaluations)


def test_a_slowly_rising_group_is_not_stuck():
    res = search({"a": 1}, _curve(lambda g, u: min(1.0, 0.3 + 0.02 * u)), 0.9)
    assert res.stuck == {} and res.answer == {"a": 30}


def test_a_group_waiting_for_its_business_hours_is_reported_not_grown_for_ever(tmp_path, cli):
    """South opens 30 minutes into the run: mail that arrives before then waits for it, whatever its size.
    The search stops on the group that does not gain, names it, exits 1, and writes nothing."""
    path = tmp_path / "fleet.yaml"
    _fleet(path, {"north": 12, "south": 5})
    doc = yaml.safe_load(path.read_text().split("\n", 1)[1])
    doc["agents"]["south-a"]["business_hours"] = {"timezone": "UTC", "days": ["mon"], "start": "00:30",
                                                   "end": "23:00"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "after.yaml"
    run = cli("capacity", str(path), "--requests", "40000", "--replications", "2", "--sla", "80% < 0.5s",
              "--format", "json", "--no-store", "--write", str(out))
    assert run.code == 1, run.err
    report = json.loads(run.out)
    assert report["met"] is False and not out.exists()
    assert any("group south levels off below the target" in n and "business hours" in n for n in report["notes"]), \
        report["notes"]
    south = next(g for g in report["groups"] if g["group"] == "south")
    assert south["needed"] is None and south["sla_today"] < 0.8
    assert report["candidates"] < 12  # a handful of steps, not a doubling until the memory bound


def test_a_group_levelling_off_below_the_target_is_stuck_and_one_levelling_off_above_it_is_not():
    import math

    below = search({"a": 2}, _curve(lambda g, u: 0.6 * (1 - math.exp(-u / 4))), 0.9)
    assert below.answer is None and below.stuck == {"a": "no gain"}
    above = search({"a": 2}, _curve(lambda g, u: 1 - math.exp(-u / 5)), 0.9)
    assert above.stuck == {} and above.answer == {"a": 12}  # 1 - e^(-12/5) = 0.909; at 11, 0.889
