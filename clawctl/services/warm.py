"""`python -m clawctl.services.warm FLEET`: compile the simulator into numba's cache with a tiny run of FLEET.

`clawctl demo` starts it in the background, so the first `simulate` after install does not wait on
the compile (about 15 s on a 2-core machine); later runs load the cache."""

from __future__ import annotations

import sys


def warm(path: str) -> None:
    from clawctl.core.sim import jit
    from clawctl.services.simulate import SimOptions, simulate

    jit.choose(interpret=False)  # a tiny run would otherwise be interpreted and compile nothing
    simulate(path, SimOptions(requests=200, compare=True), store=False)


if __name__ == "__main__":
    from clawctl.adapters import sigmask

    sigmask.release()  # the demo starts this while it holds Ctrl-C and SIGTERM: its stop must reach us
    warm(sys.argv[1])
