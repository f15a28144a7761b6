"""The processes adapter: detached children, known by pid and start time; stop exactly those."""

from __future__ import annotations

import sys
import time

from clawctl.adapters.processes import ProcessRef, spawn, state, stop_all


def _sleeper(tmp_path, name="sleeper"):
    return spawn([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / f"{name}.log")


def test_a_started_process_runs_until_stopped_and_then_has_exited(tmp_path):
    started = _sleeper(tmp_path)
    try:
        assert state(started.ref) == "running"
        assert stop_all({"a": started.ref}, grace=5) == {"a": "stopped"}
        assert state(started.ref) == "exited"
        assert started.exit_code() is not None
    finally:
        started.popen.kill()
        started.popen.wait(5)


def test_a_pid_with_another_start_time_is_someone_elses_and_left_alone(tmp_path):
    started = _sleeper(tmp_path)
    try:
        impostor = ProcessRef(started.ref.pid, "12345.678")
        assert state(impostor) == "replaced"
        assert stop_all({"x": impostor}, grace=0.2) == {"x": "replaced"}
        time.sleep(0.1)
        assert started.exit_code() is None  # still running: not signalled
    finally:
        started.popen.kill()
        started.popen.wait(5)


def test_stop_all_stops_many_within_one_grace_period(tmp_path):
    procs = [_sleeper(tmp_path, f"s{i}") for i in range(5)]
    try:
        began = time.monotonic()
        outcomes = stop_all({i: p.ref for i, p in enumerate(procs)}, grace=5)
        assert outcomes == {i: "stopped" for i in range(5)}
        assert time.monotonic() - began < 4  # SIGTERM reaches all at once, not one grace each
    finally:
        for p in procs:
            p.popen.kill()
            p.popen.wait(5)


def test_output_is_appended_to_the_log(tmp_path):
    log = tmp_path / "echo.log"
    log.write_text("earlier\n")
    started = spawn([sys.executable, "-c", "print('hello')"], log)
    started.popen.wait(10)
    assert log.read_text() == "earlier\nhello\n"
    assert state(started.ref) == "exited"


def test_a_child_started_with_signals_blocked_gets_them_back_when_clawctl_starts(tmp_path):
    """A child inherits a blocked mask across exec (from a shell, a supervisor); clawctl's entry points release
    it (adapters/sigmask), and deferred_signals passes none on."""
    import signal
    import sys

    from clawctl.adapters import sigmask
    from clawctl.adapters.processes import deferred_signals, spawn

    code = ("import signal, sys\n"
            "before = signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
            "from clawctl.adapters import sigmask\n"
            "sigmask.release()\n"
            "after = signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
            "print(sorted(int(s) for s in before), sorted(int(s) for s in after))\n")
    held = sorted(int(s) for s in sigmask.HELD)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigmask.HELD)
    try:
        blocked = spawn([sys.executable, "-c", code], tmp_path / "blocked.log")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    with deferred_signals():
        deferred = spawn([sys.executable, "-c", code], tmp_path / "deferred.log")
    assert blocked.popen.wait(timeout=30) == 0 and deferred.popen.wait(timeout=30) == 0
    assert (tmp_path / "blocked.log").read_text().split("\n")[0] == f"{held} []"
    assert (tmp_path / "deferred.log").read_text().split("\n")[0] == "[] []"


def test_deferred_signals_hold_ctrl_c_even_while_another_thread_runs():
    """With the main thread's mask blocking SIGINT, the kernel handed Ctrl-C to another thread (a spinner's)
    and Python raised KeyboardInterrupt inside the block anyway: a lab agent started there was orphaned."""
    import os
    import signal
    import threading

    from clawctl.adapters.processes import deferred_signals

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    inside_done = False
    try:
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(200):  # give a handler every chance to run inside the block
                time.sleep(0.001)
            inside_done = True
        raise AssertionError("the held Ctrl-C was never delivered")
    except KeyboardInterrupt:
        assert inside_done  # delivered after the block, not inside it
    finally:
        stop.set()
        other.join(5)
