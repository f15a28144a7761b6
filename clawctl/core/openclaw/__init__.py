"""OpenClaw's own configuration (openclaw.json): its model, reading, linting, routing and import. Pure."""
