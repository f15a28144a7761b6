"""The kernel run as plain Python (tiny runs, sim/jit.py) gives exactly what the compiled kernel gives.

Each mode needs its own process (the choice is fixed when the kernel is imported), so both run in
subprocesses over every example fleet and every strategy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLEETS = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))

RUN_ALL = """
import json, sys
from clawctl.core.sim import jit
jit.choose(interpret={interpret})
from clawctl.services.simulate import SimOptions, simulate
out = {{}}
for path in {fleets!r}:
    for seed in (1, 7):
        r = simulate(path, SimOptions(requests=700, compare=True, seed=seed, failures={failures!r}), store=False)
        d = r.as_dict(); d.pop("elapsed_s")
        out[path + str(seed)] = d
print(json.dumps({{"interpreted": jit.interpreted(), "numba": "numba" in sys.modules, "out": out}}))
"""


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("failures", [[], ["europe@30"]], ids=["plain", "with-a-failure"])
def test_interpreted_kernel_gives_the_compiled_kernels_results(failures):
    fleets = FLEETS if not failures else [str(ROOT / "examples" / "multi-region.yaml")]
    plain = _run(RUN_ALL.format(interpret=True, fleets=fleets, failures=failures))
    compiled = _run(RUN_ALL.format(interpret=False, fleets=fleets, failures=failures))
    assert plain["interpreted"] and not plain["numba"]
    assert not compiled["interpreted"] and compiled["numba"]
    assert plain["out"] == compiled["out"]
    served = [r["served"] for d in plain["out"].values() for r in d["results"]]
    assert len(served) >= 12 and all(s > 0 for s in served)


SIZE = """
import sys
from clawctl.services.simulate import SimOptions, simulate
from clawctl.core.sim import jit
simulate({path!r}, SimOptions(requests={n}, compare={compare}), store=False)
print(jit.interpreted(), "numba" in sys.modules)
"""


@pytest.mark.parametrize(("n", "compare", "expect"), [
    (100, False, "True False"),      # a tiny run: no numba import, no cache load
    (4000, False, "True False"),
    (1000, True, "False True"),      # 6 strategies x 1,000 requests is past the interpreted limit
    (20000, False, "False True"),
])
def test_the_service_interprets_only_tiny_runs(n, compare, expect):
    code = SIZE.format(path=str(ROOT / "examples" / "multi-region.yaml"), n=n, compare=compare)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == expect


def test_warm_compiles_even_though_its_run_is_tiny():
    code = ("import sys; from clawctl.services.warm import warm; from clawctl.core.sim import jit; "
            f"warm({str(ROOT / 'examples' / 'multi-region.yaml')!r}); print(jit.interpreted(), 'numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False True"


def test_an_explicit_choice_holds_against_the_services_preference():
    code = ("from clawctl.core.sim import jit; jit.choose(interpret=False); jit.prefer(interpret=True); "
            "print(jit.interpreted())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr


def test_a_choice_after_the_kernel_is_imported_does_not_take():
    code = ("from clawctl.core.sim import jit; jit.choose(interpret=False); import clawctl.core.sim.kernel; "
            "jit.prefer(interpret=True); print(jit.choose(interpret=True), jit.choose(interpret=False), jit.interpreted())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False True False"


def test_loading_the_compiled_kernel_does_not_import_scipy_linalg(tmp_path):
    """numba's BLAS probe imports scipy.linalg (0.25 s of a warm start) when SciPy is installed; the kernel
    skips it. A stand-in SciPy on the path records every import of its linalg package."""
    marker = tmp_path / "imported"
    linalg = tmp_path / "site" / "scipy" / "linalg"
    linalg.mkdir(parents=True)
    (linalg.parent / "__init__.py").write_text("__version__ = '1.17.0'\n")
    (linalg / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write('linalg ')\n")
    (linalg / "cython_blas.py").write_text(f"open({str(marker)!r}, 'a').write('blas ')\n")
    code = f"""
import sys, json
sys.path.insert(0, {str(tmp_path / 'site')!r})
from clawctl.core.sim import jit
jit.choose(interpret=False)
from clawctl.services.simulate import SimOptions, simulate
simulate({FLEETS[0]!r}, SimOptions(requests=300, seed=1), store=False)
import os
before = open({str(marker)!r}).read() if os.path.exists({str(marker)!r}) else ""
import scipy.linalg.cython_blas  # a later import of it works as usual
print(json.dumps({{"before": before, "after": open({str(marker)!r}).read()}}))
"""
    out = _run(code)
    assert out == {"before": "", "after": "linalg blas "}
