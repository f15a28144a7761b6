"""The base of every fleet-file section: strict types, unknown keys refused.

Keys starting with ``x-`` are free for users: :func:`strip_user_keys` removes them before the model
sees the data (the JSON Schema allows them through ``patternProperties``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def _x_keys_schema(schema: dict) -> None:
    schema["patternProperties"] = {"^x-": {}}


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        populate_by_name=True,
        json_schema_extra=_x_keys_schema,
        hide_input_in_errors=True,
        defer_build=True,
    )


def strip_user_keys(data: object) -> object:
    """A copy of ``data`` without ``x-`` keys at any depth (shares everything it need not copy)."""
    if isinstance(data, dict):
        out = {}
        changed = False
        for key, value in data.items():
            if isinstance(key, str) and key.startswith("x-"):
                changed = True
                continue
            new = strip_user_keys(value)
            changed |= new is not value
            out[key] = new
        return out if changed else data
    if isinstance(data, list):
        items = [strip_user_keys(v) for v in data]
        return items if any(a is not b for a, b in zip(items, data)) else data
    return data
