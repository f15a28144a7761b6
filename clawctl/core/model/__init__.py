"""The fleet model (pydantic): every key of the fleet file, defaults, and derived views."""

from clawctl.core.model.agent import Agent, AgentSpec, BusinessHours, ServiceTime
from clawctl.core.model.fleet_file import FleetFile

__all__ = ["Agent", "AgentSpec", "BusinessHours", "FleetFile", "ServiceTime"]
