"""The runs a folder holds, for the web page: listing, safe lookup by name, metrics as JSON.

A run name from a URL is only ever used to pick one of the folders that :func:`list_runs`
would list: it must look like a folder name (letters, digits, ``. _ - + = @``, no leading dot,
no ``..``), exist directly inside the runs folder, and stay inside it once symlinks are
resolved. Anything else is "no such run".
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

from .. import runs

__all__ = ["RUNNING_WINDOW_S", "list_runs", "newest_model", "resolve_run", "run_metrics",
           "run_plot", "run_summary"]

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=@-]{0,199}")
RUNNING_WINDOW_S = 600.0  # a run whose metrics.csv changed this recently may still be training


def resolve_run(runs_dir: str | os.PathLike, name: str) -> Path | None:
    """The folder of the run called ``name`` directly inside ``runs_dir``, or None.

    None for anything that is not a plain folder name (``..``, ``a/b``, absolute paths, names
    starting with a dot), for names that are not there, and for symlinks leading out.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        return None
    root = Path(runs_dir)
    folder = root / name
    try:
        if not folder.is_dir() or folder.resolve().parent != root.resolve():
            return None
    except OSError:
        return None
    if not ((folder / runs.CONFIG).is_file() or (folder / runs.METRICS).is_file()):
        return None
    return folder


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _clean(values: list) -> list:
    """NaN and inf become None (JSON has no NaN)."""
    return [v if not (isinstance(v, float) and not math.isfinite(v)) else None for v in values]


def run_summary(folder: Path, now: float | None = None) -> dict[str, Any]:
    """Name, settings, progress and available plots of one run (never raises for bad files)."""
    now = time.time() if now is None else now
    try:
        config = runs.read_config(folder)
        problem = None
    except (runs.RunError, OSError) as exc:
        config, problem = {}, str(exc)
    try:
        metrics = runs.read_metrics(folder / runs.METRICS)
    except (runs.RunError, OSError, ValueError):
        metrics = {}
    epochs_done = len(metrics.get("epoch", []))
    epochs = config.get("epochs")
    metrics_time = _mtime(folder / runs.METRICS)
    model_time = _mtime(folder / runs.MODEL)
    unfinished = model_time is None or (metrics_time is not None and metrics_time > model_time)
    recent = metrics_time is not None and now - metrics_time < RUNNING_WINDOW_S
    if epochs_done == 0:
        recent = (_mtime(folder / runs.CONFIG) or 0) > now - RUNNING_WINDOW_S
    last_acc = _clean(metrics.get("test_acc", []))[-1:] or [None]
    plots = [name for name, rel in runs.PLOT_FILES.items() if (folder / rel).is_file()]
    return {
        "name": folder.name, "model": config.get("model"), "dataset": config.get("dataset"),
        "epochs": epochs, "epochs_done": epochs_done, "test_acc": last_acc[0],
        "created": config.get("created"), "modified": metrics_time or _mtime(folder),
        "running": bool(unfinished and recent and (epochs is None or epochs_done < epochs
                                                   or model_time is None)),
        "has_model": model_time is not None, "plots": plots, "problem": problem,
    }


def list_runs(runs_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Summaries of the runs directly inside ``runs_dir``, newest first (none: [])."""
    root = Path(runs_dir)
    try:
        names = os.listdir(root)
    except OSError:
        return []
    now = time.time()
    found = [run_summary(folder, now) for name in names
             if (folder := resolve_run(root, name)) is not None]
    return sorted(found, key=lambda r: (r["modified"] or 0.0, r["name"]), reverse=True)


def run_metrics(folder: Path) -> dict[str, Any]:
    """``{"name", "metrics": {column: [values]}, "note"}``; empty metrics with a note when the
    run has none yet or its file cannot be read."""
    try:
        columns = runs.read_metrics(folder / runs.METRICS)
        note = None
    except (runs.RunError, OSError, ValueError) as exc:
        columns, note = {}, str(exc)
    return {"name": folder.name, "metrics": {k: _clean(v) for k, v in columns.items()},
            "note": note}


def run_plot(folder: Path, plot: str) -> Path | None:
    """The PNG of plot ``plot`` (a key of ``runs.PLOT_FILES``) of the run, or None."""
    rel = runs.PLOT_FILES.get(plot)
    if rel is None:
        return None
    path = folder / rel
    return path if path.is_file() and path.resolve().is_relative_to(folder.resolve()) else None


def newest_model(runs_dir: str | os.PathLike) -> Path | None:
    """The model file (model.npz, else checkpoint.npz) of the newest run holding one."""
    best: tuple[float, Path] | None = None
    root = Path(runs_dir)
    try:
        names = os.listdir(root)
    except OSError:
        return None
    for name in names:
        folder = resolve_run(root, name)
        if folder is None:
            continue
        for file in (runs.MODEL, runs.CHECKPOINT):
            when = _mtime(folder / file)
            if when is not None:
                if best is None or when > best[0]:
                    best = (when, folder / file)
                break
    return None if best is None else best[1]
