"""The kernel's compile switch (sim/jit.py): numba's cache is fresh only while every module of the
kernel's package is unchanged, not only the file that defines a function."""

from __future__ import annotations

import shutil
from pathlib import Path

from clawctl.core.sim import jit

SIM = Path(jit.__file__).parent


def test_the_digest_changes_with_any_module_of_the_package(tmp_path):
    copy = tmp_path / "sim"
    shutil.copytree(SIM, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = jit.sources_digest(copy)
    assert before == jit.sources_digest(SIM)
    (copy / "notes.txt").write_text("not a module")
    assert jit.sources_digest(copy) == before
    index = copy / "index.py"
    index.write_text(index.read_text() + "\n# an edit\n")
    assert jit.sources_digest(copy) != before
    index.unlink()
    assert jit.sources_digest(copy) != before


def test_compiled_functions_are_cached_under_the_package_digest():
    assert not jit.interpreted()  # the suite pins compiled mode (tests/conftest.py)
    from clawctl.core.sim import index, kernel

    for fn in (kernel.run_block, index.touch):
        stamp = fn._cache._cache_file._source_stamp
        assert isinstance(stamp, tuple) and stamp[1] == jit.sources_digest()
