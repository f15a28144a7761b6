"""The one output path: ``render(result, fmt, env)`` writes any verb's result in any format it has.

Every result object has a ``view`` name and ``as_dict()`` (its JSON shape, pinned by tests). JSON is
the same for every view. Other formats are looked up in :data:`FORMATS` by view: ``text`` for every
view, and extra ones where a view has them (``sarif`` for lint findings, ``markdown`` for the rule
catalogue). A new verb gets json and text by adding its view here; a new format is one renderer.

A renderer is ``fn(result, env, **options)``: it prints through the env's console, or returns a
string that is written to ``env.stdout`` as is. Options are for the text views (``--agents``); JSON
takes none: its shape never depends on them.
"""

from __future__ import annotations

import importlib
import json
import math
from typing import Any, Protocol

from clawctl.core.env import Env


class Result(Protocol):
    view: str

    def as_dict(self) -> dict[str, Any]: ...


# view -> format -> "module:function" (imported on use, so `clawctl validate` never loads the simulator's views)
FORMATS: dict[str, dict[str, str]] = {
    "lint": {"text": "clawctl.render.findings_text:text", "sarif": "clawctl.render.findings_sarif:sarif",
             "github": "clawctl.render.findings_github:github", "junit": "clawctl.render.findings_junit:junit"},
    "lint-statistics": {"text": "clawctl.render.findings_text:statistics"},
    "rules": {"text": "clawctl.render.rules:text", "markdown": "clawctl.render.rules:markdown"},
    "sim": {"text": "clawctl.render.sim:text"},
    "capacity": {"text": "clawctl.render.capacity:text"},
    "sweep": {"text": "clawctl.render.sweep:text"},
    "traffic": {"text": "clawctl.render.traffic:text"},
    "top": {"table": "clawctl.render.top:table", "text": "clawctl.render.top:table", "jsonl": "clawctl.render.top:jsonl"},
    "probe": {"text": "clawctl.render.probe:text"},
    "export-prometheus-sd": {"text": "clawctl.render.export:prometheus_sd"},
    "lab": {"text": "clawctl.render.lab:text"},
    "init": {"text": "clawctl.render.init:text"},
    "drill": {"text": "clawctl.render.failover_drill:text", "markdown": "clawctl.render.failover_drill:markdown",
              "junit": "clawctl.render.failover_drill:junit"},
    "drill-history": {"text": "clawctl.render.failover_drill:history"},
    "failover-plan": {"text": "clawctl.render.failover_plan:text", "markdown": "clawctl.render.failover_plan:markdown"},
    "apply": {"text": "clawctl.render.store:applied"},
    "agents": {"text": "clawctl.render.store:agents"},
    "history": {"text": "clawctl.render.store:history"},
    "store-check": {"text": "clawctl.render.store:store_check"},
    "openclaw-route": {"text": "clawctl.render.openclaw:route"},
    "import-openclaw": {"text": "clawctl.render.openclaw:imported"},
}


def formats(view: str) -> list[str]:
    """The formats a view can be written in, ``json`` included."""
    return ["json", *FORMATS[view]]


def json_text(payload: dict[str, Any]) -> str:
    """Strict JSON: a NaN or an infinity (from an agent's metrics, say) is written as null, never as the
    bare ``NaN`` that JSON parsers refuse."""
    try:
        return json.dumps(payload, indent=2, default=str, allow_nan=False) + "\n"
    except ValueError:
        return json.dumps(_finite(payload), indent=2, default=str, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render(result: Result, fmt: str, env: Env, **options: Any) -> None:
    if fmt == "json":
        _write(env, json_text(result.as_dict()))
        return
    target = FORMATS.get(result.view, {}).get(fmt)
    if target is None:
        raise ValueError(f"no {fmt} renderer for {result.view}")  # the CLI's choices prevent this
    module, name = target.split(":")
    out = getattr(importlib.import_module(module), name)(result, env, **options)
    if isinstance(out, str):
        _write(env, out)


def _write(env: Env, text: str) -> None:
    env.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    env.stdout.flush()
