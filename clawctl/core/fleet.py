"""One fleet from one or more fleet files: agents merged, defaults applied, sections resolved.

Merge rules (documented in docs/fleet-format.md):
- `agents` of every file merge; an id defined in two files is an error (A001).
- `defaults` apply to the agents of the file they are written in.
- Every other section may be defined in one file only (S006); `apiVersion` and `kind` may repeat, and so
  may `metadata`: files of one fleet share `metadata.name` (that is what makes them one fleet); the first wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clawctl.core.findings import Finding, Path
from clawctl.core.model.agent import Agent, AgentSpec
from clawctl.core.model.fleet_file import (
    Failover,
    FleetFile,
    LoadBalancing,
    LoadBalancingStrategy,
    Metadata,
    Monitoring,
    SessionIsolation,
    Traffic,
)

_MERGED_SECTIONS = ("metadata", "session_isolation", "load_balancing", "load_balancing_strategy",
                    "monitoring", "failover", "traffic")


@dataclass
class Fleet:
    files: list[str] = field(default_factory=list)
    agents: dict[str, Agent] = field(default_factory=dict)
    section_file: dict[str, str] = field(default_factory=dict)
    metadata: Metadata | None = None
    session_isolation: SessionIsolation | None = None
    load_balancing: LoadBalancing = field(default_factory=LoadBalancing)
    load_balancing_strategy: LoadBalancingStrategy | None = None
    monitoring: Monitoring = field(default_factory=Monitoring)
    failover: Failover = field(default_factory=Failover)
    traffic: Traffic | None = None

    @property
    def name(self) -> str:
        if self.metadata and self.metadata.name:
            return self.metadata.name
        return self.files[0] if self.files else "fleet"

    def where(self, section: str) -> str:
        """The file that defines ``section`` (the first file when none does)."""
        return self.section_file.get(section, self.files[0] if self.files else "")

    @staticmethod
    def agent_path(agent_id: str, *rest: str | int) -> Path:
        return ("agents", agent_id, *rest)


def merge(files: list[tuple[str, FleetFile]]) -> tuple[Fleet, list[Finding]]:
    from clawctl.core.lint.catalogue import finding

    fleet = Fleet(files=[name for name, _ in files])
    findings: list[Finding] = []
    for name, model in files:
        for agent_id, spec in model.agents.items():
            if agent_id in fleet.agents:
                first = fleet.agents[agent_id].file
                findings.append(finding(
                    "A001", f"agent `{agent_id}` is also defined in {first}; agent ids are unique across a fleet",
                    name, ("agents", agent_id), at_key=True,
                ))
                continue
            fleet.agents[agent_id] = Agent(agent_id, spec or AgentSpec(), model.defaults, name)
        for section in _MERGED_SECTIONS:
            value = getattr(model, section)
            if value is None:
                continue
            if section in fleet.section_file:
                if section == "metadata":
                    continue  # every file of a named fleet carries it (engine.fleet_key)
                findings.append(finding(
                    "S006", f"`{section}` is also defined in {fleet.section_file[section]}; "
                    "define each section in one file of the fleet", name, (section,), at_key=True,
                ))
                continue
            fleet.section_file[section] = name
            setattr(fleet, section, value)
    return fleet, findings
