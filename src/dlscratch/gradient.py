"""Numerical differentiation, gradient descent, and gradient checks.

Central differences with h = 1e-4, as in the lectures:

    f'(x) ~ (f(x + h) - f(x - h)) / (2h)

``numerical_gradient`` perturbs every element of an array in place, one at a time, and puts each
value back even if ``f`` raises. That is how the lectures' ``lambda W: net.loss(x, t)`` works: the
lambda ignores its argument and the perturbation reaches the network through the shared array.
It is slow (two evaluations of f per element): a tool for teaching and for checking backprop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

H = 1e-4


def numerical_diff(f: Callable[[float], float], x: float, h: float = H) -> float:
    """df/dx at x by the central difference (f(x+h) - f(x-h)) / 2h."""
    return (f(x + h) - f(x - h)) / (2 * h)


def tangent_line(f: Callable, x: float, h: float = H) -> Callable:
    """The tangent of f at x, as a function t -> d * t + (f(x) - d * x), d = f'(x)."""
    d = numerical_diff(f, x, h)
    y = f(x) - d * x
    return lambda t: d * t + y


def _check_float(x: np.ndarray, name: str = "numerical_gradient") -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} needs a NumPy array to perturb in place, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} needs a floating-point array, got dtype {x.dtype}: adding h=1e-4 to an "
            "integer array is rounded away and gives garbage gradients. Convert first, e.g. "
            "x = x.astype(np.float64)"
        )


def _gradient_elementwise(f: Callable, x: np.ndarray, h: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):  # every element of an N-D array, not just the first axis
        tmp_val = x[idx]
        try:
            x[idx] = tmp_val + h
            fxh1 = np.sum(f(x))
            x[idx] = tmp_val - h
            fxh2 = np.sum(f(x))
        finally:
            x[idx] = tmp_val  # restore, even when f raises
        grad[idx] = (fxh1 - fxh2) / (2 * h)
    return grad


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = H) -> np.ndarray:
    """Gradient of a scalar function f at the array x, any shape, by central differences.

    ``x`` is perturbed in place, one element at a time, and each value is restored (even if
    ``f`` raises). Integer arrays are refused (the finite difference would be rounded away).

    If ``f`` returns an array rather than a scalar, the result is the gradient of the *sum* of
    its values. For f evaluated on a batch of independent points, one value per point, that is
    every point's own gradient, whichever axis holds the points: seed 000's quiver plot,
    ``numerical_gradient(function_2, np.array([X, Y]))`` with ``function_2(x) = x[0]**2 +
    x[1]**2`` (one point per column), gives ``2 * np.array([X, Y])``, and so does the book's
    ``np.sum(x**2, axis=1)`` variant.
    """
    _check_float(x)
    if x.size == 0:
        return np.zeros_like(x)
    return _gradient_elementwise(f, x, h)


def gradient_descent(
    f: Callable[[np.ndarray], float],
    init_x: np.ndarray,
    lr: float = 0.01,
    step_num: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise f from init_x with x <- x - lr * grad f(x), step_num times.

    Returns ``(x, history)``: the final point and the (step_num, ...) array of the points
    visited before each step. ``init_x`` itself is not modified.
    """
    x = np.array(init_x, copy=True)
    _check_float(x, "gradient_descent")
    history = []
    for _ in range(step_num):
        history.append(x.copy())
        grad = numerical_gradient(f, x)
        x -= lr * grad
    return x, np.array(history)


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-4) -> float:
    """||a - b|| / max(||a|| + ||b||, floor): 0 for equal arrays, ~1 for unrelated ones.

    The floor keeps gradients that are zero in theory (a bias followed by BatchNorm) from
    turning finite-difference noise (~1e-12) into a large relative error.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = max(np.linalg.norm(a) + np.linalg.norm(b), floor)
    return float(np.linalg.norm(a - b) / denom)


def gradient_check(model, x: np.ndarray, t: np.ndarray, verbose: bool = False) -> dict[str, float]:
    """Compare backprop with numerical gradients for every parameter of a network.

    ``model`` has the lectures' interface: ``params``, ``loss(x, t)`` and ``gradient(x, t)``
    (TwoLayerNet, MultiLayerNet, SimpleConvNet, ...). Both gradients are computed in float64:
    a dlscratch network of any dtype is switched to float64 copies of its arrays for the
    check and restored exactly afterwards (its ``in_float64()``); any other model must hold
    float64 parameters (in float32 rounding swamps the finite difference). Returns
    ``{name: relative error}``; below ~1e-6 backprop is right.
    """
    in_float64 = getattr(model, "in_float64", None)
    if in_float64 is None:
        for key in model.params:
            if model.params[key].dtype != np.float64:
                raise TypeError(
                    f"gradient_check needs a float64 model, but {key} is "
                    f"{model.params[key].dtype}; build it with dtype=np.float64 or call "
                    "model.to(np.float64)")
        in_float64 = contextlib.nullcontext
    x = np.asarray(x, dtype=np.float64) if np.issubdtype(np.asarray(x).dtype, np.floating) \
        else np.asarray(x)
    with in_float64():
        grad_backprop = {k: np.array(v, copy=True) for k, v in model.gradient(x, t).items()}
        grad_numerical = model.numerical_gradient(x, t)
    errors = {k: relative_error(grad_backprop[k], grad_numerical[k]) for k in grad_backprop}
    if verbose:
        for k, e in errors.items():
            print(f"{k}: relative error {e:.3e}")
    return errors
