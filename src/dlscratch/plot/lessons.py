"""The lecture notes' other pictures: a digit (img_show), activation curves, filters before and
after training (seed 000, 001, 002).

Each function returns the matplotlib Figure, writes it as a PNG when ``path`` is given and shows
it only with ``show=True`` (``img_show`` shows by default, as the lecture's does). ``lang="ko"``
labels in Korean when a Korean font is installed, else in English after one warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .. import functions as F
from ._common import finish, new_figure
from .fonts import pick, resolve_lang

__all__ = ["ACTIVATIONS", "img_show", "plot_activations", "plot_filters_before_after"]


def img_show(img: np.ndarray, label: object = None, *, lang: str = "en", show: bool = True,
             path: str | os.PathLike | None = None):
    """Seed 000's ``img_show(img)``: one grey image, without axes.

    The lecture shows ``Image.fromarray(np.uint8(img))`` with PIL; this draws the same picture
    with matplotlib and returns the figure.

    Parameters
    ----------
    img : ndarray, shape (784,), (28, 28), (1, 28, 28), (1, 784) or (H, W)
        An MNIST row (flattened or not) or any grey image. Values in [0, 1] are drawn on a
        0..1 scale, values in [0, 255] on 0..255 (so a faint digit stays faint); other ranges
        are stretched to their min..max.
    label : optional
        Shown as the title ("label: 5").
    lang : {"en", "ko"}
        Title language.
    show : bool
        Show the figure (default True, as the lecture's ``img_show(img)`` does).
    path : str or os.PathLike, optional
        Write the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the image as an (H, W) array.
    """
    lang = resolve_lang(lang)
    img = np.asarray(img)
    if img.size == 784 and img.shape != (28, 28):
        img = img.reshape(28, 28)  # the lecture's img.reshape(28, 28) of a flattened row
    elif img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 2 or min(img.shape) == 0:
        raise ValueError("img_show: expected a grey image of shape (H, W), (1, H, W) or a "
                         f"flattened 28x28 MNIST row (784,), got shape {img.shape}")
    if not (np.issubdtype(img.dtype, np.number) or img.dtype == bool):
        raise TypeError(f"img_show: the image must be numbers, got dtype {img.dtype}")
    img = img.astype(np.float64)
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    vmin, vmax = (0.0, 1.0) if lo >= 0 and hi <= 1 else (0.0, 255.0) if lo >= 0 and hi <= 255 \
        else (None, None)
    fig = new_figure(show, figsize=(3, 3))
    ax = fig.subplots()
    ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.axis("off")
    if label is not None:
        ax.set_title(pick(lang, f"label: {label}", f"정답: {label}"))
    return finish(fig, path, show)


#: The curves :func:`plot_activations` can draw: name -> (function, formula).
ACTIVATIONS = {
    "identity": (F.identity_function, "h(x) = x"),
    "step": (F.step_function, "h(x) = 1 if x > 0 else 0"),
    "sign": (F.sign, "h(x) = sign(x)"),
    "sigmoid": (F.sigmoid, "h(x) = 1 / (1 + exp(-x))"),
    "tanh": (F.tanh, "h(x) = tanh(x)"),
    "relu": (F.relu, "h(x) = max(0, x)"),
    "leaky_relu": (F.leaky_relu, "h(x) = max(0.01 x, x)"),
}


def plot_activations(names: Sequence[str] = ("step", "sigmoid", "relu", "tanh"),
                     x: np.ndarray | None = None, *, ncols: int | None = None,
                     lang: str = "en", show: bool = False,
                     path: str | os.PathLike | None = None):
    """One panel per activation function h(x) (seed 000 and 002's curves).

    Parameters
    ----------
    names : sequence of str
        Keys of :data:`ACTIVATIONS`: identity, step, sign, sigmoid, tanh, relu, leaky_relu.
    x : ndarray, shape (n,), optional
        Where to evaluate; default ``np.arange(-5.0, 5.0, 0.1)`` as in the lecture.
    ncols : int, optional
        Panels per row (default: all in one row up to 4).
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per name, titled by the name, whose first line is h(x).
    """
    lang = resolve_lang(lang)
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown or not names:
        raise ValueError(f"plot_activations: unknown activation(s) {unknown}; choose from "
                         f"{', '.join(ACTIVATIONS)}")
    x = np.arange(-5.0, 5.0, 0.1) if x is None else np.asarray(x, dtype=np.float64)
    ncols = min(len(names), 4) if ncols is None else int(ncols)
    nrows = -(-len(names) // ncols)
    fig = new_figure(show, figsize=(3.2 * ncols, 2.8 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, name in zip(axes, names):
        fn, formula = ACTIVATIONS[name]
        y = np.asarray(fn(x), dtype=np.float64)
        ax.plot(x, y, color="tab:blue")
        ax.axhline(0, color="#999999", linewidth=0.6)
        ax.axvline(0, color="#999999", linewidth=0.6)
        ax.set_title(f"{name}\n{formula}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("h(x)")
        pad = 0.1 * max(float(y.max() - y.min()), 1.0)
        ax.set_ylim(float(y.min()) - pad, float(y.max()) + pad)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(pick(lang, "activation functions", "활성 함수"))
    fig.tight_layout()
    return finish(fig, path, show)


def plot_filters_before_after(w_before: np.ndarray, w_after: np.ndarray, nx: int = 8, *,
                              lang: str = "en", show: bool = False,
                              path: str | os.PathLike | None = None):
    """The first conv layer's filters before (top) and after (bottom) training (seed 001).

    Each filter's first channel is drawn in grey, dark = large weight (``gray_r``), each
    filter scaled to its own range, as in ``filter_show``.

    Parameters
    ----------
    w_before, w_after : ndarray, shape (FN, C, FH, FW)
        E.g. a copy of ``network.params["W1"]`` taken before training, and the trained one.
    nx : int
        Filters per row.
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        Two subfigures (before, after), one image axes per filter in each.
    """
    lang = resolve_lang(lang)
    w_before, w_after = np.asarray(w_before), np.asarray(w_after)
    if w_before.ndim != 4 or w_before.shape != w_after.shape or w_before.shape[0] == 0:
        raise ValueError("plot_filters_before_after: both weights must have the same shape "
                         f"(FN, C, FH, FW) with FN >= 1, got {w_before.shape} and "
                         f"{w_after.shape}")
    if isinstance(nx, bool) or not isinstance(nx, (int, np.integer)) or nx < 1:
        raise ValueError(f"plot_filters_before_after: nx must be an int >= 1, got {nx!r}")
    FN, _, FH, FW = w_before.shape
    nx = min(nx, FN)
    ny = -(-FN // nx)
    cell = 0.8
    fig = new_figure(show, figsize=(nx * cell, 2 * (ny * cell * FH / max(FW, 1) + 0.4)))
    subs = fig.subfigures(2, 1)
    titles = (pick(lang, "before training", "학습 전"), pick(lang, "after training", "학습 후"))
    for sub, w, title in zip(subs, (w_before, w_after), titles):
        sub.suptitle(title, fontsize=10)
        sub.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.85, hspace=0.05,
                            wspace=0.05)
        for i in range(FN):
            ax = sub.add_subplot(ny, nx, i + 1, xticks=[], yticks=[])
            ax.imshow(w[i, 0], cmap="gray_r", interpolation="nearest")
    return finish(fig, path, show)
