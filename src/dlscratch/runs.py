"""Training runs on disk: the run folder, its ``config.json``, metrics and final plots.

A run folder (``dlscratch train`` makes one per run, by default
``runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>/``) holds::

    config.json                  everything needed to run it again (and to resume it)
    metrics.csv                  one row per epoch: epoch, train_loss, train_acc, test_loss,
                                 test_acc, lr, seconds
    model.npz                    the final model (dlscratch.io.load_model)
    checkpoint.npz               the last checkpoint: model, optimizer state, rng, counters
    plots/learning_curves.png    loss and accuracy per epoch
    plots/confusion_matrix.png   true class x predicted class on the test set
    plots/misclassified.png      test images the model got wrong, with true and predicted labels
    plots/filters.png            the first convolution layer's filters (CNNs only)

Every file is written atomically (``dlscratch._files``).
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_write_text

__all__ = [
    "CHECKPOINT", "CONFIG", "METRICS", "MODEL", "PLOTS", "PLOT_FILES", "RUN_FILES", "RunError",
    "create_run_dir", "default_run_dir", "first_conv_filters", "read_config", "read_metrics",
    "write_config", "write_plots",
]

CONFIG = "config.json"
METRICS = "metrics.csv"
MODEL = "model.npz"
CHECKPOINT = "checkpoint.npz"
PLOTS = "plots"
PLOT_FILES = {
    "learning_curves": f"{PLOTS}/learning_curves.png",
    "confusion_matrix": f"{PLOTS}/confusion_matrix.png",
    "misclassified": f"{PLOTS}/misclassified.png",
    "filters": f"{PLOTS}/filters.png",
}
RUN_FILES = (CONFIG, METRICS, MODEL, CHECKPOINT)
RUN_FORMAT = "dlscratch-run"
RUN_FORMAT_VERSION = 1
#: the settings a run cannot be rebuilt without (``--resume`` checks them)
REQUIRED_KEYS = {
    "model": str, "dataset": str, "epochs": int, "batch_size": int, "optimizer": str,
    "lr": float, "seed": int,
}


class RunError(ValueError):
    """A run folder or one of its files that cannot be used; the message names it."""


def default_run_dir(model: str, dataset: str, root: str | os.PathLike = "runs",
                    now: float | None = None) -> Path:
    """``root/<model>-<dataset>-<YYYYmmdd-HHMMSS>`` (local time ``now``, default: now)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return Path(root) / f"{model}-{dataset}-{stamp}"


def create_run_dir(path: str | os.PathLike | None, model: str, dataset: str,
                   root: str | os.PathLike = "runs") -> Path:
    """Create the folder for a new run and return it.

    With ``path=None`` the folder is :func:`default_run_dir`, made unique with a ``-2``,
    ``-3``, ... suffix when a run already has that name (two runs started in the same second).
    A given ``path`` may exist if it holds no run yet; missing parents are created.

    Raises
    ------
    RunError
        A file is in the way, or ``path`` already holds a run (its config, metrics, model or
        checkpoint), which a new run would overwrite.
    OSError
        The folder cannot be created (read-only place, no permission).
    """
    if path is None:
        base = default_run_dir(model, dataset, root)
        base.parent.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
        raise RunError(f"{base}: too many runs with this name; choose a folder with --out")
    folder = Path(path).expanduser()
    for place in [folder, *folder.parents]:
        if place.exists() and not place.is_dir():
            raise RunError(f"{place} is a file, not a folder; choose another output folder")
    if folder.is_dir():
        taken = [name for name in RUN_FILES if (folder / name).exists()]
        if taken:
            raise RunError(f"{folder} already holds a run ({', '.join(taken)}); continue it "
                           f"with --resume {folder} or choose another output folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_config(run_dir: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Write ``config`` as ``run_dir/config.json`` (atomically), with the format tag added."""
    data = {"format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, **config}
    return atomic_write_text(Path(run_dir) / CONFIG, json.dumps(data, indent=2) + "\n")


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's configuration from ``run_dir/config.json``, checked.

    Raises
    ------
    RunError
        The folder or file is missing, not JSON, not a dlscratch run, from a newer version, or
        a required setting is missing or of the wrong type (the message names the file).
    """
    folder = Path(run_dir)
    path = folder / CONFIG
    if not folder.is_dir():
        raise RunError(f"{folder} is not a run folder (no such folder)")
    if not path.is_file():
        raise RunError(f"{folder} is not a run folder: it has no {CONFIG}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise RunError(f"{path}: not a dlscratch run configuration")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunError(f"{path}: format_version must be a whole number, got {version!r}")
    if version > RUN_FORMAT_VERSION:
        raise RunError(f"{path}: written by a newer dlscratch (run format {version}, this one "
                       f"reads up to {RUN_FORMAT_VERSION}); upgrade dlscratch")
    for key, kind in REQUIRED_KEYS.items():
        value = config.get(key)
        ok = isinstance(value, (int, float) if kind is float else kind)
        if not ok or isinstance(value, bool):
            raise RunError(f"{path}: {key!r} is missing or not a {kind.__name__} "
                           f"(got {value!r})")
    return config


def read_metrics(path: str | os.PathLike) -> dict[str, list[float]]:
    """The per-epoch metrics of ``metrics.csv`` as ``{column: [value per epoch]}``.

    ``epoch`` is a list of ints, every other column a list of floats (empty cells are NaN).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise RunError(f"{path}: no such file; the run has not finished an epoch yet") from None
    if not rows:
        raise RunError(f"{path}: no epochs recorded yet")
    columns: dict[str, list[float]] = {name: [] for name in rows[0]}
    for line, row in enumerate(rows, start=2):
        for name in columns:
            cell = (row.get(name) or "").strip()
            try:
                value: float = int(cell) if name == "epoch" else float(cell or "nan")
            except ValueError:
                raise RunError(f"{path}, line {line}: {name} = {cell!r} is not a number") from None
            columns[name].append(value)
    return columns


def first_conv_filters(net) -> np.ndarray | None:
    """The first 4-D weight (FN, C, FH, FW) among ``net``'s parameters, or None (no conv)."""
    params = net.parameters() if hasattr(net, "parameters") else []
    for param in params:
        data = getattr(param, "data", param)
        if np.ndim(data) == 4:
            return np.asarray(data)
    return None


def predict_labels(net, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The predicted class of each row of ``x``, in eval mode, in batches."""
    if hasattr(net, "predict_labels"):
        return np.asarray(net.predict_labels(x, batch_size=batch_size))
    was_training = getattr(net, "training", None)
    if was_training is not None:
        net.eval()
    try:
        return np.concatenate([np.argmax(net.predict(x[i:i + batch_size]), axis=1)
                               for i in range(0, len(x), batch_size)])
    finally:
        if was_training is not None:
            net.train(was_training)


def write_plots(run_dir: str | os.PathLike, net, x_test: np.ndarray, t_test: np.ndarray,
                class_names: list[str], metrics: Mapping[str, list] | None = None
                ) -> dict[str, Path]:
    """Draw the run's plots into ``run_dir/plots/`` and return ``{plot name: path}``.

    Parameters
    ----------
    net : Net
        The trained network (evaluated in eval mode on ``x_test``).
    x_test, t_test : ndarray
        Test images in the model's input shape and their integer labels (N,).
    class_names : list of str
        Names of the classes, indexed by label.
    metrics : dict of lists, optional
        Per-epoch metrics (as :func:`read_metrics` returns); read from ``metrics.csv`` when
        None. No learning curves are drawn when there are none.
    """
    from . import plot
    from .metrics import confusion_matrix

    folder = Path(run_dir)
    paths = {name: folder / rel for name, rel in PLOT_FILES.items()}
    written: dict[str, Path] = {}
    if metrics is None and (folder / METRICS).is_file():
        metrics = read_metrics(folder / METRICS)
    if metrics:
        plot.plot_learning_curves(metrics, path=paths["learning_curves"])
        written["learning_curves"] = paths["learning_curves"]
    y = predict_labels(net, x_test)
    t = np.asarray(t_test)
    cm = confusion_matrix(t, y, len(class_names))
    plot.plot_confusion_matrix(cm, class_names=class_names, path=paths["confusion_matrix"])
    written["confusion_matrix"] = paths["confusion_matrix"]
    wrong = np.flatnonzero(y != t)
    plot.plot_misclassified(x_test[wrong], t[wrong], y[wrong], class_names=class_names,
                            path=paths["misclassified"])
    written["misclassified"] = paths["misclassified"]
    filters = first_conv_filters(net)
    if filters is not None:
        plot.filter_show(filters, show=False, path=paths["filters"])
        written["filters"] = paths["filters"]
    return written
