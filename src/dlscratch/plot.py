"""Plots from the lectures: a CNN's filters, and accuracy curves over epochs.

matplotlib is optional (``pip install dlscratch[plot]``); it is imported inside each function,
so ``import dlscratch.plot`` works without it. Every function returns the matplotlib Figure,
saves it as a PNG when ``path`` is given, and shows it only with ``show=True``.

Labels are in English by default: matplotlib's default font has no Korean glyphs (they show as
boxes). To label in Korean, set a Korean font first, e.g.
``matplotlib.rcParams["font.family"] = "NanumGothic"`` (or "Malgun Gothic" on Windows) and
``matplotlib.rcParams["axes.unicode_minus"] = False``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["filter_show", "plot_accuracy", "plot_history"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install matplotlib (or pip install dlscratch[plot])"
        ) from e
    return plt


def _finish(fig, path: str | os.PathLike | None, show: bool):
    if path is not None:
        fig.savefig(os.fspath(path), format="png")
    if show:
        _pyplot().show()
    return fig


def filter_show(filters: np.ndarray, nx: int = 8, margin: int = 3, scale: int = 10,
                show: bool = True, path: str | os.PathLike | None = None):
    """Show the first channel of each filter as a grey image, ``nx`` per row (seed 001).

    ``filters``: (FN, C, FH, FW), e.g. ``network.params["W1"]``; dark = large weight
    (``gray_r``). ``margin`` and ``scale`` are kept for the lecture's signature (the spacing
    is set by ``subplots_adjust``). Returns the Figure.
    """
    plt = _pyplot()
    filters = np.asarray(filters)
    if filters.ndim != 4:
        raise ValueError(f"filter_show: expected filters of shape (FN, C, FH, FW), got "
                         f"{filters.shape}")
    FN = filters.shape[0]
    ny = int(np.ceil(FN / nx))
    fig = plt.figure()
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, hspace=0.05, wspace=0.05)
    for i in range(FN):
        ax = fig.add_subplot(ny, nx, i + 1, xticks=[], yticks=[])
        ax.imshow(filters[i, 0], cmap=plt.cm.gray_r, interpolation="nearest")
    return _finish(fig, path, show)


def plot_accuracy(train_acc_list: Sequence[float], test_acc_list: Sequence[float] | None = None,
                  show: bool = True, path: str | os.PathLike | None = None,
                  ylim: tuple[float, float] = (0.0, 1.0)):
    """The lecture's accuracy curves: train (and test) accuracy per epoch, legend lower right.

    Returns the Figure.
    """
    plt = _pyplot()
    fig, ax = plt.subplots()
    x = np.arange(len(train_acc_list))
    ax.plot(x, train_acc_list, marker="o", label="train", markevery=max(1, len(x) // 10))
    if test_acc_list is not None:
        ax.plot(np.arange(len(test_acc_list)), test_acc_list, marker="s", label="test",
                markevery=max(1, len(x) // 10))
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(*ylim)
    ax.legend(loc="lower right")
    return _finish(fig, path, show)


def plot_history(history, show: bool = True, path: str | os.PathLike | None = None):
    """Accuracy curves from a trainer (``train_acc_list`` / ``test_acc_list`` attributes) or a
    dict with those keys; see :func:`plot_accuracy`."""
    if isinstance(history, dict):  # Trainer.train()'s result, or the lists by their names
        train = history.get("train_acc", history.get("train_acc_list"))
        test = history.get("test_acc", history.get("test_acc_list"))
        if train is None:
            raise KeyError("plot_history needs 'train_acc' (or 'train_acc_list') in the dict")
    else:
        train, test = history.train_acc_list, getattr(history, "test_acc_list", None)
    return plot_accuracy(train, test, show=show, path=path)
