"""`traffic.queue.patience`: how long a waiting customer stays before leaving. A duration (`2m`) is the
same for every request; a mapping draws each request's own: `{distribution: exponential, mean: 2s}`,
`{distribution: lognormal, mean: 2s, sigma: 0.5}` (or `p95` instead of `sigma`), or
`{distribution: deterministic, mean: 2s}` (the same as `2s`).

One model takes both spellings (a plain duration is read as a deterministic one), so a mistake in either
is one error at the key it is about; after validation a fixed patience is stored as seconds (a float),
as it always was, and a drawn one as a :class:`Patience`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from clawctl.core import service_time
from clawctl.core.model.agent import check_shape
from clawctl.core.model.base import Section, _x_keys_schema
from clawctl.core.model.types import DURATION_PATTERN, Duration


def _schema(schema: dict) -> None:
    """A duration, or the mapping."""
    _x_keys_schema(schema)
    mapping = {k: v for k, v in schema.items() if k not in ("title", "description")}
    schema.clear()
    schema["anyOf"] = [{"type": "number", "exclusiveMinimum": 0},
                       {"type": "string", "pattern": DURATION_PATTERN}, mapping]
    schema["description"] = ("a fixed patience (a duration: 30s, 2m) or one drawn per request: {distribution: "
                             "exponential | lognormal | deterministic, mean, sigma or p95 (lognormal)}")


class Patience(Section):
    model_config = ConfigDict(**Section.model_config)
    model_config["json_schema_extra"] = _schema

    distribution: Literal["exponential", "lognormal", "deterministic"]
    mean: Duration = Field(gt=0)
    sigma: float | None = Field(None, gt=0)
    p95: Duration | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        return value if isinstance(value, dict) else {"distribution": "deterministic", "mean": value}

    @model_validator(mode="after")
    def _check(self) -> "Patience":
        check_shape(self.distribution, self.mean, self.p95, self.sigma, "patience", "a lognormal patience")
        return self

    @property
    def dist(self) -> service_time.Distribution:
        """The distribution to draw from (lognormal without p95 or sigma: sigma 1, as service times)."""
        return service_time.make(self.distribution, self.mean, self.p95, self.sigma)


def fixed_as_seconds(value: Patience | None) -> float | Patience | None:
    """A deterministic patience is stored as its seconds."""
    if value is not None and value.distribution == "deterministic":
        return value.mean
    return value
