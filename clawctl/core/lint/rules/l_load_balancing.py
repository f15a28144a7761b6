"""L: load balancing settings (scoring weights, strategy, algorithms).

L002 (an unknown `load_balancing.strategy`) is raised by the schema check
(clawctl/core/lint/schema_check.py) and declared here.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import declare, finding, rule
from clawctl.core.lint.context import LintContext
from clawctl.core.model.fleet_file import ALGORITHM_NAMES
from clawctl.core.sim.strategies import strategy_list_text
from clawctl.core.suggest import did_you_mean

_SUM_TOLERANCE = 1e-6  # how far from 1 the scoring weights may sum (T001 uses the same for mix shares)


@rule("L001", "scoring-weights", Severity.ERROR, "The scored strategy's weights do not sum to 1.", """
    `load_balancing.scoring` weighs capability, performance, load and customer history; the weights
    are shares of one score and must sum to 1 (for example 0.4 / 0.3 / 0.2 / 0.1).
""")
def scoring_weights(ctx: LintContext) -> Iterator[Finding]:
    lb = ctx.fleet.load_balancing
    s = lb.scoring
    total = s.capability + s.performance + s.load + s.customer_history
    if "load_balancing" in ctx.fleet.section_file and not math.isclose(total, 1.0, abs_tol=_SUM_TOLERANCE):
        yield finding("L001", f"scoring weights sum to {total:g}, not 1", ctx.fleet.where("load_balancing"),
                      ("load_balancing", "scoring"), at_key=True)


declare("L002", "unknown-strategy", Severity.ERROR, "An unknown load-balancing strategy.", textwrap.fill(
    f"`load_balancing.strategy` is one of {strategy_list_text()}. The message suggests the nearest.", width=100))


@rule("L003", "unknown-algorithm", Severity.ERROR, "A `load_balancing_strategy` algorithm clawctl cannot map.", """
    The descriptive form names algorithms: `real_time_optimization` (the scored strategy),
    `priority_weighted` (priority queues over least_conn) and `predictive_distribution` (drained
    agents activated ahead of a forecast peak). Other names have no behaviour to simulate or check.
""")
def unknown_algorithm(ctx: LintContext) -> Iterator[Finding]:
    lbs = ctx.fleet.load_balancing_strategy
    if lbs is None:
        return
    for i, algo in enumerate(lbs.algorithms):
        if algo.name not in ALGORITHM_NAMES:
            yield finding("L003", f"unknown algorithm `{algo.name}`{did_you_mean(algo.name, ALGORITHM_NAMES)}; "
                          f"one of {', '.join(ALGORITHM_NAMES)}", ctx.fleet.where("load_balancing_strategy"),
                          ("load_balancing_strategy", "algorithms", i, "name"))
