"""Shared fixtures. ``cli`` runs clawctl in-process in an injected environment: captured streams, a fixed
clock, an environment of the test's choosing and a store in the test's folder."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from clawctl.cli.main import run
from clawctl.core.env import Env
from clawctl.core.sim import jit

# The suite's simulations run the compiled kernel, whatever size the first one is (a tiny first run
# would otherwise make the whole process interpret it); tests/core/test_sim_interpret.py checks both.
jit.choose(interpret=False)

FIXED_NOW = datetime(2026, 1, 5, 9, 30, 0, 250000, tzinfo=timezone.utc)  # a Monday morning


@dataclass
class CliRun:
    code: int
    out: str
    err: str
    env: Env

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


class Cli:
    """``cli("history", "--format", "json")`` -> :class:`CliRun`. ``cli.db`` is the test's store."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "store.db"
        self.now = FIXED_NOW
        self.environ: dict[str, str] = {}

    def __call__(self, *argv: str) -> CliRun:
        env = Env(stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: self.now, db=self.db,
                  environ=dict(self.environ))
        code = run(list(argv), env)
        return CliRun(code, env.stdout.getvalue(), env.stderr.getvalue(), env)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("CLAWCTL_DB", raising=False)  # the Env's store, not one from the shell running the tests
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return Cli(tmp_path)


@pytest.fixture
def agent_servers():
    """``agent_servers(AgentServer) -> base URL``: real reference-agent servers on 127.0.0.1, run by one
    background event loop; every one is stopped at teardown (``agent_servers.stop(server)`` stops one sooner)."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="agent-servers", daemon=True)
    thread.start()
    servers = []

    def start(server) -> str:
        port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    def stop(server) -> None:
        """Stop ``server`` now (an agent killed mid-run): its port refuses from here on."""
        if server in servers:
            servers.remove(server)
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)

    start.stop = stop

    try:
        yield start
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="session")
def openclaw_gateway(tmp_path_factory: pytest.TempPathFactory):
    """A real OpenClaw gateway (npm's openclaw, pinned) on 127.0.0.1 with token auth and the admin-http-rpc
    plugin on: ``.base_url``, ``.token``, ``.cli(...)``. Installed once into a cache folder, started once per
    session, always stopped; skipped without npm or offline (a failure under CI). tests/openclaw_gateway.py."""
    from openclaw_gateway import gateway_for_tests

    yield from gateway_for_tests(tmp_path_factory.mktemp("openclaw"))
