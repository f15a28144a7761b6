"""The load-balancing strategies: one table that the fleet model, the linter, the simulator and the
docs all derive from (pure Python).

This module imports neither numba nor numpy: the fleet model and the linter import it, and
`clawctl validate` must not pay for the simulator's imports. The numba pick function of a strategy
is named here and resolved only when asked for (``Strategy.pick_function`` imports routing).

Each strategy has an integer code, which the simulation kernel receives; the codes are fixed
(0 to 6, in table order) and ``clawctl.core.sim.layout`` takes its constants from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Strategy:
    """One `load_balancing.strategy` value."""

    name: str
    code: int  # what the kernel receives
    constant: str  # the name of the code in clawctl.core.sim.layout
    pick: str  # the name of its numba pick function in clawctl.core.sim.routing
    doc: str  # one line, as in the strategy table of docs/simulation.md

    @property
    def pick_function(self):
        """The numba function that picks an agent for this strategy (imports routing, so numba)."""
        from clawctl.core.sim import routing

        return getattr(routing, self.pick)


@dataclass(frozen=True)
class Alias:
    """A `load_balancing_strategy.algorithms[].name` of the descriptive form."""

    name: str
    behaviour: str  # what the fleet model maps it to (a strategy name, or the alias itself)
    runs_as: str  # the strategy of the table whose code the kernel runs
    predictive: bool  # the engine activates drained agents ahead of forecast peaks
    doc: str  # one line


TABLE: tuple[Strategy, ...] = (
    Strategy("round_robin", 0, "RR", "pick_round_robin",
             "A pointer walks the agents in file order and takes the next usable one. Weights are ignored."),
    Strategy("weighted_round_robin", 1, "WRR", "pick_weighted_round_robin",
             "nginx smooth weighted round robin over the usable agents: each gains its weight, the highest "
             "current weight wins and loses the total."),
    Strategy("least_conn", 2, "LEAST", "pick_least_conn",
             "nginx `least_conn`: the usable agent with the fewest conversations per weight (compared by "
             "cross-multiplication). Ties go through smooth weighted round robin."),
    Strategy("p2c", 3, "P2C", "pick_p2c",
             "Envoy least-request: two uniform draws among the usable agents, with replacement. The second "
             "wins only with *strictly* fewer conversations, so ties go to the first. Unweighted."),
    Strategy("random", 4, "RANDOM", "pick_random",
             "One draw among the usable agents, with probability proportional to weight."),
    Strategy("scored", 5, "SCORED", "pick_scored",
             "A weighted score: capability match share × 0.4 + performance × 0.3 + (1 − conversations / "
             "capacity) × 0.2 + customer history × 0.1. The weights come from `load_balancing.scoring`; "
             "the highest score wins and ties go to the first in file order."),
    Strategy("priority_weighted", 6, "PRIORITY", "pick_least_conn",
             "Routes like `least_conn`. The central queue serves high before normal before low."),
)

ALIASES: tuple[Alias, ...] = (
    Alias("real_time_optimization", "scored", "scored", False, "runs as `scored`."),
    Alias("priority_weighted", "priority_weighted", "priority_weighted", False, "runs as `priority_weighted`."),
    Alias("predictive_distribution", "predictive_distribution", "least_conn", True,
          "routes with `least_conn`, and activates drained (`weight: 0`) agents ahead of each forecast peak."),
)

BY_NAME: dict[str, Strategy] = {s.name: s for s in TABLE}
NAMES: tuple[str, ...] = tuple(s.name for s in TABLE)
# every name the simulator runs, the aliases included, and the code it runs with (table order first)
CODES: dict[str, int] = {s.name: s.code for s in TABLE}
CODES.update({a.name: BY_NAME[a.runs_as].code for a in ALIASES if a.name not in CODES})
# `load_balancing_strategy.algorithms[].name` -> the behaviour each maps to (the fleet model's ALGORITHM_NAMES)
ALGORITHM_NAMES: dict[str, str] = {a.name: a.behaviour for a in ALIASES}
# names that run with the predictive activation of drained agents
PREDICTIVE: frozenset[str] = frozenset(a.name for a in ALIASES if a.predictive)


def strategy_list_text() -> str:
    """The strategy names in table order, for prose: "round_robin, weighted_round_robin, ..., priority_weighted"."""
    return ", ".join(NAMES)


def _check() -> None:
    """The table's own invariants; a broken table fails at import, before anything compiles."""
    codes = [s.code for s in TABLE]
    if codes != list(range(len(TABLE))):
        raise AssertionError(f"strategy codes must be 0..{len(TABLE) - 1} in table order, got {codes}")
    if len(BY_NAME) != len(TABLE) or len({s.constant for s in TABLE}) != len(TABLE):
        raise AssertionError("strategy names and layout constants must be unique")
    for a in ALIASES:
        if a.runs_as not in BY_NAME or (a.name in BY_NAME and a.runs_as != a.name):
            raise AssertionError(f"alias {a.name} must run as a strategy of the table (itself if it is one)")


_check()
