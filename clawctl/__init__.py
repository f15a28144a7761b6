"""clawctl: the operations toolkit for fleets of OpenClaw AI agents."""

__version__ = "0.1.0"
