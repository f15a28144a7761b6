"""`clawctl export prometheus-sd FLEET [-o FILE]`: the fleet as Prometheus file_sd targets.

One target group per agent with an endpoint (from the fleet file, else the local lab's, as `probe`
finds them): ``{"targets": ["host:port"], "labels": {"fleet", "agent", "region", "domain"}}``, plus
``__metrics_path__`` when the metrics are not at ``/metrics`` (an endpoint with a path prefix, or an
OpenClaw gateway, whose metrics are at ``/api/diagnostics/prometheus``) and ``__scheme__`` for https.
Two labels only relabeling sees (Prometheus drops ``__meta_*`` labels after it) let one job be split
by kind or token: ``__meta_clawctl_endpoint_kind`` and, for agents with `auth`, ``__meta_clawctl_token_env``
(the variable's name, never its value). Tokens are never written: the scrape job reads them from
``authorization.credentials_file`` (docs/cli.md, "export").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from clawctl.core.agent_records import fleet_name
from clawctl.core.errors import UsageError
from clawctl.core.fleet import Fleet
from clawctl.core.model.agent import Agent
from clawctl.services.probe import lab_endpoints
from clawctl.services.validate import load_fleet

FILE_SD_SUFFIXES = (".json", ".yml", ".yaml")  # the only files Prometheus's file_sd reads
OPENCLAW_METRICS = "/api/diagnostics/prometheus"  # the gateway's diagnostics-prometheus plugin (bearer auth)
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class PrometheusSdExport:
    view: ClassVar[str] = "export-prometheus-sd"

    fleet: str
    groups: list[dict]  # the file_sd target groups, in fleet order
    skipped: dict[str, str] = field(default_factory=dict)  # agent id -> why it has no target
    sources: dict[str, str] = field(default_factory=dict)  # agent id -> "fleet" | "lab"
    output: str | None = None  # the file written, or None (the groups go to stdout)

    def file_sd(self) -> str:
        """The file_sd document, exactly as written to the file."""
        return file_sd_text(self.groups)

    def as_dict(self) -> dict:
        return {"schema_version": 1, "fleet": self.fleet, "output": self.output, "targets": self.groups,
                "sources": self.sources, "skipped": [{"id": a, "reason": why} for a, why in self.skipped.items()]}


def file_sd_text(groups: list[dict]) -> str:
    return json.dumps(groups, indent=2, ensure_ascii=False) + "\n"


def target_group(fleet: str, agent: Agent, endpoint: str) -> dict:
    """One agent's file_sd target group; a ValueError when the endpoint cannot be a scrape target."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"endpoint {endpoint!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValueError("the endpoint URL holds credentials; they are never exported")
    if parts.query or parts.fragment:
        raise ValueError("the endpoint URL has a query or fragment")
    port = parts.port or DEFAULT_PORTS[parts.scheme]  # ValueError for a port out of range
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    labels = {"fleet": fleet, "agent": agent.id}
    if agent.region:
        labels["region"] = agent.region
    if agent.domain:
        labels["domain"] = agent.domain
    prefix = parts.path.rstrip("/")
    path = prefix + (OPENCLAW_METRICS if agent.endpoint_kind == "openclaw" else "/metrics")
    if path != "/metrics":
        labels["__metrics_path__"] = path
    if parts.scheme == "https":
        labels["__scheme__"] = "https"
    labels["__meta_clawctl_endpoint_kind"] = agent.endpoint_kind or "clawctl"
    if agent.auth is not None:
        labels["__meta_clawctl_token_env"] = agent.auth.token_env
    return {"targets": [f"{host}:{port}"], "labels": labels}


def file_sd_groups(fleet: Fleet, lab: dict[str, str]) -> tuple[list[dict], dict[str, str], dict[str, str]]:
    """(target groups, skipped agent -> reason, agent -> endpoint source) for ``fleet``."""
    name = fleet_name(fleet)
    groups, skipped, sources = [], {}, {}
    for agent in fleet.agents.values():
        endpoint = agent.endpoint or lab.get(agent.id)  # the fleet file first; the lab fills the gaps
        if not endpoint:
            skipped[agent.id] = "no endpoint: set `endpoint` in the fleet file, or run `clawctl lab up`"
            continue
        try:
            groups.append(target_group(name, agent, endpoint))
        except ValueError as exc:
            skipped[agent.id] = f"endpoint not exported: {exc}"
            continue
        sources[agent.id] = "fleet" if agent.endpoint else "lab"
    return groups, skipped, sources


def export_prometheus_sd(path: str, db: Path | None = None, *, output: str | None = None) -> PrometheusSdExport:
    """The fleet's file_sd targets; written atomically to ``output`` when given (`-` or None: not written)."""
    if output == "-":
        output = None
    if output is not None and not output.lower().endswith(FILE_SD_SUFFIXES):
        raise UsageError(f"-o {output}: name it *.json (Prometheus's file_sd reads only .json, .yml and .yaml files)")
    fleet = load_fleet(path)
    groups, skipped, sources = file_sd_groups(fleet, lab_endpoints(db, fleet))
    if not groups:
        raise UsageError(f"{path}: no agent has an endpoint to export; set `endpoint`, or run `clawctl lab up {path}`")
    result = PrometheusSdExport(fleet_name(fleet), groups, skipped, sources, output)
    if output is not None:
        from clawctl.adapters.prometheus import write_file_sd

        write_file_sd(Path(output), result.file_sd())
    return result
