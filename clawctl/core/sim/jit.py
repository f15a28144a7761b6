"""The kernel's one compile switch: numba's ``njit``, or the same functions run as plain Python.

A warm ``clawctl simulate`` spends about 0.55 s importing numba and loading the compiled kernel from
its cache before the first event. A run of a few thousand requests takes less than that as plain
Python (about 50 µs a request), with identical results: the kernel is the same source either way,
and it draws no random numbers of its own (the arrivals and variates come from numpy, outside).

The choice is made once per process, before the kernel modules are imported (their decorators run
at import): :func:`choose` says which and holds; :func:`prefer` is the simulate service's guess from
the run's size and gives way to an earlier ``choose``. Once a kernel module has been imported
neither has an effect. Without either the kernel is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

INTERPRET_MAX = 5_000  # requests (all strategies of a run together) below which plain Python is faster
INTERPRET_AGENTS = 200  # and agents at most (per-agent state and the routing index cost more in plain Python)

_interpret = False
_chosen = False  # choose() was called: prefer() gives way
_fixed = False  # a kernel module is imported: nothing changes any more


def choose(*, interpret: bool) -> bool:
    """Run the kernel as plain Python (True) or compiled; True if that is what it will do."""
    global _interpret, _chosen
    if not _fixed:
        _interpret, _chosen = interpret, True
    return _interpret == interpret


def prefer(*, interpret: bool) -> None:
    """The same, unless :func:`choose` was called before."""
    global _interpret
    if not _fixed and not _chosen:
        _interpret = interpret


def interpreted() -> bool:
    return _interpret


def njit(*args: Any, **kwargs: Any) -> Callable:
    """``numba.njit(cache=True, ...)``, or the function itself when the kernel is interpreted."""
    global _fixed
    _fixed = True
    if _interpret:
        if args and callable(args[0]):
            return args[0]
        return lambda f: f
    from numba import njit as _njit

    return _njit(*args, **kwargs)
