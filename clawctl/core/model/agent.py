"""The agent entry of a fleet file (also the shape of ``defaults``)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from clawctl.core import schedule as sched
from clawctl.core import service_time
from clawctl.core.limits import MAX_SLOTS_PER_AGENT, MAX_WEIGHT
from clawctl.core.model.base import Section
from clawctl.core.model.types import Duration, EnvName, Fraction, TimeZone, Url, zone


class BusinessHours(Section):
    """``{timezone, schedule: "9AM-6PM weekdays"}`` or ``{timezone, start, end, days}``."""

    timezone: TimeZone | None = Field(None, description="IANA zone; defaults to the agent's `timezone`")
    schedule: str | None = Field(None, description="`9AM-6PM weekdays`, `09:00-17:30 Mon-Fri`, ...")
    start: str | None = Field(None, description="`09:00` or `9AM`")
    end: str | None = Field(None, description="`17:00` or `5PM`; before the start means it crosses midnight")
    days: list[str] | str | None = Field(None, description="`[mon, tue]`, `weekdays`, `Mon-Fri`; default daily")

    # No private attribute holds the parsed hours: pydantic initialises private attributes in Python for
    # every instance, which cost more than the parse (schedules repeat: parsing is cached).

    @model_validator(mode="after")
    def _parse(self) -> "BusinessHours":
        if self.schedule is not None:
            if self.start is not None or self.end is not None or self.days is not None:
                raise PydanticCustomError(
                    "clawctl_schedule", "give either `schedule` or `start`/`end`/`days`, not both"
                )
        elif self.start is None or self.end is None:
            raise PydanticCustomError(
                "clawctl_schedule", "business hours need `schedule` (e.g. `9AM-6PM weekdays`) or `start` and `end`"
            )
        try:
            self._hours_of()
        except ValueError as exc:
            raise PydanticCustomError("clawctl_schedule", str(exc)) from None
        return self

    def _hours_of(self) -> sched.Hours:
        if self.schedule is not None:
            return sched.parse_schedule(self.schedule)
        days = tuple(self.days) if isinstance(self.days, list) else self.days
        return _hours_from_parts(self.start, self.end, days)  # type: ignore[arg-type]

    @property
    def hours(self) -> sched.Hours:
        """The weekly window (parsed when validated; the same value each time)."""
        return self._hours_of()


@lru_cache(maxsize=2048)
def _hours_from_parts(start: str, end: str, days: tuple[str, ...] | str | None) -> sched.Hours:
    return sched.hours_from_parts(start, end, list(days) if isinstance(days, tuple) else days)


class Auth(Section):
    token_env: EnvName = Field(..., description="environment variable that holds the bearer token")
    token: object = Field(None, description="never allowed: name an environment variable in `token_env`",
                          json_schema_extra={"not": {}})

    @field_validator("token")
    @classmethod
    def _no_literal(cls, value: object) -> object:
        # A field validator, not a model one: it runs even when `token_env` is missing or wrong.
        if value is not None:
            raise PydanticCustomError("clawctl_literal_secret", "a literal token in the fleet file; use `token_env`")
        return value


class ServiceTime(Section):
    distribution: Literal["exponential", "lognormal", "deterministic"] = "lognormal"
    mean: Duration = Field(90.0, gt=0)
    p95: Duration | None = Field(None, gt=0)
    sigma: float | None = Field(None, gt=0)

    @property
    def dist(self) -> service_time.Distribution:
        """The distribution to sample from (lognormal without p95 or sigma: sigma 1)."""
        return service_time.make(self.distribution, self.mean, self.p95, self.sigma)

    @model_validator(mode="after")
    def _check(self) -> "ServiceTime":
        check_shape(self.distribution, self.mean, self.p95, self.sigma, "service time", "a lognormal")
        return self


def check_shape(distribution: str, mean: float, p95: float | None, sigma: float | None, noun: str,
                lognormal: str) -> None:
    """The rules every drawn duration shares (service times, patience): a lognormal takes `p95` or
    `sigma`, not both, and a p95 it can reach; the others take only `mean`."""
    if distribution == "lognormal":
        if p95 is not None and sigma is not None:
            raise PydanticCustomError("clawctl_range", f"give `p95` or `sigma` for {lognormal}, not both")
        if p95 is not None:
            try:
                service_time.lognormal_sigma_from_p95(mean, p95)
            except ValueError as exc:
                raise PydanticCustomError("clawctl_range", str(exc).replace("p95", "`p95`")) from None
    elif p95 is not None or sigma is not None:
        article = "an" if distribution == "exponential" else "a"
        raise PydanticCustomError("clawctl_range", f"{article} {distribution} {noun} takes only `mean`")


class Performance(Section):
    response_time: Duration | None = Field(None, description="average response time prior, e.g. `1200ms`")
    satisfaction: Fraction | None = Field(None, description="satisfaction prior, 0..1")


DEFAULT_SERVICE_TIME = ServiceTime(distribution="lognormal", mean=90.0, p95=240.0)
AGENT_TYPES = ("specialized", "general")
ENDPOINT_KINDS = ("clawctl", "openclaw")


class AgentSpec(Section):
    """Every key optional: an agent entry, or the fleet's ``defaults``."""

    type: Literal["specialized", "general"] | None = None
    domain: str | None = None
    region: str | None = None
    capabilities: list[str] | None = None
    channels: list[str] | None = None
    languages: list[str] | None = None
    timezone: TimeZone | None = None
    business_hours: BusinessHours | None = None
    availability: Literal["24/7"] | None = None
    max_concurrent_conversations: int | None = Field(None, ge=1, le=MAX_SLOTS_PER_AGENT)
    weight: int | None = Field(None, ge=0, le=MAX_WEIGHT)
    endpoint: Url | None = None
    endpoint_kind: Literal["clawctl", "openclaw"] | None = None
    auth: Auth | None = None
    isolation: str | None = None
    data_access: list[str] | None = None
    backups: list[str] | None = None
    service_time: ServiceTime | None = None
    performance: Performance | None = None


AGENT_FIELDS = tuple(AgentSpec.model_fields)


class Agent:
    """An agent with its defaults applied.

    Each key comes from the agent's own entry, else from the `defaults` of its file (a whole value:
    lists are replaced, not merged), else from clawctl's built-in default where there is one: type
    `general`, 10 concurrent conversations, weight 1, endpoint kind `clawctl`, empty lists.
    """

    __slots__ = ("id", "spec", "file", "type", "domain", "region", "capabilities", "channels", "languages",
                 "timezone", "business_hours", "availability", "max_concurrent_conversations", "weight",
                 "endpoint", "endpoint_kind", "auth", "isolation", "data_access", "backups", "service_time",
                 "performance")

    def __init__(self, agent_id: str, spec: AgentSpec, defaults: AgentSpec | None, file: str = "") -> None:
        self.id = agent_id
        self.spec = spec
        self.file = file
        own = spec.__dict__
        inherited = defaults.__dict__ if defaults is not None else None
        for name in AGENT_FIELDS:
            value = own[name]
            if value is None and inherited is not None:
                value = inherited[name]
            setattr(self, name, value)
        self.type = self.type or "general"
        self.capabilities = self.capabilities or []
        self.channels = self.channels or []
        self.languages = self.languages or []
        self.data_access = self.data_access or []
        self.backups = self.backups or []
        self.max_concurrent_conversations = self.max_concurrent_conversations or 10
        self.weight = 1 if self.weight is None else self.weight
        self.endpoint_kind = self.endpoint_kind or "clawctl"
        self.service_time = self.service_time or DEFAULT_SERVICE_TIME

    @property
    def hours(self) -> sched.Hours | None:
        """The weekly window, or None when the agent is always available."""
        if self.availability == "24/7" or self.business_hours is None:
            return None
        return self.business_hours.hours

    @property
    def hours_zone_name(self) -> str | None:
        if self.business_hours is None:
            return None
        return self.business_hours.timezone or self.timezone

    def available_at(self, instant: datetime) -> bool:
        """Whether the agent takes work at the aware ``instant`` (its business hours, in its own zone)."""
        hours = self.hours
        if hours is None:
            return True
        name = self.hours_zone_name
        tz = zone(name) if name else None
        if tz is None:
            raise ValueError(f"agent {self.id}: business hours without a time zone")
        return sched.is_open(hours, tz, instant)

    def ever_available(self) -> bool:
        hours = self.hours
        return hours is None or hours.ever_open
