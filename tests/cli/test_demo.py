"""`clawctl demo` end to end, as a user runs it (a subprocess), and interrupted at each step: every agent it
started is stopped either way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest


def demo_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CLAWCTL_DB", "NO_COLOR")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    return env


def leftovers(folder) -> list[psutil.Process]:
    """Processes still running whose command line names the demo's folder (its agents, its warm-up)."""
    out = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(folder) in part for part in proc.info["cmdline"] or []):
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def gone(folder, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while leftovers(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not leftovers(folder)


def test_the_demo_shows_every_verb_and_leaves_nothing_running(tmp_path):
    folder = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "clawctl", "demo", "--dir", str(folder)], capture_output=True,
                         text=True, env=demo_env(tmp_path), timeout=170, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for n, title in enumerate(["validate", "lab up", "traffic", "top", "simulate --compare", "failover drill",
                               "lab down"], start=1):
        assert f"── [{n}/7] {title}:" in run.stdout, title
    assert "All checks passed" in run.stdout
    assert "response_time" in run.stdout and "increase_worker_processes" in run.stdout  # the slowed agent
    assert "PASSED" in run.stdout and "stopped 4 agents" in run.stdout
    assert (folder / "simulation.html").stat().st_size > 1000
    drill = (folder / "drill.md").read_text()
    assert drill.startswith("# Failover drill: agent eu_sales\n") and "\\n" not in drill  # real lines
    assert "## Timeline" in drill.splitlines() and "restored: eu_sales ready" in drill
    # the warm-up succeeded: its log is removed, leaving the fleet and the two reports (docs/commands/demo.md)
    assert sorted(p.name for p in folder.iterdir()) == ["drill.md", "fleet.yaml", "simulation.html"]
    assert gone(folder)


@pytest.mark.parametrize("after, keep", [(1, False), (2, False), (4, False), (5, False), (2, True)])
def test_ctrl_c_at_any_step_stops_the_lab(tmp_path, after, keep):
    """Interrupt during the step after header ``after`` (lab up, traffic and top, simulate, the drill); with
    ``--keep`` too: it keeps the lab of a demo that ran to the end, never of an interrupted one."""
    folder = tmp_path / "demo"
    argv = [sys.executable, "-m", "clawctl", "demo", "--dir", str(folder), *(["--keep"] if keep else [])]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=demo_env(tmp_path),
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith(f"── [{after}/7]"):
                break
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (130, 0), err[-2000:]
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert "interrupted: the demo's lab was stopped" in out and "left running" not in out
    assert gone(folder), [p.info["cmdline"] for p in leftovers(folder)]
    if keep:  # nothing recorded as running either
        status = subprocess.run([sys.executable, "-m", "clawctl", "lab", "status", "--format", "json"],
                                capture_output=True, text=True, env=demo_env(tmp_path), timeout=60)
        assert '"agents": []' in status.stdout, status.stdout + status.stderr


def test_a_folder_holding_another_fleet_is_refused_and_left_alone(tmp_path, cli):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "fleet.yaml").write_text("mine\n")
    run = cli("demo", "--dir", str(folder))
    assert run.code == 2 and "not the demo fleet" in run.err and run.err.count("\n") == 1
    assert (folder / "fleet.yaml").read_text() == "mine\n" and not (folder / "warm.log").exists()


def test_a_demo_folder_that_cannot_be_made_is_exit_3(tmp_path, cli):
    (tmp_path / "file").write_text("x")
    run = cli("demo", "--dir", str(tmp_path / "file" / "demo"))
    assert run.code == 3 and "cannot create the demo folder" in run.err
