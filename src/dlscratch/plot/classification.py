"""Two-feature classification pictures (seed 002, 004): the points coloured by class, and the
regions and boundary a classifier draws.

Each function returns the matplotlib Figure, writes it as a PNG when ``path`` is given and shows
it only with ``show=True``. ``lang="ko"`` labels in Korean when a Korean font is installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ._common import finish, new_figure
from .fonts import pick, resolve_lang

__all__ = ["plot_decision_boundary", "plot_scatter"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _labels(t: np.ndarray, n: int, name: str) -> np.ndarray:
    """Class labels (n,) from labels, one-hot rows (n, K) or a column (n, 1)."""
    t = np.asarray(t)
    if t.ndim == 2 and t.shape[1] > 1:
        t = t.argmax(axis=1)
    elif t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"{name}: expected {n} labels (shape ({n},) or one-hot ({n}, K)), got "
                         f"shape {t.shape}")
    if np.issubdtype(t.dtype, np.floating):
        if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
            raise ValueError(f"{name}: labels must be whole numbers (e.g. 0/1 or -1/+1); for "
                             "scores, return np.sign(z), (z > 0.5) or argmax(axis=1)")
        t = t.astype(np.int64)
    return t


def _points(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"expected points of shape (N, 2) (two features), got {x.shape}")
    return x


def _scatter(ax, x: np.ndarray, t: np.ndarray, classes: np.ndarray, lang: str) -> None:
    for k, c in enumerate(classes):
        sel = t == c
        if sel.any():
            ax.scatter(x[sel, 0], x[sel, 1], s=22, color=_COLORS[k % len(_COLORS)],
                       edgecolors="black", linewidths=0.5,
                       label=pick(lang, f"class {c}", f"클래스 {c}"))
    ax.set_xlabel("x[:, 0]")
    ax.set_ylabel("x[:, 1]")
    ax.legend(loc="best", fontsize=8)


def plot_scatter(x: np.ndarray, t: np.ndarray, title: str | None = None, *, lang: str = "en",
                 show: bool = False, path: str | os.PathLike | None = None):
    """Seed 002's ``plt.scatter(X[:, 0], X[:, 1], c=y)``: the points coloured by class.

    Parameters
    ----------
    x : ndarray, shape (N, 2)
        The points.
    t : ndarray, shape (N,) or (N, K)
        Their classes (any whole numbers, e.g. 0/1 or -1/+1) or one-hot rows.
    title : str, optional
        E.g. "Groundtruth" (default: "ground truth" / "정답").
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one scatter collection per class (in sorted class order).
    """
    lang = resolve_lang(lang)
    x = _points(x)
    t = _labels(t, len(x), "plot_scatter")
    fig = new_figure(show)
    ax = fig.subplots()
    _scatter(ax, x, t, np.unique(t), lang)
    ax.set_title(title if title is not None else pick(lang, "ground truth", "정답"))
    return finish(fig, path, show)


def plot_decision_boundary(predict_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                           t: np.ndarray, *, resolution: int = 200, margin: float = 0.5,
                           title: str | None = None, lang: str = "en", show: bool = False,
                           path: str | os.PathLike | None = None):
    """The points coloured by their true class over the regions a classifier predicts, and the
    boundary between the regions.

    ``predict_fn`` is evaluated on a ``resolution`` x ``resolution`` grid covering the points
    (plus ``margin``); each grid point gets the predicted class; the regions are filled in the
    class's colour and the boundary is drawn where the predicted class changes.

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(grid)`` with grid of shape (M, 2) returns, for every row, a class (M,)
        (whole numbers, e.g. ``np.sign(z)`` for a perceptron, ``(y > 0.5)`` for a sigmoid
        output) or class scores (M, K) whose argmax is the class.
    x : ndarray, shape (N, 2)
        The points.
    t : ndarray, shape (N,) or (N, K)
        Their true classes, or one-hot rows.
    resolution : int
        Grid points per axis.
    margin : float
        How far the grid reaches beyond the points.
    title : str, optional
        The axes' title (default: "decision boundary" / "결정 경계").
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the filled regions (``contourf``), the boundary (``contour``, black) and one
        scatter collection per true class.
    """
    lang = resolve_lang(lang)
    x = _points(x)
    t = _labels(t, len(x), "plot_decision_boundary")
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be >= 2, got {resolution}")
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    GX, GY = np.meshgrid(gx, gy)
    grid = np.column_stack([GX.ravel(), GY.ravel()])
    pred = np.asarray(predict_fn(grid))
    if pred.ndim == 2 and pred.shape[0] == len(grid) and pred.shape[1] > 1:
        pred = pred.argmax(axis=1)
    pred = _labels(pred, len(grid), "plot_decision_boundary: predict_fn(grid)")
    classes = np.union1d(np.unique(t), np.unique(pred))
    index = np.searchsorted(classes, pred).reshape(GX.shape)  # 0..K-1, one per class
    K = len(classes)
    fig = new_figure(show)
    ax = fig.subplots()
    colors = [_COLORS[k % len(_COLORS)] for k in range(K)]
    ax.contourf(GX, GY, index, levels=np.arange(K + 1) - 0.5, colors=colors, alpha=0.25)
    if K > 1:
        ax.contour(GX, GY, index, levels=np.arange(K - 1) + 0.5, colors="black",
                   linewidths=1.2)
    _scatter(ax, x, t, classes, lang)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title if title is not None else pick(lang, "decision boundary", "결정 경계"))
    return finish(fig, path, show)
