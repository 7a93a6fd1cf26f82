"""The lectures' plots (seed 001): a CNN's first-layer filters and accuracy curves over epochs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._common import finish, new_figure

__all__ = ["filter_show", "plot_accuracy", "plot_history"]


def filter_show(filters: np.ndarray, nx: int = 8, margin: int = 3, scale: int = 10,
                show: bool = True, path: str | os.PathLike | None = None):
    """Show the first channel of each filter as a grey image, ``nx`` per row (seed 001).

    Parameters
    ----------
    filters : ndarray, shape (FN, C, FH, FW)
        E.g. ``network.params["W1"]``; dark = large weight (``gray_r``, each filter scaled to
        its own range, as in the lecture).
    nx : int
        Filters per row; ``ny = ceil(FN / nx)`` rows.
    margin, scale : int
        Kept for the lecture's signature (the spacing is set by ``subplots_adjust``).
    show : bool
        Show the figure (``plt.show()``), as the lecture does.
    path : str or os.PathLike, optional
        Write the figure there as a PNG (e.g. a training run's first-layer filters).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per filter.
    """
    filters = np.asarray(filters)
    if filters.ndim != 4:
        raise ValueError(f"filter_show: expected filters of shape (FN, C, FH, FW), got "
                         f"{filters.shape}")
    if isinstance(nx, bool) or not isinstance(nx, (int, np.integer)) or nx < 1:
        raise ValueError(f"filter_show: nx must be an int >= 1, got {nx!r}")
    FN = filters.shape[0]
    if FN == 0:
        raise ValueError("filter_show: there are no filters to show (FN = 0)")
    ny = int(np.ceil(FN / nx))
    FH, FW = filters.shape[2:]
    cell = 0.8  # inches per filter: the grid's shape sets the figure's, so no rows of blank
    fig = new_figure(show, figsize=(nx * cell, max(ny * cell * FH / max(FW, 1), 0.8)))
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=0.995, hspace=0.05,
                        wspace=0.05)
    for i in range(FN):
        ax = fig.add_subplot(ny, nx, i + 1, xticks=[], yticks=[])
        ax.imshow(filters[i, 0], cmap="gray_r", interpolation="nearest")
    return finish(fig, path, show)


def plot_accuracy(train_acc_list: Sequence[float], test_acc_list: Sequence[float] | None = None,
                  show: bool = True, path: str | os.PathLike | None = None,
                  ylim: tuple[float, float] = (0.0, 1.0)):
    """The lecture's accuracy curves: train (and test) accuracy per epoch, legend lower right.

    Parameters
    ----------
    train_acc_list, test_acc_list : sequence of float
        Accuracy after each epoch (``Trainer.train_acc_list`` / ``test_acc_list``).
    show, path, ylim
        Show the figure; write it as a PNG; the y-axis range.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(show)
    ax = fig.subplots()
    x = np.arange(len(train_acc_list))
    ax.plot(x, train_acc_list, marker="o", label="train", markevery=max(1, len(x) // 10))
    if test_acc_list is not None:
        ax.plot(np.arange(len(test_acc_list)), test_acc_list, marker="s", label="test",
                markevery=max(1, len(x) // 10))
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(*ylim)
    ax.legend(loc="lower right")
    return finish(fig, path, show)


def plot_history(history, show: bool = True, path: str | os.PathLike | None = None):
    """Accuracy curves from a trainer (``train_acc_list`` / ``test_acc_list`` attributes) or a
    dict with those keys (or ``train_acc`` / ``test_acc``); see :func:`plot_accuracy`."""
    if isinstance(history, dict):  # Trainer.train()'s result, or the lists by their names
        train = history.get("train_acc", history.get("train_acc_list"))
        test = history.get("test_acc", history.get("test_acc_list"))
        if train is None:
            raise KeyError("plot_history needs 'train_acc' (or 'train_acc_list') in the dict")
    else:
        train, test = history.train_acc_list, getattr(history, "test_acc_list", None)
    return plot_accuracy(train, test, show=show, path=path)
