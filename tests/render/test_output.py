"""One output path: every result object has a view with a text renderer, and JSON is as_dict() verbatim."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import pkgutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import ClassVar

import pytest

import clawctl
from clawctl.core.env import Env
from clawctl.render.output import FORMATS, formats, render


def _env() -> Env:
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: datetime(2026, 1, 5, tzinfo=timezone.utc),
               environ={"NO_COLOR": "1"})


def _result_classes() -> list[type]:
    """Every class in clawctl with a ``view`` and ``as_dict``: the verbs' result objects."""
    found = []
    for info in pkgutil.walk_packages(clawctl.__path__, "clawctl."):
        if ".sim." in info.name or info.name.endswith((".kernel", ".routing")):
            continue  # numba modules hold no results
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and isinstance(getattr(cls, "view", None), str) \
                    and callable(getattr(cls, "as_dict", None)):
                found.append(cls)
    return found


def test_every_result_class_has_a_text_view():
    classes = _result_classes()
    assert len(classes) >= 9, classes  # lint, statistics, rules, sim, probe, lab, apply, agents, history, check
    for cls in classes:
        assert cls.view in FORMATS, f"{cls.__name__}: no renderers for view {cls.view!r}"
        assert "text" in FORMATS[cls.view], cls.__name__


def test_every_renderer_named_in_the_table_exists():
    for view, table in FORMATS.items():
        for fmt, target in table.items():
            module, name = target.split(":")
            assert callable(getattr(importlib.import_module(module), name)), f"{view}/{fmt}: {target}"


def test_views_are_not_shared_by_two_result_classes():
    views = [cls.view for cls in _result_classes()]
    assert len(views) == len(set(views)), views


@dataclass
class _Thing:
    view: ClassVar[str] = "agents"
    rows: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "agents": self.rows, "at": datetime(2026, 1, 5, tzinfo=timezone.utc)}


def test_json_is_as_dict_with_two_space_indent_and_a_final_newline():
    env = _env()
    render(_Thing([{"id": "a"}]), "json", env)
    out = env.stdout.getvalue()
    assert out == json.dumps({"schema_version": 1, "agents": [{"id": "a"}], "at": "2026-01-05 00:00:00+00:00"},
                             indent=2) + "\n"


def test_text_goes_to_the_envs_stdout_and_nothing_to_stderr():
    env = _env()
    render(_Thing([]), "text", env)
    assert env.stdout.getvalue() == "no agents recorded; `clawctl apply FLEET` records them\n"
    assert env.stderr.getvalue() == ""


def test_a_format_a_view_lacks_is_refused():
    assert formats("sim") == ["json", "text"]
    with pytest.raises(ValueError):
        render(_Thing(), "sarif", _env())


def test_json_never_carries_nan_or_infinity():
    env = _env()
    payload = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -float("inf")}], "d": "NaN"}

    @dataclass
    class Odd:
        view: ClassVar[str] = "agents"

        def as_dict(self) -> dict:
            return payload

    render(Odd(), "json", env)
    assert json.loads(env.stdout.getvalue()) == {"a": None, "b": [1.5, None, {"c": None}], "d": "NaN"}
    assert "NaN," not in env.stdout.getvalue() and "Infinity" not in env.stdout.getvalue()
