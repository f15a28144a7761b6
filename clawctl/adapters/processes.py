"""Child processes: start them detached, tell whether a recorded one still runs, stop exactly those.

A process is known by its pid *and* its own start time (:class:`ProcessRef`): a pid whose start time
no longer matches was reused by another program, which is never signalled.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from clawctl.adapters import sigmask

STOP_GRACE = 5.0


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start: str  # the process's start time, as psutil reports it, to 1 ms: "1764489600.123"


def _start_of(proc: psutil.Process) -> str:
    return f"{proc.create_time():.3f}"


def _same(proc: psutil.Process, ref: ProcessRef) -> bool:
    """Whether ``proc`` is still the process ``ref`` recorded (the one start-time check)."""
    return _start_of(proc) == ref.start


@dataclass
class Started:
    """A process this clawctl started: its reference, and a handle to ask whether it has exited."""

    ref: ProcessRef
    popen: subprocess.Popen

    def exit_code(self) -> int | None:
        return self.popen.poll()


def spawn(cmd: Sequence[str], log: Path) -> Started:
    """Start ``cmd`` in its own session (it outlives the shell that started it), output appended to ``log``."""
    with open(log, "ab") as out:
        popen = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 start_new_session=True, close_fds=True)
    try:
        start = _start_of(psutil.Process(popen.pid))
    except psutil.NoSuchProcess:  # gone already; it can no longer be mistaken for another
        start = ""
    return Started(ProcessRef(popen.pid, start), popen)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends (then they are delivered): for a child
    started and recorded in one step, so an interrupt never lands between the two and orphans it.

    The handlers are swapped for ones that only note the signal, and the noted signals are raised again
    once the old handlers are back. Blocking them with the thread's signal mask is not enough: the
    kernel then hands a process-directed signal to another thread (a progress spinner's, say), and
    Python runs the handler in the main thread all the same, inside the block. Nor does a child
    inherit anything from this (a mask would be inherited across exec).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: object) -> None:
        noted.append(signum)

    old = {sig: signal.signal(sig, note) for sig in sigmask.HELD}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        for sig in dict.fromkeys(noted):  # each once, in the order they came
            signal.raise_signal(sig)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM and SIGHUP raise KeyboardInterrupt like Ctrl-C does, so cleanup runs.

    Without this, the default action of SIGTERM ends the process at once and leaves what it started.
    Only the main thread can set handlers; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def state(ref: ProcessRef) -> str:
    """``running``, ``exited`` or ``replaced`` (the pid now belongs to another process)."""
    try:
        proc = psutil.Process(ref.pid)
        if not _same(proc, ref):
            return "replaced"
        if proc.status() == psutil.STATUS_ZOMBIE:
            return "exited"
        return "running"
    except psutil.NoSuchProcess:
        return "exited"
    except psutil.AccessDenied:
        return "running"


def stop_all(refs: Mapping[Hashable, ProcessRef], grace: float | None = None) -> dict[Hashable, str]:
    """SIGTERM every process still ours, one grace period for all, then SIGKILL what remains.

    Returns per key ``stopped``, ``exited`` (gone before we asked) or ``replaced`` (pid reused; left
    alone). A zombie counts as gone: its reaper is not us, and may be slow.
    """
    grace = STOP_GRACE if grace is None else grace
    outcomes: dict[Hashable, str] = {}
    signalled: dict[Hashable, psutil.Process] = {}
    for key, ref in refs.items():
        try:
            proc = psutil.Process(ref.pid)
            if not _same(proc, ref):
                outcomes[key] = "replaced"
            elif proc.status() == psutil.STATUS_ZOMBIE:
                outcomes[key] = "exited"
            else:
                proc.send_signal(signal.SIGTERM)
                signalled[key] = proc
        except psutil.NoSuchProcess:
            outcomes[key] = "exited"
        except psutil.AccessDenied:
            outcomes[key] = "replaced"
    for sig in (None, signal.SIGKILL):
        alive = [p for p in signalled.values() if not _gone(p)]
        if sig is not None:
            for proc in alive:
                try:
                    proc.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            time.sleep(0.02)
            alive = [p for p in alive if not _gone(p)]
        if not alive:
            break
    outcomes.update({key: "stopped" for key in signalled})
    return outcomes


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
