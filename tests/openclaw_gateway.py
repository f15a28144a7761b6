"""A real OpenClaw gateway for tests: installed from npm once, run on 127.0.0.1, always stopped.

The ``openclaw_gateway`` fixture (tests/conftest.py, session scope) is :func:`gateway_for_tests`. What it does:

1. **Install, once** (:func:`install`), into a cache folder: ``$CLAWCTL_OPENCLAW_CACHE``, else
   ``~/.cache/clawctl-tests/openclaw``. Node 24 (OpenClaw wants >= 24.16) comes from the npm registry as
   the package ``node-<os>-<arch>@24`` unless a new enough ``node`` is already on PATH; then
   ``openclaw@2026.9.6`` with ``--ignore-scripts``. Each goes into a temporary folder renamed into place
   when complete, under an exclusive lock on ``<cache>/.lock``, so parallel runs wait for one install
   and a killed install leaves nothing half done. Cold: ~5 s (Node) + ~30 s (OpenClaw), ~840 MB; warm:
   a few milliseconds.
2. **Configure** a gateway in the test's own folder: ``gateway.mode: local``, ``bind: loopback``, a free
   port, token auth with a random token, the bundled ``admin-http-rpc`` plugin enabled (the key
   ``plugins.entries.admin-http-rpc.enabled`` that ``openclaw plugins enable admin-http-rpc`` writes), its
   log file in the folder. ``HOME``, ``OPENCLAW_STATE_DIR``, ``OPENCLAW_CONFIG_PATH`` and ``TMPDIR`` point
   into the folder, ``OPENCLAW_OFFLINE=1``, no channels, every inherited ``OPENCLAW_*``/``XDG_*`` variable
   dropped.
3. **Start** ``openclaw gateway run --port P`` in its own process group and wait (at most
   :data:`READY_TIMEOUT`) until ``/readyz`` answers 200 ``{"ready": true}``: ~14 s on 2 cores.
4. **Stop** it at teardown, whatever happened: SIGTERM to its process group, SIGKILL after
   :data:`STOP_TIMEOUT` (a gateway closes its port at once but may wait long on cleanup).

No npm, or an install that fails (offline), skips the tests that use it; with the env var ``CI`` set it
fails them instead, with the reason. A gateway that installed but does not start always fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

OPENCLAW_VERSION = "2026.9.6"
NODE_MAJOR = 24
NODE_MIN = (24, 16)  # OpenClaw's engines field
CACHE_ENV = "CLAWCTL_OPENCLAW_CACHE"
DEFAULT_CACHE = Path("~/.cache/clawctl-tests/openclaw")
INSTALL_TIMEOUT = 900.0  # seconds for one npm install
LOCK_TIMEOUT = 1800.0  # seconds to wait for another run's install
READY_TIMEOUT = 90.0  # seconds from spawn to /readyz ready
STOP_TIMEOUT = 15.0  # seconds from SIGTERM to SIGKILL


class Unavailable(Exception):
    """OpenClaw cannot be installed here (no npm, offline, an unsupported platform): skip, or fail under CI."""


@dataclass(frozen=True)
class Install:
    node: Path  # the node binary (>= 24.16)
    openclaw: Path  # node_modules/openclaw/openclaw.mjs
    package: Path  # node_modules/openclaw: the installed package, to read its source
    seconds: float  # what this call took: the install when cold, the check when warm
    cold: bool  # whether this call installed anything


@dataclass
class OpenClawGateway:
    """A running gateway: ``base_url`` (``http://127.0.0.1:P``) and its ``token``. One per session, shared:
    a test that suspends it or changes its config puts it back (resume in a ``finally``), or the next test
    finds it `draining` for up to the two-minute lease."""

    base_url: str
    token: str = field(repr=False)
    port: int
    pid: int
    folder: Path  # HOME, state, config, log
    log_path: Path
    install: Install
    start_seconds: float  # spawn to /readyz ready
    env: dict[str, str] = field(repr=False, default_factory=dict)
    version: str = OPENCLAW_VERSION

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``openclaw ARGS`` with this gateway's environment (its config and state), e.g.
        ``gw.cli("plugins", "disable", "admin-http-rpc")``."""
        return subprocess.run([str(self.install.node), str(self.install.openclaw), *args], env=self.env,
                              cwd=self.folder, capture_output=True, text=True, timeout=timeout, check=False)

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)


# -- install ---------------------------------------------------------------------------------------------
def cache_folder() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def install(cache: Path | None = None) -> Install:
    """Node 24 and openclaw@OPENCLAW_VERSION in ``cache`` (installed on first use), or :class:`Unavailable`."""
    if os.name != "posix":
        raise Unavailable("the OpenClaw test gateway runs on Linux and macOS only")
    cache = cache or cache_folder()
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not on PATH (install Node.js and npm to run the OpenClaw gateway tests)")
    started = time.perf_counter()
    cold = False
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Unavailable(f"cannot create the cache folder {cache}: {exc.strerror or exc}") from None
    with _locked(cache / ".lock"):
        for stale in cache.glob(".tmp-*"):  # a killed install's leftovers; only the lock holder makes them
            shutil.rmtree(stale, ignore_errors=True)
        node = _system_node()
        if node is None:
            node_dir = cache / f"node-{NODE_MAJOR}"
            pkg = _node_package()
            node = node_dir / "node_modules" / pkg / "bin" / "node"
            if not node.is_file():
                cold = True
                shutil.rmtree(node_dir, ignore_errors=True)
                _npm_install(npm, cache, node_dir, f"{pkg}@{NODE_MAJOR}", path=None)
            if _node_version(node) < NODE_MIN:
                raise Unavailable(f"{pkg}@{NODE_MAJOR} from npm is older than {'.'.join(map(str, NODE_MIN))}")
        oc_dir = cache / f"openclaw-{OPENCLAW_VERSION}"
        package = oc_dir / "node_modules" / "openclaw"
        if _package_version(package) != OPENCLAW_VERSION or not (package / "openclaw.mjs").is_file():
            cold = True
            shutil.rmtree(oc_dir, ignore_errors=True)
            _npm_install(npm, cache, oc_dir, f"openclaw@{OPENCLAW_VERSION}", path=node.parent)
    return Install(node, package / "openclaw.mjs", package, time.perf_counter() - started, cold)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+b") as fh:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(f"another run has held {path} for over {LOCK_TIMEOUT:g}s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _npm_install(npm: str, cache: Path, target: Path, spec: str, *, path: Path | None) -> None:
    """``npm install SPEC`` into a temporary folder, renamed to ``target`` once complete."""
    tmp = cache / f".tmp-{target.name}-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_prefix")}
    if path is not None:  # npm (a node script) and the packages' engines checks run under Node 24
        env["PATH"] = f"{path}{os.pathsep}{env.get('PATH', '')}"
    cmd = [npm, "install", "--prefix", str(tmp), "--no-audit", "--no-fund", "--no-update-notifier",
           "--ignore-scripts", "--loglevel=error", "--fetch-retries=1", "--fetch-retry-mintimeout=2000",
           "--fetch-retry-maxtimeout=10000", spec]  # offline fails in seconds, not after a minute of retries
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise Unavailable(f"npm install {spec} took over {INSTALL_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise Unavailable(f"npm install {spec} failed (offline?): {_npm_reason(proc.stderr or proc.stdout)}")
    os.rename(tmp, target)


def _npm_reason(output: str) -> str:
    """npm's error in one line: its code and first message (`ECONNREFUSED: FetchError: request to ... failed`)."""
    errors = [ln.removeprefix("npm error").strip() for ln in output.splitlines() if ln.startswith("npm error")]
    code = next((e.split(None, 1)[1] for e in errors if e.startswith("code ") and " " in e), None)
    message = next((e for e in errors if e and not e.startswith(("code ", "syscall ", "errno ", "at ", "{", "}"))
                    and "complete log" not in e), None)
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    text = ": ".join(x for x in (code, message) if x) or " | ".join(lines[-3:]) or "no output"
    return text[:400]


def _node_package() -> str:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system())
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if system is None or machine is None:
        raise Unavailable(f"no Node {NODE_MAJOR} package on npm for {platform.system()} {platform.machine()}")
    return f"node-{system}-{machine}"


def _system_node() -> Path | None:
    """``node`` on PATH when it is new enough for OpenClaw, else None (then Node comes from npm)."""
    found = shutil.which("node")
    if found is None:
        return None
    node = Path(found).resolve()
    return node if _node_version(node) >= NODE_MIN else None


def _node_version(node: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return (0,)
    m = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.strip())
    return tuple(int(x) for x in m.groups()) if m else (0,)


def _package_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None


# -- run -------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_env(folder: Path, node: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "XDG_", "NODE_OPTIONS"))}
    (folder / "home").mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    env.update({
        "PATH": f"{node.parent}{os.pathsep}{env.get('PATH', '')}",
        "HOME": str(folder / "home"),
        "TMPDIR": str(folder / "tmp"),
        "OPENCLAW_STATE_DIR": str(folder / "state"),
        "OPENCLAW_CONFIG_PATH": str(folder / "state" / "openclaw.json"),
        "OPENCLAW_OFFLINE": "1",
        "NO_COLOR": "1",
    })
    return env


def write_config(folder: Path, port: int, token: str) -> Path:
    state = folder / "state"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = {
        "gateway": {"mode": "local", "port": port, "bind": "loopback", "auth": {"mode": "token", "token": token}},
        "plugins": {"entries": {"admin-http-rpc": {"enabled": True}}},
        "logging": {"file": str(folder / "gateway.log")},
    }
    path = state / "openclaw.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh, indent=2)
    return path


@contextlib.contextmanager
def running_gateway(folder: Path, inst: Install) -> Iterator[OpenClawGateway]:
    """A gateway configured in ``folder``, ready, yielded; stopped when the block ends, however it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_urlsafe(24)
    write_config(folder, port, token)
    env = gateway_env(folder, inst.node)
    console = folder / "console.log"
    started = time.perf_counter()
    with open(console, "wb") as out:
        proc = subprocess.Popen([str(inst.node), str(inst.openclaw), "gateway", "run", "--port", str(port)],
                                env=env, cwd=folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(proc, base, console)
        yield OpenClawGateway(base, token, port, proc.pid, folder, console, inst, time.perf_counter() - started,
                              env)
    finally:
        stop(proc)


def _wait_ready(proc: subprocess.Popen, base: str, console: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the OpenClaw gateway exited with {proc.returncode} before it was ready; "
                                   f"its console:\n{_tail(console, 30)}")
            try:
                r = client.get(base + "/readyz")
                body = r.json() if "json" in r.headers.get("content-type", "") else None
                if r.status_code == 200 and isinstance(body, dict) and body.get("ready") is True:
                    return
                last = f"HTTP {r.status_code} {r.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
    raise RuntimeError(f"the OpenClaw gateway was not ready within {READY_TIMEOUT:g}s (last: {last}); "
                       f"its console:\n{_tail(console, 30)}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the gateway's process group (its own session, so only what it started), SIGKILL to whatever
    is left after STOP_TIMEOUT."""
    pgid = proc.pid  # start_new_session: the group is the gateway's own
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.1)
    if proc.poll() is None or _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


# -- the fixture -----------------------------------------------------------------------------------------
def gateway_for_tests(folder: Path) -> Iterator[OpenClawGateway]:
    """The ``openclaw_gateway`` fixture's body: install (or skip / fail under CI), start, yield, stop."""
    import pytest

    try:
        inst: Install | None = install()
        reason = ""
    except Unavailable as exc:
        inst, reason = None, str(exc)
    if inst is None:
        if os.environ.get("CI"):
            pytest.fail(f"OpenClaw gateway unavailable under CI: {reason}", pytrace=False)
        pytest.skip(f"OpenClaw gateway unavailable: {reason}")
    with running_gateway(folder, inst) as gateway:
        yield gateway
