"""Seed 000's pictures of derivatives: a tangent line, a gradient field, a gradient-descent path.

Each function returns the matplotlib Figure, writes it as a PNG when ``path`` is given and shows
it only with ``show=True``. ``lang="ko"`` labels in Korean when a Korean font is installed
(:func:`dlscratch.plot.fonts.use_korean_font`), else in English after one warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..gradient import numerical_diff, numerical_gradient
from ._common import finish, new_figure
from .fonts import pick, resolve_lang

__all__ = ["function_2", "plot_descent_path", "plot_gradient_field", "plot_tangent_line"]


def function_2(x: np.ndarray) -> np.ndarray:
    """The lectures' f(x0, x1) = x0^2 + x1^2; ``x[0]``, ``x[1]`` may be arrays of points."""
    return x[0] ** 2 + x[1] ** 2


def plot_tangent_line(f: Callable, x0: float, x: np.ndarray | None = None, *, h: float = 1e-4,
                      lang: str = "en", show: bool = False,
                      path: str | os.PathLike | None = None):
    """f and its tangent at ``x0``, whose slope is seed 000's ``numerical_diff(f, x0)``.

    The tangent is t -> d * t + (f(x0) - d * x0) with d = (f(x0 + h) - f(x0 - h)) / 2h.

    Parameters
    ----------
    f : callable
        A function of one variable that accepts a NumPy array (e.g. the lecture's
        ``function_1(x) = 0.01 * x**2 + 0.1 * x``).
    x0 : float
        The point of tangency (the lecture uses 5).
    x : ndarray, shape (n,), optional
        Where to draw; default ``np.arange(0.0, 20.0, 0.1)`` as in the lecture.
    h : float
        The central difference's step.
    lang : {"en", "ko"}
        Label language.
    show, path
        Show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two lines, ``f(x)`` and the tangent, and the point (x0, f(x0)).
    """
    lang = resolve_lang(lang)
    x = np.arange(0.0, 20.0, 0.1) if x is None else np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"plot_tangent_line: x must be a 1-D array of at least 2 points, got "
                         f"shape {x.shape}")
    x0 = float(x0)
    d = float(numerical_diff(f, x0, h))
    b = float(f(x0)) - d * x0
    fig = new_figure(show)
    ax = fig.subplots()
    ax.plot(x, f(x), label="f(x)")
    ax.plot(x, d * x + b, "--", label=pick(lang, f"tangent at x = {x0:g} (slope {d:.4g})",
                                           f"x = {x0:g}에서의 접선 (기울기 {d:.4g})"))
    ax.plot([x0], [f(x0)], "o", color="black")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(pick(lang, "numerical_diff: the tangent line", "수치 미분: 접선"))
    ax.legend(loc="upper left")
    return finish(fig, path, show)


def plot_gradient_field(f: Callable | None = None, x0: np.ndarray | None = None,
                        x1: np.ndarray | None = None, *, lang: str = "en", show: bool = False,
                        path: str | os.PathLike | None = None):
    """Seed 000's quiver: the arrow -grad f(x0, x1) at every point of a grid.

    The gradient is ``numerical_gradient(f, np.array([X, Y]))`` on the flattened mesh, as in
    the lecture (``f`` gets a (2, N) array, one point per column, and returns N values).

    Parameters
    ----------
    f : callable, optional
        f(x) with ``x[0]`` = x0 values and ``x[1]`` = x1 values; default
        :func:`function_2`, f = x0^2 + x1^2 (so the arrows -grad f = (-2 x0, -2 x1) point to
        the origin).
    x0, x1 : ndarray, shape (n,), optional
        The grid's coordinates; default ``np.arange(-2, 2.5, 0.25)`` for both (the lecture's).
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the :class:`~matplotlib.quiver.Quiver` (``X``, ``Y``, ``U``, ``V``).
    """
    lang = resolve_lang(lang)
    f = function_2 if f is None else f
    lim0 = (-2.0, 2.0) if x0 is None else None  # the lecture's plt.xlim([-2, 2])
    lim1 = (-2.0, 2.0) if x1 is None else None
    x0 = np.arange(-2, 2.5, 0.25) if x0 is None else np.asarray(x0, dtype=np.float64)
    x1 = np.arange(-2, 2.5, 0.25) if x1 is None else np.asarray(x1, dtype=np.float64)
    X, Y = np.meshgrid(x0, x1)
    X, Y = X.flatten(), Y.flatten()
    points = np.array([X, Y], dtype=np.float64)
    grad = numerical_gradient(f, points)
    fig = new_figure(show)
    ax = fig.subplots()
    ax.quiver(X, Y, -grad[0], -grad[1], angles="xy", color="#666666")
    ax.set_xlim(*(lim0 or (float(x0.min()), float(x0.max()))))
    ax.set_ylim(*(lim1 or (float(x1.min()), float(x1.max()))))
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_title(pick(lang, "-grad f: the direction of steepest descent",
                      "기울기의 반대 방향 (-grad f): 가장 빠르게 줄어드는 방향"))
    ax.grid()
    return finish(fig, path, show)


def plot_descent_path(history: np.ndarray, f: Callable | None = None, *,
                      xlim: tuple[float, float] = (-3.5, 3.5),
                      ylim: tuple[float, float] = (-4.5, 4.5), levels: int = 12,
                      lang: str = "en", show: bool = False,
                      path: str | os.PathLike | None = None):
    """Seed 000's gradient-descent path: the points x visited, on the contours of f.

    Parameters
    ----------
    history : ndarray, shape (steps, 2)
        The points before each step, e.g. the second result of
        ``gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=20)``.
    f : callable, optional
        When given, its contour lines are drawn behind the path (``f`` gets a (2, H, W)
        array: ``x[0]``, ``x[1]`` the grid's coordinates).
    xlim, ylim : (float, float)
        The axes' ranges (the lecture's).
    levels : int
        How many contour lines.
    lang, show, path
        Label language; show the figure; write it as a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the dashed axes lines, the path (its last line, markers "o") and, with ``f``,
        the contours.
    """
    lang = resolve_lang(lang)
    history = np.asarray(history, dtype=np.float64)
    if history.ndim != 2 or history.shape[1] != 2 or len(history) == 0:
        raise ValueError("plot_descent_path: history must have shape (steps, 2), the points "
                         f"(x0, x1) visited, got {history.shape}")
    fig = new_figure(show)
    ax = fig.subplots()
    if f is not None:
        gx = np.linspace(*xlim, 200)
        gy = np.linspace(*ylim, 200)
        GX, GY = np.meshgrid(gx, gy)
        Z = np.asarray(f(np.array([GX, GY])), dtype=np.float64)
        if Z.shape != GX.shape:
            raise ValueError(f"plot_descent_path: f must return one value per grid point "
                             f"(shape {GX.shape}), got shape {Z.shape}")
        cs = ax.contour(GX, GY, Z, levels=levels, colors="#bbbbbb", linewidths=0.8)
        ax.clabel(cs, fontsize=7)
    ax.plot([-5, 5], [0, 0], "--b", linewidth=0.8)
    ax.plot([0, 0], [-5, 5], "--b", linewidth=0.8)
    ax.plot(history[:, 0], history[:, 1], "o-", color="tab:orange", markersize=5,
            label=pick(lang, f"x after each step ({len(history)} points)",
                       f"각 단계의 x ({len(history)}개)"))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    ax.set_title(pick(lang, "gradient descent", "경사하강법"))
    ax.legend(loc="upper right")
    return finish(fig, path, show)
