"""`clawctl lab up|status|down` and `clawctl probe` end to end: real processes, real loopback HTTP.

Every command runs as a subprocess with its store in tmp (CLAWCTL_DB, XDG_DATA_HOME, HOME). Every test
that can start agents stops them in a ``finally``: `lab down`, then a kill of any process whose command
line names this test's fleet file (so a failed assertion never leaves an agent running).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from clawctl.adapters.store import open_store
from clawctl.cli.main import main

TOKEN_VAR = "CLAWCTL_TEST_LAB_TOKEN"
TOKEN = "lab-token-5e1d"
UNSET_VAR = "CLAWCTL_TEST_LAB_TOKEN_NEVER_SET"


def fleet_text(name: str, *, alpha_port: int | None, token_var: str = TOKEN_VAR, endpoints: bool = True) -> str:
    alpha = f"    endpoint: http://127.0.0.1:{alpha_port}\n" if endpoints and alpha_port else ""
    return f"""\
apiVersion: clawctl/v1
kind: Fleet
metadata:
  name: {name}
defaults:
  availability: 24/7
  capabilities: [ticket_creation]
  channels: [email]
  max_concurrent_conversations: 5
  auth:
    token_env: {token_var}
  service_time: {{distribution: exponential, mean: 60s}}
agents:
  alpha:
    domain: support
{alpha}  beta:
    domain: support
  gamma:
    domain: billing
"""


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of every command, in subprocesses and in this process alike."""
    ours = {"CLAWCTL_DB": str(tmp_path / "store.db"), "XDG_DATA_HOME": str(tmp_path / "xdg"),
            "HOME": str(tmp_path / "home"), "NO_COLOR": "1", TOKEN_VAR: TOKEN}
    for name, value in ours.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(UNSET_VAR, raising=False)
    return dict(os.environ)


def cli(env: dict[str, str], *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A command in its own process."""
    return subprocess.run([sys.executable, "-m", "clawctl.cli.main", *argv], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def sub(env):
    """``sub(*argv)``: a command in its own process."""
    return lambda *argv: cli(env, *argv)


@pytest.fixture
def here(capsys):
    """A command in this process (no interpreter start-up): ``here(*argv) -> CompletedProcess``."""

    def run(*argv: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(argv), code, out, err)

    return run


def cli_json(run, *argv: str, code: int = 0) -> dict:
    r = run(*argv, "--format", "json")
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    payload = json.loads(r.stdout)
    assert payload["schema_version"] == 1
    return payload


def one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("clawctl: error: "), r.stderr
    assert "Traceback" not in r.stderr
    return r.stderr


def agents_of(fleet: Path) -> list[psutil.Process]:
    """Live (not zombie) processes serving this fleet file."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if str(fleet) in cmdline and "serve" in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, waiting for its reaper
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def cleanup(env):
    """Register fleet files; at teardown `lab down`, then kill whatever still serves them."""
    fleets: list[Path] = []
    yield fleets.append
    if fleets:
        main(["lab", "down"])
    for fleet in fleets:
        for proc in agents_of(fleet):
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def write_fleet(tmp_path: Path, name: str, **kw) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(fleet_text(name, **kw))
    return path


def probe_json(run, fleet: Path, code: int) -> dict:
    return cli_json(run, "probe", str(fleet), "--timeout", "2", code=code)


# ------------------------------------------------------------------------------------------- lifecycle



def held_signals(pid: int) -> set[int]:
    """The signals process ``pid`` blocks (Linux: SigBlk in /proc/PID/status, a hex bit mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    raise AssertionError(f"no SigBlk for {pid}")


def test_lab_lifecycle_up_status_probe_down(tmp_path, env, cleanup, sub, here):
    port = free_port()
    fleet = write_fleet(tmp_path, "lab-life", alpha_port=port)
    cleanup(fleet)

    # `lab up` from a shell that is gone before `lab down` runs.
    command = (f"{shlex.quote(sys.executable)} -m clawctl.cli.main lab up {shlex.quote(str(fleet))} "
               "--time-scale 0.01 --seed 5 --format json")
    shell = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    out, err = shell.communicate(timeout=60)
    assert shell.returncode == 0, err
    assert not psutil.pid_exists(shell.pid)  # the shell (and the `lab up` it ran) is gone
    up = json.loads(out)
    assert sorted(up["started"]) == ["alpha", "beta", "gamma"] and up["kept"] == []
    pids = {a["id"]: a["pid"] for a in up["agents"]}
    endpoints = {a["id"]: a["endpoint"] for a in up["agents"]}
    assert set(pids) == {"alpha", "beta", "gamma"}
    assert endpoints["alpha"] == f"http://127.0.0.1:{port}"  # the fleet's loopback port
    for agent_id, pid in pids.items():
        proc = psutil.Process(pid)
        assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE, agent_id
        assert os.getsid(pid) == pid  # its own session: it outlived the shell
        assert proc.ppid() != shell.pid
        # `lab up` holds Ctrl-C and SIGTERM while it starts and records each agent; the agent must not keep
        # them held (it did: `lab down` then waited out the grace period and killed it)
        assert held_signals(pid) & {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} == set(), agent_id
    assert {p.pid for p in agents_of(fleet)} == set(pids.values())

    # The endpoints file, beside the logs, for tools that do not read the store.
    lab_dir = tmp_path / "lab" / "lab-life"
    assert json.loads((lab_dir / "endpoints.json").read_text()) == endpoints
    assert (lab_dir / "alpha.log").exists()

    status = cli_json(here, "lab", "status")
    assert sorted((a["id"], a["state"], a["pid"]) for a in status["agents"]) == \
        sorted((i, "running", p) for i, p in pids.items())
    assert status["fleet"] == "lab-life" and status["log_dir"] == str(lab_dir)  # from the lab's records
    assert {k: cli_json(here, "lab", "status", "--fleet", "lab-life")[k] for k in ("fleet", "log_dir")} == \
        {"fleet": "lab-life", "log_dir": str(lab_dir)}

    # Every agent ready; the fleet's endpoint where it gives one, the lab's elsewhere.
    report = probe_json(here, fleet, 0)
    assert set(report) == {"schema_version", "fleet", "at", "agents", "skipped", "summary"}
    assert report["fleet"] == "lab-life" and report["summary"] == {"ready": 3} and report["skipped"] == []
    by_id = {a["id"]: a for a in report["agents"]}
    assert {i: a["state"] for i, a in by_id.items()} == {"alpha": "ready", "beta": "ready", "gamma": "ready"}
    assert {i: a["endpoint_source"] for i, a in by_id.items()} == {"alpha": "fleet", "beta": "lab", "gamma": "lab"}
    for a in by_id.values():
        assert {"detail", "failing", "latency_ms", "active_conversations", "max_conversations", "response_time_ms",
                "error_rate", "cpu", "memory", "metrics_error"} <= set(a)
        assert a["max_conversations"] == 5 and a["memory"] > 0 and a["metrics_error"] is None

    # `up` again keeps what runs: no duplicates.
    again = cli_json(sub, "lab", "up", str(fleet), "--time-scale", "0.01")
    assert again["started"] == [] and sorted(again["kept"]) == ["alpha", "beta", "gamma"]
    assert {a["id"]: a["pid"] for a in again["agents"]} == pids
    assert len(cli_json(here, "lab", "status")["agents"]) == 3

    # Degraded (an unready fault) -> exit 1; down (an agent killed) -> exit 4.
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        r = http.post(endpoints["beta"] + "/v1/admin/fault", json={"mode": "unready", "lease": 60})
        assert r.status_code == 401  # the token from the fleet's auth.token_env guards /v1
        r = http.post(endpoints["beta"] + "/v1/admin/fault", json={"mode": "unready", "lease": 60}, headers=auth)
        assert r.status_code == 200
        report = probe_json(here, fleet, 1)
        beta = next(a for a in report["agents"] if a["id"] == "beta")
        assert beta["state"] == "degraded" and beta["failing"] == ["fault-injected"]
        assert http.post(endpoints["beta"] + "/v1/admin/fault", json={"mode": "none"}, headers=auth).status_code == 200
    os.kill(pids["gamma"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not gone(pids["gamma"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    report = probe_json(here, fleet, 4)
    states = {a["id"]: a["state"] for a in report["agents"]}
    assert states == {"alpha": "ready", "beta": "ready", "gamma": "down"}
    assert here("lab", "status").returncode == 4

    # `up` restarts what died and keeps the rest; the dead record is closed, so status is clean again.
    restarted = cli_json(sub, "lab", "up", str(fleet), "--time-scale", "0.01")
    assert restarted["started"] == ["gamma"] and sorted(restarted["kept"]) == ["alpha", "beta"]
    status = cli_json(here, "lab", "status")
    assert len(status["agents"]) == 3 and {a["state"] for a in status["agents"]} == {"running"}
    new_gamma = next(a["pid"] for a in status["agents"] if a["id"] == "gamma")
    assert new_gamma != pids["gamma"]

    # `down` stops exactly what `up` started, from a process that never saw the shell that started them.
    assert sorted(p.name for p in lab_dir.glob("*.ready.json")) == ["alpha.ready.json", "beta.ready.json",
                                                                    "gamma.ready.json"]
    down = cli_json(here, "lab", "down")
    assert sorted(down["stopped"]) == ["alpha", "beta", "gamma"]
    assert down["fleet"] == "lab-life" and down["log_dir"] == str(lab_dir)
    # nothing reads the endpoints and ready files once the agents are stopped: gone; the logs stay
    assert sorted(p.name for p in lab_dir.iterdir()) == ["alpha.log", "beta.log", "gamma.log"]
    for pid in [pids["alpha"], pids["beta"], new_gamma]:
        assert gone(pid)
    assert agents_of(fleet) == []
    assert cli_json(here, "lab", "status")["agents"] == []
    with open_store(Path(env["CLAWCTL_DB"])) as store:
        assert store.lab_processes() == []


def test_lab_down_leaves_a_reused_pid_alone(tmp_path, env, here):
    sleeper = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        with open_store(Path(env["CLAWCTL_DB"])) as store:
            with store.write():
                fleet_id = store.fleet_id("reuse", "2026-01-01")
                store.add_lab_process(fleet_id, "ghost", sleeper.pid, "12345.678", "http://127.0.0.1:9", "2026-01-01")
        status = cli_json(here, "lab", "status", code=4)
        assert [(a["id"], a["state"]) for a in status["agents"]] == [("ghost", "replaced")]
        down = cli_json(here, "lab", "down")
        assert down["stopped"] == [] and down["gone"] == ["ghost"]
        time.sleep(0.2)
        assert sleeper.poll() is None  # still alive: not ours to stop
        assert cli_json(here, "lab", "status")["agents"] == []
    finally:
        sleeper.kill()
        sleeper.wait(5)


def test_lab_down_kills_what_ignores_sigterm_after_the_grace(tmp_path, env, here, monkeypatch):
    from clawctl.adapters import processes

    monkeypatch.setattr(processes, "STOP_GRACE", 0.3)
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                 "print('ready', flush=True)\ntime.sleep(30)"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
        start = f"{psutil.Process(stubborn.pid).create_time():.3f}"
        with open_store(Path(env["CLAWCTL_DB"])) as store:
            with store.write():
                fleet_id = store.fleet_id("stubborn", "2026-01-01")
                store.add_lab_process(fleet_id, "mule", stubborn.pid, start, "http://127.0.0.1:9", "2026-01-01")
        started = time.monotonic()
        down = cli_json(here, "lab", "down")
        assert down["stopped"] == ["mule"]
        assert stubborn.wait(2) == -signal.SIGKILL
        assert time.monotonic() - started < 2.0
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait(5)
        if stubborn.stdout:
            stubborn.stdout.close()


def test_lab_up_fails_cleanly_when_an_agent_cannot_start(tmp_path, env, cleanup, here):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = holder.getsockname()[1]
        fleet = write_fleet(tmp_path, "lab-taken", alpha_port=port)
        cleanup(fleet)
        r = cli(env, "lab", "up", str(fleet), "--time-scale", "0.01")
        assert r.returncode == 4, r.stderr
        line = one_error_line(r)
        assert "alpha" in line and "beta" not in line and "gamma" not in line
        assert agents_of(fleet) == []  # the agents this run started were stopped again
        assert cli_json(here, "lab", "status")["agents"] == []
    finally:
        holder.close()


def test_lab_up_refuses_an_unset_token_variable(tmp_path, env, here):
    fleet = write_fleet(tmp_path, "lab-notoken", alpha_port=None, token_var=UNSET_VAR)
    r = here("lab", "up", str(fleet))
    assert r.returncode == 2
    assert UNSET_VAR in one_error_line(r)
    assert agents_of(fleet) == []


# ---------------------------------------------------------------------------------------------- probe


def test_probe_without_any_endpoint_is_a_usage_error(tmp_path, env, here):
    fleet = write_fleet(tmp_path, "noendpoints", alpha_port=None)
    r = here("probe", str(fleet))
    assert r.returncode == 2
    assert "endpoint" in one_error_line(r)


def test_probe_an_agent_that_is_down(tmp_path, env, here):
    fleet = write_fleet(tmp_path, "downfleet", alpha_port=free_port())
    report = probe_json(here, fleet, 4)
    assert [(a["id"], a["state"], a["detail"], a["endpoint_source"]) for a in report["agents"]] == \
        [("alpha", "down", "refused", "fleet")]
    assert sorted(s["id"] for s in report["skipped"]) == ["beta", "gamma"]
    assert report["summary"] == {"down": 1}
    text = here("probe", str(fleet))
    assert text.returncode == 4
    assert "alpha" in text.stdout and "down" in text.stdout and TOKEN not in text.stdout + text.stderr


def _lab_rows(env) -> list:
    with open_store(Path(env["CLAWCTL_DB"])) as store:
        return store.lab_processes()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_lab_up_stopped_mid_start_leaves_nothing_behind(tmp_path, env, here, sig):
    """SIGTERM: `lab up` stops what it started and exits 130. SIGKILL cannot be caught: every agent was
    recorded as soon as it was started, so `lab down` (or the next `lab up`) stops them."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text("stopped", alpha_port=None))
    try:
        _stop_mid_start(env, fleet, sig)
        _check_nothing_left(env, here, fleet, sig)
    finally:  # whatever the outcome, leave no agent running after the test
        for leftover in agents_of(fleet):
            leftover.kill()


def _stop_mid_start(env, fleet: Path, sig: int) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "clawctl.cli.main", "lab", "up", str(fleet)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(_lab_rows(env)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_lab_rows(env)) == 3, "the three agents were not recorded while starting"
        assert any(not row.endpoint for row in _lab_rows(env))  # still starting when the signal comes
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        expected = (130, "clawctl: error: interrupted\n") if sig == signal.SIGTERM else (-signal.SIGKILL, err)
        assert (proc.returncode, err) == expected
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def _check_nothing_left(env, here, fleet, sig) -> None:
    if sig == signal.SIGTERM:
        assert _lab_rows(env) == []  # the records were closed too
    else:
        assert cli_json(here, "lab", "status", code=4)["agents"]  # recorded: status lists them
        down = cli_json(here, "lab", "down")
        assert sorted(down["stopped"] + down["gone"]) == ["alpha", "beta", "gamma"]
    deadline = time.monotonic() + 10
    while agents_of(fleet) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert agents_of(fleet) == []
    up = cli_json(here, "lab", "up", str(fleet))  # and the next start is clean
    try:
        assert sorted(up["started"]) == ["alpha", "beta", "gamma"]
    finally:
        cli_json(here, "lab", "down")


@pytest.mark.parametrize("scale", ["nan", "inf", "0", "-1", "1e9"])
def test_lab_up_refuses_a_time_scale_that_is_not_a_finite_positive_bound(tmp_path, env, here, scale):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text("scales", alpha_port=None))
    r = here("lab", "up", str(fleet), "--time-scale", scale)
    assert r.returncode == 2 and "--time-scale must be above 0 and at most 1000" in one_error_line(r)
    assert agents_of(fleet) == []


def test_a_fleet_name_that_is_a_path_never_leaves_the_labs_folder(tmp_path, env, here):
    """`metadata.name: ../../x` draws V008 in validate; `lab up` refuses it like any error finding, and the
    folder it would use is a single safe component under the store's `lab/` folder."""
    from clawctl.core.agent_records import safe_path_component

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text("../../escaped", alpha_port=None))
    r = here("lab", "up", str(fleet))
    assert r.returncode == 1 and "V008" in one_error_line(r)  # as `clawctl validate` exits for it
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    folder = Path(env["CLAWCTL_DB"]).parent / "lab" / safe_path_component("../../escaped")
    assert folder.parent == Path(env["CLAWCTL_DB"]).parent / "lab"
