"""The signals a clawctl process holds while it starts and records a child, and their release.

A child inherits its parent's blocked-signal mask across fork and exec. A lab agent started by a
parent that blocked Ctrl-C, SIGTERM and SIGHUP (as ``processes.deferred_signals`` once did; a shell or
supervisor may too) would hold them for life: `lab down`'s SIGTERM would wait out the grace period and
end in SIGKILL, without the agent's own orderly stop. So every clawctl process releases them as it
starts (:func:`release`), whatever started it.
"""

from __future__ import annotations

import signal

HELD = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def release() -> None:
    """Unblock :data:`HELD` in the calling thread (a process's main thread, as it starts)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
