"""OpenClaw configs on disk: what a path that is not there is called."""

from __future__ import annotations

import os

import pytest


@pytest.mark.parametrize("argv", [["openclaw", "route", "{path}", "--channel", "telegram"],
                                  ["import", "openclaw", "{path}"]])
def test_a_missing_config_is_no_such_file_not_a_broken_link(cli, tmp_path, argv):
    path = tmp_path / "nowhere" / "openclaw.json"
    run = cli(*(a.format(path=path) for a in argv))
    assert run.code == 3 and run.out == ""
    assert run.err == f"clawctl: error: {path}: no such file\n"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_a_dangling_link_is_called_a_broken_link_with_its_target(cli, tmp_path):
    link = tmp_path / "openclaw.json"
    link.symlink_to(tmp_path / "gone.json")
    run = cli("openclaw", "route", str(link), "--channel", "telegram")
    assert run.code == 3 and run.err.count("\n") == 1
    assert f"{link}: a broken link (to {tmp_path / 'gone.json'}, which does not exist)" in run.err
