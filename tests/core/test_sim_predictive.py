"""predictive_distribution: drained agents take traffic only around forecast peaks."""

import numpy as np

from clawctl.core.fleet import merge
from clawctl.core.model import FleetFile
from clawctl.core.sim.engine import RunLength, simulate
from clawctl.core.sim.spec import FORECAST_LEAD, build, predictive

FLEET = {
    "agents": {
        "base": {"max_concurrent_conversations": 5, "service_time": {"distribution": "exponential", "mean": "60s"}},
        "reserve": {"weight": 0, "max_concurrent_conversations": 5,
                    "service_time": {"distribution": "exponential", "mean": "60s"}},
    },
    "traffic": {"arrivals": {"rate": "4/min", "profile": "diurnal", "peak_multiplier": 2, "peak_at": 12}},
}
DAY = 86400.0


def _spec(data=FLEET):
    fleet, findings = merge([("f.yaml", FleetFile.model_validate(data))])
    assert not findings
    return build(fleet, horizon=DAY * 1.05 + 86400)


def test_drained_agent_serves_only_under_predictive_distribution():
    spec = _spec()
    plain = simulate(spec, "least_conn", RunLength(duration=DAY), seed=3)
    pred = simulate(spec, "predictive_distribution", RunLength(duration=DAY), seed=3)
    assert plain.arrived == pred.arrived  # same arrivals
    reserve = {a.id: a for a in plain.agents}["reserve"]
    assert reserve.served == 0
    assert {a.id: a for a in pred.agents}["reserve"].served > 0
    assert pred.wait.mean < plain.wait.mean


def test_reserve_is_active_from_the_lead_before_the_peak_half_until_it_ends():
    spec = predictive(_spec(), DAY)
    reserve = spec.agent_ids.index("reserve")
    assert spec.weight[reserve] == 1 and spec.avail0[reserve] == 0
    opens = spec.tr_t[(spec.tr_agent == reserve) & (spec.tr_open == 1)]
    closes = spec.tr_t[(spec.tr_agent == reserve) & (spec.tr_open == 0)]
    # The rate is above its mean from 06:00 to 18:00 (cosine around a 12:00 peak); the reserve comes on
    # FORECAST_LEAD earlier and goes off at 18:00 (one-minute grid).
    assert abs(opens[0] - (6 * 3600 - FORECAST_LEAD)) <= 60
    assert abs(closes[0] - 18 * 3600) <= 60


def test_constant_traffic_has_no_peak_so_nothing_changes():
    data = {**FLEET, "traffic": {"arrivals": {"rate": "4/min"}}}
    spec = _spec(data)
    assert predictive(spec, DAY) is spec
    assert np.array_equal(spec.weight, [1, 0])
