"""The fleet file's JSON Schema, draft-07, generated from the pydantic model."""

from __future__ import annotations

from clawctl.core.model.fleet_file import FleetFile

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def fleet_schema() -> dict:
    """Pydantic writes 2020-12 style `$defs`; editors (yaml-language-server) want draft-07 `definitions`."""
    schema = FleetFile.model_json_schema(ref_template="#/definitions/{model}", mode="validation")
    defs = schema.pop("$defs", {})
    out = {"$schema": DRAFT_07, "$id": "https://clawctl.dev/schema/fleet-v1.json", "title": "clawctl fleet file (v1)"}
    out.update(schema)
    out["title"] = "clawctl fleet file (v1)"
    if defs:
        out["definitions"] = defs
    out["properties"]["agents"]["additionalProperties"] = False  # ids outside the pattern are refused
    _draft07(out)
    return out


def _draft07(node: object) -> None:
    """Rewrite the few 2020-12 spellings pydantic may emit into their draft-07 forms."""
    if isinstance(node, dict):
        if "prefixItems" in node:
            node["items"] = node.pop("prefixItems")
        if "$ref" in node and len(node) > 1:
            ref = node.pop("$ref")
            rest = dict(node)
            node.clear()
            node["allOf"] = [{"$ref": ref}]
            node.update(rest)
        for value in list(node.values()):
            _draft07(value)
    elif isinstance(node, list):
        for item in node:
            _draft07(item)
