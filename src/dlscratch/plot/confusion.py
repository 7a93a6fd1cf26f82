"""A confusion matrix as a heat map: counts in the cells, colours normalised per true class."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._common import finish, new_figure

__all__ = ["plot_confusion_matrix"]

MAX_CELL_TEXT = 30  # more classes than this: colours only, the counts would not fit


def _names(class_names: Sequence[str] | None, K: int, who: str) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(K)]
    names = [str(n) for n in class_names]
    if len(names) < K:
        raise ValueError(f"{who}: class_names has {len(names)} names but there are {K} classes")
    return names[:K]


def plot_confusion_matrix(cm, class_names: Sequence[str] | None = None,
                          path: str | os.PathLike | None = None, show: bool = False):
    """Draw a confusion matrix: rows = true class, columns = predicted class.

    Each cell shows its count; its colour is the count divided by its row's total (the fraction
    of the true class that got this prediction), so a rare class is as readable as a common
    one. The title gives the accuracy ``trace(cm) / sum(cm)`` and the number of samples.

    Parameters
    ----------
    cm : array_like, shape (K, K)
        Counts, e.g. from :func:`dlscratch.metrics.confusion_matrix`.
    class_names : sequence of str, optional
        The classes' names for the axes (``"0" .. "K-1"`` by default), e.g.
        ``dlscratch.datasets.class_names("fashion-mnist")``.
    path : str or os.PathLike, optional
        Write the figure there as a PNG.
    show : bool
        Show the figure with ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        Axes 0 is the matrix (one text per cell when K <= 30), axes 1 the colour bar.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"plot_confusion_matrix: cm must be a square (K, K) matrix, got shape "
                         f"{cm.shape}")
    if cm.dtype == bool or not (np.issubdtype(cm.dtype, np.integer)
                                or np.issubdtype(cm.dtype, np.floating)):
        raise TypeError(f"plot_confusion_matrix: cm must hold counts, got dtype {cm.dtype}")
    if not np.isfinite(cm).all() or (cm < 0).any():
        raise ValueError("plot_confusion_matrix: cm must hold finite, non-negative counts")
    K = cm.shape[0]
    names = _names(class_names, K, "plot_confusion_matrix")
    totals = cm.sum(axis=1, keepdims=True).astype(np.float64)
    frac = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)

    side = float(np.clip(0.55 * K + 2.5, 4.5, 20))
    fig = new_figure(show, figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label("fraction of the true class (row)")
    long_names = max(len(n) for n in names) > 3
    ax.set_xticks(range(K), labels=names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center",
                  rotation_mode="anchor" if long_names else "default")
    ax.set_yticks(range(K), labels=names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    n = cm.sum()
    accuracy = np.trace(cm) / n if n > 0 else float("nan")
    ax.set_title(f"confusion matrix: accuracy {accuracy:.2%} of {n:g} samples", fontsize=11)
    if K <= MAX_CELL_TEXT:
        size = 11 if K <= 5 else max(5.0, 12 - 0.3 * K)
        whole = np.issubdtype(cm.dtype, np.integer) or bool((cm == np.round(cm)).all())
        for i in range(K):
            for j in range(K):
                count = cm[i, j]
                color = "white" if frac[i, j] > 0.5 else ("0.6" if count == 0 else "black")
                ax.text(j, i, f"{int(count)}" if whole else f"{count:.3g}", ha="center",
                        va="center", fontsize=size, color=color)
    return finish(fig, path, show)
