"""Live traffic (`clawctl traffic`): the router's state and rules, pure; the driver is in services."""
