"""Running a lesson the way ``python -m dlscratch.lessons.NAME`` does, inside the test process,
so that a test can look at the values its ``__main__`` cells computed."""

from __future__ import annotations

import runpy
import sys
import warnings
from pathlib import Path


def run_lesson(name: str, tmp_path: Path, monkeypatch, *args: str, fast: bool = True) -> dict:
    """Run lesson ``name`` as ``__main__`` from an empty working folder ``tmp_path/cwd`` with
    ``--out tmp_path/out`` (plus ``args``), in fast mode unless ``fast=False``; return the
    module's globals. Checks that nothing was written to the working folder."""
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")
    if fast:
        monkeypatch.setenv("DLSCRATCH_FAST", "1")
    else:
        monkeypatch.delenv("DLSCRATCH_FAST", raising=False)
    monkeypatch.setattr(sys, "argv", [name, "--out", str(out), *args])
    with warnings.catch_warnings():
        # runpy warns when the module is already imported (the tests import it for its functions)
        warnings.filterwarnings("ignore", message=".*found in sys.modules.*", category=RuntimeWarning)
        g = runpy.run_module(f"dlscratch.lessons.{name}", run_name="__main__", alter_sys=True)
    import matplotlib.pyplot as plt

    plt.close("all")
    assert list(cwd.iterdir()) == [], "the lesson wrote into the current folder"
    return g
