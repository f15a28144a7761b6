"""The fleet file, format v1, as pydantic models: one class per section, `FleetFile` for a whole file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from clawctl.core.limits import (
    MAX_COUNT,
    MAX_CUSTOMERS,
    MAX_MULTIPLIER,
    MAX_QUEUE_CAPACITY,
    MAX_REQUESTS,
)
from clawctl.core.model.agent import AgentSpec
from clawctl.core.model.base import Section
from clawctl.core.model.patience import Patience, fixed_as_seconds
from clawctl.core.model.types import AgentId, Duration, Fraction, Percent, Rate
from clawctl.core.sim import strategies as _strategies

# The `load_balancing.strategy` values, and each `load_balancing_strategy.algorithms[].name` with the
# behaviour it maps to: both from the strategy table (clawctl.core.sim.strategies, pure Python).
STRATEGIES = _strategies.NAMES
ALGORITHM_NAMES = _strategies.ALGORITHM_NAMES
ENCRYPTION_ORDER = ("none", "AES-128", "AES-256", "AES-256-GCM")  # weakest first
MEMORY_ISOLATION = ("none", "container_level", "process_level", "hardware_enforced")
AUDIT_LOGGING = ("none", "basic", "standard", "comprehensive")


class Metadata(Section):
    name: str | None = None
    owner: str | None = None
    labels: dict[str, str] | None = None


class SecurityLevel(Section):
    level: str
    encryption: Literal["none", "AES-128", "AES-256", "AES-256-GCM"] | None = None
    memory_isolation: Literal["none", "container_level", "process_level", "hardware_enforced"] | None = None
    network_segmentation: bool | None = None
    audit_logging: Literal["none", "basic", "standard", "comprehensive"] | None = None
    data_classes: list[str] | None = Field(None, description="data classes an agent at this level may hold")


class SessionIsolation(Section):
    security_levels: list[SecurityLevel] = Field(default_factory=list, description="strictest first")


class Scoring(Section):
    capability: Fraction = 0.4
    performance: Fraction = 0.3
    load: Fraction = 0.2
    customer_history: Fraction = 0.1


class Health(Section):
    probe_interval: Duration = Field(5.0, gt=0)
    timeout: Duration = Field(1.0, gt=0)
    failure_threshold: int = Field(3, ge=1, le=MAX_COUNT)
    recovery_threshold: int = Field(2, ge=1, le=MAX_COUNT)


class Passive(Section):
    max_fails: int = Field(3, ge=0, le=MAX_COUNT)
    fail_timeout: Duration = 30.0


class LoadBalancing(Section):
    strategy: Literal[STRATEGIES] = "least_conn"  # type: ignore[valid-type]
    scoring: Scoring = Field(default_factory=Scoring)
    health: Health = Field(default_factory=Health)
    passive: Passive = Field(default_factory=Passive)


class Algorithm(Section):
    name: str
    triggers: list[str] | None = None
    implementation: str | None = None


class LoadBalancingStrategy(Section):
    algorithms: list[Algorithm] = Field(default_factory=list)


class Thresholds(Section):
    response_time: Duration = 2.0
    cpu: Percent = 80.0
    memory: Percent = 85.0
    error_rate: Percent = 5.0


class Monitoring(Section):
    interval: Duration = Field(1.0, gt=0)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    breach_after: int = Field(3, ge=1, le=MAX_COUNT)


class Objectives(Section):
    detection: Duration = 30.0
    agent_recovery: Duration = 120.0
    regional_recovery: Duration = 300.0
    session_preservation: Percent = 99.95


class RegionRecovery(Section):
    recovery_site: str


class Failover(Section):
    objectives: Objectives = Field(default_factory=Objectives)
    regions: dict[str, RegionRecovery] = Field(default_factory=dict)
    max_blast_radius: Percent = 25.0
    session_ttl: Duration = 86400.0


class Arrivals(Section):
    rate: Rate
    process: Literal["poisson"] = "poisson"
    profile: Literal["constant", "diurnal", "spike"] = "constant"
    peak_multiplier: float | None = Field(None, ge=1, le=MAX_MULTIPLIER)
    peak_at: float | None = Field(None, ge=0, lt=24, description="local hour of the diurnal peak")
    at: Duration | None = Field(None, description="when the spike starts, from the start of the run")
    duration: Duration | None = Field(None, gt=0, description="how long the spike lasts")
    multiplier: float | None = Field(None, ge=1, le=MAX_MULTIPLIER, description="spike multiplier, up to 100")


class MixEntry(Section):
    name: str
    share: Fraction
    channel: str | None = None
    capabilities: list[str] = Field(default_factory=list)
    priority: Literal["low", "normal", "high"] = "normal"
    language: str | None = None


class Queue(Section):
    discipline: Literal["central", "per_agent"] = "central"
    capacity: int | None = Field(None, ge=0, le=MAX_QUEUE_CAPACITY,
                                 description="0: nobody waits (a loss system); absent: unbounded")
    # seconds (a fixed patience), or a Patience drawn per request (clawctl/core/model/patience.py)
    patience: Annotated[Patience | None, AfterValidator(fixed_as_seconds)] = None


class Sla(Section):
    wait: Duration = 30.0


class Traffic(Section):
    arrivals: Arrivals | None = None
    mix: list[MixEntry] | None = None
    customers: int | None = Field(None, ge=1, le=MAX_CUSTOMERS)
    queue: Queue = Field(default_factory=Queue)
    sla: Sla = Field(default_factory=Sla)
    duration: Duration | None = Field(None, gt=0)
    requests: int | None = Field(None, ge=1, le=MAX_REQUESTS)


class FleetFile(Section):
    """One fleet file. Several files merge into one fleet (``clawctl.core.fleet``)."""

    apiVersion: Literal["clawctl/v1"] | None = None
    kind: Literal["Fleet"] | None = None
    metadata: Metadata | None = None
    defaults: AgentSpec | None = None
    agents: dict[AgentId, AgentSpec | None]
    session_isolation: SessionIsolation | None = None
    load_balancing: LoadBalancing | None = None
    load_balancing_strategy: LoadBalancingStrategy | None = None
    monitoring: Monitoring | None = None
    failover: Failover | None = None
    traffic: Traffic | None = None


SECTIONS = tuple(FleetFile.model_fields)
