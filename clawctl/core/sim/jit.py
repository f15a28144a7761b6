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

import hashlib
from collections.abc import Callable
from pathlib import Path
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
    _skip_blas_probe()
    from numba import njit as _njit

    if args and callable(args[0]):
        return _stamped(_njit(*args, **kwargs))
    decorate = _njit(*args, **kwargs)
    return lambda f: _stamped(decorate(f))


def sources_digest(folder: Path = Path(__file__).parent) -> str:
    """A digest of every module of the kernel's package, names and contents."""
    h = hashlib.sha1()
    for path in sorted(folder.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


_DIGEST: list[str] = []


def _stamped(dispatcher: Any) -> Any:
    """numba keeps a cached function while its own file is unchanged, yet the cached code holds the
    functions it calls from other modules too: an edit to ``index.py`` alone would leave ``run_block``
    running the old routing. The cache's freshness stamp gets the digest of the whole package."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    stamp = getattr(cache_file, "_source_stamp", None)
    if stamp is not None:  # another numba without these attributes keeps its own per-file check
        if not _DIGEST:
            _DIGEST.append(sources_digest())
        cache_file._source_stamp = (stamp, _DIGEST[0])
    return dispatcher


def _skip_blas_probe() -> None:
    """numba's first compile or cache load imports ``numba.np.arraymath``, which probes for BLAS by
    importing ``scipy.linalg`` when SciPy is installed: about 0.25 s of a warm run's start. The kernel
    uses no BLAS, and numba's only use of the probe's answer is to take its own loop for a 1-D dot
    product; a later ``scipy.linalg`` import in the same process works as usual."""
    import sys

    if "numba.np.arraymath" in sys.modules:
        return
    key = "scipy.linalg.cython_blas"
    if key in sys.modules:  # SciPy is loaded already: the probe costs nothing
        import numba.np.arraymath  # noqa: F401
        return
    sys.modules[key] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(key, 0) is None:
            del sys.modules[key]
