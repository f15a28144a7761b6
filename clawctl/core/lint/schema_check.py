"""The schema check: runs the pydantic model over one file and turns its errors into findings.

Its findings carry S, V, X001 and L002 codes (declared in the family modules of clawctl/core/lint/rules/).
A file with schema errors is salvaged: the offending values are dropped and the rest validated again,
so the fleet-level rules still run on everything that was well-formed.
"""

from __future__ import annotations

import copy
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from clawctl.core.findings import Finding, Path
from clawctl.core.lint.catalogue import finding
from clawctl.core.model.fleet_file import FleetFile
from clawctl.core.suggest import did_you_mean
from clawctl.core.yamlscalars import describe

_CUSTOM_CODES = {
    "clawctl_duration": "V001",
    "clawctl_rate": "V002",
    "clawctl_percent": "V003",
    "clawctl_schedule": "V004",
    "clawctl_url": "V005",
    "clawctl_timezone": "V006",
    "clawctl_agent_id": "V007",
    "clawctl_literal_secret": "X001",
    "clawctl_range": "S003",
}
_RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long"}
_TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "finite_number": "a finite number", "none_required": "nothing",
}


def _describe(value: object, path: Path = ()) -> str:
    """The value as :func:`describe` names it, unless it may be a credential: then it is not shown."""
    if _looks_secret(path, value):
        return "a string (not shown: it looks like a secret)"
    return describe(value)


def _model_at(path: Path) -> type[BaseModel] | None:
    """The model class describing the mapping at ``path`` (for listing its allowed keys)."""
    model: Any = FleetFile
    for part in path:
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None
            model = info.annotation
        else:
            model = _unwrap(model, part)
            if model is None:
                return None
        model = _unwrap_optional(model)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap_optional(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) is not None and len(args) == 1 and get_origin(tp) not in (list, dict):
        return _unwrap_optional(args[0])
    return tp


def _unwrap(tp: Any, part: str | int) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is list and isinstance(part, int):
        return _unwrap_optional(args[0])
    if origin is dict and isinstance(part, str):
        return _unwrap_optional(args[1])
    return None


def _data_path(data: object, loc: tuple) -> tuple[Path, bool]:
    """Keep the parts of a pydantic ``loc`` that index into the data (drop union-member tags)."""
    path: list[str | int] = []
    node = data
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            break
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing key: keep it for the message
            break
    return tuple(path), is_key


def _value_at(data: object, path: Path) -> object:
    node = data
    for part in path:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def error_to_finding(file: str, data: object, error: dict) -> Finding:
    kind = error["type"]
    path, is_key = _data_path(data, error["loc"])
    ctx = error.get("ctx") or {}
    where = path[-1] if path else "the top level"
    if kind in _CUSTOM_CODES:
        message = error["msg"]
        got = _value_at(data, path)
        if kind == "clawctl_url" and isinstance(got, str) and got in message:
            message = message.replace(got, _redact_url(got))
        return finding(_CUSTOM_CODES[kind], message, file, _refine(kind, data, path), at_key=is_key)
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        known = list(model.model_fields) if model else []
        hint = did_you_mean(str(path[-1]), known)
        section = path[-2] if len(path) > 1 else None
        return finding("S001", f"unknown key `{path[-1]}` in {_section_name(section)}{hint}", file, path, at_key=True)
    if kind == "missing":
        parent = path[-2] if len(path) > 1 else None
        owner = f"`{parent}`" if isinstance(parent, str) else ("this entry" if parent is not None else "the file")
        return finding("S004", f"`{path[-1]}` is required in {owner}", file, path[:-1], at_key=True)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip(" '")]
        got = _value_at(data, path)
        hint = did_you_mean(str(got), choices) if isinstance(got, str) else ""
        if path[-2:] == ("load_balancing", "strategy") or path[-1:] == ("strategy",):
            return finding("L002", f"unknown strategy `{got}`{hint}; one of {expected}", file, path)
        return finding("S005", f"`{where}` is {_describe(got, path)}{hint}; expected one of {expected}", file, path)
    if kind in _RANGE_TYPES:
        msg = error["msg"]
        msg = "must" + msg[len("Input should"):] if msg.startswith("Input should") else msg[0].lower() + msg[1:]
        return finding("S003", f"`{where}` {msg}", file, path)
    got = _value_at(data, path)
    want = _TYPE_WORDS.get(kind)
    if want:
        return finding("S002", f"`{where}` must be {want}, not {_describe(got, path)}", file, path)
    return finding("S002", f"`{where}`: {error['msg']}", file, path)


def _section_name(section: str | int | None) -> str:
    if section is None:
        return "the top level"
    return f"`{section}`" if isinstance(section, str) else "this entry"


def _looks_secret(path: Path, value: object) -> bool:
    """Whether echoing ``value`` in a message could leak a credential (no message ever shows one)."""
    if not isinstance(value, str) or not value:
        return False
    from clawctl.core.lint.rules.x_secrets import looks_like_secret

    in_auth = any(part == "auth" and (i == 0 or path[i - 1] != "agents") for i, part in enumerate(path))
    return in_auth or looks_like_secret(path, value)


def _redact_url(value: str) -> str:
    """``value`` without the credentials or query an endpoint URL may carry."""
    from clawctl.core.lint.masking import redact_url

    return redact_url(value)


def _refine(kind: str, data: object, path: Path) -> Path:
    """Point a whole-section error at the one key it is about, when that key is plain to see."""
    value = _value_at(data, path)
    if not isinstance(value, dict):
        return path
    if kind == "clawctl_schedule" and "schedule" in value and not {"start", "end", "days"} & set(value):
        return (*path, "schedule")
    return path


def _drop(data: object, path: Path) -> bool:
    """Remove the value at ``path`` (a whole list rather than one item, so indices stay true)."""
    if not path:
        return False
    parent = _value_at(data, path[:-1])
    last = path[-1]
    if isinstance(parent, list):
        return _drop(data, path[:-1])
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    return False


def check_file(file: str, data: dict) -> tuple[FleetFile | None, list[Finding]]:
    """Validate one file's data; return the (salvaged) model and the findings."""
    try:
        return FleetFile.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    findings = _dedupe([error_to_finding(file, data, e) for e in errors])
    work = copy.deepcopy(data)
    for _ in range(8):
        changed = False
        for e in errors:
            path, is_key = _data_path(work, e["loc"])
            if e["type"] == "missing":
                path = path[:-1]
            if path == ("agents",) or not path:
                if isinstance(work, dict):
                    work["agents"] = work.get("agents") if isinstance(work.get("agents"), dict) else {}
                    changed = True
                continue
            changed |= _drop(work, path)
        try:
            return FleetFile.model_validate(work), findings
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if not changed:
                break
    return None, findings


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per path: a union reports one error per member; keep the first."""
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = (f.code[0], f.path, f.at_key)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out
