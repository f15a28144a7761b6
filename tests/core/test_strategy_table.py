"""The strategy table (clawctl.core.sim.strategies) and everything that names a strategy agree: the
fleet model, the kernel's layout constants, the simulator's codes, the `choose` dispatch and
docs/simulation.md."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from clawctl.core.model import fleet_file as model
from clawctl.core.sim import layout as L
from clawctl.core.sim import routing, spec, strategies
from clawctl.core.sim.strategies import ALIASES, NAMES, TABLE

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_holds_the_fixed_codes():
    assert [(s.name, s.code) for s in TABLE] == [
        ("round_robin", 0), ("weighted_round_robin", 1), ("least_conn", 2), ("p2c", 3), ("random", 4),
        ("scored", 5), ("priority_weighted", 6),
    ]
    assert NAMES == tuple(s.name for s in TABLE)
    assert all(s.doc and "\n" not in s.doc for s in TABLE + ALIASES)
    assert strategies.strategy_list_text() == ("round_robin, weighted_round_robin, least_conn, p2c, random, "
                                               "scored, priority_weighted")


def test_the_aliases_keep_their_mapping():
    assert {a.name: (a.behaviour, a.runs_as, a.predictive) for a in ALIASES} == {
        "real_time_optimization": ("scored", "scored", False),
        "priority_weighted": ("priority_weighted", "priority_weighted", False),
        "predictive_distribution": ("predictive_distribution", "least_conn", True),
    }
    assert strategies.PREDICTIVE == {"predictive_distribution"}


def test_the_fleet_model_takes_its_names_from_the_table():
    assert model.STRATEGIES == NAMES
    assert typing.get_args(model.LoadBalancing.model_fields["strategy"].annotation) == NAMES
    assert model.LoadBalancing.model_fields["strategy"].default in NAMES
    assert model.ALGORITHM_NAMES == {a.name: a.behaviour for a in ALIASES}
    assert list(model.ALGORITHM_NAMES) == [a.name for a in ALIASES]


def test_layout_constants_and_spec_codes_match_the_table():
    for s in TABLE:
        assert getattr(L, s.constant) == s.code, s.name
        assert type(getattr(L, s.constant)) is int  # numba freezes module-level ints at compile time
    assert spec.ALL_STRATEGIES == NAMES
    expected = {s.name: s.code for s in TABLE}
    expected.update({a.name: strategies.BY_NAME[a.runs_as].code for a in ALIASES})
    assert spec.STRATEGY_CODES == expected
    assert list(spec.STRATEGY_CODES)[:len(NAMES)] == list(NAMES)


def test_the_model_does_not_import_numba_or_numpy():
    code = ("import sys, clawctl.core.model.fleet_file, clawctl.core.sim.strategies; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the choose dispatch --------------------------------------------------------------------------------


class State:
    """Five agents in the kernel's arrays, as ``choose`` reads them; agent 3 cannot serve type 0."""

    def __init__(self):
        weights, loads = [3, 1, 2, 1, 2], [2, 0, 3, 1, 2]
        n = len(weights)
        self.ag = np.zeros((n, L.N_AG), dtype=np.int64)
        self.ag[:, L.A_WEIGHT] = weights
        self.ag[:, L.A_AVAIL] = 1
        self.ag[:, L.A_CAP] = 10
        self.ag[:, L.A_LOAD] = loads
        self.ag[:, L.A_BUSY] = loads
        self.agf = np.zeros((n, L.N_AGF))
        self.agf[:, L.F_PERF] = [0.5, 0.6, 0.9, 0.7, 0.8]
        self.elig = np.ones((1, n), dtype=np.bool_)
        self.elig[0, 3] = False
        self.cap_match = np.ones((1, n))
        self.last_agent = np.full(4, -1, dtype=np.int64)
        self.last_agent[2] = 0
        self.weights4 = np.array([0.4, 0.3, 0.2, 0.1])
        self.excluded = np.zeros(n, dtype=np.bool_)
        self.cnt = np.zeros(L.N_CNT, dtype=np.int64)

    def args(self, cust, u1, u2):
        return (0, cust, u1, u2, self.ag, self.agf, self.elig, self.cap_match, self.last_agent, self.weights4,
                False, self.excluded, self.cnt)


DRAWS = [(-1, 0.1, 0.9), (2, 0.7, 0.2), (-1, 0.45, 0.45), (2, 0.95, 0.05), (-1, 0.3, 0.6), (1, 0.8, 0.99),
         (-1, 0.05, 0.5), (2, 0.6, 0.3), (-1, 0.2, 0.8), (3, 0.5, 0.1)]


def _run(call) -> tuple[list[int], State]:
    state = State()
    return [int(call(*state.args(*d))) for d in DRAWS], state


@pytest.mark.parametrize("strategy", TABLE, ids=lambda s: s.name)
def test_choose_dispatches_each_code_to_its_pick_function(strategy):
    via_choose, a = _run(lambda *args: routing.choose(strategy.code, *args))
    direct, b = _run(strategy.pick_function)
    assert via_choose == direct
    assert np.array_equal(a.ag, b.ag) and np.array_equal(a.cnt, b.cnt)  # the same SWRR weights and RR pointer
    assert 3 not in direct  # never the agent that is not eligible


def test_the_pick_functions_differ_on_the_dispatch_state():
    # so the dispatch test above would catch a code sent to another strategy's function
    picks = {s.pick: _run(s.pick_function)[0] for s in TABLE}
    assert len({tuple(p) for p in picks.values()}) == len(picks), picks
    assert all(hasattr(getattr(routing, s.pick), "py_func") for s in TABLE)  # numba functions


# --- docs/simulation.md ---------------------------------------------------------------------------------


def _doc_rows() -> dict[str, str]:
    text = (ROOT / "docs" / "simulation.md").read_text()
    section = text.split("\n## Strategies\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            name, doc = line.strip("|").split("|", 1)
            rows[name.strip().strip("`")] = doc.strip().rstrip("|").strip()
    return rows


def _doc_aliases() -> dict[str, str]:
    text = (ROOT / "docs" / "simulation.md").read_text()
    section = text.split("- **Names from `load_balancing_strategy.algorithms`**", 1)[1]
    bullets: dict[str, str] = {}
    name = None
    for line in section.splitlines()[1:]:
        if line.startswith("  - `"):
            name = line.split("`")[1]
            bullets[name] = line.split("`", 2)[2].strip()
        elif line.startswith("    ") and name:
            bullets[name] += " " + line.strip()
        else:
            break
    return bullets


def test_the_docs_table_lists_every_strategy_with_its_doc():
    rows = _doc_rows()
    assert list(rows) == list(NAMES)
    for s in TABLE:
        assert rows[s.name] == s.doc, s.name


def test_the_docs_list_every_alias_and_what_it_runs_as():
    bullets = _doc_aliases()
    assert list(bullets) == [a.name for a in ALIASES]
    for a in ALIASES:
        assert f"`{a.runs_as}`" in bullets[a.name], a.name
        assert bullets[a.name].startswith(a.doc.split(",")[0].rstrip(".")), a.name


def test_the_unknown_strategy_rule_lists_every_strategy_of_the_table():
    from clawctl.core.lint.catalogue import all_rules

    doc = " ".join(all_rules()["L002"].doc.split())
    for name in strategies.NAMES:
        assert name in doc, name
