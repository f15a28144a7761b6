"""Room for the cyclic garbage collector while many requests are in flight (the prober's cycles, live traffic).

At CPython's default threshold the collector runs every 700 allocations, each time walking every live
in-flight object; with hundreds of requests in flight that is a large share of the CPU and stalls the
event loop (docs/probing.md, "Garbage collection"). ``gc_headroom()`` raises the generation-0 threshold
while a block runs and puts it back after; ``frozen()`` also moves what exists at its start (imports,
the fleet, numba's caches) out of the collector's sight for the block, so a full collection walks only
what the block made.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GC_GEN0_THRESHOLD = 50_000  # while a cycle runs; CPython's default is 700 (docs/probing.md, "Garbage collection")

_gc_lock = threading.Lock()
_gc_cycles = 0  # cycles running in this process (any thread)
_gc_saved: tuple[int, ...] | None = None  # the thresholds to put back when the last one ends


@contextmanager
def gc_headroom() -> Iterator[None]:
    """Raise the cyclic collector's generation-0 threshold while a cycle runs, then put it back.

    A cycle keeps hundreds of requests in flight; at the default threshold (700 allocations) the
    collector runs ~140 times per 1,000-agent cycle, each time walking the live in-flight objects and
    promoting them, so older generations fill up and a full collection walks the whole heap: about a
    quarter of the client's CPU (docs/probing.md). Reference counting still frees almost everything at
    once; this only makes the collector run a few times per cycle instead. Nested or concurrent
    cycles share one raise; thresholds set above ours, or a disabled collector, are left alone.
    """
    global _gc_cycles, _gc_saved
    with _gc_lock:
        if _gc_cycles == 0:
            current = gc.get_threshold()
            if gc.isenabled() and 0 < current[0] < GC_GEN0_THRESHOLD:
                _gc_saved = current
                gc.set_threshold(GC_GEN0_THRESHOLD, *current[1:])
        _gc_cycles += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_cycles -= 1
            if _gc_cycles == 0 and _gc_saved is not None:
                if gc.get_threshold()[0] == GC_GEN0_THRESHOLD:  # nobody changed it meanwhile
                    gc.set_threshold(*_gc_saved)
                _gc_saved = None


@contextmanager
def frozen() -> Iterator[None]:
    """``gc_headroom()``, with every object alive at the start frozen (gc.freeze) until the block ends."""
    with gc_headroom():
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
