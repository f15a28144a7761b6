"""The pure heart of `clawctl top`: read a metrics body, turn two scrapes into rates and percentiles,
judge thresholds with hysteresis. No I/O and no clock: times and bodies are handed in.

- :mod:`.scrape`: one ``/metrics`` body -> :class:`Scrape` (gauges, counters, histogram buckets).
- :mod:`.rates`: two consecutive scrapes -> :class:`Interval` (rates, error rate, p50/p95, resets).
- :mod:`.thresholds`: the fleet's ``monitoring`` thresholds, :class:`Watcher` and its :class:`Breach` list.
"""

from clawctl.core.top.rates import Interval, interval, quantile
from clawctl.core.top.scrape import Scrape, parse
from clawctl.core.top.thresholds import (
           METRICS,
           Breach,
           Thresholds,
           Watch,
           Watcher,
           figures,
)

__all__ = ["METRICS", "Breach", "Interval", "Scrape", "Thresholds", "Watch", "Watcher", "figures", "interval",
           "parse", "quantile"]
