"""A grid of misclassified images, each titled with its true and its predicted class."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from ._common import finish, new_figure
from .confusion import _names

__all__ = ["plot_misclassified"]


def _as_images(images) -> np.ndarray:
    """(N, H, W) grey or (N, H, W, 3) colour images from (N, D), (N, H, W) or (N, C, H, W)."""
    x = np.asarray(images)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"plot_misclassified: flat images need a square size (784 = 28x28), "
                             f"got rows of {x.shape[1]}")
        return x.reshape(len(x), side, side)
    if x.ndim == 3:
        return x
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4 and x.shape[1] == 3:
        return x.transpose(0, 2, 3, 1)
    raise ValueError(f"plot_misclassified: images must be (N, 784), (N, H, W) or (N, C, H, W) "
                     f"with C = 1 or 3, got shape {x.shape}")


def _labels(labels, name: str, n: int) -> np.ndarray:
    a = np.asarray(labels)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"plot_misclassified: {name} must be 1-D integer class indices, got "
                         f"shape {a.shape} and dtype {a.dtype} (use .argmax(axis=1) on one-hot "
                         "labels or scores)")
    if len(a) != n:
        raise ValueError(f"plot_misclassified: {len(a)} labels in {name} for {n} images")
    if n and a.min() < 0:
        raise ValueError(f"plot_misclassified: {name} holds a negative class index {a.min()}")
    return a


def _title(true: str, pred: str) -> str:
    title = f"true {true} / pred {pred}"
    return title if len(title) <= 20 else f"true {true}\npred {pred}"


def plot_misclassified(images, t, y, class_names: Sequence[str] | None = None,
                       max_images: int = 25, path: str | os.PathLike | None = None,
                       show: bool = False):
    """Show the images whose prediction ``y`` differs from the true label ``t``.

    The first ``max_images`` mistakes (in data order) are drawn in a near-square grid, each
    titled ``"true 3 / pred 5"`` (with class names, on two lines when long); the figure's title
    says how many there are in all (pass all the test images, not only the mistakes, for it
    to give the error rate too). When there is none (or no images at all), the figure says
    ``"no misclassified images"``.

    Parameters
    ----------
    images : ndarray, shape (N, 784), (N, H, W), (N, 1, H, W) or (N, 3, H, W)
        The inputs, e.g. ``x_test``. Values in [0, 1] or [0, 255] are drawn on that scale
        (0 = black); other ranges are stretched over their minimum and maximum.
    t, y : array_like of int, shape (N,)
        True and predicted class indices.
    class_names : sequence of str, optional
        Names for the titles (the class numbers by default).
    max_images : int
        At most this many images are drawn (>= 1).
    path : str or os.PathLike, optional
        Write the figure there as a PNG.
    show : bool
        Show the figure with ``plt.show()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image drawn (none when there are no mistakes).
    """
    if isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer)) \
            or max_images < 1:
        raise ValueError(f"plot_misclassified: max_images must be an int >= 1, got {max_images!r}")
    x = _as_images(images)
    N = len(x)
    t = _labels(t, "t", N)
    y = _labels(y, "y", N)
    K = int(max(t.max(initial=0), y.max(initial=0))) + 1
    names = _names(class_names, K, "plot_misclassified")
    wrong = np.flatnonzero(t != y)
    shown = wrong[:max_images]

    if len(shown) == 0:
        fig = new_figure(show, figsize=(5, 2.5))
        fig.text(0.5, 0.6 if N else 0.5, "no misclassified images", ha="center", va="center",
                 fontsize=15)
        if N:
            fig.text(0.5, 0.35, f"all {N} predictions are correct", ha="center", va="center",
                     fontsize=10, color="0.35")
        return finish(fig, path, show)

    picked = x[shown].astype(np.float64)
    lo, hi = float(picked.min()), float(picked.max())
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    elif lo >= 0 and hi <= 255:
        lo, hi = 0.0, 255.0
    elif hi == lo:
        hi = lo + 1.0
    ncols = math.ceil(math.sqrt(len(shown)))
    nrows = math.ceil(len(shown) / ncols)
    two_lines = any("\n" in _title(names[t[i]], names[y[i]]) for i in shown)
    fig = new_figure(show, figsize=(max(1.6 * ncols, 4.5), (2.0 if two_lines else 1.75) * nrows
                                    + 0.6), layout="constrained")
    for k, i in enumerate(shown):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        img = picked[k]
        if img.ndim == 3:  # colour: scale into [0, 1] for imshow
            ax.imshow(np.clip((img - lo) / (hi - lo), 0, 1), interpolation="nearest")
        else:
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_title(names[t[i]], names[y[i]]), fontsize=9)
    if len(wrong) == N:  # only the mistakes were passed in
        title = f"misclassified: {N} image{'s' if N != 1 else ''}"
    else:
        title = f"misclassified: {len(wrong)} of {N} images ({len(wrong) / N:.1%})"
    if len(shown) < len(wrong):
        title += f", the first {len(shown)} shown"
    fig.suptitle(title, fontsize=11)
    return finish(fig, path, show)
