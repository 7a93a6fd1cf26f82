"""A training run's learning curves: loss and accuracy per epoch, train and test."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from ._common import finish, new_figure

__all__ = ["plot_learning_curves"]

SERIES = ("train_loss", "train_acc", "test_loss", "test_acc")


def _number(value, key: str, row: int) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan  # a value that was not measured (e.g. no test set)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"plot_learning_curves: {key}[{row}] = {value!r} is not a "
                         "number") from None


def _columns(metrics) -> dict[str, np.ndarray]:
    """``metrics`` (columns, or rows as from ``csv.DictReader``) as float arrays by key."""
    if isinstance(metrics, Sequence) and not isinstance(metrics, (str, bytes)) and all(
            isinstance(row, Mapping) for row in metrics):
        rows = list(metrics)
        keys = [k for k in ("epoch", *SERIES) if rows and k in rows[0]]
        metrics = {k: [row.get(k) for row in rows] for k in keys}
        if not rows:
            metrics = {"epoch": []}
    if not isinstance(metrics, Mapping):
        raise TypeError("plot_learning_curves: metrics must be a dict of lists (epoch, "
                        "train_loss, train_acc, test_loss, test_acc) or a list of row dicts, "
                        f"got {type(metrics).__name__}")
    if "epoch" not in metrics:
        raise KeyError("plot_learning_curves: metrics has no 'epoch' column")
    present = [k for k in SERIES if k in metrics]
    if not present:
        raise KeyError(f"plot_learning_curves: metrics has none of {', '.join(SERIES)}")
    cols = {}
    for key in ("epoch", *present):
        values = metrics[key]
        values = [values] if np.isscalar(values) else list(values)
        cols[key] = np.array([_number(v, key, i) for i, v in enumerate(values)], dtype=np.float64)
    n = len(cols["epoch"])
    if n == 0:
        raise ValueError("plot_learning_curves: there are no epochs to plot (metrics is empty)")
    for key in present:
        if len(cols[key]) != n:
            raise ValueError(f"plot_learning_curves: {key} has {len(cols[key])} values but "
                             f"epoch has {n}")
    if not np.isfinite(cols["epoch"]).all():
        raise ValueError("plot_learning_curves: every epoch number must be a finite number")
    return cols


def plot_learning_curves(metrics, path: str | os.PathLike | None = None, show: bool = False):
    """Two panels over the epochs: the loss (left) and the accuracy (right), train and test.

    Parameters
    ----------
    metrics : dict of sequences, or sequence of dicts
        Columns ``epoch`` and any of ``train_loss``, ``train_acc``, ``test_loss``,
        ``test_acc`` (a run's ``metrics.csv``; other columns are ignored), as lists of numbers
        or numeric strings, or its rows as read by ``csv.DictReader``. An empty value (``""`` or
        None) means not measured. Non-finite values (a diverged loss) are left out of the lines
        and named in the panel.
    path : str or os.PathLike, optional
        Write the figure there as a PNG.
    show : bool
        Show the figure with ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        Axes 0 is the loss, axes 1 the accuracy; each line is labelled ``train`` or ``test``.

    Raises
    ------
    KeyError
        No ``epoch`` column, or none of the four series.
    ValueError
        No rows, columns of different lengths, or a value that is not a number.
    """
    from matplotlib.ticker import MaxNLocator

    cols = _columns(metrics)
    epochs = cols["epoch"]
    fig = new_figure(show, figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    last = len(epochs) - 1
    for ax, kind, name in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
        finals, dropped = [], []
        for split, marker in (("train", "o"), ("test", "s")):
            key = f"{split}_{kind}"
            if key not in cols:
                continue
            v = cols[key]
            ok = np.isfinite(v)
            if not ok.any():
                continue
            ax.plot(epochs[ok], v[ok], marker=marker, markersize=4,
                    markevery=max(1, len(epochs) // 20), label=split)
            if ok[last]:
                finals.append(f"{split} {v[last]:.3f}")
            bad = ~ok & ~np.isnan(v)  # inf / -inf: measured, but not finite
            dropped += [f"{split} at epoch {epochs[i]:g}" for i in np.flatnonzero(bad)[:3]]
        title = name if not finals else f"{name} (epoch {epochs[last]:g}: {', '.join(finals)})"
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not ax.get_lines():
            ax.text(0.5, 0.5, f"no finite {name} values", transform=ax.transAxes,
                    ha="center", va="center", color="0.4")
            continue
        ax.legend(loc="best")
        ys = np.concatenate([line.get_ydata() for line in ax.get_lines()])
        if kind == "acc" and ys.min() >= 0 and ys.max() <= 1:
            ax.set_ylim(0, 1.02)
        elif kind == "loss" and ys.min() >= 0:
            ax.set_ylim(0, ys.max() * 1.08 if ys.max() > 0 else 1.0)
        if len(epochs) == 1:  # one point: an integer axis around it, not 0.945 .. 1.05
            ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
            ax.set_xticks([epochs[0]])
        if dropped:
            ax.text(0.02, 0.02, "not finite, not drawn: " + "; ".join(dropped),
                    transform=ax.transAxes, fontsize=8, color="tab:red", va="bottom")
    return finish(fig, path, show)
