"""Operator-given shell commands (a drill's `--fault-command` / `--restore-command`): run once, bounded in time,
their output kept short. The command is the operator's own, run by their shell, as with any CI step."""

from __future__ import annotations

import subprocess

OUTPUT_CHARS = 300


def run(command: str, *, timeout: float = 60.0, env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit status, the last characters of its combined output); a timeout is status -1."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return -1, f"no end within {timeout:g}s"
    out = (done.stdout + done.stderr).strip()
    return done.returncode, out[-OUTPUT_CHARS:]
